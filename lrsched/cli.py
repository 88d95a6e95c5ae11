"""The lrsched command line.

  lrsched gallery                       draw every schedule family to a PNG
  lrsched plot SPEC ... --steps N       draw schedules given as JSON specs
  lrsched list                          the schedule names specs can use
  lrsched train --config C.py           train a config (key=value overrides)
  lrsched compare --config A --config B train several configs, print a table
  lrsched range-test --config C.py      learning-rate range test
  lrsched hessian RUN_DIR               Hessian eigenvalues of a saved run

Examples:

  lrsched plot '{"name": "one_cycle", "total_steps": 1000, "peak_value": 0.1}' --steps 1000
  lrsched train --config experiments/configs/ps10_step_decay.py --workdir runs/a epochs=3
  lrsched train --workdir runs/a --resume          (continues with runs/a/config.json)

A spec may carry a "label" for the legend; @FILE reads a spec from a file.
Run "lrsched COMMAND --help" for a command's options.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import sys
import warnings
from collections.abc import Iterator, Sequence

from lrsched import plotting
from lrsched.names import did_you_mean
from lrsched.schedules import from_spec, registered_names


class ArgumentParser(argparse.ArgumentParser):
  """``argparse.ArgumentParser`` whose "invalid choice" error says "did you mean".

  Python 3.11's argparse has no ``suggest_on_error`` (3.14 added it); this overrides
  the one check that reports a value outside ``choices`` (sub-command names included)
  and adds :func:`lrsched.names.did_you_mean`'s suggestion.
  """

  def _check_value(self, action: argparse.Action, value: object) -> None:
    if action.choices is not None and value not in action.choices:
      choices = [str(choice) for choice in action.choices]
      raise argparse.ArgumentError(
          action, f"invalid choice: {value!r}{did_you_mean(value, choices)} "
                  f"(choose from {', '.join(map(repr, choices))})")


def _parse_spec(text: str) -> tuple[str, dict]:
  """Returns (label, spec) for a JSON spec or ``@file``; checks it builds."""
  if text.startswith("@"):
    text = pathlib.Path(text[1:]).read_text()
  try:
    spec = json.loads(text)
  except json.JSONDecodeError as error:
    example = '{"name": "sgdr", "peak_value": 0.1, "first_period": 100}'
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
  if not 1 <= args.steps <= 2**31 - 1:
    raise ValueError(f"--steps must be in [1, 2147483647] (optax's int32 step count), "
                     f"got {args.steps}")
  if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
    raise ValueError(f"--steps-per-epoch must be a positive integer, got {args.steps_per_epoch}")
  schedules = _unique([_parse_spec(s) for s in args.specs])
  momentum = _unique([_parse_spec(s) for s in args.momentum])
  for spec in [*schedules.values(), *momentum.values()]:
    try:
      from_spec(spec, args.steps_per_epoch)  # fail before drawing anything
    except ValueError as error:  # the library's advice, said as this command's option
      message = str(error).replace("pass steps_per_epoch",
                                   "pass --steps-per-epoch N (the steps in one epoch)")
      raise ValueError(message) from None
  plotting.plot_schedules(
      schedules, args.steps, args.out, momentum=momentum or None,
      steps_per_epoch=args.steps_per_epoch, log_scale=args.log, title=args.title,
  )
  print(f"wrote {args.out}")


def _gallery(args: argparse.Namespace) -> None:
  path = plotting.plot_gallery(args.out)
  print(f"wrote the schedule gallery ({len(plotting.GALLERY)} panels) to {path.resolve()}")


def _list(args: argparse.Namespace) -> None:
  from lrsched.schedules import describe

  del args
  for name in registered_names():
    signature, summary = describe(name)
    print(f"{signature}\n    {summary}" if summary else signature)


def _load_configs(paths: Sequence[str], overrides: Sequence[str]) -> dict:
  from lrsched.train import load_config  # imported lazily: keeps `lrsched plot` light

  names: dict[str, str] = {}
  for path in paths:
    name = pathlib.Path(path).stem
    if name in names:
      raise ValueError(f"two configs share the run name {name!r} ({names[name]} and {path}); "
                       f"runs are named after their config file: rename or copy one")
    names[name] = path
  return {name: load_config(path, overrides) for name, path in names.items()}


def _init_distributed(args: argparse.Namespace) -> None:
  if args.distributed:
    import jax

    jax.distributed.initialize()  # reads the coordinator from the environment (TPU, SLURM)


def _resume_config(workdir: pathlib.Path, overrides: Sequence[str]):
  """The run's own config.json with ``overrides`` applied (``--resume``)."""
  from lrsched.train import apply_overrides
  from lrsched.train.run_model import read_run_config

  config = apply_overrides(read_run_config(workdir), overrides)
  print(f"resuming {workdir} with its config.json"
        + (f" and {' '.join(overrides)}" if overrides else ""), file=sys.stderr)
  return config


def _note_ignored_config(path: str, given, resumed) -> None:
  """Says which fields of ``--config`` a resumed run does not take (it keeps config.json)."""
  from lrsched.train.loop import config_differences

  diff = config_differences(resumed, given, ignore=())
  if diff:
    fields = "; ".join(f"{k}: {a!r} (run) vs {b!r} (file)" for k, (a, b) in diff.items())
    print(f"note: a resumed run keeps its config.json; {path} differs in {fields}",
          file=sys.stderr)


def _cooldown(args: argparse.Namespace) -> None:
  from lrsched.train import small_mode
  from lrsched.train.cooldown import cooldown
  from lrsched.train.run_model import read_run_config

  if small_mode.enabled():  # the documentation's tests: the parent ran tiny, so does this
    last = read_run_config(args.run_dir).epochs
    args.from_epoch = min(args.from_epoch, last)
    args.epochs = min(args.epochs, small_mode.SMALL_EPOCHS)
  result = cooldown(args.run_dir, args.from_epoch, args.epochs, shape=args.shape,
                    end_value=args.end_value, workdir=args.workdir, force=args.force)
  last = result.history[-1] if result.history else {}
  summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
  print(f"{result.workdir}: epoch {last.get('epoch')}: {summary}")


def _train(args: argparse.Namespace) -> None:
  from lrsched.train import train

  _init_distributed(args)
  if args.config is None and not (args.resume and args.workdir):
    raise ValueError("give --config FILE (or --workdir DIR --resume to continue a run)")
  if args.config is not None:
    (name, config), = _load_configs([args.config], args.overrides).items()
  workdir = pathlib.Path(args.workdir or f"runs/{name}")
  if args.resume and (workdir / "config.json").is_file():
    given = config if args.config is not None else None
    name, config = workdir.name, _resume_config(workdir, args.overrides)
    if given is not None:
      _note_ignored_config(args.config, given, config)
  elif args.config is None:
    raise ValueError(f"{workdir} holds no run (no config.json) to resume; give --config FILE")
  del name  # runs are labelled with their workdir, as the progress lines are
  result = train(config, workdir, resume=args.resume)
  last = result.history[-1] if result.history else {}
  summary = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if isinstance(v, float))
  epochs = f" epoch {last['epoch']}/{config.epochs}" if "epoch" in last else ""
  print(f"{result.workdir.name}: finished{epochs} in {result.workdir.resolve()}: {summary}")


def _compare(args: argparse.Namespace) -> None:
  from lrsched.train.compare import compare, format_table, reading

  _init_distributed(args)
  configs = _load_configs(args.config, args.overrides)
  if args.resume:
    configs = {name: _resume_config(pathlib.Path(args.workdir) / name, args.overrides)
               if (pathlib.Path(args.workdir) / name / "config.json").is_file() else config
               for name, config in configs.items()}
  rows = compare(configs, args.workdir, resume=args.resume)
  print(format_table(rows))
  print(reading(rows))
  out = pathlib.Path(args.workdir).resolve()
  print(f"curves: {out / 'compare.png'} (per run: {out}/<run>/curves.png); "
        f"table: {out / 'summary.json'}")


def _add_run_arguments(parser: argparse.ArgumentParser, resume_help: str) -> None:
  parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="config overrides, e.g. epochs=3 model.depth=16 "
                           "learning_rate.boundaries=[30,60]")
  parser.add_argument("--resume", action="store_true", help=resume_help)
  parser.add_argument("--distributed", action="store_true",
                      help="call jax.distributed.initialize() first (multi-host)")


def build_parser() -> argparse.ArgumentParser:
  parser = ArgumentParser(prog="lrsched", description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

  gallery = commands.add_parser(
      "gallery", help="draw every schedule family to a PNG",
      description=f"Draws every schedule family over {plotting.GALLERY_STEPS} steps into "
                  f"one PNG of {len(plotting.GALLERY)} panels (variants as lines, momentum "
                  f"dashed on the right axis): lrsched's families, the composites warmup, "
                  f"join and stretch, weight decay as an exponential rate (texp, exp_lr), "
                  f"and optax's schedules under optax's names.")
  gallery.add_argument("--out", default="gallery/schedules.png",
                       help="PNG to write (default: gallery/schedules.png)")
  gallery.set_defaults(run=_gallery)

  plot = commands.add_parser("plot", help="draw schedules given as JSON specs")
  plot.add_argument("specs", nargs="+", help="JSON spec or @FILE, one per schedule")
  plot.add_argument("--momentum", nargs="*", default=[], help="momentum specs")
  plot.add_argument("--steps", type=int, required=True,
                    help="number of steps to draw, at most 2**31 - 1 (beyond 100,001 steps "
                         "the curves go through 100,001 evenly spaced counts)")
  plot.add_argument("--steps-per-epoch", type=int, default=None,
                    help="steps in one epoch: needed by specs with \"unit\": \"epochs\"")
  plot.add_argument("--out", default="schedules.png",
                    help="PNG to write (default: schedules.png)")
  plot.add_argument("--log", action="store_true", help="log-scale learning-rate axis")
  plot.add_argument("--title", default=None)
  plot.set_defaults(run=_plot)

  train = commands.add_parser(
      "train", help="train a config (see experiments/configs/)",
      description="Trains a config into a run directory (config.json, metrics.jsonl, "
                  "curves.png, checkpoints/).")
  train.add_argument("--config", default=None,
                     help="config file (.py with get_config()); optional with --resume")
  train.add_argument("--workdir", default=None, help="run directory (default runs/<config>)")
  _add_run_arguments(train, "continue from the newest intact checkpoint in the workdir, with "
                            "the run's own config.json (overrides may change epochs)")
  train.set_defaults(run=_train)

  comp = commands.add_parser(
      "compare", help="train several configs, print a table",
      description="Trains each config in WORKDIR/<config name> (runs that already finished "
                  "are read back, not retrained), prints a table of their final metrics and "
                  "writes WORKDIR/compare.png and WORKDIR/summary.json.")
  comp.add_argument("--config", required=True, action="append",
                    help="config file (.py); repeat for each run (distinct file names)")
  comp.add_argument("--workdir", default="runs/compare",
                    help="parent of the run directories (default: runs/compare)")
  _add_run_arguments(comp, "continue each run WORKDIR/<config name> that has checkpoints "
                           "from its newest intact one, with that run's own config.json "
                           "(overrides may change epochs); runs without one start fresh, "
                           "finished ones are read back")
  comp.set_defaults(run=_compare)

  cool = commands.add_parser(
      "cooldown", help="branch a cooldown from a checkpoint of a constant-rate run",
      description="Starts a new run directory from RUN's checkpoint of --from-epoch "
                  "(weights, BatchNorm statistics, optimizer state, step count, records) "
                  "and anneals its learning rate from the rate there to --end-value over "
                  "--epochs epochs (lrsched.train.cooldown; the parent is in parent.json). "
                  "One constant-rate run then serves every budget (Hägele et al. 2024).",
      epilog="Example: lrsched cooldown runs/constant --from-epoch 24 --epochs 6 "
             "--shape 1-sqrt")
  cool.add_argument("run_dir", metavar="RUN", help="the parent run directory")
  cool.add_argument("--from-epoch", type=int, required=True, help="the checkpoint to branch from")
  cool.add_argument("--epochs", type=int, required=True, help="the cooldown's length")
  cool.add_argument("--shape", choices=("1-sqrt", "linear", "cosine"), default="1-sqrt",
                    help="the cooldown's shape (default: 1-sqrt)")
  cool.add_argument("--end-value", type=float, default=0.0, help="the final rate (default 0)")
  cool.add_argument("--workdir", default=None,
                    help="the branch's run directory (default: RUN-cooldown-eE-nN-SHAPE)")
  cool.add_argument("--force", action="store_true",
                    help="branch even where the parent's rate is not constant (a warning)")
  cool.set_defaults(run=_cooldown)

  from lrsched import hessian_command, range_test

  range_test.add_parser(commands)
  hessian_command.add_parser(commands)

  names = commands.add_parser(
      "list", help="list the schedule names specs can use, with their arguments",
      description="Every name a spec can use: lrsched's schedules, optax's under optax's "
                  "names, composites (warmup, join, stretch); each with its signature and "
                  "the first line of its docstring.")
  names.set_defaults(run=_list)
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  from lrsched.train.rundir import WorkdirLockedError

  check = getattr(args, "check", None)
  if check is not None:  # the command's own argument checks, before it does any work
    try:
      check(args)
    except ValueError as error:
      command = _command_parser(parser, args.command)
      print(command.format_usage() + f"{command.prog}: error: {error}", file=sys.stderr)
      return 2
  try:
    with one_line_warnings(f"lrsched {args.command}"):
      args.run(args)
  except (ValueError, FileNotFoundError, FloatingPointError, WorkdirLockedError) as error:
    print(f"lrsched {args.command}: error: {_for_the_command_line(error)}", file=sys.stderr)
    return 2
  return 0


def _command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
  """The sub-command parser ``name`` of ``parser``."""
  (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
  return commands.choices[name]


@contextlib.contextmanager
def one_line_warnings(prefix: str) -> Iterator[None]:
  """Within the block, lrsched's own warnings print as ``PREFIX: warning: MESSAGE``.

  A command-line user expects a warning as one line in the command's voice (as its
  errors are), not Python's ``path.py:118: UserWarning: ...`` followed by a source
  line. lrsched's warnings (a ``UserWarning`` raised by lrsched code, e.g. a stale
  lock taken over or a torn metrics line dropped) are written through
  :func:`lrsched.progress.write`, so an active progress bar is not broken; any other
  warning keeps Python's format. The warning filters are not changed, so
  ``-W error`` still turns them into errors.
  """
  from lrsched import progress

  package = str(pathlib.Path(__file__).resolve().parent)
  with warnings.catch_warnings():
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
      if issubclass(category, UserWarning) and str(
          pathlib.Path(filename).resolve()).startswith(package):
        progress.write(f"{prefix}: warning: {message}")
      else:
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    yield


def _for_the_command_line(error: Exception) -> str:
  """The error's message, with the Python API's advice said as command-line options."""
  from lrsched.train.loop import RunExistsError

  if isinstance(error, RunExistsError):
    held = (f"checkpoints up to epoch {error.epoch}" if error.epoch is not None
            else "the metrics of a run without checkpoints")
    return (f"{error.workdir} already holds a run ({held}); continue it with --resume, "
            f"or choose another --workdir")
  return str(error)


if __name__ == "__main__":
  sys.exit(main())
