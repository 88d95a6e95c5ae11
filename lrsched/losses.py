"""The training losses of a classifier: softmax cross-entropy and Cohen et al.'s square loss.

One place defines them for everything that consumes a loss -- the train and eval steps,
the Hessian tools' :func:`lrsched.hessian.model_loss`, the learning-rate range test,
``lrsched hessian`` and the sharpness tracker -- so a run's ``Config.loss`` means the
same function everywhere. Each loss is *per example*; the training loss is their mean
(full-batch GD weights chunks by size, which gives the same mean):

* ``"cross_entropy"``: ``-log softmax(z)_y`` (the default);
* ``"mse"``: ``0.5 * ||z - onehot(y)||^2`` on the raw outputs (no softmax): the square loss
  of the edge-of-stability papers (Cohen et al. 2021, ``../shared/reference.md`` sec. 5),
  whose mean over samples is ``0.5 * mean_i ||f(x_i) - e_{y_i}||^2``.

Both compute in at least float32 (a bfloat16 model's logits are upcast; float64 stays).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched.names import unknown_name_error

LOSSES = ("cross_entropy", "mse")
"""The names ``Config.loss`` and ``model_loss(loss=...)`` accept."""

PerExampleLoss = Callable[[jax.Array, jax.Array], jax.Array]


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Per-example softmax cross-entropy ``logsumexp(z) - z_y`` with integer labels.

  Example:
    >>> import jax.numpy as jnp
    >>> float(cross_entropy(jnp.zeros((1, 4)), jnp.array([2]))[0])  # log 4
    1.3862943649291992
  """
  logits = _upcast(logits)
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def mse(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Per-example square loss ``0.5 * sum_c (z_c - [c == y])^2`` against one-hot targets.

  A label outside ``[0, num_classes)`` would give an all-zero target silently; check the
  data first with :func:`check_labels` (done before training).

  Example:
    >>> import jax.numpy as jnp
    >>> float(mse(jnp.array([[0.5, 0.0, 1.0]]), jnp.array([2]))[0])  # 0.5 * (0.25 + 0 + 0)
    0.125
  """
  logits = _upcast(logits)
  targets = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
  return 0.5 * jnp.sum(jnp.square(logits - targets), axis=-1)


_LOSSES: dict[str, PerExampleLoss] = {"cross_entropy": cross_entropy, "mse": mse}


def check_loss_name(loss: object, field: str = "loss") -> str:
  """Returns ``loss`` if it names a known loss; raises a ``ValueError`` naming ``field``.

  Example:
    >>> check_loss_name("mse")
    'mse'
  """
  if not isinstance(loss, str) or loss not in _LOSSES:
    raise unknown_name_error(field, loss, LOSSES)
  return loss


def per_example_loss(loss: str = "cross_entropy") -> PerExampleLoss:
  """The per-example loss function ``f(logits, labels) -> losses`` named ``loss``.

  Args:
    loss: one of :data:`LOSSES`.

  Raises:
    ValueError: an unknown name (with a "did you mean").

  Example:
    >>> import jax.numpy as jnp
    >>> per_example_loss("mse")(jnp.ones((2, 3)), jnp.array([0, 1])).tolist()
    [1.0, 1.0]
  """
  return _LOSSES[check_loss_name(loss)]


def mean_loss(loss: str = "cross_entropy") -> Callable[[jax.Array, jax.Array], jax.Array]:
  """``f(logits, labels) -> mean over examples`` of the loss named ``loss``.

  Example:
    >>> import jax.numpy as jnp
    >>> float(mean_loss("mse")(jnp.zeros((2, 2)), jnp.array([0, 1])))  # 0.5 * 1 each
    0.5
  """
  fn = per_example_loss(loss)
  return lambda logits, labels: jnp.mean(fn(logits, labels))


def check_labels(loss: str, labels: np.ndarray, num_classes: int, where: str = "the data"
                 ) -> None:
  """Raises ``ValueError`` if ``labels`` do not fit a ``num_classes`` output (before work).

  Integer labels in ``[0, num_classes)`` are needed by both losses (a label past the end
  makes ``"mse"``'s one-hot target all zero and cross-entropy's gather undefined), so both
  are checked; the message names the loss and the first offending label.

  Example:
    >>> import numpy as np
    >>> check_labels("mse", np.array([0, 9]), 10)
    >>> check_labels("mse", np.array([0, 10]), 10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: loss='mse' needs labels in [0, 10) (the model's num_classes), but the data ...
  """
  check_loss_name(loss)
  labels = np.asarray(labels)
  if labels.size == 0:
    return
  if not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"loss={loss!r} needs integer labels, but {where} has labels of dtype "
                     f"{labels.dtype}")
  low, high = int(labels.min()), int(labels.max())
  if low < 0 or high >= num_classes:
    bad = low if low < 0 else high
    raise ValueError(f"loss={loss!r} needs labels in [0, {num_classes}) (the model's "
                     f"num_classes), but {where} has label {bad}")


def _upcast(logits: jax.Array) -> jax.Array:
  return logits.astype(jnp.promote_types(logits.dtype, jnp.float32))
