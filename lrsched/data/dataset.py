"""In-memory image datasets: :class:`ArrayDataset` and ``.npz`` files.

Every dataset lrsched trains on -- tensorflow-datasets, ``.npz`` arrays, generated
PS10 -- ends up as an :class:`ArrayDataset`: NHWC images (``uint8`` in [0, 255] or
float), integer labels and, for datasets whose samples come in kinds (PS10's
simple / complex / noise), the kind of every sample. CIFAR-size datasets fit in
memory (CIFAR-10: 150 MB as uint8), so batches are gathered with numpy indexing.
"""

from __future__ import annotations

import dataclasses
import pathlib
import zipfile
import zlib

import numpy as np

KIND_NAMES = ("simple", "complex", "noise")
"""Names of the sample kinds, indexed by :attr:`ArrayDataset.kinds` values."""


@dataclasses.dataclass(frozen=True)
class ArrayDataset:
  """Images, labels and optional per-sample kinds, all in memory.

  Attributes:
    images: ``(N, H, W, C)`` array, ``uint8`` (pixel values 0..255) or floating.
    labels: ``(N,)`` int32 class indices in ``[0, num_classes)``.
    num_classes: number of classes.
    kinds: ``(N,)`` int32 indices into :data:`KIND_NAMES`, or ``None``.
    name: where the data came from (for messages).
  """

  images: np.ndarray
  labels: np.ndarray
  num_classes: int
  kinds: np.ndarray | None = None
  name: str = "arrays"

  def __post_init__(self) -> None:
    images, labels = np.asarray(self.images), np.asarray(self.labels)
    if images.ndim == 3:  # grayscale without a channel axis (N, H, W)
      images = images[..., None]
    if images.ndim != 4:
      raise ValueError(f"{self.name}: images must have shape (N, H, W, C), got {images.shape}")
    if labels.shape != (len(images),):
      raise ValueError(f"{self.name}: labels must have shape ({len(images)},), "
                       f"got {labels.shape}")
    if len(images) == 0:
      raise ValueError(f"{self.name}: the dataset is empty")
    if (np.issubdtype(images.dtype, np.integer) and images.dtype != np.uint8
        and images.min() >= 0 and images.max() <= 255):
      images = images.astype(np.uint8)  # pixel values stored in a wider integer type
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
      raise ValueError(f"{self.name}: images must be uint8 (0..255), integers in 0..255 or "
                       f"floating, got dtype {images.dtype}"
                       + (f" with values in [{images.min()}, {images.max()}]"
                          if np.issubdtype(images.dtype, np.integer) else ""))
    if np.issubdtype(images.dtype, np.floating):
      bad = nonfinite_count(images)
      if bad:
        raise ValueError(f"{self.name}: images hold {bad} NaN or infinite value(s) (of "
                         f"{images.size}); clean the data")
    labels = _integer_labels(labels, self.name)
    if labels.min() < 0 or labels.max() >= self.num_classes:
      raise ValueError(f"{self.name}: labels must lie in [0, {self.num_classes}), got "
                       f"[{labels.min()}, {labels.max()}]")
    object.__setattr__(self, "images", images)
    object.__setattr__(self, "labels", labels)
    if self.kinds is not None:
      kinds = np.asarray(self.kinds)
      if np.issubdtype(kinds.dtype, np.floating) and np.all(kinds == np.round(kinds)):
        kinds = kinds.astype(np.int64)
      if (kinds.shape != labels.shape or not np.issubdtype(kinds.dtype, np.integer)
          or kinds.min() < 0 or kinds.max() >= len(KIND_NAMES)):
        raise ValueError(f"{self.name}: kinds must be ({len(images)},) integer indices into "
                         f"{KIND_NAMES}")
      object.__setattr__(self, "kinds", kinds.astype(np.int32))

  def __len__(self) -> int:
    return len(self.labels)

  def subset(self, n: int) -> ArrayDataset:
    """The first ``n`` samples (``1 <= n <= len(self)``)."""
    if not 1 <= n <= len(self):
      raise ValueError(f"subset size must be in [1, {len(self)}], got {n}")
    kinds = None if self.kinds is None else self.kinds[:n]
    return dataclasses.replace(self, images=self.images[:n], labels=self.labels[:n],
                               kinds=kinds)

  def select_classes(self, classes: list[int] | tuple[int, ...]) -> ArrayDataset:
    """The samples of ``classes`` only, relabeled ``0..len(classes)-1`` in the given order.

    Example (the two halves of CIFAR-10 for a transfer experiment)::

      source = dataset.select_classes([0, 1, 2, 3, 4])
      target = dataset.select_classes([5, 6, 7, 8, 9])
    """
    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes) or not all(
        0 <= c < self.num_classes for c in classes):
      raise ValueError(f"classes must be distinct class indices in [0, {self.num_classes}), "
                       f"got {classes}")
    relabel = np.full(self.num_classes, -1, np.int32)
    relabel[classes] = np.arange(len(classes), dtype=np.int32)
    keep = relabel[self.labels] >= 0
    kinds = None if self.kinds is None else self.kinds[keep]
    return dataclasses.replace(self, images=self.images[keep],
                               labels=relabel[self.labels[keep]], num_classes=len(classes),
                               kinds=kinds)

  def downsample(self, image_size: int) -> ArrayDataset:
    """Images average-pooled to ``image_size x image_size`` (an integer factor of H and W).

    ``uint8`` images stay ``uint8`` (rounded), so a CPU-scale CIFAR run at 16x16 costs a
    quarter of a 32x32 one with the same pipeline.
    """
    _, height, width, channels = self.images.shape
    if (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1
        or height % image_size or width % image_size):
      raise ValueError(f"image_size must be a positive integer dividing the image size "
                       f"{height}x{width}, got {image_size!r}")
    fh, fw = height // image_size, width // image_size
    pooled = self.images.reshape(len(self), image_size, fh, image_size, fw, channels)
    pooled = pooled.mean(axis=(2, 4), dtype=np.float64)
    if self.images.dtype == np.uint8:
      pooled = np.rint(pooled).astype(np.uint8)
    else:
      pooled = pooled.astype(self.images.dtype)
    return dataclasses.replace(self, images=pooled)

  def take(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    """The samples at ``indices`` as a batch dict: ``image``, ``label`` (and ``kind``)."""
    batch = {"image": self.images[indices], "label": self.labels[indices]}
    if self.kinds is not None:
      batch["kind"] = self.kinds[indices]
    return batch

  def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the images on the [0, 1] scale (float32).

    A constant channel gets std 1, so normalizing never divides by zero.
    """
    mean = np.zeros(self.images.shape[-1])
    square = np.zeros(self.images.shape[-1])
    for start in range(0, len(self), 4096):  # float64 sums, chunked: no full float copy
      chunk = to_unit_scale(self.images[start:start + 4096]).astype(np.float64)
      mean += chunk.sum(axis=(0, 1, 2))
      square += np.square(chunk).sum(axis=(0, 1, 2))
    count = len(self) * self.images.shape[1] * self.images.shape[2]
    mean /= count
    std = np.sqrt(np.maximum(square / count - mean**2, 0.0))
    std = np.where(std > 1e-8, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def nonfinite_count(images: np.ndarray) -> int:
  """How many values of a float array are NaN or infinite."""
  return int(np.size(images) - np.count_nonzero(np.isfinite(images)))


def _integer_labels(labels: np.ndarray, name: str) -> np.ndarray:
  """``labels`` as int32; floats must be whole numbers; anything else is an error."""
  if np.issubdtype(labels.dtype, np.integer) and labels.dtype != np.bool_:
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
      raise ValueError(f"{name}: labels must be class indices >= 0, got values in "
                       f"[{labels.min()}, {labels.max()}]")
    return labels.astype(np.int32)
  if np.issubdtype(labels.dtype, np.floating):
    fractional = ~np.isfinite(labels) | (labels != np.round(labels))
    if fractional.any():
      raise ValueError(f"{name}: labels must be integer class indices, got non-integer "
                       f"values such as {labels[fractional][0]!r} (float labels would be "
                       f"truncated)")
    return labels.astype(np.int32)
  raise ValueError(f"{name}: labels must be integer class indices, got dtype {labels.dtype}"
                   + (f" (e.g. {labels.flat[0]!r})" if labels.size else ""))


def to_unit_scale(images):
  """``uint8`` images divided by 255; float images unchanged (works on numpy and jax)."""
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 255.0
  return images


def load_npz(path: str | pathlib.Path, split: str) -> ArrayDataset:
  """Reads split ``split`` of a ``.npz`` file with ``x_<split>`` and ``y_<split>`` arrays.

  An optional ``kinds_<split>`` array gives per-sample kinds (:data:`KIND_NAMES`);
  an optional ``num_classes`` scalar the number of classes (default: max label + 1
  over all ``y_*`` arrays, so train and test agree).
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"dataset file {str(path)!r} does not exist")
  try:
    with np.load(path) as arrays:
      files = list(arrays.files)
      if f"x_{split}" not in files or f"y_{split}" not in files:
        splits = sorted(k[2:] for k in files if k.startswith("x_"))
        raise ValueError(f"{path} has no split {split!r} (arrays x_{split}, y_{split}); it "
                         f"has splits {splits} and arrays {files}")
      loaded = {k: arrays[k] for k in files
                if k in (f"x_{split}", f"y_{split}", f"kinds_{split}", "num_classes")
                or k.startswith("y_")}
  except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError) as error:
    if isinstance(error, ValueError) and str(error).startswith(str(path)):
      raise
    raise ValueError(f"{path} is not a readable .npz file ({type(error).__name__}: "
                     f"{error}); write it with numpy.savez(path, x_train=..., y_train=..., "
                     f"x_test=..., y_test=...)") from None
  name = f"{path} (x_{split}, y_{split})"
  if "num_classes" in loaded:
    num_classes = int(loaded["num_classes"])
  else:
    label_arrays = [_integer_labels(v, f"{path} ({k})") for k, v in loaded.items()
                    if k.startswith("y_") and v.size]
    if not label_arrays:
      raise ValueError(f"{name}: the dataset is empty")
    num_classes = 1 + max(int(v.max()) for v in label_arrays)
  return ArrayDataset(loaded[f"x_{split}"], loaded[f"y_{split}"], num_classes,
                      loaded.get(f"kinds_{split}"), name=name)
