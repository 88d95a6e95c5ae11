"""The 1cycle policy (Smith & Topin) with PyTorch ``OneCycleLR`` semantics."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

ANNEALS = ("cos", "linear")


def _phase_ends(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
  """Validated phase end steps, exactly as ``OneCycleLR`` places them."""
  three_phase = _validation.boolean("three_phase", three_phase)
  total_steps = _validation.integer("total_steps", total_steps, low=2)
  pct_start = _validation.in_range(
      "pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True
  )
  first = pct_start * total_steps - 1.0
  traced = _validation.is_traced(pct_start)  # the checks below need its value
  if not traced and first <= 0.0:
    raise ValueError(
        "pct_start * total_steps must be > 1 so the warm-up phase has a length,"
        f" got pct_start={pct_start} * total_steps={total_steps} = {first + 1.0}"
    )
  last = float(total_steps - 1)
  if not three_phase:
    return [first, last]
  second = 2.0 * pct_start * total_steps - 2.0
  if not traced and second >= last:
    raise ValueError(
        "three_phase needs 2 * pct_start * total_steps - 2 < total_steps - 1 so the"
        f" third phase has a length, got pct_start={pct_start},"
        f" total_steps={total_steps}"
    )
  return [first, second, last]


def _piecewise(
    ends: Sequence[float], values: Sequence[float], anneal: str
) -> optax.Schedule:
  """Anneals ``values[i] -> values[i + 1]`` over phase ``i`` ending at ``ends[i]``.

  Phase ``i`` is the first with ``t <= ends[i]`` (the last phase otherwise), and
  starts at ``ends[i - 1]`` (0 for the first), as in ``OneCycleLR.get_lr``. The
  count is clamped to ``ends[-1]``, so the final value is held afterwards.
  """
  starts = [0.0, *ends[:-1]]

  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_float(jnp.minimum(_anneal.as_count(count), int(ends[-1])))
    value = None
    for i in reversed(range(len(ends))):
      length = ends[i] - starts[i]
      done, left = (t - starts[i]) / length, (ends[i] - t) / length
      phase_value = _anneal.anneal(values[i], values[i + 1], done, left, anneal)
      value = phase_value if value is None else jnp.where(t <= ends[i], phase_value, value)
    return value

  return schedule


def one_cycle(
    total_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> optax.Schedule:
  r"""The 1cycle learning rate, equal step for step to PyTorch's ``OneCycleLR``.

  The value starts at ``initial = peak_value / div_factor``, rises to
  ``peak_value`` over the first ``pct_start`` of the steps, then anneals to
  ``initial / final_div_factor``. With ``three_phase=True`` it first comes back
  down to ``initial`` symmetrically, then anneals to the minimum. The ``"cos"``
  anneal over a phase from ``a`` to ``b`` is

  .. math::
    \eta = b + \frac{a - b}{2} \left(1 + \cos(\pi \cdot \text{pct})\right)

  Phase boundaries are PyTorch's: phase one ends at step
  ``pct_start * total_steps - 1``, the last at ``total_steps - 1``. PyTorch raises
  past ``total_steps``; this schedule holds its final value instead.

  Args:
    total_steps: number of steps in the cycle, >= 2.
    peak_value: peak value (PyTorch's ``max_lr``), > 0.
    pct_start: fraction of the steps spent rising, in (0, 1);
      ``pct_start * total_steps`` must exceed 1.
    div_factor: ``initial = peak_value / div_factor``, > 0.
    final_div_factor: ``minimum = initial / final_div_factor``, > 0.
    anneal: ``"cos"`` or ``"linear"``.
    three_phase: use the three-phase variant of the original paper (a bool).

  ``peak_value``, ``pct_start``, ``div_factor`` and ``final_div_factor`` may be
  traced (``jax.vmap``, ``jax.jit`` or ``jax.grad`` over them): checked when
  concrete (a traced ``initial`` or minimum is computed in float32), passed
  through when traced. ``total_steps`` is a static Python integer (``100.0``
  reads as 100); ``anneal`` and ``three_phase`` are static too.

  Returns:
    An ``optax.Schedule`` with values between the smallest and largest of
    ``initial``, ``peak_value`` and the minimum.

  Raises:
    ValueError: on an argument out of range, or when ``initial`` or the minimum
      falls outside the float32 range (``div_factor=1e-300``).

  Example:
    >>> import lrsched
    >>> schedule = lrsched.one_cycle(total_steps=100, peak_value=0.1)
    >>> print(f"{float(schedule(0)):.4f} {float(schedule(29)):.4f} {float(schedule(99)):.7f}")
    0.0040 0.1000 0.0000004
  """
  ends = _phase_ends(total_steps, pct_start, three_phase)
  peak_value = _validation.in_range("peak_value", peak_value, 0.0, low_open=True)
  div_factor = _validation.in_range("div_factor", div_factor, 0.0, low_open=True)
  final_div_factor = _validation.in_range(
      "final_div_factor", final_div_factor, 0.0, low_open=True
  )
  anneal = _validation.choice("anneal", anneal, ANNEALS)
  initial = _validation.representable(
      "initial", peak_value / div_factor,
      f"peak_value / div_factor = {peak_value!r} / {div_factor!r}",
  )
  minimum = _validation.representable(
      "minimum", initial / final_div_factor,
      f"initial / final_div_factor = {initial!r} / {final_div_factor!r}",
  )
  if three_phase:
    values = [initial, peak_value, initial, minimum]
  else:
    values = [initial, peak_value, minimum]
  return _piecewise(ends, values, anneal)


def one_cycle_momentum(
    total_steps: int,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    pct_start: float = 0.3,
    anneal: str = "cos",
    three_phase: bool = False,
) -> optax.Schedule:
  """The momentum partner of :func:`one_cycle`, as ``OneCycleLR(cycle_momentum=True)``.

  Momentum moves inversely to the learning rate: from ``max_momentum`` down to
  ``base_momentum`` while the learning rate rises, then back up (with
  ``three_phase``, it stays at ``max_momentum`` in the third phase). Pass the same
  ``total_steps``, ``pct_start``, ``anneal`` and ``three_phase`` as to
  :func:`one_cycle`, and use it through ``optax.inject_hyperparams`` (as
  ``momentum`` of ``optax.sgd`` or ``b1`` of ``optax.adam``).

  Args:
    total_steps: as in :func:`one_cycle`.
    base_momentum: momentum at the learning-rate peak, in [0, 1).
    max_momentum: momentum at the start and end, in [``base_momentum``, 1).
    pct_start: as in :func:`one_cycle`.
    anneal: as in :func:`one_cycle`.
    three_phase: as in :func:`one_cycle`.

  ``base_momentum``, ``max_momentum`` and ``pct_start`` may be traced
  (``jax.vmap``, ``jax.jit`` or ``jax.grad`` over them): checked when concrete,
  passed through when traced. ``total_steps`` is a static Python integer.

  Returns:
    An ``optax.Schedule`` with values in ``[base_momentum, max_momentum]``.

  Example:
    >>> import lrsched
    >>> momentum = lrsched.one_cycle_momentum(total_steps=100)
    >>> print(f"{float(momentum(0)):.2f} {float(momentum(29)):.2f} {float(momentum(99)):.2f}")
    0.95 0.85 0.95
  """
  ends = _phase_ends(total_steps, pct_start, three_phase)
  base_momentum = _validation.in_range(
      "base_momentum", base_momentum, 0.0, 1.0, high_open=True
  )
  max_momentum = _validation.in_range(
      "max_momentum", max_momentum, 0.0, 1.0, high_open=True
  )
  _validation.ordered("base_momentum", base_momentum, "max_momentum", max_momentum)
  anneal = _validation.choice("anneal", anneal, ANNEALS)
  if three_phase:
    values = [max_momentum, base_momentum, max_momentum, max_momentum]
  else:
    values = [max_momentum, base_momentum, max_momentum]
  return _piecewise(ends, values, anneal)
