"""AutoDecay vs step decay: epochs used and final accuracy (You et al. 2019, App. A.1, Fig. 14).

``configs/cifar16_step_decay.py`` (WRN-10-1, the real CIFAR-10 subset at 16x16, 30
epochs, /10 at epochs 15 and 23) against the same run driven by AutoDecay: learning
rate 0.1, decayed by 10 whenever the bias-corrected EMA of the epoch training loss is
stable over the last 5 epochs (relative range below the tolerance) after a drop of at
least 10% since the stage began, and stopped when it is stable without such a drop (at
most 45 epochs). Two tolerances: 3% (the library's default) and 6%. Five seeds. Run
(11 minutes on 2 CPU cores, measured 2026-11-29, after snapshot_ensembles.py, whose
step-decay runs it reads back through the workdir; finished runs are read back)::

  python experiments/autodecay_vs_step.py --workdir runs/cifar16

It writes ``experiments/results/autodecay_vs_step.json`` (per-seed epochs used, decay
epochs and final accuracies, and the claims with their verdicts; RESULTS.md section 4 is
generated from it) and ``experiments/figures/autodecay_vs_step.png`` (test accuracy and
learning rate per epoch, every seed's rate).

Paper's claim (ImageNet, ResNet-50): AutoDecay matches step decay's accuracy in fewer
epochs (81 vs 90; 75.91 vs 75.80 top-1). Tested per tolerance: fewer epochs than step
decay, and a final test accuracy above step decay's. Expected (measured 2026-11-29,
five seeds): tolerance 3% never decays and ends at ~55% after 45 epochs; tolerance 6%
decays first at epochs 12-26, stops after 21-36 epochs at ~57% (step decay: ~57% after
30); per seed and verdicts in experiments/RESULTS.md section 4.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import runpy

import numpy as np

from lrsched.plotting import decay_epochs, plot_accuracy_and_rate
from lrsched.train import Config, run_seeds
from lrsched.train.sweep import results_record, write_results
from lrsched.train.verdicts import claim

HERE = pathlib.Path(__file__).resolve().parent
AUTODECAY = {"factor": 0.1, "window": 5, "drop": 0.9}
TOLERANCES = (0.03, 0.06)


def baseline() -> Config:
  return runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()


def configs(max_epochs: int = 45) -> dict[str, Config]:
  base = baseline()
  runs = {"step decay": base}
  for tolerance in TOLERANCES:
    runs[f"autodecay tol {tolerance:g}"] = dataclasses.replace(
        base, learning_rate=0.1, autodecay=dict(AUTODECAY, tolerance=tolerance),
        epochs=max_epochs)
  return runs


def claims(histories: dict[str, list[list[dict]]]) -> list[dict]:
  step = histories["step decay"]
  out = []
  for tolerance in TOLERANCES:
    name = f"autodecay tol {tolerance:g}"
    runs = histories[name]
    out.append(claim(f"AutoDecay (tolerance {tolerance:g}) needs fewer epochs than step decay",
                     "epochs", name, "step decay", [len(h) for h in runs],
                     [len(h) for h in step], "<"))
    out.append(claim(f"AutoDecay (tolerance {tolerance:g}) ends more accurate than step decay",
                     "test_accuracy", name, "step decay",
                     [h[-1]["test_accuracy"] for h in runs],
                     [h[-1]["test_accuracy"] for h in step], ">"))
  return out


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/cifar16", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--max-epochs", type=int, default=45)
  parser.add_argument("--epochs", type=int, default=None,
                      help="override the step-decay baseline's epochs (boundaries scale)")
  parser.add_argument("--results", default=str(HERE / "results/autodecay_vs_step.json"),
                      help="where the raw results go")
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  runs = configs(args.max_epochs)
  if args.epochs:
    e = args.epochs
    runs["step decay"] = dataclasses.replace(runs["step decay"], epochs=e, learning_rate=dict(
        runs["step decay"].learning_rate, boundaries=[e // 2, int(np.ceil(e * 0.75))]))
  histories = run_seeds(runs, args.seeds, args.workdir)
  record = results_record("autodecay_vs_step", claims(histories), histories, runs, args.seeds,
                          ["test_accuracy", "train_loss"])
  for name, per_seed in histories.items():
    final = record["runs"][name]["final"]
    final["epochs"] = [len(h) for h in per_seed]
    final["first_decay_epoch"] = [(decay_epochs(h) or [None])[0] for h in per_seed]
  write_results(args.results, record)
  plot_accuracy_and_rate(histories, pathlib.Path(args.figures) / "autodecay_vs_step.png",
                         decay_epochs(histories["step decay"][0]), "step decay's decays")
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
