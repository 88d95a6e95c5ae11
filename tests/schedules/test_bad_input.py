# ruff: noqa: E501  (a table: one bad input per line reads best)
"""Invalid arguments raise ValueError at construction, naming argument and range."""

import math

import jax.numpy as jnp
import pytest

import lrsched

BAD = [
    # step_decay
    (lrsched.step_decay, dict(init_value=-0.1, boundaries=[1]), r"init_value must be in \[0.0, inf\], got -0.1"),
    (lrsched.step_decay, dict(init_value=math.nan, boundaries=[1]), r"init_value must be finite, got nan"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[5, 3]), r"boundaries must be strictly increasing, got boundaries\[0\]=5 followed by boundaries\[1\]=3"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[0, 3]), r"boundaries\[0\] must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[-4]), r"boundaries\[0\] must be an integer"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[2.5]), r"boundaries\[0\] must be an integer .* got 2.5 \(float\)"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[2**31]), r"boundaries\[0\] must be an integer in \[1, 2147483647\]"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries="30,60"), r"boundaries must be a sequence of integers"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[3], factor=0.0), r"factor must be in \(0.0, 1.0\], got 0.0"),
    (lrsched.step_decay, dict(init_value=0.1, boundaries=[3], factor=10.0), r"factor must be in \(0.0, 1.0\]"),
    # cyclic
    (lrsched.cyclic, dict(base_value=0.2, max_value=0.1, step_size_up=5), r"base_value must be <= max_value, got base_value=0.2 > max_value=0.1"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=0.1, step_size_up=0), r"step_size_up must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=0.1, step_size_up=4, step_size_down=-1), r"step_size_down must be an integer"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=0.1, step_size_up=4, mode="sine"), r"mode must be one of \['triangular', 'triangular2', 'exp_range'\], got 'sine'"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=0.1, step_size_up=4, mode="exp_range", gamma=1.5), r"gamma must be in \(0.0, 1.0\], got 1.5"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=math.inf, step_size_up=4), r"max_value must be finite"),
    (lrsched.cyclic, dict(base_value=0.0, max_value=1.0, step_size_up=2**31 - 1, step_size_down=5), r"step_size_up \+ step_size_down must be <= 2147483647"),
    (lrsched.cyclic_momentum, dict(base_momentum=0.95, max_momentum=0.85, step_size_up=5), r"base_momentum must be <= max_momentum"),
    (lrsched.cyclic_momentum, dict(base_momentum=0.8, max_momentum=1.0, step_size_up=5), r"max_momentum must be in \[0.0, 1.0\), got 1.0"),
    # one_cycle
    (lrsched.one_cycle, dict(total_steps=0, max_value=0.1), r"total_steps must be an integer in \[2, 2147483647\], got 0"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, pct_start=1.0), r"pct_start must be in \(0.0, 1.0\), got 1.0"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, pct_start=0.0), r"pct_start must be in \(0.0, 1.0\), got 0.0"),
    (lrsched.one_cycle, dict(total_steps=3, max_value=0.1), r"pct_start \* total_steps must be > 1"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, pct_start=0.6, three_phase=True), r"three_phase needs 2 \* pct_start \* total_steps - 2 < total_steps - 1"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=-1.0), r"max_value must be in \(0.0, inf\], got -1.0"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, div_factor=0.0), r"div_factor must be in \(0.0, inf\]"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, final_div_factor=0), r"final_div_factor must be in \(0.0, inf\], got 0"),
    (lrsched.one_cycle, dict(total_steps=100, max_value=0.1, anneal="cosine"), r"anneal must be one of \['cos', 'linear'\], got 'cosine'"),
    (lrsched.one_cycle_momentum, dict(total_steps=100, base_momentum=-0.1), r"base_momentum must be in \[0.0, 1.0\)"),
    (lrsched.one_cycle_momentum, dict(total_steps=100, base_momentum=0.96), r"base_momentum must be <= max_momentum"),
    # sgdr
    (lrsched.sgdr, dict(max_value=0.1, first_period=0), r"first_period must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.sgdr, dict(max_value=0.1, first_period=10, period_mult=1.5), r"period_mult must be an integer .* got 1.5 \(float\)"),
    (lrsched.sgdr, dict(max_value=0.1, first_period=10, period_mult=0), r"period_mult must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.sgdr, dict(max_value=0.1, first_period=10, min_value=0.2), r"min_value must be <= max_value, got min_value=0.2 > max_value=0.1"),
    (lrsched.sgdr, dict(max_value=0.1, first_period=True), r"first_period must be an integer .* got True \(bool\)"),
    # rex / budgeted
    (lrsched.rex, dict(init_value=0.1, total_steps=100, beta=1.0), r"beta must be in \[0.0, 1.0\), got 1.0"),
    (lrsched.rex, dict(init_value=0.1, total_steps=0), r"total_steps must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.rex, dict(init_value=0.1, total_steps=10, end_value=0.2), r"end_value must be <= init_value"),
    (lrsched.rex, dict(init_value=0.0, total_steps=10), r"init_value must be in \(0.0, inf\], got 0.0"),
    (lrsched.budgeted, dict(profile="poly", init_value=0.1, total_steps=10), r"profile must be one of \['linear', 'cosine', 'exponential', 'rex', 'step'\], got 'poly'"),
    (lrsched.budgeted, dict(profile="linear", init_value=0.1, total_steps=10, sample_every=0), r"sample_every must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.budgeted, dict(profile="exponential", init_value=0.1, total_steps=10), r"profile='exponential' interpolates geometrically and needs end_value > 0"),
    (lrsched.budgeted, dict(profile=lambda z: 2 * z, init_value=0.1, total_steps=10), r"profile must return values in \[0, 1\] for z in \[0, 1\], got profile\(0.6.*\) = 1.2"),
    (lrsched.budgeted, dict(profile=lambda z: jnp.log(z), init_value=0.1, total_steps=10), r"profile must return values in \[0, 1\] .* got profile\(0.0\) = -inf"),
    (lrsched.budgeted, dict(profile=lambda z: z[5], init_value=0.1, total_steps=10), r"profile must be a jnp callable of the progress z in \[0, 1\]; calling it failed"),
    # wsd
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=60, decay_steps=50), r"warmup_steps \+ decay_steps must be <= total_steps, got 60 \+ 50 > 100"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=-1, decay_steps=50), r"warmup_steps must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, decay_steps=0), r"decay_steps must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, decay_steps=10, decay="exp"), r"decay must be one of \['linear', 'cosine', 'sqrt'\], got 'exp'"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, decay_steps=10, end_value=0.5), r"end_value must be <= peak_value"),
    # per_epoch
    (lambda **kw: lrsched.per_epoch(lrsched.rex(0.1, 10), **kw), dict(steps_per_epoch=0), r"steps_per_epoch must be an integer in \[1, 2147483647\], got 0"),
]


@pytest.mark.parametrize(("factory", "kwargs", "message"), BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_argument_raises_at_construction(factory, kwargs, message):
  with pytest.raises(ValueError, match=message):
    factory(**kwargs)
