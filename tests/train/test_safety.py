"""Runs that cannot be lost or corrupted: the lock, damaged files, resume, the NaN guard."""

import dataclasses
import errno
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax import nnx

from lrsched import cli
from lrsched.train import NonFiniteLossError, train
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.loop import RunExistsError, load_run_model
from lrsched.train.rundir import LOCK_NAME, RunLock, WorkdirLockedError, read_jsonl
from tests.train.conftest import interrupt_after, tiny_config, write_npz

CONFIG = """
from lrsched.train import Config


def get_config():
  return Config(data={{"name": {data!r}}}, model={{"name": "wide_resnet", "depth": 10,
                "widen_factor": 1}}, batch_size=32, epochs=2, learning_rate={lr},
                augment=False, progress=False, checkpoint_every=1, keep_checkpoints=3)
"""


def _config_file(tmp_path, name="tiny", lr="0.05", n_train=64):
  data = write_npz(tmp_path / f"{name}.npz", n_train=n_train, n_test=32)
  path = tmp_path / f"{name}.py"
  path.write_text(CONFIG.format(data=data, lr=lr))
  return str(path)


def _params(result):
  return [np.asarray(x) for x in jax.tree.leaves(result.state.params)]


# --- the lock -----------------------------------------------------------------------------

def _write_lock(workdir: pathlib.Path, pid: int, host: str | None = None) -> None:
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / LOCK_NAME).write_text(json.dumps(
      {"pid": pid, "host": host or socket.gethostname(), "started": "earlier"}))


HOLDER = """
import fcntl, json, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                         "started": "now"}).encode())
print("locked", flush=True)
time.sleep(120)
"""


def test_a_live_lock_refuses_a_second_run_and_a_dead_ones_is_taken_over(tmp_path, npz_path):
  workdir = tmp_path / "run"
  workdir.mkdir()
  holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(workdir / LOCK_NAME)],
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(WorkdirLockedError, match=f"in use by another lrsched process "
                                                 f".pid {holder.pid} on host"):
      train(tiny_config(npz_path, epochs=1), workdir)
    assert not (workdir / "checkpoints").exists() and not (workdir / "config.json").exists()
  finally:
    holder.kill()  # like kill -9: the kernel drops its lock, its lock file stays
    holder.wait()
  assert json.loads((workdir / LOCK_NAME).read_text())["pid"] == holder.pid
  with pytest.warns(UserWarning, match=f"took over the lock left by pid {holder.pid}"):
    result = train(tiny_config(npz_path, epochs=1), workdir)
  assert len(result.history) == 1 and not (workdir / LOCK_NAME).exists()


def test_without_flock_a_stale_lock_of_this_host_is_taken_over_and_others_refused(
    tmp_path, monkeypatch):
  import fcntl

  def no_flock(fd, operation):
    raise OSError(errno.ENOLCK, "No locks available")

  monkeypatch.setattr(fcntl, "flock", no_flock)
  _write_lock(tmp_path, 12345, host="some-other-host")
  with pytest.raises(WorkdirLockedError, match=f"rm {tmp_path / LOCK_NAME}"):
    RunLock(tmp_path).acquire()
  dead = subprocess.Popen([sys.executable, "-c", "pass"])
  dead.wait()
  _write_lock(tmp_path, dead.pid)
  with pytest.warns(UserWarning, match=f"stale lock of pid {dead.pid}"), RunLock(tmp_path):
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    with pytest.raises(WorkdirLockedError, match=f"pid {os.getpid()}"):
      RunLock(tmp_path).acquire()
  assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_cli_process_on_a_live_workdir_is_refused(tmp_path):
  """Two real processes: the second exits with a clear error, the first finishes intact."""
  config = _config_file(tmp_path, n_train=512)
  workdir = tmp_path / "run"
  first = subprocess.Popen([sys.executable, "-m", "lrsched.cli", "train", "--config", config,
                            "--workdir", str(workdir), "epochs=6"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    for _ in range(600):  # wait until the first holds the lock
      if (workdir / LOCK_NAME).exists() or first.poll() is not None:
        break
      subprocess.run(["sleep", "0.1"], check=True)
    second = subprocess.run([sys.executable, "-m", "lrsched.cli", "train", "--config", config,
                             "--workdir", str(workdir), "seed=5"],
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 2, second.stderr
    assert "in use by another lrsched process" in second.stderr
    assert "Traceback" not in second.stderr
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
  finally:
    first.kill()
  saved = json.loads((workdir / "config.json").read_text())
  assert saved["seed"] == 0 and saved["epochs"] == 6
  assert [r["epoch"] for r in read_jsonl(workdir / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]


# --- damaged checkpoints -------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """A 3-epoch run with all three checkpoints, and a straight 4-epoch run to compare."""
  root = tmp_path_factory.mktemp("finished")
  data = write_npz(root / "data.npz")
  config = tiny_config(data, epochs=3, keep_checkpoints=3)
  straight = train(tiny_config(data, epochs=3, keep_checkpoints=3), root / "straight")
  train(config, root / "run")
  return root / "run", config, straight


def _damage(checkpoint: pathlib.Path, how: str) -> None:
  files = [f for f in checkpoint.rglob("*") if f.is_file()]
  if how == "stray":
    (checkpoint.parent / "99").mkdir()
  elif how == "no_metadata":
    for f in files:
      if "metadata" in f.name.lower():
        f.unlink()
    (checkpoint / "default" / "manifest.ocdbt").unlink()
  for f in files:
    if how == "zeroed":
      f.write_bytes(b"\0" * f.stat().st_size)
    elif how == "truncated":
      f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    elif how == "random":
      f.write_bytes(np.random.default_rng(0).bytes(max(f.stat().st_size, 1)))


@pytest.mark.parametrize("how", ["zeroed", "truncated", "random", "no_metadata", "stray"])
def test_resume_skips_a_damaged_newest_checkpoint_and_keeps_it(tmp_path, finished_run, how):
  source, config, straight = finished_run
  workdir = tmp_path / "run"
  shutil.copytree(source, workdir)
  _damage(workdir / "checkpoints" / "3", how)
  damaged = "99" if how == "stray" else "3"
  with pytest.warns(UserWarning, match=f"skipped damaged checkpoint.*epoch {damaged} .*"
                                       f"restored epoch {2 if how != 'stray' else 3}"):
    result = train(config, workdir, resume=True)
  kept = list((workdir / "checkpoints.damaged").iterdir())
  assert [p.name.split("-")[0] for p in kept] == [damaged]  # moved aside, never deleted
  assert [r["epoch"] for r in result.history] == [1, 2, 3]
  # Epoch 3 was trained again from epoch 2's checkpoint: the same run, bit for bit.
  for a, b in zip(_params(result), _params(straight), strict=True):
    np.testing.assert_array_equal(a, b)
  assert Checkpoints(workdir / "checkpoints").all_epochs() == [1, 2, 3]


def test_load_run_model_falls_back_without_moving_anything(tmp_path, finished_run):
  source, _, _ = finished_run
  shutil.copytree(source, tmp_path / "run")
  _damage(tmp_path / "run/checkpoints/3", "truncated")
  with pytest.warns(UserWarning, match="skipped damaged checkpoint.*restored epoch 2"):
    _, _, epoch = load_run_model(tmp_path / "run")
  assert epoch == 2 and (tmp_path / "run/checkpoints/3").is_dir()


def test_no_intact_checkpoint_is_an_error_naming_each(tmp_path, finished_run):
  source, config, _ = finished_run
  shutil.copytree(source, tmp_path / "run")
  for epoch in (1, 2, 3):
    _damage(tmp_path / f"run/checkpoints/{epoch}", "zeroed")
  with pytest.raises(ValueError, match="no checkpoint restores: epoch 3: .*epoch 2: .*epoch 1"):
    train(config, tmp_path / "run", resume=True)
  assert sorted(p.name for p in (tmp_path / "run/checkpoints").iterdir()) == ["1", "2", "3"]


# --- resume takes the run's config.json -----------------------------------------------------

def test_resume_reads_config_json_and_refuses_other_changes(tmp_path, capsys):
  config = _config_file(tmp_path)
  workdir = str(tmp_path / "run")
  assert cli.main(["train", "--config", config, "--workdir", workdir, "seed=3",
                   "learning_rate=0.02"]) == 0
  # The README's resume line: no overrides retyped, more epochs allowed.
  assert cli.main(["train", "--config", config, "--workdir", workdir, "--resume",
                   "epochs=3"]) == 0
  saved = json.loads((tmp_path / "run/config.json").read_text())
  assert (saved["seed"], saved["learning_rate"], saved["epochs"]) == (3, 0.02, 3)
  assert "resuming" in capsys.readouterr().err
  # Without --config at all.
  assert cli.main(["train", "--workdir", workdir, "--resume", "epochs=4"]) == 0
  for override in ("seed=5", "batch_size=16", "learning_rate=0.1", "data.name='other.npz'"):
    assert cli.main(["train", "--workdir", workdir, "--resume", override]) == 2
    err = capsys.readouterr().err
    field = override.split("=")[0].split(".")[0]
    assert f"{field}: " in err and "(saved) != " in err and "Traceback" not in err
  saved = json.loads((tmp_path / "run/config.json").read_text())
  assert (saved["seed"], saved["learning_rate"], saved["epochs"]) == (3, 0.02, 4)
  # Without --resume the run is refused, and the message speaks the command line.
  assert cli.main(["train", "--config", config, "--workdir", workdir]) == 2
  err = capsys.readouterr().err
  assert "--resume" in err and "resume=True" not in err


# --- the NaN guard ---------------------------------------------------------------------------

def test_divergent_gradient_descent_is_caught_before_its_checkpoint(tmp_path, npz_path):
  """Full-batch GD at lr 1e6: the train loss of step 0 is finite, the weights after it are not."""
  config = tiny_config(npz_path, epochs=3, full_batch=True, learning_rate=1e6)
  with pytest.raises(NonFiniteLossError, match="(not finite|is nan|is inf)") as error:
    train(config, tmp_path / "run")
  assert error.value.checkpoint_epoch is None or error.value.checkpoint_epoch < error.value.epoch
  for epoch in Checkpoints(tmp_path / "run/checkpoints").all_epochs():
    _, model, _ = load_run_model(tmp_path / "run", epoch)
    leaves = jax.tree.leaves(nnx.state(model))
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves)
  for record in read_jsonl(tmp_path / "run/metrics.jsonl"):
    assert np.isfinite(record["test_loss"]) and np.isfinite(record["weight_norm"])


# --- damaged records -------------------------------------------------------------------------

def test_a_torn_last_metrics_line_is_dropped_and_others_are_named(tmp_path, npz_path,
                                                                  monkeypatch):
  config = tiny_config(npz_path, epochs=3)
  with monkeypatch.context() as patch:
    interrupt_after(patch, 2)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "run")
  metrics = tmp_path / "run/metrics.jsonl"
  text = metrics.read_text()
  metrics.write_text(text[: len(text) - 20])  # tear the last record
  with pytest.warns(UserWarning, match="metrics.jsonl: dropped its torn last line 2"):
    result = train(config, tmp_path / "run", resume=True)
  # Epoch 2's record was lost with the tear; epochs before the checkpoint are what is read.
  assert [r["epoch"] for r in result.history] == [1, 3]
  lines = metrics.read_text().splitlines()
  metrics.write_text("\n".join(["{broken", *lines[1:]]) + "\n")
  with pytest.raises(ValueError, match="metrics.jsonl line 1 is damaged"):
    train(config, tmp_path / "run", resume=True)


def test_a_truncated_config_json_is_named(tmp_path, npz_path, capsys):
  train(tiny_config(npz_path, epochs=1), tmp_path / "run")
  path = tmp_path / "run/config.json"
  path.write_text(path.read_text()[:40])
  assert cli.main(["train", "--workdir", str(tmp_path / "run"), "--resume"]) == 2
  assert f"{path} is damaged (not valid JSON" in capsys.readouterr().err
  assert cli.main(["hessian", str(tmp_path / "run"), "--k", "1"]) == 2
  assert f"{path} is damaged" in capsys.readouterr().err


# --- the workdir ---------------------------------------------------------------------------

def test_workdirs_that_cannot_hold_a_run(tmp_path, npz_path, monkeypatch):
  config = tiny_config(npz_path, epochs=1)
  afile = tmp_path / "afile"
  afile.write_text("x")
  with pytest.raises(ValueError, match="workdir .*afile' is a file"):
    train(config, afile)
  with pytest.raises(ValueError, match="lies under .*afile, which is a file"):
    train(config, afile / "run")
  readonly = tmp_path / "ro"
  readonly.mkdir()
  real_write = pathlib.Path.write_text

  def refuse(self, *args, **kwargs):  # root ignores permissions: simulate a read-only mount
    if self.parent == readonly:
      raise OSError(30, "Read-only file system", str(self))
    return real_write(self, *args, **kwargs)

  monkeypatch.setattr(pathlib.Path, "write_text", refuse)
  with pytest.raises(ValueError, match="ro' cannot be written: the file system is read-only"):
    train(config, readonly)


def test_a_run_refused_at_start_leaves_nothing_behind(tmp_path, npz_path):
  with pytest.raises(ValueError, match="batch_size 1024 exceeds the 256 training samples"):
    train(tiny_config(npz_path, batch_size=1024), tmp_path / "new/run")
  assert not (tmp_path / "new/run").exists()
  (tmp_path / "old").mkdir()
  with pytest.raises(ValueError, match="model .wide_resnet.: missing argument.s. ..widen_factor"):
    train(tiny_config(npz_path, model={"name": "wide_resnet", "depth": 11}), tmp_path / "old")
  assert list((tmp_path / "old").iterdir()) == []


def test_a_run_without_checkpoints_is_not_overwritten(tmp_path, npz_path):
  train(tiny_config(npz_path, epochs=1, checkpoint_every=0), tmp_path / "run")
  with pytest.raises(RunExistsError, match="metrics of a run without checkpoints"):
    train(tiny_config(npz_path, epochs=1, checkpoint_every=0), tmp_path / "run")


@pytest.mark.skipif(os.name != "posix", reason="POSIX process ids")
def test_one_process_cannot_hold_a_lock_twice(tmp_path):
  with RunLock(tmp_path) as lock:
    holder = json.loads(lock.path.read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    with pytest.raises(WorkdirLockedError, match=f"pid {os.getpid()}"):
      RunLock(tmp_path).acquire()  # this very process, through another object
  assert list(tmp_path.iterdir()) == []


# --- a new budget on resume ------------------------------------------------------------------

def test_more_epochs_on_resume_stretch_the_schedule_without_a_jump(tmp_path, npz_path,
                                                                  monkeypatch):
  """Interrupted at epoch 1 of 3, resumed with 5: the decay moves from epoch 2 to epoch 3."""
  lr = {"name": "step_decay", "init_value": 0.05, "boundaries": [2], "unit": "epochs"}
  config = tiny_config(npz_path, epochs=3, learning_rate=lr)  # 8 steps per epoch
  with monkeypatch.context() as patch:
    interrupt_after(patch, 1)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "run")
  with pytest.raises(ValueError, match="epochs changed from 3 to 5 on resume and "
                                       "budget_change='error'"):
    train(tiny_config(npz_path, epochs=5, learning_rate=lr, budget_change="error"),
          tmp_path / "run", resume=True)
  result = train(tiny_config(npz_path, epochs=5, learning_rate=lr), tmp_path / "run",
                 resume=True)
  rates = [r["learning_rate"] for r in result.history]  # the rate of each epoch's last step
  # Steps 8..40 follow the old steps 8..24 at half speed: the drop at old step 16 is now
  # at step 24, the first step of epoch 4; epoch 3 ends at step 23, still at 0.05.
  np.testing.assert_allclose(rates, [0.05, 0.05, 0.05, 0.005, 0.005], rtol=1e-6)
  change = result.history[1]["budget_change"]
  assert change == {"mode": "stretch", "from_epoch": 1, "old_epochs": 3, "new_epochs": 5,
                    "stretched": ["learning_rate"]}
  saved = json.loads((tmp_path / "run/config.json").read_text())
  assert saved["epochs"] == 5 and saved["learning_rate"]["name"] == "stretch"
  assert saved["learning_rate"]["schedule"] == lr
  # Resuming the stretched run again, with the original config object, is accepted.
  again = train(tiny_config(npz_path, epochs=5, learning_rate=lr), tmp_path / "run",
                resume=True)
  assert [r["epoch"] for r in again.history] == [1, 2, 3, 4, 5]


def test_finished_runs_without_checkpoints_are_not_restarted_by_resume(tmp_path, npz_path):
  config = tiny_config(npz_path, epochs=1, checkpoint_every=0)
  train(config, tmp_path / "run")
  with pytest.raises(ValueError, match="finished run without checkpoints .1 epochs"):
    train(config, tmp_path / "run", resume=True)
  assert len(read_jsonl(tmp_path / "run/metrics.jsonl")) == 1
  with pytest.raises(ValueError, match="finished run without checkpoints"):  # even extended
    train(tiny_config(npz_path, epochs=3, checkpoint_every=0), tmp_path / "run", resume=True)
  # A partial one (a 3-epoch run killed after epoch 1, no checkpoint) restarts, with a warning.
  saved = json.loads((tmp_path / "run/config.json").read_text())
  (tmp_path / "run/config.json").write_text(json.dumps(dict(saved, epochs=3)))
  longer = tiny_config(npz_path, epochs=3, checkpoint_every=0)
  with pytest.warns(UserWarning, match="restarting at epoch 1 discards the 1 epoch"):
    result = train(longer, tmp_path / "run", resume=True)
  assert [r["epoch"] for r in result.history] == [1, 2, 3]


def test_finished_history_of_an_extended_run(tmp_path, npz_path):
  from lrsched.train.sweep import finished_history

  lr = {"name": "step_decay", "init_value": 0.05, "boundaries": [1], "unit": "epochs"}
  config = tiny_config(npz_path, epochs=2, learning_rate=lr, keep_checkpoints=3)
  with pytest.MonkeyPatch.context() as patch:
    interrupt_after(patch, 1)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "run")
  longer = tiny_config(npz_path, epochs=3, learning_rate=lr, keep_checkpoints=3)
  train(longer, tmp_path / "run", resume=True)  # stretched from epoch 1
  assert len(finished_history(longer, tmp_path / "run")) == 3  # the original spec matches
  with pytest.raises(ValueError, match="holds a run of 3 epochs, not 4: resume it"):
    finished_history(tiny_config(npz_path, epochs=4, learning_rate=lr), tmp_path / "run")


def test_exp_lr_runs_cannot_change_their_budget(tmp_path, npz_path):
  lr = {"name": "exp_lr", "init_value": 0.05, "weight_decay": 5e-4, "momentum": 0.9}
  config = tiny_config(npz_path, epochs=2, learning_rate=lr, weight_decay=0.0,
                       momentum_init="exp_lr")
  with pytest.MonkeyPatch.context() as patch:
    interrupt_after(patch, 1)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "run")
  with pytest.raises(ValueError, match="momentum_init='exp_lr' run cannot change epochs"):
    train(dataclasses.replace(config, epochs=3), tmp_path / "run", resume=True)


def test_directories_created_for_a_refused_run_are_removed(tmp_path, npz_path):
  with pytest.raises(ValueError, match="exceeds"):
    train(tiny_config(npz_path, batch_size=1024), tmp_path / "a/b/c")
  assert not (tmp_path / "a").exists()
