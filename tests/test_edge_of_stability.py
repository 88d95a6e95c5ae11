"""experiments/edge_of_stability.py's claims, on synthetic runs (no training): each claim
reads the steps of its own run, and the verdicts follow from the per-seed values."""

import dataclasses
import pathlib
import runpy

import numpy as np
import pytest

from lrsched.train.verdicts import claim_kind, recompute_verdict

EOS = runpy.run_path(str(pathlib.Path(__file__).resolve().parents[1]
                         / "experiments/edge_of_stability.py"))


def fake_run(steps: int, ratio: float, spike_at: int | None = None, every: int = 20,
             rng=None) -> dict:
  """A run whose lr*lambda_1/2 is ``ratio`` (+ noise) and whose loss falls as 1/sqrt(t),
  with a spike of 10 steps at ``spike_at`` (then back on the curve)."""
  rng = rng or np.random.default_rng(0)
  loss = 1.0 / np.sqrt(np.arange(1, steps + 1))
  loss[1::7] *= 1.001  # non-monotone
  if spike_at is not None:
    loss[spike_at:spike_at + 10] *= 5.0
  sharp = [{"step": s, "sharpness": 50.0 * r, "num_hvps": 2, "gd_threshold": 50.0,
            "momentum_threshold": 95.0, "lr_sharpness_half": r, "lr_sharpness_momentum": r}
           for s in range(every, steps + 1, every)
           for r in [ratio + 0.005 * rng.standard_normal()]]
  return {"history": [{"train_loss": float(v)} for v in loss], "sharpness": sharp,
          "diverged": None}


def test_every_claim_reads_its_own_runs_steps():
  runs = EOS["configs"](steps=1000)
  rng = np.random.default_rng(1)
  results = {name: [fake_run(EOS["run_steps"](config), 1.0,
                             500 if name.startswith("increase") else None, rng=rng)
                    for _ in range(8 if name in EOS["COUNT_RUNS"] else 5)]
             for name, config in runs.items() if not name.startswith("wrn")}
  results["sgd batch=50 lr=0.04"] = [fake_run(1000, 0.5, rng=rng) for _ in range(5)]
  results["sgd batch=250 lr=0.04"] = [fake_run(1000, 0.8, rng=rng) for _ in range(5)]
  claims = {c["claim"]: c for c in EOS["summarize"](runs, results, 1000)}
  # lr 0.02 runs 2000 steps; the increases of the 1000-step runs are at step 500 (a shared
  # "half" once made them read step 1000 and a window of 400).
  assert any("steps 1001-2000" in text for text in claims)
  increase = [c for text, c in claims.items() if text.startswith("increase x1.5")]
  assert [c["claim"] for c in increase][0].startswith("increase x1.5 at edge (lr 0.04 -> "
                                                      "step 500)")
  stabilized = next(c for c in increase if c["metric"] == "self-stabilized")
  assert "within 200 steps" in stabilized["claim"]
  assert stabilized["count"] == 8 and stabilized["verdict"] == "reproduced"
  sgd = {text: c for text, c in claims.items() if text.startswith(("sgd", "SGD"))}
  assert len(sgd) == 6, sgd
  # Flat synthetic traces: below the edge, and not rising (not resolved: no trend).
  assert all(c["verdict"] == ("not resolved" if "still rising" in text else "reproduced")
             for text, c in sgd.items()), sgd
  for item in claims.values():
    if claim_kind(item) != "not tested":
      assert recompute_verdict(item)["verdict"] == item["verdict"]
  edges = [c for c in claims.values() if claim_kind(c) == "equivalence"]
  assert edges and all(c["verdict"] == "reproduced" for c in edges
                       if "2/lr (You et al." not in c["claim"])


def test_self_stabilized_needs_the_loss_back_below_its_value_before_the_change():
  run = fake_run(1000, 1.0, spike_at=500)
  assert EOS["self_stabilized"](run, 500, 200)
  run["history"][500:] = [{"train_loss": 10.0}] * 500  # never back
  assert not EOS["self_stabilized"](run, 500, 200)
  assert not EOS["self_stabilized"](dict(fake_run(1000, 1.0), diverged={"step": 600}),
                                    500, 200)


def test_configs_build_and_part5_runs_as_many_steps_as_gd():
  runs = EOS["configs"](steps=1000)
  for config in runs.values():
    config.validate()
  assert {EOS["run_steps"](runs[f"sgd batch={b} lr=0.04"]) for b in EOS["SGD_BATCHES"]} == {1000}
  wrn = runs["wrn gd lr=0.1 momentum 0.9"]
  assert (wrn.loss, wrn.full_batch, wrn.augment, wrn.momentum) == ("cross_entropy", True,
                                                                   False, 0.9)
  assert wrn.sharpness_batch_size == wrn.train_subset == wrn.batch_size
  assert dataclasses.replace(runs["gd lr=0.04"], seed=3).learning_rate == 0.04


def test_count_seeds_must_begin_with_the_seeds():
  with pytest.raises(SystemExit):
    EOS["main"](["--seeds", "0", "1", "--count-seeds", "1", "2"])
