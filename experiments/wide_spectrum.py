"""Top-10 eigenvalues of a WideResNet at the paper's width, with jackknife error bars (Fig. 5).

You et al.'s Fig. 5 shows the top-10 Hessian eigenvalues of a GD-trained WideResNet;
section 3 (``experiments/convergence_intervals.py``) measures them on WRN-10-1
(78k parameters). This experiment repeats the measurement at a width the paper uses,
**WRN-16-8 (11.0M parameters)**, on what two CPU cores afford:

* Training (one run, seed 0): full-batch GD (``full_batch=True``; BatchNorm statistics per
  chunk of 64) on the first 512 images of the real CIFAR-10 subset at 16x16 with pad-4
  crop + flip, momentum 0.9, weight decay 5e-4, learning rate 0.1 for 60 steps, then 0.01
  for 60 (the recipe of section 3's ``GD/decay 60``, at half its images and a quarter of
  its steps after the decay). Checkpoints at steps 30, 60, 90 and 120.
* Spectrum at step 60 (the end of the 0.1 stage) and step 120 (after 60 steps at 0.01):
  ``lrsched hessian RUN --epoch E --mode train --batch-size 64 --num-batches 3 --k 10
  --tol 1e-2 --jackknife`` -- the training loss (train-mode BatchNorm with GD's chunks of
  64) on the first 192 training images, unaugmented; top-10 by Lanczos to relative
  residual 1e-2 (the sampling error is ~10x larger, see section 3); the delete-one-batch
  jackknife over the 3 chunks (3 more Lanczos runs, each on 2 chunks): the
  bias-corrected estimate, its standard error and a 95% t-interval with 2 degrees of
  freedom (``t = 4.30``: wide, the price of 3 batches). Both stability bounds: plain GD's
  ``2/lambda`` and heavy-ball's ``(2 + 2g)/lambda``.

No verdicts: one training seed, and the uncertainty shown is the jackknife's over the
probe's batches (it does not include the seed-to-seed spread, which section 3 measures at
its width: ~10-20% of lambda_1). Run (measured 2026-12-02 on 2 CPU cores shared with
other work: the run times are recorded in the results file)::

  python experiments/wide_spectrum.py --workdir runs/wide_spectrum

It writes ``experiments/results/wide_spectrum.json`` (the eigenvalues, residuals and
jackknife of both checkpoints, the rates in use, the run times, the final metrics) and
``experiments/figures/wide_spectrum.png`` (You et al.'s Fig. 5 layout at both
checkpoints: ``2/lambda_i`` and ``(2+2g)/lambda_i`` with the jackknife intervals, the rate
in use). RESULTS.md's section "Top-10 eigenvalues at the paper's width" is generated from
the JSON. ``--small`` runs the whole pipeline at a tiny size (WRN-10-1, 64 images; the
test's mode).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy
import time

import numpy as np
import scipy.stats
from matplotlib.figure import Figure

from lrsched import cli
from lrsched.plotting import save_figure
from lrsched.train import Config, train
from lrsched.train.rundir import read_jsonl
from lrsched.train.sweep import write_results

HERE = pathlib.Path(__file__).resolve().parent
MOMENTUM = 0.9
LR, FACTOR = 0.1, 0.1


@dataclasses.dataclass(frozen=True)
class Size:
  """What one run measures: the model, the data, the steps and the probe."""

  depth: int = 16
  widen: int = 8
  num_train: int = 512
  chunk: int = 64
  decay_step: int = 60
  steps: int = 120
  probe_batches: int = 3
  k: int = 10
  tol: float = 1e-2


FULL = Size()
SMALL = Size(depth=10, widen=1, num_train=64, chunk=16, decay_step=4, steps=8, k=4)


def config(size: Size, seed: int = 0) -> Config:
  """The GD run: section 3's recipe (``cifar16_step_decay.py`` as GD) at ``size``."""
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  return dataclasses.replace(
      base, model={"name": "wide_resnet", "depth": size.depth, "widen_factor": size.widen},
      train_subset=size.num_train, epochs=size.steps, batch_size=size.chunk, full_batch=True,
      learning_rate={"name": "step_decay", "init_value": LR, "boundaries": [size.decay_step],
                     "factor": FACTOR, "unit": "epochs"},
      checkpoint_every=size.steps // 4, keep_checkpoints=4, seed=seed, progress=False)


def hessian(run_dir: pathlib.Path, step: int, size: Size, out: pathlib.Path) -> dict:
  """``lrsched hessian`` at ``step`` (read back from ``out/hessian.json`` when done)."""
  path = out / "hessian.json"
  if not path.exists():
    started = time.perf_counter()
    cli.main(["hessian", str(run_dir), "--epoch", str(step), "--mode", "train",
              "--batch-size", str(size.chunk), "--num-batches", str(size.probe_batches),
              "--k", str(size.k), "--tol", f"{size.tol:g}", "--jackknife", "--error-bars",
              "0", "--out", str(out)])
    record = json.loads(path.read_text())
    record["seconds"] = time.perf_counter() - started
    path.write_text(json.dumps(record, indent=2) + "\n")
  return json.loads(path.read_text())


def checkpoint_summary(record: dict, lr: float) -> dict:
  """One checkpoint's values: eigenvalues, jackknife and ``lr lambda / bound``."""
  eigen, jack = record["eigen"], record["eigen"]["jackknife"]
  lam = np.asarray(eigen["eigenvalues"], np.float64)
  estimate = np.asarray(jack["estimate"], np.float64)
  se = np.asarray(jack["std_error"], np.float64)
  t90 = float(scipy.stats.t.ppf(0.95, jack["dof"]))
  return {
      "learning_rate": lr, "num_params": record["num_params"],
      "num_examples": record["num_examples"], "batches": jack["batches"],
      "eigenvalues": lam.tolist(), "relative_residuals": eigen["relative_residuals"],
      "converged": eigen["converged"], "num_matvecs": eigen["num_matvecs"],
      "jackknife_num_matvecs": jack["num_matvecs"],
      "jackknife_converged": jack["converged"],
      "jackknife": {key: jack[key] for key in ("estimate", "bias", "std_error", "ci_low",
                                               "ci_high", "confidence", "dof",
                                               "leave_one_out")},
      "ci90_low": (estimate - t90 * se).tolist(), "ci90_high": (estimate + t90 * se).tolist(),
      "lr_x_lambda_1 / 2": lr * lam[0] / 2,
      "lr_x_lambda_1 / (2+2g)": lr * lam[0] / (2 + 2 * MOMENTUM),
      "jackknife lr_x_lambda_1 / 2": [lr * jack["ci_low"][0] / 2, lr * estimate[0] / 2,
                                      lr * jack["ci_high"][0] / 2],
      "seconds": record.get("seconds")}


def plot(stages: dict[str, dict], path: pathlib.Path, title: str) -> None:
  """You et al.'s Fig. 5 at each checkpoint: the intervals' upper ends and the rate."""
  fig = Figure(figsize=(11, 4.2), layout="constrained")
  axes = fig.subplots(1, len(stages), sharey=True)
  for ax, (label, s) in zip(np.atleast_1d(axes), stages.items(), strict=True):
    lam = np.asarray(s["eigenvalues"])
    jack = s["jackknife"]
    low, high = np.asarray(jack["ci_low"]), np.asarray(jack["ci_high"])
    i = np.arange(1, len(lam) + 1)
    for bound, color, name in ((2.0, "C0", "2/lambda_i (GD)"),
                               (2 + 2 * MOMENTUM, "C1", "(2+2g)/lambda_i (momentum 0.9)")):
      ax.plot(i, bound / lam, "o-", color=color, markersize=4, label=name)
      # the jackknife's 95% interval of lambda_i, mapped through bound / lambda
      # (a non-positive lower end leaves the upper bar open)
      top = np.where(low > 0, bound / np.maximum(low, 1e-300), np.nan)
      ax.vlines(i + (0.08 if color == "C1" else -0.08), bound / high, top, color=color,
                alpha=0.6)
    ax.axhline(s["learning_rate"], color="k", linewidth=1,
               label=f"lr in use ({s['learning_rate']:g})")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue index i")
    ax.set_title(label, fontsize="medium")
  np.atleast_1d(axes)[0].set_ylabel("upper end of the stable interval (95% jackknife bar)")
  np.atleast_1d(axes)[0].legend(fontsize="small")
  fig.suptitle(title)
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/wide_spectrum")
  parser.add_argument("--results", default=str(HERE / "results/wide_spectrum.json"))
  parser.add_argument("--figures", default=str(HERE / "figures"))
  parser.add_argument("--small", action="store_true", help="a tiny run of the whole pipeline")
  args = parser.parse_args(argv)
  size = SMALL if args.small else FULL
  workdir = pathlib.Path(args.workdir)
  run_dir = workdir / "run"
  cfg = config(size)
  started = time.perf_counter()
  history = train(cfg, run_dir, resume=True).history
  train_seconds = sum(r.get("seconds", 0.0) for r in read_jsonl(run_dir / "metrics.jsonl"))
  stages = {}
  for step, lr, label in (
      (size.decay_step, LR, f"step {size.decay_step} (end of lr {LR:g})"),
      (size.steps, LR * FACTOR,
       f"step {size.steps} (after {size.steps - size.decay_step} steps at lr {LR * FACTOR:g})")):
    stages[label] = checkpoint_summary(
        hessian(run_dir, step, size, workdir / f"hessian_step{step}"), lr)
  final = history[-1]
  record = {
      "experiment": "wide_spectrum", "claims": [],
      "size": dataclasses.asdict(size), "config": json.loads(json.dumps(cfg.to_dict())),
      "final": {key: final.get(key) for key in ("train_loss", "train_accuracy", "test_loss",
                                                "test_accuracy")},
      "train_seconds": train_seconds, "stages": stages,
      "wall_seconds_this_call": time.perf_counter() - started}
  write_results(args.results, record)
  name = f"WRN-{size.depth}-{size.widen}"
  first = next(iter(stages.values()))
  plot(stages, pathlib.Path(args.figures) / "wide_spectrum.png",
       f"GD, {name} ({first['num_params'] / 1e6:.1f}M parameters), {size.num_train} CIFAR-10 "
       f"images at 16x16: top-{size.k} eigenvalues on {first['num_examples']} of them")
  for label, s in stages.items():
    jack = s["jackknife"]
    print(f"{label}: lambda_1 {s['eigenvalues'][0]:.4g} (jackknife {jack['estimate'][0]:.4g}, "
          f"95% [{jack['ci_low'][0]:.4g}, {jack['ci_high'][0]:.4g}]), lr lambda_1 / 2 = "
          f"{s['lr_x_lambda_1 / 2']:.3f}")
  return record


if __name__ == "__main__":
  main()
