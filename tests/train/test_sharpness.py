"""Sharpness tracking: logged top eigenvalues, thresholds, warm starts, the plot."""

import json

import numpy as np
import pytest

from lrsched import data as datalib
from lrsched.hessian import model_loss, top_eigenvalues
from lrsched.train import train
from tests.train.conftest import tiny_config, write_npz


def test_sharpness_is_logged_beside_the_stability_thresholds(tmp_path):
  path = write_npz(tmp_path / "d.npz", n_train=64, n_test=16)
  config = tiny_config(path, epochs=6, full_batch=True, learning_rate=0.05, momentum=0.9,
                       weight_decay=0.0, sharpness_every=2, sharpness_batch_size=32,
                       checkpoint_every=0)
  result = train(config, tmp_path / "run")
  records = [json.loads(line) for line in (tmp_path / "run/sharpness.jsonl").read_text()
             .splitlines()]
  assert [r["step"] for r in records] == [2, 4, 6]
  for r in records:
    assert r["gd_threshold"] == pytest.approx(2 / 0.05)
    assert r["momentum_threshold"] == pytest.approx(3.8 / 0.05)
    assert r["converged"] and r["sharpness"] > 0
  # Warm starts need fewer HVPs than the first, cold estimate.
  assert max(r["num_hvps"] for r in records[1:]) < records[0]["num_hvps"]
  # The last estimate is the top eigenvalue of the final model's train-mode loss.
  train_ds = datalib.load_dataset(path, "train")
  mean, std = train_ds.channel_stats()
  loss_fn, params = model_loss(result.model, "train",
                               preprocess=lambda x: datalib.normalize(x, mean, std))
  cold = top_eigenvalues(loss_fn, params, train_ds.take(np.arange(32)), k=1, tol=1e-4)
  assert records[-1]["sharpness"] == pytest.approx(cold.eigenvalues[0], rel=5e-3)
  assert (tmp_path / "run/sharpness.png").stat().st_size > 10_000


# ---------------------------------------------------------------- the edge-of-stability tools


def _fc_setup(tmp_path, n_train=48):
  """A small fc-tanh (MSE) and its training set: everything the tracker takes."""
  from lrsched.models import build_model
  from lrsched.train import steps as stepslib

  path = write_npz(tmp_path / "d.npz", n_train=n_train, n_test=8, size=4, classes=3)
  train_ds = datalib.load_dataset(path, "train")
  model = build_model("fc", widths=[12, 12], num_classes=3, in_channels=3, image_size=4)
  train_def, _, params, rest = stepslib.split_model(model)
  return path, train_ds, model, train_def, params, rest


def test_tracker_lambda_1_matches_scipy_eigsh_on_the_same_hvp(tmp_path):
  import jax
  import scipy.sparse.linalg
  from jax.flatten_util import ravel_pytree

  from lrsched.train.sharpness import SharpnessTracker

  _, train_ds, model, train_def, params, rest = _fc_setup(tmp_path)
  mean, std = train_ds.channel_stats()
  tracker = SharpnessTracker(5, train_def, train_ds, len(train_ds), mean, std,
                             tmp_path / "s.jsonl", loss="mse", k=2, directional=True)
  record = tracker.after_step(5, params, rest, {"learning_rate": 0.1, "momentum": 0.9})
  assert tracker.after_step(6, params, rest, {"learning_rate": 0.1}) is None
  # The same loss (MSE, train mode, the whole set) as a dense-free LinearOperator for eigsh.
  loss_fn, p0 = model_loss(model, "train", loss="mse",
                           preprocess=lambda x: datalib.normalize(x, mean, std))
  batch = {"image": train_ds.images, "label": train_ds.labels}
  flat, unravel = ravel_pytree(p0)
  hvp = jax.jit(lambda v: ravel_pytree(jax.jvp(
      jax.grad(lambda p: loss_fn(p, batch)), (p0,), (unravel(v),))[1])[0])
  op = scipy.sparse.linalg.LinearOperator(
      (flat.size, flat.size), matvec=lambda v: np.asarray(hvp(np.asarray(v, np.float32))),
      dtype=np.float32)
  reference = scipy.sparse.linalg.eigsh(op, k=2, which="LA", tol=1e-6,
                                        return_eigenvectors=False)[::-1]
  # Lanczos stops at a relative residual ||Hv - theta v|| <= 1e-3 theta, and a symmetric
  # matrix has an eigenvalue within the residual of theta (Bauer-Fike): 1e-3 relative,
  # plus float32 HVP rounding (~1e-6 relative for a few hundred parameters).
  assert record["converged"] and record["relative_residual"] <= 1e-3
  assert record["sharpness"] == pytest.approx(reference[0], rel=1.2e-3)
  assert record["lambda_2"] == pytest.approx(reference[1], rel=2e-2)
  assert record["lr_sharpness_half"] == pytest.approx(0.1 * record["sharpness"] / 2)
  assert record["lr_sharpness_momentum"] == pytest.approx(0.1 * record["sharpness"] / 3.8)
  # The GD step's part along v: L(w - lr (g.v) v) - L(w) ~ lr (g.v)^2 (lr lambda/2 - 1)
  # (quadratic model; the cubic term is O(lr^3 (g.v)^3), small here).
  gv, lr, lam = record["grad_along_top"], 0.1, record["sharpness"]
  assert record["loss_change_along_top"] == pytest.approx(lr * gv ** 2 * (lr * lam / 2 - 1),
                                                          rel=0.05, abs=1e-7)
  # k=1, warm-started at the same point: the previous eigenvector is already converged
  # (its residual was <= tol), so one HVP (two with rounding) confirms it.
  single = SharpnessTracker(5, train_def, train_ds, len(train_ds), mean, std,
                            tmp_path / "t.jsonl", loss="mse")
  cold = single.after_step(5, params, rest, {"learning_rate": 0.1})
  warm = single.after_step(10, params, rest, {"learning_rate": 0.1})
  assert warm["num_hvps"] <= 2 < cold["num_hvps"]
  assert warm["sharpness"] == pytest.approx(reference[0], rel=1.2e-3)


def test_probe_larger_than_the_training_set_is_refused_before_training(tmp_path):
  path = write_npz(tmp_path / "d.npz", n_train=32, n_test=8)
  config = tiny_config(path, full_batch=True, sharpness_every=1, sharpness_batch_size=33)
  with pytest.raises(ValueError, match="sharpness_batch_size=33 exceeds the 32 training"):
    train(config, tmp_path / "run")
  assert not (tmp_path / "run/metrics.jsonl").exists()


def test_mse_labels_outside_num_classes_are_refused_before_training(tmp_path):
  path = write_npz(tmp_path / "d.npz", n_train=32, n_test=8, classes=4)
  config = tiny_config(path, loss="mse", model={"name": "fc", "widths": [8], "image_size": 8,
                                                "num_classes": 2})
  with pytest.raises(ValueError, match=r"loss='mse' needs labels in \[0, 2\)"):
    train(config, tmp_path / "run")
  assert not (tmp_path / "run").exists()


def test_mse_run_trains_evaluates_and_tracks_its_own_loss(tmp_path):
  path = write_npz(tmp_path / "d.npz", n_train=48, n_test=16, size=4, classes=3)
  config = tiny_config(path, loss="mse", model={"name": "fc", "widths": [16], "image_size": 4},
                       full_batch=True, batch_size=16, epochs=3, learning_rate=0.1,
                       momentum=0.0, weight_decay=0.0, sharpness_every=3,
                       sharpness_batch_size=48, sharpness_k=2, sharpness_directional=True,
                       checkpoint_every=0)
  result = train(config, tmp_path / "run")
  test = datalib.load_dataset(path, "test")
  mean, std = datalib.load_dataset(path, "train").channel_stats()
  outputs = np.asarray(result.model(datalib.normalize(test.images, mean, std)))
  hand = 0.5 * np.mean(np.sum((outputs - np.eye(3)[test.labels]) ** 2, axis=1))
  # float32 forward pass of a 48-16-3 network: a few ulps.
  assert result.history[-1]["test_loss"] == pytest.approx(hand, rel=1e-5)
  record = json.loads((tmp_path / "run/sharpness.jsonl").read_text())
  loss_fn, params = model_loss(result.model, "train", loss="mse",
                               preprocess=lambda x: datalib.normalize(x, mean, std))
  train_ds = datalib.load_dataset(path, "train")
  cold = top_eigenvalues(loss_fn, params, train_ds.take(np.arange(48)), k=2, tol=1e-4)
  assert record["sharpness"] == pytest.approx(cold.eigenvalues[0], rel=2e-3)
  # The config's sharpness_k=2 and sharpness_directional reach the tracker.
  assert record["lambda_2"] == pytest.approx(cold.eigenvalues[1], rel=2e-3)
  assert {"grad_along_top", "loss_change_along_top"} <= set(record)


@pytest.mark.parametrize("field, value, message", [
    ("sharpness_k", 3, "sharpness_k must be 1 .* or 2 .*, got 3"),
    ("sharpness_k", True, "sharpness_k must be 1 .* or 2 .*, got True"),
    ("sharpness_directional", "yes", "sharpness_directional must be True or False"),
])
def test_tracker_options_are_checked_by_the_config(tmp_path, field, value, message):
  with pytest.raises(ValueError, match=message):
    tiny_config(tmp_path / "d.npz", **{field: value})


def test_a_diverging_run_stops_at_the_step_and_keeps_its_sharpness_log(tmp_path):
  from lrsched.train import NonFiniteLossError

  path = write_npz(tmp_path / "d.npz", n_train=32, n_test=8, size=4, classes=3)
  # lr 20 on MSE: far past 2/lambda_1, the output layer's weights grow geometrically.
  config = tiny_config(path, loss="mse", model={"name": "fc", "widths": [8], "image_size": 4},
                       full_batch=True, batch_size=32, epochs=200, learning_rate=20.0,
                       momentum=0.0, weight_decay=0.0, sharpness_every=1,
                       sharpness_batch_size=32, checkpoint_every=0)
  with pytest.raises(NonFiniteLossError, match=r"at step (\d+)") as error:
    train(config, tmp_path / "run")
  step = error.value.step
  assert 0 < step < 200
  records = [json.loads(line) for line in
             (tmp_path / "run/sharpness.jsonl").read_text().splitlines()]
  # One record per completed step before the diverged one (whose step was never applied).
  assert [r["step"] for r in records] == list(range(1, step + 1))
  assert (tmp_path / "run/sharpness.png").exists()
