"""The learning-rate annealing law: a schedule's loss curve from two areas under its rates.

Tissue et al. (2024, "Scaling law with learning rate annealing") model the training loss
after ``s`` steps of any schedule ``eta_1, eta_2, ...`` as

  ``L(s) = L0 + A * S1(s)^(-alpha) - C * S2(s)``,

with the *forward area* ``S1(s) = sum_{i<=s} eta_i`` (how far the schedule has carried
the weights) and the *annealing area* ``S2(s) = sum_{i<=s} m_i``,
``m_i = decay * m_{i-1} + (eta_{i-1} - eta_i)`` (how much it has annealed, with a
momentum-like memory; ``decay`` ~0.999 in the paper; ``../shared/reference.md`` sec. 7).
Fitted on one or two curves (e.g. a constant rate and a cosine), it predicts the loss
curve of other schedules without training them.

Conventions chosen here (the paper leaves them implicit): step ``i`` (1-based) uses the
rate ``schedule(i - 1)`` (optax counts updates from 0), ``eta_0 = eta_1`` and ``m_0 = 0``
(the first step anneals nothing), and a warmup's rising rates count as negative
annealing (``eta_{i-1} - eta_i < 0``), as the recursion gives; steps whose ``S1`` is 0
(a warmup from 0) have no ``S1^(-alpha)`` and are left out of fits.

Example:
  >>> import numpy as np, optax
  >>> true = LawParams(L0=2.0, A=1.0, alpha=0.5, C=0.3)
  >>> rates = [optax.constant_schedule(0.1), optax.cosine_decay_schedule(0.1, 400)]
  >>> curves = [(r, predict(true, r, 400)) for r in rates]
  >>> fitted = fit(curves)
  >>> bool(np.allclose([fitted.L0, fitted.A, fitted.alpha, fitted.C], [2.0, 1.0, 0.5, 0.3],
  ...                  rtol=1e-3))
  True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["LawParams", "annealing_areas", "fit", "plot_fit", "predict"]

DECAY = 0.999
"""The paper's memory of the annealing area, ``lambda``."""

NUM_PARAMS = 4


@dataclasses.dataclass(frozen=True)
class LawParams:
  """The law's parameters: ``L(s) = L0 + A * S1^(-alpha) - C * S2``.

  Attributes:
    L0: the loss an infinite forward area would reach without annealing.
    A, alpha: the power law of the forward area.
    C: the loss removed per unit of annealing area.
    decay: the annealing area's memory (fixed, not fitted).
    rmse: the fit's root-mean-square residual (``nan`` when not fitted).
  """

  L0: float
  A: float
  alpha: float
  C: float
  decay: float = DECAY
  rmse: float = math.nan


def _check_decay(decay: float) -> float:
  if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
    raise ValueError(f"decay must be in (0, 1), got {decay!r}")
  return float(decay)


def _rates(rates: Callable[[int], Any] | Sequence[float], num_steps: int | None) -> np.ndarray:
  """The per-step rates ``eta_1..eta_T`` as float64 (a schedule is sampled at 0..T-1)."""
  if callable(rates):
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
      raise ValueError(f"num_steps must be a positive integer with a schedule, got "
                       f"{num_steps!r}")
    eta = np.array([float(rates(i)) for i in range(num_steps)], dtype=np.float64)
  else:
    eta = np.asarray(rates, dtype=np.float64)
    if eta.ndim != 1 or eta.size < 1:
      raise ValueError(f"rates must be a schedule or a 1-D sequence of per-step rates, got "
                       f"shape {eta.shape}")
    if num_steps is not None and num_steps != eta.size:
      raise ValueError(f"num_steps={num_steps} but {eta.size} rates were given")
  if not np.all(np.isfinite(eta)) or np.any(eta < 0):
    bad = int(np.flatnonzero(~np.isfinite(eta) | (eta < 0))[0])
    raise ValueError(f"rates must be finite and >= 0: step {bad + 1} has {float(eta[bad])!r}")
  return eta


def annealing_areas(rates: Callable[[int], Any] | Sequence[float], num_steps: int | None = None,
                    decay: float = DECAY) -> tuple[np.ndarray, np.ndarray]:
  """``(S1, S2)`` after each step ``s = 1..T`` of a schedule (module docstring).

  Args:
    rates: an ``optax.Schedule`` (sampled at steps ``0..num_steps-1``) or the rates.
    num_steps: the number of steps ``T`` (required with a schedule).
    decay: the annealing area's memory ``lambda``, in ``(0, 1)``.

  Returns:
    two float64 arrays of length ``T``.

  Example:
    >>> s1, s2 = annealing_areas([0.1, 0.1, 0.05, 0.05], decay=0.5)
    >>> s1.round(6).tolist(), s2.round(6).tolist()  # m = 0, 0, 0.05, 0.5 * 0.05
    ([0.1, 0.2, 0.25, 0.3], [0.0, 0.0, 0.05, 0.075])
  """
  decay = _check_decay(decay)
  eta = _rates(rates, num_steps)
  drops = np.diff(eta, prepend=eta[0]) * -1.0  # eta_{i-1} - eta_i, 0 at the first step
  m = np.empty_like(eta)
  memory = 0.0
  for i, drop in enumerate(drops):
    memory = decay * memory + drop
    m[i] = memory
  return np.cumsum(eta), np.cumsum(m)


def _law(theta: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
  l0, a, alpha, c = theta
  return l0 + a * s1 ** (-alpha) - c * s2


def predict(params: LawParams, rates: Callable[[int], Any] | Sequence[float],
            num_steps: int | None = None) -> np.ndarray:
  """The loss curve the law gives for a schedule: ``L(s)`` for ``s = 1..T`` (``nan`` where
  ``S1 = 0``)."""
  s1, s2 = annealing_areas(rates, num_steps, params.decay)
  out = np.full(s1.shape, np.nan)
  ok = s1 > 0
  out[ok] = _law(np.array([params.L0, params.A, params.alpha, params.C]), s1[ok], s2[ok])
  return out


def _curve(item: Any, decay: float, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """One curve's ``(S1, S2, loss)`` at the steps where the loss is known and ``S1 > 0``."""
  try:
    rates, losses = item
  except (TypeError, ValueError):
    raise ValueError(f"curves[{index}] must be a (schedule or rates, per-step losses) pair"
                     ) from None
  loss = np.asarray(losses, dtype=np.float64)
  if loss.ndim != 1:
    raise ValueError(f"curves[{index}]: the losses must be 1-D (one per step), got shape "
                     f"{loss.shape}")
  s1, s2 = annealing_areas(rates, loss.size if callable(rates) else None, decay)
  if s1.size != loss.size:
    raise ValueError(f"curves[{index}]: {s1.size} rates but {loss.size} losses")
  keep = np.isfinite(loss) & (s1 > 0)  # nan: a step whose loss was not recorded
  return s1[keep], s2[keep], loss[keep]


def fit(curves: Sequence[tuple[Any, Sequence[float]]], decay: float = DECAY) -> LawParams:
  """Fits ``L0, A, alpha, C`` to one or more (schedule, per-step loss) curves.

  Nonlinear least squares on every recorded step of every curve
  (``scipy.optimize.least_squares``, trust-region reflective, with ``A, C >= 0`` and
  ``0 < alpha <= 5``); a loss of ``nan`` marks a step that was not recorded (e.g. a loss
  logged every N steps). One constant-rate curve leaves ``C`` undetermined (its ``S2`` is
  0): fit a constant and an annealed curve together, as the paper does.

  Args:
    curves: ``[(rates, losses), ...]``: ``rates`` an ``optax.Schedule`` or the per-step
      rates, ``losses`` one value per step (``nan`` where unknown).
    decay: the annealing area's memory ``lambda``, in ``(0, 1)`` (not fitted).

  Returns:
    the fitted :class:`LawParams` (with its ``rmse``).

  Raises:
    ValueError: no curves, a malformed curve, or fewer usable points than the law's four
      parameters.
  """
  import scipy.optimize  # lazily, as lrsched.train.verdicts does

  decay = _check_decay(decay)
  if isinstance(curves, (str, bytes)) or not isinstance(curves, Sequence) or not curves:
    raise ValueError("curves must be a non-empty list of (schedule or rates, losses) pairs")
  parts = [_curve(item, decay, i) for i, item in enumerate(curves)]
  s1, s2, loss = (np.concatenate(column) for column in zip(*parts, strict=True))
  if loss.size < NUM_PARAMS:
    raise ValueError(f"the curves have {loss.size} usable points (a recorded loss where "
                     f"S1 > 0), fewer than the law's {NUM_PARAMS} parameters")
  low = float(loss.min())
  start = np.array([max(low - 0.1 * abs(low), 0.0), max(float(loss.max()) - low, 1e-3), 0.5,
                    0.0])
  result = scipy.optimize.least_squares(
      lambda theta: _law(theta, s1, s2) - loss, start, method="trf",
      bounds=([-np.inf, 0.0, 1e-6, 0.0], [np.inf, np.inf, 5.0, np.inf]),
      x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=20_000)
  l0, a, alpha, c = (float(v) for v in result.x)
  rmse = float(np.sqrt(np.mean(result.fun ** 2)))
  return LawParams(L0=l0, A=a, alpha=alpha, C=c, decay=decay, rmse=rmse)


def plot_fit(params: LawParams, curves: Sequence[tuple[Any, Sequence[float]]],
             labels: Sequence[str] | None = None, title: str | None = None) -> Figure:
  """Observed loss curves (dots) and the law's curves (lines), one colour per schedule."""
  fig = Figure(figsize=(7, 4.5), layout="constrained")
  ax = fig.subplots()
  for i, (rates, losses) in enumerate(curves):
    loss = np.asarray(losses, dtype=np.float64)
    steps = np.arange(1, loss.size + 1)
    label = labels[i] if labels is not None else f"curve {i}"
    dots = ax.plot(steps, loss, ".", markersize=2, alpha=0.5, label=f"{label}: observed")[0]
    ax.plot(steps, predict(params, rates, loss.size if callable(rates) else None),
            color=dots.get_color(), label=f"{label}: law")
  ax.set_xlabel("step")
  ax.set_ylabel("training loss")
  ax.legend(fontsize="small")
  ax.set_title(title or (f"L = {params.L0:.3g} + {params.A:.3g} S1^-{params.alpha:.3g} - "
                         f"{params.C:.3g} S2  (rmse {params.rmse:.2g})"))
  return fig
