"""The training loop: epochs of jitted steps, evaluation, metrics, checkpoints.

A run directory holds ``config.json``, ``metrics.jsonl`` (one JSON record per
epoch), ``curves.png`` (redrawn every 30 s and at the end) and ``checkpoints/``.
``train(config, workdir, resume=True)`` continues from the newest checkpoint and ends
with the same parameters as an uninterrupted run: the data order is a function of
``(seed, epoch)``, the augmentation key of the step, and dropout keys live in the
checkpointed state.

A non-finite training loss or gradient norm stops the run with :class:`NonFiniteLossError` naming
the step; no checkpoint is written after it, so the last good one stays.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm.auto import tqdm

from lrsched import data as datalib
from lrsched.autodecay import autodecay, decisions, last_record
from lrsched.models import build_model
from lrsched.plotting import plot_training_curves
from lrsched.schedules import exp_lr_momentum_init, with_momentum_buffer
from lrsched.train import steps as stepslib
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config
from lrsched.train.evaluation import evaluate
from lrsched.train.optimizer import make_optimizer
from lrsched.train.sharpness import SharpnessTracker
from lrsched.train.snapshots import SnapshotKeeper
from lrsched.train.transfer import copy_matching_weights

CURVES_EVERY_SECONDS = 30.0
"""``curves.png`` is redrawn at most this often during a run (drawing costs ~1 s), and at
the end."""


class NonFiniteLossError(FloatingPointError):
  """The training loss or gradient became NaN or infinite.

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
                     f"Lower the learning rate or check the data.")


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


def load_data(config: Config) -> tuple[datalib.ArrayDataset, datalib.ArrayDataset]:
  """The training and evaluation datasets of ``config``."""
  kwargs = dict(config.data)
  name = kwargs.pop("name")
  train = datalib.load_dataset(name, "train", **kwargs)
  if config.train_subset:
    train = train.subset(config.train_subset)
  return train, datalib.load_dataset(name, config.eval_split, **kwargs)


def build_run_model(config: Config, train: datalib.ArrayDataset) -> nnx.Module:
  """The model of ``config``, with ``num_classes``/``in_channels`` taken from the data."""
  kwargs = dict(config.model)
  name = kwargs.pop("name")
  kwargs.setdefault("num_classes", train.num_classes)
  kwargs.setdefault("in_channels", train.images.shape[-1])
  model = build_model(name, seed=config.seed, **kwargs)
  if config.param_dtype == "float64":
    if not jax.config.jax_enable_x64:
      raise ValueError("param_dtype='float64' needs jax.config.update('jax_enable_x64', True) "
                       "before training")
    state = nnx.state(model)
    nnx.update(model, jax.tree.map(
        lambda x: x.astype(np.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, state))
  return model


def steps_per_epoch(config: Config, train: datalib.ArrayDataset) -> int:
  """Optimizer steps per epoch: 1 for full-batch GD, else the full batches of ``train``."""
  return 1 if config.full_batch else max(len(train) // config.batch_size, 1)


def read_run_config(run_dir: str | pathlib.Path) -> Config:
  """The :class:`Config` a run directory was trained with (its ``config.json``)."""
  config_path = pathlib.Path(run_dir) / "config.json"
  if not config_path.is_file():
    raise ValueError(f"{run_dir} is not a run directory: {config_path} does not exist")
  try:  # fields added to Config since the run was saved take their defaults
    return Config(**json.loads(config_path.read_text()))
  except TypeError as error:
    raise ValueError(f"{config_path} is not a config of this lrsched version: {error}") from None


def load_run_model(run_dir: str | pathlib.Path, epoch: int | None = None, *,
                   train_data: datalib.ArrayDataset | None = None
                   ) -> tuple[Config, nnx.Module, int]:
  """The model of a run directory at one of its checkpoints, in eval mode.

  Args:
    run_dir: a directory written by :func:`train` (``config.json`` and ``checkpoints/``).
    epoch: the checkpoint's epoch (default: the newest).
    train_data: the run's training set, when already loaded (it sets the model's
      ``num_classes``/``in_channels``); loaded from the run's config otherwise.

  Returns:
    ``(config, model, epoch)``.
  """
  run_dir = pathlib.Path(run_dir)
  config = read_run_config(run_dir)
  if train_data is None:
    train_data, _ = load_data(config)
  model = build_run_model(config, train_data)
  checkpoints = Checkpoints(run_dir / "checkpoints")
  try:
    saved = checkpoints.all_epochs()
    epoch = checkpoints.latest_epoch() if epoch is None else epoch
    if not saved:
      raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint (the run saves none "
                       f"with checkpoint_every=0)")
    if epoch not in saved:
      raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint of epoch {epoch}; "
                       f"it holds epochs {saved}")
    _, eval_def, params, rest = stepslib.split_model(model)
    tx = make_optimizer(config, steps_per_epoch(config, train_data))
    template = stepslib.replicate(stepslib.data_mesh(), stepslib.TrainState(
        step=np.int32(0), params=params, model_state=rest, opt_state=tx.init(params)))
    state = checkpoints.restore(epoch, template)
  finally:
    checkpoints.close()
  return config, nnx.merge(eval_def, state.params, state.model_state), epoch


def _hyperparams(state: stepslib.TrainState) -> dict[str, float]:
  values = getattr(state.opt_state, "hyperparams", {})
  return {k: float(values[k]) for k in ("learning_rate", "momentum") if k in values}


def read_history(path: pathlib.Path, last_epoch: int) -> list[dict]:
  """The records of ``metrics.jsonl`` up to ``last_epoch`` (none if the file is absent)."""
  if not path.exists():
    return []
  records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
  return [r for r in records if r["epoch"] <= last_epoch]


def _write_history(path: pathlib.Path, history: list[dict]) -> None:
  tmp = path.with_suffix(".tmp")
  tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
  tmp.replace(path)


def train(config: Config, workdir: str | pathlib.Path, *, resume: bool = False) -> RunResult:
  """Trains the model of ``config``; writes metrics, curves and checkpoints to ``workdir``.

  Args:
    config: the run's :class:`~lrsched.train.Config`.
    workdir: the run directory (created).
    resume: continue from the newest checkpoint in ``workdir`` (a no-op when there is
      none). Without it, a ``workdir`` that already holds checkpoints is an error,
      so finished work is never overwritten.

  Returns:
    A :class:`RunResult`.

  Raises:
    NonFiniteLossError: a training loss was NaN or infinite.
    ValueError: an invalid config or a batch size that does not fit the data.
  """
  config.validate()
  workdir = pathlib.Path(workdir)
  lead = jax.process_index() == 0
  workdir.mkdir(parents=True, exist_ok=True)
  train_ds, eval_ds = load_data(config)
  if config.batch_size > len(train_ds):
    raise ValueError(f"batch_size {config.batch_size} exceeds the {len(train_ds)} "
                     f"training samples")
  if config.batch_size % jax.device_count():
    raise ValueError(f"batch_size must be a multiple of the device count "
                     f"{jax.device_count()}, got {config.batch_size}")
  epoch_steps = steps_per_epoch(config, train_ds)
  mean, std = train_ds.channel_stats()
  model = build_run_model(config, train_ds)
  checkpoints = Checkpoints(workdir / "checkpoints", keep=max(config.keep_checkpoints, 1))
  start_epoch, last_saved = 1, checkpoints.latest_epoch()
  if last_saved is not None and not resume:
    checkpoints.close()
    raise ValueError(f"{workdir} already holds checkpoints (epoch {last_saved}): pass "
                     f"resume=True (--resume) to continue, or choose a new workdir")
  if config.init_from is not None and last_saved is None:  # a resumed run has its own
    try:
      _, source, source_epoch = load_run_model(config.init_from["run"],
                                               config.init_from.get("epoch"))
      fresh = copy_matching_weights(source, model, config.init_from.get("skip", ()))
    except BaseException:
      checkpoints.close()
      raise
    if lead:
      tqdm.write(f"initialized from {config.init_from['run']} (epoch {source_epoch}); "
                 f"kept fresh: {', '.join(fresh) or 'nothing'}")
  train_def, eval_def, params, rest = stepslib.split_model(model)
  tx = make_optimizer(config, epoch_steps)
  mesh = stepslib.data_mesh()
  opt_state = tx.init(params)
  if config.momentum_init == "exp_lr":
    lr = config.learning_rate
    opt_state = with_momentum_buffer(opt_state, exp_lr_momentum_init(
        params, lr["init_value"], lr["weight_decay"], lr["momentum"]))
  state = stepslib.replicate(mesh, stepslib.TrainState(
      step=np.int32(0), params=params, model_state=rest, opt_state=opt_state))
  key = jax.random.key(config.seed)
  num_kinds = len(datalib.KIND_NAMES) if train_ds.kinds is not None else 0
  eval_step = stepslib.make_eval_step(eval_def, mean, std, num_kinds, mesh)
  if config.full_batch:
    accumulate, apply = stepslib.make_full_batch_steps(
        train_def, tx, mean, std, config.augment, key, mesh)
  else:
    train_step = stepslib.make_train_step(train_def, tx, mean, std, config.augment, key, mesh)

  metrics_path = workdir / "metrics.jsonl"
  if last_saved is not None:
    state = checkpoints.restore(last_saved, state)
    start_epoch = last_saved + 1
  history = read_history(metrics_path, start_epoch - 1)
  controller = ad_state = None
  if config.autodecay is not None:
    try:
      controller = autodecay(float(config.learning_rate), **config.autodecay)
    except TypeError as error:
      raise ValueError(f"autodecay: {error}") from None
    ad_state = controller.init()
    for past in history:  # resume: the state is a function of the logged epoch losses
      ad_state = controller.update(ad_state, past["train_loss"])
  tracker = None
  if config.sharpness_every:
    tracker = SharpnessTracker(config.sharpness_every, train_def, train_ds,
                               config.sharpness_batch_size or config.batch_size, mean, std,
                               workdir / "sharpness.jsonl", start_step=int(state.step))
  keeper = None
  if config.snapshots:
    keeper = SnapshotKeeper(config.learning_rate, config.epochs * epoch_steps,
                            epoch_steps, workdir / "snapshots", state,
                            stepslib.make_predict_step(eval_def, mean, std, mesh))
  if lead:
    (workdir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

  plotted = -math.inf  # curves.png: at the first epoch, then at most every CURVES_EVERY_SECONDS
  bar = tqdm(total=config.epochs * epoch_steps, initial=(start_epoch - 1) * epoch_steps,
             disable=not (config.progress and lead), unit="step", dynamic_ncols=True)
  try:
    for epoch in range(start_epoch, config.epochs + 1):
      if ad_state is not None and bool(ad_state.should_stop):
        break
      started = time.perf_counter()
      batches = datalib.iterate_batches(
          train_ds, config.batch_size, seed=config.seed, epoch=epoch,
          shuffle=not config.full_batch, drop_remainder=not config.full_batch,
          process_index=jax.process_index(), process_count=jax.process_count())
      if config.full_batch:
        first_step = int(state.step)
        totals = stepslib.zero_totals(state.params, mesh)
        for chunk in batches:
          state, totals = accumulate(state, stepslib.shard_batch(mesh, chunk), totals)
        state = apply(state, totals)
        if keeper:
          keeper.after_step(int(state.step), state)
        if tracker:
          tracker.after_step(int(state.step), state.params, state.model_state,
                             _hyperparams(state))
        loss_sum, correct, seen = (float(totals["loss"]), int(totals["correct"]),
                                   float(totals["count"]))
        _check_finite({"loss": loss_sum / seen, "grad_norm": optax.tree.norm(totals["grads"])},
                      first_step, epoch, last_saved)
        bar.update(1)
      else:
        loss_sum, correct, seen, pending = 0.0, 0, 0, None
        for batch in batches:
          global_step = int(state.step) if pending is None else pending[0] + 1
          state, metrics = train_step(state, stepslib.shard_batch(mesh, batch))
          if keeper:
            keeper.after_step(global_step + 1, state)
          if tracker:
            tracker.after_step(global_step + 1, state.params, state.model_state,
                               _hyperparams(state))
          if pending is not None:  # read the previous step's loss while this one runs
            loss_sum += _check_finite(pending[1], pending[0], epoch, last_saved)
            correct += int(pending[1]["correct"])
            bar.update(1)
          pending = (global_step, metrics)
        loss_sum += _check_finite(pending[1], pending[0], epoch, last_saved)
        correct += int(pending[1]["correct"])
        bar.update(1)
        loss_sum *= config.batch_size
        seen = epoch_steps * config.batch_size
      record = {"epoch": epoch, "step": int(state.step), "train_loss": loss_sum / seen,
                "train_accuracy": correct / seen, **_hyperparams(state),
                "weight_norm": stepslib.global_norm(state.params)}
      record.update({f"{config.eval_split}_{k}": v for k, v in
                     evaluate(eval_step, state, eval_ds, config.batch_size, mesh).items()})
      if config.eval_train:
        record.update({f"train_eval_{k}": v for k, v in
                       evaluate(eval_step, state, train_ds, config.batch_size, mesh).items()})
      if keeper:
        record.update({f"{config.eval_split}_{k}" if "accuracy" in k else k: v for k, v in
                       keeper.metrics(eval_ds, config.batch_size, mesh).items()})
      record["seconds"] = time.perf_counter() - started
      if controller is not None:
        # The record keeps the rate used during this epoch; a decay applies from the next.
        ad_state = controller.update(ad_state, record["train_loss"])
        info = last_record(ad_state)
        record.update({f"autodecay_{k}": v for k, v in info.items() if k != "epoch"})
        # A host copy: the train step donates opt_state, which must not delete the
        # controller's own learning-rate buffer (it did on one device without checkpoints).
        state = state.replace(opt_state=stepslib.replicate(mesh, optax.tree.set(
            state.opt_state, learning_rate=np.asarray(ad_state.learning_rate))))
        if lead:
          (workdir / "autodecay.json").write_text(
              json.dumps(decisions(ad_state), indent=2) + "\n")
          if info["action"] in ("decay", "stop"):
            tqdm.write(f"autodecay epoch {epoch}: {info['action']} (smoothed loss "
                       f"{info['smoothed_loss']:.4g}, range ratio {info['range_ratio']:.3g}, "
                       f"drop ratio {info['drop_ratio']:.3g}) -> lr {info['learning_rate']:.3g}")
      history.append(record)
      if tracker and lead:
        tracker.write()
      if lead:
        _write_history(metrics_path, history)
        if time.perf_counter() - plotted > CURVES_EVERY_SECONDS:
          plot_training_curves(history, workdir / "curves.png")
          plotted = time.perf_counter()
        bar.set_postfix(loss=f"{record['train_loss']:.3f}",
                        acc=f"{record[f'{config.eval_split}_accuracy']:.3f}")
      stop = ad_state is not None and bool(ad_state.should_stop)
      if (config.checkpoint_every and epoch % config.checkpoint_every == 0) or (
          (epoch == config.epochs or stop) and config.checkpoint_every):
        checkpoints.save(epoch, state)
        last_saved = epoch
      if stop:
        break
  finally:
    bar.close()
    checkpoints.close()
    if keeper:
      keeper.close()
    if lead and history:  # also after a NaN or an interruption: the curves up to there
      try:
        plot_training_curves(history, workdir / "curves.png")
      except Exception as error:  # never mask the run's own exception
        tqdm.write(f"could not draw {workdir / 'curves.png'}: {error!r}")
  model = nnx.merge(eval_def, state.params, state.model_state)
  return RunResult(workdir, history, state, model, keeper.models(eval_def) if keeper else [])


def _check_finite(metrics: dict, step: int, epoch: int, checkpoint_epoch: int | None) -> float:
  """Returns the step's loss; raises if the loss or the gradient norm is not finite."""
  loss, grad_norm = float(metrics["loss"]), float(metrics["grad_norm"])
  if not math.isfinite(loss):
    raise NonFiniteLossError(step, epoch, f"training loss is {loss}", checkpoint_epoch)
  if not math.isfinite(grad_norm):
    raise NonFiniteLossError(step, epoch, f"gradient norm is {grad_norm} (loss {loss:.4g})",
                             checkpoint_epoch)
  return loss
