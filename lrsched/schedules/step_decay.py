"""Step decay (PyTorch ``MultiStepLR``) and per-epoch stepping."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation


def step_decay(
    init_value: float, boundaries: Sequence[int], factor: float = 0.1
) -> optax.Schedule:
  r"""Multiplies the value by ``factor`` at each boundary, like ``MultiStepLR``.

  .. math::
    \eta(t) = \eta_0 \cdot \text{factor}^{\#\{b \in \text{boundaries} : b \le t\}}

  The value at count ``t`` equals PyTorch's ``MultiStepLR(milestones=boundaries,
  gamma=factor)`` learning rate after ``t`` calls of ``scheduler.step()``.

  Args:
    init_value: value before the first boundary, >= 0.
    boundaries: strictly increasing step counts >= 1 at which the value decays.
      May be empty (a constant schedule).
    factor: multiplier applied at each boundary, in (0, 1].

  ``init_value`` and ``factor`` may be traced (``jax.vmap``, ``jax.jit`` or
  ``jax.grad`` over them): checked when concrete, passed through when traced.
  ``boundaries`` are static Python integers (``30.0`` reads as 30).

  Returns:
    An ``optax.Schedule`` with values in ``[init_value * factor**len(boundaries),
    init_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.step_decay(0.1, boundaries=[3, 5])
    >>> [round(float(schedule(t)), 6) for t in range(7)]
    [0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
  """
  init_value = _validation.in_range("init_value", init_value, 0.0)
  bounds = _validation.increasing_integers("boundaries", boundaries)
  factor = _validation.in_range("factor", factor, 0.0, 1.0, low_open=True)
  bounds_array = jnp.asarray(bounds, dtype=jnp.int32)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    passed = jnp.sum(t[..., None] >= bounds_array, axis=-1)
    return init_value * jnp.power(factor, _anneal.as_float(passed))

  return schedule


def per_epoch(schedule: optax.Schedule, steps_per_epoch: int) -> optax.Schedule:
  """Steps ``schedule`` once per epoch, as PyTorch code that calls
  ``scheduler.step()`` at the end of each epoch does.

  ``per_epoch(s, n)(count) == s(count // n)``: a schedule written in epochs (for
  example ``step_decay(0.1, [30, 60])`` for "decay at epochs 30 and 60") becomes a
  per-step optax schedule that stays constant within each epoch. To keep per-step
  resolution instead (a smooth cosine over 200 epochs), state the durations in
  epochs in a spec and let :func:`lrsched.from_spec` convert them.

  Args:
    schedule: a schedule whose count is the epoch index.
    steps_per_epoch: optimizer steps per epoch, >= 1, a static integer
      (``100.0`` reads as 100). ``schedule`` may close over traced values (a
      schedule built inside ``jax.vmap``): ``per_epoch`` only maps the count.

  Returns:
    An ``optax.Schedule`` of the step count.

  Example:
    >>> import lrsched
    >>> s = lrsched.per_epoch(lrsched.step_decay(1.0, [2]), steps_per_epoch=3)
    >>> [round(float(s(t)), 6) for t in range(8)]
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1]
  """
  steps_per_epoch = _validation.integer("steps_per_epoch", steps_per_epoch)

  def stepped(count: ArrayLike) -> jnp.ndarray:
    return schedule(_anneal.as_count(count) // steps_per_epoch)

  return stepped
