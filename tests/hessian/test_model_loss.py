"""model_loss with the run's loss: the square loss of an NNX classifier, by hand."""

import numpy as np
import pytest
from flax import nnx

from lrsched.hessian import model_loss
from lrsched.models import FullyConnected


def _net_and_batch():
  net = FullyConnected((6,), 3, in_channels=2, image_size=3, rngs=nnx.Rngs(0))
  rng = np.random.default_rng(0)
  batch = {"image": rng.normal(size=(5, 3, 3, 2)).astype(np.float32),
           "label": rng.integers(0, 3, 5)}
  return net, batch


def test_model_loss_mse_is_the_hand_written_square_loss():
  net, batch = _net_and_batch()
  loss_fn, params = model_loss(net, "train", loss="mse")
  outputs = np.asarray(net(batch["image"]), np.float64)
  hand = 0.5 * np.mean(np.sum((outputs - np.eye(3)[batch["label"]]) ** 2, axis=1))
  # float32 forward pass of an 18-6-3 network: a few ulps of O(1) values.
  assert float(loss_fn(params, batch)) == pytest.approx(hand, rel=1e-5)
  assert loss_fn.loss == "mse" and "mse" in repr(loss_fn)
  default, _ = model_loss(net, "eval")
  assert default.loss == "cross_entropy"


def test_model_loss_unknown_loss_is_refused():
  net, _ = _net_and_batch()
  with pytest.raises(ValueError, match="loss must be one of.*did you mean 'mse'"):
    model_loss(net, loss="mes")
