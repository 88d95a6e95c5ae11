"""Weight decay == exponential learning rate through the training loop and config specs."""

import jax
import numpy as np
import pytest
from flax import nnx

from lrsched.train import train
from tests.train.conftest import tiny_config

MODEL = {"name": "preresnet", "depth": 8, "scale_invariant": True}
STEP_DECAY = {"name": "step_decay", "init_value": 0.1, "boundaries": [1], "unit": "epochs"}


def _directions(result):
  return [np.asarray(x, np.float64).ravel()
          for x in jax.tree.leaves(nnx.state(result.model, nnx.Param))]


def _worst_1_minus_cos(a, b):
  return max(1 - x @ y / (np.linalg.norm(x) * np.linalg.norm(y)) for x, y in zip(a, b,
                                                                                  strict=True))


def test_texp_and_exp_lr_configs_reproduce_the_weight_decay_run(tmp_path, npz_path):
  common = dict(model=MODEL, epochs=2, momentum=0.9, checkpoint_every=0)
  wd = 5e-3  # large, so that the runs without the equivalence differ clearly in 16 steps
  a = train(tiny_config(npz_path, learning_rate=STEP_DECAY, weight_decay=wd, **common),
            tmp_path / "a")
  b = train(tiny_config(npz_path, weight_decay=0.0, learning_rate={
      "name": "texp", "schedule": STEP_DECAY, "weight_decay": wd, "momentum": 0.9,
      "num_steps": 2, "unit": "epochs"}, **common), tmp_path / "b")
  assert _worst_1_minus_cos(_directions(a), _directions(b)) < 1e-6
  assert b.history[0]["learning_rate"] > 0.1  # grows within the first stage
  # Training curves coincide (float32). Evaluation uses BatchNorm's running statistics,
  # an average over steps whose weight scales differ by c_t between the runs: close,
  # but not exact (see experiments/exp_lr_equivalence.py).
  for ra, rb in zip(a.history, b.history, strict=True):
    assert rb["train_loss"] == pytest.approx(ra["train_loss"], rel=1e-4)
    assert rb["train_accuracy"] == ra["train_accuracy"]
    assert rb["test_loss"] == pytest.approx(ra["test_loss"], rel=0.05)
  # A constant rate with weight decay vs its closed form exp_lr with the momentum init.
  const = train(tiny_config(npz_path, learning_rate=0.1, weight_decay=wd, **common),
                tmp_path / "const")
  exp = {"name": "exp_lr", "init_value": 0.1, "weight_decay": wd, "momentum": 0.9}
  c = train(tiny_config(npz_path, learning_rate=exp, weight_decay=0.0, momentum_init="exp_lr",
                        **{k: v for k, v in common.items() if k != "momentum"}, momentum=0.9),
            tmp_path / "c")
  assert _worst_1_minus_cos(_directions(const), _directions(c)) < 1e-6
  # Without the momentum init the closed form drifts (the reason the init exists).
  drift = train(tiny_config(npz_path, learning_rate=exp, weight_decay=0.0, **common),
                tmp_path / "drift")
  assert _worst_1_minus_cos(_directions(const), _directions(drift)) > 1e-4


def test_momentum_init_is_validated(npz_path):
  exp = {"name": "exp_lr", "init_value": 0.1, "weight_decay": 5e-4, "momentum": 0.9}
  with pytest.raises(ValueError, match="weight_decay=0"):
    tiny_config(npz_path, learning_rate=exp, momentum_init="exp_lr", weight_decay=5e-4)
  with pytest.raises(ValueError, match="momentum equals momentum"):
    tiny_config(npz_path, learning_rate=exp, momentum_init="exp_lr", weight_decay=0.0,
                momentum=0.8)
  with pytest.raises(ValueError, match="momentum_init must be None or 'exp_lr'"):
    tiny_config(npz_path, momentum_init="zeros")


def test_float64_parameters(tmp_path, npz_path):
  config = tiny_config(npz_path, epochs=1, model=MODEL, param_dtype="float64",
                       checkpoint_every=0)
  with pytest.raises(ValueError, match="needs jax.config.update"):
    train(config, tmp_path / "f32")
  with jax.enable_x64(True):
    result = train(config, tmp_path / "f64")
    dtypes = {str(x.dtype) for x in jax.tree.leaves(nnx.state(result.model))
              if np.issubdtype(x.dtype, np.floating)}
  assert dtypes == {"float64"}
  with pytest.raises(ValueError, match="param_dtype must be 'float32' or 'float64'"):
    tiny_config(npz_path, param_dtype="bfloat16")
