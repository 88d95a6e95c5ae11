"""The verdict rule and experiments/RESULTS.md: every verdict follows from committed data."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest
import scipy.stats

from lrsched.train.verdicts import (
    VERDICTS,
    claim,
    claim_kind,
    count_claim,
    equivalence_claim,
    non_inferiority_claim,
    paired_verdict,
    rank_claim,
    ratio_claim,
    recompute_verdict,
    same_claim,
    untested_claim,
)

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
      equivalence_claim("A is at the edge", "lr_sharpness_half", [1.02, 0.98, 1.0], 1.0, 0.1),
      count_claim("A diverges", "diverged", [True, True, False]),
      same_claim("A is B", "train_loss", "A", "B", [1.0, 1.01, 0.99], [1.0, 1.0, 1.0], 0.05),
      non_inferiority_claim("A as good as B", "test_accuracy", "A", "B", [0.9, 0.91, 0.92],
                            [0.9, 0.9, 0.93], 0.02),
      rank_claim("A most consistent", "test_accuracy",
                 {"A": [[3.0], [3.0]], "B": [[1.0], [2.0]]}, "A"),
      ratio_claim("A twice B", "gain", "A", "B", [2.0, 2.1, 1.9], [1.0, 1.0, 1.0], 1.5),
      untested_claim("C", "no noise in this setup")],
      "runs": {"A": {"seeds": [0, 1, 2], "final": {"test_accuracy": [0.9, 0.91, 0.92]}},
               "B": {"seeds": [0, 1, 2], "final": {"test_accuracy": [0.8, 0.8, 0.83]}}}}
  text = ("# R\n<!-- generated:verdicts -->\nold\n<!-- end generated -->\n\n"
          "## demo\n<!-- generated:demo -->\n<!-- end generated -->\n\n"
          "## later\n<!-- generated:later -->\nstale\n<!-- end generated -->\n")
  out = report.render(text, [record])
  assert "| demo | A beats B | paired t: A > B (test_accuracy) | +10.00 points [" in out
  for line in ("| demo | A is B | TOST: A = B ± 0.05 (train_loss) |",
               "| demo | A as good as B | non-inferiority: A not below B by more than 2 points "
               "(test_accuracy) |",
               "| demo | A most consistent | rank: A's share of top-1 finishes minus the best "
               "rival's > 0 (test_accuracy) | +1.00 [+1.00, +1.00] (shares: A 1.00, B 0.00) |",
               "| demo | A twice B | bootstrap ratio: A / B > 1.5 (gain) | 2 ["):
    assert line in out, line
  mean = np.mean([1.02, 0.98, 1.0])
  half = scipy.stats.t.ppf(0.95, 2) * np.std([1.02, 0.98, 1.0], ddof=1) / np.sqrt(3)
  assert (f"| demo | A is at the edge | TOST: mean in 1 ± 0.1 (lr_sharpness_half) | "
          f"{mean:#.4g} [{mean - half:#.4g}, {mean + half:#.4g}] (90%) vs 1 ± 0.1 | 3 | "
          f"**reproduced** |") in out  # inside (0.9, 1.1)
  ci = scipy.stats.binomtest(2, 3).proportion_ci(method="exact")
  assert (f"| demo | A diverges | exact binomial: P > 1/2 (diverged) | 2/3 [{ci.low:.2f}, "
          f"{ci.high:.2f}] (95% exact) | 3 | **not resolved** |") in out
  assert "`diverged` in 2 of 3 runs" in out
  assert "**reproduced**" in out and "**not tested**: no noise in this setup" in out
  assert "| A | 3 | 91.0 ± 1.0 |" in out
  # A block without a results file says so (and loses whatever it held).
  assert ("<!-- generated:later -->\nNot yet run: `experiments/results/later.json` does not "
          "exist") in out and "stale" not in out
  assert report.render(out, [record]) == out  # idempotent
  with pytest.raises(ValueError, match="no block '<!-- generated:other -->"):
    report.render(text, [dict(record, experiment="other")])


def test_committed_results_match_results_md_and_the_rule():
  """RESULTS.md is what report.py makes of the JSON files; every verdict is recomputed."""
  records = report.load_records()
  for record in records:
    # The format, plus optional summaries the report prints ("tables") and an
    # experiment's own inputs ("range_test": budgeted_training's 1cycle peak); an
    # experiment with its own block in the report (report.BLOCKS) has its own fields.
    if record["experiment"] in report.BLOCKS:
      assert {"experiment", "claims"} <= set(record), set(record)
    else:
      assert {"experiment", "claims", "runs"} <= set(record) <= {
          "experiment", "claims", "runs", "tables", "range_test"}, set(record)
    for item in record["claims"]:
      assert item["verdict"] in VERDICTS
      if claim_kind(item) == "not tested":
        assert item["why"]
        continue
      if claim_kind(item) == "count":
        assert item["test"] == "Clopper-Pearson 95%", item
      again = recompute_verdict(item)
      assert again["verdict"] == item["verdict"], item["claim"]
      assert (again["ci_low"], again["ci_high"]) == pytest.approx(
          (item["ci_low"], item["ci_high"]), rel=1e-9, abs=1e-12), item["claim"]
  assert report.main(["--check"]) == 0


def test_report_check_passes_without_the_edge_of_stability_results(tmp_path, monkeypatch):
  """Before (or while) experiments/edge_of_stability.py runs, its block says "not yet run"."""
  records = [r for r in report.load_records() if r["experiment"] != "edge_of_stability"]
  text = report.render(report.RESULTS_MD.read_text(), records)
  start = text.index("<!-- generated:edge_of_stability -->")
  assert text[start:].split("\n")[1].startswith("Not yet run: `experiments/results/"
                                                "edge_of_stability.json` does not exist")
  results = tmp_path / "results"
  results.mkdir()
  for record in records:
    (results / f"{record['experiment']}.json").write_text(json.dumps(record))
  (tmp_path / "RESULTS.md").write_text(text)
  monkeypatch.setattr(report, "RESULTS_DIR", results)
  monkeypatch.setattr(report, "RESULTS_MD", tmp_path / "RESULTS.md")
  assert report.main(["--check"]) == 0


def test_every_committed_figure_is_shown_and_made_by_a_script():
  """No orphans: each figure in experiments/figures is shown in RESULTS.md and named by the
  experiment script that draws it."""
  results_md = report.RESULTS_MD.read_text()
  scripts = "".join(p.read_text() for p in (ROOT / "experiments").glob("*.py"))
  for figure in sorted((ROOT / "experiments/figures").glob("*.png")):
    assert f"figures/{figure.name}" in results_md, figure.name
    assert figure.stem in scripts, figure.name
