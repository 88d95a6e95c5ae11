"""Property tests: for random valid arguments, every count from 0 to 2**31 - 1
gives a finite value inside the schedule's documented range."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
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
@given(rates, fractions, periods, st.integers(1, 5) | st.floats(1.05, 4.0), st.floats(0.1, 1.0),
       st.none() | st.integers(1, 40), st.floats(0.2, 4.0), counts)
def test_sgdr(top, bottom_fraction, first, mult, decay, limit, k, counts):
  bottom = top * bottom_fraction
  schedule = lrsched.sgdr(top, first, mult, bottom, decay, limit, k)
  low = bottom if decay == 1.0 else min(bottom, top * decay ** 64)
  assert_in_range(schedule, counts, 0.0 if decay < 1.0 else low, top)
  assert float(schedule(0)) == pytest.approx(top, rel=1e-6)


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
       st.sampled_from(["linear", "cosine", "1-sqrt"]),
       st.sampled_from(["linear", "cosine", "1-sqrt"]), counts)
def test_wsd(peak, end_fraction, total, warm_fraction, cool_fraction, warm_shape, cool_shape,
             counts):
  warmup = int(total * warm_fraction * 0.5)
  cooldown = int(total * cool_fraction * 0.5)
  end = peak * end_fraction
  schedule = lrsched.wsd(peak, total, warmup, cooldown, warm_shape, cool_shape, end)
  assert_in_range(schedule, counts, end, peak)


@SETTINGS
@given(rates, st.integers(0, MAX), st.none() | st.integers(1, MAX), counts)
def test_inverse_sqrt(peak, warmup, timescale, counts):
  schedule = lrsched.inverse_sqrt(peak, warmup, timescale)
  assert_in_range(schedule, counts, 0.0, peak)
  assert float(schedule(MAX)) > 0.0


def base_schedules():
  """A few schedules of different kinds (smooth, stepped, restarting, optax's)."""
  return st.sampled_from([
      lrsched.sgdr(0.1, 37, 1.5, 1e-4),
      lrsched.step_decay(0.2, [50, 120], 0.3),
      lrsched.rex(0.05, 300),
      lrsched.one_cycle(400, 0.3),
      lrsched.from_spec({"name": "cosine_decay_schedule", "init_value": 0.1,
                         "decay_steps": 250}),
  ])


def values(schedule, ts):
  """The schedule at counts ``ts``, evaluated on a power-of-two length (few compilations)."""
  ts = np.asarray(ts, np.int64)
  padded = np.zeros(1 << max(int(ts.size - 1).bit_length(), 4), np.int32)
  padded[:ts.size] = ts
  return np.asarray(schedule(jnp.asarray(padded)), np.float64)[:ts.size]


@SETTINGS
@given(base_schedules(), st.integers(0, 5000), st.floats(0.0, 1.0), st.booleans(), counts)
def test_warmup_ramps_continuously_then_follows_the_schedule(schedule, steps, init_fraction,
                                                             prefix, counts):
  peak = float(schedule(0))
  init = peak * init_fraction * 2  # also above the peak: a ramp down
  warmed = lrsched.warmup(schedule, steps, init, prefix)
  # The ramp, and with prefix=True its end at W (prefix=False goes on with schedule(W)).
  ramp = values(warmed, np.arange(steps + 1 if prefix else steps))
  low, high = min(init, peak), max(init, peak)
  assert np.all(ramp >= low * (1 - 1e-6) - 1e-30) and np.all(ramp <= high * (1 + 1e-6))
  if steps:
    assert ramp[0] == pytest.approx(init, rel=1e-6)
    # Continuous: no step larger than the ramp's own slope.
    float32_rounding = 4 * np.finfo(np.float32).eps * high
    assert np.all(np.abs(np.diff(ramp)) <= abs(peak - init) / steps + float32_rounding)
  after = np.asarray(counts, np.int64)
  after = after[after >= steps]
  shifted = np.maximum(after - steps, 0) if prefix else after
  np.testing.assert_allclose(values(warmed, after), values(schedule, shifted), rtol=1e-6)
  if prefix:
    assert float(warmed(steps)) == pytest.approx(peak, rel=1e-6)  # continuous at W


@SETTINGS
@given(st.lists(base_schedules(), min_size=1, max_size=4),
       st.lists(st.integers(0, 3000), min_size=3, max_size=3, unique=True).map(sorted), counts)
def test_join_uses_each_schedule_from_its_boundary(pieces, bounds, counts):
  bounds = bounds[:len(pieces) - 1]
  joined = lrsched.join(pieces, bounds)
  ts = np.concatenate([np.asarray(counts, np.int64), np.arange(0, 3200, 7)])
  got = values(joined, ts)
  assert np.all(np.isfinite(got))
  edges = np.asarray([0, *bounds])
  index = np.searchsorted(edges, ts, side="right") - 1
  for i, piece in enumerate(pieces):
    mask = index == i
    np.testing.assert_allclose(got[mask], values(piece, ts[mask] - edges[i]), rtol=1e-6)
  for i, boundary in enumerate(bounds):  # each piece starts from its own count 0
    assert float(joined(boundary)) == pytest.approx(float(pieces[i + 1](0)), rel=1e-6)


@SETTINGS
@given(base_schedules(), st.integers(0, 400), st.integers(1, 3000), st.integers(1, 50_000),
       counts)
def test_stretch_is_continuous_and_keeps_the_schedules_values(schedule, from_step, rest_old,
                                                              rest_new, counts):
  old_total, new_total = from_step + rest_old, from_step + rest_new
  stretched = lrsched.stretch(schedule, from_step, old_total, new_total)
  ts = np.arange(0, new_total + 50)
  got = values(stretched, ts)
  original = values(schedule, np.arange(0, old_total + 51))
  np.testing.assert_array_equal(got[:from_step + 1], original[:from_step + 1])
  assert got[new_total] == original[old_total]  # the old end, exactly at the new end
  np.testing.assert_array_equal(got[new_total:], original[old_total:old_total + 50])
  # Floor of the exact mapped count (integer arithmetic on Python ints).
  mapped = from_step + (ts[from_step:new_total + 1] - from_step) * rest_old // rest_new
  np.testing.assert_array_equal(got[from_step:new_total + 1], original[mapped])
  if rest_new >= rest_old:  # a stretch: no step larger than the schedule's own largest
    assert np.max(np.abs(np.diff(got[:new_total + 1])), initial=0.0) <= np.max(
        np.abs(np.diff(original[:old_total + 1])), initial=0.0)
  far = values(stretched, counts)
  assert np.all(np.isfinite(far)) and np.all(far >= 0.0)


@SETTINGS
@given(st.integers(0, 2**20), st.integers(1, MAX - 2**20), st.integers(1, MAX - 2**20),
       st.lists(st.integers(0, MAX), min_size=1, max_size=20))
def test_stretch_mapping_is_exact_for_large_budgets(from_step, rest_old, rest_new, ts):
  identity = lambda count: jnp.asarray(count, jnp.int32)  # returns the mapped count itself
  stretched = lrsched.stretch(identity, from_step, from_step + rest_old, from_step + rest_new)
  ts = np.asarray([from_step, from_step + rest_new, *ts], np.int64)
  got = np.asarray(stretched(jnp.asarray(ts, jnp.int32)), np.int64)
  new_total = from_step + rest_new
  expected = np.where(
      ts <= from_step, ts,
      np.where(ts <= new_total, from_step + (ts - from_step) * rest_old // rest_new,
               np.minimum(ts - (rest_new - rest_old), MAX)))
  # Exact while the reduced denominator is below 2**26 (see compose._scaled_floor).
  if rest_new // math.gcd(rest_old, rest_new) < 2**26:
    np.testing.assert_array_equal(got, expected)
  else:
    np.testing.assert_allclose(got, expected, rtol=0, atol=3 * rest_new / 2**24 + 1)


def test_texp_holds_its_last_value_past_num_steps_eager_and_jitted():
  # The docstring's (and the README's) one sentence: at every count >= num_steps it
  # returns its value at num_steps - 1, eagerly and under jit; never raises, never NaN.
  equivalent = lrsched.texp(lrsched.step_decay(0.1, [3]), 1e-3, 0.9, num_steps=5)
  last = float(equivalent(4))
  assert last != float(equivalent(3))  # the held value is the last one, not an earlier one
  big = np.array([4, 5, 6, 10**6, MAX], np.int32)
  eager = np.asarray(equivalent(big))
  jitted = np.asarray(jax.jit(equivalent)(big))
  assert np.all(np.isfinite(eager)) and np.array_equal(eager, jitted)
  assert np.all(eager == last)
  for count in (5, 6, 2**31, 2**40, np.int64(2**40)):  # also beyond int32: saturates
    assert float(equivalent(count)) == last
  assert float(jax.jit(equivalent)(jnp.asarray(5))) == last
  mantissa, exponent = jax.jit(equivalent.frexp)(jnp.asarray(MAX))
  assert float(mantissa) * 2.0 ** int(exponent) == pytest.approx(last, rel=1e-6)
