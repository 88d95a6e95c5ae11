"""Extreme Hessian eigenvalues: Lanczos (the default) and PyHessian's power iteration.

**Lanczos** (``method="lanczos"``) builds a Krylov basis with full
reorthogonalization (classical Gram-Schmidt applied twice, so the basis stays
orthonormal to working precision and no spurious copies of converged Ritz values
appear) and, after every matvec, solves the small tridiagonal eigenproblem with
LAPACK (:func:`scipy.linalg.eigh_tridiagonal`). It stops as soon as the ``k``
wanted Ritz pairs all have relative Ritz residual ``|beta_m s_mi| / |theta_i| <= tol``
(``beta_m s_mi`` is the exact residual norm ``||H y_i - theta_i y_i||`` of the Ritz
pair in exact arithmetic; with full reorthogonalization it stays so up to rounding,
which is why ``tol`` must be >= 10 machine epsilons). If the Krylov space becomes
invariant (``beta ~ 0``), it continues from a fresh random vector orthogonal to the
basis, until ``k`` Ritz values exist. A limitation (of single-vector Krylov methods):
the Krylov space of one start vector holds one copy of each distinct eigenvalue, so on an
operator with *exactly* repeated eigenvalues, or exactly rank-deficient, an invariant space
can make every residual 0 with copies still missing (k=3 of a 10-fold top eigenvalue may
return one copy and the next distinct values, flagged converged). Hessians of real networks
(n far above the number of steps, rounding in every HVP) do not break down so; a warm
``start`` that is already an eigenvector is accepted after one HVP. The basis lives where the
operator's vectors do (:mod:`lrsched.hessian.krylov`: on the device or replicated over
the mesh, so a GPU's HVPs are not waited on by host Gram-Schmidt and PCIe copies; only
``alpha`` and ``beta`` come to the host per step). Memory: ``m`` flat vectors, in chunks
of 8, for ``m`` matvecs.

Why not a Krylov library? The candidates were matfree (``matfree.decomp.tridiag_sym``,
also behind its SLQ) and :func:`jax.experimental.sparse.linalg.lobpcg_standard`.
Both trace the matvec into a ``fori_loop``/``while_loop`` of one jitted program.
Our matvec is a host loop over batches of any (uneven) size, each a jitted HVP,
sharded over devices, that names the batch when an HVP is not finite; tracing it
would mean stacking (padding) the whole dataset on device, which changes the
BatchNorm train-mode loss and cannot name a failing batch. matfree also fixes the
Krylov depth in advance (no stopping on residuals: the number of HVPs is what this
module is judged on), and LOBPCG needs ``n > 5 k``, costs ``k`` HVPs per
iteration and is fragile in float32. What remains after the HVP is 60 lines of
textbook Lanczos whose linear algebra (the tridiagonal eigensolver) *is* a library
call (LAPACK ``stemr`` via SciPy, a dependency of JAX).

**Power iteration** (``method="power"``) is PyHessian's ``hessian.eigenvalues``,
kept for parity: for each of the ``k`` values a random start vector, at every step
Gram-Schmidt against the vectors found so far (deflation by projection), one HVP,
the Rayleigh quotient, and a stop when it changes by less than ``tol`` relative
(``|new - old| / (|old| + 1e-6) < tol``), at most ``max_iter`` steps. It converges to
the largest *magnitude* eigenvalue of the deflated operator, so a negative value of
large magnitude comes out where Lanczos gives the largest algebraic ones, and the
relative-change rule stops falsely when the top eigenvalues are clustered. So every
result still carries the exact residual ``||H v - theta v||`` of the reported pair
(free: ``H v`` is the last HVP) and is flagged converged only when that residual is
within ``tol`` relative. Differences from PyHessian: the reported value is the last
Rayleigh quotient and the vector is the one it belongs to (PyHessian reports the
quotient before last and ``normalize(H v)``; they differ by less than ``tol``), and
``stop="residual"`` stops on the residual instead (used by the benchmark).

Both are deterministic for a given ``seed`` (NumPy's ``default_rng`` draws the start
vectors; the HVPs are deterministic on CPU).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import scipy.linalg

from lrsched.hessian.blocks import Wrt
from lrsched.hessian.hvp import LossFn
from lrsched.hessian.jackknife import check_batches
from lrsched.hessian.jackknife import jackknife as jackknife_estimate
from lrsched.hessian.krylov import (
    DeviceBasis,
    HostBasis,
    orthogonalize,
    random_unit,
    relative_residuals,
    ritz_result,
    start_vector,
)
from lrsched.hessian.operator import DatasetHessian
from lrsched.hessian.restart import check_max_basis, thick_restart_lanczos

Matvec = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass
class EigenResult:
  """Eigenvalue estimates with their accuracy.

  Attributes:
    eigenvalues: ``(k,)`` float64, descending.
    residuals: ``(k,)`` residual norms ``||H v_i - lambda_i v_i||`` (unit ``v_i``).
    relative_residuals: ``residuals / |eigenvalues|`` (floored, see ``tol``).
    converged: ``(k,)`` bool, ``relative_residuals <= tol``. A ``False`` value is an
      estimate that must not be trusted to ``tol``.
    num_matvecs: dataset-level HVPs used.
    wall_time: seconds.
    method: ``"lanczos"`` or ``"power"``.
    which: ``"largest"`` (algebraic; largest magnitude for ``"power"``) or ``"smallest"``.
    tol: the relative residual tolerance.
    mode: BatchNorm mode of the loss (``"eval"``/``"train"``) or None.
    seed: the seed of the start vectors.
    eigenvectors: ``k`` unit-norm parameter pytrees (same order) or None.
    sampling: with ``error_bars=B``, the same estimate on B disjoint subsets of the
      batches: ``{"subsets", "values" (B x k), "mean", "std", "ci_low", "ci_high"}``
      (``mean +- t(0.975, B-1) std / sqrt(B)``): the spread of a *one-subset* estimate
      (computed on 1/B of the data; for a top eigenvalue also biased upward), not the
      uncertainty of ``eigenvalues``; None when not asked.
    stop_reason: why the eigensolver stopped: ``"converged"``, ``"budget"`` (the HVP
      budget ran out), ``"invariant"`` (the basis spans the whole space) or
      ``"stagnated"`` (a thick restart made no progress, see
      :mod:`lrsched.hessian.restart`); ``"unconverged"`` for power iteration that stopped
      (by its rule or budget) with a value above ``tol``. The unconverged values are
      flagged in ``converged``.
    restarts: thick restarts made (0 without ``max_basis``).
    max_basis: the basis bound used, or None (unrestarted).
    jackknife: with ``jackknife=True``, the delete-one-batch jackknife of the
      eigenvalues (:func:`lrsched.hessian.jackknife.jackknife`: ``estimate``
      bias-corrected, ``std_error``, ``ci_low``/``ci_high`` the 95% t-interval with B - 1
      dof, ``leave_one_out``, plus ``converged`` (B x k) and ``num_matvecs`` of the B
      leave-one-out runs): the uncertainty of ``eigenvalues`` over the data; None when not
      asked.
  """

  eigenvalues: np.ndarray
  residuals: np.ndarray
  relative_residuals: np.ndarray
  converged: np.ndarray
  num_matvecs: int
  wall_time: float
  method: str
  which: str
  tol: float
  mode: str | None
  seed: int
  eigenvectors: list[Any] | None = None
  sampling: dict | None = None
  stop_reason: str | None = None
  restarts: int = 0
  max_basis: int | None = None
  jackknife: dict | None = None

  @property
  def all_converged(self) -> bool:
    """Whether every returned value met ``tol``."""
    return bool(np.all(self.converged))

  def to_dict(self) -> dict:
    """A JSON-ready dict (without the eigenvectors)."""
    return {"eigenvalues": self.eigenvalues.tolist(), "residuals": self.residuals.tolist(),
            "relative_residuals": self.relative_residuals.tolist(),
            "converged": [bool(c) for c in self.converged], "num_matvecs": self.num_matvecs,
            "wall_time": self.wall_time, "method": self.method, "which": self.which,
            "tol": self.tol, "mode": self.mode, "seed": self.seed,
            "sampling": self.sampling, "stop_reason": self.stop_reason,
            "restarts": self.restarts, "max_basis": self.max_basis,
            "jackknife": self.jackknife}


def default_lanczos_budget(n: int, k: int) -> int:
  """``min(n, max(100, 20 k))``: Lanczos's default HVP budget (and basis size)."""
  return min(n, max(100, 20 * k))


def lanczos(matvec: Matvec, n: int, k: int, *, which: str = "largest", tol: float = 1e-3,
            max_matvecs: int | None = None, seed: int = 0, dtype=np.float64,
            return_eigenvectors: bool = False, start: np.ndarray | None = None,
            place: Callable[[np.ndarray], jax.Array] | None = None,
            max_basis: int | str | None = None) -> dict:
  """Extreme eigenpairs of a symmetric operator by Lanczos with full reorthogonalization.

  The generic engine behind :func:`top_eigenvalues` (which validates its inputs).

  Args:
    matvec: ``v -> A v`` on flat arrays of length ``n`` (NumPy arrays; JAX arrays
      placed by ``place`` when it is given).
    n: the dimension.
    k: how many eigenvalues.
    which: ``"largest"`` or ``"smallest"`` (algebraic).
    tol: relative residual at which a Ritz pair counts as converged.
    max_matvecs: the budget, also the most basis vectors kept (default
      :func:`default_lanczos_budget`; memory ``max_matvecs * n`` floats). With a
      ``max_basis`` below it, the budget alone (default ``max(100, 20 k)``, not capped at
      ``n``).
    seed: seeds the start vector.
    dtype: dtype of the Krylov basis.
    return_eigenvectors: also return the Ritz vectors (flat, rows).
    start: the start vector (flat, length ``n``; normalized here), e.g. the previous
      top eigenvector when tracking the spectrum during training (a warm start);
      default: a random unit vector from ``seed``.
    place: keep the basis on the devices instead of the host (a
      :class:`~lrsched.hessian.krylov.DeviceBasis`): maps a host vector to a JAX array
      where the operator's vectors live, and ``matvec`` then takes and returns such
      arrays. None: a NumPy basis (:class:`~lrsched.hessian.krylov.HostBasis`).
    max_basis: keep at most this many basis vectors, in ``[k + 2, n]``, by thick restarts
      (:mod:`lrsched.hessian.restart`); ``"auto"``: ``min(n, 2 k + 10)``. None, or at least
      the budget: plain Lanczos, one vector per HVP.

  Returns:
    A dict with ``eigenvalues`` (descending), ``residuals``, ``relative_residuals``,
    ``converged``, ``num_matvecs``, ``eigenvectors`` (``(k, n)``, on the basis's
    side, or None), ``stop_reason`` (``"converged"``, ``"budget"``, ``"invariant"``: the
    basis spans the space, or ``"stagnated"``: a restart cycle without progress) and
    ``restarts``.

  Raises:
    ValueError: ``max_basis`` outside ``[k + 2, n]``, or a bad ``start``.

  Example:
    >>> import numpy as np
    >>> a = np.diag(np.arange(1.0, 101.0))
    >>> out = lanczos(lambda v: a @ v, 100, 3, tol=1e-8)
    >>> out["eigenvalues"].round(6).tolist(), bool(out["converged"].all())
    ([100.0, 99.0, 98.0], True)
  """
  rng = np.random.default_rng(seed)
  budget = min(default_lanczos_budget(n, k) if max_matvecs is None else max_matvecs, n)
  max_basis = check_max_basis(max_basis, n, k)
  if max_basis is not None and max_basis < budget:
    # a bounded basis is not bounded by n: restarts may take more HVPs than the dimension
    budget = max(100, 20 * k) if max_matvecs is None else max_matvecs
    return thick_restart_lanczos(matvec, n, k, budget=budget, max_basis=max_basis,
                                 which=which, tol=tol, seed=seed, dtype=dtype,
                                 return_eigenvectors=return_eigenvectors, start=start,
                                 place=place)
  # Host: one allocation for the whole budget (zero pages: memory grows with the rows used;
  # growing by copies peaked at ~2.5x, benchmarks/RESULTS.md). Devices: chunks as used.
  basis = HostBasis(n, budget + 1, dtype) if place is None else DeviceBasis(n, dtype, place)
  dtype = basis.dtype  # a device basis is float32 unless x64 is on
  q = start_vector(rng, n, basis, start)
  basis.append(q)
  q_prev = None
  alphas: list[float] = []
  betas: list[float] = []
  m = 0
  while True:
    w, alpha, beta = basis.step(q, q_prev, matvec(q), betas[-1] if betas else 0.0)
    alphas.append(alpha)
    m += 1
    if m == 1:
      theta, s = np.array([alpha]), np.ones((1, 1))
    else:
      theta, s = scipy.linalg.eigh_tridiagonal(np.array(alphas), np.array(betas))
    order = np.argsort(theta)[::-1] if which == "largest" else np.argsort(theta)
    chosen = order[:k]
    scale = float(np.max(np.abs(theta)))
    residuals = np.abs(beta * s[m - 1, chosen])
    relative = relative_residuals(residuals, theta[chosen], scale, dtype)
    done = len(chosen) == k and bool(np.all(relative <= tol))
    if done or m >= budget:
      reason = "converged" if done else "budget"
      break
    # Breakdown: the Krylov space is invariant. Only when fewer than k Ritz values exist
    # (otherwise every residual is ~0 and it stopped above; see the module docstring).
    if beta <= np.finfo(dtype).eps * max(scale, 1.0) * 10:
      fresh = random_unit(rng, n, basis)
      if fresh is None:  # the basis spans the whole space: every Ritz value is exact
        reason = "invariant"
        break
      betas.append(0.0)
      q_prev, q = None, fresh  # no three-term coupling across the restart
    else:
      betas.append(beta)
      q_prev, q = q, w / beta
    basis.append(q)
  if len(chosen) < k:
    raise ValueError(f"the Krylov space has dimension {m} < k={k}; k must be < n={n}")
  return ritz_result(theta, chosen, residuals, relative, tol, m, basis, s,
                     return_eigenvectors, reason, 0)


def power_iteration(matvec: Matvec, n: int, k: int, *, tol: float = 1e-3, max_iter: int = 100,
                    max_matvecs: int | None = None, stop: str = "relative_change", seed: int = 0,
                    dtype=np.float64, return_eigenvectors: bool = False) -> dict:
  """PyHessian's deflated power iteration, with residuals and convergence flags.

  Args:
    matvec: ``v -> A v`` on flat arrays of length ``n``.
    n: the dimension.
    k: how many eigenvalues (largest magnitude, found one after the other).
    tol: the stopping tolerance (relative change of the Rayleigh quotient for
      ``stop="relative_change"``, relative residual for ``stop="residual"``) and the
      relative residual for the ``converged`` flags.
    max_iter: at most this many HVPs per eigenvalue (PyHessian's ``maxIter``).
    max_matvecs: an overall budget (default ``k * max_iter``); when it runs out, fewer
      than ``k`` values may be returned.
    stop: ``"relative_change"`` (PyHessian's rule) or ``"residual"`` (the residual
      of the *deflated* operator: the true residual, which the flags use, also
      carries the errors of the vectors found before, so it can end a bit above).
    seed: seeds the start vectors.
    dtype: dtype of the vectors.
    return_eigenvectors: also return the vectors (flat, rows).

  Returns:
    A dict like :func:`lanczos`'s, sorted descending.

  Example:
    >>> import numpy as np
    >>> a = np.diag([5.0, 1.0, -7.0])
    >>> power_iteration(lambda v: a @ v, 3, 1, tol=1e-10, max_iter=500)["eigenvalues"].round(6)
    array([-7.])
  """
  rng = np.random.default_rng(seed)
  budget = k * max_iter if max_matvecs is None else max_matvecs
  found = np.zeros((0, n), dtype)
  values, residuals, count = [], [], 0
  for _ in range(k):
    v = (rng.standard_normal(n)).astype(dtype)
    previous = None
    for _ in range(max_iter):
      if count >= budget:
        break
      v = orthogonalize(v, found)
      v = v / np.linalg.norm(v)
      hv = np.asarray(matvec(v), dtype)
      count += 1
      theta = float(np.dot(v, hv))
      residual = float(np.linalg.norm(hv - theta * v))
      if stop == "residual":  # of the deflated operator, on which the iteration converges
        deflated = orthogonalize(hv, found) - theta * v if len(found) else hv - theta * v
        stopped = float(np.linalg.norm(deflated)) <= tol * abs(theta)
      else:
        stopped = previous is not None and abs(previous - theta) / (abs(previous) + 1e-6) < tol
      previous = theta
      norm = np.linalg.norm(hv)
      if stopped or norm == 0:
        break
      v_next = hv / norm
      if count >= budget or _ == max_iter - 1:
        break
      v = v_next
    if previous is None:
      break
    values.append(previous)
    residuals.append(residual)
    found = np.concatenate([found, v[None]])
  values_arr, res_arr = np.array(values), np.array(residuals)
  scale = float(np.max(np.abs(values_arr))) if len(values_arr) else 0.0
  relative = relative_residuals(res_arr, values_arr, scale, dtype)
  desc = np.argsort(values_arr)[::-1]
  return {"eigenvalues": values_arr[desc], "residuals": res_arr[desc],
          "relative_residuals": relative[desc], "converged": relative[desc] <= tol,
          "num_matvecs": count, "eigenvectors": found[desc] if return_eigenvectors else None}


def _check_common(operator: DatasetHessian, k: int, tol: float,
                  max_matvecs: int | None) -> None:
  n = operator.size
  if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n:
    raise ValueError(f"k must be an integer in [1, {n - 1}] (below the number of parameters "
                     f"n={n}), got {k!r}")
  eps = float(np.finfo(operator.dtype).eps)
  if not 10 * eps <= tol < 1:
    raise ValueError(f"tol must be in [{10 * eps:.3g}, 1) for {operator.dtype} parameters "
                     f"(10 machine epsilons: residuals below are rounding), got {tol!r}")
  if max_matvecs is not None and (isinstance(max_matvecs, bool) or max_matvecs < k):
    raise ValueError(f"max_matvecs must be an integer >= k={k}, got {max_matvecs!r}")


def _operator(loss_fn, params, batches, linearize: bool | None = None,
              wrt: Wrt = None, remat: bool = False) -> DatasetHessian:
  if isinstance(loss_fn, DatasetHessian):
    if params is not None or batches is not None:
      raise ValueError("pass params and batches only with a loss_fn, not with a DatasetHessian")
    if wrt is not None:
      raise ValueError("pass wrt to the DatasetHessian itself, not with one")
    if remat:
      raise ValueError("pass remat to the DatasetHessian itself, not with one")
    return loss_fn
  if params is None or batches is None:
    raise ValueError("params and batches are required with a loss_fn")
  return DatasetHessian(loss_fn, params, batches, linearize=linearize, wrt=wrt, remat=remat)


def _mode(loss_fn, mode: str | None) -> str | None:
  if mode is not None:
    return mode
  if isinstance(loss_fn, DatasetHessian):
    loss_fn = loss_fn.loss_fn
  return getattr(loss_fn, "mode", None)


def top_eigenvalues(loss_fn: LossFn | DatasetHessian, params: Any = None, batches: Any = None,
                    k: int = 10, method: str = "lanczos", tol: float = 1e-3,
                    max_matvecs: int | None = None, seed: int = 0, *, which: str = "largest",
                    return_eigenvectors: bool = False, max_iter: int = 100,
                    stop: str = "relative_change", mode: str | None = None,
                    linearize: bool | None = None, start: Any = None,
                    wrt: Wrt = None, error_bars: int | None = None,
                    max_basis: int | str | None = None,
                    jackknife: bool = False, remat: bool = False) -> EigenResult:
  """The ``k`` largest (algebraic) eigenvalues of the dataset-loss Hessian.

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` (the mean loss of a batch), or a
      :class:`DatasetHessian` (then ``params`` and ``batches`` stay None).
    params: the point, any pytree of float arrays.
    batches: one batch or an iterable of batches (see :class:`DatasetHessian`).
    k: how many eigenvalues, in ``[1, n - 1]``.
    method: ``"lanczos"`` or ``"power"`` (PyHessian's deflated power iteration,
      largest *magnitude*; see the module docstring).
    tol: relative residual for convergence (and the power iteration's stopping
      tolerance), in ``[10 eps, 1)``.
    max_matvecs: HVP budget (default: ``min(n, max(100, 20 k))`` for Lanczos, which keeps
      up to that many basis vectors of ``n`` floats on the devices; ``k * max_iter`` for power,
      which returns fewer than ``k`` values if it runs out).
    seed: seeds the start vectors.
    which: ``"largest"`` or ``"smallest"`` (Lanczos only).
    return_eigenvectors: also return unit eigenvectors as parameter pytrees.
    max_iter: power iteration steps per eigenvalue (PyHessian's ``maxIter``).
    stop: power iteration's rule, ``"relative_change"`` (PyHessian) or ``"residual"``.
    mode: the BatchNorm mode to record (default: ``loss_fn.mode`` when present).
    linearize, remat: see :class:`DatasetHessian` (``remat``: a checkpointed
      linearization, for models whose activations do not fit beside the basis).
    start: Lanczos's start vector as a params-like pytree (e.g. the previous result's
      top eigenvector, to warm-start tracking during training); default random.
    wrt: the eigenvalues of a diagonal block: the parameters chosen by a regex searched
      in each ``/``-joined path or a predicate ``path -> bool``
      (:mod:`lrsched.hessian.blocks`), the others held fixed; None: all parameters.
    error_bars: also estimate on this many disjoint subsets of the batches (>= 2, at
      most the number of batches) and report the spread in ``sampling``. In this
      project's experiments the sampling spread dominates: for WRN-10-1 trained by GD on
      1024 CIFAR-10 images, lambda_1 on each of 4 chunks of 256 spreads by 16-17% of
      lambda_1 (std; 95% CI half-width 26-27%), while its relative residual is <= 1e-3,
      170-650 times smaller (``experiments/RESULTS.md`` section 3). A tighter ``tol``
      buys nothing there; more data does. This is the spread of an estimate on 1/B of the
      data, not the error of the printed full-data estimate: see ``jackknife``.
    max_basis: Lanczos only: keep at most this many basis vectors (of ``n`` floats each)
      by thick restarts (:mod:`lrsched.hessian.restart`), an integer in ``[k + 2, n]``,
      or ``"auto"`` (``min(n, 2 k + 10)``); None (default), or at least the HVP budget:
      plain Lanczos, whose basis grows by one vector per HVP. On the test spectra
      ``2 k + 10`` costs at most ~1.2x the unrestarted HVPs (``benchmarks/RESULTS.md``).
    jackknife: also the delete-one-batch jackknife over the operator's B >= 3 batches
      (B more runs, each on B - 1 batches, with the same settings and seed), in
      ``jackknife``: the bias-corrected estimate, its standard error and t-interval.

  Returns:
    An :class:`EigenResult`; values that missed ``tol`` are flagged ``converged=False``.

  Raises:
    ValueError: ``k`` out of range, bad ``tol``/``method``/``which``/``stop``,
      ``max_basis`` outside ``[k + 2, n]`` (or with ``method="power"``), ``jackknife`` with
      fewer than 3 batches, or any error of :class:`DatasetHessian` (empty data,
      non-finite params or HVP, non-scalar loss).

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)      # Hessian diag(b)
    >>> batch = jnp.array([1.0, 4.0, 2.0, 3.0])
    >>> out = top_eigenvalues(loss, jnp.zeros(4), batch, k=2, tol=1e-5)
    >>> out.eigenvalues.round(4).tolist(), out.converged.tolist()
    ([4.0, 3.0], [True, True])
  """
  if method not in ("lanczos", "power"):
    raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
  if which not in ("largest", "smallest"):
    raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")
  if method == "power" and which != "largest":
    raise ValueError("method='power' finds the largest-magnitude eigenvalues only; use "
                     "method='lanczos' for which='smallest'")
  if stop not in ("relative_change", "residual"):
    raise ValueError(f"stop must be 'relative_change' or 'residual', got {stop!r}")
  if isinstance(max_iter, bool) or max_iter < 1:
    raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
  operator = _operator(loss_fn, params, batches, linearize, wrt, remat)
  _check_common(operator, k, tol, max_matvecs)
  if max_basis is not None and method != "lanczos":
    raise ValueError("max_basis (thick restarts) is supported by method='lanczos' only")
  max_basis = check_max_basis(max_basis, operator.size, k)
  if jackknife:
    check_batches(len(operator.sizes))
  start_count, started = operator.num_matvecs, time.perf_counter()
  common = dict(tol=tol, max_matvecs=max_matvecs, seed=seed, dtype=operator.dtype,
                return_eigenvectors=return_eigenvectors)
  if start is not None and method != "lanczos":
    raise ValueError("start (a warm start) is supported by method='lanczos' only")

  def solve(op: DatasetHessian, **overrides) -> dict:
    options = {**common, **overrides}
    if method == "lanczos":
      return lanczos(op.device_matvec, op.size, k, which=which, place=op.place_vector,
                     max_basis=max_basis, **options)
    return power_iteration(op.matvec, op.size, k, max_iter=max_iter, stop=stop, **options)

  out = solve(operator, **({} if start is None else
                           {"start": np.asarray(operator.spec.ravel(start))}))
  vectors = out["eigenvectors"]
  sampling = None
  if error_bars is not None:
    values = [solve(part, return_eigenvectors=False)["eigenvalues"][:k].astype(np.float64)
              for part in operator.subsets(error_bars)]
    sampling = sampling_spread(np.array(values))
  jack = None
  if jackknife:
    runs, count = [], 0
    for b in range(len(operator.sizes)):
      part = operator.leave_one_out(b)
      runs.append(solve(part, return_eigenvectors=False))
      count += part.num_matvecs
    jack = jackknife_estimate(out["eigenvalues"].astype(np.float64),
                              np.array([r["eigenvalues"][:k] for r in runs], np.float64),
                              operator.sizes)
    jack["converged"] = [[bool(c) for c in r["converged"]] for r in runs]
    jack["num_matvecs"] = count
  if "stop_reason" not in out:  # power iteration: its own rule, or the budget, stopped it
    out["stop_reason"] = "converged" if np.all(out["converged"]) else "unconverged"
  return EigenResult(
      eigenvalues=out["eigenvalues"].astype(np.float64), residuals=out["residuals"],
      relative_residuals=out["relative_residuals"], converged=out["converged"],
      num_matvecs=operator.num_matvecs - start_count, wall_time=time.perf_counter() - started,
      method=method, which=which, tol=tol, mode=_mode(loss_fn, mode), seed=seed,
      eigenvectors=None if vectors is None else [operator.unravel(v) for v in vectors],
      sampling=sampling, stop_reason=out["stop_reason"], restarts=out.get("restarts", 0),
      max_basis=max_basis, jackknife=jack)


def sampling_spread(values: np.ndarray) -> dict:
  """Mean, std and 95% t-interval of estimates on disjoint subsets (rows of ``values``)."""
  import scipy.stats

  values = np.atleast_2d(np.asarray(values, np.float64))
  count = values.shape[0]
  mean, std = values.mean(0), values.std(0, ddof=1)
  half = scipy.stats.t.ppf(0.975, count - 1) * std / np.sqrt(count)
  return {"subsets": int(count), "values": values.tolist(), "mean": mean.tolist(),
          "std": std.tolist(), "ci_low": (mean - half).tolist(),
          "ci_high": (mean + half).tolist()}


def min_eigenvalue(loss_fn: LossFn | DatasetHessian, params: Any = None, batches: Any = None,
                   **kwargs: Any) -> EigenResult:
  """The smallest (algebraic, possibly negative) eigenvalue, by Lanczos.

  ``top_eigenvalues(..., k=1, which="smallest")``; ``kwargs`` go there.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)
    >>> min_eigenvalue(loss, jnp.zeros(3), jnp.array([1.0, -2.0, 3.0])).eigenvalues.round(4)
    array([-2.])
  """
  kwargs.setdefault("k", 1)
  return top_eigenvalues(loss_fn, params, batches, which="smallest", **kwargs)
