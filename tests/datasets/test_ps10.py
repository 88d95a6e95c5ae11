"""PS10: class balance, channel layout, noise fraction, per-kind labels, determinism."""

import numpy as np
import pytest

from lrsched.data import KIND_NAMES, load_dataset, make_ps10, ps10_patterns


def _vectors(ds):
  images = ds.images
  np.testing.assert_array_equal(images, images[:, :1, :1, :].repeat(images.shape[1], 1)
                                .repeat(images.shape[2], 2))  # constant over space
  return images[:, 0, 0, :]


def test_channel_layout_kinds_and_patterns():
  ds = make_ps10("train", num_train=2000, noise_fraction=0.0, image_size=5, jitter=0.0, seed=3)
  assert ds.images.shape == (2000, 5, 5, 6) and ds.images.dtype == np.float32
  vectors = _vectors(ds)
  simple, complex_ = ps10_patterns(3)
  for i in range(len(ds)):
    label, kind, v = ds.labels[i], ds.kinds[i], vectors[i]
    if kind == 0:  # simple: channels 0-2 hold one of the class's 10 points
      assert not v[3:].any()
      assert np.isclose(simple[label], v[:3], atol=1e-6).all(axis=1).any()
    else:  # complex: channels 3-5 hold one of the class's 100 points
      assert kind == 1 and not v[:3].any()
      assert np.isclose(complex_[label], v[3:], atol=1e-6).all(axis=1).any()
  assert set(np.unique(ds.kinds)) == {0, 1}


def test_class_and_kind_balance():
  ds = make_ps10("train", num_train=2000, image_size=2)
  counts = np.zeros((10, 2), int)
  np.add.at(counts, (ds.labels, ds.kinds), 1)
  np.testing.assert_array_equal(counts, np.full((10, 2), 100))


def test_noise_fraction_and_noise_is_unlearnable():
  ds = make_ps10("train", num_train=5000, noise_fraction=0.1, image_size=2, jitter=0.0)
  kinds = np.bincount(ds.kinds, minlength=3)
  assert kinds[2] == 500 and kinds[0] == kinds[1] == 2250
  vectors = _vectors(ds)
  noise = ds.kinds == 2
  # Noise points are not pattern points, sit in one channel group, and labels are spread.
  simple, complex_ = ps10_patterns(0)
  points = np.concatenate([simple.reshape(-1, 3), complex_.reshape(-1, 3)])
  for v in vectors[noise][:50]:
    group = v[:3] if v[:3].any() else v[3:]
    assert not (v[:3].any() and v[3:].any())
    assert np.min(np.abs(points - group).max(axis=1)) > 1e-6
  assert len(np.unique(ds.labels[noise])) == 10
  assert make_ps10("test", num_test=500, noise_fraction=0.1, image_size=2).kinds.max() == 1


def test_train_and_test_share_patterns_and_are_deterministic():
  a = load_dataset("ps10", "train", num_train=300, image_size=2, seed=1)
  b = make_ps10("train", num_train=300, image_size=2, seed=1)
  np.testing.assert_array_equal(a.images, b.images)
  other = make_ps10("train", num_train=300, image_size=2, seed=2)
  assert not np.array_equal(a.images, other.images)
  # Test samples sit within a few jitter sigmas of the training seed's patterns.
  test = make_ps10("test", num_test=200, image_size=2, seed=1, jitter=0.01)
  simple, _ = ps10_patterns(1)
  v = _vectors(test)
  for label, vec in zip(test.labels[test.kinds == 0], v[test.kinds == 0], strict=True):
    assert np.min(np.linalg.norm(simple[label] - vec[:3], axis=1)) < 0.06
  assert KIND_NAMES[:2] == ("simple", "complex")


@pytest.mark.parametrize("kwargs, match", [
    ({"noise_fraction": 1.0}, "noise_fraction"),
    ({"num_train": 0}, "num_train"),
    ({"image_size": 2.5}, "image_size"),
    ({"jitter": -1.0}, "jitter"),
    ({"noise_jitter": -0.1, "noise": "label_flip"}, "noise_jitter"),
    ({"noise_jitter": 0.02, "noise": "random_point"}, "noise_jitter applies to"),
])
def test_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    make_ps10("train", **kwargs)
  with pytest.raises(ValueError, match="split"):
    make_ps10("validation")


def test_label_flip_noise_keeps_the_pattern_and_changes_the_label():
  clean = make_ps10("train", num_train=2000, image_size=1, jitter=0.0, seed=4)
  noisy = make_ps10("train", num_train=2000, image_size=1, jitter=0.0, seed=4,
                    noise_fraction=0.1, noise="label_flip")
  simple, complex_ = ps10_patterns(4)
  flipped = noisy.kinds == 2
  assert flipped.sum() == 200
  vectors = noisy.images[:, 0, 0]
  # A flipped sample is a pattern point of another class than its label says.
  for vector, label in zip(vectors[flipped], noisy.labels[flipped], strict=True):
    part, table = (vector[:3], simple) if vector[3:].max() == 0 else (vector[3:], complex_)
    owner = np.argwhere(np.isclose(table, part).all(-1))[0, 0]
    assert owner != label
  in_simple = vectors[flipped][:, 3:].max(axis=1) == 0
  assert in_simple.sum() == 100  # half simple, half complex
  # Everything else is untouched: the same samples as without noise, same labels and kinds.
  np.testing.assert_array_equal(np.sort(clean.images[:, 0, 0], axis=0),
                                np.sort(vectors, axis=0))
  assert make_ps10("test", num_test=100, image_size=1, noise="label_flip",
                   noise_fraction=0.1).kinds.max() == 1
  with pytest.raises(ValueError, match="noise must be one of"):
    make_ps10("train", num_train=10, noise="flip")


def test_noise_jitter_moves_only_the_flipped_samples_around_their_pattern():
  kwargs = dict(num_train=2000, image_size=1, seed=4, noise_fraction=0.1, noise="label_flip")
  base = make_ps10("train", **kwargs)
  moved = make_ps10("train", noise_jitter=0.05, **kwargs)
  np.testing.assert_array_equal(base.labels, moved.labels)
  np.testing.assert_array_equal(base.kinds, moved.kinds)
  flipped = base.kinds == 2
  a, b = base.images[:, 0, 0], moved.images[:, 0, 0]
  np.testing.assert_array_equal(a[~flipped], b[~flipped])
  assert not np.isclose(a[flipped], b[flipped]).all(axis=1).any()
  np.testing.assert_array_equal(a[flipped] == 0, b[flipped] == 0)  # same channels
  # The offsets from the pattern point: std noise_jitter (0.05) instead of jitter (0.01).
  simple, complex_ = ps10_patterns(4)
  patterns = np.concatenate([simple.reshape(-1, 3), complex_.reshape(-1, 3)])

  def offsets(vectors):
    parts = np.where((vectors[:, 3:] == 0).all(1, keepdims=True), vectors[:, :3], vectors[:, 3:])
    return np.linalg.norm(parts[:, None] - patterns[None], axis=-1).min(1)

  assert 0.005 < np.median(offsets(a[flipped])) < 0.025 < np.median(offsets(b[flipped])) < 0.12
