"""Warmup-stable-decay (WSD), the trapezoidal schedule of recent language models."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

SHAPES = ("linear", "cosine", "1-sqrt")
"""Hugging Face's names for the warmup and cooldown shapes of ``get_wsd_schedule``."""


def _rise(shape: str, done: jnp.ndarray, left: jnp.ndarray) -> jnp.ndarray:
  """Warmup weight in [0, 1] from the elapsed and remaining fractions ``done + left == 1``."""
  if shape == "linear":
    return done
  if shape == "cosine":
    return _anneal.cosine_weight(done)
  # 1 - sqrt(1 - done) == done / (1 + sqrt(left)): no cancellation near the start.
  return done / (1.0 + jnp.sqrt(left))


def _fall(shape: str, done: jnp.ndarray, left: jnp.ndarray) -> jnp.ndarray:
  """Cooldown weight in [0, 1]: 1 at the start of the cooldown, 0 at its end."""
  if shape == "linear":
    return left
  if shape == "cosine":
    return _anneal.cosine_weight(left)
  # 1 - sqrt(done) == left / (1 + sqrt(done)): keeps precision near the end.
  return left / (1.0 + jnp.sqrt(done))


def wsd(
    peak_value: float,
    total_steps: int,
    warmup_steps: int,
    cooldown_steps: int,
    warmup_shape: str = "linear",
    cooldown_shape: str = "cosine",
    end_value: float = 0.0,
) -> optax.Schedule:
  r"""Warmup, a constant phase, then a cooldown: Hugging Face's ``get_wsd_schedule``.

  With ``T = total_steps``, ``W = warmup_steps``, ``C = cooldown_steps`` the
  stable phase lasts ``T - W - C`` steps and

  * ``t < W``: ``end + (peak - end) * r(t / W)``, with ``r(p)`` equal to ``p``
    (``"linear"``), ``(1 - cos(pi p)) / 2`` (``"cosine"``) or ``1 - sqrt(1 - p)``
    (``"1-sqrt"``);
  * ``W <= t < T - C``: ``peak``;
  * ``T - C <= t < T``: ``end + (peak - end) * f(p)`` with ``p = (t - T + C) / C``
    and ``f(p)`` equal to ``1 - p``, ``(1 + cos(pi p)) / 2`` or ``1 - sqrt(p)``;
  * ``t >= T``: ``end`` (held for good).

  This equals ``get_wsd_schedule(optimizer, num_warmup_steps=W,
  num_decay_steps=C, num_training_steps=T, warmup_type=warmup_shape,
  decay_type=cooldown_shape, min_lr_ratio=end_value / peak_value)`` with
  ``peak_value`` as the optimizer's learning rate. The warmup starts at
  ``end_value``, as Hugging Face's ``min_lr_ratio`` does (0 by default).
  ``cooldown_steps`` counts the decay only: optax's ``decay_steps`` is the
  *total* length of a schedule, hence the different name.

  Args:
    peak_value: value of the stable phase, > 0.
    total_steps: length of the whole schedule, >= 1.
    warmup_steps: length of the warmup, >= 0.
    cooldown_steps: length of the final decay, >= 0;
      ``warmup_steps + cooldown_steps <= total_steps``.
    warmup_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
    cooldown_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
    end_value: value at the start of the warmup and from ``total_steps`` on,
      in [0, ``peak_value``].

  ``peak_value`` and ``end_value`` may be traced (``jax.vmap``, ``jax.jit`` or
  ``jax.grad`` over them): checked when concrete, passed through when traced.
  The step counts are static Python integers (``100.0`` reads as 100).

  Returns:
    An ``optax.Schedule`` with values in ``[end_value, peak_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.wsd(1.0, total_steps=8, warmup_steps=2, cooldown_steps=4,
    ...                        cooldown_shape="linear")
    >>> [float(schedule(t)) for t in range(9)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
  """
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  end_value = _validation.in_range("end_value", end_value, 0.0)
  _validation.ordered("end_value", end_value, "peak_value", peak_value)
  total_steps = _validation.integer("total_steps", total_steps)
  warmup_steps = _validation.integer("warmup_steps", warmup_steps, low=0)
  cooldown_steps = _validation.integer("cooldown_steps", cooldown_steps, low=0)
  if warmup_steps + cooldown_steps > total_steps:
    raise ValueError(
        "warmup_steps + cooldown_steps must be <= total_steps, got"
        f" {warmup_steps} + {cooldown_steps} > {total_steps}"
    )
  warmup_shape = _validation.choice("warmup_shape", warmup_shape, SHAPES)
  cooldown_shape = _validation.choice("cooldown_shape", cooldown_shape, SHAPES)
  cooldown_start = total_steps - cooldown_steps
  warmup_length, cooldown_length = max(warmup_steps, 1), max(cooldown_steps, 1)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    warm_left = jnp.clip(warmup_steps - t, 0, warmup_length)
    rise = _rise(warmup_shape, _anneal.as_float(warmup_length - warm_left) / warmup_length,
                 _anneal.as_float(warm_left) / warmup_length)
    cool_left = jnp.clip(total_steps - t, 0, cooldown_length)
    fall = _fall(cooldown_shape, _anneal.as_float(cooldown_length - cool_left) / cooldown_length,
                 _anneal.as_float(cool_left) / cooldown_length)
    weight = jnp.where(t < warmup_steps, rise,
                       jnp.where(t < cooldown_start, 1.0, jnp.where(t < total_steps, fall, 0.0)))
    return end_value + (peak_value - end_value) * weight

  return schedule


def wsd_s(
    peak_value: float,
    boundaries: Sequence[int],
    cooldown_steps: int,
    warmup_steps: int = 0,
    cooldown_shape: str = "1-sqrt",
    end_value: float = 0.0,
) -> optax.Schedule:
  r"""WSD-S (Wen et al. 2024): one stable run with a cooldown before every budget, each
  cooldown's end continued at the peak rate (no rewind to the stable checkpoint).

  With budgets ``b_1 < b_2 < ... < b_K`` (``boundaries``) and ``C = cooldown_steps``: a
  warmup of ``warmup_steps`` from ``end_value`` to ``peak_value`` (linear), then in each
  segment ``[b_{i-1}, b_i)`` (``b_0 = 0``) ``peak_value`` until ``b_i - C`` and the
  cooldown ``end + (peak - end) f(p)``, ``p = (t - b_i + C) / C`` (``f`` as in
  :func:`wsd`: ``1 - p``, ``(1 + cos(pi p)) / 2`` or ``1 - sqrt(p)``); the rate jumps back
  to ``peak_value`` at ``b_i`` and is ``end_value`` from ``b_K`` on. The model at step
  ``b_i`` is the budget-``b_i`` model; :func:`wsd` with ``total_steps = b_1`` is the
  one-budget case. (Branching a cooldown from a stable checkpoint instead --
  ``lrsched.train.cooldown`` -- keeps the stable run free of decays.)

  Args:
    peak_value: the stable rate, > 0.
    boundaries: the budgets, increasing integers >= 1; each segment at least
      ``cooldown_steps`` long (the first also holds the warmup).
    cooldown_steps: each cooldown's length, >= 1.
    warmup_steps: >= 0, within the first segment's stable part.
    cooldown_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
    end_value: the rate at each cooldown's end, in ``[0, peak_value]``.

  Returns:
    An ``optax.Schedule``.

  Raises:
    ValueError: bad values, boundaries not increasing, or a segment shorter than its
      cooldown (plus the warmup in the first).

  Example:
    >>> import lrsched
    >>> schedule = lrsched.wsd_s(1.0, boundaries=[4, 8], cooldown_steps=2,
    ...                          cooldown_shape="linear")
    >>> [float(schedule(t)) for t in range(10)]
    [1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
  """
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  end_value = _validation.in_range("end_value", end_value, 0.0)
  _validation.ordered("end_value", end_value, "peak_value", peak_value)
  ends = _validation.increasing_integers("boundaries", boundaries)
  cooldown_steps = _validation.integer("cooldown_steps", cooldown_steps)
  warmup_steps = _validation.integer("warmup_steps", warmup_steps, low=0)
  cooldown_shape = _validation.choice("cooldown_shape", cooldown_shape, SHAPES)
  for i, (start, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
    need = cooldown_steps + (warmup_steps if i == 0 else 0)
    if end - start < need:
      raise ValueError(f"boundaries: segment {i} [{start}, {end}) is {end - start} steps, "
                       f"shorter than its cooldown_steps {cooldown_steps}"
                       + (f" + warmup_steps {warmup_steps}" if i == 0 and warmup_steps else ""))
  table = jnp.asarray(ends)
  warmup_length = max(warmup_steps, 1)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    end = table[jnp.minimum(jnp.searchsorted(table, t, side="right"), len(ends) - 1)]
    left = jnp.clip(end - t, 0, cooldown_steps)
    fall = _fall(cooldown_shape, _anneal.as_float(cooldown_steps - left) / cooldown_steps,
                 _anneal.as_float(left) / cooldown_steps)
    rise = _anneal.as_float(jnp.minimum(t, warmup_length)) / warmup_length
    weight = jnp.where(t < warmup_steps, rise,
                       jnp.where(t >= ends[-1], 0.0,
                                 jnp.where(end - t <= cooldown_steps, fall, 1.0)))
    return end_value + (peak_value - end_value) * weight

  return schedule
