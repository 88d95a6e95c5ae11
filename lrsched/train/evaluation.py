"""Evaluation over a whole dataset: loss and accuracy (per kind), class probabilities.

Every sample is seen exactly once: the last, short batch is padded to a multiple of
the device count and the padding rows carry weight 0. In a multi-process run each
process feeds its rows of every global batch; the results are global.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np

from lrsched import data as datalib
from lrsched.train import steps as stepslib


def _eval_batches(dataset: datalib.ArrayDataset, batch_size: int) -> Iterator[dict]:
  """Global eval batches padded to a multiple of the device count; this process's rows."""
  devices, processes = jax.device_count(), jax.process_count()
  for batch in datalib.iterate_batches(dataset, batch_size, shuffle=False, drop_remainder=False):
    n = len(batch["label"])
    padded = -(-n // devices) * devices
    batch = {k: np.concatenate([v, np.zeros((padded - n, *v.shape[1:]), v.dtype)])
             for k, v in batch.items()}
    batch["weight"] = (np.arange(padded) < n).astype(np.float32)
    rows = padded // processes
    start = jax.process_index() * rows
    yield {k: v[start:start + rows] for k, v in batch.items()}


def predict(predict_step, params, model_state, dataset: datalib.ArrayDataset,
            batch_size: int, mesh) -> np.ndarray:
  """Class probabilities for every sample of ``dataset``, in order (padding rows last)."""
  return np.concatenate([
      np.asarray(predict_step(params, model_state, stepslib.shard_batch(mesh, batch)))
      for batch in _eval_batches(dataset, batch_size)])


def ensemble_metrics(predict_step, snapshots: list, dataset: datalib.ArrayDataset,
                     batch_size: int, mesh) -> dict[str, float]:
  """Accuracy of the softmax-averaged ensemble of ``snapshots`` and of the last one."""
  total = last = None
  for params, model_state in snapshots:
    last = predict(predict_step, params, model_state, dataset, batch_size, mesh)
    total = last if total is None else total + last
  labels = dataset.labels
  ensemble = total[:len(labels)]  # drop evaluation padding
  return {"ensemble_accuracy": float(np.mean(np.argmax(ensemble, -1) == labels)),
          "snapshot_accuracy": float(np.mean(np.argmax(last[:len(labels)], -1) == labels))}


def evaluate(eval_step, state: stepslib.TrainState, dataset: datalib.ArrayDataset,
             batch_size: int, mesh) -> dict[str, float]:
  """Loss and accuracy over a whole dataset (and per kind when it has kinds)."""
  totals: dict[str, np.ndarray] = {}
  for batch in _eval_batches(dataset, batch_size):
    sums = eval_step(state.params, state.model_state, stepslib.shard_batch(mesh, batch))
    for key, value in sums.items():
      totals[key] = totals.get(key, 0) + np.asarray(value, np.float64)
  result = {"loss": float(totals["loss"] / totals["count"]),
            "accuracy": float(totals["correct"] / totals["count"])}
  if dataset.kinds is not None:
    for index, name in enumerate(datalib.KIND_NAMES):
      count = totals["kind_count"][index]
      if count:
        result[f"accuracy_{name}"] = float(totals["kind_correct"][index] / count)
  return result
