r"""Momentum SGD with periodic renormalization of scale-invariant tensors.

For a scale-invariant loss and no weight decay, the states ``(w, v, eta)`` and
``(c w, v / c, c^2 eta)`` give the same trajectory up to the factor ``c``
(``grad L(c w) = grad L(w) / c``; ``../shared/reference.md`` sec. 1). Training with
an exponentially growing learning rate (:func:`lrsched.exp_lr`,
:func:`lrsched.texp`) makes the weights grow like ``sqrt(lr)``; in float32 both
overflow after ~88,000 steps of the paper's setting. Renormalizing each
scale-invariant tensor back to its initial norm from time to time, with its
momentum buffer divided and its learning rate multiplied accordingly, keeps the
run finite forever and changes nothing observable.

Design: an optax ``GradientTransformation`` that *replaces* ``optax.sgd`` rather
than a wrapper around it or a training-loop option. Renormalization has to touch
three things at once: the weights (optax transformations only emit updates, so
the rescale is folded into the emitted update, ``updates = c * w_new - w``), the
momentum buffer (private to ``optax.trace``) and the learning rate of each tensor
(inside ``scale_by_learning_rate``, and in float32 ``lr * c^2`` cannot be formed
once ``lr`` itself has overflowed). One transformation that owns all three is
small, exact and works unchanged in any optax training loop; a wrapper would
have to reach into another transformation's state, a loop option would tie it to
one loop.

Exactness: the factors are powers of two, so ``w -> c w`` and ``v -> v / c`` are
exact in floating point, and the per-tensor learning rate ``lr * 4**k`` is formed
from the schedule's mantissa and exponent (``schedule.frexp`` of
:class:`~lrsched.schedules.exp_lr.ExpLRSchedule` and
:class:`~lrsched.schedules.exp_lr.TexpSchedule`), never from an overflowed float.
The only rounding that differs from the plain run is that of ``w + updates`` on
the steps that renormalize.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _validation

LearningRate = float | Callable[[ArrayLike], ArrayLike]


class RenormalizedSGDState(NamedTuple):
  """State of :func:`renormalized_sgd`.

  Attributes:
    count: number of updates done (the schedule's count for the next update).
    momentum: the momentum buffer ``v`` in the current, renormalized coordinates
      (an ``optax.TraceState``, so :func:`lrsched.with_momentum_buffer` can set it).
    log2_factor: per tensor, the int32 ``k`` with current weights ``= 2**k *`` the
      weights of the run without renormalization; that tensor's learning rate is
      ``schedule(count) * 4**k`` and its buffer ``2**-k`` times the plain run's.
    log2_target: per tensor, ``log2`` of the norm a renormalization restores (float32).
  """

  count: jax.Array
  momentum: optax.TraceState
  log2_factor: Any
  log2_target: Any


def _frexp(learning_rate: LearningRate, count: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``learning_rate`` at ``count`` as (mantissa, int32 exponent)."""
  if hasattr(learning_rate, "frexp"):
    mantissa, exponent = learning_rate.frexp(count)
  elif callable(learning_rate):
    mantissa, exponent = jnp.frexp(jnp.asarray(learning_rate(count)))
  else:
    mantissa, exponent = math.frexp(learning_rate)
  return jnp.asarray(mantissa), jnp.asarray(exponent, jnp.int32)


def _resolve_mask(mask: Any, params: Any) -> Any:
  if mask is None:
    return jax.tree.map(lambda _: True, params)
  return mask(params) if callable(mask) else mask


def _log2_norm(x: jax.Array) -> jax.Array:
  """``log2 |x|``, computed as ``log2 max|x_i| + log2 |x / max|x_i||``: no overflow of
  the sum of squares for norms up to the float maximum (-inf for zeros)."""
  largest = jnp.max(jnp.abs(x))
  safe = jnp.where(largest > 0, largest, 1.0)
  return jnp.log2(largest) + 0.5 * jnp.log2(jnp.sum(jnp.square(x / safe)))


def renormalized_sgd(
    learning_rate: LearningRate,
    momentum: float = 0.0,
    *,
    mask: Any = None,
    every: int = 1,
    target_norm: float | None = None,
) -> optax.GradientTransformation:
  r"""``optax.sgd(learning_rate, momentum)`` that keeps scale-invariant tensors' norms bounded.

  Each update does heavy-ball SGD as ``optax.sgd`` (``v = g + momentum * v``,
  ``w_new = w - lr * v``); then, every ``every`` updates, each tensor selected by
  ``mask`` whose norm has left ``[target / sqrt(2), target * sqrt(2)]`` is
  multiplied by ``c = 2`` or ``1/2`` (towards ``target``), its momentum buffer by
  ``1 / c`` and its learning rate, from then on, by ``c**2``. One halving per check
  keeps up with any practical growth (the weights of an exponential-LR run grow by
  ``1 / alpha``, ~1.0005, per update); a tensor far from its target (a
  ``target_norm`` much smaller than the initial norm) gets there over several
  checks. A larger jump would lose precision: optax applies ``w + updates``, and
  ``w + (2**-j * w_new - w)`` cancels ``j`` bits. On a scale-invariant loss the
  trajectory is the plain run's up to these per-tensor factors:
  ``w_plain = 2**-k * w`` with ``k = state.log2_factor``.

  Use it *instead of* ``optax.sgd`` when the learning rate grows exponentially
  (no weight decay: with it the rescaled state is not equivalent, see the module
  doc). For values beyond the float range, give a schedule with a ``frexp``
  method (:func:`lrsched.exp_lr`, :func:`lrsched.texp`); a plain schedule is
  evaluated as a float and overflows where it does. Do not wrap it in
  ``optax.inject_hyperparams``, which would evaluate the schedule as a float.

  Args:
    learning_rate: a constant > 0 or a schedule of the count (optax convention:
      the first update uses count 0).
    momentum: heavy-ball momentum in [0, 1).
    mask: which tensors are scale invariant and get renormalized: a pytree of
      bools with the structure of the params, or a callable returning one (as
      optax masks); for the models of :mod:`lrsched.models` use
      :func:`lrsched.scale_invariance.scale_invariant_mask`. ``None``: all of them.
      Unselected tensors get plain momentum SGD.
    every: check the norms every ``every`` updates (a norm per tensor), >= 1.
    target_norm: the norm restored, > 0; ``None``: each tensor's norm at ``init``.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` needs ``params``.

  Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> from lrsched.scale_invariance import renormalized_sgd
    >>> loss = lambda w: jnp.sum(w / jnp.linalg.norm(w) * jnp.array([1.0, 2.0]))
    >>> optimizer = renormalized_sgd(lambda count: 2.0 ** count, momentum=0.5)
    >>> @jax.jit
    ... def step(w, state):
    ...   updates, state = optimizer.update(jax.grad(loss)(w), state, w)
    ...   return optax.apply_updates(w, updates), state
    >>> w = jnp.array([3.0, 4.0])
    >>> state = optimizer.init(w)
    >>> for _ in range(30):
    ...   w, state = step(w, state)
    >>> float(jnp.linalg.norm(w)) < 8, int(state.log2_factor) < -10
    (True, True)
  """
  if not callable(learning_rate):
    learning_rate = _validation.in_range("learning_rate", learning_rate, 0.0, low_open=True)
  momentum = _validation.in_range("momentum", momentum, 0.0, 1.0, high_open=True)
  every = _validation.integer("every", every)
  log2_target_norm = None
  if target_norm is not None:
    target = _validation.in_range("target_norm", target_norm, 0.0, low_open=True)
    log2_target_norm = math.log2(target)

  def init(params: Any) -> RenormalizedSGDState:
    def target(p: jax.Array) -> jax.Array:
      if log2_target_norm is not None:
        return jnp.asarray(log2_target_norm, jnp.float32)
      return _log2_norm(p).astype(jnp.float32)

    return RenormalizedSGDState(
        count=jnp.zeros([], jnp.int32),
        momentum=optax.TraceState(trace=jax.tree.map(jnp.zeros_like, params)),
        log2_factor=jax.tree.map(lambda _: jnp.zeros([], jnp.int32), params),
        log2_target=jax.tree.map(target, params),
    )

  def update(updates: Any, state: RenormalizedSGDState,
             params: Any = None) -> tuple[Any, RenormalizedSGDState]:
    if params is None:
      raise ValueError("renormalized_sgd needs params: call update(grads, state, params)")
    mask_tree = _resolve_mask(mask, params)
    mantissa, exponent = _frexp(learning_rate, state.count)
    check = (state.count + 1) % every == 0

    def leaf(selected: bool, grad: jax.Array, w: jax.Array, v: jax.Array, k: jax.Array,
             target: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
      v = grad + momentum * v  # as optax.trace
      lr = jnp.ldexp(mantissa.astype(w.dtype), exponent + 2 * k)
      step = (-lr).astype(w.dtype) * v  # as optax.scale_by_learning_rate
      if not selected:
        return step, v, k
      new_w = w + step
      log2_norm = _log2_norm(new_w)
      ok = check & jnp.isfinite(log2_norm)
      # At most a factor 2 per update: `w + updates` then rounds like a plain step
      # (a jump by 2**-j would lose j bits to the cancellation in w + (2**-j w_new - w)).
      shift = jnp.where(ok, jnp.clip(-jnp.round(log2_norm - target), -1.0, 1.0), 0.0)
      shift = shift.astype(jnp.int32)
      step = jnp.where(shift != 0, jnp.ldexp(new_w, shift) - w, step)
      return step, jnp.ldexp(v, -shift), k + shift

    treedef = jax.tree.structure(params)
    leaves = [
        leaf(*args) for args in zip(
            treedef.flatten_up_to(mask_tree), treedef.flatten_up_to(updates),
            jax.tree.leaves(params), treedef.flatten_up_to(state.momentum.trace),
            treedef.flatten_up_to(state.log2_factor), treedef.flatten_up_to(state.log2_target),
            strict=True)
    ]
    steps, traces, factors = (treedef.unflatten(x) for x in zip(*leaves, strict=True))
    new_state = RenormalizedSGDState(
        count=optax.safe_int32_increment(state.count),
        momentum=optax.TraceState(trace=traces),
        log2_factor=factors,
        log2_target=state.log2_target,
    )
    return steps, new_state

  return optax.GradientTransformation(init, update)


def unrenormalized_log2_norms(params: Any, state: RenormalizedSGDState) -> Any:
  """Per tensor, ``log2`` of the norm the run would have without renormalization.

  ``log2 |w| - k``: finite where the plain run's norm overflows (for plots of the
  weight norm of exponential-learning-rate runs).

  Args:
    params: current parameters of a :func:`renormalized_sgd` run.
    state: its optimizer state (the :class:`RenormalizedSGDState`, not a chain's
      tuple).

  Returns:
    A pytree like ``params`` of float32 scalars.
  """
  return jax.tree.map(lambda p, k: _log2_norm(p).astype(jnp.float32) - k,
                      params, state.log2_factor)
