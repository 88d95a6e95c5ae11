"""``lrsched hessian`` on a run directory written by ``lrsched.train.train``."""

import argparse
import json

import pytest

from lrsched import hessian_command as command


def _parse(argv):
  parser = argparse.ArgumentParser(prog="lrsched")
  command.add_parser(parser.add_subparsers(dest="command", required=True))
  return parser.parse_args(argv)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
  train = pytest.importorskip("lrsched.train")
  pytest.importorskip("lrsched.data", reason="lrsched.data (the training issue) is not there")
  from tests.train.conftest import tiny_config, write_npz

  tmp = tmp_path_factory.mktemp("run")
  data = write_npz(tmp / "data.npz", n_train=64, n_test=16, size=8)
  config = tiny_config(data, epochs=1, batch_size=16, learning_rate={
      "name": "step_decay", "init_value": 0.05, "boundaries": [2]})
  train.train(config, tmp / "run")
  return tmp / "run"


@pytest.mark.slow  # trains a tiny run first (~30-60 s on 2 shared cores)
def test_hessian_command_on_a_trained_run(run_dir, tmp_path, capsys):
  out = tmp_path / "out"
  args = _parse(["hessian", str(run_dir), "--num-batches", "2", "--batch-size", "12", "--k",
                 "3", "--tol", "3e-2", "--mode", "train", "--trace-probes", "2",
                 "--density-steps", "3", "--out", str(out)])
  record = args.run(args)
  printed = capsys.readouterr().out
  assert "eigenvalue" in printed and "2/lam" in printed and "trace (hutchinson" in printed
  saved = json.loads((out / "hessian.json").read_text())
  assert saved == json.loads(json.dumps(record))
  assert saved["epoch"] == 1 and saved["mode"] == "train" and saved["eigen"]["mode"] == "train"
  assert saved["num_batches"] == 2 and saved["num_examples"] == 24
  values = saved["eigen"]["eigenvalues"]
  assert len(values) == 3 and values == sorted(values, reverse=True)
  assert saved["learning_rates"] == {"max": pytest.approx(0.05), "min": pytest.approx(0.005)}
  assert saved["intervals"]["momentum"] == 0.9
  for name in ("intervals.png", "density.png"):
    assert (out / name).stat().st_size > 1000


def test_hessian_command_on_a_config_at_initialization(tmp_path, capsys):
  pytest.importorskip("lrsched.data", reason="lrsched.data (the training issue) is not there")
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz", n_train=32, n_test=8, size=8)
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps(tiny_config(data).to_dict()))
  args = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-2",
                 "--batch-size", "8", "--mode", "eval"])
  args.out = str(tmp_path / "init")
  record = args.run(args)
  assert record["epoch"] is None and record["mode"] == "eval"
  assert (tmp_path / "init" / "intervals.png").is_file()


def test_hessian_command_bad_arguments(tmp_path):
  with pytest.raises(ValueError, match="exactly one"):
    command.run(_parse(["hessian"]))
  with pytest.raises(ValueError, match="is not a run directory"):
    command.run(_parse(["hessian", str(tmp_path)]))


def test_hessian_command_per_layer(tmp_path, capsys):
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz", n_train=32, n_test=8, size=8)
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps(tiny_config(data).to_dict()))
  args = _parse(["hessian", "--config", str(config_path), "--k", "1", "--tol", "1e-2",
                 "--batch-size", "8", "--mode", "train", "--per-layer",
                 "--out", str(tmp_path / "init")])
  record = args.run(args)
  rows = record["per_layer"]
  assert rows[0]["group"].startswith("blocks/0") and all(r["size"] > 0 for r in rows)
  assert sum(r["size"] for r in rows) == record["num_params"]
  assert (tmp_path / "init" / "per_layer.png").is_file()
  assert "lambda_1" in capsys.readouterr().out


def test_hessian_command_shows_the_sampling_spread_with_four_batches(tmp_path, capsys):
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz", n_train=32, n_test=8, size=8)
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps(tiny_config(data).to_dict()))
  args = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-2",
                 "--batch-size", "8", "--num-batches", "4", "--mode", "train",
                 "--trace-probes", "3", "--out", str(tmp_path / "init")])
  record = args.run(args)
  assert record["eigen"]["sampling"]["subsets"] == 4
  assert len(record["eigen"]["sampling"]["values"]) == 4
  assert record["trace"]["sampling"]["subsets"] == 4
  assert "sampling spread over 4 disjoint subsets" in capsys.readouterr().out
  args = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-2",
                 "--batch-size", "8", "--num-batches", "4", "--error-bars", "0",
                 "--out", str(tmp_path / "none")])
  assert args.run(args)["eigen"]["sampling"] is None


@pytest.mark.parametrize("argv, match", [
    ([], r"give either a run directory or --config FILE \(exactly one\)"),
    (["runs/a", "--config", "c.py"], r"give either .* \(exactly one\)"),
    (["runs/a", "--k", "0"], "--k must be a positive integer, got 0"),
    (["runs/a", "--num-batches", "-1"], "--num-batches must be a positive integer, got -1"),
    (["runs/a", "--trace-probes", "-2"], "--trace-probes must be an integer >= 0, got -2"),
])
def test_lrsched_hessian_prints_its_usage_error_before_loading_anything(capsys, argv, match):
  import re

  from lrsched import cli

  assert cli.main(["hessian", *argv]) == 2
  err = capsys.readouterr().err
  assert "loading" not in err and "runs/a" not in err.split("error:")[0]
  assert err.startswith("usage: lrsched hessian ")
  assert re.search(r"lrsched hessian: error: " + match, err), err


def test_hessian_command_remat_gives_the_same_eigenvalues(tmp_path):
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz", n_train=32, n_test=8, size=8)
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps(tiny_config(data).to_dict()))
  values = {}
  for flag in ([], ["--remat"]):
    args = _parse(["hessian", "--config", str(config_path), "--k", "2", "--tol", "1e-4",
                   "--batch-size", "16", "--mode", "train", *flag,
                   "--out", str(tmp_path / ("remat" if flag else "plain"))])
    values[bool(flag)] = args.run(args)["eigen"]["eigenvalues"]
  assert values[True] == pytest.approx(values[False], rel=1e-4)
