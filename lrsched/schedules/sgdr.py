"""SGDR: cosine annealing with warm restarts (Loshchilov & Hutter)."""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation


def cycle_starts(first_period: int, period_mult: int) -> list[int]:
  """Start counts of every cycle that begins at a count <= ``2**31 - 1``.

  Only defined for ``period_mult >= 2``: cycle ``i`` is ``first_period *
  period_mult**i`` steps long, so at most 31 cycles start inside the int32 range.
  Snapshot ensembles use these boundaries to know when a cycle ends.
  """
  starts, start, period = [], 0, first_period
  while start <= _validation.MAX_COUNT:
    starts.append(start)
    start, period = start + period, period * period_mult
  return starts


def sgdr(
    max_value: float,
    first_period: int,
    period_mult: int = 1,
    min_value: float = 0.0,
) -> optax.Schedule:
  r"""Cosine annealing with warm restarts, equal to ``CosineAnnealingWarmRestarts``.

  Within cycle ``i`` (length ``T_i = first_period * period_mult**i``), at
  position ``T_cur``:

  .. math::
    \eta = \eta_{min} + \frac{\eta_{max} - \eta_{min}}{2}
      \left(1 + \cos\left(\pi \frac{T_{cur}}{T_i}\right)\right)

  and the value restarts at ``max_value`` when a cycle ends. Every cycle is in
  closed form under jit, for any int32 count: with ``period_mult == 1`` the
  position is ``t mod first_period``; otherwise the cycle is found by a search in
  the (at most 31) cycle start counts.

  Args:
    max_value: value at the start of every cycle, >= ``min_value``.
    first_period: length of the first cycle in steps, >= 1.
    period_mult: integer factor by which each cycle is longer than the previous
      one, >= 1 (PyTorch's ``T_mult``).
    min_value: value approached at the end of every cycle, >= 0.

  Returns:
    An ``optax.Schedule`` with values in ``[min_value, max_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.sgdr(1.0, first_period=2, period_mult=2)
    >>> [round(float(schedule(t)), 4) for t in range(7)]
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
  """
  max_value = _validation.finite("max_value", max_value)
  min_value = _validation.in_range("min_value", min_value, 0.0)
  _validation.ordered("min_value", min_value, "max_value", max_value)
  first_period = _validation.integer("first_period", first_period)
  period_mult = _validation.integer("period_mult", period_mult)

  if period_mult == 1:
    def position(t: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
      return t % first_period, jnp.asarray(first_period)
  else:
    starts = cycle_starts(first_period, period_mult)
    starts_array = jnp.asarray(starts, dtype=jnp.int32)
    # Lengths as floats: the last cycle may be longer than the int32 range.
    periods = _anneal.as_float(
        [float(first_period * period_mult**i) for i in range(len(starts))]
    )

    def position(t: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
      cycle = jnp.searchsorted(starts_array, t, side="right") - 1
      return t - starts_array[cycle], periods[cycle]

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t_cur, period = position(_anneal.as_count(count))
    t_cur = _anneal.as_float(t_cur)
    done, left = t_cur / period, (period - t_cur) / period
    return _anneal.anneal(max_value, min_value, done, left, "cos")

  return schedule
