"""Cooldowns branched from any checkpoint: train once at a constant rate, pick the budget later.

Hägele et al. (2024) find that a constant rate with a short cooldown (``1-sqrt`` or linear,
~20% of the run) matches a cosine schedule of the same length, so one stable run serves
every budget: branch a cooldown from its checkpoint at epoch ``E`` to get the model of
budget ``E + N``. :func:`cooldown` starts such a branch as a new run directory:

* its ``config.json`` is the parent's with ``epochs = E + N`` and a learning rate that
  holds the parent's rate ``r`` (the value at the branch's first step) until step
  ``E * steps_per_epoch`` and anneals it to ``end_value`` over the ``N`` epochs
  (:func:`lrsched.wsd` with no warmup: ``r`` up to the branch point, then the shape);
* it starts from the parent's checkpoint of epoch ``E`` -- weights, BatchNorm
  statistics, the optimizer state (momentum buffers, an average), the step count, saved
  again as the branch's own checkpoint in the structure its schedule needs -- and
  the parent's records of epochs ``1..E``, so its ``metrics.jsonl`` and curves are
  complete; ``parent.json`` names the parent, the epoch, the shape and the length;
* then it trains (and resumes, if interrupted) like any run.

:func:`budget_curve` gives the "one run, every budget" curve: for each budget ``B`` a
branch from epoch ``B - round(fraction B)`` and its final metrics, and what the branches
cost in total beside separate runs. ``lrsched cooldown RUN --from-epoch E --epochs N
--shape 1-sqrt`` is the command line.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from lrsched.schedules.wsd import SHAPES
from lrsched.train import steps as stepslib
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config
from lrsched.train.loop import RunResult, read_history, train
from lrsched.train.optimizer import make_optimizer
from lrsched.train.run_model import build_run_model, load_data, read_run_config, steps_per_epoch
from lrsched.train.rundir import write_atomic
from lrsched.train.specs import config_schedule

__all__ = ["cooldown", "cooldown_config", "budget_curve", "rate_over_epoch"]


def rate_over_epoch(config: Config, epoch: int, epoch_steps: int) -> np.ndarray:
  """The learning rate of ``config``'s schedule at the steps of epoch ``epoch`` and the
  first step after it (``(epoch - 1) * epoch_steps .. epoch * epoch_steps``)."""
  schedule = config_schedule("learning_rate", config.learning_rate, epoch_steps)
  steps = np.arange((epoch - 1) * epoch_steps, epoch * epoch_steps + 1)
  if not callable(schedule):
    return np.full(len(steps), float(schedule))
  return np.asarray([float(schedule(int(t))) for t in steps])


def _check_int(name: str, value: Any, low: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
    raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def cooldown_config(parent: Config, from_epoch: int, epochs: int, epoch_steps: int, *,
                    shape: str = "1-sqrt", end_value: float = 0.0,
                    force: bool = False) -> Config:
  """The config of a cooldown branch (see the module docstring).

  Raises:
    ValueError: ``from_epoch`` not in ``[1, parent.epochs]``, ``epochs < 1``, an unknown
      ``shape``, ``end_value`` outside ``[0, rate]``, or -- unless ``force`` -- a parent
      whose rate is not constant over epoch ``from_epoch`` (the message names the rates;
      with ``force`` it is a warning and the branch starts from the rate of its first
      step).
  """
  _check_int("from_epoch", from_epoch, 1)
  _check_int("epochs", epochs, 1)
  if from_epoch > parent.epochs:
    raise ValueError(f"from_epoch must be at most the parent's {parent.epochs} epochs, got "
                     f"{from_epoch}")
  if shape not in SHAPES:
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
  rates = rate_over_epoch(parent, from_epoch, epoch_steps)
  rate = float(rates[-1])
  if not np.allclose(rates, rate, rtol=1e-6, atol=0.0):
    message = (f"the parent's learning rate is not constant over epoch {from_epoch}: it "
               f"goes {rates[0]:.6g} -> {rates[-1]:.6g} (min {rates.min():.6g}, max "
               f"{rates.max():.6g}); a cooldown branches from a constant (or WSD stable) "
               f"phase")
    if not force:
      raise ValueError(message + " (force=True / --force to branch anyway, from "
                       f"{rate:.6g})")
    warnings.warn(message + f"; branching from {rate:.6g} as forced", stacklevel=2)
  if isinstance(end_value, bool) or not isinstance(end_value, int | float) or not (
      0.0 <= end_value <= rate):
    raise ValueError(f"end_value must be in [0, {rate:g}] (the branch's starting rate), got "
                     f"{end_value!r}")
  total = (from_epoch + epochs) * epoch_steps
  lr = {"name": "wsd", "peak_value": rate, "total_steps": total, "warmup_steps": 0,
        "cooldown_steps": epochs * epoch_steps, "cooldown_shape": shape,
        "end_value": float(end_value)}
  return dataclasses.replace(parent, epochs=from_epoch + epochs, learning_rate=lr)


def cooldown(run_dir: str | pathlib.Path, from_epoch: int, epochs: int, *,
             shape: str = "1-sqrt", end_value: float = 0.0,
             workdir: str | pathlib.Path | None = None, force: bool = False) -> RunResult:
  """Branches a cooldown of ``epochs`` epochs from ``run_dir``'s checkpoint of
  ``from_epoch`` into ``workdir`` and trains it (resuming it when it is there already).

  Args:
    run_dir: the parent run (``config.json``, ``checkpoints/``, ``metrics.jsonl``).
    from_epoch: the checkpoint to branch from.
    epochs: the cooldown's length N, >= 1.
    shape: ``"1-sqrt"`` (Hägele et al.'s best), ``"linear"`` or ``"cosine"``.
    end_value: the rate at the end, in ``[0, the starting rate]``.
    workdir: the branch's run directory (default: ``RUN_DIR-cooldown-eE-nN-SHAPE`` beside
      the parent).
    force: branch even where the parent's rate is not constant (a warning names it).

  Returns:
    The branch's :class:`~lrsched.train.RunResult`.

  Raises:
    ValueError: bad arguments (:func:`cooldown_config`), no checkpoint of ``from_epoch``
      (the message lists the epochs there are), or ``workdir`` holding another run.
  """
  run_dir = pathlib.Path(run_dir)
  parent = read_run_config(run_dir)
  checkpoints = Checkpoints(run_dir / "checkpoints", keep=None)
  try:
    saved = checkpoints.all_epochs()
  finally:
    checkpoints.close()
  if from_epoch not in saved:
    raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint of epoch {from_epoch} "
                     f"to branch from; it holds epochs {saved} (checkpoint_every and "
                     f"keep_checkpoints decide which are kept)")
  train_ds, _ = load_data(parent)
  epoch_steps = steps_per_epoch(parent, train_ds)
  config = cooldown_config(parent, from_epoch, epochs, epoch_steps, shape=shape,
                           end_value=end_value, force=force)
  workdir = pathlib.Path(workdir) if workdir is not None else run_dir.with_name(
      f"{run_dir.name}-cooldown-e{from_epoch}-n{epochs}-{shape}")
  record = {"parent": str(run_dir.resolve()), "from_epoch": from_epoch, "epochs": epochs,
            "shape": shape, "end_value": float(end_value), "start_rate":
            config.learning_rate["peak_value"]}
  marker = workdir / "parent.json"
  if marker.exists():
    if json.loads(marker.read_text()) != record:
      raise ValueError(f"{workdir} holds another cooldown branch ({marker}); choose another "
                       f"workdir")
  elif workdir.exists() and any(workdir.iterdir()):
    raise ValueError(f"{workdir} exists and is not a cooldown branch of {run_dir}; choose "
                     f"another workdir")
  else:
    workdir.mkdir(parents=True, exist_ok=True)
    _branch_checkpoint(run_dir, parent, config, from_epoch, train_ds, workdir)
    history = read_history(run_dir / "metrics.jsonl", from_epoch)
    write_atomic(workdir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in history))
    write_atomic(workdir / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    write_atomic(marker, json.dumps(record, indent=2) + "\n")
  return train(config, workdir, resume=True)


def _graft(saved: Any, template: Any) -> Any:
  """The parent's optimizer state in the structure of the branch's: ``inject_hyperparams``
  keeps a count per schedule (none for a constant rate), so the branch's state takes the
  parent's count, hyperparameter values and inner state, and its schedules' counts are set
  to the parent's step count; everything else (chained rules' states) is the parent's."""
  if hasattr(template, "hyperparams_states") and hasattr(saved, "inner_state"):
    counts = jax.tree.map(lambda _: saved.count, template.hyperparams_states)
    return template._replace(count=saved.count, hyperparams=saved.hyperparams,
                             hyperparams_states=counts, inner_state=saved.inner_state)
  if isinstance(template, tuple) and not hasattr(template, "_fields"):  # optax.chain's
    return tuple(_graft(s, t) for s, t in zip(saved, template, strict=True))
  return saved


def _branch_checkpoint(run_dir: pathlib.Path, parent: Config, config: Config, epoch: int,
                       train_ds, workdir: pathlib.Path) -> None:
  """Saves the parent's checkpoint of ``epoch`` as the branch's, its optimizer state in the
  branch's structure (:func:`_graft`)."""
  model = build_run_model(parent, train_ds)
  _, _, params, rest = stepslib.split_model(model)
  epoch_steps = steps_per_epoch(parent, train_ds)
  mesh = stepslib.data_mesh()
  template = stepslib.replicate(mesh, stepslib.TrainState(
      step=np.int32(0), params=params, model_state=rest,
      opt_state=make_optimizer(parent, epoch_steps).init(params)))
  source = Checkpoints(run_dir / "checkpoints", keep=None)
  try:
    state = source.restore(epoch, template)
  finally:
    source.close()
  branch_template = make_optimizer(config, epoch_steps).init(params)
  state = state.replace(opt_state=stepslib.replicate(
      mesh, _graft(state.opt_state, branch_template)))
  target = Checkpoints(workdir / "checkpoints", keep=max(config.keep_checkpoints, 1))
  try:
    target.save(epoch, state)
  finally:
    target.close()


def budget_curve(run_dir: str | pathlib.Path, budgets: Sequence[int], *,
                 fraction: float = 0.2, shape: str = "1-sqrt", end_value: float = 0.0,
                 metric: str | None = None) -> dict[str, Any]:
  """One stable run, every budget: a cooldown of ``round(fraction B)`` epochs (at least 1)
  branched from epoch ``B - round(fraction B)`` for each budget ``B`` (in epochs).

  Returns:
    ``{"budgets", "branch_epochs", "cooldown_epochs", metric: [final value per budget],
    "workdirs", "cost_epochs"}``: ``cost_epochs`` is what the curve costs, the stable
    run's epochs up to the last branch point plus every cooldown's epochs, and
    ``separate_cost_epochs`` what one run per budget would (``sum(budgets)``).
    ``metric`` defaults to ``<eval_split>_accuracy``.

  Raises:
    ValueError: ``fraction`` outside (0, 1), a budget below 2 or beyond the stable run
      plus its cooldown, or a missing checkpoint (see :func:`cooldown`).
  """
  if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
      0.0 < fraction < 1.0):
    raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
  parent = read_run_config(run_dir)
  metric = metric or f"{parent.eval_split}_accuracy"
  rows = {"budgets": [], "branch_epochs": [], "cooldown_epochs": [], metric: [],
          "workdirs": []}
  for budget in budgets:
    _check_int("budget", budget, 2)
    length = max(1, round(fraction * budget))
    start = budget - length
    result = cooldown(run_dir, start, length, shape=shape, end_value=end_value)
    rows["budgets"].append(budget)
    rows["branch_epochs"].append(start)
    rows["cooldown_epochs"].append(length)
    rows[metric].append(result.history[-1].get(metric))
    rows["workdirs"].append(str(result.workdir))
  rows["cost_epochs"] = max(rows["branch_epochs"]) + sum(rows["cooldown_epochs"])
  rows["separate_cost_epochs"] = sum(rows["budgets"])
  return rows
