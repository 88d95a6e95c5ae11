"""lrsched: learning-rate schedules and loss-curvature analysis for JAX/Optax."""

from lrsched.schedules import (
    budgeted,
    cyclic,
    cyclic_momentum,
    from_spec,
    one_cycle,
    one_cycle_momentum,
    per_epoch,
    register,
    registered_names,
    rex,
    sgdr,
    step_decay,
    wsd,
)

__version__ = "0.1.0"

__all__ = [
    "budgeted",
    "cyclic",
    "cyclic_momentum",
    "from_spec",
    "one_cycle",
    "one_cycle_momentum",
    "per_epoch",
    "register",
    "registered_names",
    "rex",
    "sgdr",
    "step_decay",
    "wsd",
]
