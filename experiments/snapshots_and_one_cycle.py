"""SGDR snapshot ensembles, and 1cycle reaching step decay's accuracy in fewer epochs.

Both on ``configs/cifar16_step_decay.py`` (WRN-10-1, the real CIFAR-10 subset at
16x16, batch 128, momentum 0.9, weight decay 5e-4), three seeds:

* **Snapshot ensemble** (Huang et al. 2017, with SGDR's restarts): cosine from 0.1 to 0
  over 5-epoch cycles, 4 cycles (20 epochs), ``snapshots=True``: the model at the end
  of each cycle is kept; the ensemble averages the snapshots' softmax outputs. Gain =
  ensemble accuracy - last snapshot's accuracy (the same training cost); also the
  ensembles of the last m = 1..4 snapshots (Huang et al. average the last few).
* **1cycle** (Smith & Topin 2019): ``one_cycle`` (peak 0.2, twice the baseline's rate;
  OneCycleLR's defaults: div 25, final div 1e4, pct_start 0.3) with its inverse
  momentum cycle 0.95 -> 0.85 -> 0.95, over 10 and 15 epochs, against the 30-epoch
  step-decay baseline; "epochs to target" is the first epoch whose test accuracy
  reaches the baseline's final accuracy minus 1 point (per seed).

Run (about 8 minutes on 2 CPU cores; the step-decay runs are shared with
autodecay_vs_step.py through the workdir)::

  python experiments/snapshots_and_one_cycle.py --workdir runs/cifar16

Prints two markdown tables (mean +- std over seeds) and writes
``snapshots_and_one_cycle.png`` and ``snapshots_summary.json``. Paper claims: the
snapshot ensemble beats its single last snapshot; 1cycle reaches the accuracy of a
standard schedule in a fraction of the epochs ("super-convergence"). Expected: the
ensemble is ~1 point *below* the last snapshot (~51.8%); 1cycle ends at ~49% (10 epochs)
and ~53% (15), below step decay's ~56.7%, which needs ~15 and ~17 epochs to match them.
Numbers: experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy

import numpy as np
from matplotlib.figure import Figure

from lrsched.data import normalize
from lrsched.plotting import plot_mean_curve, save_figure
from lrsched.train import (
    Config,
    ensemble_predict,
    format_mean_std,
    load_data,
    load_run_model,
    load_snapshot_models,
    markdown_table,
    run_seeds,
)

HERE = pathlib.Path(__file__).resolve().parent


def configs(cycle: int = 5, cycles: int = 4, one_cycle_epochs: tuple[int, ...] = (10, 15),
            one_cycle_max: float = 0.2) -> dict[str, Config]:
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  runs = {"step decay": base,
          "sgdr snapshots": dataclasses.replace(
              base, epochs=cycle * cycles, snapshots=True,
              learning_rate={"name": "sgdr", "peak_value": 0.1, "first_period": cycle,
                             "unit": "epochs"})}
  for epochs in one_cycle_epochs:
    runs[f"1cycle {epochs} epochs"] = dataclasses.replace(
        base, epochs=epochs,
        learning_rate={"name": "one_cycle", "total_steps": epochs, "peak_value": one_cycle_max,
                       "unit": "epochs"},
        momentum={"name": "one_cycle_momentum", "total_steps": epochs, "unit": "epochs"})
  return runs


def last_m_ensembles(run_dir: pathlib.Path) -> list[float]:
  """Test accuracy of the ensemble of the last ``m`` snapshots, for ``m = 1, 2, ...``."""
  config, _, _ = load_run_model(run_dir)
  train_ds, test_ds = load_data(config)
  images = normalize(test_ds.images, *train_ds.channel_stats())
  models = load_snapshot_models(run_dir)
  return [float(np.mean(ensemble_predict(models[-m:], images).argmax(-1) == test_ds.labels))
          for m in range(1, len(models) + 1)]


def ensemble_table(per_seed_accs: list[list[float]]) -> str:
  accs = np.array(per_seed_accs)
  return markdown_table(
      ["snapshots averaged", *(f"last {m}" for m in range(1, accs.shape[1] + 1))],
      [["test acc", *(format_mean_std(accs[:, m], scale=100) for m in range(accs.shape[1]))],
       ["gain over the last alone (points)",
        *(format_mean_std(accs[:, m] - accs[:, 0], scale=100) for m in range(accs.shape[1]))]])


def epochs_to(history: list[dict], target: float) -> int | None:
  return next((r["epoch"] for r in history if r["test_accuracy"] >= target), None)


def tables(histories: dict[str, list[list[dict]]], margin: float = 0.01) -> str:
  snaps = histories["sgdr snapshots"]
  ens = [h[-1]["test_ensemble_accuracy"] for h in snaps]
  last = [h[-1]["test_snapshot_accuracy"] for h in snaps]
  baseline = [h[-1]["test_accuracy"] for h in histories["step decay"]]
  first = markdown_table(
      ["run", "epochs", "last snapshot acc", "ensemble acc", "gain (points)",
       "step decay (30 epochs) acc"],
      [["sgdr snapshots", len(snaps[0]), format_mean_std(last, scale=100),
        format_mean_std(ens, scale=100),
        format_mean_std([e - s for e, s in zip(ens, last, strict=True)], scale=100),
        format_mean_std(baseline, scale=100)]])
  rows = []
  for name, seeds in histories.items():
    if name == "sgdr snapshots":
      continue
    reach = [epochs_to(h, b - margin) for h, b in zip(seeds, baseline, strict=True)]
    # The other way round: when step decay (same seed) first reaches this run's final acc.
    back = [epochs_to(s, h[-1]["test_accuracy"])
            for h, s in zip(seeds, histories["step decay"], strict=True)]
    rows.append([name, len(seeds[0]), format_mean_std([h[-1]["test_accuracy"] for h in seeds],
                                                      scale=100),
                 ", ".join("-" if r is None else str(r) for r in reach),
                 ", ".join("-" if r is None else str(r) for r in back)])
  second = markdown_table(["run", "epochs", "final test acc",
                           f"epoch reaching step decay's final acc - {100 * margin:g} "
                           "(per seed)", "epoch step decay reaches this final acc (per seed)"],
                          rows)
  return first + "\n\n" + second


def plot(histories: dict[str, list[list[dict]]], path: pathlib.Path) -> None:
  fig = Figure(figsize=(12, 4), layout="constrained")
  snap_ax, cycle_ax = fig.subplots(1, 2)
  snaps = histories["sgdr snapshots"]
  plot_mean_curve(snap_ax, snaps, "test_accuracy", scale=100, label="current model")
  plot_mean_curve(snap_ax, snaps, "test_ensemble_accuracy", scale=100, marker="o",
                  label="ensemble of snapshots so far")
  snap_ax.set_title("SGDR with restarts, snapshot ensemble: test accuracy (%)")
  for name, seeds in histories.items():
    if name != "sgdr snapshots":
      plot_mean_curve(cycle_ax, seeds, "test_accuracy", scale=100, label=name)
  cycle_ax.set_title("1cycle vs step decay: test accuracy (%)")
  for ax in (snap_ax, cycle_ax):
    ax.set_xlabel("epoch")
    ax.legend(fontsize="small")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/cifar16")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--cycle", type=int, default=5, help="SGDR cycle length (epochs)")
  parser.add_argument("--one-cycle-epochs", type=int, nargs="+", default=[10, 15])
  args = parser.parse_args(argv)
  workdir = pathlib.Path(args.workdir)
  histories = run_seeds(configs(args.cycle, 4, tuple(args.one_cycle_epochs)), args.seeds,
                        workdir)
  plot(histories, workdir / "snapshots_and_one_cycle.png")
  last_m = [last_m_ensembles(workdir / "sgdr snapshots" / f"seed{seed}") for seed in args.seeds]
  text = tables(histories) + "\n\n" + ensemble_table(last_m)
  (workdir / "snapshots_summary.json").write_text(json.dumps(
      {"last_m_ensembles": last_m,
       **{name: [h[-1] for h in seeds] for name, seeds in histories.items()}}, indent=2) + "\n")
  print(text)
  return text


if __name__ == "__main__":
  main()
