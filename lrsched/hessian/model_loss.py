"""Flax NNX classifiers as ``loss_fn(params, batch)``, with an explicit BatchNorm mode.

A network with BatchNorm has two legitimate Hessians (``../shared/reference.md``
sec. 4): in **eval** mode BatchNorm normalizes with its running statistics and the
loss is a sum over examples; in **train** mode it normalizes with the statistics
of the batch, the loss SGD actually descends (and the per-batch loss depends on the
batching). :func:`model_loss` makes the choice explicit and records it as
``loss_fn.mode``, which every result of this package copies. In train mode the
running statistics are *not* updated (the loss is a pure function of the trained
parameters) and dropout stays off, so the loss is deterministic.

Mixed precision: a model built with a reduced compute dtype (``dtype="bfloat16"``,
:mod:`lrsched.models.precision`) is **upcast**: the loss computes in the parameters' own
dtype (float32). Its parameters and statistics are float32 already, so this is the exact
Hessian of the trained weights; in bfloat16 (8 bits of mantissa) the HVPs' round-off would
exceed the eigensolvers' residual tolerances (1e-3) by orders of magnitude.

The loss is a training run's (``Config.loss``, :mod:`lrsched.losses`): softmax
cross-entropy by default, or ``loss="mse"``, the square loss of the edge-of-stability
papers; ``loss_fn.loss`` records which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from lrsched.losses import mean_loss

MODES = ("eval", "train")


class ModelLoss:
  """The mean loss of an NNX classifier over a batch: ``loss_fn(params, batch)``.

  Built by :func:`model_loss`. ``batch`` is a mapping with ``"image"`` (passed
  through ``preprocess``) and integer ``"label"``. Hashed by identity, so jitted
  HVPs of the same ``ModelLoss`` compile once.

  Attributes:
    mode: ``"eval"`` or ``"train"`` (BatchNorm running vs batch statistics).
    loss: the loss's name (:data:`lrsched.losses.LOSSES`).
  """

  def __init__(self, graphdef: nnx.GraphDef, rest: nnx.State, mode: str,
               preprocess: Callable[[jax.Array], jax.Array] | None,
               loss: str = "cross_entropy"):
    self.graphdef = graphdef
    self.rest = rest
    self.mode = mode
    self.preprocess = preprocess
    self.loss = loss
    self._mean_loss = mean_loss(loss)

  def __call__(self, params: nnx.State, batch: Any) -> jax.Array:
    model = nnx.merge(self.graphdef, params, self.rest, copy=True)
    images = batch["image"]
    if self.preprocess is not None:
      images = self.preprocess(images)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    logits = model(jnp.asarray(images, dtype))
    return self._mean_loss(logits, batch["label"])

  def __repr__(self) -> str:
    return f"ModelLoss(mode={self.mode!r}, loss={self.loss!r})"


def model_loss(model: nnx.Module, mode: str = "eval", *,
               preprocess: Callable[[jax.Array], jax.Array] | None = None,
               dtype: Any = None, loss: str = "cross_entropy") -> tuple[ModelLoss, nnx.State]:
  """The loss of ``model`` as a function of its ``nnx.Param`` s, and those params.

  The model itself is not modified (a clone is configured).

  Args:
    model: an NNX classifier ``model(images) -> logits``.
    mode: ``"eval"`` (BatchNorm running statistics) or ``"train"`` (batch statistics,
      running statistics left untouched; dropout off). A bfloat16-compute model is
      evaluated in float32 (see the module doc).
    preprocess: applied to ``batch["image"]`` first (e.g. normalization with the
      training set's channel statistics, as the training step does).
    dtype: cast the parameters and the other float state (e.g. ``jnp.float64``,
      under ``jax.enable_x64``); default: keep.
    loss: ``"cross_entropy"`` or ``"mse"`` (:mod:`lrsched.losses`; a run's ``Config.loss``).

  Returns:
    ``(loss_fn, params)``: ``loss_fn(params, batch) -> scalar`` with ``loss_fn.mode`` and
    ``loss_fn.loss``.

  Raises:
    ValueError: an unknown ``mode`` or ``loss``.

  Example:
    >>> import numpy as np
    >>> from flax import nnx
    >>> rngs = nnx.Rngs(0)
    >>> net = nnx.Sequential(nnx.Conv(1, 3, (3, 3), rngs=rngs), nnx.BatchNorm(3, rngs=rngs),
    ...                      lambda x: x.mean(axis=(1, 2)))
    >>> loss_fn, params = model_loss(net, "train")
    >>> batch = {"image": np.ones((2, 4, 4, 1), np.float32), "label": np.array([0, 2])}
    >>> loss_fn.mode, loss_fn(params, batch).shape
    ('train', ())
  """
  if mode not in MODES:
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
  mean_loss(loss)  # validates the name before any work
  clone = nnx.clone(model)
  clone.set_attributes(dtype=None, raise_if_not_found=False)  # upcast (see module doc)
  if mode == "eval":
    clone.eval()
  else:
    clone.set_attributes(use_running_average=False, deterministic=True,
                         raise_if_not_found=False)
  graphdef, params, rest = nnx.split(clone, nnx.Param, ...)
  # jax arrays throughout: train-mode BatchNorm writes its statistics into the (discarded)
  # merged copy, which fails on read-only NumPy leaves (e.g. from a restored checkpoint).
  params, rest = jax.tree.map(jnp.asarray, (params, rest))
  if dtype is not None:
    cast = lambda x: (x.astype(dtype) if isinstance(x, jax.Array)
                      and jnp.issubdtype(x.dtype, jnp.floating) else x)
    params, rest = jax.tree.map(cast, params), jax.tree.map(cast, rest)
  return ModelLoss(graphdef, rest, mode, preprocess, loss), params
