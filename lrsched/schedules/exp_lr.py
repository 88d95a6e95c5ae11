r"""Weight decay as an exponentially growing learning rate (Li & Arora, ICLR 2020).

On a *scale-invariant* loss (``L(c w) = L(w)`` for ``c > 0``: every trained tensor
feeds a normalization layer, see :mod:`lrsched.scale_invariance`), heavy-ball SGD
with coupled weight decay (PyTorch's ``SGD(lr, momentum=g, weight_decay=lam)``,
optax's ``chain(add_decayed_weights(lam), sgd(lr, momentum=g))``)

.. math::
  v_t = g v_{t-1} + \nabla L(w_{t-1}) + \lambda w_{t-1}, \qquad
  w_t = w_{t-1} - \eta_t v_t, \qquad v_0 = 0,

is the same training run as plain momentum SGD *without* weight decay under another
learning rate: the weights differ only by a positive factor per step. This module
gives that learning rate as an ``optax.Schedule``:

* :func:`exp_lr`: Li & Arora's closed form for a constant ``eta``,
  ``eta * alpha**(-2 * count - 1)``; exact with the initial momentum buffer of
  :func:`exp_lr_momentum_init`, installed with :func:`with_momentum_buffer`.
* :func:`texp`: the exact equivalent of *any* schedule (step decay, cosine, 1cycle,
  ...), from the recurrence of ``../shared/reference.md`` sec. 1, with the per-step
  factors ``c_t`` such that ``w_t = c_t * w~_t``.

Indexing: update ``t = 1, 2, ...`` uses the learning rate at optax ``count = t - 1``
(``optax.sgd`` evaluates its schedule at the number of updates done so far), and
``w_t``, ``w~_t`` are the weights after ``t`` updates, i.e. when the optimizer's
count reads ``t``.

Both schedules grow exponentially: in float32 they overflow after
``~88 / (2 * (1 - alpha))`` steps (about 88,000 steps at the paper's
``alpha**-2 = 1.001``). Their ``frexp`` method gives the value as mantissa and
exponent without overflow, which :func:`lrsched.scale_invariance.renormalized_sgd`
uses to keep such runs finite forever.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

_LN2 = math.log(2.0)


def _check_hyperparams(weight_decay: object, momentum: object) -> tuple[float, float]:
  weight_decay = _validation.in_range("weight_decay", weight_decay, 0.0, 1.0, high_open=True)
  momentum = _validation.in_range("momentum", momentum, 0.0, 1.0, high_open=True)
  return weight_decay, momentum


def _exp_lr_root(init_value: float, weight_decay: float, momentum: float) -> tuple[float, float]:
  """Returns ``(alpha, 1 - alpha)``, both accurate to float64 relative precision.

  ``alpha`` is the larger root of ``p(x) = x^2 - (1 + g - lam*eta) x + g``. Since
  ``p(1) = lam*eta = (1 - alpha)(1 - beta)`` with the other root ``beta = g / alpha``,
  ``1 - alpha = lam*eta / (1 - g/alpha)`` without the cancellation of ``1 - alpha``.
  With a traced argument both are traced, computed in the default float dtype
  (float32) and unchecked (NaN outside the regime of a real root).
  """
  x = weight_decay * init_value
  b = 1.0 + momentum - x
  # b^2 - 4g = (1 - g)^2 - x (2 (1 + g) - x), without the cancellation of b^2 - 4g.
  discriminant = (1.0 - momentum) ** 2 - x * (2.0 * (1.0 + momentum) - x)
  if _validation.any_traced(init_value, weight_decay, momentum):
    alpha = 0.5 * (b + jnp.sqrt(discriminant))
    return alpha, x / (1.0 - momentum / alpha)
  if discriminant < 0.0 or b <= 0.0:
    limit = (1.0 - math.sqrt(momentum)) ** 2
    raise ValueError(
        f"init_value * weight_decay must be <= (1 - sqrt(momentum))**2 = {limit!r} for "
        f"x^2 - (1 + momentum - weight_decay*init_value) x + momentum to have a positive real "
        f"root (the regime of Li & Arora's closed form), got init_value={init_value!r}, "
        f"weight_decay={weight_decay!r}, momentum={momentum!r}")
  alpha = 0.5 * (b + math.sqrt(discriminant))
  if alpha <= 0.0 or momentum / alpha >= 1.0:
    raise ValueError(
        f"init_value * weight_decay must be < 1 for a positive root alpha, got "
        f"init_value={init_value!r}, weight_decay={weight_decay!r}, momentum={momentum!r}")
  one_minus_alpha = x / (1.0 - momentum / alpha)
  return alpha, one_minus_alpha


def _ldexp(mantissa: ArrayLike, exponent: ArrayLike) -> jnp.ndarray:
  return jnp.ldexp(_anneal.as_float(mantissa), jnp.asarray(exponent, jnp.int32))


class ExpLRSchedule:
  """The closed-form schedule of :func:`exp_lr` (an ``optax.Schedule``).

  Attributes:
    init_value: the constant learning rate ``eta`` of the weight-decay run.
    weight_decay: ``lam``.
    momentum: ``g``.
    alpha: the larger root; after ``t`` updates ``w~_t = w_t / alpha**t`` (with the
      momentum buffer of :func:`exp_lr_momentum_init`).
    one_minus_alpha: ``1 - alpha``, computed without cancellation.
  """

  def __init__(self, init_value: float, weight_decay: float, momentum: float):
    self.init_value = init_value
    self.weight_decay = weight_decay
    self.momentum = momentum
    self.alpha, self.one_minus_alpha = _exp_lr_root(init_value, weight_decay, momentum)
    traced = _validation.any_traced(init_value, weight_decay, momentum)
    self._log_alpha = (jnp.log1p if traced else math.log1p)(-self.one_minus_alpha)
    self._log2_init = (jnp.log2 if traced else math.log2)(init_value)

  def __call__(self, count: ArrayLike) -> jnp.ndarray:
    """``init_value * alpha ** (-2 * count - 1)`` (inf where the dtype overflows)."""
    exponent = 2.0 * _anneal.as_float(_anneal.as_count(count)) + 1.0
    return self.init_value * jnp.exp(-self._log_alpha * exponent)

  def frexp(self, count: ArrayLike) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The value at ``count`` as ``(mantissa, exponent)``, ``mantissa * 2**exponent``.

    Never overflows: the mantissa is in ``[0.5, 1)`` (default float dtype), the
    exponent an int32.
    """
    log2_value = self._log2_init - (2.0 * _anneal.as_float(_anneal.as_count(count)) + 1.0) * (
        self._log_alpha / math.log(2.0))
    exponent = jnp.floor(log2_value) + 1.0
    return jnp.exp2(log2_value - exponent), exponent.astype(jnp.int32)

  def log_scale(self, t: ArrayLike) -> jnp.ndarray:
    """``log c_t = t * log(alpha)``: ``w_t = c_t * w~_t`` after ``t`` updates."""
    return _anneal.as_float(t) * self._log_alpha

  def __repr__(self) -> str:
    return (f"exp_lr(init_value={self.init_value!r}, weight_decay={self.weight_decay!r}, "
            f"momentum={self.momentum!r})  # alpha={self.alpha!r}")


def exp_lr(init_value: float, weight_decay: float, momentum: float) -> ExpLRSchedule:
  r"""Li & Arora's exponential learning rate, equivalent to a constant one plus weight decay.

  .. math::
    \tilde\eta(\text{count}) = \eta\, \alpha^{-2\,\text{count} - 1},

  with ``alpha`` the larger root of ``x^2 - (1 + g - lam*eta) x + g = 0``
  (``alpha ~ 1 - lam*eta / (1 - g)``; ``alpha = 1 - lam*eta`` for ``g = 0``).
  Plain momentum SGD *without* weight decay under this schedule reproduces
  ``chain(add_decayed_weights(lam), sgd(eta, momentum=g))`` on a scale-invariant
  loss: ``w~_t = w_t / alpha**t`` after ``t`` updates, **provided** the no-WD run
  starts from the momentum buffer ``v~_0 = -(1 - alpha) / (alpha * eta) * w_0`` of
  :func:`exp_lr_momentum_init` (install it with :func:`with_momentum_buffer`).

  Without that buffer (``v~_0 = 0``, optax's default) the two runs are *not* the
  same: the scale factors then follow the recurrence of :func:`texp` from ``c_0 = 1,
  a_0 = 1`` instead of ``c_t = alpha**t``, so the first updates see the wrong
  effective learning rate and the directions drift apart (1 - cos ~ 1e-1 after a
  few hundred steps of a small BN net). ``texp(eta, lam, g, num_steps)`` is the
  exact equivalent for a zero buffer.

  Args:
    init_value: the constant learning rate ``eta`` of the weight-decay run, > 0.
    weight_decay: coupled weight decay ``lam``, in [0, 1).
    momentum: heavy-ball momentum ``g``, in [0, 1).
      ``init_value * weight_decay <= (1 - sqrt(momentum))**2`` is required (a real
      root); every practical setting satisfies it.

  All three arguments may be traced (``jax.vmap``, ``jax.jit`` or ``jax.grad``
  over them, e.g. a sweep of learning rates): checked when concrete, passed
  through when traced; ``alpha`` is then computed in the default float dtype
  (float32: a relative error of about ``(2 count + 1) |log alpha| * 1e-7`` on the
  value) instead of float64, and a traced setting without a real root gives NaN.

  Returns:
    An :class:`ExpLRSchedule`: an ``optax.Schedule`` with attributes ``alpha`` and
    ``one_minus_alpha``, and ``frexp(count)`` for overflow-free values.

  Raises:
    ValueError: on an argument out of range.

  Example:
    The paper's setting (eta 0.1, momentum 0.9, weight decay 5e-4) grows the
    learning rate by 1.001 per step, x1.48 per CIFAR-10 epoch of 391 steps:

    >>> from lrsched.schedules.exp_lr import exp_lr
    >>> schedule = exp_lr(0.1, weight_decay=5e-4, momentum=0.9)
    >>> round(schedule.alpha ** -2, 7)
    1.0010053
    >>> round(float(schedule(391) / schedule(0)), 3)
    1.481
  """
  init_value = _validation.in_range("init_value", init_value, 0.0, low_open=True)
  weight_decay, momentum = _check_hyperparams(weight_decay, momentum)
  return ExpLRSchedule(init_value, weight_decay, momentum)


def exp_lr_momentum_init(params: Any, init_value: float, weight_decay: float,
                         momentum: float) -> Any:
  r"""The initial momentum buffer that makes :func:`exp_lr` exact.

  .. math::
    \tilde v_0 = -\frac{1 - \alpha}{\alpha\, \eta}\, w_0 .

  With it, the first step of the no-weight-decay run already shrinks the weights
  by ``alpha`` relative to its learning rate, exactly as the weight-decay run's
  steady state does, so ``c_t = alpha**t`` from the first step on. Without it the
  runs drift apart (see :func:`exp_lr`).

  The buffer is in optax's ``trace`` convention (``v_t = g v_{t-1} + grad``,
  update ``-lr * v_t``), the state of ``optax.trace`` inside ``optax.sgd``.

  Args:
    params: the initial parameters ``w_0`` (any pytree of arrays).
    init_value: ``eta``, as given to :func:`exp_lr`.
    weight_decay: ``lam``, as given to :func:`exp_lr`.
    momentum: ``g``, as given to :func:`exp_lr`.

  The three hyperparameters may be traced, as in :func:`exp_lr`.

  Returns:
    A pytree like ``params`` (same dtypes) holding ``v~_0``.

  Example:
    >>> import jax.numpy as jnp
    >>> from lrsched.schedules.exp_lr import exp_lr_momentum_init
    >>> v0 = exp_lr_momentum_init({"w": jnp.ones(2)}, 0.1, 5e-4, 0.9)
    >>> [round(float(x), 6) for x in v0["w"]]
    [-0.005025, -0.005025]
  """
  schedule = exp_lr(init_value, weight_decay, momentum)
  coefficient = -schedule.one_minus_alpha / (schedule.alpha * schedule.init_value)
  return jax.tree.map(lambda w: (coefficient * jnp.asarray(w)).astype(jnp.asarray(w).dtype),
                      params)


def with_momentum_buffer(opt_state: optax.OptState, buffer: Any) -> optax.OptState:
  """Returns ``opt_state`` with its momentum buffer (``optax.TraceState.trace``) replaced.

  Works for the state of ``optax.sgd(..., momentum=g)`` (a ``trace`` followed by
  the learning rate), of chains around it (``add_decayed_weights``, clipping, ...),
  of ``optax.inject_hyperparams`` and of
  :func:`lrsched.scale_invariance.renormalized_sgd`: the state must contain exactly
  one ``optax.TraceState`` whose trace has the structure of ``buffer``.

  Args:
    opt_state: an optimizer state, e.g. ``optimizer.init(params)``.
    buffer: the new momentum buffer, e.g. from :func:`exp_lr_momentum_init`.

  Returns:
    A new state; ``opt_state`` is not modified.

  Raises:
    ValueError: when the state holds no or several ``TraceState`` s, or the
      buffer's structure, shapes or dtypes differ from the trace's.

  Example:
    >>> import jax.numpy as jnp, optax
    >>> from lrsched.schedules.exp_lr import exp_lr, exp_lr_momentum_init, with_momentum_buffer
    >>> params = {"w": jnp.ones(2)}
    >>> optimizer = optax.sgd(exp_lr(0.1, 5e-4, 0.9), momentum=0.9)
    >>> state = with_momentum_buffer(
    ...     optimizer.init(params), exp_lr_momentum_init(params, 0.1, 5e-4, 0.9))
    >>> round(float(state[0].trace["w"][0]), 6)
    -0.005025
  """
  def is_trace(x: object) -> bool:
    return isinstance(x, optax.TraceState)

  found = [x for x in jax.tree.leaves(opt_state, is_leaf=is_trace) if is_trace(x)]
  if len(found) != 1:
    raise ValueError(
        f"opt_state must contain exactly one optax.TraceState (the momentum buffer of "
        f"optax.sgd(..., momentum=g > 0) or optax.trace), found {len(found)}")
  old = found[0].trace
  if jax.tree.structure(old) != jax.tree.structure(buffer):
    raise ValueError(
        f"buffer must have the structure of the momentum buffer, got "
        f"{jax.tree.structure(buffer)} for {jax.tree.structure(old)}")
  for index, (a, b) in enumerate(zip(jax.tree.leaves(old), jax.tree.leaves(buffer),
                                     strict=True)):
    if jnp.shape(a) != jnp.shape(b) or jnp.result_type(a) != jnp.result_type(b):
      raise ValueError(
          f"buffer leaf {index} must have shape {jnp.shape(a)} and dtype "
          f"{jnp.result_type(a)}, got {jnp.shape(b)} and {jnp.result_type(b)}")
  return jax.tree.map(lambda x: x._replace(trace=buffer) if is_trace(x) else x, opt_state,
                      is_leaf=is_trace)


class TexpSchedule:
  r"""The schedule of :func:`texp` (an ``optax.Schedule``) and its scale factors.

  ``schedule(count)`` is ``eta~`` at ``count`` for ``0 <= count < num_steps``;
  from ``count = num_steps`` on it holds the last value ``eta~(num_steps - 1)``,
  eagerly and under ``jit`` alike (as the other schedules hold their end value).
  The equivalence with the weight-decay run only covers the first
  ``num_steps`` updates: build it for the whole run. Negative counts read as 0.

  Attributes:
    num_steps: number of updates covered (counts ``0 .. num_steps - 1``).
    weight_decay: ``lam`` of the weight-decay run.
    momentum: ``g`` of both runs.
    base_values: float64 ``eta`` of the weight-decay run, indexed by count.
    log_values: float64 ``log eta~``, indexed by count.
    log_scales: float64 ``log c_t`` for ``t = 0 .. num_steps`` (``log c_0 = 0``):
      after ``t`` updates (optax count ``t``), ``w_t = c_t * w~_t``.
  """

  def __init__(self, base_values: np.ndarray, weight_decay: float, momentum: float):
    self.num_steps = int(base_values.shape[0])
    self.weight_decay = weight_decay
    self.momentum = momentum
    self.base_values = base_values
    n = self.num_steps
    # log2 c_t = whole[t] + frac[t]: an integer plus a compensated (Neumaier) float sum
    # of log2 a_t, so c_t and eta~_t keep float64 precision and never overflow.
    # d_t = 1 - a_t = lam*eta_t + g*r_t*d_(t-1)/a_(t-1) >= 0 is computed without the
    # cancellation of 1 + g*r_t - ... - g*r_t/a_(t-1), whose rounding would compound.
    whole = np.zeros(n + 1, dtype=np.int64)
    frac = np.zeros(n + 1)
    value_mantissa = np.empty(n)
    value_exponent = np.empty(n, dtype=np.int64)
    total, compensation, carry = 0.0, 0.0, 0
    d_prev, eta_prev = 0.0, float(base_values[0])
    for index in range(n):  # update t = index + 1
      eta = float(base_values[index])
      d = weight_decay * eta + momentum * (eta / eta_prev) * d_prev / (1.0 - d_prev)
      if not d < 1.0:
        raise ValueError(
            f"texp needs the per-step factor a_t = 1 + g*r_t - lam*eta_t - g*r_t/a_(t-1) > 0, "
            f"got a_t={1.0 - d!r} at count={index} (eta={eta!r}, weight_decay={weight_decay!r}, "
            f"momentum={momentum!r}): weight_decay * learning rate is too large for the "
            f"weight-decay run to shrink the weights monotonically")
      term = math.log1p(-d) / _LN2
      updated = total + term
      if abs(total) >= abs(term):
        compensation += (total - updated) + term
      else:
        compensation += (term - updated) + total
      shift = math.floor(updated)
      total, carry = updated - shift, carry + shift
      whole[index + 1], frac[index + 1] = carry, total + compensation
      # eta~_t = eta_t / (c_t * c_(t-1))
      mantissa, exponent = math.frexp(eta * 2.0 ** -(frac[index + 1] + frac[index]))
      value_mantissa[index] = mantissa
      value_exponent[index] = exponent - whole[index + 1] - whole[index]
      d_prev, eta_prev = d, eta
    if np.abs(value_exponent).max() >= 2**31 - 64:
      raise ValueError(f"texp learning rates exceed 2**(2**31) within num_steps={n}")
    self._value_mantissa = value_mantissa
    self._value_exponent = value_exponent.astype(np.int32)
    self.log_scales = (whole + frac) * _LN2
    self.log_values = np.log(value_mantissa) + value_exponent * _LN2

  @property
  def scales(self) -> np.ndarray:
    """``c_t`` for ``t = 0 .. num_steps`` in float64 (0 where it underflows)."""
    return np.exp(self.log_scales)

  def frexp(self, count: ArrayLike) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``eta~(count)`` as ``(mantissa, exponent)`` with value ``mantissa * 2**exponent``.

    The mantissa (default float dtype) is in ``[0.5, 1)``, the exponent an int32:
    no overflow however large the value. Counts past the end read as
    ``num_steps - 1``.
    """
    index = jnp.minimum(_anneal.as_count(count), self.num_steps - 1)
    mantissa = _anneal.as_float(jnp.asarray(self._value_mantissa)[index])
    return mantissa, jnp.asarray(self._value_exponent)[index]

  def __call__(self, count: ArrayLike) -> jnp.ndarray:
    """``eta~(count)``, held from ``num_steps - 1`` on; inf only where the true
    value exceeds the default float dtype (use :meth:`frexp` there)."""
    mantissa, exponent = self.frexp(count)
    return _ldexp(mantissa, exponent)

  def __repr__(self) -> str:
    return (f"texp(num_steps={self.num_steps}, weight_decay={self.weight_decay!r}, "
            f"momentum={self.momentum!r})")


def _evaluate(schedule: optax.ScalarOrSchedule, num_steps: int) -> np.ndarray:
  """``schedule`` at counts ``0 .. num_steps - 1`` as float64, checked finite and > 0."""
  host_table = "texp tabulates the schedule on the host in float64 when it is built"
  if not callable(schedule):
    _validation.not_traced("schedule", schedule, host_table)
    value = _validation.in_range("schedule", schedule, 0.0, low_open=True)
    return np.full(num_steps, value)
  counts = jnp.arange(num_steps, dtype=jnp.int32)
  try:
    values = schedule(counts)
  except Exception:  # not vectorized: evaluate count by count below
    values = None
  _validation.not_traced("schedule(count)", values, host_table
                         + " (the schedule closes over a traced value)")
  if values is not None:
    values = np.asarray(values, dtype=np.float64)
  if values is None or values.shape != (num_steps,):
    values = np.array([float(np.asarray(schedule(counts[i]))) for i in range(num_steps)])
  bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
  if bad.size:
    raise ValueError(
        f"schedule must return finite learning rates > 0 at counts 0 .. {num_steps - 1}, "
        f"got schedule({int(bad[0])}) = {float(values[bad[0]])!r}"
        + (f" (and {bad.size - 1} more)" if bad.size > 1 else ""))
  return values


def texp(schedule: optax.ScalarOrSchedule | Callable[[ArrayLike], ArrayLike],
         weight_decay: float, momentum: float, num_steps: int) -> TexpSchedule:
  r"""The exact no-weight-decay equivalent of any schedule (generalized TEXP).

  For the weight-decay run's learning rates ``eta_t`` (update ``t`` uses
  ``schedule(t - 1)``), ``lam = weight_decay`` and ``g = momentum``, with
  ``c_0 = a_0 = 1`` and ``r_t = eta_t / eta_{t-1}`` (``r_1 = 1``):

  .. math::
    a_t = 1 + g r_t - \lambda \eta_t - g r_t / a_{t-1}, \qquad
    c_t = c_{t-1} a_t, \qquad
    \tilde\eta_t = \eta_t / (c_t c_{t-1}).

  Plain momentum SGD *without* weight decay, learning rate ``eta~`` and the
  default zero momentum buffer then gives ``w~_t = w_t / c_t`` exactly on a
  scale-invariant loss (derived by matching the coefficients of ``w_t, w_{t-1},
  w_{t-2}`` in the two momentum recurrences; ``../shared/reference.md`` sec. 1).

  Computed once on the host in float64, with ``c_t`` and ``eta~`` kept as mantissa
  and binary exponent (they leave float64's range after ~10^6 steps of typical
  settings). The returned schedule is a lookup table; under ``jit`` its values
  take the default float dtype (float32 overflows to inf after ~88,000 steps at
  ``alpha**-2 = 1.001``: use :func:`lrsched.scale_invariance.renormalized_sgd`,
  which reads ``frexp`` instead).

  Past the end: at every count ``>= num_steps`` (also beyond int32, where the
  count saturates) the schedule returns its last value ``eta~(num_steps - 1)``,
  eagerly and under ``jit`` alike; it never raises and never gives NaN there
  (inf only where that last value itself exceeds the float dtype). It does not
  extrapolate, so a run longer than ``num_steps`` is no longer the weight-decay
  run's equivalent past that point: build ``texp`` for the whole run.

  Args:
    schedule: the weight-decay run's learning rate: an ``optax.Schedule`` (for
      example from :mod:`lrsched.schedules`) or a constant > 0. It is evaluated
      eagerly at every count ``0 .. num_steps - 1`` (vectorized if it accepts an
      array of counts) and must be finite and > 0 there.
    weight_decay: coupled weight decay ``lam``, in [0, 1).
    momentum: heavy-ball momentum ``g``, in [0, 1).
    num_steps: number of updates to cover, >= 1 (``1000.0`` reads as 1000).

  No argument may be traced: the table is computed on the host in float64 when
  ``texp`` is built, so a JAX tracer (``jax.vmap``/``jax.jit`` over
  ``weight_decay``, ``momentum`` or values the schedule closes over) is refused
  with a ``ValueError`` naming the argument. Build one ``texp`` per setting
  outside the transformation instead.

  Returns:
    A :class:`TexpSchedule`: callable as an ``optax.Schedule``, with ``frexp``,
    ``log_values``, ``log_scales`` (``log c_t``), ``scales`` and ``base_values``.

  Raises:
    ValueError: on an argument out of range, a schedule value that is not finite
      and > 0, or ``lam * eta_t`` so large that some ``a_t <= 0``.

  Example:
    Step decay of 0.1 by 10x after 2 steps, weight decay 0.01, no momentum: the
    equivalent rate grows by ``1 / (1 - lam eta)**2`` per step and jumps down
    at the boundary; ``c_t`` shrinks by ``1 - lam eta_t`` per step:

    >>> from lrsched.schedules import step_decay
    >>> from lrsched.schedules.exp_lr import texp
    >>> s = texp(step_decay(0.1, [2]), weight_decay=0.01, momentum=0.0,
    ...                  num_steps=4)
    >>> [round(float(s(t)), 6) for t in range(4)]
    [0.1001, 0.100301, 0.010041, 0.010043]
    >>> [round(float(c), 6) for c in s.scales]
    [1.0, 0.999, 0.998001, 0.997901, 0.997801]
  """
  for name, value in (("weight_decay", weight_decay), ("momentum", momentum)):
    _validation.not_traced(name, value, "texp computes its table on the host in float64 when"
                           " it is built")
  weight_decay, momentum = _check_hyperparams(weight_decay, momentum)
  num_steps = _validation.integer("num_steps", num_steps)
  return TexpSchedule(_evaluate(schedule, num_steps), weight_decay, momentum)
