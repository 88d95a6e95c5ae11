"""Named datasets through tensorflow-datasets, without TensorFlow (``tfds.data_source``).

``tfds.data_source`` reads a prepared dataset (ArrayRecord files) by random access
and decodes records to numpy; no TensorFlow import is needed. The datasets lrsched
names (cifar10, cifar100, mnist, fashion_mnist, and any other tfds image
classification dataset with ``image`` and ``label`` features) are read whole into
an :class:`~lrsched.data.ArrayDataset`.

Getting the data: a dataset must be prepared in ``data_dir`` (default
``~/tensorflow_datasets`` or ``$TFDS_DATA_DIR``) in the ``array_record`` format.
``download=True`` downloads and prepares it (needs internet: e.g. in Colab). Preparing
encodes the images with TensorFlow, and tfds's download code needs
``importlib_resources``: both come with ``pip install "lrsched[download]"`` (Colab has
them). Without ``download``, a missing dataset is a :class:`FileNotFoundError` that says
how to get it.
"""

from __future__ import annotations

import numpy as np

from lrsched.data.dataset import ArrayDataset

KNOWN = ("cifar10", "cifar100", "mnist", "fashion_mnist")
"""The named datasets lrsched documents and tests; other tfds names work the same way."""


def _how_to_get(name: str, data_dir: str | None) -> str:
  where = data_dir or "~/tensorflow_datasets (or $TFDS_DATA_DIR)"
  return (f"prepare it with data={{'name': '{name}', 'download': True}} (downloads it; "
          f"needs internet, e.g. in Colab, and pip install \"lrsched[download]\") or on the "
          f"command line with "
          f"`tfds build {name} --file_format=array_record --data_dir {where}`; "
          f"a .npz file with x_train/y_train/x_test/y_test works without tfds")


def load_tfds(name: str, split: str, *, data_dir: str | None = None,
              download: bool = False) -> ArrayDataset:
  """Loads split ``split`` of the tfds dataset ``name`` into memory.

  Args:
    name: a tfds name (``"cifar10"``, ``"cifar100"``, ``"mnist"``, ``"fashion_mnist"``, ...).
    split: a tfds split (``"train"``, ``"test"``, ``"train[:10%]"``, ...).
    data_dir: where the prepared data lives (tfds's default when ``None``).
    download: download and prepare the data when it is missing.

  Returns:
    An :class:`~lrsched.data.ArrayDataset` of uint8 NHWC images.

  Raises:
    FileNotFoundError: the dataset is not prepared and ``download`` is False.
  """
  import tensorflow_datasets as tfds  # heavy import, only when a named dataset is used

  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except Exception as error:  # tfds raises its own DatasetNotFoundError
    raise ValueError(f"unknown dataset {name!r}: not a .npz file, 'ps10' or a "
                     f"tensorflow-datasets name ({error})") from error
  try:
    source = tfds.data_source(name, split=split, data_dir=data_dir, download=download)
  except ModuleNotFoundError as error:
    raise FileNotFoundError(
        f"dataset {name!r} is not prepared, and downloading it with tfds needs the module "
        f"{error.name!r}: pip install \"lrsched[download]\" (TensorFlow and "
        f"importlib_resources; Colab has them), or {_how_to_get(name, data_dir)}") from error
  except (FileNotFoundError, NotImplementedError, AssertionError, OSError, KeyError) as error:
    # KeyError: tfds finds a dataset_info.json without splits (e.g. an interrupted download).
    raise FileNotFoundError(f"dataset {name!r} (split {split!r}) is not prepared in "
                            f"array_record format: {_how_to_get(name, data_dir)}. "
                            f"tfds said: {error!r}") from error
  if len(source) == 0:
    raise ValueError(f"dataset {name!r} split {split!r} is empty")
  records = [source[i] for i in range(len(source))]
  images = np.stack([r["image"] for r in records])
  labels = np.array([r["label"] for r in records])
  num_classes = builder.info.features["label"].num_classes
  return ArrayDataset(images, labels, num_classes, name=f"{name}:{split}")
