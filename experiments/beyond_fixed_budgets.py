"""Schedules without an end: cooldowns, weight averaging, schedule-free SGD, the annealing law.

Every run is ``configs/cifar16_step_decay.py``'s recipe: WRN-10-1 on the real CIFAR-10
subset (``../shared/data/cifar10_subset.npz``, 5085 training and 1017 test images,
average-pooled to 16x16; 39 steps per epoch), pad-4 crop + flip, batch 128, momentum
0.9, weight decay 5e-4, peak rate 0.1. It is the baseline of RESULTS.md sections 2-8, so
the numbers here compare with theirs, and 30 epochs cost ~1.5 minutes on 2 CPU cores,
which lets every arm have five seeds (0-4, the same initializations and data order in
every arm). Five parts:

1. *Constant + cooldown vs cosine* (Hägele et al. 2024) at budgets B = 10, 20, 30
   epochs. One stable run per seed, ``constant``: rate 0.1 for 30 epochs, every checkpoint
   kept (``configs/cifar16_constant.py``), with an EMA of the weights (decay 0.998, a
   ~13-epoch horizon; part 3 reads it). For each B a cooldown branch
   (:func:`lrsched.train.cooldown.cooldown`) of round(0.2 B) epochs, ``1-sqrt`` to 0,
   from the checkpoint of epoch B - round(0.2 B) (epochs 8, 16, 24): ``constant +
   cooldown B``. Against ``cosine B``: ``cosine_decay_schedule`` from 0.1 to 0 over B
   epochs, its own run per budget and seed.
2. *One run, every budget*: part 1's branches as the accuracy-vs-budget curve beside the
   cosine runs, and what each costs in epochs (the stable run to its last branch point
   plus every cooldown, 24 + 2 + 4 + 6 = 36, against 10 + 20 + 30 = 60 for separate
   runs; 42 as trained here, the stable run going on to 30 epochs for parts 3 and 5).
3. *Weight averaging vs decay* (Ajroldi et al. 2025), 30 epochs: the constant run's EMA
   model against ``step decay`` (0.1, /10 at epochs 15 and 23), which keeps the same EMA
   (decay 0.998); and ``constant SWA``: the constant rate with SWA, the mean of the
   weights at the ends of epochs 15-30. Every averaged model is evaluated with its
   BatchNorm statistics recalibrated on 50 training batches (``avg_test_accuracy``).
4. *Schedule-free SGD vs a tuned cosine* (Defazio et al. 2024), 30 epochs. Schedule-free
   SGD (``optax.contrib.schedule_free_sgd``, b1 = 0.9, its own weight decay 5e-4, the
   config's coupled ``weight_decay`` set to 0 as it does not apply to it), a 2-epoch
   linear warmup from 0 (the ``warmup`` spec around a constant). Tuned beforehand on seed
   100, which is not a test seed: rate in {0.3, 1, 3} for schedule-free, peak in {0.05,
   0.1, 0.2} for cosine; the rule: each family's highest final test accuracy on seed 100
   (schedule-free: its evaluation point with BatchNorm recalibrated, ``avg_test_accuracy``;
   cosine: the raw model), ties to the lower rate, a diverged run out. The subset has no
   validation split, so tuning reads the test set, with a seed that is not tested, alike for
   both families. The picked values then run with the five seeds (a picked cosine peak of
   0.1 is part 1's ``cosine 30`` itself). One schedule-free run per seed: its evaluation
   point is evaluated each epoch with BatchNorm recalibrated (``averaging = {"kind":
   "schedule_free", "bn_batches": 50}``), and its final checkpoint once more with the raw
   model's BatchNorm statistics (:func:`evaluate_average` with ``bn_batches=None``:
   ``avg_raw_bn_test_accuracy``).
5. *The annealing law* (Tissue et al. 2024, :mod:`lrsched.loss_law`): fitted to the
   seed-mean training-loss curves of part 1's ``constant`` (30 epochs) and ``cosine 30``.
   A run logs one training loss per epoch, the mean over the epoch's steps; ``fit`` takes
   per-step losses with ``nan`` for the steps not recorded, so each epoch's mean is placed
   at the epoch's middle step (step (e - 1) K + ceil(K / 2) of epoch e, K = 39 steps per
   epoch: the mean of a smooth curve over an epoch is its value mid-epoch to second
   order), from the second epoch on (within the first the loss falls too steeply for its
   middle to stand for its mean: fitted to the epoch means of curves made by the law
   itself, the exponent came out 43% too high with the first epoch, 4% without). A
   predicted final training loss is the law's per-step curve averaged over the last
   epoch's steps, the same quantity as the observed one. Predicted for step decay (/10 at
   50% and 75% of B, rounded up), WSD (no warmup, 20% ``1-sqrt`` cooldown to 0), REX (beta
   0.5) and linear decay (``linear_schedule`` 0.1 -> 0), all from 0.1, at B = 30 and 60
   epochs, each trained with 3 seeds (0-2; three, not five, for the CPU cost). At 30
   epochs step decay is part 3's ``step decay`` and WSD is part 1's ``constant + cooldown
   30`` (the same schedules; the same seed gives the same initialization and data order,
   and an average does not change the trajectory), seeds 0-2; the other six are their own
   runs (``law/<schedule> <B>``).

Run (about 2 hours on 2 CPU cores, estimated, not measured: ~2040 epochs at ~3 s --
parts 1 and 2: 150 + 60 + 300, part 3: 150 + 150, part 4: 180 for tuning + 150, part 5:
6 runs of 30 epochs + 12 of 60 -- plus ~1 s for each of the ~750 epochs that also
recalibrate and evaluate an average, and ~8 minutes more if the tuned cosine peak is not
0.1; finished runs and branches are read back, not retrained, an interrupted one
resumes)::

  python experiments/beyond_fixed_budgets.py --workdir runs/beyond_fixed_budgets

``--parts 1,3`` runs and decides only those parts (1 and 2 share their runs and go
together; part 3 reads part 1's constant run, part 5 also ``cosine 30``, ``constant +
cooldown 30`` and part 3's ``step decay``, trained where absent); ``--small`` runs the
whole pipeline at a tiny size (256 images, budgets 2 and 4, two seeds, one tuning value
per family, part 5 at 4 and 6 epochs). It writes
``experiments/results/beyond_fixed_budgets.json`` (every run's per-seed final metrics --
the tuning runs as ``tuning/<run>``, seed 100 --, the per-seed training-loss curves the
law is fitted to, the tables and the claims with their verdicts; the claims are decided
from these alone, the law fitted again from the curves) and
``experiments/figures/beyond_fixed_budgets.png`` (accuracy vs budget; the averaged models
vs decay; schedule-free vs cosine; the law's predicted vs observed final training loss).

Claims, each by its test, fixed before the runs (:func:`decide`; ``--decide-only``
recomputes them from the results file):

* part 1, per budget: "constant + 20% ``1-sqrt`` cooldown matches cosine": TOST on the
  paired final test accuracies, margin 1 point (:data:`MARGIN`).
* part 2: the cost is arithmetic fixed by the design, recorded as not tested.
* part 3: "averaging does not fully replace decay": step decay's raw final test accuracy
  beats the constant run's EMA model (paired t), and beats its SWA model (paired t);
  "averaging + decay is no worse than decay alone": step decay's EMA model is at most half
  a point (:data:`NON_INFERIORITY_MARGIN`) below its raw model (non-inferiority).
* part 4: schedule-free SGD (BatchNorm recalibrated) matches the tuned cosine (TOST, margin
  1 point); recalibrating BatchNorm lifts schedule-free's evaluation point above the same
  weights with the raw model's statistics (paired t).
* part 5, per budget: "the law ranks the schedules as training does". No claim kind of
  :mod:`lrsched.train.verdicts` carries a ranking of four, so it is decided through paired
  t claims: for every pair of schedules one claim "the schedule the law predicts lower has
  the lower final training loss" (paired t over the 3 seeds). The rule for the ranking
  (the "law ranking" table): *contradicted* if any of the six pair claims is contradicted
  (the law inverts a resolved pair); else *reproduced* if the claims of the three pairs
  adjacent in the observed order (schedules sorted by seed-mean final training loss) are
  all reproduced -- then the predicted order is the observed one, as a pair the law
  inverts cannot be reproduced; else *not resolved*.

Expected (from the papers; not yet measured here): a cooldown branch within a point of
cosine at every budget (Hägele et al.); the EMA of a constant run short of step decay, and
averaging on top of decay no worse than decay (Ajroldi et al.); schedule-free SGD about
level with a tuned cosine, and its evaluation point needing recalibrated BatchNorm
statistics (Defazio et al.); the law ranking the four schedules correctly, its relative
error a few percent at 30 epochs and more at 60, an extrapolation (Tissue et al.).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import pathlib
import runpy
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from lrsched import data as datalib
from lrsched import loss_law
from lrsched.plotting import save_figure
from lrsched.train import Config, NonFiniteLossError, run_seeds
from lrsched.train import steps as stepslib
from lrsched.train.averaged import averaged_state
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.cooldown import cooldown
from lrsched.train.evaluation import evaluate
from lrsched.train.optimizer import make_optimizer
from lrsched.train.run_model import build_run_model, load_data, read_run_config, steps_per_epoch
from lrsched.train.specs import config_schedule
from lrsched.train.sweep import (
    add_results_arguments,
    finished_history,
    format_mean_std,
    markdown_table,
    redecide,
    results_record,
    write_results,
)
from lrsched.train.verdicts import claim, non_inferiority_claim, same_claim, untested_claim

HERE = pathlib.Path(__file__).resolve().parent
EXPERIMENT = "beyond_fixed_budgets"
LR = 0.1
COOLDOWN_FRACTION = 0.2
COOLDOWN_SHAPE = "1-sqrt"
EMA = {"kind": "ema", "decay": 0.998}
BN_BATCHES = 50
TUNE_SEED = 100
FREE_KWARGS = {"b1": 0.9, "weight_decay": 5e-4}
METRICS = ["train_loss", "test_loss", "test_accuracy", "avg_test_accuracy"]
LAW_SCHEDULES = ("step decay", "wsd", "rex", "linear")
PARTS = (1, 2, 3, 4, 5)

MARGIN = 0.01
"""Equivalence margin of "matches" (parts 1 and 4): 1 point of test accuracy."""

NON_INFERIORITY_MARGIN = 0.005
"""Part 3's "averaging + decay is no worse than decay alone": at most half a point below."""


@dataclasses.dataclass(frozen=True)
class Size:
  """The sizes of a pass: the full experiment or ``--small``."""

  train_subset: int  # 0: all 5085 training images
  budgets: tuple[int, ...]  # part 1 (the last: parts 3 and 4's budget)
  law_budgets: tuple[int, ...]  # part 5 (the first equals the last of ``budgets``)
  seeds: tuple[int, ...]
  law_seeds: int  # part 5 trains the first ``law_seeds`` of the seeds
  free_rates: tuple[float, ...]  # part 4's tuning grids, ascending
  cosine_peaks: tuple[float, ...]
  warmup_epochs: int


FULL = Size(0, (10, 20, 30), (30, 60), (0, 1, 2, 3, 4), 3, (0.3, 1.0, 3.0), (0.05, 0.1, 0.2),
            2)
SMALL = Size(256, (2, 4), (4, 6), (0, 1), 3, (1.0,), (0.1,), 1)


def baseline(size: Size = FULL) -> Config:
  base = runpy.run_path(str(HERE / "configs/cifar16_step_decay.py"))["get_config"]()
  return dataclasses.replace(base, train_subset=size.train_subset)


def cooldown_epochs(budget: int) -> int:
  return max(1, round(COOLDOWN_FRACTION * budget))


def step_decay_spec(budget: int) -> dict:
  """/10 at 50% and 75% of the budget (rounded up): epochs 15 and 23 of 30."""
  return {"name": "step_decay", "init_value": LR, "boundaries": [budget // 2,
                                                                 math.ceil(0.75 * budget)],
          "factor": 0.1, "unit": "epochs"}


def cosine_spec(budget: int, peak: float = LR) -> dict:
  return {"name": "cosine_decay_schedule", "init_value": peak, "decay_steps": budget,
          "unit": "epochs"}


def law_spec(schedule: str, budget: int) -> dict:
  """Part 5's learning-rate specs, all from 0.1 to 0 over the budget."""
  if schedule == "step decay":
    return step_decay_spec(budget)
  if schedule == "wsd":
    return {"name": "wsd", "peak_value": LR, "total_steps": budget, "warmup_steps": 0,
            "cooldown_steps": cooldown_epochs(budget), "cooldown_shape": COOLDOWN_SHAPE,
            "unit": "epochs"}
  if schedule == "rex":
    return {"name": "rex", "init_value": LR, "total_steps": budget, "unit": "epochs"}
  if schedule == "linear":
    return {"name": "linear_schedule", "init_value": LR, "end_value": 0.0,
            "transition_steps": budget, "unit": "epochs"}
  raise ValueError(f"unknown schedule {schedule!r}; part 5's are {LAW_SCHEDULES}")


def branch_name(budget: int) -> str:
  return f"constant + cooldown {budget}"


def cosine_name(budget: int, peak: float = LR) -> str:
  return f"cosine {budget}" if peak == LR else f"cosine {budget} peak {peak:g}"


def free_name(rate: float) -> str:
  return f"schedule-free lr {rate:g}"


def law_name(schedule: str, budget: int) -> str:
  return f"law/{schedule} {budget}"


def reused(schedule: str, budget: int, size: Size = FULL) -> str | None:
  """The run of parts 1 or 3 that *is* part 5's run of ``schedule`` at ``budget``, if any."""
  if budget != size.budgets[-1]:
    return None
  return {"step decay": "step decay", "wsd": branch_name(budget)}.get(schedule)


def configs(size: Size = FULL) -> dict[str, Config]:
  """``{run name: config}`` of every run trained by :func:`run_seeds` (cooldown branches are
  made from ``constant`` by :func:`lrsched.train.cooldown.cooldown`; tuning runs are these
  configs with seed 100)."""
  base = baseline(size)
  top = size.budgets[-1]
  constant = dataclasses.replace(base, epochs=top, learning_rate=LR, averaging=EMA)
  runs = {"constant": dataclasses.replace(constant, checkpoint_every=1, keep_checkpoints=top)}
  for budget in sorted(set(size.budgets)):
    runs[cosine_name(budget)] = dataclasses.replace(base, epochs=budget,
                                                    learning_rate=cosine_spec(budget))
  for peak in size.cosine_peaks:
    runs[cosine_name(top, peak)] = dataclasses.replace(base, epochs=top,
                                                       learning_rate=cosine_spec(top, peak))
  runs["step decay"] = dataclasses.replace(base, epochs=top, learning_rate=step_decay_spec(top),
                                           averaging=EMA)
  runs["constant SWA"] = dataclasses.replace(constant, averaging={
      "kind": "swa", "start": top // 2, "every": 1, "unit": "epochs"})
  for rate in size.free_rates:
    runs[free_name(rate)] = dataclasses.replace(
        base, epochs=top, optimizer="schedule_free_sgd", optimizer_kwargs=dict(FREE_KWARGS),
        weight_decay=0.0, learning_rate={"name": "warmup", "warmup_steps": size.warmup_epochs,
                                         "schedule": rate, "unit": "epochs"},
        averaging={"kind": "schedule_free", "bn_batches": BN_BATCHES})
  for schedule in LAW_SCHEDULES:
    for budget in size.law_budgets:
      if reused(schedule, budget, size) is None:
        runs[law_name(schedule, budget)] = dataclasses.replace(
            base, epochs=budget, learning_rate=law_spec(schedule, budget))
  return runs


def branch(workdir: pathlib.Path, budget: int, seed: int) -> tuple[Config, list[dict]]:
  """Part 1's cooldown branch of ``budget`` for ``seed`` (read back when finished)."""
  length = cooldown_epochs(budget)
  target = workdir / branch_name(budget) / f"seed{seed}"
  if (target / "parent.json").is_file():
    history = finished_history(read_run_config(target), target)
    if history is not None:
      return read_run_config(target), history
  result = cooldown(workdir / "constant" / f"seed{seed}", budget - length, length,
                    shape=COOLDOWN_SHAPE, workdir=target)
  return read_run_config(target), result.history


def evaluate_average(run_dir: str | pathlib.Path, bn_batches: int | None
                     ) -> tuple[int, dict[str, float]]:
  """The averaged model of a run's newest checkpoint on its evaluation set.

  Its weights are the run's average (here: schedule-free's evaluation point); its
  BatchNorm statistics are recalibrated on the first ``bn_batches`` training batches, as
  the run's per-epoch ``avg_*`` evaluation does, or with ``bn_batches=None`` the raw
  model's (those of the training forward passes): the run's config with only
  ``averaging["bn_batches"]`` changed, through :func:`lrsched.train.averaged.averaged_state`.

  Returns:
    ``(epoch, {"loss", "accuracy"})``.
  """
  run_dir = pathlib.Path(run_dir)
  config = read_run_config(run_dir)
  train_ds, eval_ds = load_data(config)
  model = build_run_model(config, train_ds)
  train_def, eval_def, params, rest = stepslib.split_model(model)
  mesh = stepslib.data_mesh()
  tx = make_optimizer(config, steps_per_epoch(config, train_ds))
  template = stepslib.replicate(mesh, stepslib.TrainState(
      step=np.int32(0), params=params, model_state=rest,
      opt_state=jax.tree.map(jnp.copy, tx.init(params))))
  checkpoints = Checkpoints(run_dir / "checkpoints", keep=None)
  try:
    epoch, state = checkpoints.restore_newest(template)
  finally:
    checkpoints.close()
  if epoch is None:
    raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint")
  stats = train_ds.channel_stats()
  changed = dataclasses.replace(config, averaging=dict(config.averaging, bn_batches=bn_batches))
  averaged = averaged_state(changed, state, train_def, train_ds, stats)
  num_kinds = len(datalib.KIND_NAMES) if train_ds.kinds is not None else 0
  eval_step = stepslib.make_eval_step(eval_def, *stats, num_kinds, mesh, config.loss)
  return epoch, evaluate(eval_step, averaged, eval_ds, config.batch_size, mesh)


def tune(config: Config, name: str, workdir: pathlib.Path
         ) -> tuple[list[dict] | None, int | None]:
  """One tuning run, seed :data:`TUNE_SEED`: ``(history, None)``, or ``(None, the epoch it
  diverged in)``."""
  try:
    return run_seeds({name: config}, [TUNE_SEED], workdir)[name][0], None
  except NonFiniteLossError as error:
    return None, error.epoch


def tuning_entry(config: Config, history: list[dict] | None, diverged_epoch: int | None,
                 tuning: dict) -> dict:
  """A tuning run's entry of the results file: its final metrics (``None`` where it
  diverged) and ``tuning`` (``family``, ``rate``, ``metric``, ``run``: the test-seed run's
  name), with ``diverged_epoch``."""
  final = {k: [history[-1].get(k) if history else None] for k in METRICS}
  return {"seeds": [TUNE_SEED], "final": final,
          "epochs": [len(history) if history else diverged_epoch - 1],
          "config": json.loads(json.dumps(config.to_dict())),
          "tuning": dict(tuning, diverged_epoch=diverged_epoch)}


def pick(record: Mapping, family: str) -> str:
  """Part 4's tuning rule from the record's tuning runs of ``family``: the highest final
  value of its metric, ties to the lower rate, diverged runs out; the test-seed run's name."""
  entries = [dict(r["tuning"], value=r["final"][r["tuning"]["metric"]][0])
             for r in record["runs"].values() if r.get("tuning", {}).get("family") == family]
  finite = [e for e in entries if e["value"] is not None]
  if not finite:
    raise ValueError(f"no {family} tuning run finished (of {len(entries)})")
  return min(finite, key=lambda e: (-e["value"], e["rate"]))["run"]


def per_step_rates(spec: float | dict, num_steps: int, epoch_steps: int) -> np.ndarray:
  """A learning-rate field's rates at steps ``0 .. num_steps - 1`` (as training builds it)."""
  schedule = config_schedule("learning_rate", spec, epoch_steps)
  if not callable(schedule):
    return np.full(num_steps, float(schedule))
  return np.asarray(jax.vmap(schedule)(jnp.arange(num_steps)), np.float64)


FIT_SKIP_EPOCHS = 1
"""Part 5 fits the law from the second epoch on (module docstring)."""


def epoch_means_per_step(losses: Sequence[float], epoch_steps: int,
                         skip_epochs: int = FIT_SKIP_EPOCHS) -> np.ndarray:
  """Per-epoch mean losses as a per-step curve for :func:`lrsched.loss_law.fit`: each at its
  epoch's middle step, ``nan`` elsewhere and for the first ``skip_epochs`` epochs."""
  curve = np.full(len(losses) * epoch_steps, np.nan)
  curve[np.arange(len(losses)) * epoch_steps + (epoch_steps + 1) // 2 - 1] = losses
  curve[:skip_epochs * epoch_steps] = np.nan
  return curve


def fit_law(curves: Mapping[str, tuple[float | dict, Sequence[float]]], epoch_steps: int
            ) -> loss_law.LawParams:
  """The law fitted to ``{name: (learning-rate field, seed-mean per-epoch losses)}``."""
  return loss_law.fit([(per_step_rates(spec, len(losses) * epoch_steps, epoch_steps),
                        epoch_means_per_step(losses, epoch_steps))
                       for spec, losses in curves.values()])


def predict_final(params: loss_law.LawParams, spec: float | dict, epochs: int,
                  epoch_steps: int) -> float:
  """The law's final training loss: its per-step curve averaged over the last epoch."""
  curve = loss_law.predict(params, per_step_rates(spec, epochs * epoch_steps, epoch_steps))
  return float(np.nanmean(curve[-epoch_steps:]))


def law_from_record(record: Mapping) -> dict | None:
  """Part 5 from the record alone: the law fitted to the per-seed training-loss curves of
  the runs marked ``law_fit`` (their seed mean), its prediction for every ``law/`` run (from
  the run's learning rate and epochs), the budgets; ``None`` without part 5's runs."""
  runs = record["runs"]
  fit = {n: r for n, r in runs.items() if r.get("law_fit")}
  law = {n: r for n, r in runs.items() if "law" in r}
  if not fit or not law:
    return None
  epoch_steps = next(iter(fit.values()))["steps_per_epoch"]
  params = fit_law({n: (r["config"]["learning_rate"], np.mean(r["train_loss_curves"], axis=0))
                    for n, r in fit.items()}, epoch_steps)
  predicted = {n: predict_final(params, r["config"]["learning_rate"], r["config"]["epochs"],
                                epoch_steps) for n, r in law.items()}
  return {"params": params, "predicted": predicted, "fit_runs": list(fit),
          "budgets": sorted({r["law"]["budget"] for r in law.values()}),
          "seeds": next(iter(law.values()))["seeds"], "steps_per_epoch": epoch_steps}


def _final(record: Mapping, name: str, key: str = "test_accuracy") -> list[float]:
  return record["runs"][name]["final"][key]


def law_schedules(record: Mapping, budget: int) -> list[str]:
  return [s for s in LAW_SCHEDULES if law_name(s, budget) in record["runs"]]


def law_observed_order(record: Mapping, budget: int) -> list[str]:
  """Part 5's schedules sorted by seed-mean final training loss (lowest first)."""
  return sorted(law_schedules(record, budget), key=lambda s: (
      float(np.mean(_final(record, law_name(s, budget), "train_loss"))), s))


def law_predicted_order(record: Mapping, law: Mapping, budget: int) -> list[str]:
  return sorted(law_schedules(record, budget),
                key=lambda s: (law["predicted"][law_name(s, budget)], s))


def ranking_verdict(claims: Sequence[Mapping], budget: int) -> str:
  """Part 5's ranking rule (module docstring) from the pair claims of ``budget``."""
  pairs = [c for c in claims if c.get("law", {}).get("budget") == budget]
  if any(c["verdict"] == "contradicted" for c in pairs):
    return "contradicted"
  adjacent = [c for c in pairs if c["law"]["observed_adjacent"]]
  if adjacent and all(c["verdict"] == "reproduced" for c in adjacent):
    return "reproduced"
  return "not resolved"


def branches(record: Mapping) -> list[dict]:
  """Part 1's branches present in the record with their cosine run, by budget."""
  return sorted((r["branch"] for r in record["runs"].values()
                 if "branch" in r and cosine_name(r["branch"]["budget"]) in record["runs"]),
                key=lambda b: b["budget"])


def budget_costs(budgets: Sequence[int]) -> dict:
  """Part 2's arithmetic: branch points, cooldowns and what the budgets cost in epochs."""
  lengths = [cooldown_epochs(b) for b in budgets]
  starts = [b - n for b, n in zip(budgets, lengths, strict=True)]
  return {"budgets": list(budgets), "branch_epochs": starts, "cooldown_epochs": lengths,
          "cost_epochs": max(starts) + sum(lengths), "separate_cost_epochs": sum(budgets),
          "trained_epochs": max(budgets) + sum(lengths)}


def has_part3(record: Mapping) -> bool:
  return all(n in record["runs"] for n in ("constant", "step decay", "constant SWA"))


def has_part4(record: Mapping) -> bool:
  return any("tuning" in r for r in record["runs"].values())


def decide(record: dict) -> list[dict]:
  """The claims from the record's per-seed values (``--decide-only`` rebuilds them).

  Each part whose runs the record holds: parts 1 and 4's "matches" are equivalence claims
  (TOST, margin :data:`MARGIN`); part 2's cost is arithmetic, recorded as not tested;
  part 3's "does not replace" are paired t claims and its "no worse" a non-inferiority
  claim (margin :data:`NON_INFERIORITY_MARGIN`); part 4's pick follows the tuning rule
  (:func:`pick`) and its recalibration claim is a paired t claim; part 5's law is fitted
  again from the stored curves (:func:`law_from_record`) and its ranking is one paired t
  claim per pair of schedules, in the direction of the law's prediction
  (:func:`ranking_verdict` combines them).
  """
  out = []
  budgets = [b["budget"] for b in branches(record)]
  for budget in budgets:
    a, b = branch_name(budget), cosine_name(budget)
    out.append(same_claim(
        f"constant + {COOLDOWN_FRACTION:.0%} {COOLDOWN_SHAPE} cooldown matches cosine at "
        f"{budget} epochs (final test accuracy within {100 * MARGIN:g} point)",
        "test_accuracy", a, b, _final(record, a), _final(record, b), MARGIN))
  if len(budgets) > 1:
    cost = budget_costs(budgets)
    out.append(untested_claim(
        "one stable run serves every budget for fewer epochs than a run per budget",
        f"arithmetic fixed by the design, not a measurement: {cost['cost_epochs']} epochs "
        f"(the stable run to its last branch point, epoch {max(cost['branch_epochs'])}, plus "
        f"cooldowns of {' + '.join(map(str, cost['cooldown_epochs']))}) against "
        f"{cost['separate_cost_epochs']} for the cosine runs of budgets "
        f"{', '.join(map(str, budgets))}; the accuracies are part 1's claims"))
  if has_part3(record):
    step = _final(record, "step decay")
    out.append(claim("averaging does not fully replace decay: step decay's final model beats "
                     "the constant rate's EMA (final test accuracy)", "test_accuracy",
                     "step decay", "constant (EMA)", step,
                     _final(record, "constant", "avg_test_accuracy"), ">"))
    out.append(claim("averaging does not fully replace decay: step decay's final model beats "
                     "the constant rate's SWA (final test accuracy)", "test_accuracy",
                     "step decay", "constant SWA (average)", step,
                     _final(record, "constant SWA", "avg_test_accuracy"), ">"))
    out.append(non_inferiority_claim(
        f"averaging + decay is no worse than decay alone: step decay's EMA at most "
        f"{100 * NON_INFERIORITY_MARGIN:g} point below its final model (test accuracy)",
        "test_accuracy", "step decay (EMA)", "step decay",
        _final(record, "step decay", "avg_test_accuracy"), step, NON_INFERIORITY_MARGIN, ">"))
  if has_part4(record):
    free, cosine = pick(record, "schedule_free"), pick(record, "cosine")
    recalibrated = _final(record, free, "avg_test_accuracy")
    epochs = record["runs"][free]["config"]["epochs"]
    out.append(same_claim(
        f"schedule-free SGD (BatchNorm recalibrated) matches a tuned cosine at {epochs} "
        f"epochs (final test accuracy within {100 * MARGIN:g} point)", "test_accuracy",
        f"{free} (recalibrated)", cosine, recalibrated, _final(record, cosine), MARGIN))
    out.append(claim("recalibrating BatchNorm lifts schedule-free SGD's evaluation point "
                     "(final test accuracy, the same weights)", "test_accuracy",
                     f"{free} (recalibrated)", f"{free} (raw BatchNorm statistics)",
                     recalibrated, _final(record, free, "avg_raw_bn_test_accuracy"), ">"))
  law = law_from_record(record)
  for budget in law["budgets"] if law else []:
    order = law_observed_order(record, budget)
    for i, j in itertools.combinations(range(len(order)), 2):
      x, y = (law_name(s, budget) for s in (order[i], order[j]))
      low, high = sorted((x, y), key=lambda n: (law["predicted"][n], n))
      first, second = (record["runs"][n]["law"]["schedule"] for n in (low, high))
      item = claim(
          f"the annealing law ranks {first} below {second} at {budget} epochs: {first}'s "
          f"final training loss is lower", "train_loss", low, high,
          _final(record, low, "train_loss"), _final(record, high, "train_loss"), "<")
      item["law"] = {"budget": budget, "observed_adjacent": j == i + 1, "predicted": {
          low: law["predicted"][low], high: law["predicted"][high]}}
      out.append(item)
  return out


def _pct(values: Sequence[float]) -> str:
  return format_mean_std(values, scale=100)


def tables(record: dict) -> list[str]:
  """The derived tables (markdown, each with its caption) RESULTS.md shows."""
  out = []
  found = branches(record)
  if found:
    budgets = [b["budget"] for b in found]
    rows = []
    for b in found:
      a, c = _final(record, branch_name(b["budget"])), _final(record, cosine_name(b["budget"]))
      rows.append([b["budget"], b["from_epoch"], b["cooldown_epochs"], _pct(a), _pct(c),
                   _pct(np.subtract(a, c))])
    cost = budget_costs(budgets)
    out.append(markdown_table(["budget (epochs)", "branch from epoch", "cooldown epochs",
                               "constant + cooldown (%)", "cosine (%)",
                               "difference (points)"], rows)
               + f"\n\nOne run, every budget: final test accuracy, mean ± std over the seeds. "
               f"Cost: {cost['cost_epochs']} epochs for every budget (the stable run to epoch "
               f"{max(cost['branch_epochs'])} plus the cooldowns; {cost['trained_epochs']} as "
               f"trained here, the stable run going on to {max(budgets)} epochs) against "
               f"{cost['separate_cost_epochs']} for one cosine run per budget.")
  if has_part4(record):
    picked = {pick(record, "schedule_free"), pick(record, "cosine")}
    rows = []
    for run in record["runs"].values():
      if "tuning" in run:
        t = run["tuning"]
        value = run["final"][t["metric"]][0]
        rows.append([t["run"], t["metric"], f"diverged in epoch {t['diverged_epoch']}"
                     if value is None else f"{100 * value:.1f}",
                     "picked" if t["run"] in picked else ""])
    out.append(markdown_table(["run", "metric", f"seed {TUNE_SEED} final (%)", "rule"], rows)
               + f"\n\nPart 4's tuning on seed {TUNE_SEED} (not a test seed): each family's "
               "highest final test accuracy (schedule-free: its evaluation point, BatchNorm "
               "recalibrated; cosine: the final model), ties to the lower rate, diverged runs "
               "out.")
  law = law_from_record(record)
  if law:
    rows = []
    for schedule in LAW_SCHEDULES:
      for budget in law["budgets"]:
        name = law_name(schedule, budget)
        if name not in record["runs"]:
          continue
        observed = _final(record, name, "train_loss")
        predicted = law["predicted"][name]
        source = record["runs"][name]["law"]["reused_from"]
        rows.append([schedule, budget, f"{predicted:.3f}", format_mean_std(observed, digits=3),
                     f"{(predicted - np.mean(observed)) / np.mean(observed):+.1%}",
                     f"`{source}`" if source else "its own"])
    p = law["params"]
    out.append(markdown_table(["schedule", "budget (epochs)", "predicted final train loss",
                               "observed (mean ± std)", "relative error", "runs"], rows)
               + f"\n\nThe annealing law L = {p.L0:.3f} + {p.A:.3f} S1^-{p.alpha:.3f} - "
               f"{p.C:.3f} S2 (decay {p.decay:g}, rmse {p.rmse:.3f}), fitted to the seed-mean "
               f"per-epoch training loss of {' and '.join(law['fit_runs'])} (each epoch's "
               f"mean at its middle step, from epoch {FIT_SKIP_EPOCHS + 1} on); predicted: "
               f"the law's curve averaged over the last epoch. Observed: the last epoch's "
               f"training loss, seeds {', '.join(map(str, law['seeds']))}.")
    rows = [[budget, " < ".join(law_observed_order(record, budget)),
             " < ".join(law_predicted_order(record, law, budget)),
             ranking_verdict(record["claims"], budget)] for budget in law["budgets"]]
    out.append(markdown_table(["budget (epochs)", "observed order (final train loss)",
                               "predicted order", "law ranking"], rows)
               + "\n\nLaw ranking: contradicted if a pair claim below is contradicted; "
               "reproduced if the three pairs adjacent in the observed order are; else not "
               "resolved.")
  return out


def _bars(ax, items: Sequence[tuple[str, Sequence[float]]], title: str) -> None:
  for i, (_, values) in enumerate(items):
    values = 100 * np.asarray(values, np.float64)
    ax.bar(i, values.mean(), yerr=values.std(ddof=1) if values.size > 1 else 0, capsize=3,
           color=f"C{i}", alpha=0.6)
    ax.plot(np.full(values.size, i), values, "k.", markersize=4)
  ax.set_xticks(range(len(items)), [label for label, _ in items], rotation=20, ha="right",
                fontsize="small")
  low = min(100 * min(v) for _, v in items)
  high = max(100 * max(v) for _, v in items)
  ax.set_ylim(low - 0.2 * (high - low + 1), high + 0.2 * (high - low + 1))
  ax.set_ylabel("final test accuracy (%)")
  ax.set_title(title)


def _absent(ax, part: str) -> None:
  ax.text(0.5, 0.5, f"part {part} not run", ha="center", va="center", transform=ax.transAxes)
  ax.set_axis_off()


def plot(record: dict, path: pathlib.Path) -> None:
  """The four panels of the figure, from the record alone."""
  fig = Figure(figsize=(13, 9), layout="constrained")
  axes = fig.subplots(2, 2).ravel()
  runs = record["runs"]
  budgets = [b["budget"] for b in branches(record)]
  if budgets:
    ax = axes[0]
    for offset, (label, name) in zip((-0.15, 0.15), (("constant + cooldown", branch_name),
                                                     ("cosine", cosine_name)), strict=True):
      values = 100 * np.array([_final(record, name(b)) for b in budgets])  # budget, seed
      ax.errorbar(np.asarray(budgets) + offset, values.mean(1), yerr=values.std(1, ddof=1),
                  marker="o", capsize=3, label=label)
    cost = budget_costs(budgets)
    ax.set_xlabel("budget (epochs)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_xticks(budgets)
    ax.legend(fontsize="small")
    ax.set_title(f"one run, every budget: {cost['cost_epochs']} epochs vs "
                 f"{cost['separate_cost_epochs']} (mean ± std)")
  else:
    _absent(axes[0], "1")
  if has_part3(record):
    _bars(axes[1], [("constant", _final(record, "constant")),
                    ("constant EMA", _final(record, "constant", "avg_test_accuracy")),
                    ("constant SWA", _final(record, "constant SWA", "avg_test_accuracy")),
                    ("step decay", _final(record, "step decay")),
                    ("step decay EMA", _final(record, "step decay", "avg_test_accuracy"))],
          f"averaging vs decay, {runs['step decay']['config']['epochs']} epochs")
  else:
    _absent(axes[1], "3")
  if has_part4(record):
    free, cosine = pick(record, "schedule_free"), pick(record, "cosine")
    _bars(axes[2], [(f"{free}\nBN recalibrated", _final(record, free, "avg_test_accuracy")),
                    (f"{free}\nraw BN statistics",
                     _final(record, free, "avg_raw_bn_test_accuracy")),
                    (cosine, _final(record, cosine))],
          f"schedule-free SGD vs the tuned cosine, {runs[free]['config']['epochs']} epochs")
  else:
    _absent(axes[2], "4")
  law = law_from_record(record)
  if law:
    ax = axes[3]
    markers = dict(zip(LAW_SCHEDULES, "osD^", strict=True))
    values = []
    for k, budget in enumerate(law["budgets"]):
      for schedule in law_schedules(record, budget):
        name = law_name(schedule, budget)
        observed = np.asarray(_final(record, name, "train_loss"))
        ax.errorbar(law["predicted"][name], observed.mean(), yerr=observed.std(ddof=1),
                    color=f"C{k}", marker=markers[schedule], capsize=3, linestyle="none",
                    label=f"{schedule}, {budget} epochs")
        values += [law["predicted"][name], *observed]
    lim = [min(values) * 0.95, max(values) * 1.05]
    ax.plot(lim, lim, "k--", linewidth=0.8)
    ax.set_xlabel("law's predicted final training loss")
    ax.set_ylabel("observed final training loss (mean ± std)")
    ax.legend(fontsize="x-small", ncol=2)
    ax.set_title(f"the annealing law, fitted on {' + '.join(law['fit_runs'])}")
  else:
    _absent(axes[3], "5")
  fig.suptitle("Schedules without an end: WRN-10-1 on the CIFAR-10 subset at 16x16")
  save_figure(fig, path)


def parse_parts(text: str) -> list[int]:
  parts = sorted({int(p) for p in text.split(",") if p.strip()})
  if not parts or not set(parts) <= set(PARTS):
    raise ValueError(f"--parts must name some of {PARTS} (comma-separated), got {text!r}")
  return parts


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/beyond_fixed_budgets", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=None,
                      help="default 0-4 (--small: 0 1); part 5 trains the first three")
  parser.add_argument("--parts", default="1,2,3,4,5", help="comma-separated parts to run")
  parser.add_argument("--small", action="store_true", help="a tiny run of the whole pipeline")
  add_results_arguments(parser, HERE / f"results/{EXPERIMENT}.json", HERE / "figures")
  args = parser.parse_args(argv)
  if args.decide_only:
    record = redecide(args.results, decide)
    record["tables"] = tables(record)
    write_results(args.results, record)
    return record
  size = SMALL if args.small else FULL
  seeds = list(args.seeds or size.seeds)
  if len(seeds) < 2 or len(set(seeds)) != len(seeds):
    raise ValueError(f"--seeds must be at least two distinct seeds (paired tests), got {seeds}")
  if TUNE_SEED in seeds:
    raise ValueError(f"seed {TUNE_SEED} tunes part 4 and cannot be a test seed")
  want = set(parse_parts(args.parts))
  if want & {1, 2}:
    want |= {1, 2}  # the same runs
  workdir = pathlib.Path(args.workdir)
  runs = configs(size)
  top = size.budgets[-1]
  law_seeds = seeds[:size.law_seeds]
  record = {"experiment": EXPERIMENT, "claims": [], "runs": {}}
  trained: dict[str, tuple[Config, list[list[dict]], list[int]]] = {}

  def train(names: Sequence[str], run_seeds_: Sequence[int] = seeds) -> None:
    names = [n for n in dict.fromkeys(names) if n not in trained]
    if names:
      for name, per_seed in run_seeds({n: runs[n] for n in names}, run_seeds_,
                                      workdir).items():
        trained[name] = (runs[name], per_seed, list(run_seeds_))

  def train_branch(budget: int) -> None:
    if branch_name(budget) not in trained:
      made = [branch(workdir, budget, seed) for seed in seeds]
      trained[branch_name(budget)] = (made[0][0], [h for _, h in made], seeds)

  def include(name: str, source: str | None = None, count: int | None = None,
              **extra) -> None:
    """``name``'s entry in the record, from the runs of ``source`` (default: ``name``),
    their first ``count`` seeds, with ``extra`` keys (added to an entry already there)."""
    if name not in record["runs"]:
      config, per_seed, run_seeds_ = trained[source or name]
      count = count or len(run_seeds_)
      entry = results_record(EXPERIMENT, [], {name: per_seed[:count]}, {name: config},
                             run_seeds_[:count], METRICS)["runs"][name]
      entry["steps_per_epoch"] = per_seed[0][0]["step"]  # the step count after epoch 1
      record["runs"][name] = entry
    record["runs"][name].update(extra)

  if want & {1, 2, 3, 5}:
    train(["constant"])
  if 1 in want:
    include("constant")
    for budget in size.budgets:
      train_branch(budget)
      length = cooldown_epochs(budget)
      include(branch_name(budget), branch={"budget": budget, "from_epoch": budget - length,
                                           "cooldown_epochs": length})
    train([cosine_name(b) for b in size.budgets])
    for budget in size.budgets:
      include(cosine_name(budget))
  if 3 in want:
    train(["step decay", "constant SWA"])
    for name in ("constant", "step decay", "constant SWA"):
      include(name)
  if 4 in want:
    grids = (("schedule_free", size.free_rates, free_name, "avg_test_accuracy"),
             ("cosine", size.cosine_peaks, lambda p: cosine_name(top, p), "test_accuracy"))
    for family, grid, name_of, metric in grids:
      for rate in grid:
        name = name_of(rate)
        history, diverged = tune(runs[name], name, workdir)
        record["runs"][f"tuning/{name}"] = tuning_entry(runs[name], history, diverged, {
            "family": family, "rate": rate, "metric": metric, "run": name})
    free, cosine = pick(record, "schedule_free"), pick(record, "cosine")
    train([free, cosine])
    include(free)
    include(cosine)
    raw = [evaluate_average(workdir / free / f"seed{s}", None)[1] for s in seeds]
    final = record["runs"][free]["final"]
    final["avg_raw_bn_test_accuracy"] = [r["accuracy"] for r in raw]
    final["avg_raw_bn_test_loss"] = [r["loss"] for r in raw]
  if 5 in want:
    train(["constant", cosine_name(top), "step decay"])
    train_branch(top)
    for name in ("constant", cosine_name(top)):
      include(name, law_fit=True, train_loss_curves=[[r["train_loss"] for r in h]
                                                     for h in trained[name][1]])
    for schedule in LAW_SCHEDULES:
      for budget in size.law_budgets:
        name, source = law_name(schedule, budget), reused(schedule, budget, size)
        if source is None:
          train([name], law_seeds)
        include(name, source, len(law_seeds), law={"schedule": schedule, "budget": budget,
                                                    "reused_from": source})
  record["claims"] = decide(record)
  record["tables"] = tables(record)
  write_results(args.results, record)
  plot(record, pathlib.Path(args.figures) / f"{EXPERIMENT}.png")
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  law = law_from_record(record)
  for budget in law["budgets"] if law else []:
    print(f"{ranking_verdict(record['claims'], budget):>13}: the annealing law ranks the "
          f"schedules as training does at {budget} epochs")
  return record


if __name__ == "__main__":
  main()
