"""The annealing law: its areas against a hand loop, fits that recover known parameters,
predictions of unseen schedules, and bad input."""

import math

import numpy as np
import optax
import pytest

import lrsched
from lrsched.loss_law import LawParams, annealing_areas, fit, plot_fit, predict

TRUE = LawParams(L0=1.7, A=0.9, alpha=0.45, C=2.5)
STEPS = 600


def _hand_areas(eta, decay):
  """The paper's recursion written out: S1 = sum eta_i, m_i = decay m_{i-1} + eta_{i-1} - eta_i."""
  s1, s2, m, previous, total1, total2 = [], [], 0.0, eta[0], 0.0, 0.0
  for rate in eta:
    m = decay * m + (previous - rate)
    previous = rate
    total1 += rate
    total2 += m
    s1.append(total1)
    s2.append(total2)
  return np.array(s1), np.array(s2)


@pytest.mark.parametrize("schedule", [
    optax.constant_schedule(0.1),
    optax.cosine_decay_schedule(0.1, STEPS),
    lrsched.step_decay(0.1, boundaries=[200, 400], factor=0.1),
    lrsched.wsd(0.1, STEPS, warmup_steps=50, cooldown_steps=120),  # a warmup: negative drops
])
def test_areas_follow_the_recursion(schedule):
  eta = np.array([float(schedule(i)) for i in range(STEPS)])
  s1, s2 = annealing_areas(schedule, STEPS, decay=0.99)
  h1, h2 = _hand_areas(eta, 0.99)
  np.testing.assert_allclose(s1, h1, rtol=1e-12)
  np.testing.assert_allclose(s2, h2, rtol=1e-10, atol=1e-12)
  # The same from the rates themselves.
  np.testing.assert_allclose(annealing_areas(eta, decay=0.99)[1], s2, rtol=0, atol=0)


def test_a_constant_rate_has_no_annealing_area_and_a_full_decay_its_drop():
  s1, s2 = annealing_areas(optax.constant_schedule(0.2), 50)
  assert np.all(s2 == 0) and s1[-1] == pytest.approx(10.0)
  # One drop of 0.1 at step 11, then constant: m_i = 0.1 decay^(i-11), so S2 tends to
  # 0.1 / (1 - decay).
  eta = np.r_[np.full(10, 0.2), np.full(5000, 0.1)]
  _, s2 = annealing_areas(eta, decay=0.9)
  assert s2[-1] == pytest.approx(0.1 / (1 - 0.9), rel=1e-9)


def _curves(schedules, noise=0.0, seed=0):
  rng = np.random.default_rng(seed)
  return [(s, predict(TRUE, s, STEPS) + noise * rng.standard_normal(STEPS)) for s in schedules]


def test_fit_recovers_known_parameters_and_predicts_unseen_schedules():
  seen = [optax.constant_schedule(0.1), optax.cosine_decay_schedule(0.1, STEPS)]
  exact = fit(_curves(seen))
  assert [exact.L0, exact.A, exact.alpha, exact.C] == pytest.approx(
      [TRUE.L0, TRUE.A, TRUE.alpha, TRUE.C], rel=1e-5)
  assert exact.rmse < 1e-8
  noisy = fit(_curves(seen, noise=0.003))
  assert [noisy.L0, noisy.A, noisy.alpha, noisy.C] == pytest.approx(
      [TRUE.L0, TRUE.A, TRUE.alpha, TRUE.C], rel=0.05)
  assert noisy.rmse == pytest.approx(0.003, rel=0.1)  # the noise, not a misfit
  # Schedules the fit never saw: the predicted curves match the law's to the noise.
  for unseen in (lrsched.step_decay(0.1, boundaries=[300, 450], factor=0.1),
                 lrsched.wsd(0.1, STEPS, warmup_steps=0, cooldown_steps=120),
                 lrsched.rex(0.1, STEPS)):
    truth = predict(TRUE, unseen, STEPS)
    assert np.nanmax(np.abs(predict(noisy, unseen, STEPS) - truth)) < 0.02


def test_unrecorded_steps_and_a_warmup_from_zero_are_left_out():
  schedule = optax.linear_schedule(0.0, 0.1, 20)  # S1 = 0 at step 1
  loss = predict(TRUE, schedule, STEPS)
  assert math.isnan(loss[0]) and np.isfinite(loss[1:]).all()
  sparse = np.full(STEPS, np.nan)
  sparse[::25] = loss[::25]  # a loss logged every 25 steps
  cosine = optax.cosine_decay_schedule(0.1, STEPS)
  fitted = fit([(schedule, sparse), (cosine, predict(TRUE, cosine, STEPS))])
  assert fitted.alpha == pytest.approx(TRUE.alpha, rel=1e-4)


def test_plot_fit_draws_observed_and_law():
  curves = _curves([optax.constant_schedule(0.1), optax.cosine_decay_schedule(0.1, STEPS)])
  fig = plot_fit(fit(curves), curves, labels=["constant", "cosine"])
  labels = [line.get_label() for line in fig.axes[0].get_lines()]
  assert labels == ["constant: observed", "constant: law", "cosine: observed", "cosine: law"]


@pytest.mark.parametrize("call, message", [
    (lambda: annealing_areas([0.1, 0.1], decay=1.0), r"decay must be in \(0, 1\), got 1.0"),
    (lambda: annealing_areas([0.1, 0.1], decay=0), r"decay must be in \(0, 1\), got 0"),
    (lambda: annealing_areas([0.1, 0.1], decay=True), r"decay must be in \(0, 1\)"),
    (lambda: annealing_areas(optax.constant_schedule(0.1)), "num_steps must be a positive"),
    (lambda: annealing_areas([0.1, -0.1]), r"step 2 has -0.1"),
    (lambda: annealing_areas([0.1, float("nan")]), "step 2 has nan"),
    (lambda: annealing_areas([[0.1]]), "1-D sequence"),
    (lambda: annealing_areas([0.1, 0.1], num_steps=3), "num_steps=3 but 2 rates"),
    (lambda: fit([]), "non-empty list"),
    (lambda: fit([([0.1, 0.1, 0.1], [1.0, 0.9, 0.8])]), r"3 usable points .*, fewer than the "
                                                       "law's 4 parameters"),
    (lambda: fit([([0.1, 0.1], [1.0, 0.9, 0.8])]), r"curves\[0\]: 2 rates but 3 losses"),
    (lambda: fit([[0.1, 0.1]]), r"curves\[0\]: the losses must be 1-D|must be a \("),
    (lambda: fit([0.1]), r"curves\[0\] must be a \(schedule or rates, per-step losses\) pair"),
])
def test_bad_input_is_refused_naming_the_argument(call, message):
  with pytest.raises(ValueError, match=message):
    call()
