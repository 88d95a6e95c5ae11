"""The orthonormal Krylov basis of Lanczos and SLQ, on the host or on the devices.

Lanczos with full reorthogonalization spends, besides its HVPs, two passes of
classical Gram-Schmidt over the whole basis per step ("twice is enough"): about
``4 m n`` floats read at step ``m``. Where the vectors live decides what that costs:

* :class:`HostBasis` keeps NumPy rows: the generic engine on any NumPy matvec and
  dtype (float64 included), used by the doctests and the dense-matrix tests.
* :class:`DeviceBasis` keeps the rows where the operator's vectors live (one device,
  or replicated over a mesh, also across processes) and reorthogonalizes there, in
  full float32 precision (``Precision.HIGHEST``: TF32 or bfloat16 passes would lose the
  orthogonality that full reorthogonalization exists for). Per step only the two
  scalars ``alpha`` and ``beta`` come to the host. On a GPU this replaces a PCIe round
  trip of ``n`` floats and a host pass over ``m n`` floats per HVP: for WRN-16-4
  (2.7M parameters) the host passes alone took ~1.1 s in NumPy over the 52 steps of a
  top-10 on this project's CPU, an estimated several times the HVPs themselves on a GPU.
  Rows are allocated in chunks of :data:`CHUNK_ROWS` as they are used (a fixed
  budget would reserve ``max_matvecs x n`` floats of accelerator memory up front), and
  every step runs the same few compiled programs whatever the basis size.

:class:`lrsched.hessian.DatasetHessian`-based functions use a :class:`DeviceBasis` on
the operator's devices; on CPU it costs what NumPy's does (measured side by side, 57 steps
of a cheap diagonal matvec at n = 2.7M: 2.25-2.6 s against 2.4 s).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

CHUNK_ROWS = 8
_HIGHEST = jax.lax.Precision.HIGHEST


def orthogonalize(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
  """Classical Gram-Schmidt twice ("twice is enough") against the rows of ``rows``."""
  for _ in range(2):
    w = w - rows.T @ (rows @ w)
  return w


class HostBasis:
  """Orthonormal rows in one preallocated NumPy array (zero pages: memory grows with use).

  Args:
    n: the vector length.
    capacity: the most rows.
    dtype: the rows' dtype.
  """

  def __init__(self, n: int, capacity: int, dtype):
    self.dtype = np.dtype(dtype)
    self._rows = np.zeros((capacity, n), self.dtype)
    self._count = 0

  def __len__(self) -> int:
    return self._count

  def vector(self, x) -> np.ndarray:
    """``x`` as a vector of this basis's kind (a NumPy array of its dtype)."""
    return np.asarray(x, self.dtype)

  def append(self, q: np.ndarray) -> None:
    self._rows[self._count] = q
    self._count += 1

  def orthogonalize(self, w: np.ndarray) -> np.ndarray:
    return orthogonalize(w, self._rows[:self._count])

  def step(self, q: np.ndarray, q_prev: np.ndarray | None, w: np.ndarray,
           beta_prev: float) -> tuple[np.ndarray, float, float]:
    """One Lanczos step after ``w = A q``: ``(w', alpha, beta)``, ``w'`` orthogonal to the
    basis and ``beta = ||w'||``."""
    w = self.vector(w)
    alpha = float(np.dot(q, w))
    w = w - alpha * q
    if q_prev is not None:
      w = w - beta_prev * q_prev
    w = self.orthogonalize(w)
    return w, alpha, float(np.linalg.norm(w))

  def norm(self, x: np.ndarray) -> float:
    return float(np.linalg.norm(x))

  def combine(self, coefficients: np.ndarray) -> np.ndarray:
    """``coefficients @ rows`` for a ``(k, len(self))`` matrix: ``k`` vectors in the span."""
    return np.asarray(coefficients, self.dtype) @ self._rows[:self._count]


@jax.jit
def _coefficients(chunk: jax.Array, w: jax.Array) -> jax.Array:
  return jnp.dot(chunk, w, precision=_HIGHEST)


@jax.jit  # no donation: w may be the caller's array (DeviceBasis.vector passes it through)
def _subtract(w: jax.Array, coefficients: jax.Array, chunk: jax.Array) -> jax.Array:
  return w - jnp.dot(coefficients, chunk, precision=_HIGHEST)


@functools.partial(jax.jit, donate_argnums=0)
def _set_row(chunk: jax.Array, index: jax.Array, q: jax.Array) -> jax.Array:
  return chunk.at[index].set(q)


@jax.jit
def _new_chunk(q: jax.Array) -> jax.Array:  # placed like q (no host round trip)
  return jnp.zeros((CHUNK_ROWS, q.shape[0]), q.dtype).at[0].set(q)


@jax.jit
def _three_term(q: jax.Array, q_prev: jax.Array | None, w: jax.Array, beta_prev: jax.Array):
  alpha = jnp.dot(q, w, precision=_HIGHEST)
  w = w - alpha * q
  return (w if q_prev is None else w - beta_prev * q_prev), alpha


@jax.jit
def _add_combination(out: jax.Array | None, coefficients: jax.Array, chunk: jax.Array):
  part = jnp.dot(coefficients, chunk, precision=_HIGHEST)
  return part if out is None else out + part


@jax.jit
def _norm(x: jax.Array) -> jax.Array:
  return jnp.sqrt(jnp.dot(x, x, precision=_HIGHEST))


class DeviceBasis:
  """Orthonormal rows as JAX arrays placed like the operator's vectors, in chunks.

  Args:
    n: the vector length.
    dtype: the rows' dtype (the parameters').
    place: maps a host NumPy array to a JAX array where the vectors live (e.g.
      :meth:`lrsched.hessian.DatasetHessian.place_vector`: replicated over its mesh).
  """

  def __init__(self, n: int, dtype, place: Callable[[np.ndarray], jax.Array]):
    self.n = n
    self.dtype = np.dtype(jax.dtypes.canonicalize_dtype(dtype))  # float32 unless x64 is on
    self._place = place
    self._chunks: list[jax.Array] = []
    self._count = 0

  def __len__(self) -> int:
    return self._count

  def vector(self, x) -> jax.Array:
    """``x`` (host or device) as a placed vector of this basis's dtype."""
    if isinstance(x, jax.Array) and x.dtype == self.dtype:
      return x
    return self._place(np.asarray(x, self.dtype))

  def append(self, q: jax.Array) -> None:
    row = self._count % CHUNK_ROWS
    if row == 0:
      self._chunks.append(_new_chunk(q))
    else:
      self._chunks[-1] = _set_row(self._chunks[-1], np.int32(row), q)
    self._count += 1

  def orthogonalize(self, w: jax.Array) -> jax.Array:
    for _ in range(2):  # classical Gram-Schmidt: every coefficient from the same w
      coefficients = [_coefficients(chunk, w) for chunk in self._chunks]
      for c, chunk in zip(coefficients, self._chunks, strict=True):
        w = _subtract(w, c, chunk)
    return w

  def step(self, q: jax.Array, q_prev: jax.Array | None, w, beta_prev: float):
    """One Lanczos step after ``w = A q``: ``(w', alpha, beta)``, ``w'`` orthogonal to the
    basis and ``beta = ||w'||``."""
    w, alpha = _three_term(q, q_prev, self.vector(w), np.asarray(beta_prev, self.dtype))
    w = self.orthogonalize(w)
    alpha, beta = jax.device_get((alpha, _norm(w)))  # the step's one host sync
    return w, float(alpha), float(beta)

  def norm(self, x: jax.Array) -> float:
    return float(_norm(x))

  def combine(self, coefficients: np.ndarray) -> jax.Array:
    """``coefficients @ rows`` for a ``(k, len(self))`` matrix: ``k`` vectors in the span."""
    coefficients = np.asarray(coefficients, self.dtype)
    pad = len(self._chunks) * CHUNK_ROWS - self._count
    coefficients = np.pad(coefficients, ((0, 0), (0, pad)))
    out = None
    for i, chunk in enumerate(self._chunks):
      rows = self._place(np.ascontiguousarray(coefficients[:, i * CHUNK_ROWS:(i + 1) * CHUNK_ROWS]))
      out = _add_combination(out, rows, chunk)
    return out
