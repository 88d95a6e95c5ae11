"""Hessian trace (Hutchinson) and spectral density (stochastic Lanczos quadrature).

**Trace.** For Rademacher probes ``z`` (entries +-1), ``E[z' H z] = tr(H)``; the
estimate is the mean of ``z' H z`` over ``num_probes`` probes, with its standard
error (sample std / sqrt(probes)). Its variance is ``2 sum_{i != j} H_ij^2`` per
probe: Rademacher probes have the smallest variance among i.i.d. probes.

**Density.** Stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; PyHessian's
``density``): for each probe ``v``, ``m`` Lanczos steps with full
reorthogonalization give a tridiagonal ``T = S diag(theta) S'``; the nodes
``theta_j`` with weights ``tau_j = S_0j^2`` (they sum to 1) are the Gauss quadrature
of the spectral measure seen from ``v``, exact for polynomials up to degree
``2m - 1`` (so ``sum_j tau_j theta_j = v'Hv / v'v``). The density is that measure
averaged over probes and smoothed by a Gaussian of width ``sigma``, on a grid that
extends ``6 sigma`` beyond the extreme nodes, so it integrates to 1 (up to
``1e-8`` of Gaussian tail mass and the trapezoid error) without renormalization.
SLQ is not thick-restarted (``max_basis`` of :func:`~lrsched.hessian.top_eigenvalues`):
the Gauss quadrature is that of one unbroken Krylov sequence ``v, Hv, ..., H^(m-1) v``, which
a restart (a basis of Ritz vectors) does not continue; its memory is ``num_steps``
vectors per probe, one probe at a time.

**Jackknife.** ``hessian_trace(..., jackknife=True)`` takes every ``z' H z`` per batch,
so the trace without batch ``b`` costs nothing more: the delete-one-batch jackknife
(:mod:`lrsched.hessian.jackknife`) of the full-data estimate.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import scipy.linalg

from lrsched.hessian.blocks import Wrt
from lrsched.hessian.eigen import _mode, _operator, sampling_spread
from lrsched.hessian.hvp import LossFn
from lrsched.hessian.jackknife import check_batches
from lrsched.hessian.jackknife import jackknife as jackknife_estimate
from lrsched.hessian.krylov import DeviceBasis, HostBasis
from lrsched.hessian.operator import DatasetHessian


@dataclasses.dataclass
class TraceResult:
  """A Hutchinson trace estimate.

  Attributes:
    trace: the estimate (mean of the probe values).
    std_error: its standard error.
    samples: ``z' H z`` per probe.
    num_matvecs: HVPs used (one per probe).
    wall_time: seconds.
    mode: BatchNorm mode of the loss or None.
    seed: the probes' seed.
    sampling: with ``error_bars=B``, the trace on B disjoint subsets of the batches
      (see :class:`~lrsched.hessian.EigenResult`): the spread of a one-subset estimate;
      or None.
    jackknife: with ``jackknife=True``, the delete-one-batch jackknife of ``trace`` over
      the data (:func:`lrsched.hessian.jackknife.jackknife`, the same probes), or None.
      ``std_error`` is the probes' error at fixed data; this is the data's.
  """

  trace: float
  std_error: float
  samples: np.ndarray
  num_matvecs: int
  wall_time: float
  mode: str | None
  seed: int
  sampling: dict | None = None
  jackknife: dict | None = None

  def to_dict(self) -> dict:
    """A JSON-ready dict."""
    return {"trace": self.trace, "std_error": self.std_error,
            "num_probes": int(len(self.samples)), "num_matvecs": self.num_matvecs,
            "wall_time": self.wall_time, "mode": self.mode, "seed": self.seed,
            "sampling": self.sampling, "jackknife": self.jackknife}


@dataclasses.dataclass
class DensityResult:
  """A smoothed spectral density from stochastic Lanczos quadrature.

  Attributes:
    grid: ``(num_points,)`` eigenvalue axis.
    density: ``(num_points,)`` non-negative values integrating to 1 over ``grid``.
    nodes: ``(probes, m)`` Ritz values per probe (padded with NaN if a run ended early).
    weights: ``(probes, m)`` quadrature weights per probe (each row sums to 1).
    sigma: the Gaussian width used.
    num_matvecs: HVPs used.
    wall_time: seconds.
    mode: BatchNorm mode of the loss or None.
    seed: the probes' seed.
  """

  grid: np.ndarray
  density: np.ndarray
  nodes: np.ndarray
  weights: np.ndarray
  sigma: float
  num_matvecs: int
  wall_time: float
  mode: str | None
  seed: int

  def to_dict(self) -> dict:
    """A JSON-ready dict (grid and density included)."""
    return {"grid": self.grid.tolist(), "density": self.density.tolist(),
            "nodes": np.where(np.isnan(self.nodes), None, self.nodes).tolist(),
            "weights": self.weights.tolist(), "sigma": self.sigma,
            "num_matvecs": self.num_matvecs, "wall_time": self.wall_time, "mode": self.mode,
            "seed": self.seed}


def _check_positive_int(name: str, value: Any) -> None:
  if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
    raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _rademacher(rng: np.random.Generator, n: int, dtype) -> np.ndarray:
  return (2 * rng.integers(0, 2, n) - 1).astype(dtype)


def hessian_trace(loss_fn: LossFn | DatasetHessian, params: Any = None, batches: Any = None,
                  num_probes: int = 100, seed: int = 0, *, mode: str | None = None,
                  wrt: Wrt = None, error_bars: int | None = None,
                  method: str = "hutchinson", jackknife: bool = False) -> TraceResult:
  """A randomized estimate of the trace of the dataset-loss Hessian.

  ``method="hutchinson"``: the mean of ``z' H z`` over Rademacher probes ``z``.
  ``method="hutch++"`` (Meyer et al. 2021) spends the same ``num_probes`` HVPs in thirds:
  ``Q = orth(H S)`` for a Rademacher ``S`` with ``m = num_probes // 3`` columns, the trace
  of ``Q' H Q`` exactly (m HVPs), and Hutchinson on the rest,
  ``(I - QQ') H (I - QQ')``, with the last third; it has a lower variance only when the
  ``m`` largest eigenvalues carry most of ``||H||_F^2``, and a higher one otherwise (its
  Hutchinson part gets a third of the probes). On a WRN-16-1 fitted to its batch the top 10
  eigenvalues are 3% of the trace and 15% of ``||H||_F^2``, and Hutch++ has 2-3x the
  variance of Hutchinson at 30 HVPs (``benchmarks/RESULTS.md``): check the spectrum (e.g.
  :func:`top_eigenvalues` against the trace) before choosing it. ``samples`` and
  ``std_error`` are then those of the residual part (the projected part has no probe
  noise given ``S``).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` or a :class:`DatasetHessian`.
    params: the point (with a ``loss_fn``).
    batches: one batch or an iterable of batches (with a ``loss_fn``).
    num_probes: HVPs to spend (Hutchinson: one per probe; Hutch++: >= 3).
    seed: seeds the probes.
    mode: BatchNorm mode to record (default ``loss_fn.mode``).
    wrt: the trace of a diagonal block: the parameters chosen by a path regex or
      predicate (:mod:`lrsched.hessian.blocks`); None: all.
    error_bars: also estimate on this many disjoint subsets of the batches (the same
      probes) and report the spread in ``sampling``.
    method: ``"hutchinson"`` or ``"hutch++"``.
    jackknife: also the delete-one-batch jackknife over the B >= 3 batches, at no extra
      HVPs: every quadratic form ``z' H z`` is taken per batch
      (:meth:`DatasetHessian.batch_quadratic_forms`), so the estimate without batch
      ``b`` uses the same probes minus ``b``'s terms. The values then come from
      per-batch dot products on the device instead of one host dot product (equal up to
      rounding). For Hutch++ the leave-one-out estimates keep the full data's sketch
      ``Q`` (its dependence on the data is not resampled).

  Returns:
    A :class:`TraceResult`.

  Raises:
    ValueError: ``num_probes < 1``, ``jackknife`` with fewer than 3 batches, or an error
      of :class:`DatasetHessian`.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)   # diagonal Hessian: exact per probe
    >>> hessian_trace(loss, jnp.zeros(3), jnp.array([1.0, 2.0, 3.0]), num_probes=4).trace
    6.0
  """
  _check_positive_int("num_probes", num_probes)
  operator = _operator(loss_fn, params, batches, wrt=wrt)
  if jackknife:
    check_batches(len(operator.sizes))
  parts = operator.subsets(error_bars) if error_bars is not None else []
  sizes = np.asarray(operator.sizes, np.float64)
  forms: list[np.ndarray] = []  # per HVP that enters the estimate, v' H_b v per batch b
  start, count = time.perf_counter(), operator.num_matvecs

  if method not in ("hutchinson", "hutch++"):
    raise ValueError(f"method must be 'hutchinson' or 'hutch++', got {method!r}")
  if method == "hutch++" and num_probes < 3:
    raise ValueError(f"method='hutch++' needs num_probes >= 3 (three thirds), got {num_probes}")

  def estimate(op: DatasetHessian, per_batch: bool = False) -> tuple[float, np.ndarray]:
    rng = np.random.default_rng(seed)  # the same probes for the full data and each subset

    def hz(z):
      return op.matvec(z.astype(op.dtype)).astype(np.float64)

    def quadratic(z):
      if not per_batch:
        return float(np.dot(z, hz(z)))
      forms.append(op.batch_quadratic_forms(z.astype(op.dtype)))
      return float(sizes @ forms[-1] / sizes.sum())

    if method == "hutchinson":
      values = np.array([quadratic(z) for z in
                         (_rademacher(rng, op.size, np.float64) for _ in range(num_probes))])
      return float(values.mean()), values
    m = num_probes // 3
    sketch = np.stack([hz(_rademacher(rng, op.size, np.float64)) for _ in range(m)], axis=1)
    q, _ = np.linalg.qr(sketch)
    low_rank = float(sum(quadratic(q[:, j]) for j in range(q.shape[1])))
    values = []
    for _ in range(num_probes - 2 * m):
      g = _rademacher(rng, op.size, np.float64)
      g = g - q @ (q.T @ g)
      values.append(quadratic(g))
    values = np.array(values)
    return low_rank + float(values.mean()), values

  def leave_one_out(b: int) -> float:
    """The same estimate without batch ``b``, from the per-batch forms."""
    rest = np.delete(sizes, b)
    values = np.array([np.delete(f, b) @ rest / rest.sum() for f in forms])
    if method == "hutchinson":
      return float(values.mean())
    low = len(values) - (num_probes - 2 * (num_probes // 3))  # the q_j forms come first
    return float(values[:low].sum() + values[low:].mean())

  trace, values = estimate(operator, per_batch=jackknife)
  std_error = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan
  sampling = (sampling_spread(np.array([[estimate(p)[0]] for p in parts])) if parts else None)
  jack = (jackknife_estimate(np.array([trace]),
                             np.array([[leave_one_out(b)] for b in range(len(sizes))]), sizes)
          if jackknife else None)
  return TraceResult(trace, std_error, values, operator.num_matvecs - count,
                     time.perf_counter() - start, _mode(loss_fn, mode), seed, sampling, jack)


def _lanczos_quadrature(matvec, v, steps: int,
                        basis: HostBasis | DeviceBasis) -> tuple[np.ndarray, np.ndarray]:
  """Nodes and weights of ``steps`` Lanczos steps (full reorthogonalization) from ``v``,
  building ``basis`` (empty, of the kind ``matvec`` takes)."""
  q = basis.vector(v)
  q = q / basis.norm(q)
  basis.append(q)
  q_prev = None
  alphas, betas = [], []
  for j in range(steps):
    w, alpha, beta = basis.step(q, q_prev, matvec(q), betas[-1] if betas else 0.0)
    alphas.append(alpha)
    scale = max(abs(a) for a in alphas) + (max(betas) if betas else 0.0)
    if j == steps - 1 or beta <= 10 * np.finfo(basis.dtype).eps * max(scale, 1e-30):
      break  # an invariant subspace: the quadrature is exact already
    betas.append(beta)
    q_prev, q = q, w / beta
    basis.append(q)
  if len(alphas) == 1:
    return np.array(alphas), np.ones(1)
  theta, s = scipy.linalg.eigh_tridiagonal(np.array(alphas), np.array(betas))
  return theta, s[0] ** 2


def spectral_density(loss_fn: LossFn | DatasetHessian, params: Any = None, batches: Any = None,
                     num_probes: int = 1, num_steps: int = 100, seed: int = 0, *,
                     sigma: float | None = None, num_points: int = 1000,
                     mode: str | None = None, wrt: Wrt = None) -> DensityResult:
  """The smoothed eigenvalue density of the dataset-loss Hessian (SLQ).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` or a :class:`DatasetHessian`.
    params: the point (with a ``loss_fn``).
    batches: one batch or an iterable of batches (with a ``loss_fn``).
    num_probes: Rademacher start vectors (PyHessian's ``n_v``, default 1).
    num_steps: Lanczos steps per probe (PyHessian's ``iter``, 100), capped at ``n``.
    seed: seeds the probes.
    sigma: Gaussian smoothing width, at least ``1e-4`` of the node range; default ``1%``
      of it.
    num_points: grid points (at least 8 per ``sigma`` are enforced for accuracy).
    mode: BatchNorm mode to record (default ``loss_fn.mode``).
    wrt: the density of a diagonal block (see :func:`hessian_trace`); None: all.

  Returns:
    A :class:`DensityResult` whose ``density`` integrates to 1 over ``grid``.

  Raises:
    ValueError: a non-positive count or ``sigma``, or an error of :class:`DatasetHessian`.

  Example:
    >>> import jax.numpy as jnp, numpy as np
    >>> loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)
    >>> out = spectral_density(loss, jnp.zeros(4), jnp.array([1.0, 1.0, 2.0, 4.0]))
    >>> round(float(np.trapezoid(out.density, out.grid)), 6)
    1.0
  """
  _check_positive_int("num_probes", num_probes)
  _check_positive_int("num_steps", num_steps)
  _check_positive_int("num_points", num_points)
  if sigma is not None and not sigma > 0:
    raise ValueError(f"sigma must be > 0, got {sigma!r}")
  operator = _operator(loss_fn, params, batches, wrt=wrt)
  rng = np.random.default_rng(seed)
  start, count = time.perf_counter(), operator.num_matvecs
  steps = min(num_steps, operator.size)
  nodes = np.full((num_probes, steps), np.nan)
  weights = np.zeros((num_probes, steps))
  for i in range(num_probes):
    theta, tau = _lanczos_quadrature(
        operator.device_matvec, _rademacher(rng, operator.size, operator.dtype), steps,
        DeviceBasis(operator.size, operator.dtype, operator.place_vector))
    nodes[i, :len(theta)], weights[i, :len(tau)] = theta, tau
  low, high = float(np.nanmin(nodes)), float(np.nanmax(nodes))
  if sigma is None:
    sigma = 0.01 * (high - low) if high > low else 0.01 * max(abs(high), 1.0)
  elif sigma < 1e-4 * (high - low):
    raise ValueError(f"sigma must be >= 1e-4 times the range of the nodes "
                     f"({1e-4 * (high - low):.3g}), got {sigma!r}")
  num_points = max(num_points, int(np.ceil(8 * (high - low + 12 * sigma) / sigma)))
  grid = np.linspace(low - 6 * sigma, high + 6 * sigma, num_points)
  valid = ~np.isnan(nodes)
  flat_nodes, flat_weights = nodes[valid], weights[valid] / num_probes
  gauss = np.exp(-0.5 * ((grid[:, None] - flat_nodes[None]) / sigma) ** 2)
  density = gauss @ flat_weights / (sigma * np.sqrt(2 * np.pi))
  return DensityResult(grid, density, nodes, weights, float(sigma),
                       operator.num_matvecs - count, time.perf_counter() - start,
                       _mode(loss_fn, mode), seed)
