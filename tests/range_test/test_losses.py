"""The range test's classifier loss follows the run's loss (quick, no training)."""

import numpy as np
import pytest

from lrsched.data import normalize
from lrsched.models import build_model
from lrsched.range_test import classifier_loss_fn
from lrsched.train import steps as stepslib


def test_classifier_loss_fn_mse_matches_the_hand_written_loss():
  model = build_model("fc", widths=[5], num_classes=3, in_channels=1, image_size=2)
  graphdef, _, params, rest = stepslib.split_model(model)
  rng = np.random.default_rng(1)
  batch = {"image": rng.integers(0, 256, (4, 2, 2, 1)).astype(np.uint8),
           "label": rng.integers(0, 3, 4)}
  mean, std = np.array([100.0]), np.array([50.0])
  loss = classifier_loss_fn(graphdef, rest, mean, std, loss="mse")(params, batch)

  images = np.asarray(normalize(batch["image"], mean, std))
  outputs = np.asarray(model(images), np.float64)
  hand = 0.5 * np.mean(np.sum((outputs - np.eye(3)[batch["label"]]) ** 2, axis=1))
  assert float(loss) == pytest.approx(hand, rel=1e-5)  # float32: a few ulps
  with pytest.raises(ValueError, match="loss must be one of"):
    classifier_loss_fn(graphdef, rest, mean, std, loss="l2")
