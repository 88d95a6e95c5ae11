"""Transfer: weight copying, fine-tuning through init_from, features, linear probes."""

import dataclasses
import shutil

import numpy as np
import pytest
import scipy.optimize
from flax import nnx, traverse_util

from lrsched.data import load_dataset
from lrsched.models import build_model
from lrsched.train import (
    copy_matching_weights,
    extract_features,
    linear_probe,
    load_run_model,
    train,
    transferability,
)
from tests.train.conftest import tiny_config


def _params(model):
  flat = traverse_util.flatten_dict(nnx.to_pure_dict(nnx.state(model, nnx.Param)))
  return {"/".join(map(str, path)): np.asarray(leaf) for path, leaf in flat.items()}


def test_copy_matching_weights_keeps_a_new_head():
  source = build_model("wide_resnet", depth=10, widen_factor=1, num_classes=10, seed=0)
  target = build_model("wide_resnet", depth=10, widen_factor=1, num_classes=5, seed=1)
  before = _params(target)
  kept = copy_matching_weights(source, target)
  assert sorted(kept) == ["head/bias", "head/kernel"]
  src, after = _params(source), _params(target)
  for key, value in after.items():
    expected = before[key] if key.startswith("head") else src[key]
    np.testing.assert_array_equal(value, expected, err_msg=key)


def test_copy_matching_weights_copies_statistics_and_fixed_weights():
  source = build_model("preresnet", depth=8, num_classes=10, scale_invariant=True, seed=0)
  target = build_model("preresnet", depth=8, num_classes=10, scale_invariant=True, seed=1)
  source.norm.mean.value = source.norm.mean.value + 1.5  # a BatchNorm running statistic
  assert copy_matching_weights(source, target) == []
  np.testing.assert_array_equal(target.norm.mean.value, source.norm.mean.value)
  np.testing.assert_array_equal(target.head.kernel.value, source.head.kernel.value)  # Fixed
  with pytest.raises(ValueError, match="skip prefix 'haed' matches no weight"):
    copy_matching_weights(source, target, skip=["haed"])
  assert "head/kernel" in copy_matching_weights(source, target, skip=["head/"])
  with pytest.raises(ValueError, match="not the same architecture"):
    copy_matching_weights(source, nnx.Linear(5, 3, rngs=nnx.Rngs(0)))


def test_init_from_fine_tunes_from_a_checkpoint(tmp_path, npz_path):
  source = train(tiny_config(npz_path, epochs=1), tmp_path / "source")
  # Learning rate 0 and no weight decay: the fine-tuned run's trunk is the source's.
  tuned = train(tiny_config(npz_path, epochs=1, learning_rate=0.0, weight_decay=0.0,
                            momentum=0.0, init_from={"run": str(tmp_path / "source")}),
                tmp_path / "tuned")
  src, out = _params(source.model), _params(tuned.model)
  assert all(np.array_equal(src[k], out[k]) for k in src)  # same class count: all copied
  _, model, epoch = load_run_model(tmp_path / "source")
  assert epoch == 1 and all(np.array_equal(src[k], v) for k, v in _params(model).items())
  fresh = train(tiny_config(npz_path, epochs=1, learning_rate=0.0, weight_decay=0.0,
                            momentum=0.0, init_from={"run": str(tmp_path / "source"),
                                                     "epoch": 1, "skip": ["head"]}),
                tmp_path / "fresh_head")
  out = _params(fresh.model)
  assert not np.array_equal(src["head/kernel"], out["head/kernel"])
  assert all(np.array_equal(src[k], out[k]) for k in src if not k.startswith("head"))
  # Resuming the fine-tuned run needs its own checkpoint only, not the source's.
  config = tiny_config(npz_path, epochs=2, learning_rate=0.0, weight_decay=0.0, momentum=0.0,
                       init_from={"run": str(tmp_path / "source"), "epoch": 1})
  train(dataclasses.replace(config, epochs=1), tmp_path / "resumed")
  shutil.rmtree(tmp_path / "source" / "checkpoints")
  assert len(train(config, tmp_path / "resumed", resume=True).history) == 2
  with pytest.raises(ValueError, match="holds no checkpoint"):
    train(config, tmp_path / "fresh_start")
  with pytest.raises(ValueError, match="holds no checkpoint of epoch 7"):
    load_run_model(tmp_path / "tuned", 7)
  with pytest.raises(ValueError, match="init_from must be None or"):
    tiny_config(npz_path, init_from={"run": "x", "epoch": 0})


def test_extract_features_match_the_model():
  ds = load_dataset("ps10", "test", num_test=20, image_size=4)
  model = build_model("wide_resnet", depth=10, widen_factor=1, num_classes=10, in_channels=6,
                      seed=0)
  mean, std = ds.channel_stats()
  feats = extract_features(model, ds, mean, std, batch_size=8)
  assert feats.shape == (20, 64)  # WRN-10-1: widths 16, 32, 64
  logits = model((ds.images - mean) / std)
  np.testing.assert_allclose(feats @ np.asarray(model.head.kernel) + np.asarray(model.head.bias),
                             logits, rtol=1e-4, atol=1e-5)


def test_linear_probe_minimizes_the_regularized_cross_entropy():
  rng = np.random.default_rng(0)
  centers = rng.normal(size=(3, 5)) * 2
  y = rng.integers(0, 3, 300)
  x = centers[y] + rng.normal(size=(300, 5))
  out = linear_probe(x[:200], y[:200], x[200:], y[200:], l2=1e-2, steps=200)
  assert out["test_accuracy"] > 0.8
  # The same objective minimized by scipy's L-BFGS.
  xs = (x[:200] - x[:200].mean(0)) / (x[:200].std(0) + 1e-6)

  def objective(theta):
    w, b = theta[:15].reshape(5, 3), theta[15:]
    z = xs @ w + b
    z = z - z.max(1, keepdims=True)
    ce = -(z[np.arange(200), y[:200]] - np.log(np.exp(z).sum(1))).mean()
    return ce + 0.5 * 1e-2 * np.sum(w ** 2)

  best = scipy.optimize.minimize(objective, np.zeros(18), method="L-BFGS-B", tol=1e-12).fun
  assert out["train_loss"] == pytest.approx(best, rel=1e-4)
  with pytest.raises(ValueError, match="steps must be a positive integer"):
    linear_probe(x, y, x, y, steps=0)
  with pytest.raises(ValueError, match=r"features must be \(N, D\) arrays"):
    linear_probe(x, y[:10], x, y)
  # A (nearly) constant feature is centred, not blown up by a tiny standard deviation.
  noisy = np.concatenate([x, 1e-7 * rng.normal(size=(300, 1))], axis=1)
  again = linear_probe(noisy[:200], y[:200], noisy[200:], y[200:], l2=1e-2, steps=200)
  assert again["test_accuracy"] == pytest.approx(out["test_accuracy"], abs=0.02)


def test_transferability_ratio():
  assert transferability([0.5, 0.75, 0.875], [0.25, 0.5, 0.5]) == [1.0, 0.0]
  assert np.isnan(transferability([0.5, 0.5], [0.1, 0.2])[0])
  with pytest.raises(ValueError, match="at least 2 stages"):
    transferability([0.5], [0.5])
