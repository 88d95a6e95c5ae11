"""Jitted train and eval steps, data-parallel over every device of every host.

The model lives as a pure state (``nnx.split``): trained ``nnx.Param`` s, the
rest (BatchNorm statistics, fixed weights, dropout RNG) and the optimizer state,
all replicated. A batch is sharded along its first axis over a 1-D mesh
``("data",)`` of all devices; under ``jax.jit`` XLA inserts the collectives, so
BatchNorm statistics and the mean loss are over the *global* batch, exactly as on
one device. The train step donates the state's buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from lrsched.data import augment as augment_images
from lrsched.data import normalize
from lrsched.losses import per_example_loss

Batch = Mapping[str, jax.Array]


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training (a pytree)."""

  step: jax.Array
  params: nnx.State
  model_state: nnx.State
  opt_state: optax.OptState


def split_model(model: nnx.Module) -> tuple[nnx.GraphDef, nnx.GraphDef, nnx.State, nnx.State]:
  """Returns (train graphdef, eval graphdef, params, rest of the state)."""
  model.train()
  train_def, params, rest = nnx.split(model, nnx.Param, ...)
  model.eval()
  eval_def = nnx.graphdef(model)
  model.train()
  return train_def, eval_def, params, rest


def data_mesh() -> jax.sharding.Mesh:
  """A 1-D mesh named ``"data"`` over all devices of all processes.

  Axis type ``Auto``: XLA's sharding propagation places the collectives (the
  batch-statistics and gradient all-reduces), as for any GSPMD data parallelism.
  """
  return jax.make_mesh((jax.device_count(),), ("data",),
                       axis_types=(jax.sharding.AxisType.Auto,))


def describe_devices(mesh: jax.sharding.Mesh | None = None) -> str:
  """The backend, the devices and the data mesh the steps shard batches over (for a log).

  Example:
    >>> describe_devices().startswith("jax ")
    True
  """
  mesh = data_mesh() if mesh is None else mesh
  devices = jax.devices()
  kinds = sorted({d.device_kind for d in devices})
  return (f"jax {jax.__version__}, backend {jax.default_backend()}: {len(devices)} "
          f"device(s) ({', '.join(kinds)}) in {jax.process_count()} process(es); data mesh "
          f"{dict(mesh.shape)}: each batch is split into {mesh.size} shard(s)")


def shard_batch(mesh: jax.sharding.Mesh, local_batch: Mapping[str, np.ndarray]) -> dict:
  """Assembles the global batch from this process's rows, sharded over ``"data"``.

  A batch whose size the devices do not divide (gradient descent's last, shorter chunk)
  is copied whole to every device in a single process (each device then computes the
  same chunk: the result is the same); with several processes it is an error.
  """
  size = len(next(iter(local_batch.values()))) * jax.process_count()
  if size % mesh.size:
    if jax.process_count() > 1:
      raise ValueError(f"a batch of {size} examples cannot be split over the {mesh.size} "
                       f"devices of {jax.process_count()} processes; use a dataset size "
                       f"and batch_size that the device count divides")
    return replicate(mesh, {k: np.asarray(v) for k, v in local_batch.items()})
  sharding = NamedSharding(mesh, P("data"))
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in local_batch.items()}


def replicate(mesh: jax.sharding.Mesh, tree: Any) -> Any:
  """Places a pytree replicated on every device of the mesh."""
  return jax.device_put(tree, NamedSharding(mesh, P()))


def _loss_and_logits(graphdef, params, model_state, images, labels, weights=None,
                     loss_fn=None):
  loss_fn = per_example_loss() if loss_fn is None else loss_fn
  model = nnx.merge(graphdef, params, model_state, copy=True)
  logits = model(images)
  logits = logits.astype(jnp.promote_types(logits.dtype, jnp.float32))  # float64 stays
  losses = loss_fn(logits, labels)
  if weights is None:
    loss = jnp.mean(losses)
  else:
    loss = jnp.sum(losses * weights) / jnp.maximum(jnp.sum(weights), 1.0)
  return loss, (logits, nnx.state(model, nnx.Not(nnx.Param)), losses)


def _prepare(batch: Batch, step: jax.Array, key: jax.Array, mean, std, augment: bool):
  images = normalize(batch["image"], mean, std)
  if augment:
    images = augment_images(jax.random.fold_in(key, step), images)
  return images


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation, mean: np.ndarray,
                    std: np.ndarray, augment: bool, key: jax.Array,
                    mesh: jax.sharding.Mesh, loss: str = "cross_entropy"
                    ) -> Callable[[TrainState, Batch], tuple]:
  """Returns ``step(state, batch) -> (state, metrics)``, jitted with ``state`` donated.

  ``loss`` names the per-example loss (:data:`lrsched.losses.LOSSES`); the step descends
  its batch mean.

  ``metrics`` holds the batch's mean ``loss``, number of ``correct`` predictions and
  the gradient's global ``grad_norm`` (a NaN can reach the gradient while the loss
  still looks finite, so the loop checks both).
  Augmentation (when on) uses ``fold_in(key, state.step)``, so a resumed run sees
  the same crops and flips.
  """

  loss_fn = per_example_loss(loss)

  def step(state: TrainState, batch: Batch):
    images = _prepare(batch, state.step, key, mean, std, augment)
    grad_fn = jax.value_and_grad(_loss_and_logits, argnums=1, has_aux=True)
    (loss, (logits, model_state, _)), grads = grad_fn(
        graphdef, state.params, state.model_state, images, batch["label"], loss_fn=loss_fn)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    correct = jnp.sum(jnp.argmax(logits, -1) == batch["label"])
    new_state = TrainState(state.step + 1, params, model_state, opt_state)
    return new_state, {"loss": loss, "correct": correct, "grad_norm": optax.tree.norm(grads)}

  replicated = NamedSharding(mesh, P())
  return jax.jit(step, donate_argnums=0, out_shardings=(replicated, replicated))


def make_full_batch_steps(graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
                          mean: np.ndarray, std: np.ndarray, augment: bool, key: jax.Array,
                          mesh: jax.sharding.Mesh, loss: str = "cross_entropy"):
  """Gradient descent over the whole training set, accumulated chunk by chunk.

  Returns ``(accumulate, apply)``: ``accumulate(state, chunk, totals) -> (state,
  totals)`` adds the chunk's summed gradient, loss and correct count (and moves
  BatchNorm statistics along); ``apply(state, totals) -> state`` takes one step
  with the size-weighted mean gradient. ``totals`` starts as :func:`zero_totals`.
  ``loss`` names the per-example loss: the step descends its mean over the training set
  (``sum_chunks n_c * mean_c / sum n_c``).
  """
  loss_fn = per_example_loss(loss)

  def accumulate(state: TrainState, chunk: Batch, totals: dict):
    images = _prepare(chunk, state.step, key, mean, std, augment)
    n = chunk["label"].shape[0]
    grad_fn = jax.value_and_grad(_loss_and_logits, argnums=1, has_aux=True)
    (loss, (logits, model_state, _)), grads = grad_fn(
        graphdef, state.params, state.model_state, images, chunk["label"], loss_fn=loss_fn)
    totals = {
        "grads": jax.tree.map(lambda t, g: t + n * g, totals["grads"], grads),
        "loss": totals["loss"] + n * loss,
        "correct": totals["correct"] + jnp.sum(jnp.argmax(logits, -1) == chunk["label"]),
        "count": totals["count"] + n,
    }
    return state.replace(model_state=model_state), totals

  def apply(state: TrainState, totals: dict):
    grads = jax.tree.map(lambda g: g / totals["count"], totals["grads"])
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return TrainState(state.step + 1, params, state.model_state, opt_state)

  replicated = NamedSharding(mesh, P())
  return (jax.jit(accumulate, donate_argnums=(0, 2), out_shardings=(replicated, replicated)),
          jax.jit(apply, donate_argnums=0, out_shardings=replicated))


def zero_totals(params: nnx.State, mesh: jax.sharding.Mesh) -> dict:
  """Zero accumulators for :func:`make_full_batch_steps`."""
  zeros = {"grads": jax.tree.map(jnp.zeros_like, params), "loss": jnp.zeros((), jnp.float32),
           "correct": jnp.zeros((), jnp.int32), "count": jnp.zeros((), jnp.float32)}
  return replicate(mesh, zeros)


def make_eval_step(graphdef: nnx.GraphDef, mean: np.ndarray, std: np.ndarray,
                   num_kinds: int, mesh: jax.sharding.Mesh, loss: str = "cross_entropy"):
  """Returns ``eval(params, model_state, batch) -> sums`` in eval mode.

  ``batch`` carries a ``weight`` column (1 for real rows, 0 for padding) and
  optionally ``kind``; the sums are the loss, correct count and count, overall
  and per kind (arrays of length ``num_kinds``); the loss is the one named ``loss``.
  """
  loss_fn = per_example_loss(loss)

  def evaluate(params, model_state, batch):
    images = normalize(batch["image"], mean, std)
    weights = batch["weight"]
    _, (logits, _, losses) = _loss_and_logits(graphdef, params, model_state, images,
                                              batch["label"], weights, loss_fn)
    correct = (jnp.argmax(logits, -1) == batch["label"]) * weights
    sums = {"loss": jnp.sum(losses * weights), "correct": jnp.sum(correct),
            "count": jnp.sum(weights)}
    if num_kinds:
      onehot = jax.nn.one_hot(batch["kind"], num_kinds) * weights[:, None]
      sums["kind_correct"] = correct @ onehot
      sums["kind_count"] = jnp.sum(onehot, 0)
    return sums

  replicated = NamedSharding(mesh, P())
  return jax.jit(evaluate, out_shardings=replicated)


def make_predict_step(graphdef: nnx.GraphDef, mean: np.ndarray, std: np.ndarray,
                      mesh: jax.sharding.Mesh):
  """Returns ``predict(params, model_state, batch) -> class probabilities`` (eval mode)."""

  def predict(params, model_state, batch):
    model = nnx.merge(graphdef, params, model_state, copy=True)
    logits = model(normalize(batch["image"], mean, std))
    return jax.nn.softmax(logits.astype(jnp.promote_types(logits.dtype, jnp.float32)), axis=-1)

  return jax.jit(predict, out_shardings=NamedSharding(mesh, P()))


def global_norm(params: nnx.State) -> float:
  """The L2 norm of all trained parameters."""
  return float(optax.tree.norm(params))
