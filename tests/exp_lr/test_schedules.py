# ruff: noqa: E501  (a table: one bad input per line reads best)
"""exp_lr / texp values, indexing, past-the-end behaviour, momentum buffer, bad input."""

import math
from decimal import Decimal, getcontext

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.schedules import step_decay
from lrsched.schedules.exp_lr import (
    exp_lr,
    exp_lr_momentum_init,
    texp,
    with_momentum_buffer,
)


def _direct_texp(etas, lam, g):
  """The reference recurrence, written out literally."""
  c, a, values, scales = 1.0, 1.0, [], [1.0]
  for t, eta in enumerate(etas):
    r = 1.0 if t == 0 else eta / etas[t - 1]
    a = 1 + g * r - lam * eta - g * r / a
    values.append(eta / (c * a * c))
    c *= a
    scales.append(c)
  return np.array(values), np.array(scales)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_texp_follows_the_recurrence(momentum):
  schedule = optax.cosine_decay_schedule(0.2, 300, alpha=0.05)
  equivalent = texp(schedule, 5e-3, momentum, 300)
  etas = np.asarray(schedule(np.arange(300)), np.float64)
  values, scales = _direct_texp(etas, 5e-3, momentum)
  np.testing.assert_allclose(np.exp(equivalent.log_values), values, rtol=1e-12)
  np.testing.assert_allclose(equivalent.scales, scales, rtol=1e-12)
  np.testing.assert_allclose(equivalent.base_values, etas)
  with jax.enable_x64(True):  # the table in full precision, eagerly and under jit
    counts = jnp.arange(300)
    np.testing.assert_allclose(np.asarray(equivalent(counts)), values, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(equivalent)(counts)), values, rtol=1e-12)
  np.testing.assert_allclose(np.asarray(jax.jit(equivalent)(counts)), values, rtol=1e-6)


def test_texp_without_weight_decay_is_the_schedule():
  schedule = step_decay(0.1, [3, 6])
  equivalent = texp(schedule, 0.0, 0.9, 10)
  np.testing.assert_allclose(np.exp(equivalent.log_values), schedule(np.arange(10)), rtol=1e-7)
  np.testing.assert_array_equal(equivalent.scales, np.ones(11))


def test_texp_of_a_constant_approaches_the_closed_form():
  # Started from a zero buffer, a_t -> alpha: texp's growth rate becomes exp_lr's,
  # with a constant offset, exactly the transient exp_lr_momentum_init removes.
  closed = exp_lr(0.1, 5e-4, 0.9)
  equivalent = texp(0.1, 5e-4, 0.9, 20_000)
  growth = np.diff(equivalent.log_values[-100:])
  np.testing.assert_allclose(growth, -2 * math.log(closed.alpha), rtol=1e-9)
  offset = equivalent.log_values[-1] - math.log(float(closed.init_value)) + 39_999 * math.log(closed.alpha)
  assert abs(offset) > 1e-3  # the drift of a zero buffer


def test_exp_lr_matches_the_reference_figures():
  schedule = exp_lr(0.1, 5e-4, 0.9)
  assert schedule.alpha ** -2 == pytest.approx(1.0010053, abs=5e-8)
  assert float(schedule(391) / schedule(0)) == pytest.approx(1.481, abs=5e-4)
  # alpha is the larger root of x^2 - (1 + g - lam eta) x + g, 1 - alpha is accurate.
  b = 1 + 0.9 - 5e-4 * 0.1
  assert schedule.alpha ** 2 - b * schedule.alpha + 0.9 == pytest.approx(0, abs=1e-15)
  assert schedule.alpha > 0.9 / schedule.alpha
  assert schedule.one_minus_alpha == pytest.approx(1 - schedule.alpha, rel=1e-10)
  assert exp_lr(0.1, 5e-4, 0.0).alpha == pytest.approx(1 - 5e-5, rel=1e-15)
  # Against 40-digit decimal arithmetic, out to count 10^5 (float64 pow of a rounded
  # alpha is off by 4e-10 there).
  getcontext().prec = 40
  lam, g, eta = Decimal(5e-4), Decimal(0.9), Decimal(0.1)
  b = 1 + g - lam * eta
  alpha = (b + (b * b - 4 * g).sqrt()) / 2
  assert float((Decimal(schedule.alpha) - alpha) / alpha) == pytest.approx(0, abs=3e-16)
  assert float((1 - alpha - Decimal(schedule.one_minus_alpha)) / (1 - alpha)) == pytest.approx(
      0, abs=3e-15)
  counts = [0, 1, 391, 12_345, 99_999]
  exact = np.array([float(eta * alpha ** (-(2 * n + 1))) for n in counts])
  with jax.enable_x64(True):
    np.testing.assert_allclose(np.asarray(jax.jit(schedule)(np.array(counts))), exact,
                               rtol=1e-12)
    mantissa, exponent = schedule.frexp(np.array(counts))
    np.testing.assert_allclose(np.ldexp(np.asarray(mantissa), np.asarray(exponent)), exact,
                               rtol=1e-12)


def test_exp_lr_float32_overflows_where_frexp_does_not():
  schedule = exp_lr(0.1, 5e-4, 0.9)
  count = 100_000  # alpha^-200000 ~ e^200
  assert np.isinf(float(schedule(count)))
  mantissa, exponent = schedule.frexp(count)
  log_value = math.log(float(mantissa)) + int(exponent) * math.log(2)
  assert log_value == pytest.approx(math.log(0.1) - (2 * count + 1) * math.log(schedule.alpha),
                                    rel=1e-6)


def test_texp_past_num_steps_holds_its_last_value():
  # Finite for every int32 count, eagerly and under jit alike (it used to raise
  # eagerly and give NaN under jit): the value at num_steps - 1 is held.
  equivalent = texp(step_decay(0.1, [3]), 1e-3, 0.9, 5)
  last = float(equivalent(4))
  counts = np.array([4, 5, 7, 10**6, 2**31 - 1], np.int32)
  eager = np.asarray(equivalent(counts))
  jitted = np.asarray(jax.jit(equivalent)(jnp.asarray(counts)))
  np.testing.assert_array_equal(eager, last)
  np.testing.assert_array_equal(jitted, last)
  mantissa, exponent = equivalent.frexp(10**6)
  assert float(mantissa) * 2.0 ** int(exponent) == pytest.approx(last, rel=1e-6)
  # In an optimizer the run goes on with the held rate (no NaN weights).
  optimizer = optax.sgd(equivalent, momentum=0.9)
  params = {"w": jnp.ones(2)}
  state = optimizer.init(params)
  update = jax.jit(lambda p, s: optimizer.update(p, s))
  for _ in range(8):
    updates, state = update(params, state)
    params = optax.apply_updates(params, updates)
  assert np.isfinite(np.asarray(params["w"])).all()


def test_texp_indexing_convention_with_optax():
  # optax.sgd applies schedule(count) with count = number of updates done so far.
  equivalent = texp(step_decay(0.1, [2]), 0.01, 0.0, 4)
  params, grads = jnp.zeros(()), jnp.ones(())
  optimizer = optax.sgd(equivalent)
  state = optimizer.init(params)
  for count in range(4):
    updates, state = optimizer.update(grads, state)
    assert float(-updates) == pytest.approx(math.exp(equivalent.log_values[count]), rel=1e-6)


def test_texp_accepts_non_vectorized_schedules():
  def python_schedule(count):
    return 0.1 if int(count) < 3 else 0.01

  equivalent = texp(python_schedule, 1e-3, 0.9, 6)
  np.testing.assert_allclose(equivalent.base_values, [0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


def test_momentum_buffer_installs_into_optax_states():
  params = {"a": jnp.ones((2, 2)), "b": jnp.full(3, 2.0)}
  buffer = exp_lr_momentum_init(params, 0.1, 5e-4, 0.9)
  alpha = exp_lr(0.1, 5e-4, 0.9).alpha
  np.testing.assert_allclose(buffer["b"], -(1 - alpha) / (alpha * 0.1) * 2.0, rtol=1e-6)
  schedule = exp_lr(0.1, 5e-4, 0.9)
  for optimizer in [
      optax.sgd(schedule, momentum=0.9),
      optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(schedule, momentum=0.9)),
      optax.inject_hyperparams(optax.sgd)(learning_rate=schedule, momentum=0.9),
  ]:
    state = with_momentum_buffer(optimizer.init(params), buffer)
    traces = [x.trace for x in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, optax.TraceState))
              if isinstance(x, optax.TraceState)]
    assert len(traces) == 1
    np.testing.assert_array_equal(traces[0]["a"], buffer["a"])
    # The first update uses it: v_1 = g v_0 + grad.
    updates, _ = optimizer.update(jax.tree.map(jnp.zeros_like, params), state, params)
    np.testing.assert_allclose(updates["b"], -float(schedule(0)) * 0.9 * buffer["b"], rtol=1e-5)


@pytest.mark.parametrize("optimizer, buffer, match", [
    (optax.sgd(0.1), {"w": jnp.ones(2)}, "exactly one optax.TraceState .* found 0"),
    (optax.sgd(0.1, momentum=0.9), {"v": jnp.ones(2)}, "buffer must have the structure"),
    (optax.sgd(0.1, momentum=0.9), {"w": jnp.ones(3)}, r"buffer leaf 0 must have shape \(2,\)"),
])
def test_with_momentum_buffer_rejects_mismatches(optimizer, buffer, match):
  with pytest.raises(ValueError, match=match):
    with_momentum_buffer(optimizer.init({"w": jnp.ones(2)}), buffer)


BAD = [
    (exp_lr, dict(init_value=0.0, weight_decay=5e-4, momentum=0.9), r"init_value must be in \(0.0, inf\], got 0.0"),
    (exp_lr, dict(init_value=-0.1, weight_decay=5e-4, momentum=0.9), r"init_value must be in \(0.0, inf\]"),
    (exp_lr, dict(init_value=math.inf, weight_decay=5e-4, momentum=0.9), r"init_value must be finite"),
    (exp_lr, dict(init_value=0.1, weight_decay=-1e-4, momentum=0.9), r"weight_decay must be in \[0.0, 1.0\), got -0.0001"),
    (exp_lr, dict(init_value=0.1, weight_decay=1.0, momentum=0.9), r"weight_decay must be in \[0.0, 1.0\), got 1.0"),
    (exp_lr, dict(init_value=0.1, weight_decay=5e-4, momentum=1.0), r"momentum must be in \[0.0, 1.0\), got 1.0"),
    (exp_lr, dict(init_value=0.1, weight_decay=5e-4, momentum=-0.1), r"momentum must be in \[0.0, 1.0\)"),
    (exp_lr, dict(init_value=1.0, weight_decay=0.5, momentum=0.9), r"init_value \* weight_decay must be <= \(1 - sqrt\(momentum\)\)\*\*2"),
    (exp_lr_momentum_init, dict(params={"w": jnp.ones(2)}, init_value=0.1, weight_decay=5e-4, momentum=1.5), r"momentum must be in \[0.0, 1.0\)"),
    (texp, dict(schedule=0.1, weight_decay=1.0, momentum=0.9, num_steps=10), r"weight_decay must be in \[0.0, 1.0\), got 1.0"),
    (texp, dict(schedule=0.1, weight_decay=1e-3, momentum=1.0, num_steps=10), r"momentum must be in \[0.0, 1.0\), got 1.0"),
    (texp, dict(schedule=0.1, weight_decay=1e-3, momentum=0.9, num_steps=0), r"num_steps must be an integer in \[1, 2147483647\], got 0"),
    (texp, dict(schedule=0.1, weight_decay=1e-3, momentum=0.9, num_steps=2.5), r"num_steps must be an integer .* got 2.5 \(float\)"),
    (texp, dict(schedule=0.0, weight_decay=1e-3, momentum=0.9, num_steps=10), r"schedule must be in \(0.0, inf\], got 0.0"),
    (texp, dict(schedule=-0.1, weight_decay=1e-3, momentum=0.9, num_steps=10), r"schedule must be in \(0.0, inf\]"),
    (texp, dict(schedule=optax.linear_schedule(0.1, 0.0, 5), weight_decay=1e-3, momentum=0.9, num_steps=10), r"schedule must return finite learning rates > 0 at counts 0 .. 9, got schedule\(5\) = 0.0 \(and 4 more\)"),
    (texp, dict(schedule=lambda c: jnp.where(c == 3, jnp.nan, 0.1), weight_decay=1e-3, momentum=0.9, num_steps=10), r"got schedule\(3\) = nan"),
    (texp, dict(schedule=lambda c: jnp.where(c == 2, jnp.inf, 0.1), weight_decay=1e-3, momentum=0.9, num_steps=10), r"got schedule\(2\) = inf"),
    (texp, dict(schedule=2.0, weight_decay=0.9, momentum=0.0, num_steps=10), r"a_t = .* > 0, got a_t=-0.8 at count=0"),
]


@pytest.mark.parametrize("factory, kwargs, match", BAD)
def test_bad_input_raises(factory, kwargs, match):
  with pytest.raises(ValueError, match=match):
    factory(**kwargs)
