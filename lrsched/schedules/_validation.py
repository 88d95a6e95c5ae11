"""Construction-time argument checks shared by the schedules.

Every check raises ``ValueError`` naming the argument, the value received and the
allowed range, so bad input fails eagerly in Python instead of as a NaN under jit.

Traced hyperparameters, as in optax: a real-valued argument (a peak, an end
value, a factor, a momentum) may be a JAX tracer, so that ``jax.vmap``,
``jax.jit`` and ``jax.grad`` can run over it (a vmapped learning-rate sweep).
Such a value is checked when it is concrete and passed through, unchecked, when
it is traced: :func:`finite` and :func:`in_range` return it as a scalar array of
the default float dtype. Step counts stay static Python integers (they fix a
schedule's structure: phase boundaries, tables, array shapes); :func:`integer`
takes integral floats (``100.0`` reads as ``100``, as optax takes them) and
refuses a tracer with a message naming the argument.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched.names import did_you_mean

MAX_COUNT = 2**31 - 1
"""Largest step count a schedule accepts (the range of optax's int32 counter)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Largest magnitude a real argument may have: schedules compute in float32."""


def is_traced(value: object) -> bool:
  """True for a JAX tracer: an argument of a function under ``jit``, ``vmap`` or ``grad``."""
  return isinstance(value, jax.core.Tracer)


def any_traced(*values: object) -> bool:
  """True when any of ``values`` is a JAX tracer (see :func:`is_traced`)."""
  return any(is_traced(v) for v in values)


def _concrete_scalar(value: object) -> object:
  """A 0-d numpy or concrete JAX array as a Python scalar; anything else unchanged."""
  if isinstance(value, (np.ndarray, jax.Array)) and np.shape(value) == ():
    return np.asarray(value).item()
  return value


def _traced_real(name: str, value: jax.core.Tracer) -> jax.Array:
  """A traced real scalar in the default float dtype (its value cannot be checked)."""
  dtype = np.dtype(value.dtype)
  if dtype.kind not in "iuf" or value.shape != ():
    raise ValueError(
        f"{name} must be a real scalar; got a traced {dtype.name} array of shape {value.shape}"
        " (map over a batch of values with jax.vmap, which gives each schedule a scalar)")
  return value.astype(jnp.result_type(float))


def not_traced(name: str, value: object, why: str) -> None:
  """Refuses a JAX tracer for an argument that must be concrete; ``why`` says why."""
  if is_traced(value):
    raise ValueError(
        f"{name} must be a concrete value, not a JAX tracer ({type(value).__name__}): {why}")


def finite(name: str, value: object) -> float | jax.Array:
  """Returns ``value`` as a float, or raises if it is not a real number within float32's range.

  Every schedule computes in float32 (by default), so a value beyond
  ``FLOAT32_MAX`` would become inf and then NaN under jit: it is refused here.
  A 0-d numpy or JAX array counts as its number. A JAX tracer (a value under
  ``jit``/``vmap``/``grad``) is returned unchecked, as a scalar array of the
  default float dtype.
  """
  if is_traced(value):
    return _traced_real(name, value)
  value = _concrete_scalar(value)
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
    raise ValueError(f"{name} must be a finite real number, got {value!r}")
  value = float(value)
  if not math.isfinite(value):
    raise ValueError(f"{name} must be finite, got {value!r}")
  if abs(value) > FLOAT32_MAX:
    raise ValueError(
        f"{name} must be within the float32 range [-{FLOAT32_MAX}, {FLOAT32_MAX}],"
        f" got {value!r}"
    )
  return value


def representable(name: str, value: float | jax.Array, how: str) -> float | jax.Array:
  """Checks a value computed from the arguments (``how`` says how) against float32's range.

  A traced value passes unchecked.
  """
  if is_traced(value):
    return value
  if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
    raise ValueError(
        f"{name} = {how} = {value!r} is outside the float32 range (magnitude <="
        f" {FLOAT32_MAX}): the schedule would give inf or NaN"
    )
  return value


def boolean(name: str, value: object) -> bool:
  """Checks that ``value`` is a bool (a string such as ``"no"`` is not taken as True)."""
  if not isinstance(value, (bool, np.bool_)):
    raise ValueError(f"{name} must be a bool (True or False), got {value!r}"
                     f" ({type(value).__name__})")
  return bool(value)


def in_range(
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float | jax.Array:
  """Returns ``value`` as a float, checking that it is finite and within bounds.

  A JAX tracer is returned unchecked (see :func:`finite`).
  """
  value = finite(name, value)
  if is_traced(value):
    return value
  below = value <= low if low_open else value < low
  above = value >= high if high_open else value > high
  if below or above:
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    raise ValueError(f"{name} must be in {interval}, got {value!r}")
  return value


def integer(name: str, value: object, low: int = 1, high: int = MAX_COUNT) -> int:
  """Returns ``value`` as an int, checking that it is an integer in ``[low, high]``.

  An integral float (``100.0``, ``np.float32(100)``) or a 0-d integer array is
  taken as its integer, as optax takes them; ``100.5``, a bool, a string and a
  JAX tracer are refused (counts are static: they fix the schedule's structure).
  """
  not_traced(name, value, "step counts and other counts fix the schedule's structure and stay"
             " static Python integers under jax.jit/jax.vmap (close over them, or mark them"
             " static with static_argnums)")
  original, value = value, _concrete_scalar(value)
  if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
    if math.isfinite(value) and float(value).is_integer():
      value = int(value)
    else:
      raise ValueError(
          f"{name} must be an integer in [{low}, {high}] (a whole number: 100.0 reads as 100),"
          f" got {original!r} ({type(original).__name__})"
      )
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
    raise ValueError(
        f"{name} must be an integer in [{low}, {high}], got {original!r}"
        f" ({type(original).__name__})"
    )
  value = int(value)
  if not low <= value <= high:
    raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value}")
  return value


def increasing_integers(name: str, values: Sequence[object], low: int = 1) -> list[int]:
  """Checks a strictly increasing sequence of integers, each in ``[low, MAX_COUNT]``."""
  if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
    raise ValueError(f"{name} must be a sequence of integers, got {values!r}")
  checked = [integer(f"{name}[{i}]", v, low) for i, v in enumerate(values)]
  for i in range(1, len(checked)):
    if checked[i] <= checked[i - 1]:
      raise ValueError(
          f"{name} must be strictly increasing, got {name}[{i - 1}]={checked[i - 1]}"
          f" followed by {name}[{i}]={checked[i]}"
      )
  return checked


def choice(name: str, value: object, allowed: Sequence[str]) -> str:
  """Checks that ``value`` is one of the ``allowed`` strings."""
  if not isinstance(value, str) or value not in allowed:
    raise ValueError(
        f"{name} must be one of {list(allowed)}, got {value!r}{did_you_mean(value, allowed)}")
  return value  # type: ignore[return-value]


def ordered(low_name: str, low: float | jax.Array, high_name: str,
            high: float | jax.Array) -> None:
  """Checks ``low <= high`` for two already validated values (unchecked if either is traced)."""
  if any_traced(low, high):
    return
  if low > high:
    raise ValueError(
        f"{low_name} must be <= {high_name}, got {low_name}={low!r} > {high_name}={high!r}"
    )
