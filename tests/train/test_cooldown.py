"""Cooldown branches: equal to a straight run of the same schedule, bitwise; bad input."""

import json

import jax
import numpy as np
import pytest

from lrsched import cli
from lrsched.train import train
from lrsched.train.cooldown import budget_curve, cooldown
from tests.train.conftest import tiny_config

# 256 training images in batches of 32: 8 steps per epoch


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
  from tests.train.conftest import write_npz

  tmp = tmp_path_factory.mktemp("cooldown")
  data = write_npz(tmp / "data.npz")
  config = tiny_config(data, epochs=3, learning_rate=0.05, keep_checkpoints=3)
  train(config, tmp / "constant")
  return tmp / "constant", data


def _leaves(state):
  return [np.asarray(x) for x in jax.tree.leaves(state.params)]


def test_a_branch_equals_the_straight_run_of_its_schedule(parent, tmp_path):
  run_dir, data = parent
  branch = cooldown(run_dir, 2, 2, shape="linear", workdir=tmp_path / "branch")
  lr = {"name": "wsd", "peak_value": 0.05, "total_steps": 32, "warmup_steps": 0,
        "cooldown_steps": 16, "cooldown_shape": "linear"}
  straight = train(tiny_config(data, epochs=4, learning_rate=lr), tmp_path / "straight")
  for a, b in zip(_leaves(branch.state), _leaves(straight.state), strict=True):
    np.testing.assert_array_equal(a, b)
  parent_records = [json.loads(line) for line in
                    (run_dir / "metrics.jsonl").read_text().splitlines()]
  assert branch.history[:2] == parent_records[:2]  # the parent's epochs, as they were
  assert [r["epoch"] for r in branch.history] == [1, 2, 3, 4]
  assert branch.history[-1]["learning_rate"] == pytest.approx(0.05 / 16, rel=1e-5)
  record = json.loads((tmp_path / "branch/parent.json").read_text())
  assert record["from_epoch"] == 2 and record["epochs"] == 2 and record["shape"] == "linear"
  assert record["parent"] == str(run_dir.resolve()) and record["start_rate"] == 0.05
  again = cooldown(run_dir, 2, 2, shape="linear", workdir=tmp_path / "branch")  # finished:
  assert again.history == branch.history                                      # read back
  with pytest.raises(ValueError, match="holds another cooldown branch"):
    cooldown(run_dir, 2, 1, shape="linear", workdir=tmp_path / "branch")


def test_budget_curve_branches_each_budget(parent):
  run_dir, _ = parent
  curve = budget_curve(run_dir, [3, 4], fraction=0.3, shape="1-sqrt")
  assert curve["branch_epochs"] == [2, 3] and curve["cooldown_epochs"] == [1, 1]
  assert len(curve["test_accuracy"]) == 2 and curve["cost_epochs"] == 3 + 2
  assert curve["separate_cost_epochs"] == 7


def test_cooldown_bad_input(parent, tmp_path):
  run_dir, data = parent
  with pytest.raises(ValueError, match=r"no checkpoint of epoch 7 .* holds epochs \[1, 2, 3\]"):
    cooldown(run_dir, 7, 2)
  with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
    cooldown(run_dir, 2, 0)
  with pytest.raises(ValueError, match="shape must be one of"):
    cooldown(run_dir, 2, 1, shape="exp")
  with pytest.raises(ValueError, match=r"end_value must be in \[0, 0.05\]"):
    cooldown(run_dir, 2, 1, end_value=0.1)
  step = {"name": "step_decay", "init_value": 0.05, "boundaries": [2], "unit": "epochs"}
  train(tiny_config(data, epochs=2, learning_rate=step), tmp_path / "step")
  with pytest.raises(ValueError, match=r"not constant over epoch 2: it goes 0.05 -> 0.005"):
    cooldown(tmp_path / "step", 2, 1)
  with pytest.warns(UserWarning, match="branching from 0.005 as forced"):
    result = cooldown(tmp_path / "step", 2, 1, force=True, workdir=tmp_path / "forced")
  assert result.history[-1]["epoch"] == 3


def test_lrsched_cooldown_command(parent, tmp_path, capsys):
  run_dir, _ = parent
  assert cli.main(["cooldown", str(run_dir), "--from-epoch", "3", "--epochs", "1",
                   "--workdir", str(tmp_path / "cli")]) == 0
  assert "epoch 4" in capsys.readouterr().out
  assert cli.main(["cooldown", str(run_dir), "--from-epoch", "9", "--epochs", "1"]) == 2
  assert "no checkpoint of epoch 9" in capsys.readouterr().err
