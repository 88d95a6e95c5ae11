"""Config.plateau and Config.autodecay in training: warmup, logged rate, state in checkpoints."""

import json

import numpy as np
import pytest

from lrsched.train import train
from tests.train.conftest import interrupt_after, tiny_config

WARMUP = {"name": "warmup", "warmup_steps": 16, "init_value": 0.0,
          "schedule": {"name": "constant_schedule", "value": 0.05}}


def test_plateau_after_a_warmup_scales_the_logged_rate(tmp_path, npz_path):
  # Random labels: the test loss hardly improves, so patience 0 reduces nearly every epoch;
  # start=2 ignores the 2 warmup epochs (8 steps each).
  plateau = {"factor": 0.5, "patience": 0, "start": 2, "monitor": "test_loss"}
  config = tiny_config(npz_path, epochs=6, learning_rate=WARMUP, plateau=plateau,
                       checkpoint_every=0)
  history = train(config, tmp_path / "run").history
  scales = [r["plateau_scale"] for r in history]
  assert scales[:2] == [1.0, 1.0] and history[1]["plateau_num_bad"] == 0
  assert np.isinf(history[1]["plateau_best"])  # nothing seen before start
  assert min(scales) < 1.0
  for before, record in zip(history[2:-1], history[3:], strict=True):
    # After the warmup, the rate logged for an epoch is the schedule's 0.05 times the scale
    # decided after the previous epoch.
    assert record["learning_rate"] == pytest.approx(0.05 * before["plateau_scale"], rel=1e-6)
  with pytest.raises(ValueError, match="plateau: monitor must be one of"):
    tiny_config(npz_path, plateau={"monitor": "val_loss"})
  with pytest.raises(ValueError, match="plateau: .*unexpected keyword argument 'patients'"):
    tiny_config(npz_path, plateau={"patients": 3})
  with pytest.raises(ValueError, match="factor must be in"):
    tiny_config(npz_path, plateau={"factor": 2})


def test_autodecay_state_lives_in_the_checkpoint(tmp_path, npz_path, monkeypatch):
  # tolerance 10: every window is stable; drop 0.99: a 1% drop decays. A resumed run is
  # bitwise the straight run, and it keeps its decayed scale even without metrics.jsonl
  # (the state is restored from the checkpoint, not rebuilt from the logged losses).
  ad = {"window": 2, "tolerance": 10.0, "drop": 0.99, "beta": 0.0}
  config = tiny_config(npz_path, epochs=6, learning_rate=WARMUP, autodecay=ad,
                       weight_decay=0.0)
  straight = train(config, tmp_path / "straight").history
  with monkeypatch.context() as patch:
    interrupt_after(patch, 3)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "resumed")
  logged = json.loads((tmp_path / "resumed/autodecay.json").read_text())
  assert logged and logged[0]["action"] == "decay"
  (tmp_path / "resumed/metrics.jsonl").unlink()
  resumed = train(config, tmp_path / "resumed", resume=True).history
  tail = [r for r in straight if r["epoch"] > 3]
  assert [r["epoch"] for r in resumed] == [r["epoch"] for r in tail]
  for a, b in zip(tail, resumed, strict=True):
    assert a["train_loss"] == b["train_loss"] and a["learning_rate"] == b["learning_rate"]
    assert a["autodecay_scale"] == b["autodecay_scale"]
  assert resumed[0]["learning_rate"] < 0.05  # the decayed rate, not the initial one


def test_a_users_callback_sees_steps_and_adds_to_the_records(tmp_path, npz_path):
  from lrsched.train import Callback

  class Counter(Callback):
    def __init__(self):
      self.steps, self.ended = [], False

    def after_step(self, run, step, state):
      self.steps.append(step)

    def after_epoch(self, run, record, state):
      record["steps_seen"] = len(self.steps)
      return state

    def on_train_end(self, run, state):
      self.ended = True

  counter = Counter()
  history = train(tiny_config(npz_path, epochs=2, checkpoint_every=0), tmp_path / "run",
                  callbacks=[counter]).history
  assert counter.steps == list(range(1, 17)) and counter.ended  # 256 / 32 = 8 per epoch
  logged = [json.loads(line) for line in (tmp_path / "run/metrics.jsonl").read_text()
            .splitlines()]
  assert [r["steps_seen"] for r in logged] == [8, 16] == [r["steps_seen"] for r in history]
