"""``lrsched hessian``: the Hessian spectrum of a saved run (or of a config's initial model).

Loads a run directory written by :func:`lrsched.train.train` (``config.json`` and
``checkpoints/``; the newest checkpoint unless ``--epoch``), or builds the model of
``--config`` at initialization, takes ``--num-batches`` batches of ``--split``
(normalized with the training set's channel statistics, as in training), and
computes the top ``--k`` eigenvalues with BatchNorm in ``--mode``. Prints a table
(eigenvalue, relative residual, converged, ``2/lambda`` and the heavy-ball bound),
and writes ``hessian.json`` and ``intervals.png`` (You et al.'s Fig. 5, with the
learning rates of the run's schedule) to ``--out``; with ``--trace-probes`` and
``--density-steps`` also the Hutchinson trace and ``density.png``. E.g.::

    lrsched hessian runs/wrn --split train --num-batches 4 --k 10 --mode eval
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import sys
import time
from typing import Any

import numpy as np

_DEFAULT_OUT = "hessian"
_DESCRIPTION = """\
Loads a run directory written by lrsched train (config.json and checkpoints/; the
newest intact checkpoint unless --epoch), or builds the model of --config at
initialization, takes --num-batches batches of --split (normalized with the training
set's channel statistics, as in training) and computes the top --k eigenvalues with
BatchNorm in --mode. Prints a table (eigenvalue, relative residual, converged, 2/lambda
and the heavy-ball bound) and writes hessian.json and intervals.png (You et al.'s
Fig. 5, with the learning rates of the run's schedule) to --out; with --trace-probes
and --density-steps also the Hutchinson trace and density.png.

Example:
  lrsched hessian runs/a --split train --num-batches 4 --k 10 --mode eval
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
  """Registers the ``hessian`` sub-command on an ``argparse`` sub-parsers object."""
  parser = subparsers.add_parser(
      "hessian", help="top Hessian eigenvalues, 2/lambda intervals, trace and density of a run",
      description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                      help="a run directory (config.json + checkpoints/)")
  parser.add_argument("--config", help="a config file (.py with get_config(), or .json): "
                      "analyse its model at initialization instead of a run")
  parser.add_argument("--epoch", type=int, help="checkpoint epoch (default: the newest)")
  parser.add_argument("--split", default="train", help="data split (default: train)")
  parser.add_argument("--num-batches", type=int, default=1,
                      help="how many batches of the split, in order (default: 1)")
  parser.add_argument("--batch-size", type=int, help="default: the config's batch size")
  parser.add_argument("--k", type=int, default=10, help="how many eigenvalues (default: 10)")
  parser.add_argument("--method", choices=("lanczos", "power"), default="lanczos",
                      help="eigensolver (default: lanczos)")
  parser.add_argument("--tol", type=float, default=1e-3,
                      help="relative residual tolerance (default: 1e-3)")
  parser.add_argument("--max-matvecs", type=int, help="HVP budget of the eigensolver")
  parser.add_argument("--max-basis", type=_max_basis,
                      help="Lanczos: keep at most this many basis vectors (>= k + 2) by thick "
                           "restarts, or 'auto' (2k + 10): bounded memory for large models "
                           "(default: no restart, one vector per HVP)")
  parser.add_argument("--averaged", action="store_true",
                      help="the run's averaged model (Config.averaging: EMA/SWA/LAWA weights, "
                           "BatchNorm recalibrated on the training set) instead of the raw one")
  parser.add_argument("--remat", action="store_true",
                      help="linearize each batch's gradient under jax.checkpoint, keeping only "
                           "the convolutions' and matmuls' outputs: less memory for the "
                           "model's own activations (WRN-28-10 at batch 8: 0.67 vs 1.10 GB), "
                           "1.1-1.35x the time per HVP (benchmarks/RESULTS.md; with one "
                           "batch, where the default keeps every activation; with several "
                           "the default keeps none and recomputes each HVP)")
  parser.add_argument("--mode", choices=("eval", "train"), default="eval",
                      help="BatchNorm: running statistics (eval) or batch statistics (train)")
  parser.add_argument("--trace-probes", type=int, default=0,
                      help="HVPs for the trace estimate (0: skip)")
  parser.add_argument("--trace-method", choices=("hutchinson", "hutch++"),
                      default="hutchinson",
                      help="trace estimator: Hutchinson, or Hutch++ (lower variance only when "
                           "a few large eigenvalues carry most of ||H||_F^2; 2-3x higher on a "
                           "WideResNet, see benchmarks/RESULTS.md) (default: hutchinson)")
  parser.add_argument("--density-steps", type=int, default=0,
                      help="Lanczos steps for the SLQ spectral density (0: skip)")
  parser.add_argument("--error-bars", type=int, default=None,
                      help="also estimate on this many disjoint subsets of the batches and "
                           "show the spread (default: 4 when there are >= 4 batches, else "
                           "none; 0: none)")
  parser.add_argument("--jackknife", action=argparse.BooleanOptionalAction, default=None,
                      help="delete-one-batch jackknife of the eigenvalues and the trace: "
                           "bias-corrected estimate, standard error and 95%% t-interval of "
                           "the full-data estimate (B more eigensolver runs on B-1 batches; "
                           "free for the trace) (default: on with >= 3 batches)")
  parser.add_argument("--per-layer", action="store_true",
                      help="also the top eigenvalue and trace (20 probes) of each layer's "
                           "diagonal Hessian block: a table and per_layer.png")
  parser.add_argument("--seed", type=int, default=0,
                      help="seed of the random start vectors and probes (default: 0)")
  parser.add_argument("--out", help=f"output directory (default: RUN_DIR/{_DEFAULT_OUT} or "
                      f"./{_DEFAULT_OUT})")
  parser.set_defaults(run=run, check=check_arguments)
  return parser


def _max_basis(text: str) -> int | str:
  """``--max-basis``: ``auto`` or an integer."""
  if text == "auto":
    return text
  try:
    return int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"must be an integer >= k + 2 or 'auto', got {text!r}") \
        from None


def check_arguments(args: argparse.Namespace) -> None:
  """Raises ``ValueError`` for arguments that cannot work, before anything is loaded.

  ``lrsched`` calls it right after parsing (and prints the usage with the error);
  :func:`run` calls it first too.
  """
  if (args.run_dir is None) == (args.config is None):
    raise ValueError("give either a run directory or --config FILE (exactly one), e.g. "
                     "lrsched hessian runs/a")
  for name, value, least in (("--k", args.k, 1), ("--num-batches", args.num_batches, 1),
                             ("--batch-size", args.batch_size, 1),
                             ("--max-matvecs", args.max_matvecs, 1),
                             ("--trace-probes", args.trace_probes, 0),
                             ("--density-steps", args.density_steps, 0),
                             ("--error-bars", args.error_bars, 0)):
    if value is not None and value < least:
      kind = "a positive integer" if least else "an integer >= 0"
      raise ValueError(f"{name} must be {kind}, got {value}")
  if getattr(args, "averaged", False) and args.run_dir is None:
    raise ValueError("--averaged needs a run directory (a run trained with averaging), "
                     "not --config")
  max_basis = getattr(args, "max_basis", None)
  if isinstance(max_basis, int) and args.k is not None and max_basis < args.k + 2:
    raise ValueError(f"--max-basis must be 'auto' or an integer >= k + 2 = {args.k + 2} (the "
                     f"k wanted Ritz vectors, the residual and a new direction), got {max_basis}")


def _load_config(args: argparse.Namespace):
  from lrsched.train import Config, load_config
  from lrsched.train.run_model import read_run_config

  if (args.run_dir is None) == (args.config is None):
    raise ValueError("give either a run directory or --config FILE (exactly one)")
  if args.config is not None:
    path = pathlib.Path(args.config)
    if path.suffix == ".json":
      from lrsched.train.rundir import read_json

      values = read_json(path)
      try:
        return Config(**values), None
      except TypeError as error:
        raise ValueError(f"{path} is not an lrsched config: {error}") from None
    return load_config(path), None
  run_dir = pathlib.Path(args.run_dir)
  return read_run_config(run_dir), run_dir


@contextlib.contextmanager
def _phase(what: str):
  """Says on stderr what the command is doing and, after it, how long it took."""
  print(f"lrsched hessian: {what} ...", file=sys.stderr, flush=True)
  started = time.perf_counter()
  yield
  print(f"lrsched hessian: {what}: done in {time.perf_counter() - started:.1f} s",
        file=sys.stderr, flush=True)


def load_run(args: argparse.Namespace):
  """Returns ``(config, model, batches, mean/std, epoch, steps_per_epoch)`` for ``args``."""
  from lrsched import data as datalib
  from lrsched.train import load_data
  from lrsched.train.run_model import build_run_model, load_run_model, steps_per_epoch

  config, run_dir = _load_config(args)
  train_ds, eval_ds = load_data(config)
  if args.split == "train":
    dataset = train_ds
  elif args.split == config.eval_split:
    dataset = eval_ds
  else:
    kwargs = dict(config.data)
    dataset = datalib.load_dataset(kwargs.pop("name"), args.split, **kwargs)
  batch_size = args.batch_size or config.batch_size
  epoch_steps = steps_per_epoch(config, train_ds)
  if run_dir is not None:
    config, model, epoch = load_run_model(run_dir, args.epoch, train_data=train_ds,
                                          averaged=getattr(args, "averaged", False))
  else:
    model, epoch = build_run_model(config, train_ds), None
  batches = []
  for batch in datalib.iterate_batches(dataset, batch_size, shuffle=False, drop_remainder=False):
    batches.append({k: batch[k] for k in ("image", "label")})
    if len(batches) == args.num_batches:
      break
  mean, std = train_ds.channel_stats()
  return config, model, batches, (mean, std), epoch, epoch_steps


def _schedule_values(config, steps_per_epoch: int) -> tuple[np.ndarray, float]:
  """The learning rates the run used (per step) and its momentum (0 if scheduled)."""
  from lrsched.schedules import from_spec

  total = config.epochs * steps_per_epoch
  lr = config.learning_rate
  if isinstance(lr, int | float):
    values = np.array([float(lr)])
  else:
    schedule = from_spec(dict(lr), steps_per_epoch)
    values = np.asarray([schedule(i) for i in range(0, total, max(total // 2000, 1))], float)
  momentum = config.momentum if isinstance(config.momentum, int | float) else 0.0
  momentum = float(momentum) if config.optimizer == "sgd" and 0 <= momentum < 1 else 0.0
  return values, momentum


def plot_per_layer(rows: list[dict], path: pathlib.Path, title: str) -> None:
  """Bar chart of each block's top eigenvalue and trace (log axis where all are > 0)."""
  from matplotlib.figure import Figure

  from lrsched.plotting import save_figure

  fig = Figure(figsize=(max(6, 0.35 * len(rows) + 2), 6.5), layout="constrained")
  axes = fig.subplots(2, 1, sharex=True)
  x = np.arange(len(rows))
  for ax, values, label in ((axes[0], [r["eigenvalues"][0] for r in rows], "lambda_1"),
                            (axes[1], [r["trace"] for r in rows], "trace (Hutchinson)")):
    ax.bar(x, values, color="C0" if label == "lambda_1" else "C1")
    if all(v > 0 for v in values):
      ax.set_yscale("log")
    ax.set_ylabel(label)
  axes[1].set_xticks(x, [r["group"] for r in rows], rotation=90, fontsize="small")
  axes[0].set_title(title)
  save_figure(fig, path)


def _print_jackknife(jack: dict, what: str) -> None:
  """The jackknife's rows: full-data estimate, bias-corrected estimate, s.e., t-interval."""
  level = f"{100 * jack['confidence']:g}%"
  print(f"jackknife of the {what} over {jack['batches']} batches (delete one batch; "
        f"{level} t-interval, {jack['dof']} dof):")
  print(f"{'i':>3s} {'full data':>12s} {'jackknife':>12s} {'s.e.':>10s}  {level} interval")
  for i, (full, est, se, lo, hi) in enumerate(zip(
      jack["full"], jack["estimate"], jack["std_error"], jack["ci_low"], jack["ci_high"],
      strict=True), 1):
    print(f"{i:3d} {full:12.5g} {est:12.5g} {se:10.3g}  [{lo:.5g}, {hi:.5g}]")


def run(args: argparse.Namespace) -> dict:
  """Runs the sub-command; returns the JSON record it wrote."""
  from lrsched.data import normalize
  from lrsched.hessian import (
      DatasetHessian,
      convergence_intervals,
      hessian_trace,
      model_loss,
      per_layer,
      plot_convergence_intervals,
      plot_spectral_density,
      spectral_density,
      top_eigenvalues,
  )

  check_arguments(args)
  with _phase("loading the model and data"):
    config, model, batches, (mean, std), epoch, steps_per_epoch = load_run(args)
  loss_fn, params = model_loss(model, args.mode, loss=config.loss,  # the run's own loss
                               preprocess=lambda images: normalize(images, mean, std))
  operator = DatasetHessian(loss_fn, params, batches, remat=getattr(args, "remat", False))
  with _phase(f"top-{args.k} eigenvalues ({args.method}, {len(batches)} batch(es), "
              f"{operator.size} parameters)"):
    bars = (4 if len(batches) >= 4 else None) if args.error_bars is None else (
        args.error_bars or None)
    jack = len(batches) >= 3 if getattr(args, "jackknife", None) is None else args.jackknife
    eig = top_eigenvalues(operator, k=args.k, method=args.method, tol=args.tol,
                          max_matvecs=args.max_matvecs, seed=args.seed, error_bars=bars,
                          max_basis=getattr(args, "max_basis", None), jackknife=jack)
  lrs, momentum = _schedule_values(config, steps_per_epoch)
  intervals = convergence_intervals(eig.eigenvalues, momentum)
  source = args.run_dir if args.run_dir is not None else f"{args.config} (initialization)"
  record = {"source": str(source), "epoch": epoch, "split": args.split,
            "num_batches": len(batches), "num_examples": operator.total,
            "num_params": operator.size, "mode": args.mode, "loss": config.loss,
            "eigen": eig.to_dict(),
            "intervals": intervals.to_dict(),
            "learning_rates": {"max": float(lrs.max()), "min": float(lrs.min())}}

  print(f"{source}: {operator.size} parameters, {operator.total} examples of "
        f"'{args.split}' in {len(batches)} batch(es), BatchNorm {args.mode} mode, "
        f"{eig.method}: {eig.num_matvecs} HVPs, {eig.wall_time:.1f} s")
  bound = f"(2+2g)/lam g={momentum:g}" if momentum else "2/lam"
  print(f"{'i':>3s} {'eigenvalue':>12s} {'rel.resid':>9s} {'conv':>4s} {'2/lam':>10s} "
        f"{bound:>18s}")
  for i, (value, res, ok, gd, up) in enumerate(zip(
      eig.eigenvalues, eig.relative_residuals, eig.converged, intervals.gd_upper,
      intervals.upper, strict=True), 1):
    print(f"{i:3d} {value:12.5g} {res:9.2e} {'yes' if ok else 'NO':>4s} {gd:10.4g} {up:18.4g}")
  if not eig.all_converged:
    hint = ("the thick restart stagnated: raise --max-basis" if eig.stop_reason == "stagnated"
            else "raise --max-matvecs")
    print(f"WARNING: {int((~eig.converged).sum())} value(s) did not reach tol={args.tol:g} "
          f"(stopped: {eig.stop_reason}); {hint}")
  if eig.jackknife is not None:
    _print_jackknife(eig.jackknife, "eigenvalues")
  if eig.sampling is not None:
    spread = eig.sampling
    print(f"sampling spread over {spread['subsets']} disjoint subsets of the batches: the "
          f"spread of a one-subset estimate (1/{spread['subsets']} of the data; mean ± std, "
          f"95% CI of its mean), not the error of the full-data estimate above:")
    for i, (m, sd, lo, hi) in enumerate(zip(spread["mean"], spread["std"], spread["ci_low"],
                                            spread["ci_high"], strict=True), 1):
      print(f"{i:3d} {m:12.5g} ± {sd:.3g}  [{lo:.5g}, {hi:.5g}]")
  print(f"learning rates used: {lrs.max():.4g} .. {lrs.min():.4g}; largest stable: "
        f"{intervals.max_stable_lr:.4g}")

  out = pathlib.Path(args.out) if args.out else (
      pathlib.Path(args.run_dir) / _DEFAULT_OUT if args.run_dir else pathlib.Path(_DEFAULT_OUT))
  out.mkdir(parents=True, exist_ok=True)
  if args.trace_probes:
    with _phase(f"{args.trace_method} trace ({args.trace_probes} HVPs)"):
      trace = hessian_trace(operator, num_probes=args.trace_probes, seed=args.seed,
                            error_bars=bars, method=args.trace_method, jackknife=jack)
    record["trace"] = trace.to_dict()
    print(f"trace ({args.trace_method}, {args.trace_probes} HVPs): {trace.trace:.5g} "
          f"+- {trace.std_error:.2g} (probes)")
    if trace.jackknife is not None:
      _print_jackknife(trace.jackknife, "trace")
  if args.density_steps:
    with _phase(f"spectral density ({args.density_steps} Lanczos steps)"):
      density = spectral_density(operator, num_steps=args.density_steps, seed=args.seed)
    record["density"] = density.to_dict()
    plot_spectral_density(density.grid, density.density, out / "density.png",
                          title=f"Hessian spectral density ({args.mode} mode)")
    print(f"wrote {out / 'density.png'}")
  if args.per_layer:
    with _phase("per-layer blocks (top eigenvalue and trace of each layer)"):
      rows = per_layer(loss_fn, params, batches, k=1, seed=args.seed)
    record["per_layer"] = rows
    print(f"{'layer':<32s} {'size':>8s} {'lambda_1':>10s} {'trace':>12s}")
    for row in rows:
      print(f"{row['group']:<32s} {row['size']:8d} {row['eigenvalues'][0]:10.4g} "
            f"{row['trace']:12.4g}")
    plot_per_layer(rows, out / "per_layer.png",
                   title=f"Per-layer Hessian blocks ({args.mode} mode)")
    print(f"wrote {out / 'per_layer.png'}")
  title = f"Top-{args.k} Hessian eigenvalues, {args.mode} mode" + (
      f", epoch {epoch}" if epoch is not None else ", initialization")
  plot_convergence_intervals(intervals, lrs, path=out / "intervals.png", title=title)
  (out / "hessian.json").write_text(json.dumps(record, indent=2) + "\n")
  print(f"wrote {out / 'hessian.json'} and {out / 'intervals.png'}")
  return record
