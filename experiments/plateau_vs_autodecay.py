"""Warmup + plateau decay vs AutoDecay vs step decay on the CIFAR-10 subset (issue 14's study).

``configs/cifar16_step_decay.py`` (WRN-10-1, the 5085-image CIFAR-10 subset at 16x16, crop +
flip, batch 128, momentum 0.9, weight decay 5e-4), five seeds:

* ``step decay``: 0.1, /10 at epochs 15 and 23 of 30 (shared with autodecay_vs_step.py and
  snapshot_ensembles.py through the workdir);
* ``autodecay tol 0.06``: AutoDecay from 0.1 (factor 0.1, window 5, drop 0.9, tolerance
  0.06), at most 45 epochs (shared with autodecay_vs_step.py);
* ``warmup + plateau``: a linear warmup from 0 to 0.1 over 2 epochs, then 0.1 scaled by
  ``lrsched.adaptive.reduce_on_plateau`` (PyTorch's ``ReduceLROnPlateau``: factor 0.1,
  patience 2, relative threshold 2%, ``start=2`` so the warmup epochs are ignored) on the
  epoch training loss (the subset has no validation split, and deciding on the test loss
  would leak it), 45 epochs.

Run (6 minutes on 2 CPU cores, measured 2026-11-29, after autodecay_vs_step.py, whose runs
it reads back)::

  python experiments/plateau_vs_autodecay.py --workdir runs/cifar16

It writes ``experiments/results/plateau_vs_autodecay.json`` (per-seed epochs used, decay
epochs and final accuracies, and the claims with their verdicts) and
``experiments/figures/plateau_vs_autodecay.png``. Claims (what a user choosing a rule
would ask): warmup + plateau ends more accurate than step decay, and than AutoDecay.
Expected (measured 2026-11-29, five seeds): warmup + plateau first decays near epoch 29
and ends at ~61% (step decay ~57% in 30 epochs, AutoDecay ~57%). Per seed and verdicts:
experiments/RESULTS.md section 8.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import runpy

from lrsched.plotting import decay_epochs, plot_accuracy_and_rate
from lrsched.train import Config, run_seeds
from lrsched.train.sweep import results_record, write_results
from lrsched.train.verdicts import claim

HERE = pathlib.Path(__file__).resolve().parent
AUTODECAY = {"factor": 0.1, "window": 5, "drop": 0.9, "tolerance": 0.06}
PLATEAU = {"factor": 0.1, "patience": 2, "threshold": 0.02, "start": 2,
           "monitor": "train_loss"}


def configs(max_epochs: int = 45) -> dict[str, Config]:
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  warm = {"name": "warmup", "warmup_steps": 2, "init_value": 0.0, "unit": "epochs",
          "schedule": {"name": "constant_schedule", "value": 0.1}}
  return {
      "step decay": base,
      "autodecay tol 0.06": dataclasses.replace(base, learning_rate=0.1, autodecay=AUTODECAY,
                                                epochs=max_epochs),
      "warmup + plateau": dataclasses.replace(base, learning_rate=warm, plateau=PLATEAU,
                                              epochs=max_epochs),
  }


def claims(histories: dict[str, list[list[dict]]]) -> list[dict]:
  def final(name):
    return [h[-1]["test_accuracy"] for h in histories[name]]

  plateau = "warmup + plateau"
  return [claim("warmup + plateau decay (45 epochs: it has no stop rule) ends more accurate "
                "than step decay (30 epochs)", "test_accuracy", plateau, "step decay",
                final(plateau), final("step decay"), ">"),
          claim("warmup + plateau decay (45 epochs) ends more accurate than AutoDecay "
                "(tolerance 0.06, stopping by its own rule)", "test_accuracy", plateau,
                "autodecay tol 0.06", final(plateau), final("autodecay tol 0.06"), ">")]


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/cifar16", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--max-epochs", type=int, default=45)
  parser.add_argument("--results", default=str(HERE / "results/plateau_vs_autodecay.json"),
                      help="where the raw results go")
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  runs = configs(args.max_epochs)
  histories = run_seeds(runs, args.seeds, args.workdir)
  record = results_record("plateau_vs_autodecay", claims(histories), histories, runs,
                          args.seeds, ["test_accuracy", "train_loss"])
  for name, per_seed in histories.items():
    final = record["runs"][name]["final"]
    final["epochs"] = [len(h) for h in per_seed]
    final["first_decay_epoch"] = [(decay_epochs(h) or [None])[0] for h in per_seed]
  write_results(args.results, record)
  plot_accuracy_and_rate(histories, pathlib.Path(args.figures) / "plateau_vs_autodecay.png")
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
