"""The loss along directions of parameter space (1D) or on a plane of two (2D).

``loss(params + t d)`` for ``t`` in ``[-radius, radius]`` (``num_points`` values, 0 in the
middle), with each direction ``d`` scaled to unit L2 norm over all its leaves; on two
directions, the grid ``loss(params + s d1 + t d2)``. Directions are parameter pytrees or
the eigenvectors of an :class:`~lrsched.hessian.EigenResult` (``return_eigenvectors=True``);
along a unit eigenvector with eigenvalue ``lambda`` the quadratic model is
``loss(params) + lambda t**2 / 2`` (plus the gradient term ``g . d t``), and the curvature at
0, the second difference ``(L(h) - 2 L(0) + L(-h)) / h**2``, estimates ``lambda``.
The loss is the size-weighted mean over the batches. Non-finite losses are kept as NaN and
counted (``num_nonfinite``), never drawn as zeros.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lrsched.hessian.eigen import EigenResult
from lrsched.hessian.hvp import LossFn
from lrsched.hessian.operator import _batch_size, as_batch_list


@dataclasses.dataclass(frozen=True)
class LandscapeResult:
  """What :func:`loss_landscape` returns.

  Attributes:
    t: the offsets along each direction (``num_points`` values, symmetric about 0).
    losses: shape ``(num_points,)`` (one direction) or ``(num_points, num_points)`` (two:
      ``losses[i, j]`` at ``t[i] d1 + t[j] d2``); NaN where the loss is not finite.
    curvature: the second difference at 0 along each direction.
    eigenvalues: the directions' eigenvalues when they came from an EigenResult, else None.
    num_nonfinite: how many points had a non-finite loss.
  """

  t: np.ndarray
  losses: np.ndarray
  curvature: list[float]
  eigenvalues: list[float] | None
  num_nonfinite: int


def _unit(direction: Any, params: Any, index: int) -> Any:
  if jax.tree.structure(direction) != jax.tree.structure(params):
    raise ValueError(f"directions[{index}] must have the structure of params, got "
                     f"{jax.tree.structure(direction)}")
  for d, p in zip(jax.tree.leaves(direction), jax.tree.leaves(params), strict=True):
    if np.shape(d) != np.shape(p):
      raise ValueError(f"directions[{index}] has a leaf of shape {np.shape(d)} where params "
                       f"has {np.shape(p)}")
  norm = float(jnp.sqrt(sum(jnp.sum(jnp.square(d.astype(jnp.float32)))
                            for d in jax.tree.leaves(direction))))
  if not np.isfinite(norm) or norm == 0:
    raise ValueError(f"directions[{index}] must be finite and nonzero, got norm {norm}")
  return jax.tree.map(lambda d, p: (d / norm).astype(p.dtype), direction, params)


def loss_landscape(loss_fn: LossFn, params: Any, batches: Any,
                   directions: Any, radius: float, num_points: int = 41) -> LandscapeResult:
  """The loss along one direction or on the plane of two (see the module docstring).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` (the mean loss of a batch).
    params: the centre point.
    batches: one batch or an iterable of batches.
    directions: a parameter pytree, a list of one or two, or an ``EigenResult`` with
      eigenvectors (its first two; one if it has one).
    radius: the largest offset ``t``, > 0 (the directions have unit norm).
    num_points: points per direction, odd and >= 3 (so that 0 is one of them).

  Returns:
    A :class:`LandscapeResult`.

  Raises:
    ValueError: ``radius <= 0``, an even or too small ``num_points``, directions whose
      structure or shapes differ from ``params``, a zero direction, or an EigenResult
      without eigenvectors.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)       # Hessian diag(1, 4)
    >>> r = loss_landscape(loss, jnp.zeros(2), jnp.array([1.0, 4.0]), jnp.array([0.0, 1.0]),
    ...                    radius=1.0, num_points=5)
    >>> [round(c, 3) for c in r.curvature], r.losses.tolist()
    ([4.0], [2.0, 0.5, 0.0, 0.5, 2.0])
  """
  if isinstance(radius, bool) or not isinstance(radius, int | float) or not radius > 0 \
      or not np.isfinite(radius):
    raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
  if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 3 \
      or num_points % 2 == 0:
    raise ValueError(f"num_points must be an odd integer >= 3 (0 in the middle), got "
                     f"{num_points!r}")
  eigenvalues = None
  if isinstance(directions, EigenResult):
    if directions.eigenvectors is None:
      raise ValueError("directions: the EigenResult has no eigenvectors; compute it with "
                       "return_eigenvectors=True")
    eigenvalues = [float(v) for v in directions.eigenvalues[:2]]
    directions = list(directions.eigenvectors[:2])
  elif not isinstance(directions, list | tuple):
    directions = [directions]
  if not 1 <= len(directions) <= 2:
    raise ValueError(f"directions must hold one or two directions, got {len(directions)}")
  units = [_unit(d, params, i) for i, d in enumerate(directions)]
  batch_list = as_batch_list(batches)
  sizes = np.array([_batch_size(b, i) for i, b in enumerate(batch_list)], np.float64)
  loss = jax.jit(loss_fn)

  def dataset_loss(point):
    values = np.array([float(loss(point, b)) for b in batch_list])
    return float(np.sum(values * sizes) / sizes.sum())

  t = np.linspace(-radius, radius, num_points)
  if len(units) == 1:
    losses = np.array([dataset_loss(jax.tree.map(lambda p, d, s=s: p + s * d, params,
                                                 units[0])) for s in t])
  else:
    losses = np.array([[dataset_loss(jax.tree.map(lambda p, a, b, s=s, r=r: p + s * a + r * b,
                                                  params, units[0], units[1]))
                        for r in t] for s in t])
  bad = ~np.isfinite(losses)
  losses = np.where(bad, np.nan, losses)
  mid, h = num_points // 2, t[1] - t[0]
  if losses.ndim == 1:
    lines = [losses]
  else:
    lines = [losses[:, mid], losses[mid, :]]
  curvature = [float((line[mid + 1] - 2 * line[mid] + line[mid - 1]) / h**2) for line in lines]
  return LandscapeResult(t, losses, curvature, eigenvalues, int(bad.sum()))


def plot_loss_landscape(result: LandscapeResult, path: str | pathlib.Path | None = None,
                        title: str | None = None):
  """Draws a 1D landscape (with the quadratic model along an eigenvector) or a 2D contour.

  Returns:
    The matplotlib ``Figure`` (also written to ``path`` when given).
  """
  from matplotlib.figure import Figure

  from lrsched.plotting import save_figure

  fig = Figure(figsize=(6.5, 4.5), layout="constrained")
  ax = fig.subplots()
  if result.losses.ndim == 1:
    ax.plot(result.t, result.losses, "o-", markersize=3, label="loss")
    if result.eigenvalues:
      centre = result.losses[len(result.t) // 2]
      lam = result.eigenvalues[0]
      ax.plot(result.t, centre + lam * result.t**2 / 2, "--",
              label=f"quadratic model, lambda = {lam:.4g}")
    ax.set_xlabel("t (unit direction)")
    ax.set_ylabel("loss")
    ax.legend(fontsize="small")
  else:
    contour = ax.contourf(result.t, result.t, result.losses.T, levels=30)
    fig.colorbar(contour, ax=ax, label="loss")
    ax.set_xlabel("t along direction 1")
    ax.set_ylabel("t along direction 2")
  if result.num_nonfinite:
    ax.text(0.02, 0.98, f"{result.num_nonfinite} non-finite point(s) not drawn",
            transform=ax.transAxes, va="top", fontsize="small", color="C3")
  ax.set_title(title or f"loss landscape; curvature at 0: "
               f"{', '.join(f'{c:.4g}' for c in result.curvature)}", fontsize="medium")
  if path is not None:
    save_figure(fig, path)
  return fig
