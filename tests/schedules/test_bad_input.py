# ruff: noqa: E501  (a table: one bad input per line reads best)
"""Invalid arguments raise ValueError at construction, naming argument and range."""

import math

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
from lrsched.schedules import optax_names

SGDR = lrsched.sgdr(0.1, 10)

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
    (lrsched.cyclic, dict(init_value=0.2, peak_value=0.1, step_size_up=5), r"init_value must be <= peak_value, got init_value=0.2 > peak_value=0.1"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=0.1, step_size_up=0), r"step_size_up must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=0.1, step_size_up=4, step_size_down=-1), r"step_size_down must be an integer"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=0.1, step_size_up=4, mode="sine"), r"mode must be one of \['triangular', 'triangular2', 'exp_range'\], got 'sine'"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=0.1, step_size_up=4, mode="exp_range", gamma=1.5), r"gamma must be in \(0.0, 1.0\], got 1.5"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=math.inf, step_size_up=4), r"peak_value must be finite"),
    (lrsched.cyclic, dict(init_value=0.0, peak_value=1.0, step_size_up=2**31 - 1, step_size_down=5), r"step_size_up \+ step_size_down must be <= 2147483647"),
    (lrsched.cyclic_momentum, dict(base_momentum=0.95, max_momentum=0.85, step_size_up=5), r"base_momentum must be <= max_momentum"),
    (lrsched.cyclic_momentum, dict(base_momentum=0.8, max_momentum=1.0, step_size_up=5), r"max_momentum must be in \[0.0, 1.0\), got 1.0"),
    # one_cycle
    (lrsched.one_cycle, dict(total_steps=0, peak_value=0.1), r"total_steps must be an integer in \[2, 2147483647\], got 0"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, pct_start=1.0), r"pct_start must be in \(0.0, 1.0\), got 1.0"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, pct_start=0.0), r"pct_start must be in \(0.0, 1.0\), got 0.0"),
    (lrsched.one_cycle, dict(total_steps=3, peak_value=0.1), r"pct_start \* total_steps must be > 1"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, pct_start=0.6, three_phase=True), r"three_phase needs 2 \* pct_start \* total_steps - 2 < total_steps - 1"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=-1.0), r"peak_value must be in \(0.0, inf\], got -1.0"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, div_factor=0.0), r"div_factor must be in \(0.0, inf\]"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, final_div_factor=0), r"final_div_factor must be in \(0.0, inf\], got 0"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, anneal="cosine"), r"anneal must be one of \['cos', 'linear'\], got 'cosine'"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=1e300), r"peak_value must be within the float32 range \[-3.4028234663852886e\+38, 3.4028234663852886e\+38\], got 1e\+300"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, div_factor=1e-300), r"initial = peak_value / div_factor = 0.1 / 1e-300 = 1e\+299 is outside the float32 range"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, three_phase="no"), r"three_phase must be a bool \(True or False\), got 'no' \(str\)"),
    (lrsched.one_cycle, dict(total_steps=100, peak_value=0.1, three_phase=1), r"three_phase must be a bool"),
    (lrsched.one_cycle_momentum, dict(total_steps=100, three_phase="yes"), r"three_phase must be a bool"),
    (lrsched.one_cycle_momentum, dict(total_steps=100, base_momentum=-0.1), r"base_momentum must be in \[0.0, 1.0\)"),
    (lrsched.one_cycle_momentum, dict(total_steps=100, base_momentum=0.96), r"base_momentum must be <= max_momentum"),
    # sgdr
    (lrsched.sgdr, dict(peak_value=0.1, first_period=0), r"first_period must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, period_mult=0.5), r"period_mult must be in \[1.0, inf\], got 0.5"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, period_mult="2"), r"period_mult must be a finite real number, got '2'"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, end_value=0.2), r"end_value must be <= peak_value, got end_value=0.2 > peak_value=0.1"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=True), r"first_period must be an integer .* got True \(bool\)"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, cycle_decay=0.0), r"cycle_decay must be in \(0.0, 1.0\], got 0.0"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, cycle_decay=1.5), r"cycle_decay must be in \(0.0, 1.0\], got 1.5"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, cycle_limit=0), r"cycle_limit must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, cycle_limit=2.5), r"cycle_limit must be an integer .* got 2.5 \(float\)"),  # 2.0 reads as 2
    (lrsched.sgdr, dict(peak_value=0.1, first_period=10, k_decay=0.0), r"k_decay must be in \(0.0, inf\], got 0.0"),
    (lrsched.sgdr, dict(peak_value=0.1, first_period=1, period_mult=1.00001), r"starts more than 100000 cycles before count 2\*\*31 - 1: pass a cycle_limit"),
    # tanh_decay (sgdr's cycles; its own bounds)
    (lrsched.tanh_decay, dict(peak_value=0.1, first_period=10, lower=3.0, upper=3.0), r"lower must be below upper .* got lower=3.0, upper=3.0"),
    (lrsched.tanh_decay, dict(peak_value=0.1, first_period=10, lower=float("nan")), r"lower must be finite, got nan"),
    (lrsched.tanh_decay, dict(peak_value=0.1, first_period=0), r"first_period must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.tanh_decay, dict(peak_value=0.1, first_period=1, period_mult=1.00001, cycle_limit=None), r"tanh_decay with first_period=1, period_mult=1.00001 starts more than 100000 cycles"),
    (lrsched.sgdr, dict(peak_value=1e39, first_period=10), r"peak_value must be within the float32 range"),
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
    # wsd_s
    (lrsched.wsd_s, dict(peak_value=0.1, boundaries=[50, 40], cooldown_steps=10), r"boundaries must be strictly increasing"),
    (lrsched.wsd_s, dict(peak_value=0.1, boundaries=[50, 55], cooldown_steps=10), r"boundaries: segment 1 \[50, 55\) is 5 steps, shorter than its cooldown_steps 10"),
    (lrsched.wsd_s, dict(peak_value=0.1, boundaries=[15], cooldown_steps=10, warmup_steps=8), r"segment 0 \[0, 15\) is 15 steps, shorter than its cooldown_steps 10 \+ warmup_steps 8"),
    (lrsched.wsd_s, dict(peak_value=0.1, boundaries=[50], cooldown_steps=0), r"cooldown_steps must be an integer in \[1, 2147483647\], got 0"),
    (lrsched.wsd_s, dict(peak_value=0.1, boundaries=[50], cooldown_steps=10, end_value=0.2), r"end_value must be <= peak_value"),
    # wsd
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=60, cooldown_steps=50), r"warmup_steps \+ cooldown_steps must be <= total_steps, got 60 \+ 50 > 100"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=-1, cooldown_steps=50), r"warmup_steps must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, cooldown_steps=-1), r"cooldown_steps must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, cooldown_steps=10, cooldown_shape="sqrt"), r"cooldown_shape must be one of \['linear', 'cosine', '1-sqrt'\], got 'sqrt'"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, cooldown_steps=10, warmup_shape="exp"), r"warmup_shape must be one of \['linear', 'cosine', '1-sqrt'\], got 'exp'"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, cooldown_steps=10, end_value=0.5), r"end_value must be <= peak_value"),
    (lrsched.wsd, dict(peak_value=0.1, total_steps=100, warmup_steps=0, cooldown_steps=10, warmup_shape=["linear"]), r"warmup_shape must be one of"),
    # inverse_sqrt
    (lrsched.inverse_sqrt, dict(peak_value=0.0, warmup_steps=10), r"peak_value must be in \(0.0, inf\], got 0.0"),
    (lrsched.inverse_sqrt, dict(peak_value=0.1, warmup_steps=-1), r"warmup_steps must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.inverse_sqrt, dict(peak_value=0.1, warmup_steps=10, timescale=0), r"timescale must be an integer in \[1, 2147483647\], got 0"),
    # warmup, join, stretch
    (lrsched.warmup, dict(schedule=SGDR, warmup_steps=-5), r"warmup_steps must be an integer in \[0, 2147483647\], got -5"),
    (lrsched.warmup, dict(schedule=SGDR, warmup_steps=5, init_value=math.nan), r"init_value must be finite, got nan"),
    (lrsched.warmup, dict(schedule=SGDR, warmup_steps=5, prefix="False"), r"prefix must be a bool \(True or False\), got 'False' \(str\)"),
    (lrsched.warmup, dict(schedule="sgdr", warmup_steps=5), r"schedule must be a schedule \(a callable of the step count\) or a number >= 0, got 'sgdr'"),
    (lrsched.warmup, dict(schedule=lambda c: jnp.nan, warmup_steps=5), r"schedule\(0\) must be a finite scalar >= 0, got array\(nan\)"),
    (lrsched.warmup, dict(schedule=lambda c: 1 / 0, warmup_steps=5), r"schedule\(0\) failed with ZeroDivisionError"),
    (lrsched.join, dict(schedules=[SGDR, SGDR], boundaries=[]), r"join needs one schedule more than boundaries, got 2 schedules and 0 boundaries"),
    (lrsched.join, dict(schedules=[SGDR, SGDR, SGDR], boundaries=[10, 5]), r"boundaries must be strictly increasing, got boundaries\[0\]=10 followed by boundaries\[1\]=5"),
    (lrsched.join, dict(schedules=SGDR, boundaries=[]), r"schedules must be a list of schedules"),
    (lrsched.join, dict(schedules=[SGDR, math.inf], boundaries=[3]), r"schedules\[1\] must be a schedule \(a callable of the step count\) or a number >= 0, got inf"),
    (lrsched.join, dict(schedules=[SGDR, SGDR], boundaries=[-1]), r"boundaries\[0\] must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.stretch, dict(schedule=SGDR, from_step=10, old_total=10, new_total=20), r"from_step must be < old_total, got from_step=10 >= old_total=10: there is nothing left to stretch"),
    (lrsched.stretch, dict(schedule=SGDR, from_step=10, old_total=20, new_total=5), r"from_step must be < new_total, got from_step=10 >= new_total=5"),
    (lrsched.stretch, dict(schedule=SGDR, from_step=-1, old_total=20, new_total=30), r"from_step must be an integer in \[0, 2147483647\], got -1"),
    (lrsched.stretch, dict(schedule=SGDR, from_step=1, old_total=20, new_total=2**31), r"new_total must be an integer in \[1, 2147483647\], got 2147483648"),
    (lrsched.stretch, dict(schedule=SGDR, from_step=1, old_total=20.5, new_total=30), r"old_total must be an integer .* \(a whole number: 100.0 reads as 100\), got 20.5 \(float\)"),
    # optax's schedules by optax's names: checked like lrsched's
    (optax_names.constant_schedule, dict(value=math.nan), r"value must be finite, got nan"),
    (optax_names.constant_schedule, dict(value="0.1"), r"value must be a finite real number, got '0.1'"),
    (optax_names.cosine_decay_schedule, dict(init_value=0.1, decay_steps=0), r"decay_steps must be an integer in \[1, 2147483647\], got 0"),
    (optax_names.cosine_decay_schedule, dict(init_value=0.1, decay_steps=10, alpha=2.0), r"alpha must be in \[0.0, 1.0\], got 2.0"),
    (optax_names.warmup_cosine_decay_schedule, dict(init_value=0.0, peak_value=0.1, warmup_steps=10, decay_steps=10), r"decay_steps \(the total length, warmup included\) must be > warmup_steps, got decay_steps=10 <= warmup_steps=10"),
    (optax_names.warmup_cosine_decay_schedule, dict(init_value=0.0, peak_value=math.nan, warmup_steps=1, decay_steps=10), r"peak_value must be finite, got nan"),
    (optax_names.linear_schedule, dict(init_value=0.1, end_value=0.0, transition_steps=0), r"transition_steps must be an integer in \[1, 2147483647\], got 0"),
    (optax_names.linear_schedule, dict(init_value=0.1, end_value=0.0, transition_steps=10, transition_begin=-3), r"transition_begin must be an integer in \[0, 2147483647\], got -3"),
    (optax_names.polynomial_schedule, dict(init_value=0.1, end_value=0.0, power=-1.0, transition_steps=10), r"power must be in \(0.0, inf\], got -1.0"),
    (optax_names.exponential_decay, dict(init_value=0.1, transition_steps=10, decay_rate=1.5), r"decay_rate=1.5 > 1 grows without bound and overflows float32: give end_value"),
    (optax_names.exponential_decay, dict(init_value=0.1, transition_steps=10, decay_rate=0.0), r"decay_rate must be in \(0.0, inf\], got 0.0"),
    (optax_names.exponential_decay, dict(init_value=0.1, transition_steps=10, decay_rate=0.5, staircase="yes"), r"staircase must be a bool"),
    (optax_names.piecewise_constant_schedule, dict(init_value=0.1, boundaries_and_scales={10: math.nan}), r"boundaries_and_scales\[10\] must be finite, got nan"),
    (optax_names.piecewise_constant_schedule, dict(init_value=0.1, boundaries_and_scales={-10: 0.1}), r"boundaries_and_scales boundary must be an integer in \[0, 2147483647\], got -10"),
    (optax_names.piecewise_constant_schedule, dict(init_value=1.0, boundaries_and_scales={1: 1e30, 2: 1e30}), r"the value after boundary 2 = init_value times the scales of boundaries_and_scales up to it = [0-9.]+e\+60 is outside the float32 range"),
    (optax_names.piecewise_interpolate_schedule, dict(interpolate_type="cubic", init_value=0.1), r"interpolate_type must be one of \['linear', 'cosine'\], got 'cubic'"),
    (optax_names.linear_onecycle_schedule, dict(transition_steps=3, peak_value=0.1), r"the phase boundaries must satisfy 0 < int\(pct_start \* transition_steps\) < int\(pct_final \* transition_steps\), got int\(pct_start \* transition_steps\)=0"),
    (optax_names.cosine_onecycle_schedule, dict(transition_steps=100, peak_value=0.1, div_factor=1e-300), r"initial = peak_value / div_factor = 1e\+299 is outside the float32 range"),
    (optax_names.warmup_constant_schedule, dict(init_value=0.0, peak_value=0.1, warmup_steps=0), r"warmup_steps must be an integer in \[1, 2147483647\], got 0"),
    (optax_names.warmup_exponential_decay_schedule, dict(init_value=0.0, peak_value=0.1, warmup_steps=5, transition_steps=10, decay_rate=2.0), r"decay_rate=2.0 > 1 grows without bound"),
    (optax_names.sgdr_schedule, dict(cosine_kwargs=[{"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5, "decay_steps": "100"}]), r"cosine_kwargs\[0\]: decay_steps must be an integer in \[1, 2147483647\], got '100' \(str\)"),
    (optax_names.sgdr_schedule, dict(cosine_kwargs=[]), r"cosine_kwargs must hold at least one cycle, got \[\]"),
    (optax_names.join_schedules, dict(schedules=[SGDR], boundaries=[4]), r"join needs one schedule more than boundaries"),
    # per_epoch
    (lambda **kw: lrsched.per_epoch(lrsched.rex(0.1, 10), **kw), dict(steps_per_epoch=0), r"steps_per_epoch must be an integer in \[1, 2147483647\], got 0"),
]


@pytest.mark.parametrize(("factory", "kwargs", "message"), BAD,
                         ids=[f"{i}-{m[:40]}" for i, (_, _, m) in enumerate(BAD)])
def test_bad_argument_raises_at_construction(factory, kwargs, message):
  with pytest.raises(ValueError, match=message):
    factory(**kwargs)


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": ["sgdr"]}, r"unknown schedule name \['sgdr'\] \(list\): spec name must be one of \[.*'sgdr'.*\]"),
    ({"name": None}, r"spec name must be one of"),
    ({"name": "warmup_cosine_decay_schedule", "init_value": "0", "peak_value": 0.1,
      "warmup_steps": 10, "decay_steps": 100}, r"init_value must be a finite real number, got '0'"),
    ({"name": "constant_schedule", "value": float("nan")}, r"value must be finite, got nan"),
    ({"name": "one_cycle", "total_steps": 100, "peak_value": 0.1, "three_phase": "no"},
     r"three_phase must be a bool"),
    ({"name": "warmup", "warmup_steps": 10, "schedule": {"name": "sgdr", "peak_value": 0.1}},
     r"in schedule of 'warmup': spec for 'sgdr': missing a required argument: 'first_period'"),
    ({"name": "join", "boundaries": [10], "schedules": [0.1, {"name": "nope"}]},
     r"in schedules\[1\] of 'join': unknown schedule name 'nope': spec name must be one of"),
    ({"name": "piecewise_constant", "init_value": 0.1, "boundaries_and_scales": {"ten": 0.1}},
     r"boundaries_and_scales keys must be numbers of steps, got 'ten'"),
])
def test_bad_specs_raise_value_errors_naming_the_problem(spec, message):
  with pytest.raises(ValueError, match=message):
    lrsched.from_spec(spec)


def test_integer_counts_above_int32_saturate_instead_of_wrapping():
  schedule = lrsched.step_decay(0.1, [2**31 - 1])
  big = np.array([2**31 - 1, 2**31, 2**33, 2**63 - 1], np.int64)
  np.testing.assert_allclose(schedule(big), 0.01, rtol=1e-6)  # 2**33 used to read as 0
  assert float(schedule(np.int64(2**32))) == pytest.approx(0.01)
  assert float(schedule(2**40)) == pytest.approx(0.01)
  assert float(schedule(np.uint64(2**64 - 1))) == pytest.approx(0.01)
  assert float(schedule(np.array(-(2**40)))) == pytest.approx(0.1)  # negatives read as 0
  assert float(schedule(jnp.float32(1e12))) == pytest.approx(0.01)


def test_callable_profile_with_the_largest_budget_is_fast():
  # It used to allocate every reachable progress point (2**31 of them).
  schedule = lrsched.budgeted(lambda z: jnp.exp(-3.0 * z), 0.1, total_steps=2**31 - 1)
  assert np.isfinite(float(schedule(2**31 - 1)))


def test_optax_wrappers_do_not_change_optax_values_for_valid_input():
  counts = jnp.arange(0, 400, 3)
  ours = optax_names.exponential_decay(0.1, 50, 0.5, transition_begin=20, staircase=True)
  theirs = optax.exponential_decay(0.1, 50, 0.5, transition_begin=20, staircase=True)
  np.testing.assert_array_equal(ours(counts), theirs(counts))
