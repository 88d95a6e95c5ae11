"""Budgeted training: eight schedule families at three budgets (REX paper, the overview article).

``configs/cifar16_step_decay.py`` on the first 2560 images of the real CIFAR-10 subset
(16x16, crop + flip, batch 128: 20 steps per epoch), momentum 0.9, weight decay 5e-4,
every schedule fit to the budget T (3, 6 or 12 epochs = 60, 120, 240 steps):

* ``step``, ``linear``, ``cosine``: the budgeted profiles (``budgeted``; step drops /10 at
  50% and 75% of T) from 0.1 to 0;
* ``rex``: REX (the paper's beta = 0.5) from 0.1 to 0;
* ``1cycle``: ``one_cycle`` over T with its momentum cycle (0.95 -> 0.85 -> 0.95), its
  peak taken from the range test of this config (``lrsched.range_test_config``, seed 0,
  1e-5 .. 10 over 100 steps): Smith & Topin take the largest rate at which the loss
  still falls, and fastai's rule for that, "minimum/10", is used (its newer ``valley``
  suggestion lies below the other schedules' 0.1 here and would not test
  super-convergence; all suggestions are recorded in the results). It anneals to
  peak / 1e4, so it is compared annealed with annealed schedules at the same budget;
* ``clr``: triangular CLR between 0.01 and 0.1, two cycles of T/2;
* ``sgdr``: cosine from 0.1 to 0 with restarts, three cycles of T/3;
* ``wsd``: 5% linear warmup to 0.1, constant, 20% linear decay to 0.

Five seeds each (120 runs). Beside them, on the same data and seeds:

* *a long budget* (issue 26 item 4): ``step`` and ``linear`` over 48 epochs (960 steps, 4x
  the longest budget above), so that "step decay deteriorates only in budgeted settings"
  has an unbudgeted arm;
* *the sampling rate* (the REX paper's second axis, the overview: "higher sampling rates
  cause the schedule to match the underlying profile more closely"): the ``linear``,
  ``rex`` and ``exponential`` (0.1 -> 0.001, geometric) profiles of ``budgeted`` sampled
  every step against the same profile sampled as a 4-level staircase
  (``sample_every = T/4``), at 3 and 12 epochs; ``linear`` and ``rex`` sampled every step
  are the runs above (``rex(beta=0.5)`` is the ``"rex"`` profile);
* *anytime accuracy*: every run's mean test accuracy over its epochs
  (``anytime_test_accuracy``, the area under its accuracy curve per epoch).

Run (19 minutes on 2 CPU cores for the 120 runs, measured 2026-11-29, and about 20 more for
the long budget and the staircases, estimated; finished runs are read back, not
retrained)::

  python experiments/budgeted_training.py --workdir runs/budgeted

It writes ``experiments/results/budgeted_training.json`` (per-seed final accuracies, the
range test's suggestions, and the claims with their verdicts; RESULTS.md section 5 is
generated from it) and ``experiments/figures/budgeted_training.png``.

Claims (Chen et al. 2022, "REX", as the overview article reports them; Smith & Topin
2019; Smith 2017 and Loshchilov & Hutter 2017 for anytime performance), each by its test
(:func:`claims`): REX is the most consistent schedule (ranks); step decay deteriorates in
budgeted settings (paired t against ``linear`` per budget, and its deficit at 3 epochs
against that at 48) and is fine without a budget (TOST within 1 point of ``linear`` at 48
epochs); 1cycle beats step decay at an equal budget (paired t); sampling every step beats
a 4-level staircase of the same profile (paired t, per profile and budget); CLR and SGDR
have better anytime accuracy than step decay at 12 epochs (paired t on
``anytime_test_accuracy``). Expected (measured
2026-11-29, five seeds): ~33% at 3 epochs, ~39% at 6, ~43% at 12 for the best schedules
(WSD and REX lead the mean rank, step decay last); only step decay below the best at 6 and
12 epochs is resolved. Per seed and verdicts: experiments/RESULTS.md section 5.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.range_test import plot_range_test, range_test_config
from lrsched.train import Config, format_mean_std, markdown_table, mean_std, run_seeds
from lrsched.train.sweep import add_results_arguments, redecide, results_record, write_results
from lrsched.train.verdicts import claim, rank_claim, same_claim, untested_claim

HERE = pathlib.Path(__file__).resolve().parent
PEAK = 0.1
NUM_TRAIN, BATCH = 2560, 128


def schedules(total: int, one_cycle_peak: float = PEAK) -> dict[str, tuple[dict, float | dict]]:
  """``{name: (learning-rate spec, momentum)}`` for a budget of ``total`` steps."""
  def profile(name):
    return {"name": "budgeted", "profile": name, "init_value": PEAK, "total_steps": total}
  return {
      "step": (profile("step"), 0.9),
      "linear": (profile("linear"), 0.9),
      "cosine": (profile("cosine"), 0.9),
      "rex": ({"name": "rex", "init_value": PEAK, "total_steps": total}, 0.9),
      "1cycle": ({"name": "one_cycle", "total_steps": total, "peak_value": one_cycle_peak},
                 {"name": "one_cycle_momentum", "total_steps": total}),
      "clr": ({"name": "cyclic", "init_value": PEAK / 10, "peak_value": PEAK,
               "step_size_up": total // 4, "step_size_down": total // 4}, 0.9),
      "sgdr": ({"name": "sgdr", "peak_value": PEAK, "first_period": total // 3}, 0.9),
      "wsd": ({"name": "wsd", "peak_value": PEAK, "total_steps": total,
               "warmup_steps": max(1, round(0.05 * total)),
               "cooldown_steps": round(0.2 * total), "cooldown_shape": "linear"}, 0.9),
  }


LONG_BUDGET = 48
"""The unbudgeted arm's epochs (4x the longest budget)."""
SAMPLING_BUDGETS = (3, 12)
SAMPLING_PROFILES = ("linear", "rex", "exponential")
LEVELS = 4
"""The staircase: ``sample_every = T / LEVELS``."""
EXPONENTIAL_END = 1e-3
"""The exponential profile's end value (the level step decay ends on)."""
EQUIVALENCE_MARGIN = 0.01
"""'As good as' (step vs linear without a budget): within 1 point of test accuracy."""


def per_step_name(profile: str) -> str:
  """The run of ``profile`` sampled every step: the main runs for linear and rex."""
  return profile if profile in ("linear", "rex") else f"{profile}, every step"


def staircase_name(profile: str) -> str:
  return f"{profile}, {LEVELS} levels"


def extra_schedules(budget: int, total: int) -> dict[str, tuple[dict, float]]:
  """The long-budget and sampling-rate arms at ``budget`` epochs (``total`` steps)."""
  out = {}
  if budget == LONG_BUDGET:
    main = schedules(total)
    out = {"step": main["step"], "linear": main["linear"]}
  if budget in SAMPLING_BUDGETS:
    for profile in SAMPLING_PROFILES:
      spec = {"name": "budgeted", "profile": profile, "init_value": PEAK,
              "total_steps": total}
      if profile == "exponential":
        spec["end_value"] = EXPONENTIAL_END
        out[per_step_name(profile)] = (dict(spec), 0.9)
      out[staircase_name(profile)] = (dict(spec, sample_every=total // LEVELS), 0.9)
  return out


def base_config(num_train: int = NUM_TRAIN) -> Config:
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  return dataclasses.replace(base, train_subset=num_train, batch_size=BATCH)


def range_test(workdir: pathlib.Path, num_train: int = NUM_TRAIN) -> dict:
  """The range test of the base config (read back from ``workdir`` when done)."""
  path = workdir / "range_test.json"
  if path.exists():
    return json.loads(path.read_text())
  result = range_test_config(base_config(num_train), min_lr=1e-5, max_lr=10.0, num_steps=100)
  if not result.ok:
    raise ValueError(f"the range test suggests nothing: {result.message}")
  path.parent.mkdir(parents=True, exist_ok=True)
  plot_range_test(result, workdir / "range_test.png")
  record = {**result.suggestions(), "diverged_lr": result.diverged_lr,
            "lambda_max": result.lambda_max, "stability_lr": result.stability_lr,
            "message": result.message}
  path.write_text(json.dumps(record, indent=1) + "\n")
  return record


def configs(budgets: tuple[int, ...] = (3, 6, 12), num_train: int = NUM_TRAIN,
            one_cycle_peak: float = PEAK, extra: bool = True) -> dict[str, Config]:
  """``{"<budget> epochs/<schedule>": config}``: the eight schedules at each budget and,
  with ``extra``, the long-budget and staircase arms (:func:`extra_schedules`)."""
  base = base_config(num_train)
  runs = {}
  steps = num_train // BATCH
  for budget in budgets:
    for name, (lr, momentum) in schedules(budget * steps, one_cycle_peak).items():
      runs[f"{budget} epochs/{name}"] = dataclasses.replace(
          base, epochs=budget, learning_rate=lr, momentum=momentum)
  for budget in sorted({LONG_BUDGET, *SAMPLING_BUDGETS} if extra else ()):
    for name, (lr, momentum) in extra_schedules(budget, budget * steps).items():
      runs.setdefault(f"{budget} epochs/{name}", dataclasses.replace(
          base, epochs=budget, learning_rate=lr, momentum=momentum))
  return runs


def results(histories: dict[str, list[list[dict]]], key: str = "test_accuracy"
            ) -> dict[int, dict[str, list[float]]]:
  """``{budget: {schedule: final value of key per seed}}`` (``anytime_test_accuracy``:
  the mean test accuracy over the epochs)."""
  out: dict[int, dict[str, list[float]]] = {}
  for name, seeds in histories.items():
    budget, schedule = name.split(" epochs/")
    out.setdefault(int(budget), {})[schedule] = [
        float(np.mean([r["test_accuracy"] for r in h])) if key == "anytime_test_accuracy"
        else h[-1][key] for h in seeds]
  return out


def main_results(res: dict[int, dict[str, list[float]]], budgets: Sequence[int]
                 ) -> dict[int, dict[str, list[float]]]:
  """The eight schedules at the main budgets only (what the ranks compare)."""
  names = list(schedules(1))
  return {b: {n: res[b][n] for n in names} for b in budgets}


def ranks(by_schedule: dict[str, list[float]]) -> dict[str, int]:
  """Rank of each schedule's mean accuracy (1 = best)."""
  order = sorted(by_schedule, key=lambda n: -np.mean(by_schedule[n]))
  return {name: order.index(name) + 1 for name in by_schedule}


RIVAL = "linear"
"""Step decay's rival, named before the runs: Li et al.'s (budgeted training) own proposal,
the linear schedule (a rival picked as "the best other" from the same data would favour
the claim)."""


def claims(res: dict[int, dict[str, list[float]]],
           anytime: dict[int, dict[str, list[float]]] | None = None,
           budgets: Sequence[int] | None = None) -> list[dict]:
  """The overview's claims, each by the test that fits it.

  * "REX is the most consistent": ranks (:func:`lrsched.train.verdicts.rank_claim`) over
    every (seed, budget): REX's share of first places, and of top-3 finishes, minus the
    best other schedule's, the rival found anew in each bootstrap resample.
  * "step decay deteriorates in budgeted settings": at each budget step decay vs
    :data:`RIVAL` (paired), and whether its deficit grows as the budget shrinks (the
    deficit at the smallest budget vs at the largest, paired by seed).
  * 1cycle (peak from the range test) vs step decay at each equal budget (paired).
  * Without a budget (:data:`LONG_BUDGET` epochs, when run): step decay within
    :data:`EQUIVALENCE_MARGIN` of linear (TOST), and its deficit at the smallest budget
    below that at the long one (paired).
  * Sampling (when run): each profile sampled every step beats its :data:`LEVELS`-level
    staircase at each budget of :data:`SAMPLING_BUDGETS` (paired).
  * Anytime (``anytime``: mean test accuracy over the epochs): CLR and SGDR above step
    decay at the largest main budget (paired).

  ``res`` holds every run's final test accuracy; ``budgets`` are the main budgets (default:
  those of ``res`` with all eight schedules).
  """
  budgets = sorted(budgets or [b for b in res if set(schedules(1)) <= set(res[b])])
  res_all, res = res, main_results(res, budgets)
  names = list(res[budgets[0]])
  scores = {name: [list(cells) for cells in zip(*(res[b][name] for b in budgets),
                                                strict=True)] for name in names}
  blocks = [f"{b} epochs" for b in budgets]
  out = [rank_claim(f"REX is the most consistent schedule: it finishes first more often than "
                    f"any other (over {len(budgets)} budgets x seeds)", "test_accuracy", scores,
                    "rex", top=1, blocks=blocks),
         rank_claim("REX is the most consistent schedule: it finishes in the top 3 more often "
                    "than any other", "test_accuracy", scores, "rex", top=3, blocks=blocks)]
  for budget in budgets:
    by = res[budget]
    out.append(claim(f"step decay deteriorates in budgeted settings: at {budget} epochs it is "
                     f"below {RIVAL}", "test_accuracy", f"{budget} epochs/step",
                     f"{budget} epochs/{RIVAL}", by["step"], by[RIVAL], "<"))
  small, large = budgets[0], budgets[-1]
  deficit = {b: np.subtract(res[b]["step"], res[b][RIVAL]) for b in (small, large)}
  if small != large:
    out.append(claim(f"step decay's deficit to {RIVAL} grows as the budget shrinks ({small} "
                     f"epochs vs {large})", "test_accuracy",
                     f"step - {RIVAL} at {small} epochs", f"step - {RIVAL} at {large} epochs",
                     deficit[small], deficit[large], "<"))
  long = res_all.get(LONG_BUDGET, {})
  if {"step", RIVAL} <= set(long):
    out.append(same_claim(
        f"step decay is fine without a budget: at {LONG_BUDGET} epochs it is as accurate as "
        f"{RIVAL} (within {100 * EQUIVALENCE_MARGIN:g} point)", "test_accuracy",
        f"{LONG_BUDGET} epochs/step", f"{LONG_BUDGET} epochs/{RIVAL}", long["step"],
        long[RIVAL], EQUIVALENCE_MARGIN))
    out.append(claim(
        f"step decay's deficit to {RIVAL} is larger in a budget than without ({small} epochs "
        f"vs {LONG_BUDGET})", "test_accuracy", f"step - {RIVAL} at {small} epochs",
        f"step - {RIVAL} at {LONG_BUDGET} epochs", deficit[small],
        np.subtract(long["step"], long[RIVAL]), "<"))
  else:
    out.append(untested_claim(
        "step decay is fine without a budget (it deteriorates only in budgeted settings)",
        f"no long-budget arm: every budget here is <= {large} epochs (issue 26 item 4)"))
  for budget in budgets:
    by = res[budget]
    out.append(claim(f"1cycle (peak from the range test) beats step decay at an equal budget "
                     f"({budget} epochs)", "test_accuracy", f"{budget} epochs/1cycle",
                     f"{budget} epochs/step", by["1cycle"], by["step"], ">"))
  for budget in SAMPLING_BUDGETS:
    by = res_all.get(budget, {})
    for profile in SAMPLING_PROFILES:
      fine, coarse = per_step_name(profile), staircase_name(profile)
      if {fine, coarse} <= set(by):
        out.append(claim(
            f"a higher sampling rate helps: the {profile} profile sampled every step beats "
            f"its {LEVELS}-level staircase ({budget} epochs)", "test_accuracy",
            f"{budget} epochs/{fine}", f"{budget} epochs/{coarse}", by[fine], by[coarse], ">"))
  if anytime:
    by = anytime[large]
    for name in ("clr", "sgdr"):
      out.append(claim(
          f"{name.upper()} has better anytime performance than step decay ({large} epochs: "
          f"mean test accuracy over the epochs)", "anytime_test_accuracy",
          f"{large} epochs/{name}", f"{large} epochs/step", by[name], by["step"], ">"))
  return out


def record_results(record: dict, key: str = "test_accuracy"
                   ) -> dict[int, dict[str, list[float]]]:
  """:func:`results` from a results file's record (its runs' final ``key`` values)."""
  out: dict[int, dict[str, list[float]]] = {}
  for name, run in record["runs"].items():
    budget, schedule = name.split(" epochs/")
    if key in run["final"]:
      out.setdefault(int(budget), {})[schedule] = run["final"][key]
  return out


def record_claims(record: dict) -> list[dict]:
  """:func:`claims` from a results file's record alone."""
  anytime = record_results(record, "anytime_test_accuracy")
  return claims(record_results(record), anytime or None)


def table(res: dict[int, dict[str, list[float]]]) -> str:
  """Final test accuracy (%, mean ± std) per budget with each schedule's rank (1 = best
  mean), sorted by the mean rank."""
  budgets = sorted(res)
  rank = {b: ranks(res[b]) for b in budgets}
  rows = [[name, *(f"{format_mean_std(res[b][name], scale=100)} ({rank[b][name]})"
                   for b in budgets),
           f"{np.mean([rank[b][name] for b in budgets]):.1f}"] for name in res[budgets[0]]]
  rows.sort(key=lambda row: float(row[-1]))
  return markdown_table(["schedule", *(f"{b} epochs: acc (rank)" for b in budgets),
                         "mean rank"], rows)


def extra_table(res: dict[int, dict[str, list[float]]]) -> str:
  """The long budget and the staircases: final test accuracy (%, mean ± std)."""
  rows = []
  long = res.get(LONG_BUDGET, {})
  for name in ("step", "linear"):
    if name in long:
      rows.append([f"{LONG_BUDGET} epochs", name, format_mean_std(long[name], scale=100)])
  for budget in SAMPLING_BUDGETS:
    for profile in SAMPLING_PROFILES:
      for name in (per_step_name(profile), staircase_name(profile)):
        if name in res.get(budget, {}):
          rows.append([f"{budget} epochs", name, format_mean_std(res[budget][name], scale=100)])
  return markdown_table(["budget", "run", "final test accuracy (%)"], rows)


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
  ax.set_title(f"Budgeted training: mean ± std over {len(next(iter(res[budgets[0]].values())))}"
               f" seeds")
  fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize="small")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/budgeted", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--budgets", type=int, nargs="+", default=[3, 6, 12])
  parser.add_argument("--num-train", type=int, default=NUM_TRAIN)
  parser.add_argument("--no-extra", action="store_true",
                      help="only the eight schedules (no long budget, no staircases)")
  add_results_arguments(parser, HERE / "results/budgeted_training.json", HERE / "figures")
  args = parser.parse_args(argv)
  if args.decide_only:
    return redecide(args.results, record_claims)
  workdir = pathlib.Path(args.workdir)
  suggestions = range_test(workdir, args.num_train)
  runs = configs(tuple(args.budgets), args.num_train, suggestions["minimum/10"],
                 extra=not args.no_extra)
  histories = run_seeds(runs, args.seeds, workdir)
  res, anytime = results(histories), results(histories, "anytime_test_accuracy")
  budgets = sorted(args.budgets)
  record = results_record("budgeted_training", claims(res, anytime, budgets), histories, runs,
                          args.seeds, ["test_accuracy", "train_loss"])
  for name in histories:
    budget, schedule = name.split(" epochs/")
    record["runs"][name]["final"]["anytime_test_accuracy"] = anytime[int(budget)][schedule]
  record["range_test"] = suggestions
  record["tables"] = [table(main_results(res, budgets)), extra_table(res)]
  write_results(args.results, record)
  plot(main_results(res, budgets), pathlib.Path(args.figures) / "budgeted_training.png")
  print("\n\n".join(record["tables"]))
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
