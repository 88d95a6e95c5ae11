"""sgdr equals timm's CosineLRScheduler (timm_noise on it: its noise), tanh_decay timm's
TanhLRScheduler, warmup timm's warmup (prefix or not), wsd and inverse_sqrt Hugging Face's
schedules: step for step, plain and under jit, against tables made by
tools/make_reference_tables.py (committed as data so CI needs neither timm nor
transformers)."""

import json
import math
import pathlib
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched

TABLES = np.load(pathlib.Path(__file__).parents[1] / "data" / "reference_tables.npz")
CASES = sorted({key.split("/")[0] for key in TABLES.files if "/" in key})


def spec_of(case):
  return json.loads(str(TABLES[f"{case}/spec"]))["lr"]


def test_tables_cover_timm_and_hugging_face():
  sources = {str(TABLES[f"{c}/source"]).split("(")[0] for c in CASES}
  assert sources == {"timm CosineLRScheduler", "timm TanhLRScheduler",
                     "transformers get_wsd_schedule", "transformers get_inverse_sqrt_schedule"}
  names = {spec_of(c)["name"] for c in CASES}
  assert names == {"sgdr", "tanh_decay", "warmup", "wsd", "inverse_sqrt", "timm_noise"}
  noise = {spec_of(c)["noise_type"] for c in CASES if spec_of(c)["name"] == "timm_noise"}
  assert noise == {"normal", "uniform"}
  assert all(TABLES[f"{c}/lr"].size >= 1500 for c in CASES)
  shapes = {(spec_of(c)["warmup_shape"], spec_of(c)["cooldown_shape"]) for c in CASES
            if spec_of(c)["name"] == "wsd"}
  assert {s for pair in shapes for s in pair} == {"linear", "cosine", "1-sqrt"}
  assert {spec_of(c).get("prefix") for c in CASES if spec_of(c)["name"] == "warmup"} == {
      True, False}
  assert "timm 1.0.31" in str(TABLES["versions"])


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_plain_and_jitted(case):
  expected = TABLES[f"{case}/lr"]
  misplaced = TABLES[f"{case}/misplaced"]
  schedule = lrsched.from_spec(spec_of(case))
  counts = np.arange(expected.size, dtype=np.int32)
  compared = np.ones(expected.size, bool)
  compared[misplaced] = False  # see test_timm_misplaced_restart_is_a_restart

  plain = np.asarray(schedule(jnp.asarray(counts)), np.float64)
  np.testing.assert_allclose(plain[compared], expected[compared], rtol=1e-6, atol=0)

  jitted = jax.jit(schedule)
  sample = counts[compared][::5]
  np.testing.assert_allclose([float(jitted(c)) for c in sample], expected[sample], rtol=1e-6,
                             atol=0)
  assert jitted._cache_size() == 1


def test_timm_misplaced_restart_is_a_restart():
  # timm's floor(log(1 + 242/2 * 2, 3)) = floor(4.999999999999999) = 4: it ends cycle 4
  # at t = 242 = 2 (3**5 - 1) / 2, where cycle 5 starts. lrsched restarts, as PyTorch.
  assert TABLES["timm_mult3_first2/misplaced"].tolist() == [242]
  assert math.floor(math.log(1 + 242 / 2 * 2, 3)) == 4
  schedule = lrsched.from_spec(spec_of("timm_mult3_first2"))
  assert float(schedule(242)) == 0.5  # the peak: a restart
  assert TABLES["timm_mult3_first2/lr"][242] == 0.0  # timm: the end of cycle 4


def sgdr_reference(t, peak, first, mult=1.0, end=0.0, decay=1.0, limit=None, k=1.0):
  """The SGDR formula in float64 with the cycle found in exact rational arithmetic."""
  start, length, cycle = Fraction(0), Fraction(first), 0
  while start + length <= t:
    start, length, cycle = start + length, length * Fraction(mult), cycle + 1
  if limit is not None and cycle >= limit:
    return end
  x = float(t - start) / float(length)
  top = peak * decay**cycle
  return end + (top - end) * 0.5 * (1 + math.cos(math.pi * x**k))


@pytest.mark.parametrize(("args", "steps"), [
    (dict(peak=1.0, first=3, mult=1.5, end=0.01, decay=0.8), 3000),
    (dict(peak=0.1, first=10, mult=2.0, k=3.0, limit=5), 400),
    (dict(peak=0.4, first=1, mult=1.1, end=0.04), 3000),
    (dict(peak=0.2, first=7, decay=0.5, limit=3), 40),
])
def test_sgdr_matches_exact_float64_formula(args, steps):
  expected = np.array([sgdr_reference(t, **args) for t in range(steps)])
  schedule = lrsched.sgdr(args["peak"], args["first"], args.get("mult", 1.0),
                          args.get("end", 0.0), args.get("decay", 1.0), args.get("limit"),
                          args.get("k", 1.0))
  got = np.asarray(schedule(jnp.arange(steps)), np.float64)
  np.testing.assert_allclose(got, expected, rtol=2e-6, atol=0)
