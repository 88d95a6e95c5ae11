"""Schedules made of schedules: warmup in front of any schedule, joins, budget stretches."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

ScheduleLike = optax.Schedule | Callable[[ArrayLike], ArrayLike] | float


def _as_schedule(name: str, schedule: object) -> Callable[[ArrayLike], ArrayLike]:
  """A callable schedule, or a number (a constant) checked and wrapped."""
  if callable(schedule):
    return schedule
  try:
    value = _validation.in_range(name, schedule, 0.0)
  except ValueError:
    raise ValueError(
        f"{name} must be a schedule (a callable of the step count) or a number >= 0,"
        f" got {schedule!r}"
    ) from None
  return lambda count: jnp.full(jnp.shape(count), value, _anneal.as_float(value).dtype)


def _value_at_zero(name: str, schedule: Callable[[ArrayLike], ArrayLike]) -> float | jax.Array:
  """``schedule(0)`` as a float, checked to be a finite number >= 0.

  A schedule built from traced values (inside ``jax.vmap``, ``jax.jit``) gives a
  traced ``schedule(0)``: it is returned unchecked, as a scalar.
  """
  try:
    value = schedule(jnp.asarray(0, jnp.int32))
  except Exception as error:  # a user callable may fail in any way
    raise ValueError(f"{name}(0) failed with {type(error).__name__}: {error}") from error
  if _validation.is_traced(value):
    return _validation.finite(f"{name}(0)", value)
  value = np.asarray(value, np.float64)
  if value.shape != () or not np.isfinite(value) or value < 0:
    raise ValueError(f"{name}(0) must be a finite scalar >= 0, got {value!r}")
  return float(value)


def warmup(
    schedule: ScheduleLike, warmup_steps: int, init_value: float = 0.0, prefix: bool = True
) -> optax.Schedule:
  r"""A linear warmup in front of any schedule.

  With ``W = warmup_steps`` and ``peak = schedule(0)`` (evaluated once, when the
  warmup is built):

  .. math::
    \eta(t) = \eta_{init} + (\text{peak} - \eta_{init}) \frac{t}{W} \quad (t < W),
    \qquad
    \eta(t) = s(t - W) \;\; (\text{prefix}) \text{ or } s(t) \quad (t \ge W).

  ``prefix=True`` puts the warmup *before* the schedule, which then starts at
  count ``W``: equal to PyTorch's ``SequentialLR([LinearLR(start_factor=init /
  peak, total_iters=W), main], milestones=[W])`` and to timm's
  ``warmup_prefix=True``; the value is continuous at ``W``. ``prefix=False``
  lays the warmup *over* the first ``W`` steps of the schedule (timm's default,
  ``warmup_prefix=False``): the ramp still ends at ``schedule(0)``, and at ``W``
  the value continues with ``schedule(W)``, as in timm.

  Args:
    schedule: any ``optax.Schedule`` (lrsched's, optax's, your own), or a number
      for a constant.
    warmup_steps: ``W``, >= 0 (0 gives the schedule unchanged).
    init_value: value at count 0, >= 0 (timm's ``warmup_lr_init``).
    prefix: a bool, see above.

  ``init_value`` may be traced (``jax.vmap``, ``jax.jit`` or ``jax.grad`` over
  it), and so may the values that ``schedule`` closes over (a schedule built
  inside the vmapped function, or a traced number for a constant): checked when
  concrete, passed through when traced (a traced ``schedule(0)`` is the peak,
  unchecked). ``warmup_steps`` is a static Python integer (``5.0`` reads as 5).

  Returns:
    An ``optax.Schedule``: within ``[min(init_value, peak), max(init_value,
    peak)]`` during the warmup, the schedule's values afterwards.

  Example:
    >>> import lrsched
    >>> s = lrsched.warmup(lrsched.sgdr(1.0, first_period=4), warmup_steps=2)
    >>> [round(float(s(t)), 4) for t in range(8)]
    [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0, 0.8536]
  """
  schedule = _as_schedule("schedule", schedule)
  warmup_steps = _validation.integer("warmup_steps", warmup_steps, low=0)
  init_value = _validation.in_range("init_value", init_value, 0.0)
  prefix = _validation.boolean("prefix", prefix)
  peak = _value_at_zero("schedule", schedule)
  length = max(warmup_steps, 1)
  shift = warmup_steps if prefix else 0

  def warmed(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    left = jnp.clip(warmup_steps - t, 0, length)
    ramp = _anneal.anneal(init_value, peak, _anneal.as_float(length - left) / length,
                          _anneal.as_float(left) / length, "linear")
    after = schedule(jnp.maximum(t - shift, 0))
    return jnp.where(t < warmup_steps, ramp, after)

  return warmed


def join(schedules: Sequence[ScheduleLike], boundaries: Sequence[int]) -> optax.Schedule:
  r"""Schedules one after the other, as ``optax.join_schedules``.

  With boundaries ``b_1 < ... < b_n`` (``b_0 = 0``), the value at count ``t`` with
  ``b_i <= t < b_(i+1)`` is ``schedules[i](t - b_i)``: each schedule starts
  from its own count 0 at its boundary.

  .. math::
    \eta(t) = s_i(t - b_i), \qquad i = \#\{j \ge 1 : b_j \le t\}.

  Args:
    schedules: ``n + 1`` schedules (or numbers, for constants).
    boundaries: ``n`` strictly increasing counts >= 0 where the next schedule
      takes over.

  The schedules (and numbers) may close over or be traced values (``jax.vmap``,
  ``jax.jit`` or ``jax.grad`` over them); ``boundaries`` are static Python
  integers (``10.0`` reads as 10).

  Returns:
    An ``optax.Schedule`` equal to ``optax.join_schedules(schedules,
    boundaries)`` at every count >= 0.

  Example:
    >>> import lrsched, optax
    >>> s = lrsched.join([optax.linear_schedule(0.0, 1.0, 2), lrsched.rex(1.0, 4)], [2])
    >>> [round(float(s(t)), 4) for t in range(7)]
    [0.0, 0.5, 1.0, 0.8571, 0.6667, 0.4, 0.0]
  """
  if isinstance(schedules, (str, bytes)) or not isinstance(schedules, Sequence):
    raise ValueError(f"schedules must be a list of schedules, got {schedules!r}")
  pieces = [_as_schedule(f"schedules[{i}]", s) for i, s in enumerate(schedules)]
  bounds = _validation.increasing_integers("boundaries", boundaries, low=0)
  if len(pieces) != len(bounds) + 1:
    raise ValueError(
        f"join needs one schedule more than boundaries, got {len(pieces)} schedules and"
        f" {len(bounds)} boundaries"
    )

  def joined(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    value = pieces[0](t)
    for boundary, piece in zip(bounds, pieces[1:], strict=True):
      value = jnp.where(t < boundary, value, piece(jnp.maximum(t - boundary, 0)))
    return value

  return joined


def _scaled_floor(numerator: int, denominator: int) -> Callable[[jnp.ndarray], jnp.ndarray]:
  """``d -> floor(d * numerator / denominator)`` for int32 ``0 <= d <= denominator``.

  Exact in int32 arithmetic: with the fraction reduced to ``a / b = p + c / b``,
  ``d = u b + v`` gives ``u a + v p + floor(v c / b)``; the last floor is
  estimated in float and corrected with the exact remainder ``v c - n b``,
  computed in wrapping int32 arithmetic (exact, since the true remainder is
  small). For ``b >= 2**26`` the float estimate is used as is (off by at most
  ``3 b / 2**24`` counts).
  """
  divisor = math.gcd(numerator, denominator)
  a, b = numerator // divisor, denominator // divisor
  p, c = divmod(a, b)

  def scaled(d: jnp.ndarray) -> jnp.ndarray:
    u, v = d // b, d % b
    whole = u * a + v * p
    if c == 0:
      return whole
    estimate = jnp.floor(_anneal.as_float(v) * (c / b)).astype(jnp.int32)
    if b < 2**26:
      estimate = estimate + jnp.floor_divide(v * c - estimate * b, b)
    return whole + estimate

  return scaled


def stretch(
    schedule: ScheduleLike, from_step: int, old_total: int, new_total: int
) -> optax.Schedule:
  r"""Continues ``schedule`` on a new budget without a jump in the value.

  A run planned for ``old_total`` steps and stopped at ``from_step`` continues
  for ``new_total`` steps in all: the rest of the schedule, ``from_step ..
  old_total``, is stretched (or squeezed) onto ``from_step .. new_total``.
  With ``F = from_step``, ``T = old_total`` and ``N = new_total``:

  .. math::
    \eta(t) = s(t) \quad (t \le F), \qquad
    \eta(t) = s\left(\left\lfloor F + (t - F) \frac{T - F}{N - F} \right\rfloor\right)
      \quad (F < t \le N), \qquad \eta(t) = s(T + t - N) \quad (t > N).

  The value is continuous at ``F`` (the first stretched steps repeat or follow
  ``s(F)``), reaches the old end ``s(T)`` exactly at ``N``, and after ``N`` goes
  on as the schedule did after ``T`` (most schedules hold their end value).

  The mapped count is rounded down to an integer, as lrsched's schedules round
  any float count: they are functions of the integer step. So a stretched
  schedule repeats values (a 2x stretch holds each value for two steps) and a
  squeezed one skips some, but a drop (step decay) or a restart (SGDR) stays a
  single step and no value outside the schedule's own ever appears. The floor is
  computed exactly in int32 arithmetic while ``new_total - from_step`` (divided by
  its gcd with ``old_total - from_step``) is below ``2**26``; beyond, the mapped
  count may be off by ``1e-6`` of the budget.

  Args:
    schedule: the schedule of the interrupted run, planned for ``old_total``.
    from_step: the count where the budget changes, in [0, ``old_total``) and
      below ``new_total``.
    old_total: the old budget in steps, >= 1.
    new_total: the new budget in steps, >= 1 (larger stretches, smaller squeezes).

  ``schedule`` may close over (or be) traced values (``jax.vmap``, ``jax.jit``
  or ``jax.grad`` over them): ``stretch`` only maps the count. The three counts
  are static Python integers (``20.0`` reads as 20).

  Returns:
    An ``optax.Schedule`` taking only values that ``schedule`` takes on
    ``[0, 2**31 - 1]``.

  Example:
    A linear decay over 4 steps, at step 2 given 6 steps instead:

    >>> import lrsched, optax
    >>> s = lrsched.stretch(optax.linear_schedule(1.0, 0.0, 4), 2, 4, 6)
    >>> [float(s(t)) for t in range(8)]
    [1.0, 0.75, 0.5, 0.5, 0.25, 0.25, 0.0, 0.0]
  """
  schedule = _as_schedule("schedule", schedule)
  from_step = _validation.integer("from_step", from_step, low=0)
  old_total = _validation.integer("old_total", old_total)
  new_total = _validation.integer("new_total", new_total)
  for name, total in (("old_total", old_total), ("new_total", new_total)):
    if from_step >= total:
      raise ValueError(f"from_step must be < {name}, got from_step={from_step} >= "
                       f"{name}={total}: there is nothing left to stretch")
  scaled = _scaled_floor(old_total - from_step, new_total - from_step)
  # After the new end: s(t - (N - T)), saturated so that the count fits int32.
  shift = new_total - old_total
  top = _validation.MAX_COUNT + min(shift, 0)

  def stretched(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    inside = from_step + scaled(jnp.clip(t - from_step, 0, new_total - from_step))
    after = jnp.minimum(t, top) - shift
    mapped = jnp.where(t <= from_step, t, jnp.where(t <= new_total, inside, after))
    return schedule(mapped)

  return stretched
