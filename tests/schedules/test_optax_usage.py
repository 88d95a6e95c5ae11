"""Schedules work wherever optax takes a learning rate or a momentum."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tests.schedules import examples

STEPS = 40


@pytest.mark.parametrize("name", sorted(examples.LEARNING_RATES))
@pytest.mark.parametrize("momentum_name", sorted(examples.MOMENTA))
def test_inject_hyperparams_sgd_follows_both_schedules(name, momentum_name):
  lr = examples.LEARNING_RATES[name]()
  momentum = examples.MOMENTA[momentum_name]()
  opt = optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=momentum)
  params = jnp.array([1.0, -2.0, 0.5])
  grads = jnp.array([0.3, -0.1, 0.7])
  state = opt.init(params)

  @jax.jit
  def step(params, state):
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  expected_params = np.asarray(params, np.float64)
  trace = np.zeros(3)
  for t in range(STEPS):
    params, state = step(params, state)
    lr_t, m_t = float(lr(t)), float(momentum(t))
    trace = np.asarray(grads, np.float64) + m_t * trace
    expected_params = expected_params - lr_t * trace
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(lr_t, rel=1e-6)
    assert float(state.hyperparams["momentum"]) == pytest.approx(m_t, rel=1e-6)
  np.testing.assert_allclose(params, expected_params, rtol=1e-5, atol=1e-6)
  assert step._cache_size() == 1  # the schedules never force a recompilation


@pytest.mark.parametrize("name", sorted(examples.LEARNING_RATES))
def test_plain_learning_rate_argument(name):
  # Passed directly as learning_rate (optax wraps it in scale_by_schedule).
  schedule = examples.LEARNING_RATES[name]()
  opt = optax.adam(schedule)
  params = jnp.ones(2)
  state = opt.init(params)
  update = jax.jit(opt.update)
  for _ in range(3):
    updates, state = update(jnp.ones(2), state, params)
    params = optax.apply_updates(params, updates)
  assert np.all(np.isfinite(params))


@pytest.mark.parametrize(
    "name", sorted(examples.LEARNING_RATES) + sorted(examples.MOMENTA)
)
def test_jit_and_vector_counts_agree_with_scalar_calls(name):
  make = {**examples.LEARNING_RATES, **examples.MOMENTA}[name]
  schedule = make()
  vector = np.asarray(examples.evaluate(schedule, 120))
  scalar = np.array([float(schedule(t)) for t in range(0, 120, 13)])
  jitted = jax.jit(schedule)
  traced = np.array([float(jitted(jnp.int32(t))) for t in range(0, 120, 13)])
  # Same values up to float32 rounding (vectorized kernels may round differently).
  np.testing.assert_allclose(vector[::13], scalar, rtol=1e-6)
  np.testing.assert_allclose(traced, scalar, rtol=1e-6)
  assert jitted._cache_size() == 1
