"""SGDR: cosine annealing with warm restarts (Loshchilov & Hutter), with timm's options, and
timm's hyperbolic-tangent decay on the same cycles."""

from __future__ import annotations

import fractions
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

MAX_CYCLES = 100_000
"""Most cycles :func:`sgdr` tabulates (those starting inside the int32 count range)."""


def _cycle_table(first_period: int, period_mult: float,
                 cycle_limit: int | None) -> tuple[list[int], list[float], list[float]]:
  """The cycles that matter: first integer count, offset and length of each.

  Cycle ``i`` lasts ``T_i = first_period * period_mult**i`` and starts at
  ``S_i = T_0 + ... + T_(i-1)``; its first count is ``ceil(S_i)`` and its offset
  ``ceil(S_i) - S_i``. ``S_i`` is summed in exact rational arithmetic (a float
  ``period_mult`` is a binary fraction) while the denominators stay below 2**64,
  in float64 after that, so a start that is an integer (``T_0 = 10, m = 1.5``:
  0, 10, 25, ...) is found exactly. The table stops at the first cycle starting
  past ``2**31 - 1``, after ``cycle_limit`` cycles (the start of cycle
  ``cycle_limit`` is kept: the restarts end there) or at ``MAX_CYCLES + 1``
  entries, whichever comes first.
  """
  mult = fractions.Fraction(period_mult)
  start, length = fractions.Fraction(0), fractions.Fraction(first_period)
  firsts, offsets, lengths = [], [], []
  limit = MAX_CYCLES if cycle_limit is None else min(cycle_limit, MAX_CYCLES)
  while True:
    first = math.ceil(start)
    firsts.append(first)
    offsets.append(float(first - start))
    lengths.append(float(length))
    if first > _validation.MAX_COUNT or len(firsts) > limit:
      return firsts, offsets, lengths
    start, length = start + length, length * mult
    if isinstance(start, fractions.Fraction) and start.denominator > 2**64:
      start, length, mult = float(start), float(length), float(mult)


def cycle_ends(first_period: int, period_mult: float = 1.0, cycle_limit: int | None = None,
               total_steps: int = _validation.MAX_COUNT) -> list[int]:
  """Counts at which a cycle of :func:`sgdr` has just ended (the next step restarts).

  A cycle ``i`` covers the counts ``t`` with ``S_i <= t < S_(i+1)``; it has ended
  when the count reaches ``ceil(S_(i+1))``, the first count of the next cycle, or
  the count where the value settles at ``end_value`` after ``cycle_limit``
  cycles. Snapshot ensembles take their snapshots there.

  Args:
    first_period: as in :func:`sgdr`.
    period_mult: as in :func:`sgdr`.
    cycle_limit: as in :func:`sgdr`.
    total_steps: ends after this count are dropped.

  Returns:
    The increasing list of cycle ends ``<= total_steps``.

  Example:
    >>> from lrsched.schedules.sgdr import cycle_ends
    >>> cycle_ends(10, period_mult=2, total_steps=100)
    [10, 30, 70]
    >>> cycle_ends(10, period_mult=1.5, cycle_limit=3)
    [10, 25, 48]
  """
  first_period, period_mult, cycle_limit = _check_cycles(first_period, period_mult, cycle_limit)
  total_steps = _validation.integer("total_steps", total_steps, low=0)
  if period_mult == 1.0:
    last = total_steps // first_period
    if cycle_limit is not None:
      last = min(last, cycle_limit)
    return [first_period * (i + 1) for i in range(last)]
  firsts, _, _ = _cycle_table(first_period, period_mult, cycle_limit)
  return [e for e in firsts[1:] if e <= total_steps]


def _check_cycles(first_period: object, period_mult: object,
                  cycle_limit: object) -> tuple[int, float, int | None]:
  first_period = _validation.integer("first_period", first_period)
  _validation.not_traced("period_mult", period_mult,
                         "it fixes the table of cycle starts when the schedule is built")
  period_mult = _validation.in_range("period_mult", period_mult, 1.0)
  if cycle_limit is not None:
    cycle_limit = _validation.integer("cycle_limit", cycle_limit)
  return first_period, period_mult, cycle_limit


def sgdr(
    peak_value: float,
    first_period: int,
    period_mult: float = 1.0,
    end_value: float = 0.0,
    cycle_decay: float = 1.0,
    cycle_limit: int | None = None,
    k_decay: float = 1.0,
) -> optax.Schedule:
  r"""Cosine annealing with warm restarts, equal to timm's ``CosineLRScheduler``.

  Cycle ``i`` starts at ``S_i = T_0 (1 + m + ... + m^{i-1})`` and lasts
  ``T_i = T_0 m^i`` steps (``T_0 = first_period``, ``m = period_mult``). At count
  ``t`` in cycle ``i``, with ``x = t - S_i``:

  .. math::
    \eta(t) = \eta_{end} + \frac{\eta_{peak} d^i - \eta_{end}}{2}
      \left(1 + \cos\left(\pi \frac{x^k}{T_i^k}\right)\right)

  (``d = cycle_decay``, ``k = k_decay``). From cycle ``cycle_limit`` on the value
  is ``end_value`` for good (no more restarts).

  This is timm's ``CosineLRScheduler(t_initial=first_period, lr_min=end_value,
  cycle_mul=period_mult, cycle_decay=cycle_decay, cycle_limit=cycle_limit,
  k_decay=k_decay)`` stepped per update (``step_update(t)``), except that timm's
  ``cycle_limit`` defaults to 1 (one cycle, no restart) and ours to ``None``
  (restart forever, as SGDR and PyTorch). With an integer ``period_mult`` and the
  defaults it equals PyTorch's ``CosineAnnealingWarmRestarts(T_0=first_period,
  T_mult=period_mult, eta_min=end_value)``. Cycle starts are computed exactly in
  float64 when the schedule is built (timm's ``floor(log(...))`` can put a count
  that starts a cycle at the end of the previous one instead, e.g. ``t = 242``
  for ``T_0 = 2, m = 3``; we restart there, as PyTorch does).

  Every count is in closed form under jit: with ``period_mult == 1`` the position
  is ``t mod first_period``; otherwise the cycle is found by a binary search in
  the table of cycle starts (at most 31 cycles start inside the int32 range for
  ``period_mult >= 2``; ``period_mult`` close to 1 needs more and is refused
  beyond 100,000 cycles unless ``cycle_limit`` bounds them).

  Args:
    peak_value: value at the start of the first cycle (PyTorch's and timm's base
      learning rate), > 0.
    first_period: length of the first cycle in steps, >= 1.
    period_mult: factor by which each cycle is longer than the previous one,
      >= 1; may be a float (timm's ``cycle_mul``; PyTorch's ``T_mult`` is an int).
    end_value: value approached at the end of every cycle, in [0,
      ``peak_value``] (``eta_min``, ``lr_min``).
    cycle_decay: factor applied to the peak at each restart, in (0, 1].
    cycle_limit: number of cycles, >= 1, or ``None`` for no limit.
    k_decay: timm's k-decay exponent (Zhang et al. 2020), > 0; 1 is plain cosine.

  ``peak_value``, ``end_value``, ``cycle_decay`` and ``k_decay`` may be traced
  (``jax.vmap``, ``jax.jit`` or ``jax.grad`` over them, e.g. a vmapped sweep of
  peaks): they are checked when concrete and passed through when traced (a
  traced ``cycle_decay`` takes its log in float32). ``first_period``,
  ``cycle_limit`` and ``period_mult`` fix the cycle table and must be concrete;
  the counts are Python integers (``100.0`` reads as 100, ``100.5`` is refused).

  Returns:
    An ``optax.Schedule`` with values in ``[min(end_value, peak_value *
    cycle_decay**i), peak_value]`` (``[end_value, peak_value]`` when
    ``cycle_decay == 1``).

  Example:
    >>> import lrsched
    >>> schedule = lrsched.sgdr(1.0, first_period=2, period_mult=2)
    >>> [round(float(schedule(t)), 4) for t in range(7)]
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
    >>> once = lrsched.sgdr(1.0, first_period=2, cycle_limit=1, end_value=0.1)
    >>> [round(float(once(t)), 4) for t in range(4)]
    [1.0, 0.55, 0.1, 0.1]
  """
  peak_value, end_value, first_period, period_mult, cycle_decay, cycle_limit = _check_restarts(
      peak_value, end_value, first_period, period_mult, cycle_decay, cycle_limit)
  k_decay = _validation.in_range("k_decay", k_decay, 0.0, low_open=True)
  k_is_one = not _validation.is_traced(k_decay) and k_decay == 1.0

  def cosine(peak: jnp.ndarray, done: jnp.ndarray, left: jnp.ndarray) -> jnp.ndarray:
    if not k_is_one:
      # (x / T)^k and 1 - (x / T)^k, each without cancellation where it is small.
      log_done = k_decay * jnp.where(done < 0.5, jnp.log(done), jnp.log1p(-left))
      done, left = jnp.exp(log_done), -jnp.expm1(log_done)
    return _anneal.anneal(peak, end_value, done, left, "cos")

  return _restarts(peak_value, first_period, period_mult, end_value, cycle_decay,
                   cycle_limit, cosine, "sgdr")


def _check_restarts(peak_value, end_value, first_period, period_mult, cycle_decay,
                    cycle_limit) -> tuple:
  """The arguments :func:`sgdr` and :func:`tanh_decay` share, checked."""
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  end_value = _validation.in_range("end_value", end_value, 0.0)
  _validation.ordered("end_value", end_value, "peak_value", peak_value)
  first_period, period_mult, cycle_limit = _check_cycles(first_period, period_mult, cycle_limit)
  cycle_decay = _validation.in_range("cycle_decay", cycle_decay, 0.0, 1.0, low_open=True)
  return peak_value, end_value, first_period, period_mult, cycle_decay, cycle_limit


def _restarts(peak_value, first_period: int, period_mult: float, end_value, cycle_decay,
              cycle_limit: int | None,
              shape: Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray], jnp.ndarray],
              name: str) -> optax.Schedule:
  """Cycles with restarts: ``shape(peak_i, done, left)`` within cycle ``i`` (``peak_i =
  peak_value * cycle_decay**i``; ``done``, ``left``: the elapsed and remaining fractions of
  the cycle, from exact integers), ``end_value`` from cycle ``cycle_limit`` on."""
  if period_mult == 1.0:
    # Cycle i covers [i T_0, (i + 1) T_0): integer arithmetic, any count.
    def position(t: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
      cycle = t // first_period
      done_steps = _anneal.as_float(t - cycle * first_period)
      return cycle, done_steps, first_period - done_steps, jnp.asarray(float(first_period))
  else:
    firsts, offsets, lengths = _cycle_table(first_period, period_mult, cycle_limit)
    if firsts[-1] <= _validation.MAX_COUNT and (cycle_limit is None or cycle_limit > MAX_CYCLES):
      raise ValueError(
          f"{name} with first_period={first_period}, period_mult={period_mult!r} starts more "
          f"than"
          f" {MAX_CYCLES} cycles before count 2**31 - 1: pass a cycle_limit <= {MAX_CYCLES}"
          " or a larger period_mult")
    # Searched: the first counts inside the int32 range. The last entry may lie
    # past it: kept as 2**31 - 1 plus a float excess for the distance to it.
    inside = sum(f <= _validation.MAX_COUNT for f in firsts)
    search = jnp.asarray(firsts[:inside], jnp.int32)
    clipped = jnp.asarray([min(f, _validation.MAX_COUNT) for f in firsts], jnp.int32)
    excess = _anneal.as_float([float(f - min(f, _validation.MAX_COUNT)) for f in firsts])
    offsets = _anneal.as_float(offsets)
    periods = _anneal.as_float(lengths)
    last = len(firsts) - 1

    def position(t: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
      cycle = jnp.searchsorted(search, t, side="right") - 1
      after = jnp.minimum(cycle + 1, last)
      # x = t - S_i and T_i - x = S_(i+1) - t, each from an exact integer difference.
      done_steps = _anneal.as_float(t - clipped[cycle]) + offsets[cycle]
      left_steps = _anneal.as_float(clipped[after] - t) + excess[after] - offsets[after]
      return cycle, done_steps, left_steps, periods[cycle]

  decays = _validation.is_traced(cycle_decay) or cycle_decay != 1.0
  log_decay = jnp.log(cycle_decay) if _validation.is_traced(cycle_decay) else math.log(cycle_decay)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    cycle, done_steps, left_steps, period = position(_anneal.as_count(count))
    done, left = done_steps / period, left_steps / period
    peak = peak_value
    if decays:
      peak = peak_value * jnp.exp(log_decay * _anneal.as_float(cycle))
    value = shape(peak, done, left)
    if cycle_limit is not None:
      value = jnp.where(cycle >= cycle_limit, end_value, value)
    return value

  return schedule


def tanh_decay(
    peak_value: float,
    first_period: int,
    period_mult: float = 1.0,
    end_value: float = 0.0,
    cycle_decay: float = 1.0,
    cycle_limit: int | None = 1,
    lower: float = -7.0,
    upper: float = 3.0,
) -> optax.Schedule:
  r"""Hyperbolic-tangent decay with restarts, equal to timm's ``TanhLRScheduler``.

  Hsueh et al. (2019, "Stochastic gradient descent with hyperbolic-tangent decay"): within
  cycle ``i`` (the cycles of :func:`sgdr`), at elapsed fraction ``r = x / T_i``,

  .. math::
    \eta(t) = \eta_{end} + \frac{\eta_{peak} d^i - \eta_{end}}{2}
      \left(1 - \tanh\left(L (1 - r) + U r\right)\right)

  (``L = lower``, ``U = upper``, ``d = cycle_decay``; computed as ``sigmoid(-2 z)``, exact in
  relative terms near the end). With the defaults ``L = -7, U = 3`` it starts at
  ``(1 - tanh(-7)) / 2 = 0.9999992`` of the peak and ends a cycle at ``0.0025`` of it. This is
  timm's ``TanhLRScheduler(t_initial=first_period, lb=lower, ub=upper, lr_min=end_value,
  cycle_mul=period_mult, cycle_decay=cycle_decay, cycle_limit=cycle_limit)`` stepped per
  update, with timm's default of one cycle (``cycle_limit=1``; ``None``: restart forever);
  cycle starts are exact, as in :func:`sgdr`. Add timm's warmup with :func:`lrsched.warmup`.

  Args:
    peak_value: value at the start of the first cycle (timm's base learning rate), > 0.
    first_period: length of the first cycle in steps, >= 1.
    period_mult: each cycle's length over the previous one's, >= 1.
    end_value: the floor, in [0, ``peak_value``] (``lr_min``).
    cycle_decay: factor applied to the peak at each restart, in (0, 1].
    cycle_limit: number of cycles, >= 1, or ``None``; after it the value is ``end_value``.
    lower, upper: the tanh argument's range over a cycle (timm's ``lb < ub``).

  ``peak_value``, ``end_value``, ``cycle_decay``, ``lower`` and ``upper`` may be traced.

  Returns:
    An ``optax.Schedule``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.tanh_decay(1.0, first_period=10)
    >>> [round(float(schedule(t)), 4) for t in (0, 5, 9, 10)]
    [1.0, 0.982, 0.018, 0.0]
  """
  peak_value, end_value, first_period, period_mult, cycle_decay, cycle_limit = _check_restarts(
      peak_value, end_value, first_period, period_mult, cycle_decay, cycle_limit)
  lower = _validation.finite("lower", lower)
  upper = _validation.finite("upper", upper)
  if not (_validation.is_traced(lower) or _validation.is_traced(upper)) and not lower < upper:
    raise ValueError(f"lower must be below upper (the tanh argument's range over a cycle), "
                     f"got lower={lower!r}, upper={upper!r}")

  def shape(peak: jnp.ndarray, done: jnp.ndarray, left: jnp.ndarray) -> jnp.ndarray:
    z = lower * left + upper * done
    return end_value + (peak - end_value) * jax.nn.sigmoid(-2.0 * z)

  return _restarts(peak_value, first_period, period_mult, end_value, cycle_decay,
                   cycle_limit, shape, "tanh_decay")
