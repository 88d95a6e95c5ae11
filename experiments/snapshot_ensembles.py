"""SGDR snapshot ensembles against their last snapshot and against step decay (Huang et al. 2017).

``configs/cifar16_step_decay.py`` (WRN-10-1, the real CIFAR-10 subset at 16x16, crop +
flip, batch 128, momentum 0.9, weight decay 5e-4), five seeds:

* ``sgdr snapshots``: cosine from 0.1 to 0 over 5-epoch cycles (SGDR's restarts), six
  cycles (30 epochs), ``snapshots=True``: the model at the end of each cycle is kept.
  The ensemble of the last m snapshots averages their softmax outputs (Huang et al.
  average the last few); m = 3 is the tested ensemble, m = 1..6 are reported.
* ``step decay``: the baseline, 30 epochs, /10 at epochs 15 and 23 (the same training
  cost; shared with ``autodecay_vs_step.py`` through the workdir).
* ``sgdr snapshots 10x3``: the same with three 10-epoch cycles. With 5-epoch cycles the
  snapshots differ by 2-4 points (each cycle is too short to train a model), so their
  ensemble mixes weaker models with the last; longer cycles make the members nearly
  equals, the setting of Huang et al.'s claim. The members' spread (best minus worst of
  the last three) is recorded per seed.
* ``independent ensemble``: three ``step decay 10`` runs (10 epochs, /10 at epochs 5 and
  8), each from its own seed (``s``, ``s + 100``, ``s + 200`` for test seed ``s``), their
  softmax outputs averaged: an ensemble of independently trained models at the snapshot
  ensemble's total cost of 30 epochs (the overview: snapshot ensembles outperform
  "adding independent, fully-trained models into an ensemble").

Run (14 minutes on 2 CPU cores for the first two arms, measured 2026-11-29, the step-decay
runs included; about 15 minutes more for the 10x3 snapshots and the independent members,
estimated; finished runs are read back, not retrained)::

  python experiments/snapshot_ensembles.py --workdir runs/cifar16

It writes ``experiments/results/snapshot_ensembles.json`` (per-seed accuracies of every
last-m ensemble and the claims with their verdicts; RESULTS.md section 6 is generated
from it) and ``experiments/figures/snapshot_ensembles.png``.

Claims (Huang et al. 2017), each by a paired t-interval over the five seeds: a snapshot
ensemble beats its own last snapshot at no extra training cost, and beats a single model
trained with a standard schedule for the same number of epochs -- with 5-epoch and with
10-epoch cycles --; and (10-epoch cycles) it beats an independent ensemble of the same
total cost. Expected (measured 2026-11-29, five seeds): the last snapshot ~56%, the last-3
ensemble ~55% (lower), step decay ~57%. Per seed and verdicts: experiments/RESULTS.md
section 6. (1cycle, which
this script tested before, is compared at equal budgets in budgeted_training.py.)
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

from lrsched.data import normalize
from lrsched.plotting import plot_mean_curve, save_figure
from lrsched.train import (
    Config,
    ensemble_predict,
    load_data,
    load_run_model,
    load_snapshot_models,
    run_seeds,
)
from lrsched.train.sweep import results_record, write_results
from lrsched.train.verdicts import claim

HERE = pathlib.Path(__file__).resolve().parent
ENSEMBLE = 3  # the tested ensemble: the last 3 snapshots
MEMBER_SEED_STRIDE = 100  # independent member k of test seed s: seed s + 100 k
LONG_CYCLE = 10  # epochs: ENSEMBLE long cycles make the step-decay budget of 30
LONG = f"sgdr snapshots {LONG_CYCLE}x{ENSEMBLE}"


def _sgdr(base: Config, cycle: int, cycles: int) -> Config:
  return dataclasses.replace(base, epochs=cycle * cycles, snapshots=True, learning_rate={
      "name": "sgdr", "peak_value": 0.1, "first_period": cycle, "unit": "epochs"})


def configs(cycle: int = 5, cycles: int = 6, long_cycle: int = LONG_CYCLE) -> dict[str, Config]:
  """The runs: step decay, SGDR with ``cycles`` cycles of ``cycle`` epochs, SGDR with
  ``ENSEMBLE`` cycles of ``long_cycle`` epochs, and the independent members (step decay
  over ``long_cycle`` epochs, /10 at 50% and 75% rounded up)."""
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  member = dataclasses.replace(base, epochs=long_cycle, learning_rate=dict(
      base.learning_rate, boundaries=[math.ceil(long_cycle / 2), math.ceil(0.75 * long_cycle)]))
  return {"step decay": base, "sgdr snapshots": _sgdr(base, cycle, cycles),
          LONG: _sgdr(base, long_cycle, ENSEMBLE), f"step decay {long_cycle}": member}


def _test_set(run_dir: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
  """The normalized test images and labels of a finished run's data."""
  config, _, _ = load_run_model(run_dir)
  train_ds, test_ds = load_data(config)
  return normalize(test_ds.images, *train_ds.channel_stats()), test_ds.labels


def _accuracy(models: list, images: np.ndarray, labels: np.ndarray) -> float:
  """Test accuracy of the softmax average of ``models``."""
  return float(np.mean(ensemble_predict(models, images).argmax(-1) == labels))


def snapshot_accuracies(run_dir: pathlib.Path) -> tuple[list[float], list[float]]:
  """For a finished ``snapshots=True`` run: the test accuracy of the ensemble of the last
  ``m`` snapshots for ``m = 1, 2, ...``, and of each snapshot (oldest first)."""
  images, labels = _test_set(run_dir)
  models = load_snapshot_models(run_dir)
  return ([_accuracy(models[-m:], images, labels) for m in range(1, len(models) + 1)],
          [_accuracy([m], images, labels) for m in models])


def member_seeds(seed: int) -> list[int]:
  """The seeds of test seed ``seed``'s independent members."""
  return [seed + MEMBER_SEED_STRIDE * k for k in range(ENSEMBLE)]


def independent_ensemble(run_dirs: list[pathlib.Path]) -> tuple[float, list[float]]:
  """Test accuracy of the softmax average of the finished runs ``run_dirs`` (and of each)."""
  images, labels = _test_set(run_dirs[0])
  models = [load_run_model(d)[1] for d in run_dirs]
  for model in models:
    model.eval()
  return _accuracy(models, images, labels), [_accuracy([m], images, labels) for m in models]


def claims(last_m: list[list[float]], step: list[float],
           long_m: list[list[float]] | None = None,
           independent: list[float] | None = None) -> list[dict]:
  """The claims: per cycle length, the ensemble vs its last snapshot and vs step decay;
  with the long cycles, vs the independent ensemble of equal cost."""
  made = []
  arms = [("", last_m)] + ([(f" ({LONG_CYCLE}-epoch cycles)", long_m)] if long_m else [])
  for label, per_seed in arms:
    ensemble = [accs[ENSEMBLE - 1] for accs in per_seed]
    last = [accs[0] for accs in per_seed]
    made += [
        claim(f"a snapshot ensemble (last {ENSEMBLE}){label} beats its last snapshot at no "
              f"extra training cost", "test_accuracy", f"ensemble of the last {ENSEMBLE}"
              f"{label}", "last snapshot", ensemble, last, ">"),
        claim(f"a snapshot ensemble (last {ENSEMBLE}){label} beats step decay trained for "
              f"the same number of epochs", "test_accuracy",
              f"ensemble of the last {ENSEMBLE}{label}", "step decay", ensemble, step, ">")]
  if long_m and independent:
    made.append(claim(
        f"a snapshot ensemble (last {ENSEMBLE}, {LONG_CYCLE}-epoch cycles) beats an independent "
        f"ensemble of the same total cost ({ENSEMBLE} step-decay runs of {LONG_CYCLE} epochs)",
        "test_accuracy", f"snapshot ensemble ({LONG_CYCLE}x{ENSEMBLE})",
        f"independent ensemble ({ENSEMBLE} x {LONG_CYCLE})",
        [accs[ENSEMBLE - 1] for accs in long_m], independent, ">"))
  return made


def plot(histories: dict[str, list[list[dict]]], last_m: list[list[float]],
         path: pathlib.Path, long_m: list[list[float]] | None = None,
         independent: list[float] | None = None) -> None:
  fig = Figure(figsize=(12, 4), layout="constrained")
  curve_ax, m_ax = fig.subplots(1, 2)
  snaps = histories["sgdr snapshots"]
  plot_mean_curve(curve_ax, snaps, "test_accuracy", scale=100, label="SGDR, current model")
  plot_mean_curve(curve_ax, snaps, "test_ensemble_accuracy", scale=100, marker="o",
                  label="SGDR, ensemble of all snapshots so far")
  plot_mean_curve(curve_ax, histories["step decay"], "test_accuracy", scale=100,
                  label="step decay")
  if LONG in histories:
    plot_mean_curve(curve_ax, histories[LONG], "test_ensemble_accuracy", scale=100,
                    marker="s",
                    label=f"SGDR {LONG_CYCLE}x{ENSEMBLE}, ensemble of all snapshots so far")
  curve_ax.set_xlabel("epoch")
  curve_ax.set_ylabel("test accuracy (%)")
  curve_ax.set_title("test accuracy per epoch", fontsize="medium")
  curve_ax.legend(fontsize="small", loc="lower right")
  accs = 100 * np.asarray(last_m)
  m = np.arange(1, accs.shape[1] + 1)
  for seed_accs in accs:
    m_ax.plot(m, seed_accs, color="0.7", linewidth=0.8)
  m_ax.errorbar(m, accs.mean(0), yerr=accs.std(0, ddof=1) if len(accs) > 1 else None,
                marker="o", capsize=3, color="C1",
                label="SGDR, short cycles: mean ± std (grey: each seed)")
  step = 100 * np.array([h[-1]["test_accuracy"] for h in histories["step decay"]])
  m_ax.axhline(step.mean(), color="C2", linestyle="--", label="step decay, final (mean)")
  if long_m:
    long_accs = 100 * np.asarray(long_m)
    m_ax.errorbar(np.arange(1, long_accs.shape[1] + 1), long_accs.mean(0), marker="s",
                  capsize=3, color="C3", label=f"SGDR {LONG_CYCLE}x{ENSEMBLE} (mean)",
                  yerr=long_accs.std(0, ddof=1) if len(long_accs) > 1 else None)
  if independent:
    m_ax.axhline(100 * np.mean(independent), color="C4", linestyle=":",
                 label=f"independent ensemble, {ENSEMBLE} x {LONG_CYCLE} epochs (mean)")
  m_ax.set_xlabel("snapshots averaged (the last m)")
  m_ax.set_ylabel("test accuracy (%)")
  m_ax.set_title("ensemble of the last m snapshots", fontsize="medium")
  m_ax.legend(fontsize="small")
  fig.suptitle(f"SGDR snapshot ensembles, WRN-10-1 on the CIFAR-10 subset at 16x16: "
               f"{len(accs)} seeds")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/cifar16", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--cycle", type=int, default=5, help="SGDR cycle length (epochs)")
  parser.add_argument("--cycles", type=int, default=6, help="SGDR cycles")
  parser.add_argument("--results", default=str(HERE / "results/snapshot_ensembles.json"),
                      help="where the raw results go")
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  workdir = pathlib.Path(args.workdir)
  if args.cycles < ENSEMBLE:
    raise ValueError(f"--cycles must be >= {ENSEMBLE} (the tested ensemble), got {args.cycles}")
  runs = configs(args.cycle, args.cycles)
  budget = runs["step decay"].epochs
  if args.cycle * args.cycles != budget:
    raise ValueError(f"--cycle x --cycles must be step decay's {budget} epochs (the claims "
                     f"compare equal budgets), got {args.cycle} x {args.cycles}")
  every_member = [s for seed in args.seeds for s in member_seeds(seed)]
  if len(set(every_member)) != len(every_member):
    raise ValueError(f"--seeds {args.seeds} would share independent members (seed s uses "
                     f"s + {MEMBER_SEED_STRIDE} k): choose seeds that differ by less than "
                     f"{MEMBER_SEED_STRIDE}")
  member = f"step decay {LONG_CYCLE}"
  histories = run_seeds({k: v for k, v in runs.items() if k != member}, args.seeds, workdir)
  members = run_seeds({member: runs[member]}, every_member, workdir)[member]
  short, long = ([snapshot_accuracies(workdir / name / f"seed{seed}") for seed in args.seeds]
                 for name in ("sgdr snapshots", LONG))
  last_m, long_m = [m for m, _ in short], [m for m, _ in long]
  independent = [independent_ensemble([workdir / member / f"seed{s}" for s in member_seeds(seed)])
                 for seed in args.seeds]
  step = [h[-1]["test_accuracy"] for h in histories["step decay"]]
  made = claims(last_m, step, long_m, [acc for acc, _ in independent])
  record = results_record("snapshot_ensembles", made, histories, runs, args.seeds,
                          ["test_accuracy", "train_loss"])
  for name, per_seed in (("sgdr snapshots", short), (LONG, long)):
    final = record["runs"][name]["final"]
    for m in range(1, len(per_seed[0][0]) + 1):
      final[f"ensemble_last_{m}_accuracy"] = [accs[m - 1] for accs, _ in per_seed]
    final[f"spread_of_last_{ENSEMBLE}_snapshots"] = [
        max(each[-ENSEMBLE:]) - min(each[-ENSEMBLE:]) for _, each in per_seed]
  record["runs"]["independent ensemble"] = {
      "seeds": list(args.seeds), "member_seeds": [member_seeds(s) for s in args.seeds],
      "final": {"ensemble_accuracy": [acc for acc, _ in independent],
                "member_accuracy_mean": [float(np.mean(each)) for _, each in independent],
                f"spread_of_{ENSEMBLE}_members": [max(each) - min(each)
                                                 for _, each in independent]},
      "epochs": [LONG_CYCLE * ENSEMBLE] * len(args.seeds),
      "config": json.loads(json.dumps(runs[member].to_dict())),
      "member_histories_final_test_accuracy": [h[-1]["test_accuracy"] for h in members]}
  write_results(args.results, record)
  plot(histories, last_m, pathlib.Path(args.figures) / "snapshot_ensembles.png", long_m,
       [acc for acc, _ in independent])
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
