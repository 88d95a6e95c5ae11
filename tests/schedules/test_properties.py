"""Property tests: for random valid arguments, every count from 0 to 2**31 - 1
gives a finite value inside the schedule's documented range."""

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched

MAX = 2**31 - 1
rates = st.floats(1e-6, 10.0)
fractions = st.floats(0.0, 1.0)
momenta = st.floats(0.0, 0.999)
periods = st.integers(1, 10_000)
counts = st.lists(st.integers(0, MAX), min_size=1, max_size=30).map(
    lambda c: np.asarray([0, 1, MAX - 1, MAX, *c], dtype=np.int32)
)
SETTINGS = settings(max_examples=60, deadline=None)


def assert_in_range(schedule, counts, low, high):
  values = np.asarray(schedule(jnp.asarray(counts)), np.float64)
  assert np.all(np.isfinite(values)), values
  assert np.all(values >= low * (1 - 1e-6) - 1e-30), (values.min(), low)
  assert np.all(values <= high * (1 + 1e-6)), (values.max(), high)


@SETTINGS
@given(rates, st.lists(st.integers(1, MAX), max_size=8, unique=True).map(sorted),
       st.floats(0.01, 1.0), counts)
def test_step_decay(init, boundaries, factor, counts):
  schedule = lrsched.step_decay(init, boundaries, factor)
  assert_in_range(schedule, counts, init * factor ** len(boundaries), init)


@SETTINGS
@given(rates, fractions, periods, st.none() | periods,
       st.sampled_from(["triangular", "triangular2", "exp_range"]),
       st.floats(1e-3, 1.0), counts)
def test_cyclic(top, base_fraction, up, down, mode, gamma, counts):
  base = top * base_fraction
  assert_in_range(lrsched.cyclic(base, top, up, down, mode, gamma), counts, base, top)


@SETTINGS
@given(momenta, momenta, periods, st.none() | periods,
       st.sampled_from(["triangular", "triangular2", "exp_range"]),
       st.floats(1e-3, 1.0), counts)
def test_cyclic_momentum(m1, m2, up, down, mode, gamma, counts):
  low, high = sorted((m1, m2))
  schedule = lrsched.cyclic_momentum(low, high, up, down, mode, gamma)
  assert_in_range(schedule, counts, low, high)


@SETTINGS
@given(st.integers(50, MAX // 4), rates, st.floats(0.05, 0.45), st.floats(1.0, 1e3),
       st.floats(1.0, 1e5), st.sampled_from(["cos", "linear"]), st.booleans(),
       momenta, momenta, counts)
def test_one_cycle(total, top, pct, div, final_div, anneal, three_phase, m1, m2, counts):
  initial = top / div
  bounds = (initial / final_div, top)
  schedule = lrsched.one_cycle(total, top, pct, div, final_div, anneal, three_phase)
  assert_in_range(schedule, counts, *bounds)
  low, high = sorted((m1, m2))
  momentum = lrsched.one_cycle_momentum(total, low, high, pct, anneal, three_phase)
  assert_in_range(momentum, counts, low, high)


@SETTINGS
@given(rates, fractions, periods, st.integers(1, 5), counts)
def test_sgdr(top, bottom_fraction, first, mult, counts):
  bottom = top * bottom_fraction
  assert_in_range(lrsched.sgdr(top, first, mult, bottom), counts, bottom, top)


@SETTINGS
@given(rates, st.floats(1e-6, 1.0), st.integers(1, MAX), st.integers(1, 1000),
       st.sampled_from(["linear", "cosine", "exponential", "rex", "step"]),
       st.floats(0.0, 0.999), counts)
def test_budgeted_and_rex(init, end_fraction, total, every, profile, beta, counts):
  end = init * end_fraction
  assert_in_range(lrsched.budgeted(profile, init, total, end, every), counts, end, init)
  assert_in_range(lrsched.rex(init, total, end, beta), counts, end, init)


@SETTINGS
@given(rates, fractions, st.integers(1, MAX), st.floats(0, 1), st.floats(0, 1),
       st.sampled_from(["linear", "cosine", "sqrt"]), counts)
def test_wsd(peak, end_fraction, total, warm_fraction, decay_fraction, decay, counts):
  warmup = int(total * warm_fraction * 0.5)
  decay_steps = max(1, int(total * decay_fraction * 0.5))
  schedule = lrsched.wsd(peak, total, warmup, decay_steps, decay, peak * end_fraction)
  assert_in_range(schedule, counts, 0.0, peak)
