"""The averaged model of a run with ``Config.averaging``: the averaged weights with BatchNorm
statistics recalibrated on the training set (the per-epoch ``avg_*`` metrics,
``load_run_model(..., averaged=True)`` and ``lrsched hessian --averaged``)."""

from __future__ import annotations

import numpy as np
from flax import nnx

from lrsched import data as datalib
from lrsched.averaging import averaged_params, recalibrate_batchnorm
from lrsched.data import normalize
from lrsched.train import steps as stepslib
from lrsched.train.config import Config
from lrsched.train.specs import SCHEDULE_FREE

DEFAULT_BN_BATCHES = 50
"""Training batches that recalibrate BatchNorm when ``averaging`` does not say
(``torch.optim.swa_utils.update_bn`` passes over the whole loader; 50 batches of 128 are
6400 images, more than enough for the statistics of a CIFAR-size network)."""


def has_average(config: Config) -> bool:
  """Whether a run keeps an averaged model: ``averaging`` set or a schedule-free optimizer."""
  return config.averaging is not None or config.optimizer in SCHEDULE_FREE


def bn_batches(config: Config) -> int | None:
  """How many training batches recalibrate the averaged model (None: no recalibration)."""
  return (config.averaging or {}).get("bn_batches", DEFAULT_BN_BATCHES)


def averaged_state(config: Config, state: stepslib.TrainState, train_def: nnx.GraphDef,
                   train_ds: datalib.ArrayDataset,
                   stats: tuple[np.ndarray, np.ndarray]) -> stepslib.TrainState:
  """``state`` with the averaged parameters and, unless ``bn_batches`` is None, BatchNorm
  statistics recalibrated on the first ``bn_batches`` training batches (in order,
  normalized, not augmented) at those parameters.

  Raises:
    ValueError: the config has no average (:func:`has_average`), or a recalibration batch gives
      non-finite statistics (named).
  """
  if not has_average(config):
    raise ValueError("this run has no weight averaging (Config.averaging is None and the "
                     "optimizer is not schedule-free)")
  params = averaged_params(state.opt_state, state.params)
  count = bn_batches(config)
  if count is None:
    return state.replace(params=params)
  model = nnx.merge(train_def, params, state.model_state, copy=True)
  mean, std = stats
  images = (normalize(batch["image"], mean, std) for batch in datalib.iterate_batches(
      train_ds, config.batch_size, shuffle=False, drop_remainder=False))
  recalibrate_batchnorm(model, images, num_batches=count)
  _, params, rest = nnx.split(model, nnx.Param, ...)
  return state.replace(params=params, model_state=rest)
