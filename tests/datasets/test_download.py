"""``download=True``: the dependencies of tfds's download path, and the errors without them.

tensorflow-datasets downloads with ``importlib_resources`` (in the dev extra, so CI walks
the download path up to the network) and prepares image datasets with TensorFlow (the
``download`` extra; the preparation test runs where it is installed).
"""

import importlib.util

import numpy as np
import pytest

from lrsched.data import load_dataset

tfds = pytest.importorskip("tensorflow_datasets")


def test_missing_download_dependencies_say_how_to_install_them(monkeypatch, tmp_path):
  def no_module(*args, **kwargs):
    raise ModuleNotFoundError("No module named 'importlib_resources'",
                              name="importlib_resources")

  monkeypatch.setattr(tfds, "data_source", no_module)
  with pytest.raises(FileNotFoundError, match=r"needs the module 'importlib_resources': pip "
                                              r"install \"lrsched\[download\]\""):
    load_dataset("mnist", "train", data_dir=str(tmp_path), download=True)


@pytest.mark.skipif(importlib.util.find_spec("importlib_resources") is None,
                    reason="install the dev or download extra")
def test_the_download_path_imports_everything_it_needs(monkeypatch, tmp_path):
  """With the network cut, a download fails at the network, not at an import."""
  import requests

  class NoNetwork(Exception):
    pass

  def refuse(*args, **kwargs):
    raise NoNetwork("no network in tests")

  monkeypatch.setattr(requests.Session, "request", refuse)
  monkeypatch.setattr(requests, "get", refuse)
  with pytest.raises(Exception) as error:
    load_dataset("mnist", "train", data_dir=str(tmp_path), download=True)
  chain, seen = error.value, []
  while chain is not None:
    seen.append(chain)
    chain = chain.__cause__ or chain.__context__
  assert not any(isinstance(e, ModuleNotFoundError) for e in seen), seen
  assert any(isinstance(e, NoNetwork) or "no network in tests" in str(e) for e in seen), seen


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="the download extra (TensorFlow) is not installed")
def test_a_dataset_prepared_by_tfds_loads(tmp_path):
  """tfds encodes images with TensorFlow while preparing; lrsched reads the result TF-free."""

  class TinyImages(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
          "image": tfds.features.Image(shape=(4, 4, 3)),
          "label": tfds.features.ClassLabel(num_classes=3)}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples(6), "test": self._generate_examples(3)}

    def _generate_examples(self, n):
      for i in range(n):
        yield i, {"image": np.full((4, 4, 3), 40 * i, np.uint8), "label": i % 3}

  TinyImages(data_dir=str(tmp_path), file_format="array_record").download_and_prepare()
  train = load_dataset("tiny_images", "train", data_dir=str(tmp_path))
  assert train.images.shape == (6, 4, 4, 3) and train.num_classes == 3
  assert sorted(train.images[:, 0, 0, 0].tolist()) == [0, 40, 80, 120, 160, 200]
