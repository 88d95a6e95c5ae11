"""The verdict rule and experiments/RESULTS.md: every verdict follows from committed data."""

import importlib.util
import pathlib

import numpy as np
import pytest
import scipy.stats

from lrsched.train.sweep import VERDICTS, claim, paired_verdict, untested_claim

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("report", ROOT / "experiments/report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def test_the_interval_is_the_paired_t_interval():
  rng = np.random.default_rng(0)
  a, b = rng.normal(1.0, 1.0, 7), rng.normal(0.0, 1.0, 7)
  result = paired_verdict(a, b, ">")
  d = a - b
  half = scipy.stats.t.ppf(0.975, 6) * d.std(ddof=1) / np.sqrt(7)
  assert result["mean_difference"] == pytest.approx(d.mean())
  assert (result["ci_low"], result["ci_high"]) == pytest.approx((d.mean() - half,
                                                                 d.mean() + half))
  # The interval is the one scipy's paired t-test inverts: 0 lies on its edge at p = 0.05.
  assert scipy.stats.ttest_rel(a, b).pvalue < 0.05 or result["verdict"] == "not resolved"


@pytest.mark.parametrize("a, b, direction, verdict", [
    ([3, 4, 5], [1, 2, 3.5], ">", "reproduced"),
    ([3, 4, 5], [1, 2, 3.5], "<", "contradicted"),
    ([1, 2, 3.5], [3, 4, 5], "<", "reproduced"),
    ([1, 2, 3.5], [3, 4, 5], ">", "contradicted"),
    ([1, 5, 2], [2, 1, 3], ">", "not resolved"),
    ([1, 1, 1], [1, 1, 1], ">", "not resolved"),  # no difference at all
])
def test_verdicts(a, b, direction, verdict):
  assert paired_verdict(a, b, direction)["verdict"] == verdict


def test_pairing_matters():
  """A shared per-seed offset hides the effect from unpaired stds, not from the rule."""
  offset = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
  a, b = offset + 1.0 + np.array([0.1, -0.1, 0.05, 0.0, -0.05]), offset
  assert paired_verdict(a, b, ">")["verdict"] == "reproduced"


@pytest.mark.parametrize("kwargs, message", [
    ({"a_values": [1.0], "b_values": [0.0], "direction": ">"}, ">= 2 paired seeds"),
    ({"a_values": [1.0, 2.0], "b_values": [0.0], "direction": ">"}, "equal-length"),
    ({"a_values": [1.0, 2.0], "b_values": [0.0, 1.0], "direction": ">="}, "'>' or '<'"),
    ({"a_values": [1.0, float("nan")], "b_values": [0.0, 1.0], "direction": ">"}, "finite"),
])
def test_bad_input(kwargs, message):
  with pytest.raises(ValueError, match=message):
    paired_verdict(**kwargs)


def test_untested_claims_need_a_reason():
  assert untested_claim("x", "the setup cannot show it")["verdict"] == "not tested"
  with pytest.raises(ValueError, match="reason"):
    untested_claim("x", "")


def test_report_renders_blocks_and_detects_stale_text():
  record = {"experiment": "demo", "claims": [
      claim("A beats B", "test_accuracy", "A", "B", [0.9, 0.91, 0.92], [0.8, 0.8, 0.83], ">"),
      untested_claim("C", "no noise in this setup")],
      "runs": {"A": {"seeds": [0, 1, 2], "final": {"test_accuracy": [0.9, 0.91, 0.92]}},
               "B": {"seeds": [0, 1, 2], "final": {"test_accuracy": [0.8, 0.8, 0.83]}}}}
  text = ("# R\n<!-- generated:verdicts -->\nold\n<!-- end generated -->\n\n"
          "## demo\n<!-- generated:demo -->\n<!-- end generated -->\n")
  out = report.render(text, [record])
  assert "| demo | A beats B | A > B (test_accuracy) | +10.00 points [" in out
  assert "**reproduced**" in out and "**not tested**: no noise in this setup" in out
  assert "| A | 3 | 91.0 ± 1.0 |" in out
  assert report.render(out, [record]) == out  # idempotent
  with pytest.raises(ValueError, match="no block '<!-- generated:other -->"):
    report.render(text, [dict(record, experiment="other")])


def test_committed_results_match_results_md_and_the_rule():
  """RESULTS.md is what report.py makes of the JSON files; every verdict is recomputed."""
  records = report.load_records()
  for record in records:
    # The format, plus optional summaries the report prints ("tables") and an
    # experiment's own inputs ("range_test": budgeted_training's 1cycle peak).
    assert {"experiment", "claims", "runs"} <= set(record) <= {
        "experiment", "claims", "runs", "tables", "range_test"}, set(record)
    for item in record["claims"]:
      assert item["verdict"] in VERDICTS
      if item["verdict"] == "not tested":
        assert item["why"]
        continue
      again = paired_verdict(item["a_values"], item["b_values"], item["direction"])
      assert again["verdict"] == item["verdict"], item["claim"]
  assert report.main(["--check"]) == 0
