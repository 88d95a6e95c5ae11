"""Hessian spectrum: HVPs, top eigenvalues, trace, spectral density, ``2/lambda`` intervals.

* :func:`hvp` -- forward-over-reverse Hessian-vector product of ``loss_fn(params, batch)``.
* :class:`DatasetHessian` -- the size-weighted mean of per-batch HVPs over a dataset.
* :func:`top_eigenvalues` / :func:`min_eigenvalue` -- Lanczos (or PyHessian's power
  iteration) with residuals and convergence flags, in an :class:`EigenResult`.
* :func:`hessian_trace` (Hutchinson) and :func:`spectral_density` (SLQ).
* :func:`convergence_intervals` and :func:`plot_convergence_intervals` (You et al. Fig. 5).
* ``wrt=`` on all of them and :class:`DatasetHessian`: a diagonal block (parameters by
  path regex or predicate); :func:`per_layer` -- each layer's top eigenvalues and trace.
* :func:`loss_landscape` / :func:`plot_loss_landscape` -- the loss along eigenvectors.
* :func:`model_loss` -- an NNX classifier as ``loss_fn(params, batch)``, BatchNorm in
  ``"eval"`` or ``"train"`` mode (recorded in every result), with the run's ``loss``.
* ``max_basis=`` on :func:`top_eigenvalues` / :func:`min_eigenvalue` / :func:`lanczos` --
  thick-restart Lanczos in bounded memory (:func:`thick_restart_lanczos`).
* ``jackknife=True`` on :func:`top_eigenvalues` / :func:`hessian_trace` -- delete-one-batch
  jackknife error bars of the full-data estimate (:func:`jackknife`).
"""

from lrsched.hessian.density import DensityResult, TraceResult, hessian_trace, spectral_density
from lrsched.hessian.eigen import (
    EigenResult,
    lanczos,
    min_eigenvalue,
    power_iteration,
    top_eigenvalues,
)
from lrsched.hessian.hvp import FlatSpec, hvp
from lrsched.hessian.intervals import (
    ConvergenceIntervals,
    convergence_intervals,
    plot_convergence_intervals,
    plot_spectral_density,
)
from lrsched.hessian.jackknife import jackknife
from lrsched.hessian.landscape import LandscapeResult, loss_landscape, plot_loss_landscape
from lrsched.hessian.model_loss import ModelLoss, model_loss
from lrsched.hessian.operator import DatasetHessian
from lrsched.hessian.per_layer import per_layer
from lrsched.hessian.restart import thick_restart_lanczos
from lrsched.paths import param_paths

__all__ = [
    "ConvergenceIntervals",
    "DatasetHessian",
    "DensityResult",
    "EigenResult",
    "FlatSpec",
    "LandscapeResult",
    "ModelLoss",
    "TraceResult",
    "convergence_intervals",
    "hessian_trace",
    "hvp",
    "jackknife",
    "lanczos",
    "loss_landscape",
    "min_eigenvalue",
    "model_loss",
    "param_paths",
    "per_layer",
    "plot_convergence_intervals",
    "plot_loss_landscape",
    "plot_spectral_density",
    "power_iteration",
    "spectral_density",
    "thick_restart_lanczos",
    "top_eigenvalues",
]
