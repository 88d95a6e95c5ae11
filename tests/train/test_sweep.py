"""Seed sweeps: run_seeds trains and resumes; mean +- std and tables."""

import json

import numpy as np
import pytest

from lrsched.train import format_mean_std, markdown_table, mean_std, per_seed, run_seeds
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
