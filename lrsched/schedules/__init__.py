"""Learning-rate and momentum schedules, each an ``optax.Schedule``.

Their real-valued arguments (peak, initial and end values, factors, ``gamma``,
``beta``, ``cycle_decay``, div factors, momenta) may be JAX tracers, as optax's
are: a sweep over learning rates is one ``jax.vmap``, and ``jax.jit`` or
``jax.grad`` may run over them. They are checked when concrete and passed
through when traced. Step counts (``total_steps``, boundaries, periods,
warmups) stay static Python integers; integral floats such as ``100.0`` are
taken, ``100.5`` is refused. Each docstring says which arguments may be traced.

>>> import jax, jax.numpy as jnp, lrsched
>>> peaks = jnp.array([0.1, 0.2, 0.4])
>>> [round(float(v), 4) for v in jax.vmap(lambda p: lrsched.sgdr(p, 100)(50))(peaks)]
[0.05, 0.1, 0.2]
"""

from lrsched.schedules.budgeted import budgeted, rex
from lrsched.schedules.compose import join, stretch, warmup
from lrsched.schedules.cyclic import cyclic, cyclic_momentum
from lrsched.schedules.exp_lr import (
    exp_lr,
    exp_lr_momentum_init,
    texp,
    with_momentum_buffer,
)
from lrsched.schedules.inverse_sqrt import inverse_sqrt
from lrsched.schedules.noise import timm_noise
from lrsched.schedules.one_cycle import one_cycle, one_cycle_momentum
from lrsched.schedules.registry import (
    describe,
    from_spec,
    register,
    registered_names,
    resolve_spec,
)
from lrsched.schedules.sgdr import sgdr, tanh_decay
from lrsched.schedules.step_decay import per_epoch, step_decay
from lrsched.schedules.wsd import wsd, wsd_s

__all__ = [
    "budgeted",
    "cyclic",
    "cyclic_momentum",
    "describe",
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
    "resolve_spec",
    "rex",
    "sgdr",
    "step_decay",
    "stretch",
    "tanh_decay",
    "texp",
    "warmup",
    "with_momentum_buffer",
    "wsd",
    "wsd_s",
    "timm_noise",
]
