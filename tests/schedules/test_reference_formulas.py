"""Schedules without a PyTorch class against float64 numpy transcriptions of
their published formulas (REX paper, budgeted training, Hugging Face's WSD)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched


def check(schedule, expected):
  counts = np.arange(len(expected), dtype=np.int32)
  np.testing.assert_allclose(
      np.asarray(schedule(jnp.asarray(counts)), np.float64), expected, rtol=1e-6, atol=0
  )
  jitted = jax.jit(schedule)
  np.testing.assert_allclose(
      [float(jitted(c)) for c in counts[::11]], expected[::11], rtol=1e-6, atol=0
  )


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("end", [0.0, 0.003])
def test_rex(beta, end):
  init, total = 0.2, 2000
  z = np.minimum(np.arange(2300), total) / total
  expected = end + (init - end) * (1 - z) / (1 - beta * z)
  check(lrsched.rex(init, total, end_value=end, beta=beta), expected)


def test_rex_default_is_the_papers_form():
  z = np.arange(1001) / 1000
  paper = (1 - z) / (0.5 + 0.5 * (1 - z))
  check(lrsched.rex(1.0, 1000), paper)


def budget_reference(profile, init, end, total, every, steps):
  out = []
  for t in range(steps):
    z = min((t // every) * every, total) / total
    if profile == "linear":
      p = 1 - z
    elif profile == "cosine":
      p = (1 + math.cos(math.pi * z)) / 2
    elif profile == "rex":
      p = (1 - z) / (0.5 + 0.5 * (1 - z))
    elif profile == "step":
      p = 0.1 ** ((z >= 0.5) + (z >= 0.75))
    elif profile == "exponential":
      out.append(init * (end / init) ** z)
      continue
    out.append(end + (init - end) * p)
  return np.asarray(out)


@pytest.mark.parametrize("profile", ["linear", "cosine", "rex", "step", "exponential"])
@pytest.mark.parametrize("every", [1, 97])
def test_budgeted_named_profiles(profile, every):
  init, end, total = 0.4, 4e-4, 2000
  expected = budget_reference(profile, init, end, total, every, 2200)
  check(lrsched.budgeted(profile, init, total, end_value=end, sample_every=every), expected)


def test_budgeted_exponential_sampled_thrice_is_step_decay():
  # The paper's remark: an exponential profile sampled at a low rate is step decay.
  s = lrsched.budgeted("exponential", 1.0, 300, end_value=0.001, sample_every=100)
  steps = lrsched.step_decay(1.0, [100, 200, 300])
  counts = jnp.arange(400)
  np.testing.assert_allclose(s(counts), steps(counts), rtol=1e-6)


def test_budgeted_callable_profile():
  expected = np.array([0.5 * math.exp(-3 * min(t // 3 * 3, 300) / 300) for t in range(2100)])
  check(lrsched.budgeted(lambda z: jnp.exp(-3 * z), 0.5, 300, sample_every=3), expected)


def wsd_reference(peak, total, warmup, cooldown, warmup_shape, cooldown_shape, end, steps):
  """Hugging Face transformers' _get_wsd_scheduler_lambda, in absolute values."""
  stable = total - warmup - cooldown
  ratio = end / peak
  out = []
  for t in range(steps):
    if t < warmup:
      progress = t / max(1, warmup)
      factor = {"linear": progress, "cosine": 0.5 * (1.0 - math.cos(math.pi * progress)),
                "1-sqrt": 1.0 - math.sqrt(1.0 - progress)}[warmup_shape]
      factor = factor * (1.0 - ratio) + ratio
    elif t < warmup + stable:
      factor = 1.0
    elif t < total:
      progress = (t - warmup - stable) / max(1, cooldown)
      factor = {"linear": 1.0 - progress, "cosine": 0.5 * (1.0 + math.cos(math.pi * progress)),
                "1-sqrt": 1.0 - math.sqrt(progress)}[cooldown_shape]
      factor = factor * (1.0 - ratio) + ratio
    else:
      factor = ratio
    out.append(peak * factor)
  return np.asarray(out)


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize(("warmup", "end"), [(0, 0.0), (150, 0.0), (37, 1e-3)])
def test_wsd_matches_hugging_face(shape, warmup, end):
  peak, total, cooldown = 0.3, 2000, 400
  expected = wsd_reference(peak, total, warmup, cooldown, shape, shape, end, 2100)
  check(lrsched.wsd(peak, total, warmup, cooldown, shape, shape, end_value=end), expected)


def test_wsd_default_shapes_are_hugging_faces():
  # get_wsd_schedule defaults: warmup_type="linear", decay_type="cosine".
  expected = wsd_reference(1.0, 1000, 100, 300, "linear", "cosine", 0.0, 1100)
  check(lrsched.wsd(1.0, 1000, 100, 300), expected)


def inverse_sqrt_reference(peak, warmup, timescale, steps):
  """Hugging Face transformers' _get_inverse_sqrt_schedule_lr_lambda, in absolute values."""
  if timescale is None:
    timescale = warmup or 10_000
  out = []
  for t in range(steps):
    if t < warmup:
      out.append(peak * t / max(1, warmup))
    else:
      out.append(peak / math.sqrt((t + timescale - warmup) / timescale))
  return np.asarray(out)


@pytest.mark.parametrize(("warmup", "timescale"), [(0, None), (100, None), (10, 1000)])
def test_inverse_sqrt_matches_hugging_face(warmup, timescale):
  check(lrsched.inverse_sqrt(0.5, warmup, timescale),
        inverse_sqrt_reference(0.5, warmup, timescale, 3000))


def test_warmup_join_stretch_match_their_formulas():
  base = lrsched.sgdr(0.2, 100, 2, 1e-3)
  b = np.asarray(base(jnp.arange(5000)), np.float64)
  t = np.arange(3000)
  # warmup: a linear ramp from init to schedule(0) over W steps, then schedule(t - W).
  expected = np.where(t < 300, 0.01 + (b[0] - 0.01) * t / 300, b[np.maximum(t - 300, 0)])
  check(lrsched.warmup(base, 300, 0.01), expected)
  expected = np.where(t < 300, 0.01 + (b[0] - 0.01) * t / 300, b[t])
  check(lrsched.warmup(base, 300, 0.01, prefix=False), expected)
  # join: each schedule from its boundary, counted from 0 there.
  other = lrsched.rex(0.05, 700)
  o = np.asarray(other(jnp.arange(3000)), np.float64)
  expected = np.where(t < 500, b[t], np.where(t < 1200, o[np.maximum(t - 500, 0)],
                                              b[np.maximum(t - 1200, 0)]))
  check(lrsched.join([base, other, base], [500, 1200]), expected)
  # stretch: s(t) up to F, then s(floor(F + (t - F)(T - F)/(N - F))), then s(T + t - N).
  expected = np.where(t <= 400, b[t], np.where(
      t <= 2500, b[400 + (t - 400) * (1500 - 400) // (2500 - 400)], b[np.minimum(t - 1000, 4999)]))
  check(lrsched.stretch(base, 400, 1500, 2500), expected)


def test_step_decay_matches_optax_piecewise_constant():
  ours = lrsched.step_decay(0.5, [10, 25, 40], factor=0.3)
  theirs = lrsched.from_spec(
      {"name": "piecewise_constant", "init_value": 0.5,
       "boundaries_and_scales": {"10": 0.3, "25": 0.3, "40": 0.3}}
  )
  counts = jnp.arange(60)
  np.testing.assert_allclose(ours(counts), theirs(counts), rtol=1e-6)
