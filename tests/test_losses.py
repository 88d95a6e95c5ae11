"""The training losses: the square loss against a hand-written one, names and labels."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.losses import LOSSES, check_labels, mean_loss, mse, per_example_loss
from lrsched.train import Config


def test_mse_is_cohen_et_al_square_loss_written_by_hand():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(7, 5)).astype(np.float32)
  labels = rng.integers(0, 5, 7)
  # 0.5 * mean_i ||f(x_i) - e_{y_i}||^2, one loop per sample and class.
  total = 0.0
  for i in range(7):
    total += 0.5 * sum((float(logits[i, c]) - (1.0 if c == labels[i] else 0.0)) ** 2
                       for c in range(5))
  expected = total / 7
  # float32: 35 squares summed, each rounded once: a few ulps of ~1 (1e-6 relative).
  assert float(mean_loss("mse")(jnp.asarray(logits), jnp.asarray(labels))) == pytest.approx(
      expected, rel=1e-5)
  assert mse(jnp.asarray(logits), jnp.asarray(labels)).shape == (7,)


def test_cross_entropy_is_optax_and_mse_has_no_softmax():
  logits = jnp.array([[2.0, -1.0, 0.5]])
  labels = jnp.array([0])
  assert float(per_example_loss("cross_entropy")(logits, labels)[0]) == pytest.approx(
      float(optax.softmax_cross_entropy_with_integer_labels(logits, labels)[0]))
  # A perfect one-hot output has zero square loss (a softmax would not).
  assert float(mse(jnp.array([[0.0, 1.0, 0.0]]), jnp.array([1]))[0]) == 0.0


def test_bfloat16_logits_are_upcast():
  out = mse(jnp.ones((2, 3), jnp.bfloat16), jnp.array([0, 1]))
  assert out.dtype == jnp.float32


def test_unknown_loss_names_the_field_with_did_you_mean():
  with pytest.raises(ValueError, match=r"loss must be one of .*got 'mes'.*did you mean 'mse'"):
    Config(loss="mes")
  with pytest.raises(ValueError, match="loss must be one of"):
    per_example_loss("hinge")
  assert Config().loss == "cross_entropy" and set(LOSSES) == {"cross_entropy", "mse"}


def test_labels_outside_num_classes_are_refused():
  check_labels("mse", np.array([0, 3]), 4)
  with pytest.raises(ValueError, match=r"loss='mse' needs labels in \[0, 4\).*label 4"):
    check_labels("mse", np.array([0, 4]), 4)
  with pytest.raises(ValueError, match="label -1"):
    check_labels("mse", np.array([-1, 0]), 4)
  with pytest.raises(ValueError, match="integer labels"):
    check_labels("mse", np.array([0.5]), 4)
