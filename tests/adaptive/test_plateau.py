"""reduce_on_plateau: PyTorch's decisions on recorded sequences, warmup, chaining, bad input."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
from lrsched.adaptive import (
    adaptive_scale,
    autodecay,
    autodecay_rule,
    decisions,
    effective_learning_rate,
    observe,
    reduce_on_plateau,
    should_stop,
)

TABLE = json.loads((pathlib.Path(__file__).resolve().parents[1] / "data" /
                    "plateau_pytorch.json").read_text())
PARAMS = {"w": jnp.zeros(3)}


def _transform(lr: float, kwargs: dict, **extra):
  kwargs = dict(kwargs)
  min_lr = kwargs.pop("min_lr", 0.0)
  # PyTorch compares eps (1e-8) with the change of the rate; the scale's change is 1/lr of it.
  return reduce_on_plateau(min_scale=min_lr / lr, eps=1e-8 / lr, **kwargs, **extra)


def _scales(tx, values, jit: bool):
  state = tx.init(PARAMS)
  feed = jax.jit(observe) if jit else observe
  out = []
  for value in values:
    state = feed(state, value)
    out.append(float(adaptive_scale(state)))
  return np.array(out), state


@pytest.mark.parametrize("jit", [False, True], ids=["plain", "jit"])
@pytest.mark.parametrize("index", range(len(TABLE["cases"])))
def test_decisions_equal_pytorch_value_for_value(index, jit):
  case = TABLE["cases"][index]
  values = TABLE["sequences"][case["sequence"]]
  scales, state = _scales(_transform(case["lr"], case["kwargs"]), values, jit)
  rates = np.array(case["rates"])
  np.testing.assert_allclose(case["lr"] * scales, rates, rtol=1e-5)
  # The same steps: a reduction exactly where PyTorch reduced.
  assert np.array_equal(np.diff(scales) < 0, np.diff(rates) < 0)
  assert int(state.num_reductions) == int(np.sum(np.diff(rates) < 0))


def test_per_step_update_with_value_equals_observe():
  case = TABLE["cases"][2]
  values = TABLE["sequences"][case["sequence"]]
  tx = _transform(case["lr"], case["kwargs"])
  state = tx.init(PARAMS)
  update = jax.jit(lambda g, s, v: tx.update(g, s, value=v))
  grads = {"w": jnp.ones(3)}
  for value in values:
    updates, state = update(grads, state, value)
    np.testing.assert_allclose(updates["w"], float(state.scale) * np.ones(3), rtol=1e-6)
  np.testing.assert_allclose(case["lr"] * float(state.scale), case["rates"][-1], rtol=1e-5)


def test_values_before_start_are_ignored():
  # 20 rising values (a warmup: the loss may rise) then the recorded loss: no decision in
  # the first 20, and afterwards exactly PyTorch's decisions on the recorded part alone.
  case = TABLE["cases"][1]
  tail = TABLE["sequences"][case["sequence"]]
  warm = list(np.linspace(3.0, 5.0, 20))
  scales, _ = _scales(_transform(case["lr"], case["kwargs"], start=20), warm + tail, False)
  assert np.all(scales[:20] == 1.0)
  np.testing.assert_allclose(case["lr"] * scales[20:], case["rates"], rtol=1e-5)
  without, _ = _scales(_transform(case["lr"], case["kwargs"]), warm + tail, False)
  assert without[19] < 1.0  # without start, the rising warmup losses already reduce


def test_chained_after_a_warmup_schedule_scales_the_scheduled_rate():
  schedule = lrsched.warmup(optax.constant_schedule(0.1), warmup_steps=5, init_value=0.0)
  tx = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=schedule),
                   reduce_on_plateau(factor=0.5, patience=0, start=2))
  state = tx.init(PARAMS)
  grads = {"w": jnp.ones(3)}
  step = jax.jit(tx.update)
  for t in range(8):
    updates, state = step(grads, state, PARAMS)
    state = observe(state, 1.0 + t)  # always worse: after start, every value reduces
    expected_scale = 0.5 ** max(0, t - 2)  # the first value after start sets best
    assert float(adaptive_scale(state)) == pytest.approx(expected_scale)
    assert float(effective_learning_rate(state)) == pytest.approx(
        float(schedule(t)) * expected_scale)
  assert float(effective_learning_rate(state, schedule, step=100)) == pytest.approx(
      0.1 * 0.5 ** 5)


def test_state_flattens_to_arrays_and_keeps_its_config():
  tx = reduce_on_plateau(factor=0.5, patience=3, mode="max")
  state = tx.init(PARAMS)
  leaves, treedef = jax.tree.flatten(state)
  assert all(isinstance(x, jax.Array) for x in leaves) and len(leaves) == 6
  again = jax.tree.unflatten(treedef, [np.asarray(x) for x in leaves])
  assert again.config == state.config and again.config.maximize


@pytest.mark.parametrize("kwargs, match", [
    (dict(factor=1.0), "factor must be in \\(0, 1\\), got 1.0"),
    (dict(factor=0.0), "factor"),
    (dict(patience=-1), "patience must be an integer >= 0, got -1"),
    (dict(patience=2.5), "patience"),
    (dict(threshold=float("nan")), "threshold"),
    (dict(threshold_mode="relative"), "threshold_mode must be 'rel' or 'abs'"),
    (dict(mode="avg"), "mode must be 'min' or 'max', got 'avg'"),
    (dict(min_scale=2.0), "min_scale must be in \\[0, 1\\]"),
    (dict(start=-3), "start must be an integer >= 0, got -3"),
    (dict(cooldown=True), "cooldown"),
])
def test_bad_input_is_named(kwargs, match):
  with pytest.raises(ValueError, match=match):
    reduce_on_plateau(**kwargs)


def test_effective_learning_rate_needs_a_rate():
  state = reduce_on_plateau().init(PARAMS)
  with pytest.raises(ValueError, match="no injected learning_rate"):
    effective_learning_rate(state)
  with pytest.raises(ValueError, match="needs step"):
    effective_learning_rate(state, optax.constant_schedule(0.1))
  assert float(effective_learning_rate(state, 0.1)) == pytest.approx(0.1)


def test_autodecay_transformation_takes_the_rules_decisions():
  losses = [4.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
  kwargs = dict(factor=0.1, beta=0.0, window=3, tolerance=0.1, drop=0.5)
  rule = autodecay_rule(1.0, **kwargs)
  rule_state = rule.init()
  tx = optax.chain(optax.sgd(0.1), autodecay(**kwargs))
  state = tx.init(PARAMS)
  for loss in losses:
    rule_state = rule.update(rule_state, loss)
    state = jax.jit(observe)(state, loss)
    assert float(adaptive_scale(state)) == float(rule_state.learning_rate)
  assert should_stop(state) and bool(rule_state.should_stop)
  assert [(r["epoch"], r["action"], r["scale"]) for r in decisions(state)] == [
      (5, "decay", 0.1), (8, "stop", 0.1)]
  updates, _ = tx.update({"w": jnp.ones(3)}, state, PARAMS)
  np.testing.assert_allclose(updates["w"], -0.1 * 0.1 * np.ones(3), rtol=1e-6)


def test_autodecay_and_plateau_compose():
  tx = optax.chain(optax.sgd(1.0), reduce_on_plateau(factor=0.5, patience=0),
                   autodecay(beta=0.0, window=3, tolerance=0.1, drop=0.5))
  state = tx.init(PARAMS)
  for loss in [4.0, 2.0, 1.0, 1.0, 1.0]:
    state = observe(state, loss)
  # plateau: 4, 2, 1 improve; 1, 1 do not -> two halvings; autodecay decays once (x0.1).
  assert float(adaptive_scale(state)) == pytest.approx(0.25 * 0.1)
