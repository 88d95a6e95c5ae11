"""The inverse square-root schedule of Transformers (Vaswani et al. 2017; big_vision, HF)."""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

DEFAULT_TIMESCALE = 10_000
"""Hugging Face's timescale when neither ``timescale`` nor a warmup is given."""


def inverse_sqrt(
    peak_value: float, warmup_steps: int, timescale: int | None = None
) -> optax.Schedule:
  r"""Linear warmup from 0, then decay as the inverse square root of the step.

  With ``W = warmup_steps`` and ``tau = timescale``:

  .. math::
    \eta(t) = \eta_{peak} \frac{t}{W} \; (t < W), \qquad
    \eta(t) = \eta_{peak} \sqrt{\frac{\tau}{t - W + \tau}} \; (t \ge W),

  equal to Hugging Face's ``get_inverse_sqrt_schedule(optimizer,
  num_warmup_steps=W, timescale=tau)`` with ``peak_value`` as the optimizer's
  learning rate (adapted there from big_vision). ``timescale`` defaults to
  ``warmup_steps``, or to 10,000 when there is no warmup, as in Hugging Face.
  The value is ``peak_value`` at ``t = W`` and decays forever (it is still
  positive at ``t = 2**31 - 1``).

  Args:
    peak_value: value at the end of the warmup, > 0.
    warmup_steps: length of the linear warmup from 0, >= 0.
    timescale: steps over which the value falls by ``1 / sqrt(2)`` after the
      warmup, >= 1, or ``None``.

  ``peak_value`` may be traced (``jax.vmap``, ``jax.jit`` or ``jax.grad`` over
  it): checked when concrete, passed through when traced. ``warmup_steps`` and
  ``timescale`` are static Python integers (``100.0`` reads as 100).

  Returns:
    An ``optax.Schedule`` with values in ``[0, peak_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.inverse_sqrt(1.0, warmup_steps=4)
    >>> [round(float(schedule(t)), 4) for t in (0, 2, 4, 8, 16, 40)]
    [0.0, 0.5, 1.0, 0.7071, 0.5, 0.3162]
  """
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  warmup_steps = _validation.integer("warmup_steps", warmup_steps, low=0)
  if timescale is None:
    timescale = warmup_steps or DEFAULT_TIMESCALE
  timescale = _validation.integer("timescale", timescale)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    warm = peak_value * _anneal.as_float(t) / max(warmup_steps, 1)
    since = _anneal.as_float(jnp.maximum(t - warmup_steps, 0))
    decayed = peak_value * jnp.sqrt(timescale / (since + timescale))
    return jnp.where(t < warmup_steps, warm, decayed)

  return schedule
