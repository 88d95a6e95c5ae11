"""One or more instances of every schedule family, shared by the schedule tests."""

import jax.numpy as jnp

import lrsched

LEARNING_RATES = {
    "step_decay": lambda: lrsched.step_decay(0.1, [30, 60]),
    "cyclic": lambda: lrsched.cyclic(0.01, 0.1, 20, 30, mode="exp_range", gamma=0.99),
    "one_cycle": lambda: lrsched.one_cycle(100, 0.1, three_phase=True),
    "sgdr": lambda: lrsched.sgdr(0.1, 10, 2, 1e-4),
    "rex": lambda: lrsched.rex(0.1, 100, beta=0.9),
    "budgeted_cosine": lambda: lrsched.budgeted("cosine", 0.1, 100, sample_every=7),
    "budgeted_callable": lambda: lrsched.budgeted(lambda z: jnp.exp(-3.0 * z), 0.1, 100),
    "sgdr_timm": lambda: lrsched.sgdr(0.1, 10, 1.5, 1e-4, cycle_decay=0.7, cycle_limit=5,
                                      k_decay=2.0),
    "tanh_decay": lambda: lrsched.tanh_decay(0.1, 10, 1.5, 1e-4, cycle_decay=0.7,
                                             cycle_limit=None, lower=-5.0, upper=4.0),
    "wsd": lambda: lrsched.wsd(0.1, 100, 10, 20, cooldown_shape="1-sqrt", end_value=1e-3),
    "wsd_s": lambda: lrsched.wsd_s(0.1, [40, 70, 100], 20, warmup_steps=5, end_value=1e-3),
    "timm_noise": lambda: lrsched.timm_noise(lrsched.sgdr(0.1, 30), [5, 80], noise_pct=0.5),
    "inverse_sqrt": lambda: lrsched.inverse_sqrt(0.1, 10),
    "per_epoch": lambda: lrsched.per_epoch(lrsched.step_decay(0.1, [2]), 15),
    "warmup_sgdr": lambda: lrsched.warmup(lrsched.sgdr(0.1, 10, 2), 5, 0.01),
    "join_three": lambda: lrsched.join(
        [lrsched.warmup(0.1, 10), lrsched.sgdr(0.1, 20), lrsched.rex(0.05, 50)], [10, 50]),
    "stretch": lambda: lrsched.stretch(lrsched.one_cycle(60, 0.1), 20, 60, 130),
    "optax_by_name": lambda: lrsched.from_spec(
        {"name": "linear_onecycle_schedule", "transition_steps": 100, "peak_value": 0.1}),
}

MOMENTA = {
    "cyclic_momentum": lambda: lrsched.cyclic_momentum(0.85, 0.95, 20, 30),
    "one_cycle_momentum": lambda: lrsched.one_cycle_momentum(100, three_phase=True),
}


def evaluate(schedule, steps):
  """The schedule on counts 0..steps-1, evaluated as one vector."""
  return schedule(jnp.arange(steps, dtype=jnp.int32))
