"""Hessian spectrum: HVPs, top eigenvalues, trace, spectral density, ``2/lambda`` intervals.

* :func:`hvp` -- forward-over-reverse Hessian-vector product of ``loss_fn(params, batch)``.
* :class:`DatasetHessian` -- the size-weighted mean of per-batch HVPs over a dataset.
* :func:`top_eigenvalues` / :func:`min_eigenvalue` -- Lanczos (or PyHessian's power
  iteration) with residuals and convergence flags, in an :class:`EigenResult`.
"""

from lrsched.hessian.eigen import (
    EigenResult,
    lanczos,
    min_eigenvalue,
    power_iteration,
    top_eigenvalues,
)
from lrsched.hessian.hvp import FlatSpec, hvp
from lrsched.hessian.operator import DatasetHessian

__all__ = [
    "DatasetHessian",
    "EigenResult",
    "FlatSpec",
    "hvp",
    "lanczos",
    "min_eigenvalue",
    "power_iteration",
    "top_eigenvalues",
]
