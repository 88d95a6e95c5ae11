"""The edge of stability: full-batch GD on fc-tanh (Cohen et al. 2021) vs You et al.'s 2/lambda.

You et al. (2019, Sec. 4.1, App. A.2) argue from ``0 < lr < 2/lambda_1`` that GD either
converges or diverges and that a mildly increased rate diverges at once. Cohen et al. (ICLR
2021) showed that under full-batch GD lambda_1 *rises* (progressive sharpening) to ``2/lr``
and then hovers there while the loss keeps falling, non-monotonically. Every run but part
5's WRN is ``experiments/configs/eos_fc_tanh.py`` (fc-tanh 768-200-200-10, MSE, the first
1000 CIFAR-10 images at 16x16, full-batch GD, no weight decay, no augmentation; sharpness on
the whole training set every ``--sharpness-every`` steps), ``--steps`` steps (1000), five
seeds (initialization; eight for the runs whose claims are counts: part 1's constant rates
and part 4); the constant-rate runs of part 1 run to the same "time" ``lr * steps`` (Cohen
et al.'s x axis): lr 0.02 twice the steps.

1. *progressive sharpening and the edge* (Cohen Fig. 1): lr 0.04 (1000 steps), 0.02 (2000
   steps); 0.01 (4000 steps) only with ``--with-slow``: its edge 200 is far above lambda_1
   at initialization (~90). Decided after a first look (a revision; RESULTS.md lists all):
   at equal steps, lr 0.02's ``lr * lambda_1 / 2`` was still rising through 0.90 at step 920 of 1000
   (seed 0), so "the last half" of a 1000-step run could not answer whether it hovers at
   the edge; and the increase of part 4 was first placed on lr 0.02 at step 500, where it
   was at 0.78 of its edge, not at it;
2. *momentum*: heavy-ball 0.9 at lr 0.04: the edge is ``(2 + 2g)/lr = 95``, not ``2/lr = 50``;
3. *a decay* (You et al.'s Fig. 5): lr 0.04 -> 0.01 at step ``steps/2``: lambda_1 rises
   towards the new ``2/lr = 200``;
4. *a mild increase* (You et al. App. A.2): from a run at the edge (lr 0.04 at step
   ``steps/2``, where ``lr * lambda_1 / 2`` is 1.06 in seed 0) the rate x1.5 and x2; and
   from scratch at 1.5x that rate (0.06);
5. *SGD, and the WRN with cross-entropy and BatchNorm*: SGD at batch 50 and 250 (divisors of
   the 1000 images) at lr 0.04 for the same 1000 steps, lambda_1 of the whole training set:
   below ``2/lr``, lower for the smaller batch; section 3's WRN-10-1 (:func:`wrn_base`)
   under GD at its lr 0.1 with heavy-ball 0.9, without augmentation, ``--wrn-steps`` (300)
   steps, ``--wrn-seeds`` (3): at ``(2 + 2g)/lr``?

Tests, chosen before running (``../shared/reference.md`` sec. 6), level 5%:

* "``lr * lambda_1 / 2`` stays within +-10% of 1 over the last half" (per seed: the mean
  of the logged ``lr_sharpness_half`` over steps ``(steps/2, steps]``): TOST equivalence --
  **reproduced** when the 90% t-interval of the mean over seeds lies inside (0.9, 1.1),
  **contradicted** when it lies wholly outside, **not resolved** otherwise. With momentum
  the same on ``lr * lambda_1 / (2 + 2g)``.
* Paired differences (``lrsched.train.verdicts.claim``, the project's verdict rule): the
  95% t-interval of the per-seed difference above / below 0.
* Counts (divergences, self-stabilizations) out of n seeds: exact binomial (Clopper-Pearson
  95%) interval of the probability: **reproduced** when it lies above 1/2 (the claim's
  event happens more often than not), **contradicted** when below, **not resolved** else.
  Censored outcomes (a run that never diverged within the budget) are counted, not
  averaged.

A run that diverges (loss non-finite or > 1e6) stops with the step named; it is recorded
(``diverged.json`` in its run directory) and kept: rerunning the script reads every
finished or diverged run back instead of training it again. Run (about 1.5-2.5 minutes a
fc-tanh run, 5-8 a WRN run, on 2 shared CPU cores; 62 runs, about 2 hours)::

  nohup .venv/bin/python experiments/edge_of_stability.py > runs/eos.log 2>&1 &

It writes ``experiments/results/edge_of_stability.json`` (per-seed raw numbers, the
sharpness traces and the claims with verdicts) and ``experiments/figures/
edge_of_stability*.png`` (Cohen et al.'s layout: training loss above, sharpness below with
``2/lr`` dashed, one column per setting).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import runpy

import numpy as np
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.train import Config, NonFiniteLossError, train
from lrsched.train.loop import read_history
from lrsched.train.sweep import finished_history, write_results
from lrsched.train.verdicts import claim, count_claim, equivalence_claim, untested_claim

HERE = pathlib.Path(__file__).resolve().parent
MARGIN = 0.1


# ---------------------------------------------------------------- statistics


def edge_claim(text: str, metric: str, values: list[float]) -> dict:
  """The claim "the mean of ``metric`` is 1 within +-``MARGIN``", by TOST (equivalence_claim).

  A seed without a value (it diverged before the window: NaN) leaves nothing to average,
  so the claim is recorded as not tested, naming the seeds.
  """
  missing = [i for i, v in enumerate(values) if not math.isfinite(v)]
  if missing:
    return untested_claim(text, f"no {metric} over the window for seed(s) at positions "
                                f"{missing} (diverged before it)")
  return equivalence_claim(text, metric, values, target=1.0, margin=MARGIN)


# ---------------------------------------------------------------- the runs


def base_config() -> Config:
  return runpy.run_path(str(HERE / "configs/eos_fc_tanh.py"))["get_config"]()


def jump(lr: float, at: int, factor: float) -> dict:
  """A constant rate multiplied by ``factor`` (up or down) at step ``at``."""
  return {"name": "piecewise_constant_schedule", "init_value": lr,
          "boundaries_and_scales": {str(at): factor}}


def wrn_base() -> Config:
  """Part 5's WideResNet: section 3's GD setup (WRN-10-1, the first 1024 CIFAR-10 images at
  16x16, cross-entropy, BatchNorm, heavy-ball 0.9, weight decay 5e-4) at its rate 0.1,
  constant, without augmentation (the training loss is then one fixed function, whose
  sharpness is measured), one chunk of all 1024 images (BatchNorm's statistics of the whole
  set, the same in the step and in the probe)."""
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  return dataclasses.replace(base, train_subset=WRN_TRAIN, full_batch=True,
                             batch_size=WRN_TRAIN, augment=False, learning_rate=0.1,
                             sharpness_batch_size=WRN_TRAIN)


WRN_TRAIN = 1024
SGD_BATCHES = (50, 250)
"""Part 5's minibatches: divisors of the 1000 images, so every epoch sees each image once
(the issue's 64 and 256 would drop 40 and 232 images an epoch)."""


def configs(steps: int = 1000, sharpness_every: int = 20, with_slow: bool = False,
            wrn_steps: int = 300) -> dict[str, Config]:
  """``{run name: config}``, in the order they are trained (the decisive ones first)."""
  base = dataclasses.replace(base_config(), epochs=steps, sharpness_every=sharpness_every,
                             checkpoint_every=steps)
  half = steps // 2
  # Equal "time" lr * steps (Cohen et al. plot against it): lr 0.02 runs twice the steps of
  # lr 0.04, lr 0.01 four times, so that each rate has as long to sharpen to its edge.
  runs = {"gd lr=0.04": dataclasses.replace(base, learning_rate=0.04),
          "gd lr=0.02": dataclasses.replace(base, learning_rate=0.02, epochs=2 * steps,
                                            checkpoint_every=2 * steps),
          "momentum 0.9 lr=0.04": dataclasses.replace(base, learning_rate=0.04, momentum=0.9),
          "increase x1.5 at edge": dataclasses.replace(base, learning_rate=jump(0.04, half, 1.5)),
          "increase x2 at edge": dataclasses.replace(base, learning_rate=jump(0.04, half, 2.0)),
          "scratch lr=0.06": dataclasses.replace(base, learning_rate=0.06),
          "decay 0.04->0.01": dataclasses.replace(base, learning_rate=jump(0.04, half, 0.25))}
  # Part 5: SGD at the same rate and number of steps (an epoch is NUM_TRAIN / batch steps);
  # lambda_1 on the whole training set, every ``sharpness_every`` steps, as for GD.
  num_train = base.train_subset
  for batch in SGD_BATCHES:
    epochs = steps * batch // num_train
    runs[f"sgd batch={batch} lr=0.04"] = dataclasses.replace(
        base, learning_rate=0.04, full_batch=False, batch_size=batch, epochs=epochs,
        checkpoint_every=epochs)
  runs["wrn gd lr=0.1 momentum 0.9"] = dataclasses.replace(
      wrn_base(), epochs=wrn_steps, sharpness_every=sharpness_every,
      checkpoint_every=wrn_steps)
  if with_slow:
    runs["gd lr=0.01"] = dataclasses.replace(base, learning_rate=0.01, epochs=4 * steps,
                                             checkpoint_every=4 * steps)
  return runs


def run_steps(config: Config) -> int:
  """The run's optimizer steps (``Config.epochs`` times the full batches of an epoch)."""
  return config.epochs * (1 if config.full_batch else
                          max(config.train_subset // config.batch_size, 1))


def _finished(config: Config, run_dir: pathlib.Path):
  """The run's history when it is finished; None when it is to be trained or resumed.

  A finished shorter run of the same setting (lr 0.02's first 1000 steps, before the
  design's revision) is resumed to the new budget: ``train(..., resume=True)`` allows only
  the budget to differ (``SAFE_ON_RESUME``) and refuses any other change.
  """
  try:
    return finished_history(config, run_dir)
  except ValueError:
    return None


def run_one(config: Config, run_dir: pathlib.Path) -> dict:
  """Trains (or reads back) one run; returns its history, sharpness log and divergence."""
  marker = run_dir / "diverged.json"
  diverged = json.loads(marker.read_text()) if marker.is_file() else None
  if diverged is None and _finished(config, run_dir) is None:
    try:
      train(config, run_dir, resume=True)
    except NonFiniteLossError as error:
      diverged = {"step": error.step, "message": str(error)}
      marker.write_text(json.dumps(diverged) + "\n")
  history = read_history(run_dir / "metrics.jsonl", config.epochs)
  path = run_dir / "sharpness.jsonl"
  sharpness = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
  return {"history": history, "sharpness": sharpness, "diverged": diverged}


def late_mean(run: dict, key: str, start: int) -> float:
  """The mean of a sharpness-log column over steps > ``start`` (NaN if none)."""
  return window_mean(run, key, start, math.inf)


def window_mean(run: dict, key: str, first: int, last: int) -> float:
  """The mean of a sharpness-log column over steps in ``(first, last]`` (NaN if none)."""
  values = [r[key] for r in run["sharpness"] if first < r["step"] <= last]
  return float(np.mean(values)) if values else math.nan


def losses(run: dict) -> np.ndarray:
  return np.array([r["train_loss"] for r in run["history"]])


def self_stabilized(run: dict, at: int, window: int) -> bool:
  """After a rate change at step ``at``: no divergence, and the loss is back below its
  value just before the change within ``window`` steps."""
  if run["diverged"] is not None:
    return False
  loss = losses(run)
  before = loss[at - 1]
  return bool(np.any(loss[at:at + window] < before))


def summarize(runs: dict[str, Config], results: dict[str, list[dict]], steps: int) -> list:
  half = steps // 2
  out = []

  def lsh(name, key="lr_sharpness_half"):
    return [late_mean(r, key, run_steps(runs[name]) // 2) for r in results[name]]

  for name in ("gd lr=0.04", "gd lr=0.02", "gd lr=0.01"):
    if name in results:
      total = run_steps(runs[name])
      out.append(edge_claim(
          f"{name}: lr*lambda_1/2 stays within +-10% of 1 over the last half (steps "
          f"{total // 2 + 1}-{total}; Cohen et al.'s edge of stability)", "lr_sharpness_half",
          lsh(name)))
  for name in (n for n in ("gd lr=0.04", "gd lr=0.02") if n in results):
    mid_step = run_steps(runs[name]) // 2
    first = [float(np.mean([r["sharpness"] for r in run["sharpness"][:3]]))
             for run in results[name]]
    peak = [float(np.max([r["sharpness"] for r in run["sharpness"]])) for run in results[name]]
    out.append(claim(f"{name}: progressive sharpening (lambda_1's maximum above its first "
                     f"three estimates)", "sharpness", "max", "first three", peak, first, ">"))
    final = [float(losses(r)[-1]) for r in results[name]]
    mid = [float(losses(r)[mid_step - 1]) for r in results[name]]
    out.append(claim(f"{name}: the loss keeps falling at the edge (final below step "
                     f"{mid_step})", "train_loss", "final", f"step {mid_step}", final, mid, "<"))
    ups = [bool(np.any(np.diff(losses(r)[mid_step:]) > 0)) for r in results[name]]
    out.append(count_claim(f"{name}: the loss is non-monotone over the last half",
                           "some step increases the training loss", ups))
  if "momentum 0.9 lr=0.04" in results:
    name = "momentum 0.9 lr=0.04"
    out.append(edge_claim(
        f"{name}: the edge is (2+2g)/lr: lr*lambda_1/(2+2g) within +-10% of 1 over the last "
        f"half", "lr_sharpness_momentum", lsh(name, "lr_sharpness_momentum")))
    out.append(edge_claim(
        f"{name}: the edge is 2/lr (You et al.'s bound without momentum): lr*lambda_1/2 "
        f"within +-10% of 1", "lr_sharpness_half", lsh(name)))
  if "decay 0.04->0.01" in results:
    name = "decay 0.04->0.01"
    before = [window_mean(run, "sharpness", half - 100, half) for run in results[name]]
    end = [float(np.mean([r["sharpness"] for r in run["sharpness"][-3:]]))
           for run in results[name]]
    out.append(claim(f"{name}: after the decay at step {half} lambda_1 rises (progressive "
                     f"sharpening; the last three estimates vs the 100 steps before the decay)",
                     "sharpness", "end", "before the decay", end, before, ">"))
    out.append(claim(f"{name}: lambda_1 is still rising at the end (its mean over the last 100 "
                     f"steps vs the 100 before them)", "sharpness", "last 100 steps",
                     "the 100 before",
                     [window_mean(r, "sharpness", steps - 100, steps) for r in results[name]],
                     [window_mean(r, "sharpness", steps - 200, steps - 100)
                      for r in results[name]], ">"))
    out.append(edge_claim(
        f"{name}: lambda_1 reaches the new edge 2/0.01 = 200 within the {steps - half} steps "
        f"after the decay (lr*lambda_1/2 of the last three estimates within +-10% of 1)",
        "lr_sharpness_half",
        [float(np.mean([r["lr_sharpness_half"] for r in run["sharpness"][-3:]]))
         for run in results[name]]))
  window = max(steps // 5, 1)
  for name in ("increase x1.5 at edge", "increase x2 at edge"):
    if name in results:
      out.append(count_claim(f"{name} (lr 0.04 -> step {half}): 'diverges at once' (You et "
                             f"al. App. A.2)", "diverged",
                             [r["diverged"] is not None for r in results[name]]))
      out.append(count_claim(
          f"{name}: self-stabilizes (no divergence; the loss back below its pre-increase "
          f"value within {window} steps)", "self-stabilized",
          [self_stabilized(r, half, window) for r in results[name]]))
  if "scratch lr=0.06" in results:
    out.append(count_claim("lr 0.06 from scratch (1.5x the largest rate shown at the edge): "
                           "diverges", "diverged",
                           [r["diverged"] is not None for r in results["scratch lr=0.06"]]))
  sgd = [f"sgd batch={b} lr=0.04" for b in SGD_BATCHES]
  if all(n in results for n in sgd) and "gd lr=0.04" in results:
    # Paired by seed: the count runs' seeds begin with the others' (checked in main).
    full = lsh("gd lr=0.04")[:len(results[sgd[-1]])]
    for name in sgd:
      # "Settles" is two claims: below the edge at the end, and no longer rising there
      # (a lambda_1 still climbing at the last step has not settled anywhere yet).
      total = run_steps(runs[name])
      last = [window_mean(r, "lr_sharpness_half", total - 100, total) for r in results[name]]
      before = [window_mean(r, "lr_sharpness_half", total - 200, total - 100)
                for r in results[name]]
      out.append(claim(f"{name}: at the end lambda_1 is below the edge 2/lr (lr*lambda_1/2 "
                       f"over the last 100 steps below 1)", "lr_sharpness_half", name,
                       "the edge (1)", last, [1.0] * len(last), "<"))
      out.append(claim(f"{name}: lambda_1 is still rising at the end (the last 100 steps vs "
                       f"the 100 before; if so, where it settles is not reached)",
                       "lr_sharpness_half", "last 100 steps", "the 100 before", last, before,
                       ">"))
    small, large = SGD_BATCHES[0], SGD_BATCHES[-1]
    out.append(claim(f"SGD: lambda_1 is lower for the smaller batch (late lr*lambda_1/2, "
                     f"batch {small} below batch {large})", "lr_sharpness_half",
                     f"batch {small}", f"batch {large}", lsh(sgd[0]), lsh(sgd[-1]), "<"))
    out.append(claim(f"SGD batch {large} settles below full-batch GD (late lr*lambda_1/2)",
                     "lr_sharpness_half", f"batch {large}", "full batch (gd lr=0.04)",
                     lsh(sgd[-1]), full, "<"))
  name = "wrn gd lr=0.1 momentum 0.9"
  if name in results:
    out.append(edge_claim(
        f"{name} (cross-entropy, BatchNorm): at heavy-ball's edge, lr*lambda_1/(2+2g) within "
        f"+-10% of 1 over the last half", "lr_sharpness_momentum",
        lsh(name, "lr_sharpness_momentum")))
    out.append(claim(f"{name}: progressive sharpening (lambda_1's maximum above its first "
                     f"three estimates)", "sharpness", "max", "first three",
                     [float(np.max([r["sharpness"] for r in run["sharpness"]]))
                      for run in results[name]],
                     [float(np.mean([r["sharpness"] for r in run["sharpness"][:3]]))
                      for run in results[name]], ">"))
  return out


def plot(results: dict[str, list[dict]], runs: dict[str, Config], path: pathlib.Path,
         title: str) -> None:
  """Cohen et al.'s layout: loss on top, sharpness (2/lr dashed) below, one column a run."""
  names = list(results)
  fig = Figure(figsize=(3.2 * len(names), 6), layout="constrained")
  axes = fig.subplots(2, len(names), squeeze=False)
  for col, name in enumerate(names):
    for seed, run in enumerate(results[name]):
      alpha = 1.0 if seed == 0 else 0.35
      loss = losses(run)  # one value an epoch: the mean over its steps
      per_epoch = run_steps(runs[name]) // runs[name].epochs
      axes[0, col].plot(np.arange(1, len(loss) + 1) * per_epoch, loss, color="C0",
                        alpha=alpha, lw=0.8)
      steps = [r["step"] for r in run["sharpness"]]
      axes[1, col].plot(steps, [r["sharpness"] for r in run["sharpness"]], color="C1",
                        alpha=alpha, lw=0.8)
      if seed == 0:
        axes[1, col].plot(steps, [r["gd_threshold"] for r in run["sharpness"]], "k--", lw=1,
                          label="2 / lr")
        if runs[name].momentum:
          axes[1, col].plot(steps, [r["momentum_threshold"] for r in run["sharpness"]], "k:",
                            lw=1, label="(2+2g) / lr")
      if run["diverged"] is not None:
        axes[0, col].axvline(run["diverged"]["step"], color="r", lw=0.6, alpha=alpha)
    axes[0, col].set_title(name, fontsize="small")
    axes[0, col].set_yscale("log")
    axes[0, col].set_ylabel(f"training loss ({runs[name].loss})")
    axes[1, col].set_ylabel("sharpness lambda_1")
    axes[1, col].set_xlabel("step")
    axes[1, col].legend(fontsize="x-small")
  fig.suptitle(f"{title} (seed 0 solid, others faint)")
  save_figure(fig, path)


# The runs whose claims are counts of events (diverged, self-stabilized) decided by an exact
# binomial interval: 5 seeds cannot decide one (5 of 5 gives [0.48, 1], which contains 1/2),
# 8 can (8 of 8: [0.63, 1]; 0 of 8: [0, 0.37]). Decided before the runs of part 4 were made;
# the constant-rate runs of part 1 joined after their 5-seed count ("the loss is
# non-monotone", 5 of 5) could not resolve: seeds 5-7 were added, the rule unchanged.
COUNT_RUNS = ("gd lr=0.04", "gd lr=0.02", "increase x1.5 at edge", "increase x2 at edge",
              "scratch lr=0.06")


def seeds_of(name: str, args: argparse.Namespace) -> list[int]:
  if name.startswith("wrn"):
    return args.wrn_seeds
  return args.count_seeds if name in COUNT_RUNS else args.seeds


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/edge_of_stability", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--count-seeds", type=int, nargs="+", default=list(range(8)),
                      help="seeds of the runs whose claims are counts (part 4)")
  parser.add_argument("--wrn-seeds", type=int, nargs="+", default=[0, 1, 2],
                      help="seeds of part 5's WRN (3: each run is ~7 min on 2 CPU cores)")
  parser.add_argument("--steps", type=int, default=1000)
  parser.add_argument("--wrn-steps", type=int, default=300)
  parser.add_argument("--sharpness-every", type=int, default=20)
  parser.add_argument("--with-slow", action="store_true", help="also lr 0.01 (edge 200)")
  parser.add_argument("--only", nargs="*", default=None, help="run names to train")
  parser.add_argument("--results", default=str(HERE / "results/edge_of_stability.json"))
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  if args.count_seeds[:len(args.seeds)] != args.seeds:
    parser.error(f"--count-seeds {args.count_seeds} must begin with --seeds {args.seeds} "
                 f"(the claims pair runs by seed)")
  runs = configs(args.steps, args.sharpness_every, args.with_slow, args.wrn_steps)
  if args.only:
    runs = {k: v for k, v in runs.items() if k in args.only}
  results = {}
  for name, config in runs.items():
    results[name] = []
    for seed in seeds_of(name, args):
      run_dir = pathlib.Path(args.workdir) / name.replace(" ", "_") / f"seed{seed}"
      results[name].append(run_one(dataclasses.replace(config, seed=seed), run_dir))
      print(f"{name} seed {seed}: late lr*lambda/2 "
            f"{late_mean(results[name][-1], 'lr_sharpness_half', run_steps(config) // 2):.3f}, "
            f"diverged {results[name][-1]['diverged']}", flush=True)
  claims = summarize(runs, results, args.steps)
  record = {"experiment": "edge_of_stability", "claims": claims, "runs": {
      name: {"seeds": seeds_of(name, args), "config": json.loads(json.dumps(runs[name].to_dict())),
             "steps": run_steps(runs[name]),
             "late_lr_sharpness_half": [
                 late_mean(r, "lr_sharpness_half", run_steps(runs[name]) // 2)
                 for r in per_seed],
             "late_lr_sharpness_momentum": [late_mean(r, "lr_sharpness_momentum",
                                                      run_steps(runs[name]) // 2)
                                           for r in per_seed],
             "final": {"train_loss": [float(losses(r)[-1]) for r in per_seed],
                       "test_accuracy": [r["history"][-1].get("test_accuracy")
                                         for r in per_seed]},
             "diverged_step": [None if r["diverged"] is None else r["diverged"]["step"]
                               for r in per_seed],
             "sharpness": [[[r["step"], r["sharpness"], r["num_hvps"]] for r in run["sharpness"]]
                           for run in per_seed],
             "train_loss": [[float(v) for v in losses(r)[::10]] for r in per_seed]}
      for name, per_seed in results.items()}}
  write_results(args.results, record)
  part5 = [n for n in results if n.startswith(("sgd", "wrn"))]
  figures = pathlib.Path(args.figures)
  plot({n: r for n, r in results.items() if n not in part5}, runs,
       figures / "edge_of_stability.png",
       "fc-tanh, MSE, full-batch GD on 1000 CIFAR-10 images")
  if part5:
    plot({n: results[n] for n in part5}, runs, figures / "edge_of_stability_sgd_wrn.png",
         "SGD on fc-tanh (same rate and steps); GD on section 3's WRN (cross-entropy, BatchNorm)")
  for item in claims:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
