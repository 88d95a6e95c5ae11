"""Datasets: tensorflow-datasets names, ``.npz`` arrays and generated PS10, one interface.

:func:`load_dataset` returns an :class:`ArrayDataset`; :func:`iterate_batches`
batches it (seeded per-epoch shuffle); :func:`prefetch` places the batches on the
devices ahead of the step; :func:`normalize` and :func:`augment` run on device inside
the jitted steps.
"""

from __future__ import annotations

import functools
import pathlib
from typing import Any

from lrsched.data.batches import epoch_order, iterate_batches
from lrsched.data.dataset import KIND_NAMES, ArrayDataset, load_npz, to_unit_scale
from lrsched.data.named import KNOWN, load_tfds
from lrsched.data.prefetch import prefetch
from lrsched.data.ps10 import make_ps10, ps10_patterns
from lrsched.data.transforms import augment, normalize


def load_dataset(name: str, split: str = "train", **kwargs: Any) -> ArrayDataset:
  """Loads a dataset split by name.

  Args:
    name: ``"ps10"`` (generated; kwargs of :func:`make_ps10`), a path ending in
      ``.npz`` (arrays ``x_<split>``, ``y_<split>``; see :func:`load_npz`), or a
      tensorflow-datasets name such as ``"cifar10"``, ``"cifar100"``, ``"mnist"``,
      ``"fashion_mnist"`` (kwargs ``data_dir``, ``download``; see :func:`load_tfds`).
    split: ``"train"``, ``"test"`` (or any tfds split for named datasets).
    **kwargs: passed to the loader; for ``.npz`` and tfds datasets also
      ``classes`` (keep these classes, relabeled in order; see
      :meth:`ArrayDataset.select_classes`) and ``image_size`` (average-pool the
      images down to this size; see :meth:`ArrayDataset.downsample`).

  Returns:
    An :class:`ArrayDataset`.

  Example:
    >>> load_dataset("ps10", "test", num_test=40, image_size=2).images.shape
    (40, 2, 2, 6)
  """
  if name == "ps10":
    return _ps10(split, **kwargs)
  classes = kwargs.pop("classes", None)
  image_size = kwargs.pop("image_size", None)
  if name.endswith(".npz"):
    if kwargs:
      raise ValueError(f".npz datasets take classes and image_size, got {sorted(kwargs)}")
    dataset = load_npz(pathlib.Path(name).expanduser(), split)
  else:
    unknown = set(kwargs) - {"data_dir", "download"}
    if unknown:
      raise ValueError(f"tfds datasets take data_dir, download, classes and image_size, "
                       f"got {sorted(unknown)}")
    dataset = load_tfds(name, split, **kwargs)
  if classes is not None:
    dataset = dataset.select_classes(classes)
  if image_size is not None:
    dataset = dataset.downsample(image_size)
  return dataset


@functools.lru_cache(maxsize=8)
def _ps10(split: str, **kwargs: Any) -> ArrayDataset:
  return make_ps10(split, **kwargs)


__all__ = [
    "KIND_NAMES",
    "KNOWN",
    "ArrayDataset",
    "augment",
    "epoch_order",
    "iterate_batches",
    "load_dataset",
    "load_npz",
    "load_tfds",
    "make_ps10",
    "normalize",
    "prefetch",
    "ps10_patterns",
    "to_unit_scale",
]
