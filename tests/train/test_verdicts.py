"""The verdicts: each test's interval against scipy or a hand computation, its verdicts, its
bad input, and its claim record (experiments/RESULTS.md, "The verdict rule")."""

import numpy as np
import pytest

from lrsched.train.verdicts import (
  binomial_verdict,
  claim,
  claim_kind,
  count_claim,
  equivalence_claim,
  equivalence_verdict,
  non_inferiority_claim,
  non_inferiority_verdict,
  rank_claim,
  rank_verdict,
  ratio_claim,
  ratio_verdict,
  recompute_verdict,
  same_claim,
  untested_claim,
)

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
  assert list(c) == ["claim", "test", "method", "metric", "values", "n", "mean", "ci_low",
                     "ci_high", "confidence", "margin", "target", "verdict"]
  assert c["method"] == "TOST, 90% t-interval in (0.9, 1.1)"
  assert c["values"] == [1.08, 1.07, 1.09] and claim_kind(c) == "equivalence"
  assert equivalence_claim("x", "m", [2.0, 2.1], 2.0, 0.25, alpha=0.025)["method"] == (
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
  assert list(c) == ["claim", "test", "method", "metric", "count", "n", "outcomes", "ci_low",
                     "ci_high", "verdict"]
  assert (c["metric"], c["method"], c["count"], c["n"]) == ("diverged", "Clopper-Pearson 95%",
                                                            4, 5)
  assert c["outcomes"] == [True, False, True, True, True] and c["verdict"] == "not resolved"
  assert claim_kind(c) == "binomial"
  with pytest.raises(ValueError, match="n must be >= 1"):
    count_claim("x", "y", [])


def test_claim_kinds():
  assert claim_kind(claim("a", "m", "A", "B", [1.0, 2.0], [0.0, 1.0], ">")) == "paired_t"
  assert claim_kind(untested_claim("a", "why")) == "not tested"
  with pytest.raises(ValueError, match="names no test"):
    claim_kind({"claim": "odd", "verdict": "reproduced"})
  with pytest.raises(ValueError, match="names no test"):
    claim_kind({"claim": "old", "test": "Clopper-Pearson 95%", "verdict": "reproduced"})


# ------------------------------------------------------- paired equivalence, non-inferiority


def test_same_claim_is_tost_on_the_paired_differences():
  rng = np.random.default_rng(3)
  b = rng.normal(1.0, 0.3, 6)  # a large shared per-seed spread
  a = b + rng.normal(0.01, 0.01, 6)
  c = same_claim("no change", "train_loss", "A", "B", a, b, margin=0.05)
  assert c["verdict"] == "reproduced" and c["values"] == pytest.approx(a - b)
  assert c["verdict"] == equivalence_verdict(a - b, 0.0, 0.05)["verdict"]
  # Unpaired, the same numbers could not show it: the spread of b swamps the margin.
  assert equivalence_verdict(a, b.mean(), 0.05)["verdict"] == "not resolved"
  assert recompute_verdict(c)["verdict"] == "reproduced"
  c["values"][0] += 1.0  # values that are not a - b are refused
  with pytest.raises(ValueError, match="not a_values - b_values"):
    recompute_verdict(c)


def test_non_inferiority_is_scipys_one_sided_paired_test():
  import scipy.stats

  rng = np.random.default_rng(0)
  for _ in range(50):
    b = rng.normal(0.8, 0.05, 5)
    a = b + rng.normal(rng.uniform(-0.03, 0.01), 0.01, 5)
    for direction, margin in ((">", 0.01), ("<", 0.01)):
      v = non_inferiority_verdict(a, b, margin, direction)
      if direction == ">":  # H0: mean(a - b) <= -margin
        p = scipy.stats.ttest_1samp(a - b, -margin, alternative="greater").pvalue
        worse = scipy.stats.ttest_1samp(a - b, -margin, alternative="less").pvalue
      else:  # lower is better, H0: mean(a - b) >= margin
        p = scipy.stats.ttest_1samp(a - b, margin, alternative="less").pvalue
        worse = scipy.stats.ttest_1samp(a - b, margin, alternative="greater").pvalue
      assert (v["verdict"] == "reproduced") == (p < 0.05)
      assert (v["verdict"] == "contradicted") == (worse < 0.05)
  c = non_inferiority_claim("as accurate", "test_accuracy", "A", "B", [0.80, 0.81, 0.79],
                            [0.81, 0.81, 0.80], 0.02)
  assert (c["test"], c["margin"], c["verdict"]) == ("non_inferiority", 0.02, "reproduced")
  assert recompute_verdict(c) == non_inferiority_verdict(c["a_values"], c["b_values"], 0.02)
  with pytest.raises(ValueError, match="margin must be > 0"):
    non_inferiority_verdict([1.0, 2.0], [1.0, 2.0], 0.0)
  with pytest.raises(ValueError, match="direction must be"):
    non_inferiority_verdict([1.0, 2.0], [1.0, 2.0], 0.1, direction=">=")


# ---------------------------------------------------------------- ranks


def _brute_shares(scores, top):
  """Each run's share of top-``top`` finishes, by sorting every cell by hand."""
  names = list(scores)
  seeds, blocks = len(scores[names[0]]), len(scores[names[0]][0])
  counts = dict.fromkeys(names, 0)
  for i in range(seeds):
    for j in range(blocks):
      for name in names:
        better = sum(scores[other][i][j] > scores[name][i][j] for other in names)
        counts[name] += better < top
  return {name: counts[name] / (seeds * blocks) for name in names}


def test_rank_shares_match_a_hand_count_and_the_rival_is_chosen_per_resample():
  rng = np.random.default_rng(1)
  scores = {name: rng.normal(mu, 1.0, (6, 3)).round(1).tolist()  # rounding: ties happen
            for name, mu in (("A", 0.6), ("B", 0.5), ("C", 0.0), ("D", -1.0))}
  for top in (1, 2, 3):
    v = rank_verdict(scores, "A", top=top, num_bootstrap=500)
    assert v["shares"] == pytest.approx(_brute_shares(scores, top))
    rivals = max(share for name, share in v["shares"].items() if name != "A")
    assert v["statistic"] == pytest.approx(v["shares"]["A"] - rivals)
    assert v["ci_low"] <= v["statistic"] + 1e-12 or v["verdict"] == "reproduced"
  # A clear winner is reproduced; a clear loser contradicted; a coin flip not resolved.
  clear = {"A": [[3.0] * 3] * 5, "B": [[2.0] * 3] * 5, "C": [[1.0] * 3] * 5}
  assert rank_verdict(clear, "A")["verdict"] == "reproduced"
  assert rank_verdict(clear, "C")["verdict"] == "contradicted"
  flip = {"A": [[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]],
          "B": [[0.0], [1.0], [0.0], [1.0], [0.0], [1.0]]}
  assert rank_verdict(flip, "A")["verdict"] == "not resolved"
  assert rank_verdict(clear, "C", higher_is_better=False)["verdict"] == "reproduced"
  c = rank_claim("A is the most consistent", "test_accuracy", scores, "A", top=2,
                 blocks=["b1", "b2", "b3"])
  assert c["test"] == "rank" and recompute_verdict(c)["ci_low"] == c["ci_low"]


@pytest.mark.parametrize("kwargs, message", [
    ({"scores": {"A": [[1.0], [2.0]]}, "subject": "A"}, "at least two runs"),
    ({"scores": {"A": [[1.0], [2.0]], "B": [[1.0], [2.0]]}, "subject": "C"}, "not one of"),
    ({"scores": {"A": [[1.0]], "B": [[1.0]]}, "subject": "A"}, ">= 2 seeds"),
    ({"scores": {"A": [[1.0], [2.0]], "B": [[1.0], [np.nan]]}, "subject": "A"}, "finite"),
    ({"scores": {"A": [[1.0], [2.0]], "B": [[1.0], [2.0]]}, "subject": "A", "top": 2},
     r"top must be an integer in \[1, 1\]"),
])
def test_rank_bad_input(kwargs, message):
  with pytest.raises(ValueError, match=message):
    rank_verdict(**kwargs)


# ---------------------------------------------------------------- ratios


def test_ratio_bootstrap_and_a_denominator_of_unresolved_sign():
  rng = np.random.default_rng(2)
  b = rng.normal(2.0, 0.1, 8)
  a = 1.5 * b + rng.normal(0.0, 0.05, 8)
  v = ratio_verdict(a, b, threshold=1.0)
  assert v["ratio"] == pytest.approx(a.mean() / b.mean())
  assert v["ci_low"] < v["ratio"] < v["ci_high"] and v["verdict"] == "reproduced"
  assert ratio_verdict(a, b, threshold=2.0)["verdict"] == "contradicted"
  assert ratio_verdict(a, b, threshold=2.0, direction="<")["verdict"] == "reproduced"
  # Transferability's case: stage gains of a few images, some negative -- no ratio.
  gains = [0.004, -0.002, 0.01, 0.002, -0.004]
  w = ratio_verdict([0.01, 0.02, 0.0, 0.01, 0.02], gains)
  assert (w["denominator_sign_resolved"], w["verdict"]) == (False, "not resolved")
  c = ratio_claim("B's gain transfers", "gain", "target", "source", a, b)
  assert c["test"] == "bootstrap_ratio" and recompute_verdict(c)["ci_high"] == c["ci_high"]
  with pytest.raises(ValueError, match="equal-length"):
    ratio_verdict([1.0, 2.0], [1.0])
