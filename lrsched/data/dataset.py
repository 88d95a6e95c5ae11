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
    if labels.min() < 0 or labels.max() >= self.num_classes:
      raise ValueError(f"{self.name}: labels must lie in [0, {self.num_classes}), got "
                       f"[{labels.min()}, {labels.max()}]")
    object.__setattr__(self, "images", images)
    object.__setattr__(self, "labels", labels.astype(np.int32))
    if self.kinds is not None:
      kinds = np.asarray(self.kinds).astype(np.int32)
      if kinds.shape != labels.shape or kinds.min() < 0 or kinds.max() >= len(KIND_NAMES):
        raise ValueError(f"{self.name}: kinds must be ({len(images)},) indices into "
                         f"{KIND_NAMES}")
      object.__setattr__(self, "kinds", kinds)

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
  with np.load(path) as arrays:
    if f"x_{split}" not in arrays or f"y_{split}" not in arrays:
      splits = sorted(k[2:] for k in arrays.files if k.startswith("x_"))
      raise ValueError(f"{path.name} has no split {split!r} (x_{split}/y_{split}); "
                       f"it has {splits}")
    if "num_classes" in arrays:
      num_classes = int(arrays["num_classes"])
    else:
      num_classes = 1 + max(int(arrays[k].max()) for k in arrays.files if k.startswith("y_"))
    kinds = arrays[f"kinds_{split}"] if f"kinds_{split}" in arrays else None
    return ArrayDataset(arrays[f"x_{split}"], arrays[f"y_{split}"], num_classes, kinds,
                        name=f"{path.name}:{split}")
