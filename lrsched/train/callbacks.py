"""The training loop's callbacks: everything an epoch does besides its steps.

:func:`lrsched.train.train` runs the steps and the evaluation; the rest -- snapshots,
sharpness tracking, the loss-driven rules, metrics, curves, progress and checkpoints -- is
a list of :class:`Callback` s, called in order after every step and every epoch. A
callback sees the run through :class:`Run` and may add fields to the epoch's record,
replace the train state (the adaptive rules write their decisions into the optimizer
state) or end the run (``run.stop = True``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from typing import Any

from lrsched import adaptive
from lrsched.plotting import plot_training_curves
from lrsched.progress import EpochProgress, write
from lrsched.train import steps as stepslib
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config
from lrsched.train.rundir import write_atomic

CURVES_EVERY_SECONDS = 30.0


@dataclasses.dataclass
class Run:
  """What callbacks see of a training run.

  Attributes:
    config: the run's config (after a budget change, the stretched one).
    workdir: the run directory.
    mesh: the data mesh.
    train_ds, eval_ds: the datasets.
    epoch_steps: optimizer steps per epoch.
    start_epoch: the first epoch this call trains (> 1 when resumed).
    lead: whether this process writes files (process 0).
    history: the epoch records so far (earlier calls' included).
    last_saved: the newest checkpointed epoch, or None.
    epoch_started: ``time.perf_counter()`` at the start of the current epoch.
    stop: set by a callback to end the run after the current epoch.
  """

  config: Config
  workdir: pathlib.Path
  mesh: Any
  train_ds: Any
  eval_ds: Any
  epoch_steps: int
  start_epoch: int
  lead: bool
  history: list[dict[str, Any]]
  last_saved: int | None
  epoch_started: float = 0.0
  stop: bool = False


class Callback:
  """The hooks of the training loop (each a no-op here; override what you need)."""

  def on_train_start(self, run: Run, state: stepslib.TrainState) -> stepslib.TrainState:
    return state

  def after_step(self, run: Run, step: int, state: stepslib.TrainState) -> None:
    """After optimizer step ``step`` (1-based, global); ``state`` is the new state."""

  def after_epoch(self, run: Run, record: dict[str, Any],
                  state: stepslib.TrainState) -> stepslib.TrainState:
    """After an epoch's evaluation; may add to ``record`` and return a new state."""
    return state

  def on_train_end(self, run: Run, state: stepslib.TrainState) -> None:
    """Always called (also after an error or an interruption)."""


def hyperparams(state: stepslib.TrainState) -> dict[str, float]:
  """The learning rate in effect (schedule x adaptive scales) and the momentum."""
  out = {"learning_rate": float(adaptive.effective_learning_rate(state.opt_state))}
  momentum = adaptive.state.injected_hyperparams(state.opt_state).get("momentum")
  if momentum is not None:
    out["momentum"] = float(momentum)
  return out


class Snapshots(Callback):
  """Snapshot ensembles: keeps the model at each cycle's end, adds ensemble metrics."""

  def __init__(self, keeper):
    self.keeper = keeper

  def after_step(self, run, step, state):
    self.keeper.after_step(step, state)

  def after_epoch(self, run, record, state):
    split = run.config.eval_split
    record.update({f"{split}_{k}" if "accuracy" in k else k: v for k, v in
                   self.keeper.metrics(run.eval_ds, run.config.batch_size, run.mesh).items()})
    return state

  def on_train_end(self, run, state):
    self.keeper.close()


class Timing(Callback):
  """The epoch's wall time (``seconds``) and, at the first epoch after a budget change,
  the change itself (``budget_change``)."""

  def __init__(self, budget_change: dict | None):
    self.budget_change = budget_change

  def after_epoch(self, run, record, state):
    record["seconds"] = time.perf_counter() - run.epoch_started
    if self.budget_change is not None and record["epoch"] == run.start_epoch:
      record["budget_change"] = self.budget_change
    return state


class Adaptive(Callback):
  """``Config.plateau`` / ``Config.autodecay``: feeds them the epoch's metrics.

  The record keeps the rate used during the epoch; a decision applies from the next.
  AutoDecay's stop decision ends the run (also a resumed run that had stopped).
  """

  def on_train_start(self, run, state):
    run.stop = run.config.autodecay is not None and adaptive.should_stop(state.opt_state)
    return state

  def after_epoch(self, run, record, state):
    config = run.config
    opt_state = state.opt_state
    if config.plateau is not None:
      monitor = config.plateau.get("monitor", "train_loss")
      before = int(adaptive.find_plateau(opt_state).num_reductions)
      opt_state = adaptive.observe(opt_state, record[monitor], kind="plateau")
      plateau = adaptive.find_plateau(opt_state)
      record.update({"plateau_scale": float(plateau.scale),
                     "plateau_best": float(plateau.best),
                     "plateau_num_bad": int(plateau.num_bad),
                     "plateau_reductions": int(plateau.num_reductions)})
      if run.lead and int(plateau.num_reductions) > before:
        write(f"plateau epoch {record['epoch']}: {monitor} {record[monitor]:.4g} did not "
              f"improve on {float(plateau.best):.4g} for more than "
              f"{plateau.config.patience} epoch(s) -> scale "
              f"{float(plateau.scale):.3g}")
    if config.autodecay is not None:
      opt_state = adaptive.observe(opt_state, record["train_loss"], kind="autodecay")
      info = adaptive.last_record(opt_state)
      record.update({f"autodecay_{k}": v for k, v in info.items() if k != "epoch"})
      if run.lead:
        write_atomic(run.workdir / "autodecay.json",
                     json.dumps(adaptive.decisions(opt_state), indent=2) + "\n")
        if info["action"] in ("decay", "stop"):
          write(f"autodecay epoch {record['epoch']}: {info['action']} (smoothed loss "
                f"{info['smoothed_loss']:.4g}, range ratio {info['range_ratio']:.3g}, drop "
                f"ratio {info['drop_ratio']:.3g}) -> scale {info['scale']:.3g}")
      run.stop = adaptive.should_stop(opt_state)
    # Replicated again: the eager update leaves the new leaves on one device.
    return state.replace(opt_state=stepslib.replicate(run.mesh, opt_state))


class Sharpness(Callback):
  """``Config.sharpness_every``: the top Hessian eigenvalue every N steps."""

  def __init__(self, tracker):
    self.tracker = tracker

  def after_step(self, run, step, state):
    self.tracker.after_step(step, state.params, state.model_state, hyperparams(state))

  def after_epoch(self, run, record, state):
    if run.lead:
      self.tracker.write()
    return state


class Metrics(Callback):
  """Appends the record to the history and writes ``metrics.jsonl`` (atomically)."""

  def after_epoch(self, run, record, state):
    run.history.append(record)
    if run.lead:
      write_atomic(run.workdir / "metrics.jsonl",
                   "".join(json.dumps(r) + "\n" for r in run.history))
    return state


class Curves(Callback):
  """``curves.png``: at the first epoch, then at most every 30 s, and at the end (also
  after an error: the curves up to there)."""

  def __init__(self):
    self.plotted = -math.inf

  def after_epoch(self, run, record, state):
    if run.lead and time.perf_counter() - self.plotted > CURVES_EVERY_SECONDS:
      plot_training_curves(run.history, run.workdir / "curves.png")
      self.plotted = time.perf_counter()
    return state

  def on_train_end(self, run, state):
    if run.lead and run.history:
      try:
        plot_training_curves(run.history, run.workdir / "curves.png")
      except Exception as error:  # never mask the run's own exception
        write(f"could not draw {run.workdir / 'curves.png'}: {error!r}")


class Progress(Callback):
  """A progress bar (or one line per epoch when not interactive)."""

  def __init__(self, run: Run):
    config = run.config
    self.progress = EpochProgress(config.epochs * run.epoch_steps,
                                  (run.start_epoch - 1) * run.epoch_steps, run.workdir.name,
                                  config.progress and run.lead, config.epochs)
    self.shown = ("train_loss", f"{config.eval_split}_loss", f"{config.eval_split}_accuracy",
                  "learning_rate")

  def after_step(self, run, step, state):
    self.progress.update(1)

  def after_epoch(self, run, record, state):
    if run.lead:
      self.progress.epoch_done(record, self.shown)
    return state

  def on_train_end(self, run, state):
    self.progress.close()


class Checkpointing(Callback):
  """Saves every ``checkpoint_every`` epochs, at the last epoch and at a stop."""

  def __init__(self, checkpoints: Checkpoints):
    self.checkpoints = checkpoints

  def after_epoch(self, run, record, state):
    every, epoch = run.config.checkpoint_every, record["epoch"]
    if every and (epoch % every == 0 or epoch == run.config.epochs or run.stop):
      self.checkpoints.save(epoch, state)
      run.last_saved = epoch
    return state

  def on_train_end(self, run, state):
    self.checkpoints.close()  # waits for the last save


def default_callbacks(run: Run, checkpoints: Checkpoints, budget_change: dict | None, *,
                      keeper=None, tracker=None, extra=()) -> list[Callback]:
  """The callbacks of a :func:`lrsched.train.train` run, in the order they are called
  (``extra``, the caller's, after those that measure and before those that write)."""
  callbacks: list[Callback] = []
  if keeper is not None:
    callbacks.append(Snapshots(keeper))
  callbacks.append(Timing(budget_change))
  if run.config.plateau is not None or run.config.autodecay is not None:
    callbacks.append(Adaptive())
  if tracker is not None:
    callbacks.append(Sharpness(tracker))
  callbacks += list(extra)
  callbacks += [Metrics(), Curves(), Progress(run), Checkpointing(checkpoints)]
  return callbacks
