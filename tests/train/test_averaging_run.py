"""Config.averaging end to end: the averaged model's evaluation per epoch, resume, loading."""

import json

import jax
import numpy as np
import pytest

from lrsched.averaging import averaged_params
from lrsched.train import Config, train
from lrsched.train.run_model import load_run_model
from tests.train.conftest import interrupt_after, tiny_config

# 256 training images in batches of 32: 8 steps per epoch


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_swa_of_the_last_step_is_the_raw_model(tmp_path, npz_path):
  """SWA started at the run's last step averages that one point: with the raw model's
  BatchNorm statistics (bn_batches None) the averaged evaluation is the raw one; with
  recalibration only the statistics change."""
  for bn, name in ((None, "raw"), (2, "recalibrated")):
    config = tiny_config(npz_path, epochs=2, averaging={"kind": "swa", "start": 16,
                                                        "bn_batches": bn})
    result = train(config, tmp_path / name)
    last = result.history[-1]
    for a, b in zip(_leaves(averaged_params(result.state.opt_state)),
                    _leaves(result.state.params), strict=True):
      np.testing.assert_array_equal(a, b)
    if bn is None:
      assert last["avg_test_loss"] == last["test_loss"]
      assert last["avg_test_accuracy"] == last["test_accuracy"]
    else:
      assert last["avg_test_loss"] != last["test_loss"]
    # before step 16 SWA holds the initial parameters: epoch 1's averaged model is untrained
    assert result.history[0]["avg_test_loss"] != result.history[0]["test_loss"]


def test_ema_run_resumes_bitwise_and_loads_the_averaged_model(tmp_path, npz_path, monkeypatch):
  config = tiny_config(npz_path, epochs=3, averaging={"kind": "ema", "decay": 0.9,
                                                      "bn_batches": 3})
  straight = train(config, tmp_path / "straight")
  with monkeypatch.context() as patch:
    interrupt_after(patch, 1)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "resumed")
  resumed = train(config, tmp_path / "resumed", resume=True)
  for a, b in zip(_leaves(averaged_params(straight.state.opt_state)),
                  _leaves(averaged_params(resumed.state.opt_state)), strict=True):
    np.testing.assert_array_equal(a, b)
  assert ([r["avg_test_loss"] for r in resumed.history]
          == [r["avg_test_loss"] for r in straight.history])
  records = [json.loads(line) for line in
             (tmp_path / "straight/metrics.jsonl").read_text().splitlines()]
  assert all("avg_test_accuracy" in r for r in records)

  # the averaged model as loaded: its weights are the EMA, its statistics recalibrated
  _, model, epoch = load_run_model(tmp_path / "straight", averaged=True)
  from flax import nnx

  assert epoch == 3
  for a, b in zip(_leaves(nnx.state(model, nnx.Param)),
                  _leaves(averaged_params(straight.state.opt_state)), strict=True):
    np.testing.assert_array_equal(a, b)
  _, raw, _ = load_run_model(tmp_path / "straight")
  stats = _leaves(nnx.state(model, nnx.BatchStat))
  assert any(not np.array_equal(a, b)
             for a, b in zip(stats, _leaves(nnx.state(raw, nnx.BatchStat)), strict=True))

  # lrsched hessian --averaged analyses that model
  from lrsched import cli

  values = {}
  for flag in ([], ["--averaged"]):
    out = tmp_path / ("avg" if flag else "raw")
    assert cli.main(["hessian", str(tmp_path / "straight"), *flag, "--k", "1", "--tol",
                     "1e-2", "--batch-size", "16", "--out", str(out)]) == 0
    values[bool(flag)] = json.loads((out / "hessian.json").read_text())["eigen"]["eigenvalues"]
  assert values[True] != values[False]


def test_averaged_bad_input(tmp_path, npz_path):
  with pytest.raises(ValueError, match=r"swa start 5 \(epochs\) is after the run's last epoch 2"):
    tiny_config(npz_path, averaging={"kind": "swa", "start": 5, "unit": "epochs"})
  with pytest.raises(ValueError, match=r"decay must be in \(0, 1\), got 1.5"):
    Config(averaging={"kind": "ema", "decay": 1.5})
  with pytest.raises(ValueError, match="bn_batches must be an integer >= 1, got -1"):
    Config(averaging={"kind": "ema", "decay": 0.9, "bn_batches": -1})
  from lrsched.hessian_command import check_arguments

  class Args:
    run_dir, config, averaged, k, num_batches, batch_size = None, "c.py", True, 1, 1, None
    max_matvecs = trace_probes = density_steps = error_bars = None

  with pytest.raises(ValueError, match="--averaged needs a run directory"):
    check_arguments(Args())
  train(tiny_config(npz_path, epochs=1), tmp_path / "plain")
  with pytest.raises(ValueError, match="averaged=True: the run .* has no weight averaging"):
    load_run_model(tmp_path / "plain", averaged=True)


WARMUP = {"name": "warmup_constant_schedule", "init_value": 0.0, "peak_value": 0.4,
          "warmup_steps": 4}


def _schedule_free_sgd_by_hand(rates, grads, y, b1):
  """Defazio et al.'s schedule-free SGD (Alg. 1, weights max_lr ** 2 as optax), in numpy."""
  z, x, max_lr, total = y.copy(), y.copy(), 0.0, 0.0
  for lr, g in zip(rates, grads, strict=True):
    max_lr = max(max_lr, lr)
    total += max_lr ** 2
    c = max_lr ** 2 / total if total else 0.0
    z = z - lr * g(y)
    x = (1 - c) * x + c * z
    y = b1 * x + (1 - b1) * z
  return y, x


def test_schedule_free_from_a_config_is_optax_contrib_with_the_warmup():
  """A config's schedule-free SGD with a warmup equals the algorithm by hand (the rate of
  each step used for both its step and its weight), and without a schedule equals
  optax.contrib.schedule_free_sgd."""
  import jax.numpy as jnp
  import optax

  from lrsched.schedules import from_spec
  from lrsched.train.optimizer import make_optimizer

  target = np.array([0.3, -1.0, 2.0])
  def grad(w):
    return 2.0 * (np.asarray(w, np.float64) - target)  # ||w - target||^2
  start = np.array([1.0, -2.0, 0.5])
  for lr in (0.2, WARMUP):
    config = Config(optimizer="schedule_free_sgd", optimizer_kwargs={"b1": 0.8},
                    learning_rate=lr)
    tx = make_optimizer(config, steps_per_epoch=10)
    params = {"w": jnp.asarray(start, jnp.float32)}
    state = tx.init(params)
    for _ in range(7):
      updates, state = tx.update({"w": jnp.asarray(grad(params["w"]), jnp.float32)}, state,
                                 params)
      params = optax.apply_updates(params, updates)
    schedule = from_spec(lr) if isinstance(lr, dict) else (lambda t, v=lr: v)
    y, x = _schedule_free_sgd_by_hand([float(schedule(t)) for t in range(7)], [grad] * 7,
                                      start, 0.8)
    np.testing.assert_allclose(params["w"], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(averaged_params(state, params)["w"], x, rtol=1e-5, atol=1e-6)
    if not isinstance(lr, dict):
      theirs = optax.contrib.schedule_free_sgd(lr, b1=0.8)
      p, s_ = {"w": jnp.asarray(start, jnp.float32)}, None
      s_ = theirs.init(p)
      for _ in range(7):
        u, s_ = theirs.update({"w": jnp.asarray(grad(p["w"]), jnp.float32)}, s_, p)
        p = optax.apply_updates(p, u)
      np.testing.assert_array_equal(params["w"], p["w"])


def test_schedule_free_run_logs_its_evaluation_point(tmp_path, npz_path):
  import optax

  config = tiny_config(npz_path, epochs=1, optimizer="schedule_free_sgd",
                       learning_rate=WARMUP, averaging={"kind": "schedule_free",
                                                        "bn_batches": 2})
  result = train(config, tmp_path / "sf")
  assert "avg_test_accuracy" in result.history[-1]
  free = [x for x in jax.tree.leaves(result.state.opt_state, is_leaf=lambda x: isinstance(
      x, optax.contrib.ScheduleFreeState)) if isinstance(x, optax.contrib.ScheduleFreeState)]
  x = optax.contrib.schedule_free_eval_params(free[0], result.state.params)
  from flax import nnx

  _, model, _ = load_run_model(tmp_path / "sf", averaged=True)
  for a, b in zip(_leaves(nnx.state(model, nnx.Param)), _leaves(x), strict=True):
    np.testing.assert_array_equal(a, b)
  with pytest.raises(ValueError, match="kind 'schedule_free' goes with"):
    tiny_config(npz_path, averaging={"kind": "schedule_free"})
