"""Traced hyperparameters: schedules under jax.vmap / jax.jit / jax.grad over their values.

A schedule's real-valued arguments may be JAX tracers (checked when concrete, passed
through when traced, as optax does), so that a learning-rate sweep is one vmapped
function. Step counts stay static Python integers; integral floats are taken.

Tolerances. Each schedule value is computed from its arguments in at most ~30
float32 operations on either path; the traced path differs from the concrete one
only in where values round (a Python float64 ``peak / div_factor`` rounded once vs
float32 ``peak / div_factor`` rounded per operation, a float64 ``log(gamma)`` vs a
float32 one, XLA fusing differently). A relative rounding error in a log is
amplified by the exponent it multiplies: at most ``45 * |log 0.05| ~ 135`` for
sgdr's ``cycle_decay ** cycle`` (``cycle_decay = 0.05``, 45 cycles of
``period_mult = 1.5`` start before count 2**31 - 1), <= 8 elsewhere (``z * log(end /
init)`` of the exponential profile, sgdr's ``k * log(x / T)``, ``t * log(gamma)``).
So two float32 evaluations differ by at most ``2 * (30 + 135) * 2**-24 ~ 2.0e-5``
relative: ``RTOL`` below (measured on an AMD EPYC: 64 * 2**-24 for that sgdr sweep,
< 15 * 2**-24 for every other), with ``ATOL`` for values that are exactly 0 on one
path (a schedule's end at 0).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
from lrsched.schedules import optax_names

EPS32 = 2.0**-24
RTOL = 2 * (30 + 135) * EPS32
ATOL = 1e-12
MAX = 2**31 - 1
COUNTS = np.concatenate([np.arange(0, 400, dtype=np.int32),
                         np.array([997, 10**5, 10**6, MAX], np.int32)])
PEAKS = np.linspace(0.05, 0.8, 8, dtype=np.float32)
MOMENTA = np.linspace(0.9, 0.97, 8, dtype=np.float32)

# name -> (schedule of one traced value, the 8 values swept)
SWEEPS = {
    "step_decay": (lambda p: lrsched.step_decay(p, [30, 60]), PEAKS),
    "step_decay.factor": (lambda f: lrsched.step_decay(0.1, [30, 60], f), PEAKS),
    "cyclic": (lambda p: lrsched.cyclic(0.01, p, 20, 30, mode="exp_range", gamma=0.99), PEAKS),
    "cyclic.init": (lambda v: lrsched.cyclic(v, 0.9, 20, 30, mode="triangular2"), PEAKS),
    "cyclic.gamma": (lambda g: lrsched.cyclic(0.01, 0.1, 20, 30, mode="exp_range", gamma=g),
                     np.linspace(0.98, 1.0, 8, dtype=np.float32)),
    "cyclic_momentum": (lambda m: lrsched.cyclic_momentum(0.85, m, 20, 30), MOMENTA),
    "one_cycle": (lambda p: lrsched.one_cycle(100, p, three_phase=True), PEAKS),
    "one_cycle.div": (lambda d: lrsched.one_cycle(100, 0.1, div_factor=d, final_div_factor=d),
                      np.linspace(5.0, 40.0, 8, dtype=np.float32)),
    "one_cycle.pct_start": (lambda s: lrsched.one_cycle(100, 0.1, pct_start=s, anneal="linear"),
                            np.linspace(0.1, 0.45, 8, dtype=np.float32)),
    "one_cycle_momentum": (lambda m: lrsched.one_cycle_momentum(100, 0.85, m), MOMENTA),
    "sgdr": (lambda p: lrsched.sgdr(p, 10, 2, 1e-4), PEAKS),
    "sgdr.end": (lambda e: lrsched.sgdr(0.9, 10, 1, e), PEAKS),
    "sgdr_timm": (lambda p: lrsched.sgdr(p, 10, 1.5, 1e-4, cycle_decay=0.7, cycle_limit=5,
                                         k_decay=2.0), PEAKS),
    "sgdr.decays": (lambda d: lrsched.sgdr(0.1, 10, 1.5, cycle_decay=d, k_decay=2 * d), PEAKS),
    "tanh_decay": (lambda p: lrsched.tanh_decay(p, 10, 1.5, 1e-4, cycle_decay=0.7,
                                                cycle_limit=None), PEAKS),
    "tanh_decay.bounds": (lambda u: lrsched.tanh_decay(0.1, 20, lower=-u - 4.0, upper=u),
                          np.linspace(1.0, 4.0, 8, dtype=np.float32)),
    "rex": (lambda p: lrsched.rex(p, 100, beta=0.9), PEAKS),
    "rex.end": (lambda e: lrsched.rex(0.9, 100, end_value=e), PEAKS),
    "rex.beta": (lambda b: lrsched.rex(0.1, 100, beta=b), np.linspace(0, 0.95, 8, np.float32)),
    "budgeted_linear": (lambda p: lrsched.budgeted("linear", p, 100, sample_every=7), PEAKS),
    "budgeted_cosine": (lambda p: lrsched.budgeted("cosine", p, 100, 1e-3), PEAKS),
    "budgeted_exponential": (lambda p: lrsched.budgeted("exponential", p, 100, 1e-3), PEAKS),
    "budgeted_exponential.end": (lambda e: lrsched.budgeted("exponential", 0.9, 100, e), PEAKS),
    "budgeted_rex": (lambda p: lrsched.budgeted("rex", p, 100), PEAKS),
    "budgeted_step": (lambda p: lrsched.budgeted("step", p, 100), PEAKS),
    "budgeted_callable": (lambda p: lrsched.budgeted(lambda z: jnp.exp(-3.0 * z), p, 100),
                          PEAKS),
    "wsd": (lambda p: lrsched.wsd(p, 100, 10, 20, cooldown_shape="1-sqrt", end_value=1e-3),
            PEAKS),
    "wsd.end": (lambda e: lrsched.wsd(0.9, 100, 10, 20, warmup_shape="cosine", end_value=e),
                PEAKS),
    "inverse_sqrt": (lambda p: lrsched.inverse_sqrt(p, 10), PEAKS),
    "per_epoch": (lambda p: lrsched.per_epoch(lrsched.step_decay(p, [2]), 15), PEAKS),
    "warmup_sgdr": (lambda p: lrsched.warmup(lrsched.sgdr(p, 10, 2), 5, 0.01), PEAKS),
    "warmup.init": (lambda v: lrsched.warmup(lrsched.rex(0.5, 50), 10, v, prefix=False), PEAKS),
    "warmup_constant": (lambda p: lrsched.warmup(p, 10), PEAKS),
    "join_three": (lambda p: lrsched.join(
        [lrsched.warmup(p, 10), lrsched.sgdr(p, 20), lrsched.rex(p / 2, 50)], [10, 50]), PEAKS),
    "stretch": (lambda p: lrsched.stretch(lrsched.one_cycle(60, p), 20, 60, 130), PEAKS),
    "from_spec": (lambda p: lrsched.from_spec(
        {"name": "warmup", "warmup_steps": 5,
         "schedule": {"name": "sgdr", "peak_value": p, "first_period": 20}}), PEAKS),
    # optax's schedules under optax's names
    "constant_schedule": (lambda p: optax_names.constant_schedule(p), PEAKS),
    "cosine_decay_schedule": (lambda p: optax_names.cosine_decay_schedule(p, 100, 0.1, 2.0),
                              PEAKS),
    "cosine_decay_schedule.alpha": (lambda a: optax_names.cosine_decay_schedule(0.1, 100, a),
                                    PEAKS),
    "warmup_cosine_decay_schedule": (
        lambda p: optax_names.warmup_cosine_decay_schedule(0.0, p, 10, 100, 1e-4), PEAKS),
    "warmup_cosine_decay_schedule.end": (
        lambda e: optax_names.warmup_cosine_decay_schedule(0.0, 0.9, 10, 100, e), PEAKS),
    "linear_schedule": (lambda p: optax_names.linear_schedule(p, 0.0, 100, 5), PEAKS),
    "polynomial_schedule": (lambda p: optax_names.polynomial_schedule(p, 1e-3, 2.0, 100), PEAKS),
    "polynomial_schedule.power": (lambda w: optax_names.polynomial_schedule(0.1, 0.0, w, 100),
                                  np.linspace(0.5, 3.0, 8, dtype=np.float32)),
    "exponential_decay": (lambda p: optax_names.exponential_decay(p, 10, 0.9, 5, True, 1e-3),
                          PEAKS),
    "exponential_decay.rate": (
        lambda r: optax_names.exponential_decay(0.1, 10, r, 5, False, 1e-3), PEAKS),
    "piecewise_constant_schedule": (
        lambda p: optax_names.piecewise_constant_schedule(p, {30: 0.1, 60: 0.1}), PEAKS),
    "piecewise_constant_schedule.scale": (
        lambda c: optax_names.piecewise_constant_schedule(0.1, {30: c, 60: 0.1}), PEAKS),
    "piecewise_interpolate_schedule": (
        lambda p: optax_names.piecewise_interpolate_schedule("cosine", p, {30: 0.1, 60: 0.1}),
        PEAKS),
    "piecewise_interpolate_schedule.scale": (
        lambda c: optax_names.piecewise_interpolate_schedule("linear", 0.1, {30: c, 60: 0.5}),
        PEAKS),
    "linear_onecycle_schedule": (lambda p: optax_names.linear_onecycle_schedule(100, p), PEAKS),
    "linear_onecycle_schedule.div": (
        lambda d: optax_names.linear_onecycle_schedule(100, 0.1, div_factor=d), PEAKS * 40),
    "cosine_onecycle_schedule": (lambda p: optax_names.cosine_onecycle_schedule(100, p), PEAKS),
    "cosine_onecycle_schedule.div": (
        lambda d: optax_names.cosine_onecycle_schedule(100, 0.1, final_div_factor=d),
        PEAKS * 1e4),
    "warmup_constant_schedule": (lambda p: optax_names.warmup_constant_schedule(0.0, p, 10),
                                 PEAKS),
    "warmup_exponential_decay_schedule": (
        lambda p: optax_names.warmup_exponential_decay_schedule(0.0, p, 10, 20, 0.5,
                                                               end_value=1e-4), PEAKS),
    "warmup_exponential_decay_schedule.rate": (
        lambda r: optax_names.warmup_exponential_decay_schedule(0.0, 0.1, 10, 20, r), PEAKS),
    "sgdr_schedule": (lambda p: optax_names.sgdr_schedule(
        [dict(init_value=0.0, peak_value=p, warmup_steps=5, decay_steps=50),
         dict(init_value=0.0, peak_value=p / 2, warmup_steps=5, decay_steps=100)]), PEAKS),
    "join_schedules": (lambda p: optax_names.join_schedules([p, lrsched.rex(p, 50)], [10]),
                       PEAKS),
}


def _separately(factory, values):
  """One schedule per value (concrete Python floats), stacked."""
  return np.stack([np.asarray(factory(float(v))(COUNTS)) for v in values])


@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_vmapped_sweep_equals_separate_schedules(name):
  factory, values = SWEEPS[name]
  swept = np.asarray(jax.vmap(lambda v: factory(v)(COUNTS))(jnp.asarray(values)))
  separate = _separately(factory, values)
  assert swept.shape == separate.shape == (8, COUNTS.size)
  assert np.all(np.isfinite(swept))
  np.testing.assert_allclose(swept, separate, rtol=RTOL, atol=ATOL)
  # And the sweep really varies with the value (not a constant taken from elsewhere).
  assert not np.allclose(swept[0], swept[-1])


def test_every_registered_family_is_swept():
  swept = {name.split(".")[0] for name in SWEEPS}
  families = {"step_decay", "cyclic", "cyclic_momentum", "one_cycle", "one_cycle_momentum",
              "sgdr", "rex", "budgeted_linear", "wsd", "inverse_sqrt", "per_epoch", "warmup_sgdr",
              "join_three", "stretch", *optax_names.OPTAX_SCHEDULES}
  assert families <= swept


def test_the_issue_examples_run_under_vmap_and_jit():
  peaks = jnp.linspace(0.01, 0.1, 8)
  got = jax.vmap(lambda peak: lrsched.sgdr(peak, 100)(10))(peaks)
  np.testing.assert_allclose(got, [float(lrsched.sgdr(float(p), 100)(10)) for p in peaks],
                             rtol=RTOL)
  jitted = jax.jit(lambda p: lrsched.rex(p, 100)(10))
  assert float(jitted(0.1)) == pytest.approx(float(lrsched.rex(0.1, 100)(10)), rel=RTOL)
  ends = jnp.linspace(0.0, 0.05, 8)
  got = jax.vmap(lambda end: lrsched.sgdr(0.1, 100, end_value=end)(jnp.arange(200)))(ends)
  want = [lrsched.sgdr(0.1, 100, end_value=float(e))(jnp.arange(200)) for e in ends]
  np.testing.assert_allclose(got, np.stack(want), rtol=RTOL, atol=ATOL)


def test_a_vmapped_sweep_of_training_runs_matches_separate_runs():
  import optax

  def final_weight(peak):
    optimizer = optax.sgd(lrsched.warmup(lrsched.rex(peak, 20), 5), momentum=0.9)
    w = jnp.ones(3)
    state = optimizer.init(w)
    for _ in range(25):
      updates, state = optimizer.update(2.0 * w, state)  # gradient of |w|^2
      w = optax.apply_updates(w, updates)
    return w[0]

  swept = jax.jit(jax.vmap(final_weight))(jnp.asarray(PEAKS))
  np.testing.assert_allclose(swept, [float(final_weight(float(p))) for p in PEAKS],
                             rtol=0, atol=25 * RTOL)
  # |w| stays below 1 here; each of the 25 updates moves it by <= 1 with a rate whose
  # traced value is within RTOL of the concrete one: <= 25 * RTOL apart (measured 2e-7).


GRADIENT_CASES = {
    # peak -> schedule, all linear in the peak: d s_peak(t) / d peak = s_1(t)
    "sgdr": lambda p: lrsched.sgdr(p, 10, 2, cycle_decay=0.5, k_decay=2.0),
    "one_cycle": lambda p: lrsched.one_cycle(100, p),
    "rex": lambda p: lrsched.rex(p, 100, beta=0.9),
    "wsd": lambda p: lrsched.wsd(p, 100, 10, 20),
    "warmup_step_decay": lambda p: lrsched.warmup(lrsched.step_decay(p, [30]), 10),
    "warmup_cosine_decay_schedule": lambda p: optax_names.warmup_cosine_decay_schedule(
        0.0, p, 10, 100),
}


@pytest.mark.parametrize("name", list(GRADIENT_CASES))
def test_grad_through_the_peak_value(name):
  factory = GRADIENT_CASES[name]
  counts = jnp.asarray([0, 3, 9, 10, 29, 31, 57, 99, 150])
  grads = jax.vmap(lambda t: jax.grad(lambda p: factory(p)(t))(0.1))(counts)
  np.testing.assert_allclose(grads, factory(1.0)(counts), rtol=RTOL, atol=ATOL)


def test_exp_lr_takes_traced_hyperparameters():
  # Traced, alpha is computed in float32: 1 - g / alpha loses a factor 1 / (1 - g) = 10
  # to cancellation, so log alpha is off by ~16 eps relative, and the value by that
  # times the exponent (2 count + 1) |log alpha| <= 4 (count < 2000, eta <= 0.2):
  # 64 eps; the bound is 8x that.
  counts = jnp.arange(0, 2000, 37)
  rates = jnp.asarray(PEAKS[:4] / 4)
  swept = jax.vmap(lambda eta: lrsched.exp_lr(eta, 5e-4, 0.9)(counts))(rates)
  separate = np.stack([lrsched.exp_lr(float(r), 5e-4, 0.9)(counts) for r in rates])
  np.testing.assert_allclose(swept, separate, rtol=64 * EPS32 * 8)
  decays = jnp.asarray([1e-4, 5e-4, 1e-3])
  alphas = jax.vmap(lambda lam: lrsched.exp_lr(0.1, lam, 0.9).alpha)(decays)
  np.testing.assert_allclose(alphas, [lrsched.exp_lr(0.1, float(d), 0.9).alpha for d in decays],
                             rtol=4 * EPS32)
  buffer = jax.jit(lambda g: lrsched.exp_lr_momentum_init({"w": jnp.ones(2)}, 0.1, 5e-4, g))
  np.testing.assert_allclose(buffer(0.9)["w"],
                             lrsched.exp_lr_momentum_init({"w": jnp.ones(2)}, 0.1, 5e-4, 0.9)["w"],
                             rtol=1e-5)  # 1 - alpha in float32, then a division


@pytest.mark.parametrize(("build", "message"), [
    (lambda x: lrsched.texp(lrsched.step_decay(0.1, [3]), x, 0.9, 5),
     r"weight_decay must be a concrete value, not a JAX tracer .*: texp computes its table on"
     r" the host in float64"),
    (lambda x: lrsched.texp(lrsched.step_decay(0.1, [3]), 1e-3, x, 5), r"momentum must be a"
     r" concrete value"),
    (lambda x: lrsched.texp(lrsched.step_decay(x, [3]), 1e-3, 0.9, 5),
     r"schedule\(count\) must be a concrete value, not a JAX tracer .*closes over a traced"),
    (lambda x: lrsched.texp(x, 1e-3, 0.9, 5), r"schedule must be a concrete value"),
    (lambda x: lrsched.sgdr(0.1, 10, x), r"period_mult must be a concrete value, not a JAX"
     r" tracer .*: it fixes the table of cycle starts"),
    (lambda x: optax_names.linear_onecycle_schedule(100, 0.1, pct_start=x),
     r"pct_start must be a concrete value.*int\(pct_start \* transition_steps\)"),
    (lambda x: lrsched.rex(0.1, x), r"total_steps must be a concrete value, not a JAX tracer"
     r" .*: step counts and other counts fix the schedule's structure and stay static"),
    (lambda x: lrsched.step_decay(0.1, [x]), r"boundaries\[0\] must be a concrete value"),
    (lambda x: lrsched.rex(jnp.stack([x, x]), 100), r"init_value must be a real scalar; got a"
     r" traced float32 array of shape \(2,\)"),
])
def test_values_that_must_be_concrete_refuse_a_tracer_naming_the_argument(build, message):
  with pytest.raises(ValueError, match=message):
    jax.jit(lambda x: build(x)(3))(jnp.float32(1e-3))


def test_integral_floats_are_step_counts():
  counts = jnp.arange(0, 300)
  pairs = [
      (lrsched.sgdr(0.1, 100.0), lrsched.sgdr(0.1, 100)),
      (lrsched.sgdr(0.1, 10, 2, cycle_limit=3.0), lrsched.sgdr(0.1, 10, 2, cycle_limit=3)),
      (lrsched.step_decay(0.1, [30.0, np.float32(60)]), lrsched.step_decay(0.1, [30, 60])),
      (lrsched.one_cycle(100.0, 0.1), lrsched.one_cycle(100, 0.1)),
      (lrsched.wsd(0.1, 100.0, 10.0, np.float64(20)), lrsched.wsd(0.1, 100, 10, 20)),
      (lrsched.rex(0.1, jnp.asarray(100)), lrsched.rex(0.1, 100)),  # a concrete 0-d array
      (lrsched.warmup(0.1, 5.0), lrsched.warmup(0.1, 5)),
      (lrsched.per_epoch(lrsched.step_decay(0.1, [2]), 15.0),
       lrsched.per_epoch(lrsched.step_decay(0.1, [2]), 15)),
      (optax_names.warmup_cosine_decay_schedule(0.0, 0.1, 10.0, 100.0),
       optax_names.warmup_cosine_decay_schedule(0.0, 0.1, 10, 100)),
      (optax_names.sgdr_schedule([dict(init_value=0.0, peak_value=0.1, warmup_steps=5.0,
                                       decay_steps=50.0)] * 2),
       optax_names.sgdr_schedule([dict(init_value=0.0, peak_value=0.1, warmup_steps=5,
                                       decay_steps=50)] * 2)),
      (lrsched.texp(0.1, 5e-4, 0.9, 50.0), lrsched.texp(0.1, 5e-4, 0.9, 50)),
  ]
  for ours, reference in pairs:
    np.testing.assert_array_equal(ours(counts), reference(counts))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: lrsched.sgdr(0.1, 100.5), r"first_period must be an integer in \[1, 2147483647\]"
     r" \(a whole number: 100.0 reads as 100\), got 100.5 \(float\)"),
    (lambda: lrsched.step_decay(0.1, [30, 60.25]), r"boundaries\[1\] must be an integer .*"
     r" got 60.25 \(float\)"),
    (lambda: lrsched.rex(0.1, math.inf), r"total_steps must be an integer .* got inf \(float\)"),
    (lambda: lrsched.rex(0.1, math.nan), r"total_steps must be an integer .* got nan \(float\)"),
    (lambda: lrsched.rex(0.1, np.float32(99.5)), r"total_steps must be an integer .* got"
     r" (np.float32\()?99.5\)? \(float32\)"),
    (lambda: lrsched.one_cycle(0.0, 0.1), r"total_steps must be an integer in \[2, 2147483647\],"
     r" got 0"),
    (lambda: lrsched.sgdr(0.1, 1e300), r"first_period must be an integer in \[1, 2147483647\]"),
    (lambda: lrsched.sgdr(jnp.float32(-1.0), 10), r"peak_value must be in \(0.0, inf\], got -1.0"),
    (lambda: lrsched.sgdr(jnp.ones(2), 10), r"peak_value must be a finite real number"),
])
def test_non_integral_counts_and_concrete_bad_values_are_still_refused(build, message):
  with pytest.raises(ValueError, match=message):
    build()


def test_concrete_arrays_are_taken_as_their_numbers():
  counts = jnp.arange(100)
  np.testing.assert_array_equal(lrsched.sgdr(jnp.float32(0.5), 10)(counts),
                                lrsched.sgdr(float(jnp.float32(0.5)), 10)(counts))
  np.testing.assert_array_equal(lrsched.rex(np.float64(0.1), 10)(counts),
                                lrsched.rex(0.1, 10)(counts))


# The traced-path formulas (lrsched/schedules/_optax_traced.py) against optax's own
# schedules at concrete values: they must give optax's values, not just similar ones.
_COUNTS = [0, 1, 2, 9, 10, 11, 49, 50, 51, 99, 100, 101, 150, 199, 200, 250, 10**6]


def _values(schedule):
  return np.array([float(schedule(c)) for c in _COUNTS])  # optax's take scalar counts


@pytest.mark.parametrize("scales", [{}, {10: 0.5}, {10: 0.5, 50: 2.0, 100: 0.1},
                                    {50: 0.0, 200: 3.0}])
def test_traced_piecewise_formulas_equal_optax(scales):
  from lrsched.schedules import _optax_traced

  got = _values(_optax_traced.piecewise_constant(0.3, scales))
  want = _values(optax.piecewise_constant_schedule(0.3, scales))
  np.testing.assert_allclose(got, want, rtol=1e-6)
  for kind in ("linear", "cosine"):
    got = _values(_optax_traced.piecewise_interpolate(kind, 0.3, scales))
    want = _values(optax.piecewise_interpolate_schedule(kind, 0.3, scales))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("rate", "staircase", "end", "begin"),
                         [(0.5, False, None, 0), (0.5, True, 0.01, 10), (1.5, False, 4.0, 5),
                          (0.9, True, None, 100)])
def test_traced_exponential_decay_equals_optax(rate, staircase, end, begin):
  from lrsched.schedules import _optax_traced

  got = _values(_optax_traced.exponential_decay(0.3, 20, rate, begin, staircase, end))
  want = _values(optax.exponential_decay(0.3, 20, rate, begin, staircase, end))
  np.testing.assert_allclose(got, want, rtol=1e-6)
