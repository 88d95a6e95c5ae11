"""`lrsched train` and `lrsched compare` on tiny configs, and their error paths."""

import json
import re
import socket
import warnings

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
  # The last line is labelled with the workdir, as the progress lines are.
  assert f"run: finished epoch 2/2 in {workdir.resolve()}: " in capsys.readouterr().out
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


PS10_CONFIG = """
from lrsched.train import Config


def get_config():
  return Config(data={"name": "ps10", "num_train": 256, "num_test": 64, "image_size": 1},
                model={"name": "mlp", "width": 32, "depth": 1}, batch_size=32, epochs=3,
                learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [1, 2],
                               "factor": 0.1, "unit": "epochs"},
                augment=False, progress=False, checkpoint_every=1)
"""


def _ps10_config(tmp_path):
  path = tmp_path / "ps10_tiny.py"
  path.write_text(PS10_CONFIG)
  return str(path)


def test_resuming_a_finished_run_with_more_epochs_says_the_schedule_goes_on(tmp_path, capsys):
  """Item 4: a finished run has no rest to stretch; the message says what happens instead."""
  workdir = tmp_path / "a"
  assert cli.main(["train", "--config", _ps10_config(tmp_path), "--workdir", str(workdir)]) == 0
  capsys.readouterr()
  assert cli.main(["train", "--workdir", str(workdir), "--resume", "epochs=6"]) == 0
  err = capsys.readouterr().err
  assert "stretched: nothing" not in err
  # step_decay 0.1 / 10 at epochs 1 and 2 ends at 0.001 and holds it past its end.
  assert ("a: epochs 3 -> 6 from epoch 3; the run had finished its 3 epochs: learning_rate "
          "continues past its end (holds 0.001)") in err
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5, 6]
  assert [r["learning_rate"] for r in records[3:]] == pytest.approx([1e-3] * 3, rel=1e-6)
  # Interrupted runs still say what they stretched.
  from lrsched.train.loop import _budget_change_effect

  change = {"old_epochs": 3, "new_epochs": 6, "from_epoch": 1, "stretched": ["learning_rate"]}
  config = load_config(_ps10_config(tmp_path))
  assert _budget_change_effect(config, change, 8) == "stretched: learning_rate"
  cyclic = apply_overrides(config, ['learning_rate={"name": "cyclic", "init_value": 0.01, '
                                    '"peak_value": 0.1, "step_size_up": 3}'])
  change = dict(change, from_epoch=3)
  assert _budget_change_effect(cyclic, change, 1) == (
      "the run had finished its 3 epochs: learning_rate continues past its end (0.07 at "
      "epoch 3, 0.04 at epoch 6)")  # a triangle 0.01 -> 0.1 -> 0.01 of 6 steps: steps 2, 5
  assert "nothing left to train" in _budget_change_effect(config, dict(change, new_epochs=3,
                                                                       old_epochs=5), 8)


def test_a_stale_lock_taken_over_is_one_line_in_the_commands_voice(tmp_path, capsys):
  from lrsched.train.rundir import LOCK_NAME, StaleLockWarning

  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999, "host": socket.gethostname(),
                                               "started": "2026-01-01 00:00:00"}))
  with warnings.catch_warnings():
    warnings.simplefilter("always")
    assert cli.main(["train", "--config", _ps10_config(tmp_path), "--workdir", str(workdir),
                     "epochs=1"]) == 0
  lines = [line for line in capsys.readouterr().err.splitlines() if "took over" in line]
  assert lines == [f"lrsched train: warning: {workdir / LOCK_NAME}: took over the lock left by "
                   f"pid 999999999 on {socket.gethostname()} (since 2026-01-01 00:00:00); that "
                   f"process no longer holds it"]
  assert issubclass(StaleLockWarning, UserWarning)  # still caught as before


def test_other_warnings_go_on_to_pythons_handler(capsys):
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with cli.one_line_warnings("lrsched x"):
      warnings.warn("from elsewhere", UserWarning, stacklevel=1)  # this file: not lrsched's
  assert [str(w.message) for w in caught] == ["from elsewhere"]
  assert "lrsched x: warning" not in capsys.readouterr().err


@pytest.mark.parametrize("argv, suggestion", [
    (["trian"], "'train'"),
    (["gallary"], "'gallery'"),
    (["hessian", "runs/a", "--method", "lanczoz"], "'lanczos'"),
    (["hessian", "runs/a", "--mode", "evl"], "'eval'"),
])
def test_a_mistyped_command_or_choice_gets_did_you_mean(capsys, argv, suggestion):
  with pytest.raises(SystemExit) as exit_:
    cli.main(argv)
  assert exit_.value.code == 2
  err = capsys.readouterr().err
  assert f"invalid choice: {argv[-1]!r} (did you mean {suggestion}?)" in err
  assert "choose from" in err


def test_compare_explains_its_own_resume():
  commands = cli.build_parser()._subparsers._group_actions[0].choices
  helps = {name: next(a.help for a in commands[name]._actions if a.dest == "resume")
           for name in ("train", "compare")}
  assert helps["train"] != helps["compare"]
  assert "WORKDIR/<config name>" in helps["compare"] and "read back" in helps["compare"]
