"""Weight decay == exponential learning rate (Li & Arora 2020), trained for real.

A scale-invariant PreResNet (``scale_invariant=True``: every conv kernel feeds an
affine-free BatchNorm, the last layer is fixed) on the real CIFAR-10 subset
(``../shared/data/cifar10_subset.npz``; PS10 when the file is absent), three runs
from the same initialization, data order and augmentation:

(a) momentum SGD, step decay 0.1 -> 0.01 -> 0.001 and weight decay 5e-4;
(b) no weight decay, learning rate ``texp`` of (a)'s schedule (the exact equivalent);
(c) no weight decay, Li & Arora's closed form ``exp_lr(0.1, 5e-4, 0.9)`` with its
    momentum-buffer init (the equivalent of a *constant* 0.1 plus weight decay).

Run (float64, about 20 minutes on 2 CPU cores; ``--dtype float32`` is ~2x faster)::

  python experiments/exp_lr_equivalence.py --workdir runs/exp_lr

It prints a table (final test accuracy, learning rate, weight norm, and the worst
per-tensor ``1 - cos`` between the weights of (a) and (b)), writes
``exp_lr_equivalence.png`` (test accuracy, learning rate on a log scale, weight norm
per epoch) and ``summary.json`` in the workdir.

Expected (float64, 10 epochs, seed 0): (a) and (b) coincide -- final test accuracy
39.43% for both, training losses equal to 1e-10, weight directions to 1 - cos = 1e-15
(test accuracies during the first stage may differ by a few samples: BatchNorm's running
statistics average over steps whose weight scales differ between the runs);
(b)'s learning rate grows between decays and its weights are larger by 1/c_t. (c) has
no decay and ends below (a) (36.1%): a constant 0.1 with weight decay does not anneal.
Numbers of the committed run: experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import jax
import numpy as np
from flax import nnx
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.train import Config, train

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBSET = ROOT.parent / "shared/data/cifar10_subset.npz"

LR, WD, MOMENTUM = 0.1, 5e-4, 0.9


def configs(epochs: int = 10, depth: int = 8, seed: int = 0,
            param_dtype: str = "float64") -> dict[str, Config]:
  """The three runs' configs (``a``, ``b``, ``c``)."""
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
  model = {"name": "preresnet", "depth": depth, "scale_invariant": True, "bn_epsilon": epsilon}
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


def plot(histories: dict[str, list[dict]], path: pathlib.Path) -> None:
  fig = Figure(figsize=(14, 4), layout="constrained")
  axes = fig.subplots(1, 3)
  for key, history in histories.items():
    epochs = [r["epoch"] for r in history]
    style = {"label": LABELS[key], "linestyle": "--" if key == "b" else "-"}
    axes[0].plot(epochs, [100 * r["test_accuracy"] for r in history], **style)
    axes[1].plot(epochs, [r["learning_rate"] for r in history], **style)
    axes[2].plot(epochs, [r["weight_norm"] for r in history], **style)
  for ax, title in zip(axes, ("test accuracy (%)", "learning rate (last step of epoch)",
                              "weight norm"), strict=True):
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.legend(fontsize="small")
  axes[1].set_yscale("log")
  save_figure(fig, path)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/exp_lr")
  parser.add_argument("--epochs", type=int, default=10)
  parser.add_argument("--depth", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--dtype", default="float64", choices=("float32", "float64"),
                      help="parameter dtype (float32 runs drift apart by amplified rounding)")
  args = parser.parse_args()
  if args.dtype == "float64":
    jax.config.update("jax_enable_x64", True)
  workdir = pathlib.Path(args.workdir)
  results = {key: train(config, workdir / key)
             for key, config in configs(args.epochs, args.depth, args.seed,
                                        args.dtype).items()}
  histories = {key: r.history for key, r in results.items()}
  plot(histories, workdir / "exp_lr_equivalence.png")
  rows = []
  for key, result in results.items():
    last = result.history[-1]
    rows.append({"run": LABELS[key], "test_accuracy": last["test_accuracy"],
                 "final_lr": last["learning_rate"], "weight_norm": last["weight_norm"],
                 "max_abs_acc_diff_vs_a": max(
                     abs(r["test_accuracy"] - q["test_accuracy"])
                     for r, q in zip(result.history, histories["a"], strict=True)),
                 "worst_1_minus_cos_vs_a": worst_one_minus_cos(result.model,
                                                               results["a"].model)})
  (workdir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
  print(f"{'run':22} {'test acc':>9} {'final lr':>10} {'|w|':>8} {'max |dacc| vs a':>16} "
        f"{'1-cos vs a':>11}")
  for r in rows:
    print(f"{r['run']:22} {100 * r['test_accuracy']:8.2f}% {r['final_lr']:10.4g} "
          f"{r['weight_norm']:8.3f} {100 * r['max_abs_acc_diff_vs_a']:15.2f}% "
          f"{r['worst_1_minus_cos_vs_a']:11.2e}")
  print(f"plot: {(workdir / 'exp_lr_equivalence.png').resolve()}")


if __name__ == "__main__":
  main()
