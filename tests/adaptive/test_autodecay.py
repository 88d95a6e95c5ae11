"""AutoDecay: hand-computed decay epochs, bias correction, noise (Eq. 3), state, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.adaptive.smoothed_loss import (
    AutoDecayNonFiniteError,
    autodecay_rule,
    decisions,
    last_record,
    smoothed_std,
)


def run(ad, losses, jit=False):
  update = jax.jit(ad.update) if jit else ad.update
  state, states = ad.init(), []
  for loss in losses:
    state = update(state, loss)
    states.append(state)
  return state, states


def test_clean_plateau_without_smoothing_decays_then_stops_at_hand_computed_epochs():
  # beta=0: g = loss. Windows of 3: epoch 3 [4,2,1] range 3; epoch 4 [2,1,1] range 1;
  # epoch 5 [1,1,1] range 0 < 0.1, drop 1/4 <= 0.5 -> decay. Stage 2 starts from g=1 and
  # stays at 1: stable at stage epoch 3 (epoch 8), drop 1/1 > 0.5 -> stop.
  ad = autodecay_rule(0.1, factor=0.1, beta=0.0, window=3, tolerance=0.1, drop=0.5)
  state, states = run(ad, [4.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
  actions = [last_record(s)["action"] for s in states]
  assert actions == ["fill", "fill", "wait", "wait", "decay", "fill", "fill", "stop", "stopped"]
  lrs = [float(s.learning_rate) for s in states]
  np.testing.assert_allclose(lrs, [0.1] * 4 + [0.01] * 5, rtol=1e-6)
  assert [bool(s.should_stop) for s in states] == [False] * 7 + [True] * 2
  log = decisions(state)
  assert [(r["epoch"], r["action"], r["stage"]) for r in log] == [(5, "decay", 0),
                                                                   (8, "stop", 1)]
  assert log[0]["range_ratio"] == 0.0 and log[0]["drop_ratio"] == pytest.approx(0.25)
  assert log[1]["drop_ratio"] == pytest.approx(1.0)
  assert last_record(states[3])["range_ratio"] == pytest.approx(1.0)  # (2 - 1) / 1


def _excess(t, beta=0.9):
  """g(t) - 1 for the loss 2, 1, 1, 1, ... (closed form of Eq. 1)."""
  return (1 - beta) * beta ** (t - 1) / (1 - beta**t)


def test_clean_plateau_with_smoothing_decays_at_closed_form_epoch():
  # loss = 2, 1, 1, ...: g(t) = 1 + e(t), e(t) = (1-b) b^(t-1) / (1-b^t), decreasing. The
  # window [t-4, t] is stable when (e(t-4) - e(t)) / (1 + e(t)) < 0.01.
  window, tol = 5, 0.01
  expected = next(t for t in range(window, 200)
                  if (_excess(t - window + 1) - _excess(t)) / (1 + _excess(t)) < tol)
  # By hand: t=19: (e(15) - e(19)) / (1 + e(19)) = (0.028808 - 0.017354) / 1.017354 = 0.01126;
  # t=20: (0.025272 - 0.015378) / 1.015378 = 0.009744 < 0.01.
  assert expected == 20
  ad = autodecay_rule(1.0, beta=0.9, window=window, tolerance=tol, drop=0.9)
  state, states = run(ad, [2.0] + [1.0] * 40)
  log = decisions(state)
  assert log[0]["epoch"] == expected and log[0]["action"] == "decay"
  assert log[0]["smoothed_loss"] == pytest.approx(1 + _excess(expected), rel=1e-5)
  assert log[0]["drop_ratio"] == pytest.approx((1 + _excess(expected)) / 2.0, rel=1e-5)
  assert all(last_record(s)["action"] in ("fill", "wait") for s in states[:expected - 1])
  # Stage 2: the EMA restarts on a flat 1, g_start = 1 + e(20); 1 / (1 + e(20)) > 0.9: stop.
  assert log[1]["epoch"] == expected + window and log[1]["action"] == "stop"
  assert log[1]["drop_ratio"] == pytest.approx(1 / (1 + _excess(expected)), rel=1e-5)


def test_bias_corrected_ema_matches_numpy_loop_and_eq1():
  rng = np.random.default_rng(1)
  losses = rng.uniform(0.5, 3.0, 30)
  beta = 0.8
  ad = autodecay_rule(0.1, beta=beta, window=50, tolerance=1e-9)  # never stable: one stage
  _, states = run(ad, losses, jit=True)
  f, expected = 0.0, []
  for t, loss in enumerate(losses, 1):
    f = beta * f + (1 - beta) * loss
    expected.append(f / (1 - beta**t))
  got = [float(s.smoothed) for s in states]
  np.testing.assert_allclose(got, expected, rtol=2e-6)
  eq1 = [np.sum(beta ** np.arange(t) * losses[t - 1::-1]) / np.sum(beta ** np.arange(t))
         for t in range(1, 31)]
  np.testing.assert_allclose(got, eq1, rtol=2e-6)
  assert got[0] == pytest.approx(losses[0], rel=1e-6)  # no bias towards f(0) = 0


def _safe_and_late_epochs(g_det, sd, window, tol, z=5.0):
  """From Eq. 3: last epoch before which no window can be stable, first that must be."""
  t_safe, t_late = None, None
  for t in range(window, len(g_det) + 1):
    d = g_det[t - window] - g_det[t - 1]  # deterministic range (g_det decreasing)
    noise_first, noise_last = z * sd[t - window], z * sd[t - 1]
    if t_safe is None and d - noise_first - noise_last < tol * (g_det[t - 1] + noise_last):
      t_safe = t - 1
    if t_late is None and d + 2 * noise_first < tol * (g_det[t - 1] - noise_last):
      t_late = t
  return t_safe, t_late


@pytest.mark.parametrize("sigma", [0.005, 0.01])
def test_noisy_plateau_does_not_trigger_early_and_does_trigger(sigma):
  beta, window, tol, epochs = 0.9, 10, 0.03, 150
  t = np.arange(1, epochs + 1)
  clean = 1.0 + 1.5 * np.exp(-t / 12.0)
  f, g_det = 0.0, []
  for i, loss in enumerate(clean, 1):
    f = beta * f + (1 - beta) * loss
    g_det.append(f / (1 - beta**i))
  g_det = np.array(g_det)
  sd = smoothed_std(sigma, t, beta)  # Var g(t) = (1-b)/(1+b) (1+b^t)/(1-b^t) sigma^2
  t_safe, t_late = _safe_and_late_epochs(g_det, sd, window, tol)
  assert window < t_safe < t_late < epochs
  ad = autodecay_rule(0.1, beta=beta, window=window, tolerance=tol, drop=0.9)
  update = jax.jit(ad.update)
  rng = np.random.default_rng(0)
  first = []
  for _ in range(30):
    state = ad.init()
    for loss in clean + sigma * rng.normal(size=epochs):
      state = update(state, loss)
      if int(state.stage) > 0:
        break
    first.append(int(state.epoch))
  assert min(first) > t_safe, (first, t_safe)
  assert max(first) <= t_late, (first, t_late)


def test_no_significant_drop_stops_and_keeps_the_rate():
  rng = np.random.default_rng(2)
  ad = autodecay_rule(0.05, window=10)
  state, states = run(ad, 2.0 + 0.002 * rng.normal(size=25), jit=True)
  log = decisions(state)
  assert len(log) == 1 and log[0]["action"] == "stop" and log[0]["epoch"] == 10
  assert log[0]["drop_ratio"] > 0.9 and log[0]["range_ratio"] < 0.03
  assert bool(state.should_stop) and int(state.stage) == 0
  assert float(state.learning_rate) == pytest.approx(0.05)
  assert {last_record(s)["action"] for s in states[10:]} == {"stopped"}


def test_state_is_a_pytree_that_round_trips_and_jits():
  ad = autodecay_rule(0.1, beta=0.5, window=3, tolerance=0.05, drop=0.8)
  losses = [3.0, 2.0, 1.5, 1.2, 1.1, 1.1, 1.1, 1.1, 1.05, 1.0, 1.0, 1.0, 1.0]
  eager, _ = run(ad, losses)
  jitted, _ = run(ad, losses, jit=True)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), eager, jitted)
  # Stop halfway, go through numpy (a checkpoint), continue: same end state.
  half, _ = run(ad, losses[:6])
  restored = jax.tree.map(np.asarray, half)
  assert all(isinstance(x, np.ndarray) for x in jax.tree.leaves(restored))
  assert jax.tree.structure(restored) == jax.tree.structure(half)
  state, update = restored, jax.jit(ad.update)
  for loss in losses[6:]:
    state = update(state, loss)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), state, eager)
  assert int(eager.stage) >= 1  # the sequence did decay, so the round trip covered a stage


def test_orbax_checkpoint_round_trip(tmp_path):
  import orbax.checkpoint as ocp

  ad = autodecay_rule(0.1, beta=0.0, window=3, tolerance=0.1, drop=0.5)
  state, _ = run(ad, [4.0, 2.0, 1.0, 1.0, 1.0, 1.0])
  with ocp.StandardCheckpointer() as ckpt:
    ckpt.save(tmp_path / "ad", state)
    ckpt.wait_until_finished()
    restored = ckpt.restore(tmp_path / "ad", ad.init())
  jax.tree.map(np.testing.assert_array_equal, restored, state)
  assert decisions(restored) == decisions(state)


def test_learning_rate_reaches_an_inject_hyperparams_optimizer():
  ad = autodecay_rule(0.1, beta=0.0, window=3, tolerance=0.1, drop=0.5)
  tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
  params = {"w": jnp.ones(2)}
  opt_state = tx.init(params)
  step = jax.jit(lambda g, s: tx.update(g, s, params))
  state = ad.init()
  for loss in [4.0, 2.0, 1.0, 1.0, 1.0]:
    state = ad.update(state, loss)
    opt_state = optax.tree.set(opt_state, learning_rate=state.learning_rate)
  updates, _ = step({"w": jnp.ones(2)}, opt_state)
  np.testing.assert_allclose(updates["w"], -0.01, rtol=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_names_the_epoch(bad):
  ad = autodecay_rule(0.1)
  state, _ = run(ad, [2.0, 1.9, 1.8])
  with pytest.raises(AutoDecayNonFiniteError, match=r"epoch 4 is") as info:
    ad.update(state, bad)
  assert info.value.epoch == 4
  assert isinstance(info.value, FloatingPointError)
  # Under jit: no error, but the EMA is not polluted, should_stop is raised and logged.
  after = jax.jit(ad.update)(state, bad)
  assert bool(after.should_stop) and int(after.epoch) == 4
  assert float(after.ema) == float(state.ema)
  np.testing.assert_array_equal(np.asarray(after.window), np.asarray(state.window))
  assert decisions(after) == [{"epoch": 4, "stage": 0, "smoothed_loss": None,
                               "range_ratio": None, "drop_ratio": None,
                               "action": "non-finite", "learning_rate": 0.1}]


@pytest.mark.parametrize("name, value, allowed", [
    ("init_value", 0.0, "> 0"), ("init_value", math.nan, "> 0"),
    ("factor", 1.0, "(0, 1)"), ("factor", 0.0, "(0, 1)"),
    ("beta", 1.0, "[0, 1)"), ("beta", -0.1, "[0, 1)"),
    ("window", 1, ">= 2"), ("window", 2.5, ">= 2"), ("window", True, ">= 2"),
    ("tolerance", 0.0, "> 0"), ("drop", 0.0, "(0, 1]"), ("drop", 1.5, "(0, 1]"),
    ("eps", -1e-8, ">= 0"), ("max_decisions", 0, ">= 1"),
])
def test_bad_arguments_name_argument_value_and_range(name, value, allowed):
  kwargs = {"init_value": 0.1, name: value}
  with pytest.raises(ValueError, match=name) as info:
    autodecay_rule(**kwargs)
  assert repr(value) in str(info.value) and allowed in str(info.value)


def test_decision_log_capacity_keeps_the_first_decisions():
  ad = autodecay_rule(0.1, beta=0.0, window=2, tolerance=0.1, drop=0.6, max_decisions=1)
  state, _ = run(ad, [4.0, 2.0, 2.0, 1.0, 1.0, 1.0])  # decay at 3 (2/4), decay at 5 (1/2)
  assert int(state.log.count) == 2 and int(state.stage) == 2
  assert [r["epoch"] for r in decisions(state)] == [3]
