"""Batches: a seeded reshuffle per epoch, drop-remainder training, full evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from lrsched.data.dataset import ArrayDataset


def epoch_order(num_samples: int, seed: int, epoch: int) -> np.ndarray:
  """The sample order of ``epoch``: a permutation that depends only on ``(seed, epoch)``.

  A resumed run therefore sees exactly the batches an uninterrupted run sees.
  """
  return np.random.default_rng([seed, epoch]).permutation(num_samples)


def iterate_batches(dataset: ArrayDataset, batch_size: int, *, seed: int = 0, epoch: int = 1,
                    shuffle: bool = True, drop_remainder: bool = True, process_index: int = 0,
                    process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
  """Yields batch dicts (``image``, ``label``, and ``kind`` when the data has kinds).

  Args:
    dataset: the data.
    batch_size: the *global* batch size (all processes together).
    seed: seeds the shuffling.
    epoch: the epoch (1-based); each epoch has its own order.
    shuffle: reshuffle (training) or keep the dataset order (evaluation).
    drop_remainder: drop the last incomplete batch (training) or yield it short
      (evaluation, so that every sample is seen exactly once).
    process_index: this process's index (multi-host): it gets rows
      ``[process_index * b, (process_index + 1) * b)`` of each global batch,
      ``b = batch_size / process_count``.
    process_count: the number of processes; must divide ``batch_size``.

  Example:
    >>> import numpy as np
    >>> from lrsched.data import ArrayDataset
    >>> ds = ArrayDataset(np.zeros((10, 2, 2, 1), np.uint8), np.arange(10) % 2, 2)
    >>> [len(b["label"]) for b in iterate_batches(ds, 4)]
    [4, 4]
    >>> [len(b["label"]) for b in iterate_batches(ds, 4, shuffle=False, drop_remainder=False)]
    [4, 4, 2]
  """
  if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
  if not 0 <= process_index < process_count or batch_size % process_count:
    raise ValueError(f"process_count ({process_count}) must divide batch_size ({batch_size}) "
                     f"and process_index ({process_index}) be in [0, {process_count})")
  n = len(dataset)
  order = epoch_order(n, seed, epoch) if shuffle else np.arange(n)
  stop = n - n % batch_size if drop_remainder else n
  for start in range(0, stop, batch_size):
    rows = order[start:start + batch_size]
    if process_count > 1:
      local = len(rows) // process_count
      rows = rows[process_index * local:(process_index + 1) * local]
    yield dataset.take(rows)
