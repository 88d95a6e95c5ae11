"""Batching (seeded reshuffle, remainders, multi-process rows) and on-device transforms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.data import ArrayDataset, augment, iterate_batches, normalize


def _dataset(n=50):
  images = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32)
  return ArrayDataset(images, np.arange(n) % 3, 3, kinds=np.arange(n) % 2)


def test_training_batches_reshuffle_per_epoch_and_drop_the_remainder():
  ds = _dataset()
  epoch1 = [b["image"][:, 0, 0, 0] for b in iterate_batches(ds, 16, seed=0, epoch=1)]
  again = [b["image"][:, 0, 0, 0] for b in iterate_batches(ds, 16, seed=0, epoch=1)]
  epoch2 = [b["image"][:, 0, 0, 0] for b in iterate_batches(ds, 16, seed=0, epoch=2)]
  assert [len(b) for b in epoch1] == [16, 16, 16]
  np.testing.assert_array_equal(np.concatenate(epoch1), np.concatenate(again))
  assert not np.array_equal(np.concatenate(epoch1), np.concatenate(epoch2))
  assert len(set(np.concatenate(epoch1).tolist())) == 48  # no repeats within an epoch
  batch = next(iterate_batches(ds, 16))
  np.testing.assert_array_equal(batch["label"], batch["image"][:, 0, 0, 0].astype(int) % 3)
  np.testing.assert_array_equal(batch["kind"], batch["image"][:, 0, 0, 0].astype(int) % 2)


def test_evaluation_sees_every_sample_once_in_order():
  ds = _dataset()
  seen = np.concatenate([b["image"][:, 0, 0, 0] for b in
                         iterate_batches(ds, 16, shuffle=False, drop_remainder=False)])
  np.testing.assert_array_equal(seen, np.arange(50))


def test_processes_split_each_global_batch():
  ds = _dataset()
  full = list(iterate_batches(ds, 16, seed=3, epoch=2))
  parts = [list(iterate_batches(ds, 16, seed=3, epoch=2, process_index=i, process_count=4))
           for i in range(4)]
  for step, batch in enumerate(full):
    joined = np.concatenate([parts[i][step]["image"] for i in range(4)])
    np.testing.assert_array_equal(joined, batch["image"])
  with pytest.raises(ValueError, match="must divide batch_size"):
    next(iterate_batches(ds, 16, process_count=3))
  with pytest.raises(ValueError, match="batch_size must be a positive integer"):
    next(iterate_batches(ds, 0))


def test_normalize_uint8_and_float():
  x = np.array([[[[0, 255]]]], np.uint8)
  out = normalize(x, np.array([0.5, 0.5]), np.array([0.5, 0.25]))
  np.testing.assert_allclose(out, [[[[-1.0, 2.0]]]])
  np.testing.assert_allclose(normalize(x.astype(np.float32) / 255, 0.5, 0.5), [[[[-1.0, 1.0]]]])


def _reference_augment(images, offsets, flips, padding):
  h, w = images.shape[1:3]
  padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  out = np.stack([p[i:i + h, j:j + w] for p, (i, j) in zip(padded, offsets, strict=True)])
  return np.where(flips[:, None, None, None], out[:, :, ::-1], out)


def test_augment_is_a_per_image_padded_crop_and_flip():
  images = jax.random.normal(jax.random.key(0), (64, 8, 8, 3))
  key = jax.random.key(42)
  out = np.asarray(jax.jit(augment)(key, images))
  crop_key, flip_key = jax.random.split(key)
  offsets = np.asarray(jax.random.randint(crop_key, (64, 2), 0, 9))
  flips = np.asarray(jax.random.bernoulli(flip_key, 0.5, (64,)))
  np.testing.assert_allclose(out, _reference_augment(np.asarray(images), offsets, flips, 4))
  assert 0 < flips.sum() < 64 and len({tuple(o) for o in offsets}) > 20
  # Identity when the offsets are centred and nothing flips: padding=0 is a no-op crop.
  np.testing.assert_array_equal(augment(key, images, padding=0)[~flips], images[~flips])
  assert jnp.array_equal(augment(key, images), augment(key, images))
