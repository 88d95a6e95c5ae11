"""Schedules equal PyTorch's schedulers step for step (tables made by
tools/make_pytorch_tables.py, committed as data so CI needs no PyTorch).

Warmups and joins are compared with ``SequentialLR`` (``LinearLR`` in front of a
scheduler; three schedulers one after another)."""

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
# The join's middle piece is optax's cosine_decay_schedule, whose naive float32
# formula loses relative precision as it nears its end (1.8e-6 seen): the issue's
# 1e-5 there; lrsched's own arithmetic is held to 1e-6.
TOLERANCE = {"join_three": 1e-5}


def test_tables_cover_every_pytorch_family_with_long_runs():
  names = {json.loads(str(TABLES[f"{c}/spec"]))["lr"]["name"] for c in CASES}
  assert names == {"step_decay", "cyclic", "one_cycle", "sgdr", "warmup", "join"}
  assert all(TABLES[f"{c}/lr"].size >= 2000 for c in CASES)
  assert str(TABLES["torch_version"]).startswith("2.13.0")


@pytest.mark.parametrize(("case", "kind"), SERIES, ids=[f"{c}-{k}" for c, k in SERIES])
def test_matches_pytorch_plain_and_jitted(case, kind):
  spec = json.loads(str(TABLES[f"{case}/spec"]))[kind]
  expected = TABLES[f"{case}/{kind}"]
  rtol = TOLERANCE.get(case, 1e-6)
  schedule = lrsched.from_spec(spec)
  counts = np.arange(expected.size, dtype=np.int32)

  plain = np.asarray(schedule(jnp.asarray(counts)), np.float64)
  np.testing.assert_allclose(plain, expected, rtol=rtol, atol=0)

  jitted = jax.jit(schedule)
  step_by_step = np.array([float(jitted(c)) for c in counts[::7]])
  np.testing.assert_allclose(step_by_step, expected[::7], rtol=rtol, atol=0)
  assert jitted._cache_size() == 1  # one compilation for every count


def test_warmup_spec_is_sequential_lr_with_linear_lr():
  spec = json.loads(str(TABLES["warmup_sgdr/spec"]))["lr"]
  assert spec["name"] == "warmup" and spec["schedule"]["name"] == "sgdr"
  assert spec["warmup_steps"] == 200 and "prefix" not in spec  # prefix=True is the default
