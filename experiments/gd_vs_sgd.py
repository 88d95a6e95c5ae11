"""Decaying the rate at different epochs: full-batch GD vs SGD (You et al. 2019, Fig. 4, 7).

WRN-10-1 on the first 512 images of the real CIFAR-10 subset
(``../shared/data/cifar10_subset.npz``, average-pooled to 16x16; PS10 when absent),
momentum 0.9, weight decay 5e-4, no augmentation, learning rate 0.1 divided by 10 once
at different epochs, or never, over three seeds:

* GD (``full_batch=True``: one step per epoch on the exact gradient of all 512 images,
  BatchNorm statistics per chunk of 256): 150 steps, decay at step 50, 100 or never.
* SGD (batch 64, 8 steps per epoch): 60 epochs, decay at epoch 20, 40 or never.
* SGD+aug, the usual regime, where SGD does not interpolate its data at 0.1:
  ``configs/cifar16_step_decay.py`` (all 5085 images, pad-4 crop + flip, batch 128),
  30 epochs, decay at epoch 15 or never.

Run (about 20 minutes on 2 CPU cores)::

  python experiments/gd_vs_sgd.py --workdir runs/gd_vs_sgd

Prints, per run, the final training loss and test accuracy and the best test accuracy
before and after the decay (mean +- std over seeds), and writes ``gd_vs_sgd.png``
(training loss and test accuracy per epoch) and ``summary.json``. The GD runs keep
checkpoints every 25 steps for ``experiments/convergence_intervals.py``.

Paper's claims: with GD the final loss and accuracy do not depend on when (or whether)
the rate decays; with SGD the best accuracy after the decay is clearly above the best
before it, and without decay accuracy plateaus below. Expected: GD ends at ~31% whenever
it decays; SGD+aug gains ~7 points after its decay (best ~57.5% vs ~55% for the best
undecayed epoch); SGD on the 512 unaugmented images gains nothing (it interpolates them
before any decay). Numbers: experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy

import numpy as np
from matplotlib.figure import Figure

from lrsched.plotting import plot_mean_curve, save_figure
from lrsched.train import Config, format_mean_std, markdown_table, run_seeds

HERE = pathlib.Path(__file__).resolve().parent
SUBSET = HERE.parents[1] / "shared/data/cifar10_subset.npz"
MODES = ("GD", "SGD", "SGD+aug")
LR, MOMENTUM = 0.1, 0.9


def data_spec(image_size: int = 16) -> dict:
  """The CIFAR-10 subset at ``image_size`` (PS10 when the file is absent)."""
  if SUBSET.exists():
    return {"name": str(SUBSET), "image_size": image_size}
  return {"name": "ps10", "num_train": 2048, "num_test": 1000, "image_size": 4}


def decay_at(epoch: int | None) -> float | dict:
  return LR if epoch is None else {"name": "step_decay", "init_value": LR,
                                   "boundaries": [epoch], "factor": 0.1, "unit": "epochs"}


def configs(gd_steps: int = 150, sgd_epochs: int = 60, num_train: int = 512,
            aug_epochs: int = 30) -> dict[str, Config]:
  """``{run name: config}``; names say the mode and the decay epoch (``GD/decay 50``...)."""
  base = dict(data=data_spec(), train_subset=num_train, model={"name": "wide_resnet",
              "depth": 10, "widen_factor": 1}, momentum=MOMENTUM, weight_decay=5e-4,
              augment=False, progress=False)
  runs = {}
  for mode, epochs, batch in (("GD", gd_steps, min(256, num_train)), ("SGD", sgd_epochs, 64)):
    for at in (epochs // 3, 2 * epochs // 3, None):
      name = f"{mode}/" + (f"decay {at}" if at else "no decay")
      runs[name] = Config(epochs=epochs, batch_size=batch, full_batch=mode == "GD",
                          learning_rate=decay_at(at),
                          checkpoint_every=epochs // 6 if mode == "GD" else 0,
                          keep_checkpoints=7, **base)
  aug = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  for at in (aug_epochs // 2, None):
    runs["SGD+aug/" + (f"decay {at}" if at else "no decay")] = dataclasses.replace(
        aug, epochs=aug_epochs, learning_rate=decay_at(at))
  return runs


def boundary(config: Config) -> int | None:
  lr = config.learning_rate
  return lr["boundaries"][0] if isinstance(lr, dict) else None


def best_before_after(history: list[dict], at: int | None) -> tuple[float, float]:
  acc = np.array([r["test_accuracy"] for r in history])
  if at is None:
    return float(acc.max()), float("nan")
  return float(acc[:at].max()), float(acc[at:].max())


def table(histories: dict[str, list[list[dict]]], runs: dict[str, Config]) -> str:
  rows = []
  for name, seeds in histories.items():
    at = boundary(runs[name])
    pairs = [best_before_after(h, at) for h in seeds]
    rows.append([name,
                 format_mean_std([h[-1]["train_loss"] for h in seeds], digits=3),
                 format_mean_std([h[-1]["test_accuracy"] for h in seeds], scale=100),
                 format_mean_std([p[0] for p in pairs], scale=100),
                 format_mean_std([p[1] for p in pairs], scale=100) if at else "-",
                 format_mean_std([p[1] - p[0] for p in pairs], scale=100) if at else "-"])
  return markdown_table(["run", "final train loss", "final test acc",
                         "best test acc before decay", "best after decay", "gain"], rows)


def plot(histories: dict[str, list[list[dict]]], path: pathlib.Path) -> None:
  fig = Figure(figsize=(16, 7), layout="constrained")
  axes = fig.subplots(2, len(MODES))
  for col, mode in enumerate(MODES):
    for name in (n for n in histories if n.startswith(mode + "/")):
      label = name.removeprefix(mode + "/")
      plot_mean_curve(axes[0, col], histories[name], "train_loss", label=label)
      plot_mean_curve(axes[1, col], histories[name], "test_accuracy", scale=100, label=label)
    axes[0, col].set_yscale("log")
    axes[0, col].set_title(f"{mode}: training loss")
    axes[1, col].set_title(f"{mode}: test accuracy (%)")
    for ax in axes[:, col]:
      ax.set_xlabel("step (= epoch)" if mode == "GD" else "epoch")
      ax.legend(fontsize="small")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/gd_vs_sgd")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--gd-steps", type=int, default=150)
  parser.add_argument("--sgd-epochs", type=int, default=60)
  parser.add_argument("--num-train", type=int, default=512)
  args = parser.parse_args(argv)
  workdir = pathlib.Path(args.workdir)
  runs = configs(args.gd_steps, args.sgd_epochs, args.num_train)
  histories = run_seeds(runs, args.seeds, workdir)
  plot(histories, workdir / "gd_vs_sgd.png")
  text = table(histories, runs)
  (workdir / "summary.json").write_text(json.dumps(
      {name: [h[-1] for h in seeds] for name, seeds in histories.items()}, indent=2) + "\n")
  print(text)
  return text


if __name__ == "__main__":
  main()
