"""Weight decay == exponential learning rate, in float64 on a scale-invariant PreResNet.

The weight-decay run ``chain(add_decayed_weights(lam), sgd(schedule, momentum=g))``
and the no-weight-decay run under ``texp(schedule, lam, g, T)`` must point the same
way after T >= 1000 updates: ``1 - cos <= 1e-10`` for every weight tensor, with
norms in the ratio ``c_T``. The closed form ``exp_lr`` agrees too when started from
its momentum buffer, and measurably does not without it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.schedules import step_decay
from lrsched.schedules.exp_lr import exp_lr, exp_lr_momentum_init, texp, with_momentum_buffer
from tests.exp_lr.nets import make_net, norms, one_minus_cos, train

STEPS = 1000
ETA, WEIGHT_DECAY, MOMENTUM = 0.1, 1e-3, 0.9
SCHEDULES = {
    "constant": ETA,
    "step_decay": step_decay(ETA, [400, 700], 0.1),
    "cosine": optax.cosine_decay_schedule(ETA, STEPS, alpha=0.01),
}


def weight_decay_optimizer(schedule):
  return optax.chain(optax.add_decayed_weights(WEIGHT_DECAY),
                     optax.sgd(schedule, momentum=MOMENTUM))


@pytest.fixture(scope="module")
def x64():
  with jax.enable_x64(True):
    yield


@pytest.fixture(scope="module")
def net(x64):
  return make_net(jnp.float64)


@pytest.fixture(scope="module")
def constant_run(net):
  params, _, _ = train(net, weight_decay_optimizer(ETA), STEPS)
  return params


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_texp_run_has_the_direction_of_the_weight_decay_run(name, net, constant_run):
  schedule = SCHEDULES[name]
  if name == "constant":
    reference = constant_run
  else:
    reference, _, _ = train(net, weight_decay_optimizer(schedule), STEPS)
  equivalent = texp(schedule, WEIGHT_DECAY, MOMENTUM, STEPS)
  params, state, _ = train(net, optax.sgd(equivalent, momentum=MOMENTUM), STEPS)
  assert int(state[1].count) == STEPS
  gaps = one_minus_cos(reference, params)
  assert max(gaps.values()) <= 1e-10, gaps
  # ... and w_T = c_T * w~_T, with the weights far from where they started.
  c_T = equivalent.scales[STEPS]
  np.testing.assert_allclose(norms(reference) / norms(params), c_T, rtol=1e-9)
  assert c_T < 0.7
  assert max(one_minus_cos(reference, net.params).values()) > 1e-2


def test_exp_lr_with_its_momentum_buffer_is_exact(net, constant_run):
  schedule = exp_lr(ETA, WEIGHT_DECAY, MOMENTUM)
  optimizer = optax.sgd(schedule, momentum=MOMENTUM)
  buffer = exp_lr_momentum_init(net.params, ETA, WEIGHT_DECAY, MOMENTUM)
  state = with_momentum_buffer(optimizer.init(net.params), buffer)
  params, _, _ = train(net, optimizer, STEPS, opt_state=state)
  gaps = one_minus_cos(constant_run, params)
  assert max(gaps.values()) <= 1e-10, gaps
  np.testing.assert_allclose(norms(constant_run) / norms(params), schedule.alpha ** STEPS,
                             rtol=1e-9)
  assert float(jnp.exp(schedule.log_scale(STEPS))) == pytest.approx(schedule.alpha ** STEPS)


def test_exp_lr_without_its_momentum_buffer_drifts(net, constant_run):
  optimizer = optax.sgd(exp_lr(ETA, WEIGHT_DECAY, MOMENTUM), momentum=MOMENTUM)
  params, _, _ = train(net, optimizer, STEPS)
  gaps = one_minus_cos(constant_run, params)
  assert max(gaps.values()) > 1e-6, gaps  # a real drift, 1e4 x the exact runs' tolerance
  assert min(gaps.values()) > 1e-10, gaps  # in every tensor
