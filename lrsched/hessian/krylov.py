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

Both bases also ``restart`` in place (the thick restart's change of basis to Ritz vectors,
:mod:`lrsched.hessian.restart`), a block of columns at a time, so a restarted Lanczos
holds ``max_basis`` vectors and never two bases.

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
RESTART_COLUMNS = 1 << 16  # columns per block of a restart's in-place rotation
_HIGHEST = jax.lax.Precision.HIGHEST


def orthogonalize(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
  """Classical Gram-Schmidt twice ("twice is enough") against the rows of ``rows``."""
  for _ in range(2):
    w = w - rows.T @ (rows @ w)
  return w


def relative_residuals(residuals: np.ndarray, values: np.ndarray, scale: float,
                       dtype) -> np.ndarray:
  """``residuals / |values|``, the denominator floored at ``sqrt(eps) * scale`` (values near 0
  of an operator of norm ``scale`` are judged against ``scale``)."""
  floor = max(scale, np.finfo(np.float64).tiny) * np.sqrt(np.finfo(dtype).eps)
  return residuals / np.maximum(np.abs(values), floor)


def random_unit(rng: np.random.Generator, n: int, basis: HostBasis | DeviceBasis):
  """A random unit vector orthogonal to ``basis`` (of its kind), or None if none is left."""
  for _ in range(3):
    v = basis.vector(rng.standard_normal(n))
    if len(basis):
      v = basis.orthogonalize(v)
    norm = basis.norm(v)
    if norm > 1e-3:
      return v / norm
  return None


def start_vector(rng: np.random.Generator, n: int, basis: HostBasis | DeviceBasis, start):
  """The unit start vector: ``start`` normalized, or a random one from ``rng`` when None.

  Raises:
    ValueError: ``start`` is not a finite nonzero vector of length ``n``.
  """
  if start is None:
    return random_unit(rng, n, basis)
  start = np.asarray(start, np.float64).ravel()
  norm = float(np.linalg.norm(start))
  if start.shape != (n,) or not np.isfinite(norm) or norm == 0:
    raise ValueError(f"start must be a finite nonzero vector of length {n}, got shape "
                     f"{start.shape} and norm {norm}")
  return basis.vector(start / norm)


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

  def restart(self, coefficients: np.ndarray) -> None:
    """Replaces the rows by ``coefficients @ rows`` (``(l, len(self))``, ``l <= len(self)``),
    in place, :data:`RESTART_COLUMNS` columns at a time (no second basis in memory)."""
    coefficients = np.asarray(coefficients, self.dtype)
    kept, count = coefficients.shape
    if count != self._count or kept > count:
      raise ValueError(f"coefficients must have shape (<= {self._count}, {self._count}), "
                       f"got {coefficients.shape}")
    for start in range(0, self._rows.shape[1], RESTART_COLUMNS):
      block = self._rows[:count, start:start + RESTART_COLUMNS]
      block[:kept] = coefficients @ block
    self._rows[kept:count] = 0
    self._count = kept


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


@functools.partial(jax.jit, donate_argnums=0, static_argnums=3)
def _rotate(kept_chunks: tuple[jax.Array, ...], other_chunks: tuple[jax.Array, ...],
            coefficients: jax.Array, columns: int) -> tuple[jax.Array, ...]:
  """The first ``len(kept_chunks)`` chunks of ``coefficients @ rows`` (the rows of both
  tuples), computed in place over blocks of ``columns`` columns: the donated kept chunks
  are updated block by block, one ``(rows, columns)`` block is the only temporary."""
  chunks = (*kept_chunks, *other_chunks)
  n = chunks[0].shape[1]
  kept = len(kept_chunks)

  def apply(chunks, start, size):
    block = jnp.concatenate([jax.lax.dynamic_slice(c, (0, start), (CHUNK_ROWS, size))
                             for c in chunks])
    new = jnp.dot(coefficients, block, precision=_HIGHEST)
    return tuple(jax.lax.dynamic_update_slice(c, new[i * CHUNK_ROWS:(i + 1) * CHUNK_ROWS],
                                              (0, start)) if i < kept else c
                 for i, c in enumerate(chunks))

  full = n // columns
  chunks = jax.lax.fori_loop(0, full, lambda i, cs: apply(cs, i * columns, columns), chunks)
  if n % columns:
    chunks = apply(chunks, full * columns, n % columns)
  return chunks[:kept]


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

  def restart(self, coefficients: np.ndarray) -> None:
    """Replaces the rows by ``coefficients @ rows`` (``(l, len(self))``, ``l <= len(self)``).

    The thick restart's basis change, in place: the chunks are donated and rotated
    :data:`RESTART_COLUMNS` columns at a time, so the basis never exists twice (peak: the
    basis plus one ``(rows, RESTART_COLUMNS)`` block); the chunks past row ``l`` are freed
    and the rows past ``l`` in the last kept chunk are zero, as :meth:`orthogonalize`
    expects. One compiled program per ``(chunks, kept chunks)``: the same at every restart.
    """
    coefficients = np.asarray(coefficients, self.dtype)
    kept, count = coefficients.shape
    if count != self._count or kept > count:
      raise ValueError(f"coefficients must have shape (<= {self._count}, {self._count}), "
                       f"got {coefficients.shape}")
    rows = len(self._chunks) * CHUNK_ROWS
    padded = np.zeros((max(-(-kept // CHUNK_ROWS), 1) * CHUNK_ROWS, rows), self.dtype)
    padded[:kept, :count] = coefficients
    split = len(padded) // CHUNK_ROWS
    self._chunks = list(_rotate(tuple(self._chunks[:split]), tuple(self._chunks[split:]),
                                self._place(padded), min(self.n, RESTART_COLUMNS)))
    if kept == 0:
      self._chunks = []
    self._count = kept


def ritz_result(theta: np.ndarray, chosen: np.ndarray, residuals: np.ndarray,
                relative: np.ndarray, tol: float, num_matvecs: int, basis, s: np.ndarray,
                return_eigenvectors: bool, stop_reason: str, restarts: int) -> dict:
  """The chosen Ritz pairs as a Lanczos run returns them: largest first, flags at ``tol``.

  ``s`` holds the Ritz vectors' coordinates in ``basis`` (columns); ``residuals`` and
  ``relative`` are per chosen value, in ``chosen``'s order.
  """
  vectors = basis.combine(s[:, chosen].T) if return_eigenvectors else None
  values = theta[chosen]
  desc = np.argsort(values)[::-1]
  return {"eigenvalues": values[desc], "residuals": residuals[desc],
          "relative_residuals": relative[desc], "converged": relative[desc] <= tol,
          "num_matvecs": num_matvecs,
          "eigenvectors": None if vectors is None else vectors[desc],
          "stop_reason": stop_reason, "restarts": restarts}
