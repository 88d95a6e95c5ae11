"""A run's data and model: the datasets of a config, its model, a run directory's model.

Shared by the training loop, snapshot ensembles, the range test and ``lrsched hessian``.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lrsched import data as datalib
from lrsched.models import build_model
from lrsched.train import steps as stepslib
from lrsched.train.averaged import averaged_state, has_average
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config
from lrsched.train.optimizer import make_optimizer
from lrsched.train.rundir import read_json


def load_data(config: Config) -> tuple[datalib.ArrayDataset, datalib.ArrayDataset]:
  """The training and evaluation datasets of ``config``."""
  kwargs = dict(config.data)
  name = kwargs.pop("name")
  train = datalib.load_dataset(name, "train", **kwargs)
  if config.train_subset:
    train = train.subset(config.train_subset)
  evaluation = datalib.load_dataset(name, config.eval_split, **kwargs)
  if evaluation.images.shape[-1] != train.images.shape[-1]:
    raise ValueError(f"the training images ({train.name}) have {train.images.shape[-1]} "
                     f"channel(s) but the {config.eval_split!r} images ({evaluation.name}) "
                     f"have {evaluation.images.shape[-1]}")
  if evaluation.num_classes != train.num_classes:
    raise ValueError(f"the training set ({train.name}) has {train.num_classes} classes but "
                     f"the {config.eval_split!r} set ({evaluation.name}) has "
                     f"{evaluation.num_classes}")
  return train, evaluation


def build_run_model(config: Config, train: datalib.ArrayDataset) -> nnx.Module:
  """The model of ``config``, with ``num_classes``/``in_channels`` taken from the data."""
  kwargs = dict(config.model)
  name = kwargs.pop("name")
  kwargs.setdefault("num_classes", train.num_classes)
  kwargs.setdefault("in_channels", train.images.shape[-1])
  if config.compute_dtype != "float32":
    kwargs["dtype"] = config.compute_dtype
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
  values = read_json(config_path)
  if not isinstance(values, dict):
    raise ValueError(f"{config_path} is damaged: it holds {type(values).__name__}, not a config")
  try:  # fields added to Config since the run was saved take their defaults
    return Config(**values)
  except (TypeError, ValueError) as error:
    raise ValueError(f"{config_path} is not a valid config of this lrsched version: "
                     f"{error}") from None


def load_run_model(run_dir: str | pathlib.Path, epoch: int | None = None, *,
                   train_data: datalib.ArrayDataset | None = None, averaged: bool = False
                   ) -> tuple[Config, nnx.Module, int]:
  """The model of a run directory at one of its checkpoints, in eval mode.

  Args:
    run_dir: a directory written by :func:`train` (``config.json`` and ``checkpoints/``).
    epoch: the checkpoint's epoch (default: the newest).
    train_data: the run's training set, when already loaded (it sets the model's
      ``num_classes``/``in_channels``); loaded from the run's config otherwise.
    averaged: the averaged model of a run with ``Config.averaging`` (its weights from
      the optimizer state, BatchNorm recalibrated on the training set as the run's
      per-epoch ``avg_*`` evaluation does) instead of the raw one.

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
    if not saved:
      raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint (the run saves none "
                       f"with checkpoint_every=0)")
    if averaged and not has_average(config):
      raise ValueError(f"averaged=True: the run {run_dir} has no weight averaging "
                       f"(its config's averaging is None)")
    if epoch is not None and epoch not in saved:
      raise ValueError(f"{run_dir / 'checkpoints'} holds no checkpoint of epoch {epoch}; "
                       f"it holds epochs {saved}")
    train_def, eval_def, params, rest = stepslib.split_model(model)
    tx = make_optimizer(config, steps_per_epoch(config, train_data))
    template = stepslib.replicate(stepslib.data_mesh(), stepslib.TrainState(
        step=np.int32(0), params=params, model_state=rest, opt_state=tx.init(params)))
    if epoch is None:  # the newest intact one (damaged ones are skipped with a warning)
      epoch, state = checkpoints.restore_newest(template)
    else:
      state = checkpoints.restore(epoch, template)
  finally:
    checkpoints.close()
  if averaged:
    state = averaged_state(config, state, train_def, train_data, train_data.channel_stats())
  return config, nnx.merge(eval_def, state.params, state.model_state), epoch
