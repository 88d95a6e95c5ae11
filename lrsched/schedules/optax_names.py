"""optax's schedules under optax's names and arguments, with lrsched's argument checks.

Each function here has the name, the arguments and the values of the optax
schedule it wraps (``optax.<name>``), so a ported call or spec means the same
thing; the differences are lrsched's:

* arguments are checked when the schedule is built: a NaN, a string, a value
  beyond float32, a negative step count or a non-bool ``staircase`` raises
  ``ValueError`` naming the argument (optax takes them and gives NaN later, or
  warns and returns a constant);
* the count goes through lrsched's counter (negative counts read as 0, counts
  above ``2**31 - 1`` saturate) and the value has the shape of the count (so
  ``constant_schedule`` evaluates on a vector of counts);
* parameter choices that would leave the float range at some int32 count are
  refused (an ``exponential_decay`` growing without an ``end_value`` bound);
* every real-valued argument (values, ``alpha``, ``exponent``, ``power``,
  ``decay_rate``, scales, div factors) may be traced (``jax.vmap``, ``jax.jit`` or
  ``jax.grad`` over it), also where optax's own function branches on it in Python
  (``warmup_cosine_decay_schedule``'s ``peak_value``, ``exponential_decay``'s
  ``decay_rate``, the scales of the piecewise and onecycle schedules): checked
  when concrete, passed through when traced, with optax's formulas. Step counts,
  ``pct_start`` and ``pct_final`` (they place integer boundaries) are static;
  integral floats (``100.0``) are taken as integers.

The registry knows every one of them by optax's name, and the older short names
(``constant``, ``cosine_decay``, ``warmup_cosine_decay``, ``linear``,
``piecewise_constant``) too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _optax_traced, _validation
from lrsched.schedules.compose import join

INTERPOLATE_TYPES = ("linear", "cosine")


def _counted(schedule: Callable[[ArrayLike], ArrayLike]) -> optax.Schedule:
  """Runs an optax schedule on lrsched's counter, elementwise: the value has the count's shape.

  (Some optax schedules take only a scalar count: ``piecewise_interpolate_schedule``
  and the onecycles built on it; ``constant_schedule`` ignores the count's shape.)
  """
  elementwise = jnp.vectorize(lambda count: jnp.asarray(schedule(count)))

  def counted(count: ArrayLike) -> jnp.ndarray:
    return elementwise(_anneal.as_count(count))

  return counted


def _value(name: str, value: object) -> float | jax.Array:
  return _validation.finite(name, value)


def _static_fraction(name: str, value: object) -> float:
  _validation.not_traced(name, value, "optax places integer phase boundaries at"
                         f" int({name} * transition_steps) when the schedule is built")
  return _validation.in_range(name, value, 0.0, 1.0, low_open=True, high_open=True)


def _steps(name: str, value: object, low: int = 1) -> int:
  return _validation.integer(name, value, low=low)


def _scales(name: str, init_value: float,
            boundaries_and_scales: Mapping[object, object] | None) -> dict[int, float] | None:
  """Checks ``{boundary: scale}``: integer boundaries >= 0, scales >= 0, products in range."""
  if boundaries_and_scales is None:
    return None
  if not isinstance(boundaries_and_scales, Mapping):
    raise ValueError(f"{name} must be a dict {{boundary: scale}}, got {boundaries_and_scales!r}")
  checked = {}
  for key, scale in boundaries_and_scales.items():
    boundary = _validation.integer(f"{name} boundary", key, low=0)
    checked[boundary] = _validation.in_range(f"{name}[{boundary}]", scale, 0.0)
  value = init_value
  for boundary in sorted(checked):
    value *= checked[boundary]
    _validation.representable(f"the value after boundary {boundary}", value,
                              f"init_value times the scales of {name} up to it")
  return checked


def constant_schedule(value: float) -> optax.Schedule:
  """``optax.constant_schedule``: the same value at every count.

  ``value`` may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked when concrete, passed
  through when traced; step counts are static integers (``100.0`` reads as 100).

  Example:
    >>> from lrsched.schedules.optax_names import constant_schedule
    >>> constant_schedule(0.5)(jnp.arange(3)).tolist()
    [0.5, 0.5, 0.5]
  """
  return _counted(optax.constant_schedule(_value("value", value)))


def cosine_decay_schedule(init_value: float, decay_steps: int, alpha: float = 0.0,
                          exponent: float = 1.0) -> optax.Schedule:
  """``optax.cosine_decay_schedule``: cosine from ``init_value`` to ``alpha * init_value``.

  ``init_value * ((1 - alpha) * ((1 + cos(pi t / T)) / 2) ** exponent + alpha)``
  for ``t <= T = decay_steps``, then ``alpha * init_value``.
  ``decay_steps >= 1``, ``alpha`` in [0, 1], ``exponent > 0``.

  ``init_value``, ``alpha`` and ``exponent`` may be traced (``jax.vmap``, ``jax.jit``,
  ``jax.grad``): checked when concrete, passed through when traced; step counts are static
  integers (``100.0`` reads as 100).
  """
  return _counted(optax.cosine_decay_schedule(
      _value("init_value", init_value), _steps("decay_steps", decay_steps),
      _validation.in_range("alpha", alpha, 0.0, 1.0),
      _validation.in_range("exponent", exponent, 0.0, low_open=True)))


def warmup_cosine_decay_schedule(init_value: float, peak_value: float, warmup_steps: int,
                                 decay_steps: int, end_value: float = 0.0,
                                 exponent: float = 1.0) -> optax.Schedule:
  """``optax.warmup_cosine_decay_schedule``: linear warmup, then cosine to ``end_value``.

  ``decay_steps`` is the *total* length, warmup included (optax's meaning), so
  ``decay_steps > warmup_steps >= 0`` is required; ``exponent > 0``.

  ``init_value``, ``peak_value``, ``end_value`` and ``exponent`` may be traced (``jax.vmap``,
  ``jax.jit``, ``jax.grad``): checked when concrete, passed through when traced; step counts are
  static integers (``100.0`` reads as 100).
  """
  warmup_steps = _steps("warmup_steps", warmup_steps, low=0)
  decay_steps = _steps("decay_steps", decay_steps)
  if decay_steps <= warmup_steps:
    raise ValueError(
        "decay_steps (the total length, warmup included) must be > warmup_steps, got"
        f" decay_steps={decay_steps} <= warmup_steps={warmup_steps}")
  init_value, peak_value = _value("init_value", init_value), _value("peak_value", peak_value)
  end_value = _value("end_value", end_value)
  exponent = _validation.in_range("exponent", exponent, 0.0, low_open=True)
  if not _validation.is_traced(peak_value):
    return _counted(optax.warmup_cosine_decay_schedule(
        init_value, peak_value, warmup_steps, decay_steps, end_value, exponent))
  # optax's composition, with its `0 if peak_value == 0 else end_value / peak_value` traced.
  zero = peak_value == 0.0
  alpha = jnp.where(zero, 0.0, end_value / jnp.where(zero, 1.0, peak_value))
  return _counted(optax.join_schedules([
      optax.linear_schedule(init_value, peak_value, warmup_steps),
      optax.cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
  ], [warmup_steps]))


def linear_schedule(init_value: float, end_value: float, transition_steps: int,
                    transition_begin: int = 0) -> optax.Schedule:
  """``optax.linear_schedule``: linear from ``init_value`` to ``end_value``.

  Held at ``init_value`` until ``transition_begin``, linear over
  ``transition_steps >= 1`` steps, then held at ``end_value``.

  ``init_value`` and ``end_value`` may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``):
  checked when concrete, passed through when traced; step counts are static integers (``100.0``
  reads as 100).
  """
  return _counted(optax.linear_schedule(
      _value("init_value", init_value), _value("end_value", end_value),
      _steps("transition_steps", transition_steps),
      _steps("transition_begin", transition_begin, low=0)))


def polynomial_schedule(init_value: float, end_value: float, power: float,
                        transition_steps: int, transition_begin: int = 0) -> optax.Schedule:
  """``optax.polynomial_schedule``: ``end + (init - end) * (1 - t / T) ** power``.

  Held at ``init_value`` until ``transition_begin``, then over
  ``transition_steps >= 1`` steps; ``power > 0``.

  ``init_value``, ``end_value`` and ``power`` may be traced (``jax.vmap``, ``jax.jit``,
  ``jax.grad``): checked when concrete, passed through when traced; step counts are static
  integers (``100.0`` reads as 100).
  """
  return _counted(optax.polynomial_schedule(
      _value("init_value", init_value), _value("end_value", end_value),
      _validation.in_range("power", power, 0.0, low_open=True),
      _steps("transition_steps", transition_steps),
      _steps("transition_begin", transition_begin, low=0)))


def exponential_decay(init_value: float, transition_steps: int, decay_rate: float,
                      transition_begin: int = 0, staircase: bool = False,
                      end_value: float | None = None) -> optax.Schedule:
  """``optax.exponential_decay``: ``init * decay_rate ** ((t - begin) / transition_steps)``.

  ``decay_rate > 0``; a ``decay_rate > 1`` grows and needs ``end_value`` as its
  upper bound (otherwise the value would overflow to inf at some int32 count;
  not checked for a traced ``decay_rate``).
  ``staircase`` (a bool) floors the exponent.

  ``init_value``, ``decay_rate`` and ``end_value`` may be traced (``jax.vmap``, ``jax.jit``,
  ``jax.grad``): checked when concrete, passed through when traced; step counts are static
  integers (``100.0`` reads as 100).
  """
  return _counted(_exponential_decay(init_value, transition_steps, decay_rate,
                                     transition_begin, staircase, end_value))


def _exponential_decay(init_value: object, transition_steps: object, decay_rate: object,
                       transition_begin: object, staircase: object,
                       end_value: object) -> optax.Schedule:
  """The checked ``exponential_decay`` on optax's counter (plain counts)."""
  init_value = _value("init_value", init_value)
  decay_rate = _validation.in_range("decay_rate", decay_rate, 0.0, low_open=True)
  if end_value is not None:
    end_value = _value("end_value", end_value)
  elif not _validation.is_traced(decay_rate) and decay_rate > 1.0:
    raise ValueError(
        f"decay_rate={decay_rate!r} > 1 grows without bound and overflows float32: give"
        " end_value, its upper bound")
  arguments = (init_value, _steps("transition_steps", transition_steps), decay_rate,
               _steps("transition_begin", transition_begin, low=0),
               _validation.boolean("staircase", staircase), end_value)
  if _validation.is_traced(decay_rate):
    return _optax_traced.exponential_decay(*arguments)
  return optax.exponential_decay(*arguments)


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> optax.Schedule:
  """``optax.piecewise_constant_schedule``: multiply by ``scale`` from each ``boundary`` on.

  Boundaries are integer counts >= 0, scales >= 0 (JSON keys such as ``"30"``
  are converted by the registry).

  ``init_value`` and the scales may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked
  when concrete, passed through when traced; step counts are static integers (``100.0`` reads as
  100).
  """
  init_value = _value("init_value", init_value)
  scales = _scales("boundaries_and_scales", init_value, boundaries_and_scales)
  if scales and _validation.any_traced(*scales.values()):
    return _counted(_optax_traced.piecewise_constant(init_value, scales))
  return _counted(optax.piecewise_constant_schedule(init_value, scales))


def piecewise_interpolate_schedule(
    interpolate_type: str, init_value: float,
    boundaries_and_scales: Mapping[int, float] | None = None
) -> optax.Schedule:
  """``optax.piecewise_interpolate_schedule``: ``"linear"`` or ``"cosine"`` between scaled values.

  The value reaches ``init_value`` times the scales up to a boundary at that
  boundary, interpolated from the previous one.

  ``init_value`` and the scales may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked
  when concrete, passed through when traced; step counts are static integers (``100.0`` reads as
  100).
  """
  interpolate_type = _validation.choice("interpolate_type", interpolate_type, INTERPOLATE_TYPES)
  init_value = _value("init_value", init_value)
  scales = _scales("boundaries_and_scales", init_value, boundaries_and_scales)
  # optax <= 0.2.5 converts init_value with NumPy too: any traced value takes our formula.
  if _validation.any_traced(init_value, *(scales or {}).values()):
    return _counted(_optax_traced.piecewise_interpolate(interpolate_type, init_value, scales))
  return _counted(optax.piecewise_interpolate_schedule(interpolate_type, init_value, scales))


def _onecycle_values(transition_steps: object, peak_value: object, pct_start: object,
                     div_factor: object, final_div_factor: object
                     ) -> tuple[int, float | jax.Array, float | jax.Array, float | jax.Array]:
  transition_steps = _steps("transition_steps", transition_steps)
  peak_value = _value("peak_value", peak_value)
  _static_fraction("pct_start", pct_start)
  div_factor = _validation.in_range("div_factor", div_factor, 0.0, low_open=True)
  final_div_factor = _validation.in_range("final_div_factor", final_div_factor, 0.0,
                                          low_open=True)
  initial = _validation.representable("initial", peak_value / div_factor,
                                      "peak_value / div_factor")
  _validation.representable("the final value", initial / final_div_factor,
                            "peak_value / div_factor / final_div_factor")
  return transition_steps, peak_value, div_factor, final_div_factor


def _distinct(points: Sequence[tuple[str, int]]) -> None:
  """optax keys its phases by these integer boundaries: equal ones would merge silently."""
  for (a_name, a), (b_name, b) in zip(points, points[1:], strict=False):
    if not 0 < a < b:
      raise ValueError(
          f"the phase boundaries must satisfy 0 < {a_name} < {b_name}, got {a_name}={a},"
          f" {b_name}={b}: use more transition_steps or other pct_* values")


def linear_onecycle_schedule(transition_steps: int, peak_value: float, pct_start: float = 0.3,
                             pct_final: float = 0.85, div_factor: float = 25.0,
                             final_div_factor: float = 1e4) -> optax.Schedule:
  """``optax.linear_onecycle_schedule``: 1cycle with linear phases (up, down, anneal).

  ``0 < int(pct_start T) < int(pct_final T) < T`` is required (optax would merge
  equal boundaries silently).

  ``peak_value``, ``div_factor`` and ``final_div_factor`` may be traced (``pct_start`` and
  ``pct_final`` are static) (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked when concrete,
  passed through when traced; step counts are static integers (``100.0`` reads as 100).
  """
  transition_steps, peak_value, div_factor, final_div_factor = _onecycle_values(
      transition_steps, peak_value, pct_start, div_factor, final_div_factor)
  pct_final = _static_fraction("pct_final", pct_final)
  _distinct([("int(pct_start * transition_steps)", int(pct_start * transition_steps)),
             ("int(pct_final * transition_steps)", int(pct_final * transition_steps)),
             ("transition_steps", transition_steps)])
  # optax's scales traced, or (optax <= 0.2.5, which converts it with NumPy) the peak
  if _validation.any_traced(peak_value, div_factor, final_div_factor):
    return _counted(_optax_traced.piecewise_interpolate("linear", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        int(pct_final * transition_steps): 1.0 / div_factor,
        transition_steps: 1.0 / final_div_factor}))
  return _counted(optax.linear_onecycle_schedule(
      transition_steps, peak_value, float(pct_start), pct_final, div_factor,
      float(final_div_factor)))


def cosine_onecycle_schedule(transition_steps: int, peak_value: float, pct_start: float = 0.3,
                             div_factor: float = 25.0,
                             final_div_factor: float = 1e4) -> optax.Schedule:
  """``optax.cosine_onecycle_schedule``: 1cycle with cosine phases (up, then anneal).

  ``0 < int(pct_start T) < T`` is required.

  ``peak_value``, ``div_factor`` and ``final_div_factor`` may be traced (``pct_start`` is static)
  (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked when concrete, passed through when traced;
  step counts are static integers (``100.0`` reads as 100).
  """
  transition_steps, peak_value, div_factor, final_div_factor = _onecycle_values(
      transition_steps, peak_value, pct_start, div_factor, final_div_factor)
  _distinct([("int(pct_start * transition_steps)", int(pct_start * transition_steps)),
             ("transition_steps", transition_steps)])
  # optax's scales traced, or (optax <= 0.2.5, which converts it with NumPy) the peak
  if _validation.any_traced(peak_value, div_factor, final_div_factor):
    return _counted(_optax_traced.piecewise_interpolate("cosine", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        transition_steps: 1.0 / (div_factor * final_div_factor)}))
  return _counted(optax.cosine_onecycle_schedule(
      transition_steps, peak_value, float(pct_start), div_factor, float(final_div_factor)))


def warmup_constant_schedule(init_value: float, peak_value: float,
                             warmup_steps: int) -> optax.Schedule:
  """``optax.warmup_constant_schedule``: linear warmup, then ``peak_value`` for good.

  ``warmup_steps >= 1``.

  ``init_value`` and ``peak_value`` may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``):
  checked when concrete, passed through when traced; step counts are static integers (``100.0``
  reads as 100).
  """
  return _counted(optax.warmup_constant_schedule(
      _value("init_value", init_value), _value("peak_value", peak_value),
      _steps("warmup_steps", warmup_steps)))


def warmup_exponential_decay_schedule(
    init_value: float, peak_value: float, warmup_steps: int, transition_steps: int,
    decay_rate: float, transition_begin: int = 0, staircase: bool = False,
    end_value: float | None = None
) -> optax.Schedule:
  """``optax.warmup_exponential_decay_schedule``: linear warmup, then exponential decay.

  The decay is :func:`exponential_decay` from ``peak_value`` (same checks);
  ``warmup_steps >= 0``.

  ``init_value``, ``peak_value``, ``decay_rate`` and ``end_value`` may be traced (``jax.vmap``,
  ``jax.jit``, ``jax.grad``): checked when concrete, passed through when traced; step counts are
  static integers (``100.0`` reads as 100).
  """
  decay = _exponential_decay(peak_value, transition_steps, decay_rate, transition_begin,
                             staircase, end_value)
  warmup_steps = _steps("warmup_steps", warmup_steps, low=0)
  # optax's composition (a linear warmup joined to the decay), with the checked decay.
  return _counted(optax.join_schedules([
      optax.linear_schedule(_value("init_value", init_value), _value("peak_value", peak_value),
                            warmup_steps),
      decay,
  ], [warmup_steps]))


def sgdr_schedule(cosine_kwargs: Sequence[Mapping[str, object]]) -> optax.Schedule:
  """``optax.sgdr_schedule``: :func:`warmup_cosine_decay_schedule` cycles, one after another.

  Each dict holds one cycle's arguments; its ``decay_steps`` is the cycle's length.

  The real values of every cycle may be traced (``jax.vmap``, ``jax.jit``, ``jax.grad``): checked
  when concrete, passed through when traced; step counts are static integers (``100.0`` reads as
  100).
  """
  if isinstance(cosine_kwargs, (str, bytes, Mapping)) or not isinstance(cosine_kwargs,
                                                                         Sequence):
    raise ValueError(f"cosine_kwargs must be a list of dicts, got {cosine_kwargs!r}")
  if not cosine_kwargs:
    raise ValueError("cosine_kwargs must hold at least one cycle, got []")
  checked = []
  for i, kwargs in enumerate(cosine_kwargs):
    if not isinstance(kwargs, Mapping):
      raise ValueError(f"cosine_kwargs[{i}] must be a dict, got {kwargs!r}")
    try:
      cycle = warmup_cosine_decay_schedule(**kwargs)
    except (TypeError, ValueError) as error:
      raise ValueError(f"cosine_kwargs[{i}]: {error}") from None
    checked.append((cycle, dict(kwargs, warmup_steps=int(kwargs["warmup_steps"]),
                                decay_steps=int(kwargs["decay_steps"]))))
  starts = [sum(k["decay_steps"] for _, k in checked[:i + 1]) for i in range(len(checked) - 1)]
  if starts and starts[-1] > _validation.MAX_COUNT:
    raise ValueError(f"the cycles of cosine_kwargs must start before count {_validation.MAX_COUNT}")
  if any(_validation.any_traced(*k.values()) for _, k in checked):
    return join([cycle for cycle, _ in checked], starts)  # optax's composition
  return _counted(optax.sgdr_schedule([k for _, k in checked]))


def join_schedules(schedules: Sequence[optax.Schedule],
                   boundaries: Sequence[int]) -> optax.Schedule:
  """``optax.join_schedules``: each schedule from its boundary on, counted from 0 there.

  The same as :func:`lrsched.join`.

  The schedules may close over (or be) traced values (``jax.vmap``, ``jax.jit``, ``jax.grad``):
  checked when concrete, passed through when traced; step counts are static integers (``100.0``
  reads as 100).
  """
  return join(schedules, boundaries)


OPTAX_SCHEDULES: dict[str, Callable[..., optax.Schedule]] = {
    "constant_schedule": constant_schedule,
    "cosine_decay_schedule": cosine_decay_schedule,
    "cosine_onecycle_schedule": cosine_onecycle_schedule,
    "exponential_decay": exponential_decay,
    "join_schedules": join_schedules,
    "linear_onecycle_schedule": linear_onecycle_schedule,
    "linear_schedule": linear_schedule,
    "piecewise_constant_schedule": piecewise_constant_schedule,
    "piecewise_interpolate_schedule": piecewise_interpolate_schedule,
    "polynomial_schedule": polynomial_schedule,
    "sgdr_schedule": sgdr_schedule,
    "warmup_constant_schedule": warmup_constant_schedule,
    "warmup_cosine_decay_schedule": warmup_cosine_decay_schedule,
    "warmup_exponential_decay_schedule": warmup_exponential_decay_schedule,
}
"""optax's name -> the checked wrapper, for every schedule optax exports."""
