"""Double buffering: host batches are prepared and sent to the devices ahead of the step.

:func:`prefetch` runs the host side of the input pipeline (NumPy indexing of the
dataset, then ``place``: the transfer to the batch's sharding) in a background thread,
``size`` batches ahead of the consumer. While the device runs step ``t``, batch ``t + 1``
is already on it, so the step never waits for NumPy or for the host-to-device copy (the
recipe of ``flax.jax_utils.prefetch_to_device`` and ``tf.data``'s ``prefetch``, for
``jax.jit`` with shardings). The order of the batches is unchanged, so a run is
bitwise the same with or without it; ``benchmarks/input_pipeline.py`` measures it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Host = TypeVar("Host")
Placed = TypeVar("Placed")

_DONE = object()


def prefetch(batches: Iterable[Host], place: Callable[[Host], Placed], size: int = 2
             ) -> Iterator[Placed]:
  """Yields ``place(batch)`` for each batch, computed in a thread ``size`` batches ahead.

  Args:
    batches: host batches (e.g. :func:`lrsched.data.iterate_batches`).
    place: puts one batch on the devices (e.g. ``jax.device_put`` to a sharding, or
      :func:`lrsched.train.steps.shard_batch`); JAX transfers are asynchronous, so the
      copy overlaps the running step.
    size: how many placed batches may wait (2: double buffering).

  Returns:
    An iterator of placed batches, in order. An exception of ``batches`` or ``place``
    is raised by the iterator at that batch. Closing the iterator early (a ``break``,
    an exception in the consumer) stops the thread.

  Raises:
    ValueError: ``size`` is not a positive integer.

  Example:
    >>> import numpy as np
    >>> [int(b.sum()) for b in prefetch([np.ones(2), np.ones(3)], lambda b: 2 * b)]
    [4, 6]
  """
  if isinstance(size, bool) or not isinstance(size, int) or size < 1:
    raise ValueError(f"size must be a positive integer, got {size!r}")
  if not callable(place):
    raise ValueError(f"place must be callable, got {place!r}")
  return _prefetch(iter(batches), place, size)


def _prefetch(batches: Iterator[Host], place: Callable[[Host], Placed], size: int
              ) -> Iterator[Placed]:
  ready: queue.Queue = queue.Queue(maxsize=size)
  stop = threading.Event()

  def put(item) -> bool:
    while not stop.is_set():
      try:
        ready.put(item, timeout=0.1)
        return True
      except queue.Full:
        continue
    return False

  def produce() -> None:
    try:
      for batch in batches:
        if not put((place(batch), None)):
          return
    except BaseException as error:  # noqa: BLE001 -- re-raised in the consumer
      put((None, error))
      return
    put((_DONE, None))

  thread = threading.Thread(target=produce, name="lrsched-prefetch", daemon=True)
  thread.start()
  try:
    while True:
      item, error = ready.get()
      if error is not None:
        raise error
      if item is _DONE:
        return
      yield item
  finally:
    stop.set()
    thread.join()
