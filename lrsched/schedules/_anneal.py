"""Traced helpers shared by the schedules: the step counter and annealing shapes.

Schedules are compared with PyTorch's float64 values to 1e-6 *relative* error,
also where they approach a small value (a cosine to 0, 1cycle's final lr/1e6).
Naive float32 forms lose that near the ends of a phase (``1 + cos(x)`` cancels
near ``x = pi``), so annealing is written as a correction to the nearer endpoint,
with ``(1 - cos(pi d)) / 2`` computed as ``sin(pi d / 2) ** 2``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

MAX_COUNT = 2**31 - 1


def as_count(count: ArrayLike) -> jnp.ndarray:
  """The step counter as an int32 array in ``[0, 2**31 - 1]``.

  Negative counts read as 0, counts above ``2**31 - 1`` (a numpy int64, a Python
  int, a float, an int64 array under ``jax_enable_x64``) as ``2**31 - 1``: they
  saturate instead of wrapping around. Float counts are truncated; NaN reads as 0.
  """
  if isinstance(count, int):  # also bool; a huge Python int does not fit any array
    return jnp.asarray(min(max(int(count), 0), MAX_COUNT), jnp.int32)
  if isinstance(count, (np.ndarray, np.generic, list, tuple)):
    host = np.asarray(count)
    if host.dtype.kind in "iub":
      host = np.clip(host.astype(np.int64) if host.dtype.kind == "b" else host, 0, MAX_COUNT)
    elif host.dtype.kind == "f":
      host = np.clip(np.nan_to_num(host, nan=0.0), 0, MAX_COUNT)
    return jnp.asarray(host.astype(np.int32))
  count = jnp.asarray(count)
  if count.dtype == jnp.bool_:
    return count.astype(jnp.int32)
  if jnp.issubdtype(count.dtype, jnp.integer):
    if jnp.iinfo(count.dtype).max > MAX_COUNT:  # int64 or unsigned: saturate first
      count = jnp.minimum(count, MAX_COUNT)
    return jnp.maximum(count.astype(jnp.int32), 0)
  # Floating (e.g. a stretched or user-made count): saturate before converting.
  whole = jnp.where(jnp.isnan(count), 0, jnp.maximum(count, 0))
  return jnp.where(whole >= 2.0**31, MAX_COUNT, whole.astype(jnp.int32))


def as_float(x: ArrayLike) -> jnp.ndarray:
  """``x`` in JAX's default float dtype (float32, or float64 with x64 enabled)."""
  return jnp.asarray(x).astype(jnp.result_type(float))


def cosine_weight(fraction: ArrayLike) -> jnp.ndarray:
  """``(1 - cos(pi * fraction)) / 2``, accurate for small ``fraction``."""
  return jnp.sin(0.5 * jnp.pi * fraction) ** 2


def anneal(
    start: float, end: float, done: ArrayLike, left: ArrayLike, kind: str
) -> jnp.ndarray:
  """Goes from ``start`` (``done=0, left=1``) to ``end`` (``done=1, left=0``).

  ``done`` and ``left`` are the elapsed and remaining fractions of the phase
  (``done + left == 1``), each computed from integers by the caller. The value is
  written as a small correction to the *nearer* endpoint, so it keeps full
  relative precision at both ends of the phase, whichever end is smaller.

  Args:
    start: value at the start of the phase.
    end: value at the end of the phase.
    done: elapsed fraction of the phase, in [0, 1].
    left: remaining fraction of the phase, ``1 - done``.
    kind: ``"cos"`` (half cosine) or ``"linear"``.

  Returns:
    ``start + (end - start) * w(done)``, with ``w(d) = (1 - cos(pi d)) / 2`` or
    ``w(d) = d``.
  """
  shape = cosine_weight if kind == "cos" else (lambda x: x)
  from_start = start + (end - start) * shape(done)
  from_end = end + (start - end) * shape(left)
  return jnp.where(done <= 0.5, from_start, from_end)
