"""Warmup-stable-decay (WSD), the trapezoidal schedule of recent language models."""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

DECAYS = ("linear", "cosine", "sqrt")


def wsd(
    peak_value: float,
    total_steps: int,
    warmup_steps: int,
    decay_steps: int,
    decay: str = "linear",
    end_value: float = 0.0,
) -> optax.Schedule:
  r"""Linear warmup, a constant phase, then a short decay at the end.

  The stable phase lasts ``total_steps - warmup_steps - decay_steps`` steps. With
  ``T = total_steps``, ``W = warmup_steps``, ``D = decay_steps``:

  * ``t < W``: ``peak * t / W`` (starts at 0, as optax's warmups and Hugging
    Face's ``get_wsd_schedule`` do);
  * ``W <= t < T - D``: ``peak``;
  * ``t >= T - D``: ``end + (peak - end) * f(p)`` with progress
    ``p = min(t - (T - D), D) / D`` and ``f`` equal to ``1 - p`` (``"linear"``),
    ``(1 + cos(pi p)) / 2`` (``"cosine"``) or ``1 - sqrt(p)`` (``"sqrt"``).

  The value is ``end_value`` from ``total_steps`` on.

  Args:
    peak_value: value of the stable phase, > 0.
    total_steps: length of the whole schedule, >= 1.
    warmup_steps: length of the warmup, >= 0.
    decay_steps: length of the final decay, >= 1;
      ``warmup_steps + decay_steps <= total_steps``.
    decay: ``"linear"``, ``"cosine"`` or ``"sqrt"``.
    end_value: final value, in [0, ``peak_value``].

  Returns:
    An ``optax.Schedule`` with values in ``[0, peak_value]`` (``[end_value,
    peak_value]`` after the warmup).

  Example:
    >>> import lrsched
    >>> schedule = lrsched.wsd(1.0, total_steps=8, warmup_steps=2, decay_steps=4)
    >>> [float(schedule(t)) for t in range(9)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
  """
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  end_value = _validation.in_range("end_value", end_value, 0.0)
  _validation.ordered("end_value", end_value, "peak_value", peak_value)
  total_steps = _validation.integer("total_steps", total_steps)
  warmup_steps = _validation.integer("warmup_steps", warmup_steps, low=0)
  decay_steps = _validation.integer("decay_steps", decay_steps)
  if warmup_steps + decay_steps > total_steps:
    raise ValueError(
        "warmup_steps + decay_steps must be <= total_steps, got"
        f" {warmup_steps} + {decay_steps} > {total_steps}"
    )
  decay = _validation.choice("decay", decay, DECAYS)
  decay_start = total_steps - decay_steps

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    warm = peak_value * _anneal.as_float(t) / max(warmup_steps, 1)
    left_steps = jnp.clip(total_steps - t, 0, decay_steps)
    done = _anneal.as_float(decay_steps - left_steps) / decay_steps
    left = _anneal.as_float(left_steps) / decay_steps
    if decay == "sqrt":
      # end + (peak - end) * (1 - sqrt(done)); 1 - sqrt(d) == left / (1 + sqrt(d))
      # keeps precision near the end of the decay.
      decayed = end_value + (peak_value - end_value) * left / (1.0 + jnp.sqrt(done))
    else:
      kind = "cos" if decay == "cosine" else "linear"
      decayed = _anneal.anneal(peak_value, end_value, done, left, kind)
    return jnp.where(t < warmup_steps, warm, jnp.where(t < decay_start, peak_value, decayed))

  return schedule
