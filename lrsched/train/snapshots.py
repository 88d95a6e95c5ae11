"""Snapshot ensembles (Huang et al. 2017) over the cycles of ``sgdr`` and ``cyclic``.

With ``Config.snapshots=True`` the training loop keeps the model at the end of every
learning-rate cycle -- where the rate is at its minimum and the model sits in a
local minimum -- and evaluates the ensemble that averages the snapshots' softmax
outputs next to the last snapshot alone.

Where a cycle ends:

* ``sgdr(peak_value, first_period, period_mult, ..., cycle_limit)``: cycle ``i`` lasts
  ``first_period * period_mult**i`` steps (``period_mult`` may be a float); it ends when
  the step counter reaches ``ceil(first_period * (1 + m + ... + m**i))``, and there are
  at most ``cycle_limit`` cycles (:func:`lrsched.schedules.sgdr.cycle_ends`).
* ``cyclic(..., step_size_up, step_size_down)``: a cycle is one rise and one fall,
  ``step_size_up + step_size_down`` steps (``step_size_down`` defaults to
  ``step_size_up``); at its end the rate is back at ``init_value``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lrsched import data as datalib
from lrsched.schedules import resolve_spec
from lrsched.schedules.sgdr import cycle_ends as sgdr_cycle_ends
from lrsched.train import steps as stepslib
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.evaluation import ensemble_metrics
from lrsched.train.run_model import build_run_model, load_data, read_run_config

CYCLIC_SCHEDULES = ("sgdr", "cyclic")


def cycle_ends(spec: Mapping[str, Any], total_steps: int,
               steps_per_epoch: int | None = None) -> list[int]:
  """Step counts (``state.step`` after the update) at which a learning-rate cycle ends.

  Args:
    spec: an ``sgdr`` or ``cyclic`` schedule spec (see :func:`lrsched.from_spec`).
    total_steps: the run's number of steps; ends after it are dropped.
    steps_per_epoch: converts a spec in epochs.

  Returns:
    The increasing list of cycle ends ``<= total_steps``.

  Example:
    >>> cycle_ends({"name": "sgdr", "peak_value": 0.1, "first_period": 10,
    ...             "period_mult": 2}, 100)
    [10, 30, 70]
  """
  if not isinstance(spec, Mapping) or spec.get("name") not in CYCLIC_SCHEDULES:
    raise ValueError(f"snapshot ensembles need a cyclic learning rate, one of "
                     f"{CYCLIC_SCHEDULES} specs; got {spec!r}")
  name, kwargs = resolve_spec(spec, steps_per_epoch)
  ends: list[int] = []
  if name == "sgdr":
    ends = sgdr_cycle_ends(kwargs["first_period"], kwargs.get("period_mult", 1.0),
                           kwargs.get("cycle_limit"), total_steps)
  else:
    up = int(kwargs["step_size_up"])
    down = kwargs.get("step_size_down")
    length = up + (up if down is None else int(down))
    ends = list(range(length, total_steps + 1, length))
  return ends


@nnx.jit
def _probabilities(model: nnx.Module, images: jax.Array) -> jax.Array:
  return jax.nn.softmax(model(images).astype(jnp.float32), axis=-1)


def ensemble_predict(models: Sequence[nnx.Module], images: jax.Array,
                     batch_size: int = 256) -> np.ndarray:
  """Averages the softmax outputs of ``models`` (each called in its current mode).

  Args:
    models: the ensemble members, e.g. :attr:`RunResult.snapshot_models
      <lrsched.train.RunResult>`; put them in eval mode first (``model.eval()``).
    images: model inputs, already normalized.
    batch_size: images per forward pass.

  Returns:
    ``(N, num_classes)`` mean class probabilities (float32 numpy).
  """
  if not models:
    raise ValueError("models must hold at least one model")
  total = None
  for model in models:
    probs = np.concatenate([np.asarray(_probabilities(model, images[i:i + batch_size]))
                            for i in range(0, len(images), batch_size)])
    total = probs if total is None else total + probs
  return total / len(models)


def load_snapshot_models(run_dir: str | pathlib.Path) -> list[nnx.Module]:
  """The snapshots of a finished ``snapshots=True`` run, oldest first, in eval mode.

  Example (the ensemble of the last two snapshots)::

    models = load_snapshot_models("runs/sgdr")[-2:]
    probs = ensemble_predict(models, normalized_test_images)
  """
  run_dir = pathlib.Path(run_dir)
  config = read_run_config(run_dir)
  model = build_run_model(config, load_data(config)[0])
  model.eval()
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  store = Checkpoints(run_dir / "snapshots", keep=None)
  try:
    steps = store.all_epochs()
    if not steps:
      raise ValueError(f"{run_dir / 'snapshots'} holds no snapshot")
    return [nnx.merge(graphdef, *store.restore(step, (params, rest))) for step in steps]
  finally:
    store.close()


class SnapshotKeeper:
  """The training loop's side of snapshot ensembles: take, store, reload, evaluate.

  Snapshots are copies of ``(params, model_state)`` taken right after the update
  that ends a cycle, saved with orbax under ``directory`` (named by step), and
  reloaded on resume; snapshots past the resumed step (taken after the last
  checkpoint of an interrupted run) are deleted and taken again.
  """

  def __init__(self, spec: Mapping[str, Any], total_steps: int, steps_per_epoch: int,
               directory: str | pathlib.Path, state: stepslib.TrainState,
               predict_step) -> None:
    self.ends = set(cycle_ends(spec, total_steps, steps_per_epoch))
    if not self.ends:
      raise ValueError(f"snapshots=True, but no cycle of {spec!r} ends within the run's "
                       f"{total_steps} steps")
    self._predict_step = predict_step
    self._store = Checkpoints(directory, keep=None)
    self.snapshots: list[tuple[Any, Any]] = []
    self.fresh = False
    template = (state.params, state.model_state)
    for step in self._store.all_epochs():
      if step <= int(state.step):
        self.snapshots.append(self._store.restore(step, template))
      else:
        self._store.delete(step)

  def after_step(self, step: int, state: stepslib.TrainState) -> None:
    """Takes a snapshot if ``step`` (= ``state.step``, after the update) ends a cycle."""
    if step in self.ends:
      # Copies: the next train step donates (overwrites) the state's buffers.
      snapshot = jax.tree.map(jnp.copy, (state.params, state.model_state))
      self._store.save(step, snapshot)
      self.snapshots.append(snapshot)
      self.fresh = True

  def metrics(self, dataset: datalib.ArrayDataset, batch_size: int, mesh) -> dict[str, float]:
    """After a new snapshot: ensemble and last-snapshot accuracy, and the count; else {}."""
    if not self.fresh:
      return {}
    self.fresh = False
    return {**ensemble_metrics(self._predict_step, self.snapshots, dataset, batch_size, mesh),
            "num_snapshots": len(self.snapshots)}

  def models(self, graphdef: nnx.GraphDef) -> list[nnx.Module]:
    return [nnx.merge(graphdef, params, rest) for params, rest in self.snapshots]

  def close(self) -> None:
    self._store.close()
