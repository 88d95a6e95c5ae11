"""wsd_s: each budget's segment is a WSD of its own, the first one with the warmup."""

import numpy as np
import pytest

import lrsched


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_each_segment_is_a_wsd(shape):
  ends, cool, warm = [300, 500, 900], 60, 40
  schedule = lrsched.wsd_s(0.2, ends, cool, warmup_steps=warm, cooldown_shape=shape,
                           end_value=0.02)
  starts = [0, *ends[:-1]]
  for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
    piece = lrsched.wsd(0.2, end - start, warm if i == 0 else 0, cool, cooldown_shape=shape,
                        end_value=0.02)
    ours = np.array([float(schedule(t)) for t in range(start, end)])
    theirs = np.array([float(piece(t - start)) for t in range(start, end)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
  assert float(schedule(900)) == pytest.approx(0.02)
  assert float(schedule(10**6)) == pytest.approx(0.02)


def test_from_a_spec():
  spec = {"name": "wsd_s", "peak_value": 0.1, "boundaries": [10, 20], "cooldown_steps": 4}
  direct = lrsched.wsd_s(0.1, [10, 20], 4)
  built = lrsched.from_spec(spec)
  assert [float(built(t)) for t in range(25)] == [float(direct(t)) for t in range(25)]
