"""Cyclical learning rates and momentum (Smith 2017; PyTorch ``CyclicLR``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

MODES = ("triangular", "triangular2", "exp_range")


def _amplitude(
    step_size_up: int, step_size_down: int | None, mode: str, gamma: float
) -> Callable[[ArrayLike], jnp.ndarray]:
  """Validates the cycle arguments; returns ``t -> height * scale`` in [0, 1]."""
  up = _validation.integer("step_size_up", step_size_up)
  down = up if step_size_down is None else _validation.integer(
      "step_size_down", step_size_down
  )
  if up + down > _validation.MAX_COUNT:
    raise ValueError(
        f"step_size_up + step_size_down must be <= {_validation.MAX_COUNT}, got {up + down}"
    )
  mode = _validation.choice("mode", mode, MODES)
  gamma = _validation.in_range("gamma", gamma, 0.0, 1.0, low_open=True)
  # gamma**t as exp(t * log(gamma)) with the log taken in float64 here: rounding
  # gamma itself to float32 would put a relative error of t * 6e-8 on gamma**t.
  # A traced gamma is already a float32 (default float) array: its log is too.
  log_gamma = jnp.log(gamma) if _validation.is_traced(gamma) else math.log(gamma)
  total = up + down

  def amplitude(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    position = t % total
    height = jnp.where(
        position <= up, position / up, (total - position) / down
    )
    if mode == "triangular":
      scale = 1.0
    elif mode == "triangular2":
      cycle = t // total  # zero-based; PyTorch's cycle number minus one
      scale = jnp.exp2(-_anneal.as_float(cycle))
    else:
      scale = jnp.exp(log_gamma * _anneal.as_float(t))
    return _anneal.as_float(height) * scale

  return amplitude


def cyclic(
    init_value: float,
    peak_value: float,
    step_size_up: int,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> optax.Schedule:
  r"""Cyclical learning rate, equal step for step to PyTorch's ``CyclicLR``.

  With ``s = step_size_up + step_size_down`` and position ``p = t mod s``, the
  height is ``p / step_size_up`` while rising and ``(s - p) / step_size_down``
  while falling, and

  .. math::
    \eta(t) = \text{init} + (\text{peak} - \text{init}) \cdot \text{height}(t)
      \cdot \text{scale}(t)

  where ``scale`` is 1 (``"triangular"``), ``2^{-\lfloor t/s \rfloor}``
  (``"triangular2"``: the amplitude halves every cycle) or ``gamma^t``
  (``"exp_range"``). PyTorch's ``base_lr`` is ``init_value``, its ``max_lr``
  ``peak_value`` (optax's names for the start and the top).

  Args:
    init_value: lower bound of the cycle (the value at step 0), >= 0.
    peak_value: upper bound of the cycle, >= ``init_value``.
    step_size_up: steps from ``init_value`` to the peak, >= 1.
    step_size_down: steps from the peak back down, >= 1; defaults to
      ``step_size_up``.
    mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
    gamma: per-step amplitude decay of ``"exp_range"``, in (0, 1]; ignored by
      the other modes (as in PyTorch).

  ``init_value``, ``peak_value`` and ``gamma`` may be traced (``jax.vmap``,
  ``jax.jit`` or ``jax.grad`` over them): checked when concrete, passed through
  when traced. The step sizes are static Python integers (``20.0`` reads as 20).

  Returns:
    An ``optax.Schedule`` with values in ``[init_value, peak_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.cyclic(0.0, 1.0, step_size_up=2)
    >>> [float(schedule(t)) for t in range(6)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]
  """
  init_value = _validation.in_range("init_value", init_value, 0.0)
  peak_value = _validation.finite("peak_value", peak_value)
  _validation.ordered("init_value", init_value, "peak_value", peak_value)
  amplitude = _amplitude(step_size_up, step_size_down, mode, gamma)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    height = amplitude(count)
    return _anneal.anneal(init_value, peak_value, height, 1.0 - height, "linear")

  return schedule


def cyclic_momentum(
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> optax.Schedule:
  r"""Momentum cycled inversely to :func:`cyclic`, as ``CyclicLR(cycle_momentum=True)``.

  .. math::
    m(t) = \text{max\_momentum} - (\text{max\_momentum} - \text{base\_momentum})
      \cdot \text{height}(t) \cdot \text{scale}(t)

  Pass the same cycle arguments as to :func:`cyclic` so that momentum is lowest
  where the learning rate peaks. Use it through ``optax.inject_hyperparams``.

  Args:
    base_momentum: momentum at the learning-rate peak, in [0, 1).
    max_momentum: momentum at the start of each cycle, in [``base_momentum``, 1).
    step_size_up: as in :func:`cyclic`.
    step_size_down: as in :func:`cyclic`.
    mode: as in :func:`cyclic`.
    gamma: as in :func:`cyclic`.

  ``base_momentum``, ``max_momentum`` and ``gamma`` may be traced (``jax.vmap``,
  ``jax.jit`` or ``jax.grad`` over them): checked when concrete, passed through
  when traced. The step sizes are static Python integers.

  Returns:
    An ``optax.Schedule`` with values in ``[base_momentum, max_momentum]``.

  Example:
    >>> import lrsched
    >>> momentum = lrsched.cyclic_momentum(0.8, 0.9, step_size_up=2)
    >>> [round(float(momentum(t)), 6) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
  """
  base_momentum = _validation.in_range(
      "base_momentum", base_momentum, 0.0, 1.0, high_open=True
  )
  max_momentum = _validation.in_range(
      "max_momentum", max_momentum, 0.0, 1.0, high_open=True
  )
  _validation.ordered("base_momentum", base_momentum, "max_momentum", max_momentum)
  amplitude = _amplitude(step_size_up, step_size_down, mode, gamma)

  def schedule(count: ArrayLike) -> jnp.ndarray:
    height = amplitude(count)
    return _anneal.anneal(max_momentum, base_momentum, height, 1.0 - height, "linear")

  return schedule
