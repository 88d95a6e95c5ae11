"""`lrsched train` and `lrsched compare` on tiny configs, and their error paths."""

import json
import re

import pytest

from lrsched import cli
from lrsched.train import apply_overrides, load_config
from tests.train.conftest import write_npz

CONFIG = """
from lrsched.train import Config


def get_config():
  return Config(data={{"name": {data!r}}}, model={{"name": "wide_resnet", "depth": 10,
                "widen_factor": 1}}, batch_size=32, epochs=1, learning_rate={lr},
                augment=False, progress=False, checkpoint_every=1)
"""


def _config(tmp_path, name, lr="0.05"):
  data = write_npz(tmp_path / "data.npz", n_train=64, n_test=32)
  path = tmp_path / f"{name}.py"
  path.write_text(CONFIG.format(data=data, lr=lr))
  return str(path)


def test_train_writes_a_run_directory_and_resumes(tmp_path, capsys):
  config = _config(tmp_path, "tiny")
  workdir = tmp_path / "run"
  assert cli.main(["train", "--config", config, "--workdir", str(workdir), "epochs=2"]) == 0
  assert "finished tiny" in capsys.readouterr().out
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["epoch"] for r in records] == [1, 2]
  assert json.loads((workdir / "config.json").read_text())["epochs"] == 2
  assert (workdir / "curves.png").exists()
  # Without --resume a finished run is not overwritten; with it, training continues.
  assert cli.main(["train", "--config", config, "--workdir", str(workdir), "epochs=3"]) == 2
  assert "--resume" in capsys.readouterr().err
  assert cli.main(["train", "--config", config, "--workdir", str(workdir), "epochs=3",
                   "--resume"]) == 0
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_compare_prints_a_table(tmp_path, capsys):
  a, b = _config(tmp_path, "fast", "0.1"), _config(tmp_path, "slow", "0.001")
  assert cli.main(["compare", "--config", a, "--config", b, "--workdir",
                   str(tmp_path / "cmp")]) == 0
  out = capsys.readouterr().out
  assert "test acc" in out and "fast" in out and "slow" in out
  rows = json.loads((tmp_path / "cmp/summary.json").read_text())
  assert [r["run"] for r in rows] == ["fast", "slow"]
  assert (tmp_path / "cmp/compare.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, match", [
    (["train", "--config", "no/such/config.py"], "does not exist"),
    (["train", "--config", "{cfg}", "epochs=0"], "epochs must be a positive integer"),
    (["train", "--config", "{cfg}", "nonsense=1"], "unknown config field 'nonsense'"),
    (["train", "--config", "{cfg}", "epochs"], "must look like key=value"),
])
def test_cli_errors_are_clear(tmp_path, capsys, argv, match):
  cfg = _config(tmp_path, "tiny")
  argv = [a.format(cfg=cfg) for a in argv] + ["--workdir", str(tmp_path / "w")]
  assert cli.main(argv) == 2
  assert re.search(match, capsys.readouterr().err)


def test_overrides_reach_into_dicts(tmp_path):
  config = load_config(_config(tmp_path, "tiny"), ["model.depth=16", "learning_rate=0.2"])
  assert config.model == {"name": "wide_resnet", "depth": 16, "widen_factor": 1}
  assert config.learning_rate == 0.2
  lr = {"name": "step_decay", "init_value": 0.1, "boundaries": [3]}
  config = apply_overrides(apply_overrides(config, [f"learning_rate={lr}"]),
                           ["learning_rate.boundaries=[5,7]"])
  assert config.learning_rate["boundaries"] == [5, 7]
  with pytest.raises(ValueError, match="weight_decay_mask must be one of"):
    apply_overrides(config, ["weight_decay_mask=bn"])


def test_help_is_plain_text_and_every_option_is_explained(capsys):
  parser = cli.build_parser()
  commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
  texts = {"lrsched": parser.format_help()}
  texts.update({name: sub.format_help() for name, sub in commands.items()})
  for name, text in texts.items():
    for markup in ("``", ":func:", ":class:", ":mod:", "::"):
      assert markup not in text, (name, markup)
  for name in ("train", "compare", "range-test", "hessian"):
    for action in commands[name]._actions:
      assert action.help, (name, action.dest)
