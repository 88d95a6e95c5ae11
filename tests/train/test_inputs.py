"""Inputs are checked before any work starts: config fields, data files, compare's runs."""

import json
import re

import numpy as np
import pytest

from lrsched import cli
from lrsched import data as datalib
from lrsched.train import Config, load_data, train
from tests.train.conftest import tiny_config, write_npz


@pytest.mark.parametrize("field, value, message", [
    ("learning_rate", -0.1, r"learning_rate must be a number in \[0, inf\).*got -0.1"),
    ("learning_rate", float("nan"), r"learning_rate must be a number.*got nan"),
    ("learning_rate", "fast", r"learning_rate must be a number.*got 'fast'"),
    ("momentum", -0.5, r"momentum must be a number in \[0, 1\).*got -0.5"),
    ("momentum", 1.0, r"momentum must be a number in \[0, 1\).*got 1.0"),
    ("nesterov", "maybe", r"nesterov must be True or False, got 'maybe'"),
    ("augment", "maybe", r"augment must be True or False, got 'maybe'"),
    ("augment", 1, r"augment must be True or False, got 1"),
    ("weight_decay", "abc", r"weight_decay must be a number in \[0, inf\), got 'abc'"),
    ("weight_decay", -1e-4, r"weight_decay must be a number in \[0, inf\), got -0.0001"),
    ("optimizer_kwargs", {"b1": 0.9}, r"optimizer_kwargs: optimizer 'sgd' takes none.*\['b1'\]"),
    ("seed", -1, r"seed must be an integer >= 0, got -1"),
    ("seed", 1.5, r"seed must be an integer >= 0, got 1.5"),
    ("budget_change", "extend", r"budget_change must be one of \('stretch', 'error'\)"),
    ("optimizer", "adamx", r"optimizer must be 'sgd' or the name of an optax optimizer.*'adamx'"),
    ("learning_rate", {"init_value": 0.1}, r"learning_rate: a schedule spec needs a string 'name'"),
])
def test_bad_config_values_name_the_field_and_value(field, value, message):
  with pytest.raises(ValueError, match=message):
    Config(**{field: value})


def test_optax_optimizer_kwargs_are_checked_against_its_signature():
  Config(optimizer="adamw", optimizer_kwargs={"b1": 0.8, "weight_decay": 1e-4})
  with pytest.raises(ValueError, match=r"optax.adamw has no argument\(s\) \['beta1'\]"):
    Config(optimizer="adamw", optimizer_kwargs={"beta1": 0.8})


def test_cli_overrides_are_checked_too(tmp_path, capsys):
  config = tmp_path / "c.py"
  config.write_text("from lrsched.train import Config\n\ndef get_config():\n  return Config()\n")
  for override, message in (("three_phase=1", "unknown config field 'three_phase'"),
                            ("augment=maybe", "augment must be True or False, got 'maybe'"),
                            ("momentum=1.5", r"momentum must be a number in \[0, 1\)")):
    assert cli.main(["train", "--config", str(config), "--workdir", str(tmp_path / "w"),
                     override]) == 2
    assert re.search(message, capsys.readouterr().err)
  assert not (tmp_path / "w").exists()


def _npz(path, **arrays):
  rng = np.random.default_rng(0)
  base = {"x_train": rng.integers(0, 256, (64, 8, 8, 3)).astype(np.uint8),
          "y_train": rng.integers(0, 4, 64), "x_test": rng.integers(0, 256, (32, 8, 8, 3))
          .astype(np.uint8), "y_test": rng.integers(0, 4, 32)}
  base.update(arrays)
  np.savez(path, **base)
  return str(path)


@pytest.mark.parametrize("arrays, split, message", [
    ({"x_test": np.full((32, 8, 8, 3), np.nan, np.float32)}, "test",
     r"\(x_test, y_test\): images hold 6144 NaN or infinite value"),
    ({"y_train": np.linspace(0, 3, 64)}, "train",
     r"\(y_train\): labels must be integer class indices, got non-integer values"),
    ({"y_train": np.array(["cat"] * 64)}, "train",
     r"labels must be integer class indices, got dtype <U3 \(e.g. np.str_\('cat'\)\)"),
    ({"x_train": np.ones((64, 8, 8, 3), bool)}, "train",
     r"\(x_train, y_train\): images must be uint8 \(0..255\), integers in 0..255 or "
     r"floating, got dtype bool"),
    ({"x_train": np.zeros((0, 8, 8, 3), np.uint8), "y_train": np.zeros(0, int)}, "train",
     r"\(x_train, y_train\): the dataset is empty"),
])
def test_bad_npz_arrays_name_the_file_and_array(tmp_path, arrays, split, message):
  path = _npz(tmp_path / "bad.npz", **arrays)
  with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
    datalib.load_dataset(path, split)


def test_whole_float_labels_are_accepted(tmp_path):
  path = _npz(tmp_path / "f.npz", y_train=np.arange(64) % 4 * 1.0)
  assert datalib.load_dataset(path, "train").labels.dtype == np.int32


@pytest.mark.parametrize("content", [b"this is not a zip file\n", "truncated"])
def test_unreadable_npz_files_are_named(tmp_path, content):
  path = tmp_path / "data.npz"
  if content == "truncated":
    _npz(path)
    path.write_bytes(path.read_bytes()[:3000])
  else:
    path.write_bytes(content)
  with pytest.raises(ValueError, match=re.escape(str(path)) + " is not a readable .npz file"):
    datalib.load_dataset(str(path), "train")


def test_train_and_test_must_agree(tmp_path):
  path = _npz(tmp_path / "mix.npz", x_test=np.zeros((32, 8, 8, 1), np.uint8))
  with pytest.raises(ValueError, match=r"training images .* have 3 channel\(s\) but the "
                                       r"'test' images .* have 1"):
    load_data(tiny_config(path))


def test_an_all_nan_test_set_stops_training_before_it_starts(tmp_path):
  path = _npz(tmp_path / "nan.npz", x_test=np.full((32, 8, 8, 3), np.nan, np.float32))
  with pytest.raises(ValueError, match="images hold"):
    train(tiny_config(path, epochs=1), tmp_path / "run")
  assert not (tmp_path / "run").exists()


def test_the_cifar_config_needs_its_file(monkeypatch, tmp_path):
  import importlib.util
  spec = importlib.util.spec_from_file_location(
      "cifar16", "experiments/configs/cifar16_step_decay.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  monkeypatch.setattr(module, "SUBSET", tmp_path / "absent/cifar10_subset.npz")
  config = module.get_config()
  with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "absent"))):
    load_data(config)


# --- lrsched compare ---------------------------------------------------------------------

CONFIG = """
from lrsched.train import Config


def get_config():
  return Config(data={{"name": {data!r}}}, model={{"name": "wide_resnet", "depth": 10,
                "widen_factor": 1}}, batch_size=32, epochs=1, learning_rate={lr},
                augment=False, progress=True, checkpoint_every=1)
"""


def _config(directory, name, lr):
  directory.mkdir(parents=True, exist_ok=True)
  data = write_npz(directory / "data.npz", n_train=64, n_test=32)
  path = directory / f"{name}.py"
  path.write_text(CONFIG.format(data=data, lr=lr))
  return str(path)


def test_compare_refuses_two_configs_of_one_name(tmp_path, capsys):
  a, b = _config(tmp_path / "a", "run", "0.1"), _config(tmp_path / "b", "run", "0.01")
  assert cli.main(["compare", "--config", a, "--config", b, "--workdir",
                   str(tmp_path / "cmp")]) == 2
  assert "two configs share the run name 'run'" in capsys.readouterr().err
  assert not (tmp_path / "cmp").exists()


def test_compare_twice_prints_the_table_again_with_labelled_progress(tmp_path, capsys):
  a, b = _config(tmp_path, "fast", "0.1"), _config(tmp_path, "slow", "0.001")
  argv = ["compare", "--config", a, "--config", b, "--workdir", str(tmp_path / "cmp")]
  assert cli.main(argv) == 0
  first = capsys.readouterr()
  # stderr is not a terminal here: one line per epoch, labelled with the run, no \r bars.
  assert re.search(r"^fast: epoch 1/1 step 2 train_loss=", first.err, re.M)
  assert re.search(r"^slow: epoch 1/1 step 2 train_loss=", first.err, re.M)
  assert "\r" not in first.err
  assert "test acc %" in first.out
  assert re.search(r"(fast|slow) reached the highest test accuracy: [\d.]+% vs [\d.]+% for "
                   r"(slow|fast) \(\+[\d.]+ points\)", first.out)
  assert cli.main(argv) == 0  # the README's first command, run a second time
  second = capsys.readouterr()
  assert "read back, not retrained" in second.err
  assert second.out.splitlines()[:4] == first.out.splitlines()[:4]
  rows = json.loads((tmp_path / "cmp/summary.json").read_text())
  assert [r["run"] for r in rows] == ["fast", "slow"]


def test_the_reading_of_a_ps10_table():
  from lrsched.train.compare import reading

  rows = [{"run": "constant", "test_accuracy_complex": 0.633, "train_eval_accuracy_noise": 0.043},
          {"run": "step", "test_accuracy_complex": 0.866, "train_eval_accuracy_noise": 0.065}]
  assert reading(rows) == (
      "step reached the highest complex-pattern test accuracy: 86.6% vs 63.3% for constant "
      "(+23.3 points). Noisy training samples given their wrong label (memorized; 0% none, "
      "100% all): step 6.5%, constant 4.3%.")
  clean = [{k: v for k, v in r.items() if "noise" not in k} for r in rows]
  assert reading(clean).endswith(
      "(+23.3 points). Clean labels: the gap is the schedules' own, not a label-noise effect.")
