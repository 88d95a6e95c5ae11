"""Snapshot ensembles: cycle ends, snapshots taken at them, ensemble accuracy, resume."""

import jax
import numpy as np
import pytest

from lrsched import data as datalib
from lrsched.train import cycle_ends, ensemble_predict, load_snapshot_models, train
from tests.train.conftest import interrupt_after, tiny_config

SGDR = {"name": "sgdr", "peak_value": 0.05, "first_period": 1, "unit": "epochs"}


@pytest.mark.parametrize("spec, total, steps_per_epoch, expected", [
    ({"name": "sgdr", "peak_value": 0.1, "first_period": 10}, 100, None, list(range(10, 101, 10))),
    ({"name": "sgdr", "peak_value": 0.1, "first_period": 10, "period_mult": 2}, 69, None, [10, 30]),
    ({"name": "sgdr", "peak_value": 0.1, "first_period": 2, "period_mult": 3, "unit": "epochs"},
     100, 5, [10, 40]),
    ({"name": "cyclic", "init_value": 0.01, "peak_value": 0.1, "step_size_up": 3}, 20, None,
     [6, 12, 18]),
    ({"name": "cyclic", "init_value": 0.01, "peak_value": 0.1, "step_size_up": 3,
      "step_size_down": 5}, 20, None, [8, 16]),
])
def test_cycle_ends(spec, total, steps_per_epoch, expected):
  assert cycle_ends(spec, total, steps_per_epoch) == expected


def test_cycle_ends_are_where_the_rate_restarts():
  import lrsched
  spec = {"name": "sgdr", "peak_value": 0.1, "first_period": 7, "period_mult": 2}
  values = np.asarray(lrsched.from_spec(spec)(np.arange(200)))
  restarts = [int(c) for c in np.flatnonzero(np.diff(values) > 0) + 1]  # count of a jump up
  assert cycle_ends(spec, 199) == restarts  # state.step after the cycle's last update


def test_snapshots_need_a_cyclic_schedule(npz_path, tmp_path):
  with pytest.raises(ValueError, match="snapshots=True needs an 'sgdr' or 'cyclic'"):
    tiny_config(npz_path, snapshots=True, learning_rate=0.1)
  config = tiny_config(npz_path, snapshots=True, epochs=1,
                       learning_rate={**SGDR, "first_period": 5})
  with pytest.raises(ValueError, match="no cycle of .* ends within"):
    train(config, tmp_path / "run")


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_snapshot_ensemble_end_to_end_and_resume(npz_path, tmp_path):
  config = tiny_config(npz_path, epochs=3, snapshots=True, learning_rate=SGDR)
  result = train(config, tmp_path / "run")
  assert [r["num_snapshots"] for r in result.history] == [1, 2, 3]
  assert len(result.snapshot_models) == 3
  # The last snapshot is the final model (the run ends with a cycle); earlier ones differ.
  from flax import nnx
  final = _leaves(nnx.state(result.model, nnx.Param))
  for a, b in zip(_leaves(nnx.state(result.snapshot_models[-1], nnx.Param)), final, strict=True):
    np.testing.assert_array_equal(a, b)
  first = _leaves(nnx.state(result.snapshot_models[0], nnx.Param))
  assert any(not np.array_equal(a, b) for a, b in zip(first, final, strict=True))
  # Logged accuracies equal an independent ensemble prediction.
  test = datalib.load_dataset(npz_path, "test")
  mean, std = datalib.load_dataset(npz_path, "train").channel_stats()
  images = datalib.normalize(test.images, mean, std)
  probs = ensemble_predict(result.snapshot_models, images)
  np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
  last = result.history[-1]
  assert last["test_ensemble_accuracy"] == pytest.approx(
      np.mean(np.argmax(probs, -1) == test.labels))
  assert last["test_snapshot_accuracy"] == pytest.approx(last["test_accuracy"])
  # Reloaded from disk after the run: the same snapshots, the same ensemble.
  loaded = load_snapshot_models(tmp_path / "run")
  np.testing.assert_array_equal(ensemble_predict(loaded, images), probs)
  # A run without checkpoints: its snapshots still load.
  train(tiny_config(npz_path, epochs=2, snapshots=True, learning_rate=SGDR, checkpoint_every=0),
        tmp_path / "no_checkpoints")
  assert len(load_snapshot_models(tmp_path / "no_checkpoints")) == 2
  # Interrupted after epoch 2 and resumed: the same snapshots and metrics.
  with pytest.MonkeyPatch.context() as patch:
    interrupt_after(patch, 2)
    with pytest.raises(KeyboardInterrupt):
      train(config, tmp_path / "b")
  resumed = train(config, tmp_path / "b", resume=True)
  assert resumed.history[-1]["test_ensemble_accuracy"] == last["test_ensemble_accuracy"]
  assert len(resumed.snapshot_models) == 3
