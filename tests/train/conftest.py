"""Small datasets and configs for the training tests."""

import numpy as np
import pytest

from lrsched.train import Config


def write_npz(path, n_train=256, n_test=64, size=8, classes=4, seed=0, dtype=np.uint8):
  """Random images with random labels: only memorization can fit them."""
  rng = np.random.default_rng(seed)
  def images(n):
    x = rng.integers(0, 256, (n, size, size, 3))
    return x.astype(dtype) if dtype == np.uint8 else (x / 255).astype(dtype)
  np.savez(path, x_train=images(n_train), y_train=rng.integers(0, classes, n_train),
           x_test=images(n_test), y_test=rng.integers(0, classes, n_test))
  return str(path)


def tiny_config(data_path, **overrides) -> Config:
  values = dict(data={"name": data_path}, model={"name": "wide_resnet", "depth": 10,
                                                 "widen_factor": 1},
                batch_size=32, epochs=2, learning_rate=0.05, momentum=0.9, weight_decay=5e-4,
                augment=False, progress=False, checkpoint_every=1)
  values.update(overrides)
  return Config(**values)


@pytest.fixture
def npz_path(tmp_path):
  return write_npz(tmp_path / "random.npz")


def interrupt_after(monkeypatch, epoch: int) -> None:
  """Makes training stop like a Ctrl-C right after it saved the checkpoint of ``epoch``."""
  from lrsched.train.checkpoints import Checkpoints

  save = Checkpoints.save

  def save_then_interrupt(self, saved_epoch, state):
    save(self, saved_epoch, state)
    if saved_epoch == epoch:
      raise KeyboardInterrupt

  monkeypatch.setattr(Checkpoints, "save", save_then_interrupt)
