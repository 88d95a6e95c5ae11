"""Convergence intervals ``(0, 2/lambda)`` of the top eigenvalues (You et al. 2019, Fig. 5).

On a quadratic with Hessian eigenvalue ``lambda > 0``, gradient descent with
learning rate ``eta`` contracts along that eigenvector iff ``0 < eta < 2/lambda``;
heavy-ball momentum ``g`` (``0 <= g < 1``) widens the interval to
``0 < eta < (2 + 2g)/lambda`` (the edge-of-stability threshold of Cohen et al.
2021). For ``lambda <= 0`` no positive learning rate contracts (the quadratic
model is flat or unbounded below along it): its interval is empty, upper bound 0.
See ``../shared/reference.md`` sec. 2.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from lrsched.plotting import save_figure


@dataclasses.dataclass
class ConvergenceIntervals:
  """Per-eigenvalue learning-rate intervals ``(0, upper)``.

  Attributes:
    eigenvalues: ``(k,)`` float64, descending.
    upper: ``(k,)`` ``(2 + 2 momentum) / eigenvalue`` (0 where the eigenvalue is <= 0).
    gd_upper: ``(k,)`` the plain gradient-descent bound ``2 / eigenvalue`` (0 likewise).
    momentum: the heavy-ball momentum used for ``upper``.
  """

  eigenvalues: np.ndarray
  upper: np.ndarray
  gd_upper: np.ndarray
  momentum: float

  @property
  def max_stable_lr(self) -> float:
    """The largest learning rate inside every interval: ``upper`` of the top eigenvalue."""
    return float(np.min(self.upper))

  def contains(self, lr: float) -> np.ndarray:
    """Per eigenvalue, whether ``lr`` lies in ``(0, upper)``."""
    return (lr > 0) & (lr < self.upper)

  def to_dict(self) -> dict:
    """A JSON-ready dict."""
    return {"eigenvalues": self.eigenvalues.tolist(), "upper": self.upper.tolist(),
            "gd_upper": self.gd_upper.tolist(), "momentum": self.momentum,
            "max_stable_lr": self.max_stable_lr}


def convergence_intervals(eigenvalues: Sequence[float] | np.ndarray,
                          momentum: float = 0.0) -> ConvergenceIntervals:
  """The convergence interval of the learning rate along each eigenvector.

  Args:
    eigenvalues: Hessian eigenvalues (any order; sorted descending in the result).
    momentum: heavy-ball momentum ``g`` in ``[0, 1)``; the bound is ``(2 + 2g)/lambda``.

  Returns:
    A :class:`ConvergenceIntervals`.

  Raises:
    ValueError: no eigenvalues, a non-finite one, or ``momentum`` outside ``[0, 1)``.

  Example:
    >>> out = convergence_intervals([200.0, 50.0, -1.0], momentum=0.9)
    >>> out.gd_upper.tolist(), out.upper.round(4).tolist(), out.max_stable_lr
    ([0.01, 0.04, 0.0], [0.019, 0.076, 0.0], 0.0)
  """
  values = np.sort(np.asarray(eigenvalues, np.float64).ravel())[::-1]
  if values.size == 0:
    raise ValueError("eigenvalues must hold at least one value, got none")
  if not np.all(np.isfinite(values)):
    raise ValueError(f"eigenvalues must be finite, got {values.tolist()}")
  if not 0.0 <= momentum < 1.0:
    raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
  positive = values > 0
  safe = np.where(positive, values, 1.0)
  gd_upper = np.where(positive, 2.0 / safe, 0.0)
  return ConvergenceIntervals(values, gd_upper * (1.0 + momentum), gd_upper, float(momentum))


def _lr_lines(learning_rates) -> dict[str, float]:
  if learning_rates is None:
    return {}
  if isinstance(learning_rates, Mapping):
    return {str(k): float(v) for k, v in learning_rates.items()}
  values = np.unique(np.asarray(learning_rates, np.float64).ravel())[::-1]
  values = values[values > 0]
  if len(values) > 8:  # a continuous schedule: its range
    values = np.array([values[0], values[-1]])
  return {f"lr {v:.3g}": float(v) for v in values}


def plot_convergence_intervals(
    eigenvalues: Sequence[float] | np.ndarray | ConvergenceIntervals,
    learning_rates: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
    momentum: float = 0.0,
    path: str | pathlib.Path | None = None,
    title: str | None = None,
) -> Figure:
  """You et al.'s Fig. 5: a bar ``(0, 2/lambda_i)`` per top eigenvalue, and learning rates.

  Bars on a log axis, one per eigenvalue (largest first, labelled with its value);
  with ``momentum > 0`` a lighter bar shows the heavy-ball interval
  ``(0, (2 + 2g)/lambda_i)``. Each learning rate is a horizontal line: where it
  lies above a bar, training is unstable along that direction.

  Args:
    eigenvalues: the eigenvalues, or a :class:`ConvergenceIntervals`.
    learning_rates: ``{label: lr}``, or the learning rates a schedule used (their
      distinct values are drawn; more than 8 distinct: the largest and smallest).
    momentum: heavy-ball momentum (ignored when given intervals).
    path: also write a PNG there.
    title: the axes title.

  Returns:
    The matplotlib ``Figure``.

  Example:
    >>> fig = plot_convergence_intervals([250.0, 120.0, 80.0], {"initial lr": 0.1})
    >>> len(fig.axes[0].patches)
    3
  """
  intervals = (eigenvalues if isinstance(eigenvalues, ConvergenceIntervals)
               else convergence_intervals(eigenvalues, momentum))
  lines = _lr_lines(learning_rates)
  index = np.arange(1, len(intervals.eigenvalues) + 1)
  fig = Figure(figsize=(max(7.0, 0.55 * len(index) + 4.5), 4.0), layout="constrained")
  ax = fig.add_subplot()
  positive = intervals.gd_upper > 0
  if intervals.momentum > 0:
    ax.bar(index[positive], intervals.upper[positive], width=0.6, color="tab:blue", alpha=0.25,
           label=f"(0, (2+2g)/$\\lambda_i$), g={intervals.momentum:g}")
  ax.bar(index[positive], intervals.gd_upper[positive], width=0.6, color="tab:blue",
         label="(0, 2/$\\lambda_i$)")
  for i, value, top in zip(index, intervals.eigenvalues, intervals.upper, strict=True):
    text = f"{value:.3g}" if top > 0 else f"{value:.3g}\n(none)"
    y = top if top > 0 else None
    if y is not None:
      ax.annotate(text, (i, y), textcoords="offset points", xytext=(0, 3), ha="center",
                  fontsize=8)
    else:
      ax.annotate(text, (i, 0), xycoords=("data", "axes fraction"), textcoords="offset points",
                  xytext=(0, 3), ha="center", fontsize=8, color="tab:red")
  for (label, lr), color in zip(lines.items(), ["tab:red", "tab:orange", "tab:green",
                                                 "tab:purple", "tab:brown", "tab:pink",
                                                 "tab:gray", "tab:olive"], strict=False):
    ax.axhline(lr, color=color, linestyle="--", linewidth=1.2, label=label)
  shown = [*intervals.upper[intervals.upper > 0], *[v for v in lines.values() if v > 0]]
  if shown:
    ax.set_yscale("log")
    ax.set_ylim(min(shown) / 3, max(shown) * 3)
  ax.set_xlim(0.4, len(index) + 0.6)
  ax.set_xticks(index)
  ax.set_xlabel("eigenvalue index i (largest first; value above each bar)")
  ax.set_ylabel("learning rate")
  ax.set_title(title or "Convergence intervals of the top Hessian eigenvalues")
  fig.legend(fontsize=8, loc="outside right upper")
  if path is not None:
    save_figure(fig, path)
  return fig


def plot_spectral_density(grid: np.ndarray, density: np.ndarray,
                          path: str | pathlib.Path | None = None,
                          title: str | None = None) -> Figure:
  """The SLQ density on a log axis (as PyHessian draws it).

  Example:
    >>> import numpy as np
    >>> fig = plot_spectral_density(np.linspace(-1, 1, 5), np.ones(5) / 2)
    >>> fig.axes[0].get_yscale()
    'log'
  """
  fig = Figure(figsize=(6, 3.5), layout="constrained")
  ax = fig.add_subplot()
  ax.semilogy(grid, np.maximum(density, 1e-12))
  ax.set_xlabel("eigenvalue")
  ax.set_ylabel("density")
  ax.set_title(title or "Hessian spectral density (SLQ)")
  if path is not None:
    save_figure(fig, path)
  return fig
