"""lrsched: learning-rate schedules and loss-curvature analysis for JAX/Optax."""

from lrsched import scale_invariance
from lrsched.autodecay import AutoDecay, AutoDecayState, autodecay
from lrsched.range_test import lr_range_test, plot_range_test
from lrsched.scale_invariance import check_scale_invariance, renormalized_sgd, scale_invariant_mask
from lrsched.schedules import (
    budgeted,
    cyclic,
    cyclic_momentum,
    exp_lr,
    exp_lr_momentum_init,
    from_spec,
    inverse_sqrt,
    join,
    one_cycle,
    one_cycle_momentum,
    per_epoch,
    register,
    registered_names,
    rex,
    sgdr,
    step_decay,
    stretch,
    texp,
    warmup,
    with_momentum_buffer,
    wsd,
)

__version__ = "0.1.0"

__all__ = [
    "AutoDecay",
    "AutoDecayState",
    "autodecay",
    "lr_range_test",
    "plot_range_test",
    "budgeted",
    "check_scale_invariance",
    "cyclic",
    "cyclic_momentum",
    "exp_lr",
    "exp_lr_momentum_init",
    "from_spec",
    "inverse_sqrt",
    "join",
    "one_cycle",
    "one_cycle_momentum",
    "per_epoch",
    "register",
    "registered_names",
    "renormalized_sgd",
    "rex",
    "scale_invariance",
    "scale_invariant_mask",
    "sgdr",
    "step_decay",
    "stretch",
    "texp",
    "warmup",
    "with_momentum_buffer",
    "wsd",
]
