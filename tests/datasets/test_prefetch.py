"""prefetch: the same batches in the same order, prepared ahead in a thread that stops."""

import threading
import time

import jax
import numpy as np
import pytest

from lrsched.data import prefetch


def _threads() -> int:
  return sum(t.name == "lrsched-prefetch" for t in threading.enumerate())


def test_same_batches_in_order_placed_on_device():
  batches = [{"x": np.full(3, i)} for i in range(7)]
  out = list(prefetch(batches, jax.device_put))
  assert [int(b["x"][0]) for b in out] == list(range(7))
  assert all(isinstance(b["x"], jax.Array) for b in out)
  assert _threads() == 0


def test_the_next_batch_is_ready_before_it_is_asked_for():
  placed, asked = {}, {}

  def place(i):
    placed[i] = time.perf_counter()
    return i

  for i in prefetch(range(5), place, size=2):
    asked[i] = time.perf_counter()
    time.sleep(0.05)  # the "step": batch i + 1 is placed meanwhile
  for i in range(1, 5):
    assert placed[i] < asked[i - 1] + 0.05 <= asked[i]


@pytest.mark.parametrize("where", ["batches", "place"])
def test_an_error_is_raised_at_its_batch(where):
  def batches():
    yield from range(3)
    if where == "batches":
      raise OSError("disk gone")
    yield 3

  def place(i):
    if where == "place" and i == 3:
      raise OSError("disk gone")
    return i

  seen = []
  with pytest.raises(OSError, match="disk gone"):
    for i in prefetch(batches(), place):
      seen.append(i)
  assert seen == [0, 1, 2]
  assert _threads() == 0


def test_closing_early_stops_the_thread_and_reads_only_ahead():
  produced = []

  def batches():
    for i in range(1000):
      produced.append(i)
      yield i

  iterator = prefetch(batches(), lambda i: i, size=2)
  assert next(iterator) == 0
  time.sleep(0.1)
  iterator.close()
  assert _threads() == 0
  assert len(produced) <= 4  # the one consumed, two waiting, one being placed


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_bad_size_is_refused_eagerly(size):
  with pytest.raises(ValueError, match=f"size must be a positive integer, got {size!r}"):
    prefetch([1], lambda b: b, size=size)


def test_place_must_be_callable():
  with pytest.raises(ValueError, match="place must be callable"):
    prefetch([1], "device")
