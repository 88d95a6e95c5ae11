"""SGDR snapshot ensembles against their last snapshot and against step decay (Huang et al. 2017).

``configs/cifar16_step_decay.py`` (WRN-10-1, the real CIFAR-10 subset at 16x16, crop +
flip, batch 128, momentum 0.9, weight decay 5e-4), five seeds:

* ``sgdr snapshots``: cosine from 0.1 to 0 over 5-epoch cycles (SGDR's restarts), six
  cycles (30 epochs), ``snapshots=True``: the model at the end of each cycle is kept.
  The ensemble of the last m snapshots averages their softmax outputs (Huang et al.
  average the last few); m = 3 is the tested ensemble, m = 1..6 are reported.
* ``step decay``: the baseline, 30 epochs, /10 at epochs 15 and 23 (the same training
  cost; shared with ``autodecay_vs_step.py`` through the workdir).

Run (14 minutes on 2 CPU cores, measured 2026-11-29, the step-decay runs included;
finished runs are read back, not retrained)::

  python experiments/snapshot_ensembles.py --workdir runs/cifar16

It writes ``experiments/results/snapshot_ensembles.json`` (per-seed accuracies of every
last-m ensemble and the claims with their verdicts; RESULTS.md section 6 is generated
from it) and ``experiments/figures/snapshot_ensembles.png``.

Claims (Huang et al. 2017): a snapshot ensemble beats its own last snapshot at no extra
training cost, and beats a single model trained with a standard schedule for the same
number of epochs. Expected (measured 2026-11-29, five seeds): the last snapshot ~56%, the last-3
ensemble ~55% (lower), step decay ~57%. Per seed and verdicts: experiments/RESULTS.md
section 6. (1cycle, which
this script tested before, is compared at equal budgets in budgeted_training.py.)
"""

from __future__ import annotations

import argparse
import dataclasses
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


def configs(cycle: int = 5, cycles: int = 6) -> dict[str, Config]:
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  return {"step decay": base,
          "sgdr snapshots": dataclasses.replace(
              base, epochs=cycle * cycles, snapshots=True,
              learning_rate={"name": "sgdr", "peak_value": 0.1, "first_period": cycle,
                             "unit": "epochs"})}


def last_m_ensembles(run_dir: pathlib.Path) -> list[float]:
  """Test accuracy of the ensemble of the last ``m`` snapshots, for ``m = 1, 2, ...``."""
  config, _, _ = load_run_model(run_dir)
  train_ds, test_ds = load_data(config)
  images = normalize(test_ds.images, *train_ds.channel_stats())
  models = load_snapshot_models(run_dir)
  return [float(np.mean(ensemble_predict(models[-m:], images).argmax(-1) == test_ds.labels))
          for m in range(1, len(models) + 1)]


def claims(last_m: list[list[float]], step: list[float]) -> list[dict]:
  ensemble = [accs[ENSEMBLE - 1] for accs in last_m]
  last = [accs[0] for accs in last_m]
  return [
      claim(f"a snapshot ensemble (last {ENSEMBLE}) beats its last snapshot at no extra "
            f"training cost", "test_accuracy", f"ensemble of the last {ENSEMBLE}",
            "last snapshot", ensemble, last, ">"),
      claim(f"a snapshot ensemble (last {ENSEMBLE}) beats step decay trained for the same "
            f"number of epochs", "test_accuracy", f"ensemble of the last {ENSEMBLE}",
            "step decay", ensemble, step, ">"),
  ]


def plot(histories: dict[str, list[list[dict]]], last_m: list[list[float]],
         path: pathlib.Path) -> None:
  fig = Figure(figsize=(12, 4), layout="constrained")
  curve_ax, m_ax = fig.subplots(1, 2)
  snaps = histories["sgdr snapshots"]
  plot_mean_curve(curve_ax, snaps, "test_accuracy", scale=100, label="SGDR, current model")
  plot_mean_curve(curve_ax, snaps, "test_ensemble_accuracy", scale=100, marker="o",
                  label="SGDR, ensemble of all snapshots so far")
  plot_mean_curve(curve_ax, histories["step decay"], "test_accuracy", scale=100,
                  label="step decay")
  curve_ax.set_xlabel("epoch")
  curve_ax.set_ylabel("test accuracy (%)")
  curve_ax.set_title("test accuracy per epoch", fontsize="medium")
  curve_ax.legend(fontsize="small", loc="lower right")
  accs = 100 * np.asarray(last_m)
  m = np.arange(1, accs.shape[1] + 1)
  for seed_accs in accs:
    m_ax.plot(m, seed_accs, color="0.7", linewidth=0.8)
  m_ax.errorbar(m, accs.mean(0), yerr=accs.std(0, ddof=1) if len(accs) > 1 else None,
                marker="o", capsize=3, color="C1", label="mean ± std (grey: each seed)")
  step = 100 * np.array([h[-1]["test_accuracy"] for h in histories["step decay"]])
  m_ax.axhline(step.mean(), color="C2", linestyle="--", label="step decay, final (mean)")
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
  runs = configs(args.cycle, args.cycles)
  if args.cycles < ENSEMBLE:
    raise ValueError(f"--cycles must be >= {ENSEMBLE} (the tested ensemble), got {args.cycles}")
  histories = run_seeds(runs, args.seeds, workdir)
  last_m = [last_m_ensembles(workdir / "sgdr snapshots" / f"seed{seed}") for seed in args.seeds]
  step = [h[-1]["test_accuracy"] for h in histories["step decay"]]
  record = results_record("snapshot_ensembles", claims(last_m, step), histories, runs,
                          args.seeds, ["test_accuracy", "train_loss"])
  for m in range(1, len(last_m[0]) + 1):
    record["runs"]["sgdr snapshots"]["final"][f"ensemble_last_{m}_accuracy"] = [
        accs[m - 1] for accs in last_m]
  write_results(args.results, record)
  plot(histories, last_m, pathlib.Path(args.figures) / "snapshot_ensembles.png")
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
