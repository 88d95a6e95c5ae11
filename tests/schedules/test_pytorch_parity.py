"""Schedules equal PyTorch's schedulers step for step (tables made by
tools/make_pytorch_tables.py, committed as data so CI needs no PyTorch)."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched

TABLES = np.load(pathlib.Path(__file__).parents[1] / "data" / "pytorch_tables.npz")
CASES = sorted({key.split("/")[0] for key in TABLES.files if "/" in key})
SERIES = [
    (case, kind)
    for case in CASES
    for kind in ("lr", "momentum")
    if json.loads(str(TABLES[f"{case}/spec"]))[kind] is not None
]


def test_tables_cover_every_pytorch_family_with_long_runs():
  names = {json.loads(str(TABLES[f"{c}/spec"]))["lr"]["name"] for c in CASES}
  assert names == {"step_decay", "cyclic", "one_cycle", "sgdr"}
  assert all(TABLES[f"{c}/lr"].size >= 2000 for c in CASES)


@pytest.mark.parametrize(("case", "kind"), SERIES, ids=[f"{c}-{k}" for c, k in SERIES])
def test_matches_pytorch_plain_and_jitted(case, kind):
  spec = json.loads(str(TABLES[f"{case}/spec"]))[kind]
  expected = TABLES[f"{case}/{kind}"]
  schedule = lrsched.from_spec(spec)
  counts = np.arange(expected.size, dtype=np.int32)

  plain = np.asarray(schedule(jnp.asarray(counts)), np.float64)
  np.testing.assert_allclose(plain, expected, rtol=1e-6, atol=0)

  jitted = jax.jit(schedule)
  step_by_step = np.array([float(jitted(c)) for c in counts[::7]])
  np.testing.assert_allclose(step_by_step, expected[::7], rtol=1e-6, atol=0)
  assert jitted._cache_size() == 1  # one compilation for every count
