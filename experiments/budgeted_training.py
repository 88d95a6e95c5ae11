"""Budgeted training: eight schedule families at three budgets (REX paper, the overview article).

``configs/cifar16_step_decay.py`` on the first 2560 images of the real CIFAR-10 subset
(16x16, batch 128: 20 steps per epoch), every schedule peaking at 0.1 (momentum 0.9,
weight decay 5e-4) and fit to the budget T (3, 6 or 12 epochs = 60, 120, 240 steps):

* ``step``, ``linear``, ``cosine``: the budgeted profiles (``budgeted``; step drops /10 at
  50% and 75% of T), ending at 0;
* ``rex``: REX (the paper's beta = 0.5), ending at 0;
* ``1cycle``: ``one_cycle`` over T with its momentum cycle (0.95 -> 0.85 -> 0.95);
* ``clr``: triangular CLR between 0.01 and 0.1, two cycles of T/2;
* ``sgdr``: cosine to 0 with restarts, three cycles of T/3;
* ``wsd``: 5% linear warmup, constant, 20% linear decay to 0.

Three seeds each (72 runs). Run (about 14 minutes on 2 CPU cores)::

  python experiments/budgeted_training.py --workdir runs/budgeted

Prints final test accuracy (mean +- std) and the rank of each schedule within each
budget (1 = best mean), and the mean rank; writes ``budgeted_training.png`` and
``summary.json``. Claims (Chen et al. 2022, "REX", as the overview article reports them):
REX is the most consistent schedule, in the top 3 at every budget; step decay
deteriorates in budgeted settings; each other schedule is best only in a few settings.
Expected: REX has the best mean rank (first at 3 and 6 epochs, ~33.5% and ~39.6%); at 12
epochs the top five are within 2 points (~42-44%). Numbers: experiments/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy

import numpy as np
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.train import Config, format_mean_std, markdown_table, mean_std, run_seeds

HERE = pathlib.Path(__file__).resolve().parent
PEAK = 0.1
NUM_TRAIN, BATCH = 2560, 128


def schedules(total: int) -> dict[str, tuple[dict, float | dict]]:
  """``{name: (learning-rate spec, momentum)}`` for a budget of ``total`` steps."""
  def profile(name):
    return {"name": "budgeted", "profile": name, "init_value": PEAK, "total_steps": total}
  return {
      "step": (profile("step"), 0.9),
      "linear": (profile("linear"), 0.9),
      "cosine": (profile("cosine"), 0.9),
      "rex": ({"name": "rex", "init_value": PEAK, "total_steps": total}, 0.9),
      "1cycle": ({"name": "one_cycle", "total_steps": total, "peak_value": PEAK},
                 {"name": "one_cycle_momentum", "total_steps": total}),
      "clr": ({"name": "cyclic", "init_value": PEAK / 10, "peak_value": PEAK,
               "step_size_up": total // 4, "step_size_down": total // 4}, 0.9),
      "sgdr": ({"name": "sgdr", "peak_value": PEAK, "first_period": total // 3}, 0.9),
      "wsd": ({"name": "wsd", "peak_value": PEAK, "total_steps": total,
               "warmup_steps": max(1, round(0.05 * total)),
               "cooldown_steps": round(0.2 * total), "cooldown_shape": "linear"}, 0.9),
  }


def configs(budgets: tuple[int, ...] = (3, 6, 12), num_train: int = NUM_TRAIN) -> dict[str, Config]:
  """``{"<budget> epochs/<schedule>": config}``."""
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  base = dataclasses.replace(base, train_subset=num_train, batch_size=BATCH)
  runs = {}
  for budget in budgets:
    total = budget * (num_train // BATCH)
    for name, (lr, momentum) in schedules(total).items():
      runs[f"{budget} epochs/{name}"] = dataclasses.replace(
          base, epochs=budget, learning_rate=lr, momentum=momentum)
  return runs


def results(histories: dict[str, list[list[dict]]]) -> dict[int, dict[str, list[float]]]:
  """``{budget: {schedule: final test accuracy per seed}}``."""
  out: dict[int, dict[str, list[float]]] = {}
  for key, seeds in histories.items():
    budget, name = key.split(" epochs/")
    out.setdefault(int(budget), {})[name] = [h[-1]["test_accuracy"] for h in seeds]
  return out


def ranks(by_schedule: dict[str, list[float]]) -> dict[str, int]:
  """Rank of each schedule's mean accuracy (1 = best)."""
  order = sorted(by_schedule, key=lambda n: -np.mean(by_schedule[n]))
  return {name: order.index(name) + 1 for name in by_schedule}


def table(res: dict[int, dict[str, list[float]]]) -> str:
  budgets = sorted(res)
  names = list(res[budgets[0]])
  rank = {b: ranks(res[b]) for b in budgets}
  rows = [[name, *(f"{format_mean_std(res[b][name], scale=100)} ({rank[b][name]})"
                   for b in budgets),
           f"{np.mean([rank[b][name] for b in budgets]):.1f}"] for name in names]
  rows.sort(key=lambda row: float(row[-1]))
  return markdown_table(["schedule", *(f"{b} epochs: acc (rank)" for b in budgets),
                         "mean rank"], rows)


def plot(res: dict[int, dict[str, list[float]]], path: pathlib.Path) -> None:
  budgets = sorted(res)
  fig = Figure(figsize=(7, 4.5), layout="constrained")
  ax = fig.subplots()
  for i, name in enumerate(res[budgets[0]]):
    stats = np.array([mean_std(100 * np.asarray(res[b][name])) for b in budgets])
    ax.errorbar(np.array(budgets) * (1 + 0.015 * (i - 3.5)), stats[:, 0], yerr=stats[:, 1],
                marker="o", capsize=3, label=name)
  ax.set_xscale("log")
  ax.set_xticks(budgets, [str(b) for b in budgets])
  ax.minorticks_off()
  ax.set_xlabel("budget (epochs)")
  ax.set_ylabel("final test accuracy (%)")
  ax.set_title("Budgeted training: mean +- std over seeds")
  ax.legend(fontsize="small", ncols=2)
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/budgeted")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--budgets", type=int, nargs="+", default=[3, 6, 12])
  parser.add_argument("--num-train", type=int, default=NUM_TRAIN)
  args = parser.parse_args(argv)
  workdir = pathlib.Path(args.workdir)
  res = results(run_seeds(configs(tuple(args.budgets), args.num_train), args.seeds, workdir))
  plot(res, workdir / "budgeted_training.png")
  text = table(res)
  (workdir / "summary.json").write_text(json.dumps(
      {str(b): by for b, by in res.items()}, indent=2) + "\n")
  print(text)
  return text


if __name__ == "__main__":
  main()
