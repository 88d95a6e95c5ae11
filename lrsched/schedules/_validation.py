"""Construction-time argument checks shared by the schedules.

Every check raises ``ValueError`` naming the argument, the value received and the
allowed range, so bad input fails eagerly in Python instead of as a NaN under jit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

MAX_COUNT = 2**31 - 1
"""Largest step count a schedule accepts (the range of optax's int32 counter)."""

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Largest magnitude a real argument may have: schedules compute in float32."""


def finite(name: str, value: object) -> float:
  """Returns ``value`` as a float, or raises if it is not a real number within float32's range.

  Every schedule computes in float32 (by default), so a value beyond
  ``FLOAT32_MAX`` would become inf and then NaN under jit: it is refused here.
  """
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


def representable(name: str, value: float, how: str) -> float:
  """Checks a value computed from the arguments (``how`` says how) against float32's range."""
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
) -> float:
  """Returns ``value`` as a float, checking that it is finite and within bounds."""
  value = finite(name, value)
  below = value <= low if low_open else value < low
  above = value >= high if high_open else value > high
  if below or above:
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    raise ValueError(f"{name} must be in {interval}, got {value!r}")
  return value


def integer(name: str, value: object, low: int = 1, high: int = MAX_COUNT) -> int:
  """Returns ``value`` as an int, checking that it is an integer in ``[low, high]``."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
    raise ValueError(
        f"{name} must be an integer in [{low}, {high}], got {value!r}"
        f" ({type(value).__name__})"
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
    raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
  return value  # type: ignore[return-value]


def ordered(low_name: str, low: float, high_name: str, high: float) -> None:
  """Checks ``low <= high`` for two already validated values."""
  if low > high:
    raise ValueError(
        f"{low_name} must be <= {high_name}, got {low_name}={low!r} > {high_name}={high!r}"
    )
