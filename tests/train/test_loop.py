"""The training loop end to end on tiny data: fitting, resume, NaN detection, GD mode."""

import json

import jax
import numpy as np
import optax
import pytest
from flax import nnx

import lrsched
from lrsched import data as datalib
from lrsched.train import Checkpoints, NonFiniteLossError, train
from lrsched.train.loop import RunExistsError, build_run_model
from lrsched.train.steps import split_model
from tests.train.conftest import interrupt_after, tiny_config, write_npz


def _params(result):
  return [np.asarray(x) for x in jax.tree.leaves(result.state.params)]


@pytest.mark.slow
def test_tiny_wide_resnet_overfits_256_examples(tmp_path, npz_path):
  config = tiny_config(npz_path, epochs=30, learning_rate=0.05, weight_decay=0.0,
                       checkpoint_every=0)
  result = train(config, tmp_path / "run")
  last = result.history[-1]
  # Random labels on random images: only memorization reaches this.
  assert last["train_accuracy"] >= 0.95, last
  assert last["train_loss"] < 0.25 * result.history[0]["train_loss"]


def test_run_directory_metrics_and_logged_hyperparameters(tmp_path, npz_path):
  lr = {"name": "step_decay", "init_value": 0.1, "boundaries": [1], "unit": "epochs"}
  mom = {"name": "cyclic_momentum", "base_momentum": 0.8, "max_momentum": 0.9,
         "step_size_up": 3}
  config = tiny_config(npz_path, epochs=2, learning_rate=lr, momentum=mom, eval_train=True)
  result = train(config, tmp_path / "run")
  records = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text().split("\n")
             if line]
  assert records == result.history and [r["epoch"] for r in records] == [1, 2]
  steps_per_epoch = 256 // 32
  assert [r["step"] for r in records] == [8, 16]
  # The logged values are those the last update of each epoch used (count = step - 1).
  for r in records:
    assert r["learning_rate"] == pytest.approx(
        float(lrsched.from_spec(lr, steps_per_epoch)(r["step"] - 1)))
    assert r["momentum"] == pytest.approx(float(lrsched.from_spec(mom)(r["step"] - 1)))
  assert records[1]["learning_rate"] == pytest.approx(0.01)
  weight_norm = float(optax.tree.norm(result.state.params))
  assert records[-1]["weight_norm"] == pytest.approx(weight_norm, rel=1e-6)
  for key in ("test_loss", "test_accuracy", "train_eval_accuracy", "seconds"):
    assert key in records[-1]
  assert (tmp_path / "run/curves.png").stat().st_size > 10_000
  assert json.loads((tmp_path / "run/config.json").read_text())["learning_rate"] == lr
  assert Checkpoints(tmp_path / "run/checkpoints").latest_epoch() == 2


def test_eval_matches_a_direct_computation(tmp_path, npz_path):
  """Full evaluation with a short, padded last batch equals the model on all test data."""
  config = tiny_config(npz_path, epochs=1, batch_size=48)  # 64 test images: 48 + 16
  result = train(config, tmp_path / "run")
  test = datalib.load_dataset(npz_path, "test")
  train_ds = datalib.load_dataset(npz_path, "train")
  mean, std = train_ds.channel_stats()
  logits = result.model(datalib.normalize(test.images, mean, std))
  losses = optax.softmax_cross_entropy_with_integer_labels(logits, test.labels)
  assert result.history[-1]["test_loss"] == pytest.approx(float(losses.mean()), rel=1e-5)
  accuracy = float(np.mean(np.argmax(logits, -1) == test.labels))
  assert result.history[-1]["test_accuracy"] == pytest.approx(accuracy)


@pytest.mark.parametrize("dropout, augment", [(0.0, False), (0.2, True)])
def test_resume_ends_with_bitwise_identical_parameters(tmp_path, npz_path, dropout, augment,
                                                      monkeypatch):
  lr = {"name": "step_decay", "init_value": 0.05, "boundaries": [2], "unit": "epochs"}
  model = {"name": "wide_resnet", "depth": 10, "widen_factor": 1, "dropout_rate": dropout}
  config = tiny_config(npz_path, epochs=3, learning_rate=lr, model=model, augment=augment)
  straight = train(config, tmp_path / "straight")
  with monkeypatch.context() as patch:  # interrupted (Ctrl-C) after epoch 1's checkpoint
    interrupt_after(patch, 1)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "resumed")
  assert not (tmp_path / "resumed/lrsched.lock").exists()  # released on the way out
  resumed = train(config, tmp_path / "resumed", resume=True)
  for a, b in zip(_params(straight), _params(resumed), strict=True):
    np.testing.assert_array_equal(a, b)
  assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
  lines = (tmp_path / "resumed/metrics.jsonl").read_text().splitlines()
  assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_existing_checkpoints_need_resume(tmp_path, npz_path):
  train(tiny_config(npz_path, epochs=1), tmp_path / "run")
  with pytest.raises(RunExistsError, match="holds a run .checkpoints up to epoch 1.*resume"):
    train(tiny_config(npz_path, epochs=1), tmp_path / "run")


def test_nan_in_data_is_reported_with_its_step(tmp_path, monkeypatch):
  path = write_npz(tmp_path / "nan.npz", dtype=np.float32)
  arrays = dict(np.load(path))
  arrays["x_train"][137, 2, 3, 1] = np.nan
  np.savez(path, **arrays)
  # Fixed normalization statistics, so the NaN pixel reaches only its own batch.
  stats = (np.full(3, 0.5, np.float32), np.full(3, 0.3, np.float32))
  monkeypatch.setattr(datalib.ArrayDataset, "channel_stats", lambda self: stats)
  with pytest.raises(ValueError, match=r"nan.npz \(x_train, y_train\): images hold 1 NaN"):
    datalib.load_dataset(path, "train")  # refused at loading; let it through to train on it
  monkeypatch.setattr(datalib.dataset, "nonfinite_count", lambda images: 0)
  config = tiny_config(path, epochs=3)
  dataset = datalib.load_dataset(path, "train")
  expected = None
  for epoch in (1, 2, 3):
    batches = datalib.iterate_batches(dataset, 32, seed=config.seed, epoch=epoch)
    for index, batch in enumerate(batches):
      if expected is None and np.isnan(batch["image"]).any():
        expected = (epoch - 1) * 8 + index, epoch
  with pytest.raises(NonFiniteLossError, match=f"is nan.* at step {expected[0]} ") as error:
    train(config, tmp_path / "run")
  assert (error.value.step, error.value.epoch) == expected


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, npz_path):
  # A learning rate that explodes at the start of epoch 2.
  lr = {"name": "piecewise_constant", "init_value": 0.05, "boundaries_and_scales": {8: 1e30}}
  config = tiny_config(npz_path, epochs=3, learning_rate=lr, momentum=0.0)
  with pytest.raises(NonFiniteLossError) as error:
    train(config, tmp_path / "run")
  assert error.value.epoch == 2 and error.value.checkpoint_epoch == 1
  assert error.value.step >= 8
  checkpoints = Checkpoints(tmp_path / "run/checkpoints")
  assert checkpoints.latest_epoch() == 1
  lines = (tmp_path / "run/metrics.jsonl").read_text().splitlines()
  assert len(lines) == 1
  # The kept checkpoint is finite and resumable.
  result = train(tiny_config(npz_path, epochs=1, learning_rate=lr, momentum=0.0),
                 tmp_path / "run", resume=True)
  assert all(np.isfinite(p).all() for p in _params(result))


def test_full_batch_gradient_is_the_size_weighted_mean(tmp_path):
  """GD over uneven chunks (100 = 32+32+32+4) equals the size-weighted mean gradient."""
  path = write_npz(tmp_path / "gd.npz", n_train=100)
  config = tiny_config(path, epochs=1, full_batch=True, momentum=0.0, weight_decay=0.0,
                       learning_rate=1.0)
  result = train(config, tmp_path / "run")
  assert result.history[-1]["step"] == 1
  dataset = datalib.load_dataset(path, "train")
  mean, std = dataset.channel_stats()
  train_def, _, params, rest = split_model(build_run_model(config, dataset))

  def loss(p, x, y):  # train-mode BN: batch statistics of the chunk
    model = nnx.merge(train_def, p, rest, copy=True)
    return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

  x = np.asarray(datalib.normalize(dataset.images, mean, std))
  grads = [jax.tree.map(lambda g, n=stop - start: n * g,
                        jax.grad(loss)(params, x[start:stop], dataset.labels[start:stop]))
           for start, stop in ((0, 32), (32, 64), (64, 96), (96, 100))]
  mean_grad = jax.tree.map(lambda *g: sum(g) / 100, *grads)
  expected = jax.tree.map(lambda p, g: p - g, params, mean_grad)  # lr 1, no momentum/decay
  for a, b in zip(jax.tree.leaves(result.state.params), jax.tree.leaves(expected), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  # An unweighted mean over the 4 chunks would differ clearly:
  wrong = jax.tree.map(lambda *g: (g[0] / 32 + g[1] / 32 + g[2] / 32 + g[3] / 4) / 4, *grads)
  diff = max(float(np.abs(a - b).max()) for a, b in
             zip(jax.tree.leaves(mean_grad), jax.tree.leaves(wrong), strict=True))
  assert diff > 1e-4


def test_autodecay_drives_the_rate_and_stops_the_run(tmp_path, npz_path):
  # tolerance 10: any window is "stable"; drop 0.99: a 1% drop since the stage start decays.
  ad = {"window": 2, "tolerance": 10.0, "drop": 0.99, "beta": 0.0}
  config = tiny_config(npz_path, epochs=20, learning_rate=0.02, autodecay=ad, momentum=0.9,
                       weight_decay=0.0, checkpoint_every=0)
  result = train(config, tmp_path / "run")
  actions = [r["autodecay_action"] for r in result.history]
  assert actions[-1] == "stop" and len(result.history) < 20
  # Every decay divides the next epoch's rate by 10 (the default factor).
  for before, after in zip(result.history[:-1], result.history[1:], strict=True):
    expected = before["learning_rate"] * (0.1 if before["autodecay_action"] == "decay" else 1)
    assert after["learning_rate"] == pytest.approx(expected)
  assert "decay" in actions
  logged = json.loads((tmp_path / "run/autodecay.json").read_text())
  assert [d["action"] for d in logged] == [a for a in actions if a in ("decay", "stop")]
  # A schedule (a warmup) is scaled too; unknown kwargs are named.
  tiny_config(npz_path, autodecay=ad, learning_rate={"name": "warmup", "warmup_steps": 4,
              "schedule": {"name": "constant_schedule", "value": 0.1}})
  with pytest.raises(ValueError, match="autodecay: .*unexpected keyword argument 'windw'"):
    tiny_config(npz_path, autodecay={"windw": 3})
