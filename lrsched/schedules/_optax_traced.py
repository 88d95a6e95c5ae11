"""optax's formulas for the schedules whose optax function branches on a value in Python.

``optax.exponential_decay`` tests ``decay_rate`` and the piecewise (and onecycle)
schedules check ``scale >= 0`` when they are built: given a JAX tracer there, they
raise. These are the same formulas without those Python tests, used by
:mod:`lrsched.schedules.optax_names` when such a value is traced (it checks
concrete values itself; ``warmup_cosine_decay_schedule``'s ``peak_value == 0``
test is replaced there by a ``jnp.where``).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike


def piecewise_constant(init_value: ArrayLike,
                       boundaries_and_scales: Mapping[int, ArrayLike] | None) -> optax.Schedule:
  """optax's ``piecewise_constant_schedule`` formula, without its Python check of the scales."""
  def schedule(count: ArrayLike) -> jnp.ndarray:
    v = init_value
    for threshold, scale in sorted((boundaries_and_scales or {}).items()):
      indicator = jnp.maximum(0.0, jnp.sign(threshold - count))
      v = v * indicator + (1 - indicator) * scale * v
    return v

  return schedule


def piecewise_interpolate(interpolate_type: str, init_value: ArrayLike,
                          boundaries_and_scales: Mapping[int, ArrayLike] | None
                          ) -> optax.Schedule:
  """optax's ``piecewise_interpolate_schedule`` formula, without its Python check of the scales."""
  if boundaries_and_scales:
    boundaries, scales = zip(*sorted(boundaries_and_scales.items()), strict=True)
  else:
    boundaries, scales = (), ()

  def interpolate(start, end, pct):
    if interpolate_type == "linear":
      return (end - start) * pct + start
    return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    bounds = jnp.stack((0, *boundaries))
    values = jnp.cumprod(jnp.stack((init_value, *scales)))
    interval_sizes = jnp.maximum(bounds[1:] - bounds[:-1], 1)
    indicator = jnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
    pct = (count - bounds[:-1]) / interval_sizes
    return indicator.dot(interpolate(values[:-1], values[1:], pct)) + (
        bounds[-1] <= count) * values[-1]

  return schedule


def exponential_decay(init_value: ArrayLike, transition_steps: int, decay_rate: ArrayLike,
                      transition_begin: int, staircase: bool,
                      end_value: ArrayLike | None) -> optax.Schedule:
  """optax's ``exponential_decay`` for a traced ``decay_rate`` (optax branches on its value)."""
  def schedule(count: ArrayLike) -> jnp.ndarray:
    decreased_count = count - transition_begin
    p = decreased_count / transition_steps
    if staircase:
      p = jnp.floor(p)
    value = jnp.where(decreased_count <= 0, init_value,
                      init_value * jnp.power(decay_rate, p))
    if end_value is not None:  # a lower bound when decaying, an upper one when growing
      value = jnp.where(decay_rate < 1.0, jnp.maximum(value, end_value),
                        jnp.minimum(value, end_value))
    return value

  return schedule
