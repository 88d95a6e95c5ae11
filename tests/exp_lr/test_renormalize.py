"""renormalized_sgd: finite float32 exponential-LR runs with an unchanged trajectory."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.scale_invariance import (
  RenormalizedSGDState,
  renormalized_sgd,
  unrenormalized_log2_norms,
)
from lrsched.schedules.exp_lr import exp_lr, texp
from tests.exp_lr.nets import make_net, norms, one_minus_cos, train

MOMENTUM = 0.9


def _at(history, step):
  return jax.tree.map(lambda x: x[step], history)


def _finite(tree) -> bool:
  return all(bool(np.isfinite(np.asarray(x)).all()) for x in jax.tree.leaves(tree))


def test_float64_trajectory_is_plain_sgd_up_to_powers_of_two():
  with jax.enable_x64(True):
    net = make_net(jnp.float64)
    schedule = exp_lr(0.1, 5e-3, MOMENTUM)
    steps = 100
    plain, _, _ = train(net, optax.sgd(schedule, momentum=MOMENTUM), steps)
    # Renormalize to a quarter of the initial norms (several halvings), and leave
    # the stem to plain momentum SGD through the mask.
    mask = jax.tree_util.tree_map_with_path(lambda path, _: "stem" not in str(path), net.params)
    optimizer = renormalized_sgd(schedule, MOMENTUM, mask=mask, target_norm=1.0)
    params, state, _ = train(net, optimizer, steps)
    log2_norms = np.array(jax.tree.leaves(unrenormalized_log2_norms(params, state)))
  assert isinstance(state, RenormalizedSGDState) and int(state.count) == steps
  gaps = one_minus_cos(plain, params)
  assert max(gaps.values()) <= 1e-12, gaps
  factors = np.array([int(k) for k in jax.tree.leaves(state.log2_factor)])
  stem = np.array(["stem" in str(p) for p, _ in jax.tree_util.tree_leaves_with_path(mask)])
  assert (factors[stem] == 0).all() and (factors[~stem] <= -2).all(), factors
  # w_plain = 2**-k * w, and the bookkeeping of the unrenormalized norms says so.
  np.testing.assert_allclose(norms(plain), norms(params) * 2.0 ** -factors, rtol=1e-12)
  np.testing.assert_allclose(log2_norms, np.log2(norms(plain)), atol=1e-5)
  assert (norms(params)[~stem] < 1.5).all()  # kept near the target


# float32 and float64 machine epsilons (the spacing of numbers just above 1).
EPS32, EPS64 = 2.0**-23, 2.0**-52
# How much this run's trajectory amplifies a per-update rounding (see the bound below).
AMPLIFICATION = 2000


def test_float32_run_past_the_overflow_stays_finite_and_on_the_trajectory():
  """A renormalized float32 run goes on where the plain one overflows, on its trajectory.

  The plain run resumes an exponential-LR run near the top of the float32 range:
  weights 2**60 times PreResNet's initialization, the count where texp's learning
  rate has grown by 4**60 (~e^83). BatchNorm's statistics of such weights overflow
  within a few steps (the 8th update), before the learning rate itself does (e^88.7).
  The renormalized run starts from the same state written as (w, k = -60).

  Bounds, for T = 48 updates:

  * float64, where powers of two are exact: the renormalized run *is* the plain run
    up to its factors, so its final weights times 2**-k equal the plain float64 run's
    to rounding, relative error <= A * eps64 * T ~ 2e-11 (measured <= 1.1e-14).
  * float32 against that float64 run: a relative error delta of a tensor's direction
    gives 1 - cos ~ delta**2 / 2. Each update rounds at relative eps32, and the
    trajectory carries earlier errors along with an amplification A, so after t + 1
    updates delta <= A * eps32 * (t + 1): 1 - cos <= (A * eps32 * (t + 1))**2 / 2
    (2.8e-8 after one update, 6.5e-5 after 48). A is set by ReLU kinks: an activation
    that crosses zero one update earlier in one run changes the gradient by O(1) there.
    Measured 2026-12-02 (Intel Xeon with AVX-512; the same machine with XLA held to
    AVX2, AVX or SSE4.2 by XLA_FLAGS=--xla_cpu_max_isa=..., which reproduces the AMD
    EPYC (AVX2) result of the former fixed bound 1e-6 exactly: 1.04e-6 at step 31; and
    with --xla_cpu_enable_fast_math=true): max delta / (eps32 * (t + 1)) is 2.2 with
    AVX-512 and 444 with AVX2 or less, where a kink at update 25 multiplies delta by
    ~200. A = 2000 leaves a factor 4.5 on delta (20 on 1 - cos). Wrong renormalizations
    are far outside it: a momentum buffer not divided by the factor gives 5.5e-3 after
    6 updates (bound 1e-6), multiplied instead of divided 1.4e-2, a learning rate
    scaled by 2**k instead of 4**k 0.98 after one.
  """
  big, steps = 60, 48
  base = texp(0.1, 2e-3, MOMENTUM, 40_000)
  start = int(np.searchsorted(base.log_values, base.log_values[0] + 2 * big * np.log(2)))
  schedule = texp(0.1, 2e-3, MOMENTUM, start + steps)

  def resume(optimizer, params, factor=None):
    state = optax.tree_utils.tree_set(optimizer.init(params), count=jnp.asarray(start, jnp.int32))
    if factor is not None:
      state = state._replace(log2_factor=jax.tree.map(lambda _: jnp.asarray(factor), params))
    return state

  net = make_net(jnp.float32)
  plain_opt = optax.sgd(schedule, momentum=MOMENTUM)
  huge = jax.tree.map(lambda w: jnp.ldexp(w, big), net.params)
  _, _, plain = train(net, plain_opt, steps, huge, resume(plain_opt, huge), history=True)
  renorm_opt = renormalized_sgd(schedule, MOMENTUM)
  _, state, renormalized = train(net, renorm_opt, steps, opt_state=resume(renorm_opt, net.params,
                                                                          -big), history=True)
  with jax.enable_x64(True):  # the same two runs in float64, where the plain one is finite
    net64 = make_net(jnp.float64)
    huge64 = jax.tree.map(lambda w: w * 2.0**big, net64.params)
    _, _, exact = train(net64, plain_opt, steps, huge64, resume(plain_opt, huge64), history=True)
    exact = jax.tree.map(np.asarray, exact)
    params64, state64, _ = train(net64, renorm_opt, steps,
                                 opt_state=resume(renorm_opt, net64.params, -big))
    unscaled64 = jax.tree.map(lambda w, k: np.ldexp(np.asarray(w), -int(k)), params64,
                              state64.log2_factor)

  finite = [_finite(_at(plain, t)) for t in range(steps)]
  assert not all(finite), "the plain float32 run should overflow"
  first_bad = finite.index(False)
  assert first_bad >= 1  # ... after at least one finite step
  assert _finite(renormalized)
  assert min(int(k) for k in jax.tree.leaves(state.log2_factor)) < -big  # it renormalized
  assert min(int(k) for k in jax.tree.leaves(state64.log2_factor)) < -big
  assert _finite(exact)
  for w, reference in zip(jax.tree.leaves(unscaled64), jax.tree.leaves(_at(exact, -1)),
                          strict=True):
    error = np.max(np.abs(w - reference)) / np.max(np.abs(reference))
    assert error <= AMPLIFICATION * EPS64 * steps, error
  for t in range(steps):
    gap = max(one_minus_cos(_at(renormalized, t), _at(exact, t)).values())
    assert gap <= (AMPLIFICATION * EPS32 * (t + 1))**2 / 2, (t, gap)
    if t < first_bad:  # the plain float32 run, while finite, is the less accurate one
      plain_gap = max(one_minus_cos(_at(plain, t), _at(exact, t)).values())
      assert gap < plain_gap, (t, gap, plain_gap)


def test_learning_rate_beyond_float32_is_applied_exactly():
  # A scale-invariant toy loss; exp_lr's float32 value overflows after ~865 steps.
  matrix = jax.random.normal(jax.random.key(0), (5, 8))

  def loss(w):
    return jnp.sum(jnp.sin(matrix @ (w / jnp.linalg.norm(w))))

  schedule = exp_lr(1.0, weight_decay=0.05, momentum=0.0)
  steps = 1200
  assert not np.isfinite(float(schedule(steps - 1)))
  mantissa, exponent = schedule.frexp(steps - 1)
  assert 0.5 <= float(mantissa) < 1 and int(exponent) > 128

  def run(optimizer, w):
    def body(carry, _):
      w, s = carry
      updates, s = optimizer.update(jax.grad(loss)(w), s, w)
      return (optax.apply_updates(w, updates), s), None
    return jax.jit(lambda w: jax.lax.scan(body, (w, optimizer.init(w)), None, steps)[0])(w)

  w0 = jax.random.normal(jax.random.key(1), (8,))
  plain, _ = run(optax.sgd(schedule), w0)
  assert not np.isfinite(np.asarray(plain)).all()
  renormalized, state = run(renormalized_sgd(schedule), w0)
  assert np.isfinite(np.asarray(renormalized)).all() and int(state.log2_factor) < -64
  with jax.enable_x64(True):
    exact, _ = run(optax.sgd(schedule), jnp.asarray(w0, jnp.float64))
  assert one_minus_cos(exact, renormalized)[""] <= 1e-10


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=0.0), r"learning_rate must be in \(0.0, inf\], got 0.0"),
    (dict(learning_rate=0.1, momentum=1.0), r"momentum must be in \[0.0, 1.0\), got 1.0"),
    (dict(learning_rate=0.1, every=0), r"every must be an integer in \[1, 2147483647\], got 0"),
    (dict(learning_rate=0.1, target_norm=-1.0), r"target_norm must be in \(0.0, inf\]"),
])
def test_bad_arguments_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    renormalized_sgd(**kwargs)


def test_update_without_params_raises():
  optimizer = renormalized_sgd(0.1)
  params = {"w": jnp.ones(3)}
  with pytest.raises(ValueError, match="renormalized_sgd needs params"):
    optimizer.update(params, optimizer.init(params))
