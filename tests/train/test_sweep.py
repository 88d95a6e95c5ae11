"""Seed sweeps: run_seeds trains and resumes; mean +- std and tables."""

import json

import numpy as np
import pytest

from lrsched.train import format_mean_std, markdown_table, mean_std, per_seed, run_seeds
from lrsched.train.sweep import (
    binomial_verdict,
    claim,
    claim_kind,
    count_claim,
    equivalence_claim,
    equivalence_verdict,
    untested_claim,
)
from tests.train.conftest import tiny_config


def test_run_seeds_trains_each_seed_and_resumes(tmp_path, npz_path):
  configs = {"a": tiny_config(npz_path, epochs=1, checkpoint_every=0)}
  first = run_seeds(configs, [0, 1], tmp_path)
  assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["seed0", "seed1"]
  losses = per_seed(first["a"], "train_loss")
  assert losses[0] != losses[1]  # different seeds: different runs
  again = run_seeds(configs, [0, 1], tmp_path)  # finished runs: read back, not retrained
  assert again["a"] == first["a"]  # "seconds" included: the same records
  (tmp_path / "a/seed0/checkpoints").rename(tmp_path / "moved")  # finished: no retraining
  assert run_seeds(configs, [0], tmp_path)["a"] == first["a"][:1]
  # A run saved before a Config field existed: the field takes its default.
  saved = json.loads((tmp_path / "a/seed0/config.json").read_text())
  del saved["init_from"]
  (tmp_path / "a/seed0/config.json").write_text(json.dumps(saved))
  assert run_seeds(configs, [0], tmp_path)["a"] == first["a"][:1]
  # Fields that do not change results (progress, checkpointing) may differ.
  quiet = {"a": tiny_config(npz_path, epochs=1, checkpoint_every=0, progress=True,
                            keep_checkpoints=5)}
  assert run_seeds(quiet, [0], tmp_path)["a"] == first["a"][:1]
  other = {"a": tiny_config(npz_path, epochs=1, checkpoint_every=0, learning_rate=0.01)}
  with pytest.raises(ValueError, match=r"different config \(fields \['learning_rate'\]\)"):
    run_seeds(other, [0], tmp_path)
  with pytest.raises(ValueError, match="distinct integers"):
    run_seeds(configs, [0, 0], tmp_path)


def test_summaries():
  assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
  assert mean_std([5.0]) == (5.0, 0.0)
  assert format_mean_std([0.5, 0.6], scale=100) == f"55.0 ± {np.std([50, 60], ddof=1):.1f}"
  history = [{"epoch": 1, "x": 3.0}, {"epoch": 2, "x": 1.0}, {"epoch": 3}]
  assert per_seed([history], "x") == [1.0]
  assert per_seed([history], "x", "max") == [3.0]
  with pytest.raises(KeyError, match="'y'"):
    per_seed([history], "y")
  with pytest.raises(ValueError, match="reduce must be one of"):
    per_seed([history], "x", "median")
  assert markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"


# ---------------------------------------------------------------- equivalence and count verdicts


def test_equivalence_interval_is_the_one_sided_t_interval():
  """The TOST interval: mean +- t(1 - alpha, n - 1) sd / sqrt(n), scipy's t quantile."""
  import scipy.stats

  rng = np.random.default_rng(0)
  x = rng.normal(1.02, 0.03, 5)
  v = equivalence_verdict(x, 1.0, 0.1)
  half = scipy.stats.t.ppf(0.95, 4) * x.std(ddof=1) / np.sqrt(5)
  assert (v["mean"], v["ci_low"], v["ci_high"]) == pytest.approx(
      (x.mean(), x.mean() - half, x.mean() + half), rel=1e-12)
  assert (v["n"], v["confidence"], v["target"], v["margin"]) == (5, pytest.approx(0.9), 1.0, 0.1)
  # scipy's one-sided t-tests against both edges: both p < alpha exactly when the interval is
  # inside the margin (TOST's p is the larger of the two).
  p_low = scipy.stats.ttest_1samp(x, 0.9, alternative="greater").pvalue
  p_high = scipy.stats.ttest_1samp(x, 1.1, alternative="less").pvalue
  assert (max(p_low, p_high) < 0.05) == (v["verdict"] == "reproduced")
  # alpha sets the interval: alpha 0.025 is the 95% two-sided interval.
  wide = equivalence_verdict(x, 1.0, 0.1, alpha=0.025)
  assert wide["ci_high"] - wide["ci_low"] == pytest.approx(
      2 * scipy.stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5))


@pytest.mark.parametrize("values, verdict", [
    ([1.0, 1.01, 0.99, 1.0], "reproduced"),            # tight, centred
    ([1.08, 1.085, 1.075, 1.08], "reproduced"),       # near the edge yet inside
    ([1.3, 1.31, 1.29], "contradicted"),               # wholly above 1.1
    ([0.5, 0.52, 0.48], "contradicted"),               # wholly below 0.9
    ([1.1, 1.1, 1.1], "not resolved"),                  # on the edge: open interval
    ([1.05, 1.15, 1.1], "not resolved"),                # straddles 1.1
    ([0.2, 1.0, 1.8], "not resolved"),                  # wider than the whole margin
    ([1.0, 1.0], "reproduced"),                          # no spread: a point at the target
])
def test_equivalence_verdicts(values, verdict):
  assert equivalence_verdict(values, 1.0, 0.1)["verdict"] == verdict


@pytest.mark.parametrize("kwargs, message", [
    ({"values": [1.0], "target": 1.0, "margin": 0.1}, ">= 2 per-seed values"),
    ({"values": [[1.0, 1.0]], "target": 1.0, "margin": 0.1}, ">= 2 per-seed values"),
    ({"values": [1.0, float("nan")], "target": 1.0, "margin": 0.1}, "values must be finite"),
    ({"values": [1.0, 1.0], "target": float("inf"), "margin": 0.1}, "target must be finite"),
    ({"values": [1.0, 1.0], "target": 1.0, "margin": 0.0}, "margin must be > 0"),
    ({"values": [1.0, 1.0], "target": 1.0, "margin": -0.1}, "margin must be > 0"),
    ({"values": [1.0, 1.0], "target": 1.0, "margin": 0.1, "alpha": 0.5}, r"alpha must be in"),
    ({"values": [1.0, 1.0], "target": 1.0, "margin": 0.1, "alpha": 0.0}, r"alpha must be in"),
])
def test_equivalence_bad_input(kwargs, message):
  with pytest.raises(ValueError, match=message):
    equivalence_verdict(**kwargs)


def test_equivalence_claim_record():
  c = equivalence_claim("at the edge", "lr_sharpness_half", [1.08, 1.07, 1.09], 1.0, 0.1)
  assert list(c) == ["claim", "metric", "test", "values", "n", "mean", "ci_low", "ci_high",
                     "confidence", "margin", "target", "verdict"]
  assert c["test"] == "TOST, 90% t-interval in (0.9, 1.1)"
  assert c["values"] == [1.08, 1.07, 1.09] and claim_kind(c) == "equivalence"
  assert equivalence_claim("x", "m", [2.0, 2.1], 2.0, 0.25, alpha=0.025)["test"] == (
      "TOST, 95% t-interval in (1.75, 2.25)")


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (0, 5), (3, 5), (5, 5), (6, 6), (0, 6),
                                  (7, 20), (20, 20), (1, 50)])
def test_binomial_interval_is_scipys_exact_interval(k, n):
  import scipy.stats

  v = binomial_verdict(k, n)
  ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
  assert (v["ci_low"], v["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)
  expected = ("reproduced" if ci.low > 0.5 else "contradicted" if ci.high < 0.5
              else "not resolved")
  assert v["verdict"] == expected and (v["count"], v["n"]) == (k, n)
  ci90 = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
  v90 = binomial_verdict(k, n, confidence=0.9)
  assert (v90["ci_low"], v90["ci_high"]) == pytest.approx((ci90.low, ci90.high), rel=1e-9,
                                                          abs=1e-12)


def test_binomial_hand_cases():
  # k = n: the interval is [(a/2)^(1/n), 1]; it clears 1/2 only from n = 6 on at 95%.
  for n in range(1, 10):
    v = binomial_verdict(n, n)
    assert v["ci_low"] == pytest.approx(0.025 ** (1 / n)) and v["ci_high"] == 1.0
    assert v["verdict"] == ("reproduced" if n >= 6 else "not resolved")
    w = binomial_verdict(0, n)  # the mirror image
    assert (w["ci_low"], w["ci_high"]) == (0.0, pytest.approx(1 - 0.025 ** (1 / n)))
    assert w["verdict"] == ("contradicted" if n >= 6 else "not resolved")
  assert binomial_verdict(10, 20)["verdict"] == "not resolved"
  assert binomial_verdict(9, 10, threshold=0.9)["verdict"] == "not resolved"
  assert binomial_verdict(19, 20, threshold=0.6)["verdict"] == "reproduced"
  assert binomial_verdict(np.int64(3), np.int64(5))["count"] == 3  # numpy integers are fine


@pytest.mark.parametrize("args, kwargs, message", [
    ((6, 5), {}, r"successes must be in \[0, n\] = \[0, 5\], got 6"),
    ((-1, 5), {}, r"successes must be in \[0, n\]"),
    ((0, 0), {}, "n must be >= 1, got 0"),
    ((1.5, 5), {}, "successes must be an integer"),
    ((True, 5), {}, "successes must be an integer"),
    ((1, 5.0), {}, "n must be an integer"),
    ((1, 5), {"threshold": 1.0}, r"threshold must be in \(0, 1\)"),
    ((1, 5), {"confidence": 1.0}, r"confidence must be in \(0, 1\)"),
])
def test_binomial_bad_input(args, kwargs, message):
  with pytest.raises(ValueError, match=message):
    binomial_verdict(*args, **kwargs)


def test_count_claim_record():
  c = count_claim("diverges at once", "diverged", [True, False, True, True, True])
  assert list(c) == ["claim", "metric", "test", "count", "n", "outcomes", "ci_low", "ci_high",
                     "verdict"]
  assert (c["metric"], c["test"], c["count"], c["n"]) == ("diverged", "Clopper-Pearson 95%", 4, 5)
  assert c["outcomes"] == [True, False, True, True, True] and c["verdict"] == "not resolved"
  assert claim_kind(c) == "count"
  with pytest.raises(ValueError, match="n must be >= 1"):
    count_claim("x", "y", [])


def test_claim_kinds():
  assert claim_kind(claim("a", "m", "A", "B", [1.0, 2.0], [0.0, 1.0], ">")) == "paired"
  assert claim_kind(untested_claim("a", "why")) == "not tested"
  with pytest.raises(ValueError, match="is none of"):
    claim_kind({"claim": "odd", "verdict": "reproduced"})
