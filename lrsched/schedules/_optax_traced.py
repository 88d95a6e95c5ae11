"""The values of optax's schedules whose optax function branches on a value in Python.

``optax.exponential_decay`` tests ``decay_rate`` and the piecewise (and onecycle)
schedules check ``scale >= 0`` when they are built: given a JAX tracer there, they
raise. This module computes the same values (the same formulas, written here in
lrsched's own form, not copied) without those Python tests; it is used by
:mod:`lrsched.schedules.optax_names` only when such a value is traced (that module
checks concrete values itself; ``warmup_cosine_decay_schedule``'s ``peak_value == 0``
test is replaced there by a ``jnp.where``). ``tests/schedules/test_traced.py`` compares
them with optax's schedules at concrete values.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike


def _sorted_items(boundaries_and_scales: Mapping[int, ArrayLike] | None) -> list:
  return sorted((boundaries_and_scales or {}).items())


def piecewise_constant(init_value: ArrayLike,
                       boundaries_and_scales: Mapping[int, ArrayLike] | None) -> optax.Schedule:
  """``init_value`` times every scale whose boundary the count has reached (``count >= b``)."""
  items = _sorted_items(boundaries_and_scales)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    value = init_value
    for boundary, scale in items:
      value = jnp.where(count >= boundary, value * scale, value)
    return value

  return schedule


def piecewise_interpolate(interpolate_type: str, init_value: ArrayLike,
                          boundaries_and_scales: Mapping[int, ArrayLike] | None
                          ) -> optax.Schedule:
  """Linear or cosine interpolation between the values ``init * prod(scales up to b_i)``.

  Between boundaries ``b_{i-1} <= count < b_i`` (with ``b_0 = 0``) the value moves from
  ``v_{i-1}`` to ``v_i`` by the fraction ``(count - b_{i-1}) / max(b_i - b_{i-1}, 1)``;
  from the last boundary on it is the last value.
  """
  items = _sorted_items(boundaries_and_scales)
  boundaries = [0] + [b for b, _ in items]

  def mix(start, end, fraction):
    if interpolate_type == "linear":
      return start + (end - start) * fraction
    return end + (start - end) * (1.0 + jnp.cos(jnp.pi * fraction)) / 2.0

  def schedule(count: ArrayLike) -> jnp.ndarray:
    values = [jnp.asarray(init_value)]
    for _, scale in items:
      values.append(values[-1] * scale)
    result = jnp.zeros_like(jnp.asarray(count, jnp.float32) * values[0])
    for i in range(1, len(boundaries)):
      low, high = boundaries[i - 1], boundaries[i]
      inside = (count >= low) & (count < high)
      fraction = (count - low) / max(high - low, 1)
      result = result + jnp.where(inside, mix(values[i - 1], values[i], fraction), 0.0)
    return result + jnp.where(count >= boundaries[-1], values[-1], 0.0)

  return schedule


def exponential_decay(init_value: ArrayLike, transition_steps: int, decay_rate: ArrayLike,
                      transition_begin: int, staircase: bool,
                      end_value: ArrayLike | None) -> optax.Schedule:
  """``init * rate ** ((count - begin) / steps)`` (floored when ``staircase``), bounded.

  ``init_value`` up to ``transition_begin``; ``end_value``, when given, is a lower bound
  for a decay (``rate < 1``) and an upper one for a growth.
  """
  def schedule(count: ArrayLike) -> jnp.ndarray:
    elapsed = count - transition_begin
    exponent = elapsed / transition_steps
    if staircase:
      exponent = jnp.floor(exponent)
    value = jnp.where(elapsed <= 0, init_value, init_value * jnp.power(decay_rate, exponent))
    if end_value is None:
      return value
    return jnp.where(decay_rate < 1.0, jnp.maximum(value, end_value),
                     jnp.minimum(value, end_value))

  return schedule
