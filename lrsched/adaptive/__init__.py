"""Loss-driven learning-rate rules as optax transformations.

* :func:`reduce_on_plateau`: PyTorch's ``ReduceLROnPlateau``, decision for decision.
* :func:`autodecay`: You et al.'s AutoDecay (2019, App. A.1); :func:`autodecay_rule` is
  the same rule as a bare controller.

Both scale the updates of the optimizer they are chained after, so they compose with
any schedule (``optax.chain(optax.sgd(lrsched.warmup(...)), reduce_on_plateau(start=W))``)
and their state checkpoints with the optimizer's. They observe one value per call of
:func:`observe` (once per epoch in ``lrsched.train``) or per ``update(..., value=v)``.
:func:`effective_learning_rate` is the schedule's value times their scales.
"""

from lrsched.adaptive.plateau import PlateauConfig, PlateauState, reduce_on_plateau
from lrsched.adaptive.smoothed_loss import (
    AutoDecay,
    AutoDecayNonFiniteError,
    AutoDecayOptState,
    AutoDecayState,
    autodecay,
    autodecay_rule,
    decisions,
    last_record,
    smoothed_std,
)
from lrsched.adaptive.state import (
    adaptive_scale,
    effective_learning_rate,
    find_plateau,
    observe,
    should_stop,
)

__all__ = [
    "AutoDecay",
    "AutoDecayNonFiniteError",
    "AutoDecayOptState",
    "AutoDecayState",
    "PlateauConfig",
    "PlateauState",
    "autodecay",
    "autodecay_rule",
    "decisions",
    "effective_learning_rate",
    "find_plateau",
    "last_record",
    "observe",
    "adaptive_scale",
    "reduce_on_plateau",
    "should_stop",
    "smoothed_std",
]
