"""``lrsched hessian`` prints the jackknife beside the full-data estimate (3 batches)."""

import argparse
import json

import pytest

from lrsched import hessian_command as command


def _parse(argv):
  parser = argparse.ArgumentParser(prog="lrsched")
  command.add_parser(parser.add_subparsers(dest="command", required=True))
  return parser.parse_args(argv)


@pytest.mark.slow  # 3 batches: 1 + 3 eigensolver runs of a tiny model (~60-90 s shared)
def test_hessian_command_prints_jackknife_intervals(tmp_path, capsys):
  pytest.importorskip("lrsched.data", reason="lrsched.data (the training issue) is not there")
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz", n_train=24, n_test=8, size=8)
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps(tiny_config(data).to_dict()))
  args = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-2",
                 "--batch-size", "8", "--num-batches", "3", "--mode", "eval",
                 "--trace-probes", "2", "--max-basis", "auto", "--out", str(tmp_path / "o")])
  record = args.run(args)
  printed = capsys.readouterr().out
  assert "jackknife of the eigenvalues over 3 batches" in printed
  assert "jackknife of the trace over 3 batches" in printed
  jack = record["eigen"]["jackknife"]
  assert jack["batches"] == 3 and len(jack["estimate"]) == 2 and jack["dof"] == 2
  assert record["eigen"]["sampling"] is None  # the disjoint-subset spread: >= 4 batches
  assert record["trace"]["jackknife"]["batches"] == 3
  off = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-2",
                "--batch-size", "8", "--num-batches", "3", "--no-jackknife",
                "--out", str(tmp_path / "n")])
  assert off.run(off)["eigen"]["jackknife"] is None


def test_max_basis_below_k_plus_2_is_a_usage_error(capsys):
  from lrsched import cli

  assert cli.main(["hessian", "runs/a", "--k", "5", "--max-basis", "6"]) == 2
  assert "--max-basis must be 'auto' or an integer >= k + 2 = 7" in capsys.readouterr().err
