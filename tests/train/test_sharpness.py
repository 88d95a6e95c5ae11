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
