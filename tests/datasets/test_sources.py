"""Dataset sources: .npz files, tensorflow-datasets (mocked), the real CIFAR-10 subset."""

import pathlib

import numpy as np
import pytest

from lrsched.data import ArrayDataset, load_dataset

SUBSET = pathlib.Path(__file__).parents[2].parent / "shared/data/cifar10_subset.npz"


def test_npz_round_trip_and_errors(tmp_path):
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
  y = rng.integers(0, 5, 20)
  path = tmp_path / "d.npz"
  np.savez(path, x_train=x, y_train=y, x_test=x[:6], y_test=np.full(6, 7))
  train = load_dataset(str(path), "train")
  np.testing.assert_array_equal(train.images, x)
  assert train.num_classes == 8 and train.labels.dtype == np.int32  # max over all splits
  assert train.kinds is None and len(train.subset(5)) == 5
  with pytest.raises(ValueError, match="no split 'validation'.*'test', 'train'"):
    load_dataset(str(path), "validation")
  with pytest.raises(FileNotFoundError, match="does not exist"):
    load_dataset(str(tmp_path / "missing.npz"), "train")
  with pytest.raises(ValueError, match="subset size"):
    train.subset(21)


def test_channel_stats_are_exact():
  rng = np.random.default_rng(1)
  x = rng.integers(0, 256, (50, 3, 3, 2), dtype=np.uint8)
  mean, std = ArrayDataset(x, np.zeros(50, int), 1).channel_stats()
  np.testing.assert_allclose(mean, (x / 255).mean(axis=(0, 1, 2)), rtol=1e-6)
  np.testing.assert_allclose(std, (x / 255).std(axis=(0, 1, 2)), rtol=1e-5)
  constant = ArrayDataset(np.ones((4, 2, 2, 1), np.float32), np.zeros(4, int), 1)
  assert constant.channel_stats()[1][0] == 1.0  # no division by zero


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((3, 2, 2, 1)), np.zeros(4), "labels must have shape"),
    (np.zeros((3, 2, 2, 1)), np.array([0, 1, 5]), r"labels must lie in \[0, 2\)"),
    (np.zeros((0, 2, 2, 1)), np.zeros(0), "empty"),
])
def test_array_dataset_bad_input(images, labels, match):
  with pytest.raises(ValueError, match=match):
    ArrayDataset(images, labels, 2)


@pytest.mark.parametrize("name, shape, classes", [
    ("cifar10", (32, 32, 3), 10), ("cifar100", (32, 32, 3), 100),
    ("mnist", (28, 28, 1), 10), ("fashion_mnist", (28, 28, 1), 10)])
def test_named_datasets_through_tfds_data_source(name, shape, classes):
  tfds = pytest.importorskip("tensorflow_datasets")
  with tfds.testing.mock_data(num_examples=12):
    ds = load_dataset(name, "train")
  assert ds.images.shape == (12, *shape) and ds.images.dtype == np.uint8
  assert ds.num_classes == classes and ds.labels.max() < classes


def test_missing_tfds_data_says_how_to_get_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"'download': True.*tfds build cifar10"):
    load_dataset("cifar10", "train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="unknown dataset 'no_such_dataset_xyz'"):
    load_dataset("no_such_dataset_xyz", "train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="take data_dir, download, classes and image_size"):
    load_dataset("cifar10", "train", shuffle=True)


@pytest.mark.real_data
@pytest.mark.skipif(not SUBSET.exists(), reason="../shared/data/cifar10_subset.npz is absent")
def test_real_cifar10_subset():
  train = load_dataset(str(SUBSET), "train")
  test = load_dataset(str(SUBSET), "test")
  assert train.images.shape == (5085, 32, 32, 3) and len(test) == 1017
  assert train.num_classes == 10
  mean, std = train.channel_stats()
  np.testing.assert_allclose(mean, (0.494, 0.485, 0.448), atol=1e-3)
  np.testing.assert_allclose(std, (0.248, 0.245, 0.262), atol=1e-3)


def test_select_classes_and_downsample(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8)
  labels = np.arange(30) % 10
  path = tmp_path / "d.npz"
  np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
  ds = load_dataset(str(path), "train", classes=[7, 2], image_size=4)
  keep = (labels == 7) | (labels == 2)
  np.testing.assert_array_equal(ds.labels, np.where(labels[keep] == 7, 0, 1))
  assert ds.num_classes == 2 and ds.images.dtype == np.uint8
  # Average pooling by a factor 2, against a plain loop.
  first = images[keep][0].astype(np.float64)
  expected = np.array([[first[2 * i:2 * i + 2, 2 * j:2 * j + 2].mean(axis=(0, 1))
                        for j in range(4)] for i in range(4)])
  np.testing.assert_array_equal(ds.images[0], np.rint(expected).astype(np.uint8))
  with pytest.raises(ValueError, match="image_size must be a positive integer dividing"):
    load_dataset(str(path), "train", image_size=3)
  with pytest.raises(ValueError, match=r"classes must be distinct class indices in \[0, 10\)"):
    load_dataset(str(path), "train", classes=[1, 1])
  with pytest.raises(ValueError, match="take classes and image_size"):
    load_dataset(str(path), "train", download=True)
