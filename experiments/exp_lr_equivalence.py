"""Weight decay == exponential learning rate (Li & Arora 2020), trained for real.

A scale-invariant PreResNet (``scale_invariant=True``: every conv kernel feeds an
affine-free normalization layer, the last layer is fixed) on the real CIFAR-10 subset
(``../shared/data/cifar10_subset.npz``; PS10 when the file is absent), three runs
from the same initialization, data order and augmentation:

(a) momentum SGD, step decay 0.1 -> 0.01 -> 0.001 and weight decay 5e-4;
(b) no weight decay, learning rate ``texp`` of (a)'s schedule (the exact equivalent);
(c) no weight decay, Li & Arora's closed form ``exp_lr(0.1, 5e-4, 0.9)`` with its
    momentum-buffer init (the equivalent of a *constant* 0.1 plus weight decay).

with each normalization of ``--norms``: BatchNorm (``batch``), GroupNorm with 8 groups
(``group``) and LayerNorm (``layer``: one group over channels and positions), the paper's
claim that the equivalence holds for every normalization layer.

Run (float64; about 20 minutes a normalization on 2 CPU cores, an hour for the three;
``--dtype float32`` is ~2x faster and not exact)::

  python experiments/exp_lr_equivalence.py --workdir runs/exp_lr

It prints a table per normalization (final test accuracy, learning rate, weight norm, the
largest test-accuracy gap and relative training-loss gap to (a) over the epochs, and the
worst per-tensor ``1 - cos`` between the final weights of (a) and each run) and writes
``experiments/results/exp_lr_equivalence.json`` (those numbers and every run's per-epoch
curves) and ``experiments/figures/exp_lr_equivalence.png`` (test accuracy, learning rate on
a log scale, weight norm per epoch; a row per normalization). An exactness check, not a
comparison of means: one seed, no verdicts.

Expected (float64, 10 epochs, seed 0): (a) and (b) coincide for every normalization --
BatchNorm: final test accuracy 39.43% for both, training losses equal to 1e-10, weight
directions to 1 - cos = 1e-15 (test accuracies during the first stage may differ by a few
samples: BatchNorm's running statistics average over steps whose weight scales differ
between the runs; GroupNorm and LayerNorm have no running statistics, so there the test
accuracies should be equal at every epoch); (b)'s learning rate grows between decays and
its weights are larger by 1/c_t. (c) has no decay and ends below (a) (BatchNorm: 36.1%):
a constant 0.1 with weight decay does not anneal. Numbers of the committed run:
experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import pathlib

import jax
import numpy as np
from flax import nnx
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.train import Config, train
from lrsched.train.sweep import write_results

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SUBSET = ROOT.parent / "shared/data/cifar10_subset.npz"

LR, WD, MOMENTUM = 0.1, 5e-4, 0.9


NORMS = ("batch", "group", "layer")


def configs(epochs: int = 10, depth: int = 8, seed: int = 0,
            param_dtype: str = "float64", norm: str = "batch") -> dict[str, Config]:
  """The three runs' configs (``a``, ``b``, ``c``) with normalization ``norm``."""
  data = ({"name": str(SUBSET)} if SUBSET.exists() else
          {"name": "ps10", "num_train": 5000, "num_test": 1000, "image_size": 8})
  boundaries = [round(epochs * 0.5), round(epochs * 0.75)]
  step_decay = {"name": "step_decay", "init_value": LR, "boundaries": boundaries,
                "unit": "epochs"}
  # BatchNorm's epsilon breaks scale invariance at ~epsilon/var relative per step, which
  # training amplifies (measured: 1e-5 -> runs (a) and (b) 5% apart in direction; 1e-12 in
  # float64 -> train losses 1e-3 apart after 4 epochs); the theory is about exactly
  # invariant losses, so float64 runs use a negligible epsilon.
  epsilon = 1e-30 if param_dtype == "float64" else 1e-12
  model = {"name": "preresnet", "depth": depth, "scale_invariant": True, "bn_epsilon": epsilon,
           "norm": norm}
  base = dict(data=data, model=model,
              batch_size=128, epochs=epochs, momentum=MOMENTUM, augment=SUBSET.exists(),
              seed=seed, checkpoint_every=0, progress=False, param_dtype=param_dtype)
  return {
      "a": Config(learning_rate=step_decay, weight_decay=WD, **base),
      # num_steps in epochs too: texp covers exactly the run.
      "b": Config(learning_rate={"name": "texp", "schedule": step_decay, "weight_decay": WD,
                                 "momentum": MOMENTUM, "num_steps": epochs, "unit": "epochs"},
                  weight_decay=0.0, **base),
      "c": Config(learning_rate={"name": "exp_lr", "init_value": LR, "weight_decay": WD,
                                 "momentum": MOMENTUM},
                  weight_decay=0.0, momentum_init="exp_lr", **base),
  }


LABELS = {"a": "(a) step decay + wd", "b": "(b) texp, no wd", "c": "(c) exp_lr, no wd"}


def worst_one_minus_cos(model_a: nnx.Module, model_b: nnx.Module) -> float:
  """The largest ``1 - cos(w_a, w_b)`` over the trained tensors."""
  worst = 0.0
  for a, b in zip(jax.tree.leaves(nnx.state(model_a, nnx.Param)),
                  jax.tree.leaves(nnx.state(model_b, nnx.Param)), strict=True):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    worst = max(worst, 1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
  return worst


CURVES = ("test_accuracy", "train_loss", "learning_rate", "weight_norm")


def summarize(results: dict, histories: dict[str, list[dict]]) -> dict[str, dict]:
  """Per run: final numbers, the largest gaps to (a) over epochs, ``1 - cos`` to (a)."""
  rows = {}
  for key, result in results.items():
    last, base = result.history[-1], histories["a"]
    rows[key] = {
        "run": LABELS[key], "test_accuracy": last["test_accuracy"],
        "train_loss": last["train_loss"], "final_lr": last["learning_rate"],
        "weight_norm": last["weight_norm"],
        "max_abs_acc_diff_vs_a": max(abs(r["test_accuracy"] - q["test_accuracy"])
                                     for r, q in zip(result.history, base, strict=True)),
        "max_rel_train_loss_diff_vs_a": max(
            abs(r["train_loss"] - q["train_loss"]) / abs(q["train_loss"])
            for r, q in zip(result.history, base, strict=True)),
        "epochs_with_equal_test_accuracy": sum(
            r["test_accuracy"] == q["test_accuracy"]
            for r, q in zip(result.history, base, strict=True)),
        "worst_1_minus_cos_vs_a": worst_one_minus_cos(result.model, results["a"].model)}
  return rows


def plot(curves: dict[str, dict[str, dict[str, list]]], path: pathlib.Path) -> None:
  """``curves[norm][run][metric]`` per epoch: a row of three panels per normalization."""
  fig = Figure(figsize=(14, 3.6 * len(curves)), layout="constrained")
  axes = np.atleast_2d(fig.subplots(len(curves), 3))
  for row, (norm, runs) in zip(axes, curves.items(), strict=True):
    for key, curve in runs.items():
      epochs = range(1, len(curve["test_accuracy"]) + 1)
      style = {"label": LABELS[key], "linestyle": "--" if key == "b" else "-"}
      row[0].plot(epochs, [100 * v for v in curve["test_accuracy"]], **style)
      row[1].plot(epochs, curve["learning_rate"], **style)
      row[2].plot(epochs, curve["weight_norm"], **style)
    for ax, title in zip(row, ("test accuracy (%)", "learning rate (last step of epoch)",
                               "weight norm"), strict=True):
      ax.set_title(f"{norm} norm: {title}")
      ax.set_xlabel("epoch")
      ax.legend(fontsize="small")
    row[1].set_yscale("log")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/exp_lr")
  parser.add_argument("--epochs", type=int, default=10)
  parser.add_argument("--depth", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--norms", nargs="+", default=list(NORMS), choices=NORMS)
  parser.add_argument("--dtype", default="float64", choices=("float32", "float64"),
                      help="parameter dtype (float32 runs drift apart by amplified rounding)")
  parser.add_argument("--results", default=str(HERE / "results/exp_lr_equivalence.json"))
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  if args.epochs < 4:
    raise ValueError(f"--epochs must be >= 4 (decays at 50% and 75%), got {args.epochs}")
  x64 = jax.config.jax_enable_x64
  if args.dtype == "float64":
    jax.config.update("jax_enable_x64", True)
  workdir = pathlib.Path(args.workdir)
  record = {"experiment": "exp_lr_equivalence", "claims": [],
            "setup": {"epochs": args.epochs, "depth": args.depth, "seed": args.seed,
                      "dtype": args.dtype, "data": "cifar10_subset" if SUBSET.exists()
                      else "ps10"}, "norms": {}}
  try:
    for norm in dict.fromkeys(args.norms):
      runs = configs(args.epochs, args.depth, args.seed, args.dtype, norm)
      # The BatchNorm runs keep the workdir layout of the first version (workdir/a, b, c).
      results = {key: train(config, workdir / ("" if norm == "batch" else norm) / key)
                 for key, config in runs.items()}
      histories = {key: r.history for key, r in results.items()}
      record["norms"][norm] = {
          "rows": summarize(results, histories),
          "curves": {key: {m: [r[m] for r in h] for m in CURVES}
                     for key, h in histories.items()}}
  finally:
    jax.config.update("jax_enable_x64", x64)
  write_results(args.results, record)
  plot({n: v["curves"] for n, v in record["norms"].items()},
       pathlib.Path(args.figures) / "exp_lr_equivalence.png")
  for norm, entry in record["norms"].items():
    print(f"{norm} norm:")
    print(f"  {'run':22} {'test acc':>9} {'final lr':>10} {'|w|':>8} {'max |dacc| vs a':>16} "
          f"{'1-cos vs a':>11}")
    for r in entry["rows"].values():
      print(f"  {r['run']:22} {100 * r['test_accuracy']:8.2f}% {r['final_lr']:10.4g} "
            f"{r['weight_norm']:8.3f} {100 * r['max_abs_acc_diff_vs_a']:15.2f}% "
            f"{r['worst_1_minus_cos_vs_a']:11.2e}")
  return record


if __name__ == "__main__":
  main()
