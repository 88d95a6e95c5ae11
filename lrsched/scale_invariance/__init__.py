"""Scale invariance: checks, masks and renormalized training for exponential learning rates.

* :func:`check_scale_invariance`: does ``L(c w_i) = L(w_i)`` hold for each tensor?
* :func:`scale_invariant_mask`: which tensors of the :mod:`lrsched.models` networks are.
* :func:`renormalized_sgd`: momentum SGD that rescales those tensors by powers of
  two (momentum buffer and learning rate with them), so exponential-learning-rate
  runs (:func:`lrsched.exp_lr`, :func:`lrsched.texp`) stay finite in float32.
"""

from lrsched.scale_invariance.check import (
    ScaleInvarianceReport,
    TensorCheck,
    check_scale_invariance,
)
from lrsched.scale_invariance.masks import scale_invariant_mask
from lrsched.scale_invariance.renormalize import (
    RenormalizedSGDState,
    renormalized_sgd,
    unrenormalized_log2_norms,
)

__all__ = [
    "RenormalizedSGDState",
    "ScaleInvarianceReport",
    "TensorCheck",
    "check_scale_invariance",
    "renormalized_sgd",
    "scale_invariant_mask",
    "unrenormalized_log2_norms",
]
