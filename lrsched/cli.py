"""The ``lrsched`` command line.

``lrsched gallery`` draws every schedule family; ``lrsched plot SPEC ...`` draws
the schedules given as JSON specs (see :func:`lrsched.from_spec`); ``lrsched train``
runs a config; ``lrsched compare`` runs several and prints a table. E.g.::

    lrsched plot '{"name": "one_cycle", "total_steps": 1000, "max_value": 0.1}' \
        --momentum '{"name": "one_cycle_momentum", "total_steps": 1000}' --out 1cycle.png

    lrsched train --config experiments/configs/ps10_step_decay.py --workdir runs/a epochs=3

    lrsched range-test --config experiments/configs/ps10_step_decay.py --out runs/range.png

A spec may carry a ``"label"`` for the legend; ``@FILE`` reads a spec from a file.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence

from lrsched import plotting
from lrsched.schedules import from_spec, registered_names


def _parse_spec(text: str) -> tuple[str, dict]:
  """Returns (label, spec) for a JSON spec or ``@file``; checks it builds."""
  if text.startswith("@"):
    text = pathlib.Path(text[1:]).read_text()
  try:
    spec = json.loads(text)
  except json.JSONDecodeError as error:
    example = '{"name": "sgdr", "max_value": 0.1, "first_period": 100}'
    raise ValueError(f"a spec must be JSON such as '{example}': {error}") from None
  if not isinstance(spec, dict):
    raise ValueError(f"a spec must be a JSON object, got {text!r}")
  label = spec.pop("label", None)
  if label is None:
    args = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    label = f"{spec.get('name')}({args})"
  return label, spec


def _unique(labelled: list[tuple[str, dict]]) -> dict[str, dict]:
  out: dict[str, dict] = {}
  for label, spec in labelled:
    key, n = label, 2
    while key in out:
      key, n = f"{label} #{n}", n + 1
    out[key] = spec
  return out


def _plot(args: argparse.Namespace) -> None:
  schedules = _unique([_parse_spec(s) for s in args.specs])
  momentum = _unique([_parse_spec(s) for s in args.momentum])
  for spec in [*schedules.values(), *momentum.values()]:
    from_spec(spec, args.steps_per_epoch)  # fail before drawing anything
  plotting.plot_schedules(
      schedules, args.steps, args.out, momentum=momentum or None,
      steps_per_epoch=args.steps_per_epoch, log_scale=args.log, title=args.title,
  )
  print(f"wrote {args.out}")


def _gallery(args: argparse.Namespace) -> None:
  path = plotting.plot_gallery(args.out)
  print(f"wrote the schedule gallery ({len(plotting.GALLERY)} panels) to {path.resolve()}")


def _list(args: argparse.Namespace) -> None:
  del args
  print("\n".join(registered_names()))


def _load_configs(paths: Sequence[str], overrides: Sequence[str]) -> dict:
  from lrsched.train import load_config  # imported lazily: keeps `lrsched plot` light

  return {pathlib.Path(path).stem: load_config(path, overrides) for path in paths}


def _init_distributed(args: argparse.Namespace) -> None:
  if args.distributed:
    import jax

    jax.distributed.initialize()  # reads the coordinator from the environment (TPU, SLURM)


def _train(args: argparse.Namespace) -> None:
  from lrsched.train import train

  _init_distributed(args)
  (name, config), = _load_configs([args.config], args.overrides).items()
  workdir = args.workdir or f"runs/{name}"
  result = train(config, workdir, resume=args.resume)
  last = result.history[-1] if result.history else {}
  summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
  print(f"finished {name} in {result.workdir.resolve()}: {summary}")


def _compare(args: argparse.Namespace) -> None:
  from lrsched.train.compare import compare, format_table

  _init_distributed(args)
  rows = compare(_load_configs(args.config, args.overrides), args.workdir, resume=args.resume)
  print(format_table(rows))
  out = pathlib.Path(args.workdir).resolve()
  print(f"curves: {out / 'compare.png'} (per run: {out}/<run>/curves.png); "
        f"table: {out / 'summary.json'}")


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="config overrides, e.g. epochs=3 model.depth=16 "
                           "learning_rate.boundaries=[30,60]")
  parser.add_argument("--resume", action="store_true",
                      help="continue from the newest checkpoint in the workdir")
  parser.add_argument("--distributed", action="store_true",
                      help="call jax.distributed.initialize() first (multi-host)")


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="lrsched", description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest="command", required=True)

  gallery = commands.add_parser("gallery", help="draw every schedule family to a PNG")
  gallery.add_argument("--out", default="gallery/schedules.png", help="PNG to write")
  gallery.set_defaults(run=_gallery)

  plot = commands.add_parser("plot", help="draw schedules given as JSON specs")
  plot.add_argument("specs", nargs="+", help="JSON spec or @FILE, one per schedule")
  plot.add_argument("--momentum", nargs="*", default=[], help="momentum specs")
  plot.add_argument("--steps", type=int, required=True, help="number of steps to draw")
  plot.add_argument("--steps-per-epoch", type=int, default=None,
                    help="for specs with \"unit\": \"epochs\"")
  plot.add_argument("--out", default="schedules.png", help="PNG to write")
  plot.add_argument("--log", action="store_true", help="log-scale learning-rate axis")
  plot.add_argument("--title", default=None)
  plot.set_defaults(run=_plot)

  train = commands.add_parser("train", help="train a config (see experiments/configs/)")
  train.add_argument("--config", required=True, help="config file (.py)")
  train.add_argument("--workdir", default=None, help="run directory (default runs/<config>)")
  _add_run_arguments(train)
  train.set_defaults(run=_train)

  comp = commands.add_parser("compare", help="train several configs, print a table")
  comp.add_argument("--config", required=True, action="append",
                    help="config file (.py); repeat for each run")
  comp.add_argument("--workdir", default="runs/compare", help="parent of the run directories")
  _add_run_arguments(comp)
  comp.set_defaults(run=_compare)

  from lrsched import range_test
  from lrsched.hessian import command as hessian_command

  range_test.add_parser(commands)
  hessian_command.add_parser(commands)

  names = commands.add_parser("list", help="list the schedule names specs can use")
  names.set_defaults(run=_list)
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    args.run(args)
  except (ValueError, FileNotFoundError, FloatingPointError) as error:
    print(f"lrsched {args.command}: error: {error}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
