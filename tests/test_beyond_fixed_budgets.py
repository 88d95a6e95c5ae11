"""experiments/beyond_fixed_budgets.py at its tiny size (``--small``): every part trains,
the results file's claims carry the verdicts their values give, a second pass reads every
run back, ``--decide-only`` rebuilds the claims, the figure is written and RESULTS.md's
generic block renders."""

import json
import pathlib
import runpy

import pytest

from lrsched.train.verdicts import claim_kind, recompute_verdict

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments/beyond_fixed_budgets.py"
SUBSET = pathlib.Path(__file__).resolve().parents[2] / "shared/data/cifar10_subset.npz"


def _json(value):
  return json.loads(json.dumps(value))


@pytest.mark.manual  # ~9 minutes on a busy 2-core machine: outside CI (pytest -m manual)
@pytest.mark.slow
@pytest.mark.real_data
def test_beyond_fixed_budgets_small_writes_results_the_report_renders(tmp_path):
  if not SUBSET.exists():
    pytest.skip(f"{SUBSET} is absent")
  module = runpy.run_path(str(SCRIPT))
  results, runs_dir = tmp_path / "beyond_fixed_budgets.json", tmp_path / "runs"
  args = ["--small", "--workdir", str(runs_dir), "--results", str(results),
          "--figures", str(tmp_path)]
  record = module["main"](args)
  stored = json.loads(results.read_text())
  assert stored["claims"] == _json(record["claims"])
  # the keys tests/test_results.py allows in a committed results file
  assert set(stored) == {"experiment", "claims", "runs", "tables"}

  # every part's runs, with the small size's seeds (tuning: seed 100)
  runs, size = stored["runs"], module["SMALL"]
  free, cosine = module["pick"](stored, "schedule_free"), module["pick"](stored, "cosine")
  expected = {"constant", "step decay", "constant SWA", free, cosine,
              "tuning/schedule-free lr 1", "tuning/cosine 4"}
  expected |= {f"constant + cooldown {b}" for b in size.budgets}
  expected |= {f"cosine {b}" for b in size.budgets}
  expected |= {f"law/{s} {b}" for s in module["LAW_SCHEDULES"] for b in size.law_budgets}
  assert expected == set(runs)
  for name, run in runs.items():
    assert run["seeds"] == ([100] if name.startswith("tuning/") else [0, 1]), name
    assert all(v is not None for v in run["final"]["test_accuracy"]), name
  assert runs["constant + cooldown 4"]["epochs"] == [4, 4]
  assert runs["constant + cooldown 2"]["branch"] == {"budget": 2, "from_epoch": 1,
                                                     "cooldown_epochs": 1}
  assert all(v is not None for v in runs["constant"]["final"]["avg_test_accuracy"])
  assert len(runs[free]["final"]["avg_raw_bn_test_accuracy"]) == 2
  # part 5's runs at the first budget are those of parts 1 and 3
  assert runs["law/wsd 4"]["final"] == runs["constant + cooldown 4"]["final"]
  assert runs["law/step decay 4"]["final"] == runs["step decay"]["final"]
  assert runs["law/rex 6"]["law"] == {"schedule": "rex", "budget": 6, "reused_from": None}

  # the claims of every part, each with the verdict its values give
  claims = stored["claims"]
  texts = " | ".join(c["claim"] for c in claims)
  for fragment in ("cooldown matches cosine at 2", "cooldown matches cosine at 4",
                   "one stable run serves every budget", "the constant rate's EMA",
                   "the constant rate's SWA", "averaging + decay",
                   "schedule-free SGD (BatchNorm recalibrated) matches",
                   "recalibrating BatchNorm"):
    assert fragment in texts, fragment
  law = module["law_from_record"](stored)
  pairs = [c for c in claims if "law" in c]
  assert len(pairs) == 12  # 6 pairs of schedules x 2 budgets
  for item in pairs:  # each in the direction the law, fitted again, predicts
    assert law["predicted"][item["a"]] <= law["predicted"][item["b"]]
    assert item["law"]["predicted"] == {n: law["predicted"][n] for n in (item["a"], item["b"])}
  assert sum(c["law"]["observed_adjacent"] for c in pairs) == 6
  for item in claims:
    if claim_kind(item) != "not tested":
      assert recompute_verdict(item)["verdict"] == item["verdict"], item["claim"]
  assert len(stored["tables"]) == 4

  # the helper evaluates the model the run's own per-epoch evaluation does
  epoch, recalibrated = module["evaluate_average"](runs_dir / free / "seed0",
                                                   module["BN_BATCHES"])
  assert epoch == size.budgets[-1]
  assert recalibrated["accuracy"] == pytest.approx(runs[free]["final"]["avg_test_accuracy"][0],
                                                   abs=1e-9)

  assert (tmp_path / "beyond_fixed_budgets.png").stat().st_size > 1000

  # a second pass reads every run and branch back and decides the same
  resumed = module["main"](args)
  assert _json(resumed["claims"]) == claims and _json(resumed["runs"]) == runs

  # --decide-only rebuilds the same claims and tables from the file alone
  again = module["main"](["--decide-only", "--results", str(results)])
  assert _json(again["claims"]) == claims
  assert json.loads(results.read_text())["tables"] == stored["tables"]

  block = runpy.run_path(str(ROOT / "experiments/report.py"))["experiment_block"](stored)
  assert "constant + cooldown 2" in block and "law ranking" in block
