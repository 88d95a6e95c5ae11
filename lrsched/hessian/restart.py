"""Thick-restart Lanczos (Wu & Simon 2000): extreme eigenpairs in a basis of bounded size.

Plain Lanczos keeps one basis vector per HVP; at WRN-28-10's 36.5M parameters a top-10
that takes ~60 HVPs holds ~8.7 GB of basis. The thick restart bounds it by ``max_basis``
vectors. With ``Q`` the ``m = max_basis`` orthonormal rows built so far and ``T = Q A Q'``
(tridiagonal at first), Lanczos's relation is ``A Q' = Q' T + beta q e_m'`` with ``q``
the next (residual) direction. When the basis is full, ``T = S diag(theta) S'`` and the
``l`` Ritz vectors ``Y = S_l' Q`` of the wanted end are kept, with the residual
direction ``q`` after them; since ``A Y' = Y' diag(theta_l) + beta q s'`` with
``s = S[m - 1, l]``, the new projected matrix is the arrowhead

    T = [[diag(theta_l), beta s], [beta s', alpha]],

and Lanczos goes on from ``q`` (each new column couples to ``q`` and the next vector
only: three-term again). Every step still reorthogonalizes fully against the whole
basis (Gram-Schmidt twice), and the stopping rule and flags are plain Lanczos's: the
relative Ritz residual ``|beta s_mi| / |theta_i| <= tol`` (``beta s_mi`` is the residual
norm ``||A y_i - theta_i y_i||`` also after restarts, by the relation above).

Choices where the paper leaves them open:

* **Kept vectors**: ``keep = min(max_basis - 2, k + max(2, (max_basis - k) // 2))``
  (:func:`default_keep`): the ``k`` wanted values and about half of the rest as a margin
  (the margin's Ritz vectors are the next to converge and keep the wanted values' gap
  from collapsing after a restart), at least one new Krylov direction per cycle.
* **The restart in place**: the basis change ``Y = S_l' Q`` rotates the rows where they
  are, a block of columns at a time (:meth:`~lrsched.hessian.krylov.DeviceBasis.restart`),
  so memory is ``max_basis`` vectors plus one block, never two bases.
* **Stagnation**: ``max_basis`` HVPs (at least one whole restart cycle) in which no wanted
  value newly converged, no unconverged one's relative residual fell below 0.99 of its
  best so far and no unconverged Ritz value passed its record toward the wanted end end
  the run with ``stop_reason="stagnated"`` (the unconverged values flagged as such).
  Slow but steady progress (a cluster converging over several cycles) continues: the
  literal rule "no new converged value in a cycle" would end healthy runs whose cycles
  are a few HVPs long (``max_basis`` near ``k + 2``: 2 HVPs), and residuals alone
  oscillate from one restart to the next.

The unrestarted method is :func:`lrsched.hessian.eigen.lanczos` with ``max_basis=None``
(or ``max_basis`` at least the HVP budget), unchanged: it dispatches here otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
import scipy.linalg

from lrsched.hessian.krylov import (
    DeviceBasis,
    HostBasis,
    random_unit,
    relative_residuals,
    ritz_result,
    start_vector,
)

STOP_REASONS = ("converged", "budget", "invariant", "stagnated")
_PROGRESS = 0.99  # an unconverged residual must fall below this fraction to count as progress


class _Progress:
  """Whether restart cycles still make progress (see the module docstring).

  At each restart, progress is: a wanted value newly converged, an unconverged one's
  relative residual below ``0.99`` of its best at any earlier restart, or an unconverged
  Ritz value beyond its furthest position toward the wanted end at any earlier restart by
  more than ``10 eps ||T||`` (in exact arithmetic Ritz values move only that way across
  thick restarts, by interlacing; residuals oscillate). Records, not changes: noise in the
  HVPs (which moves both ways) sets new records ever more rarely. Stagnation:
  ``max_basis`` HVPs (at least one whole cycle) without progress.
  """

  def __init__(self, theta: np.ndarray, relative: np.ndarray, which: str, tol: float):
    self.sign = 1.0 if which == "largest" else -1.0
    self.tol = tol
    self.theta, self.best = theta.copy(), relative.copy()
    self.converged = int(np.sum(relative <= tol))
    self.since = None  # the HVP count at the last progress

  def idle(self, theta: np.ndarray, relative: np.ndarray, count: int, rounding: float,
           max_basis: int) -> bool:
    """Records a restart; True once ``max_basis`` HVPs passed without progress."""
    open_ = relative > self.tol
    moved = self.sign * (theta - self.theta) > rounding  # self.theta: the record so far
    better = relative < _PROGRESS * self.best
    converged = int(np.sum(~open_))
    if converged > self.converged or np.any(open_ & (moved | better)) or self.since is None:
      self.since = count
    self.converged = max(self.converged, converged)
    self.theta = self.sign * np.maximum(self.sign * self.theta, self.sign * theta)
    self.best = np.minimum(self.best, relative)
    return count - self.since >= max_basis


def default_keep(k: int, max_basis: int) -> int:
  """``min(max_basis - 2, k + max(2, (max_basis - k) // 2))``: Ritz vectors kept at a restart.

  Example:
    >>> default_keep(10, 30), default_keep(5, 12), default_keep(3, 5)
    (20, 8, 3)
  """
  return min(max_basis - 2, k + max(2, (max_basis - k) // 2))


def default_max_basis(n: int, k: int) -> int:
  """``min(n, 2 k + 10)``: the basis size of ``max_basis="auto"``."""
  return min(n, 2 * k + 10)


def check_max_basis(max_basis, n: int, k: int) -> int | None:
  """``max_basis`` as an int (``"auto"``: :func:`default_max_basis`), or None (no restart).

  Raises:
    ValueError: not None, ``"auto"`` or an integer in ``[k + 2, n]``.
  """
  if max_basis is None:
    return None
  if isinstance(max_basis, str) and max_basis == "auto":
    return default_max_basis(n, k)
  if (isinstance(max_basis, bool) or not isinstance(max_basis, int | np.integer)
      or not k + 2 <= max_basis <= n):
    raise ValueError(f"max_basis must be None, 'auto' or an integer in [k + 2, n] = "
                     f"[{k + 2}, {n}] (the k={k} wanted Ritz vectors, the residual direction "
                     f"and at least one new one; at most the dimension n={n}), got {max_basis!r}")
  return int(max_basis)


def thick_restart_lanczos(matvec: Callable, n: int, k: int, *, budget: int, max_basis: int,
                          which: str = "largest", tol: float = 1e-3, seed: int = 0,
                          dtype=np.float64, return_eigenvectors: bool = False,
                          start: np.ndarray | None = None,
                          place: Callable[[np.ndarray], jax.Array] | None = None,
                          keep: int | None = None) -> dict:
  """Extreme eigenpairs by thick-restart Lanczos with full reorthogonalization.

  Args:
    matvec: ``v -> A v`` (NumPy arrays; JAX arrays placed by ``place`` when given).
    n: the dimension.
    k: how many eigenvalues.
    budget: the most HVPs.
    max_basis: the most basis vectors, in ``[k + 2, n]`` (validated by the caller).
    which: ``"largest"`` or ``"smallest"`` (algebraic).
    tol: relative residual at which a Ritz pair counts as converged.
    seed: seeds the start vector (and fresh vectors after a breakdown).
    dtype: dtype of a host basis.
    return_eigenvectors: also return the Ritz vectors (flat, rows).
    start: a start vector (normalized here); default random.
    place: keep the basis on the devices (see :func:`lrsched.hessian.eigen.lanczos`).
    keep: Ritz vectors kept at a restart, in ``[k, max_basis - 2]`` (default
      :func:`default_keep`).

  Returns:
    :func:`~lrsched.hessian.eigen.lanczos`'s dict plus ``stop_reason`` (one of
    :data:`STOP_REASONS`) and ``restarts``.

  Example:
    >>> import numpy as np
    >>> a = np.diag(np.arange(1.0, 201.0))
    >>> out = thick_restart_lanczos(lambda v: a @ v, 200, 3, budget=200, max_basis=16,
    ...                             tol=1e-8)     # plain Lanczos: 95 HVPs, 95 vectors
    >>> out["eigenvalues"].round(6).tolist(), out["stop_reason"], out["num_matvecs"]
    ([200.0, 199.0, 198.0], 'converged', 109)
  """
  keep = default_keep(k, max_basis) if keep is None else keep
  if not k <= keep <= max_basis - 2:
    raise ValueError(f"keep must be in [k, max_basis - 2] = [{k}, {max_basis - 2}], got {keep}")
  rng = np.random.default_rng(seed)
  basis = HostBasis(n, max_basis, dtype) if place is None else DeviceBasis(n, dtype, place)
  dtype = basis.dtype
  q = start_vector(rng, n, basis, start)
  basis.append(q)
  t = np.zeros((max_basis, max_basis))
  q_prev, beta_prev = None, 0.0
  count = restarts = 0
  progress = None
  while True:
    j = len(basis) - 1  # q is row j
    w, alpha, beta = basis.step(q, q_prev, matvec(q), beta_prev)
    count += 1
    t[j, j] = alpha
    size = j + 1
    theta, s = scipy.linalg.eigh(t[:size, :size])
    order = np.argsort(theta)[::-1] if which == "largest" else np.argsort(theta)
    chosen = order[:k]
    scale = float(np.max(np.abs(theta)))
    residuals = np.abs(beta * s[size - 1, chosen])
    relative = relative_residuals(residuals, theta[chosen], scale, dtype)
    converged = relative <= tol
    if len(chosen) == k and converged.all():
      reason = "converged"
      break
    if count >= budget:
      reason = "budget"
      break
    if beta <= np.finfo(dtype).eps * max(scale, 1.0) * 10:  # invariant: a fresh direction
      fresh = random_unit(rng, n, basis)
      if fresh is None:
        reason = "invariant"
        break
      coupling, q_next = 0.0, fresh
    else:
      coupling, q_next = beta, w / beta
    if size == max_basis:  # full: keep the wanted end's Ritz vectors and the residual
      if len(chosen) == k:
        if progress is None:
          progress = _Progress(theta[chosen], relative, which, tol)
        elif progress.idle(theta[chosen], relative, count, 10 * np.finfo(dtype).eps * scale,
                           max_basis):
          reason = "stagnated"
          break
      kept = order[:keep]
      basis.restart(s[:, kept].T)
      t[:] = 0.0
      t[np.arange(keep), np.arange(keep)] = theta[kept]
      t[:keep, keep] = t[keep, :keep] = coupling * s[size - 1, kept]
      q_prev, beta_prev = None, 0.0  # the coupling to Y is removed by the reorthogonalization
      restarts += 1
    else:
      t[j, j + 1] = t[j + 1, j] = coupling
      q_prev, beta_prev = (q, beta) if coupling else (None, 0.0)
    q = q_next
    basis.append(q)
  return ritz_result(theta, chosen, residuals, relative, tol, count, basis, s,
                     return_eigenvectors, reason, restarts)
