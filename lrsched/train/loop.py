"""The training loop: epochs of jitted steps, evaluation, metrics, checkpoints.

A run directory holds ``config.json``, ``metrics.jsonl`` (one JSON record per
epoch), ``curves.png`` (redrawn every 30 s and at the end) and ``checkpoints/``.
``train(config, workdir, resume=True)`` continues from the newest checkpoint and ends
with the same parameters as an uninterrupted run: the data order is a function of
``(seed, epoch)``, the augmentation key of the step, and dropout keys live in the
checkpointed state.

A run directory has one writer at a time (a lock file, see :mod:`lrsched.train.rundir`);
a resumed run takes its config from ``config.json`` and refuses changes other than
:data:`SAFE_ON_RESUME`. A longer or shorter ``epochs`` on resume stretches the learning-rate
and momentum schedules from the resume point (``Config.budget_change``).

A non-finite training loss or gradient norm, a training loss above
:data:`DIVERGENCE_LOSS` (a diverged run: gradient descent past its edge of stability), and
after every epoch a non-finite evaluation loss or weight, stops the run with
:class:`NonFiniteLossError` naming the step; no checkpoint is written after it, so the last
good one stays, and the sharpness log (``Config.sharpness_every``) is written up to that
step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import pathlib
import time
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from lrsched import data as datalib
from lrsched.losses import check_labels
from lrsched.progress import write
from lrsched.schedules import exp_lr_momentum_init, from_spec, with_momentum_buffer
from lrsched.train import steps as stepslib
from lrsched.train.averaged import averaged_state, bn_batches, has_average
from lrsched.train.callbacks import Callback, Run, default_callbacks, hyperparams
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config
from lrsched.train.evaluation import evaluate
from lrsched.train.optimizer import make_optimizer
from lrsched.train.run_model import (
    build_run_model,
    load_data,
    load_run_model,
    read_run_config,
    steps_per_epoch,
)
from lrsched.train.rundir import (
  RunLock,
  WorkdirLockedError,
  check_workdir,
  read_jsonl,
  write_atomic,
)
from lrsched.train.sharpness import SharpnessTracker
from lrsched.train.snapshots import SnapshotKeeper
from lrsched.train.transfer import copy_matching_weights

"""``curves.png`` is redrawn at most this often during a run (drawing costs ~1 s), and at
the end."""


DIVERGENCE_LOSS = 1e6
"""A training loss above this stops the run as diverged (:class:`NonFiniteLossError`)."""


class NonFiniteLossError(FloatingPointError):
  """The training loss or gradient became NaN or infinite, or the loss exceeded
  :data:`DIVERGENCE_LOSS` (diverged).

  Attributes:
    step: the 0-based global step whose loss was not finite.
    epoch: the 1-based epoch it belongs to.
    checkpoint_epoch: the epoch of the last good checkpoint (None if none).
  """

  def __init__(self, step: int, epoch: int, what: str, checkpoint_epoch: int | None):
    self.step, self.epoch, self.checkpoint_epoch = step, epoch, checkpoint_epoch
    kept = ("no checkpoint was written yet" if checkpoint_epoch is None
            else f"the last good checkpoint is epoch {checkpoint_epoch}")
    super().__init__(f"{what} at step {step} (epoch {epoch}); stopped, {kept}. "
                     f"Check the data, or train with a lower learning rate in a new workdir "
                     f"(resuming repeats the same steps).")


class RunExistsError(ValueError):
  """The workdir already holds a run and ``resume`` was not asked for.

  Attributes:
    workdir: the run directory.
    epoch: the newest checkpoint's epoch (None: a run without checkpoints).
  """

  def __init__(self, workdir: pathlib.Path, epoch: int | None):
    self.workdir, self.epoch = workdir, epoch
    held = (f"checkpoints up to epoch {epoch}" if epoch is not None
            else "the metrics of a run without checkpoints")
    super().__init__(f"{workdir} already holds a run ({held}); resume it with "
                     f"train(..., resume=True) or choose a new workdir")


SAFE_ON_RESUME = ("epochs", "budget_change", "progress", "checkpoint_every", "keep_checkpoints")
"""Config fields a resumed run may change; any other difference is refused."""


@dataclasses.dataclass
class RunResult:
  """What :func:`train` returns.

  Attributes:
    workdir: the run directory.
    history: the per-epoch metric records (also in ``metrics.jsonl``).
    state: the final :class:`~lrsched.train.steps.TrainState`.
    model: the trained model (eval mode), e.g. for :mod:`lrsched.hessian`.
    snapshot_models: with ``Config.snapshots``, the model (eval mode) at the end of
      every learning-rate cycle, oldest first; see
      :func:`lrsched.train.snapshots.ensemble_predict`.
  """

  workdir: pathlib.Path
  history: list[dict[str, Any]]
  state: stepslib.TrainState
  model: nnx.Module
  snapshot_models: list[nnx.Module] = dataclasses.field(default_factory=list)


def read_history(path: pathlib.Path, last_epoch: int) -> list[dict]:
  """The records of ``metrics.jsonl`` up to ``last_epoch`` (none if the file is absent).

  A torn last line is dropped with a warning; other damage is a ``ValueError`` naming the
  file and line.
  """
  records = read_jsonl(path)
  for number, record in enumerate(records, 1):
    if not isinstance(record.get("epoch"), int):
      raise ValueError(f"{path}: record {number} has no integer 'epoch'")
  return [r for r in records if r["epoch"] <= last_epoch]


def train(config: Config, workdir: str | pathlib.Path, *, resume: bool = False,
          callbacks: Sequence[Callback] = ()) -> RunResult:
  """Trains the model of ``config``; writes metrics, curves and checkpoints to ``workdir``.

  Args:
    config: the run's :class:`~lrsched.train.Config`.
    workdir: the run directory (created). One process at a time: a second one is
      refused while the first runs (:class:`~lrsched.train.rundir.WorkdirLockedError`).
    resume: continue from the newest intact checkpoint in ``workdir`` (a no-op when
      there is none). The run's ``config.json`` must agree with ``config`` except in
      :data:`SAFE_ON_RESUME`; a different ``epochs`` stretches the schedules
      (``Config.budget_change``). Without ``resume``, a ``workdir`` that already holds
      a run is an error (:class:`RunExistsError`), so finished work is never overwritten.
    callbacks: your own :class:`~lrsched.train.callbacks.Callback` s, called after the
      built-in ones that measure (snapshots, timing, the adaptive rules, sharpness) and
      before those that write (metrics, curves, progress, checkpoints), so fields they
      add to a record reach ``metrics.jsonl``.

  Returns:
    A :class:`RunResult`.

  Raises:
    NonFiniteLossError: a training loss, gradient, evaluation loss or weight was NaN or
      infinite.
    ValueError: an invalid config, data or workdir, or a batch size that does not fit.
  """
  config.validate()
  workdir = pathlib.Path(workdir)
  created = [d for d in (workdir, *workdir.parents) if not d.exists()]  # deepest first
  workdir = check_workdir(workdir)
  lock = RunLock(workdir) if jax.process_index() == 0 else None
  try:
    _lock_everywhere(lock)
    return _train(config, workdir, resume, tuple(callbacks))
  finally:
    if lock is not None:
      lock.release()
    for directory in created:  # refused before any work: leave nothing behind
      with contextlib.suppress(OSError):  # not empty (work was done) or gone
        directory.rmdir()


def _lock_everywhere(lock: RunLock | None) -> None:
  """Process 0 takes the lock; under ``jax.distributed`` every process learns the outcome."""
  error = None
  if lock is not None:
    try:
      lock.acquire()
    except WorkdirLockedError as refused:
      error = refused
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    taken = multihost_utils.broadcast_one_to_all(np.int32(error is None))
    if not int(taken) and error is None:
      error = WorkdirLockedError("process 0 could not take the run directory's lock")
  if error is not None:
    raise error


def config_differences(saved: Config, given: Config, ignore: tuple[str, ...] = SAFE_ON_RESUME
                       ) -> dict[str, tuple[Any, Any]]:
  """``{field: (saved value, given value)}`` where two configs differ, ``ignore`` aside.

  A schedule that a resumed run stretched (``{"name": "stretch", "schedule": ...}``) is
  compared by the schedule it stretched.
  """
  a, b = (json.loads(json.dumps(c.to_dict())) for c in (saved, given))
  for key in ("learning_rate", "momentum"):
    while isinstance(a[key], dict) and a[key].get("name") == "stretch" and b[key] != a[key]:
      a[key] = a[key]["schedule"]
  return {k: (a[k], b.get(k)) for k in a if k not in ignore and a[k] != b.get(k)}


def _differences(saved: Config, given: Config) -> list[str]:
  return [f"{k}: {a!r} (saved) != {b!r} (given)"
          for k, (a, b) in config_differences(saved, given).items()]


def _stretched(config: Config, saved: Config, done: int, epoch_steps: int
               ) -> tuple[Config, dict | None]:
  """``config`` with ``saved``'s schedules, stretched if ``epochs`` changed after ``done``."""
  config = dataclasses.replace(config, learning_rate=saved.learning_rate,
                               momentum=saved.momentum)
  if config.epochs == saved.epochs:
    return config, None
  if config.epochs < done:
    raise ValueError(f"epochs={config.epochs} is below the {done} epochs this run has "
                     f"already trained")
  if config.momentum_init == "exp_lr":
    raise ValueError("a momentum_init='exp_lr' run cannot change epochs on resume: its "
                     "momentum buffer was built for the original exp_lr schedule")
  if config.budget_change == "error":
    raise ValueError(f"epochs changed from {saved.epochs} to {config.epochs} on resume and "
                     f"budget_change='error'; pass budget_change='stretch' to stretch the "
                     f"schedules from epoch {done}")
  change = {"mode": "stretch", "from_epoch": done, "old_epochs": saved.epochs,
            "new_epochs": config.epochs, "stretched": []}
  if config.epochs == done or done >= saved.epochs:
    # Nothing left to train, or a finished run extended: there is no rest of the
    # schedule to stretch, so it goes on as it would past its end (most schedules hold
    # their end value).
    return config, change
  if config.snapshots:
    raise ValueError("a snapshots=True run cannot change epochs before it finished (its "
                     "snapshots follow the schedule's cycles, which a stretch would move)")
  values = {}
  for key in ("learning_rate", "momentum"):
    spec = getattr(config, key)
    if isinstance(spec, dict):
      values[key] = {"name": "stretch", "schedule": spec, "from_step": done * epoch_steps,
                     "old_total": saved.epochs * epoch_steps,
                     "new_total": config.epochs * epoch_steps}
      change["stretched"].append(key)
  return dataclasses.replace(config, **values), change


def _train(config: Config, workdir: pathlib.Path, resume: bool,
           extra: tuple[Callback, ...] = ()) -> RunResult:
  lead = jax.process_index() == 0
  metrics_path, config_path = workdir / "metrics.jsonl", workdir / "config.json"
  checkpoints = Checkpoints(workdir / "checkpoints", keep=max(config.keep_checkpoints, 1))
  try:
    saved_epochs = checkpoints.all_epochs()
    if not resume and (saved_epochs or read_history(metrics_path, 10**9)):
      raise RunExistsError(workdir, saved_epochs[-1] if saved_epochs else None)
    saved = read_run_config(workdir) if resume and config_path.exists() else None
    if resume and saved is None and saved_epochs:
      warnings.warn(f"{workdir} has checkpoints but no config.json: the given config cannot "
                    f"be checked against the run it resumes", stacklevel=3)
    if saved is not None:
      diff = _differences(saved, config)
      if diff:
        raise ValueError(f"resuming {workdir} with a config that differs from its "
                         f"config.json in fields only {', '.join(SAFE_ON_RESUME)} may "
                         f"change: " + "; ".join(diff))
    train_ds, eval_ds = load_data(config)
    if config.batch_size > len(train_ds):
      raise ValueError(f"batch_size {config.batch_size} exceeds the {len(train_ds)} "
                       f"training samples")
    if has_average(config) and bn_batches(config) is not None and jax.process_count() > 1:
      raise ValueError("averaging with BatchNorm recalibration runs in one process; under "
                       "jax.distributed set averaging's bn_batches to None (the raw model's "
                       "statistics) or evaluate the averaged model afterwards "
                       "(load_run_model(..., averaged=True))")
    if config.batch_size % jax.device_count():
      raise ValueError(f"batch_size must be a multiple of the device count "
                       f"{jax.device_count()}, got {config.batch_size}")
    epoch_steps = steps_per_epoch(config, train_ds)
    mean, std = train_ds.channel_stats()
    model = build_run_model(config, train_ds)
    _check_loss_labels(config, train_ds, eval_ds)
    train_def, eval_def, params, rest = stepslib.split_model(model)
    mesh = stepslib.data_mesh()
    template_config = config if saved is None else dataclasses.replace(
        config, learning_rate=saved.learning_rate, momentum=saved.momentum)
    # copied: an optimizer may start from the parameters themselves (schedule-free's z),
    # and the train step donates params and opt_state, which must not share a buffer
    opt_state = jax.tree.map(jnp.copy, make_optimizer(template_config, epoch_steps).init(params))
    state = stepslib.replicate(mesh, stepslib.TrainState(
        step=np.int32(0), params=params, model_state=rest, opt_state=opt_state))
    last_saved, state = (checkpoints.restore_newest(state, move_damaged=lead)
                         if resume else (None, state))
    if jax.process_count() > 1:  # process 0 may have moved damaged checkpoints aside
      from jax.experimental import multihost_utils

      multihost_utils.sync_global_devices("lrsched: checkpoints restored")
      checkpoints.reload()
    if resume and last_saved is None:
      _restart_warning(workdir, saved or config)
    budget_change = None
    if saved is not None:
      config, budget_change = _stretched(config, saved, last_saved or 0, epoch_steps)
    if last_saved is None:
      state = _fresh_start(config, model, state, mesh, lead)
    return _run_epochs(config, workdir, checkpoints, state, last_saved, budget_change,
                       train_ds, eval_ds, (mean, std), (train_def, eval_def), mesh,
                       epoch_steps, extra)
  finally:
    checkpoints.close()


def _check_loss_labels(config: Config, train_ds, eval_ds) -> None:
  """Refuses labels outside the model's outputs (``Config.loss``) before any work."""
  num_classes = config.model.get("num_classes", train_ds.num_classes)
  for name, dataset in (("the training set", train_ds), (f"the {config.eval_split!r} set",
                                                          eval_ds)):
    check_labels(config.loss, dataset.labels, num_classes, where=name)


def _restart_warning(workdir: pathlib.Path, config: Config) -> None:
  """Resuming without a checkpoint: refuse to discard a finished run, warn for a partial one.

  ``config`` is the run's own (its ``config.json`` where there is one): finished means
  finished with the budget it was trained for.
  """
  recorded = read_history(workdir / "metrics.jsonl", 10**9)
  if not recorded:
    return
  finished = (len(recorded) >= config.epochs
              or recorded[-1].get("autodecay_action") == "stop")
  if finished:
    raise ValueError(f"{workdir} holds a finished run without checkpoints ({len(recorded)} "
                     f"epochs in metrics.jsonl): there is nothing to resume, and restarting "
                     f"would discard it; read it with lrsched.train.sweep.finished_history or "
                     f"choose a new workdir")
  warnings.warn(f"{workdir} holds no checkpoint: restarting at epoch 1 discards the "
                f"{len(recorded)} epoch(s) recorded in metrics.jsonl", stacklevel=3)


def _fresh_start(config: Config, model: nnx.Module, state: stepslib.TrainState, mesh,
                 lead: bool) -> stepslib.TrainState:
  """The initial state: ``init_from`` weights and the ``exp_lr`` momentum buffer."""
  if config.init_from is not None:
    _, source, source_epoch = load_run_model(config.init_from["run"],
                                             config.init_from.get("epoch"))
    fresh = copy_matching_weights(source, model, config.init_from.get("skip", ()))
    _, _, params, rest = stepslib.split_model(model)
    state = stepslib.replicate(mesh, state.replace(params=params, model_state=rest))
    if lead:
      write(f"initialized from {config.init_from['run']} (epoch {source_epoch}); "
            f"kept fresh: {', '.join(fresh) or 'nothing'}")
  if config.momentum_init == "exp_lr":
    lr = config.learning_rate
    state = state.replace(opt_state=stepslib.replicate(mesh, with_momentum_buffer(
        state.opt_state, exp_lr_momentum_init(state.params, lr["init_value"],
                                               lr["weight_decay"], lr["momentum"]))))
  return state


def _run_epochs(config, workdir, checkpoints, state, last_saved, budget_change, train_ds,
                eval_ds, stats, defs, mesh, epoch_steps, extra=()) -> RunResult:
  """The epochs: steps and evaluation here, everything else in the callbacks."""
  start_epoch = 1 if last_saved is None else last_saved + 1
  run = Run(config, workdir, mesh, train_ds, eval_ds, epoch_steps, start_epoch,
            jax.process_index() == 0, read_history(workdir / "metrics.jsonl", start_epoch - 1),
            last_saved)
  steps = _make_steps(config, defs, stats, mesh, epoch_steps, train_ds)
  keeper = tracker = None
  if config.snapshots:
    keeper = SnapshotKeeper(config.learning_rate, config.epochs * epoch_steps, epoch_steps,
                            workdir / "snapshots", state, steps["predict"])
  if config.sharpness_every:
    tracker = SharpnessTracker(config.sharpness_every, defs[0], train_ds,
                               config.sharpness_batch_size or config.batch_size, *stats,
                               workdir / "sharpness.jsonl", start_step=int(state.step),
                               loss=config.loss, k=config.sharpness_k,
                               directional=config.sharpness_directional)
  callbacks = default_callbacks(run, checkpoints, budget_change, keeper=keeper,
                                tracker=tracker, extra=extra)
  if run.lead:
    _announce(run, budget_change)
  try:
    for callback in callbacks:
      state = callback.on_train_start(run, state)
    for epoch in range(start_epoch, config.epochs + 1):
      if run.stop:
        break
      run.epoch_started = time.perf_counter()
      state, record = _train_epoch(run, steps, state, epoch, callbacks)
      record.update({f"{config.eval_split}_{k}": v for k, v in evaluate(
          steps["eval"], state, eval_ds, config.batch_size, mesh).items()})
      if config.eval_train:
        record.update({f"train_eval_{k}": v for k, v in evaluate(
            steps["eval"], state, train_ds, config.batch_size, mesh).items()})
      if has_average(config):
        averaged = averaged_state(config, state, defs[0], train_ds, stats)
        record.update({f"avg_{config.eval_split}_{k}": v for k, v in evaluate(
            steps["eval"], averaged, eval_ds, config.batch_size, mesh).items()})
      _check_epoch_finite(record, int(state.step) - 1, epoch, run.last_saved)
      for callback in callbacks:
        state = callback.after_epoch(run, record, state)
  finally:
    for callback in reversed(callbacks):
      callback.on_train_end(run, state)
    if tracker is not None and run.lead:  # also after a divergence: the log up to it
      tracker.write(final=True)
  model = nnx.merge(defs[1], state.params, state.model_state)
  return RunResult(workdir, run.history, state, model,
                   keeper.models(defs[1]) if keeper else [])


def _make_steps(config: Config, defs, stats, mesh, epoch_steps: int, train_ds) -> dict:
  """The jitted steps: ``train`` (or ``accumulate``/``apply`` for GD), ``eval``, ``predict``."""
  (train_def, eval_def), (mean, std) = defs, stats
  tx = make_optimizer(config, epoch_steps)
  key = jax.random.key(config.seed)
  num_kinds = len(datalib.KIND_NAMES) if train_ds.kinds is not None else 0
  steps = {"eval": stepslib.make_eval_step(eval_def, mean, std, num_kinds, mesh, config.loss),
           "predict": stepslib.make_predict_step(eval_def, mean, std, mesh)
           if config.snapshots else None}
  if config.full_batch:
    steps["accumulate"], steps["apply"] = stepslib.make_full_batch_steps(
        train_def, tx, mean, std, config.augment, key, mesh, config.loss)
  else:
    steps["train"] = stepslib.make_train_step(train_def, tx, mean, std, config.augment, key,
                                              mesh, config.loss)
  return steps


def _announce(run: Run, budget_change: dict | None) -> None:
  """Writes ``config.json`` (the config in force) and reports a budget change."""
  write_atomic(run.workdir / "config.json", json.dumps(run.config.to_dict(), indent=2) + "\n")
  if budget_change is not None:
    write(f"{run.workdir.name}: epochs {budget_change['old_epochs']} -> "
          f"{budget_change['new_epochs']} from epoch {budget_change['from_epoch']}; "
          + _budget_change_effect(run.config, budget_change, run.epoch_steps))


def _budget_change_effect(config: Config, change: dict, epoch_steps: int) -> str:
  """What a budget change did to the schedules, as :func:`_announce` says it.

  A stretch names the stretched schedules. A run that had finished its old budget has
  nothing to stretch: each schedule goes on past its end, and the message gives its
  value at the old and the new last step (``holds 0.001`` where they agree).
  """
  old, new, done = change["old_epochs"], change["new_epochs"], change["from_epoch"]
  if done == new:
    return f"nothing left to train (the run has trained {done} epochs)"
  if done < old:
    return f"stretched: {', '.join(change['stretched']) or 'nothing (no schedule)'}"
  effects = []
  for key in ("learning_rate", "momentum"):
    spec = getattr(config, key)
    if not isinstance(spec, dict):
      continue
    schedule = from_spec(spec, epoch_steps)
    at_end, at_new_end = (float(schedule(epochs * epoch_steps - 1)) for epochs in (old, new))
    effects.append(f"{key} continues past its end (" + (
        f"holds {at_end:.4g}" if np.isclose(at_end, at_new_end, rtol=1e-6, atol=0.0)
        else f"{at_end:.4g} at epoch {old}, {at_new_end:.4g} at epoch {new}") + ")")
  return (f"the run had finished its {old} epochs: "
          + ("; ".join(effects) or f"no schedule (constant learning_rate {config.learning_rate})"))


def _train_epoch(run: Run, steps: dict, state: stepslib.TrainState, epoch: int,
                 callbacks: list[Callback]) -> tuple[stepslib.TrainState, dict[str, Any]]:
  """One epoch of steps; returns the state and the record's training metrics."""
  config, mesh = run.config, run.mesh
  batches = datalib.iterate_batches(
      run.train_ds, config.batch_size, seed=config.seed, epoch=epoch,
      shuffle=not config.full_batch, drop_remainder=not config.full_batch,
      process_index=jax.process_index(), process_count=jax.process_count())
  # Double buffering: the next batch is indexed and sent to the devices while a step runs.
  with contextlib.closing(datalib.prefetch(
      batches, functools.partial(stepslib.shard_batch, mesh))) as batches:
    epoch_steps = _gd_epoch if config.full_batch else _sgd_epoch
    state, loss_sum, correct, seen = epoch_steps(run, steps, state, batches, epoch, callbacks)
  return state, {"epoch": epoch, "step": int(state.step), "train_loss": loss_sum / seen,
                 "train_accuracy": correct / seen, **hyperparams(state),
                 "weight_norm": stepslib.global_norm(state.params)}


def _gd_epoch(run: Run, steps: dict, state: stepslib.TrainState, chunks, epoch: int,
              callbacks: list[Callback]) -> tuple[stepslib.TrainState, float, int, float]:
  """Gradient descent: one step on the gradient accumulated over all chunks; returns the
  state, the summed loss, the correct count and the examples seen."""
  first_step = int(state.step)
  totals = stepslib.zero_totals(state.params, run.mesh)
  for chunk in chunks:
    state, totals = steps["accumulate"](state, chunk, totals)
  loss_sum, correct, seen = float(totals["loss"]), int(totals["correct"]), float(totals["count"])
  # Checked before the step is applied: callbacks (the sharpness tracker) never see it.
  _check_finite({"loss": loss_sum / seen, "grad_norm": optax.tree.norm(totals["grads"])},
                first_step, epoch, run.last_saved)
  state = steps["apply"](state, totals)
  for callback in callbacks:
    callback.after_step(run, int(state.step), state)
  return state, loss_sum, correct, seen


def _sgd_epoch(run: Run, steps: dict, state: stepslib.TrainState, batches, epoch: int,
               callbacks: list[Callback]) -> tuple[stepslib.TrainState, float, int, float]:
  """One SGD step per batch, each step's metrics read while the next runs; returns the
  state, the summed loss, the correct count and the examples seen."""
  loss_sum, correct, pending = 0.0, 0, None
  for batch in batches:
    global_step = int(state.step) if pending is None else pending[0] + 1
    state, metrics = steps["train"](state, batch)
    for callback in callbacks:
      callback.after_step(run, global_step + 1, state)
    if pending is not None:  # read the previous step's loss while this one runs
      loss_sum += _check_finite(pending[1], pending[0], epoch, run.last_saved)
      correct += int(pending[1]["correct"])
    pending = (global_step, metrics)
  loss_sum += _check_finite(pending[1], pending[0], epoch, run.last_saved)
  correct += int(pending[1]["correct"])
  batch_size = run.config.batch_size
  return state, loss_sum * batch_size, correct, run.epoch_steps * batch_size


def _check_epoch_finite(record: dict, step: int, epoch: int,
                        checkpoint_epoch: int | None) -> None:
  """Raises if an epoch's evaluation losses or weights are not finite (before its checkpoint)."""
  for key, value in record.items():
    if (key.endswith("_loss") or key == "weight_norm") and not math.isfinite(value):
      what = ("the weights are not finite (weight norm " if key == "weight_norm"
              else f"{key} is not finite (") + f"{value}) after the epoch"
      raise NonFiniteLossError(step, epoch, what, checkpoint_epoch)


def _check_finite(metrics: dict, step: int, epoch: int, checkpoint_epoch: int | None) -> float:
  """Returns the step's loss; raises if the loss or the gradient norm is not finite."""
  loss, grad_norm = float(metrics["loss"]), float(metrics["grad_norm"])
  if not math.isfinite(loss):
    raise NonFiniteLossError(step, epoch, f"training loss is {loss}", checkpoint_epoch)
  if loss > DIVERGENCE_LOSS:
    raise NonFiniteLossError(step, epoch, f"training loss {loss:.4g} exceeds "
                             f"{DIVERGENCE_LOSS:g} (diverged; treated as not finite)",
                             checkpoint_epoch)
  if not math.isfinite(grad_norm):
    raise NonFiniteLossError(step, epoch, f"gradient norm is {grad_norm} (loss {loss:.4g})",
                             checkpoint_epoch)
  return loss
