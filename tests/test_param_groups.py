"""lrsched.param_groups and Config.param_groups: regex groups, their own rates, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched.param_groups import by_regex, group_labels
from lrsched.train import Config
from lrsched.train.optimizer import make_optimizer

PARAMS = {"blocks": {"0": {"conv": {"kernel": jnp.ones((2, 2))}, "norm": {"scale": jnp.ones(2)}}},
          "head": {"kernel": jnp.ones((2, 3)), "bias": jnp.zeros(3)}}


def test_labels_first_match_wins_and_the_rest_is_default():
  labels = group_labels(PARAMS, ["^head/", "kernel$"])
  assert labels["head"]["kernel"] == "group0" and labels["head"]["bias"] == "group0"
  assert labels["blocks"]["0"]["conv"]["kernel"] == "group1"
  assert labels["blocks"]["0"]["norm"]["scale"] == "default"


def test_by_regex_equals_multi_transform_by_hand():
  groups = [("^head/", optax.sgd(0.01, momentum=0.5)), ("norm", optax.adam(1e-3))]
  ours = by_regex(groups, default=optax.sgd(0.1, momentum=0.9))
  labels = jax.tree.map(lambda _: "d", PARAMS)
  labels["head"] = {"kernel": "h", "bias": "h"}
  labels["blocks"]["0"]["norm"]["scale"] = "n"
  theirs = optax.multi_transform({"h": groups[0][1], "n": groups[1][1],
                                  "d": optax.sgd(0.1, momentum=0.9)}, labels)
  grads = jax.tree.map(lambda x: jnp.full_like(x, 0.3), PARAMS)
  s1, s2, p1, p2 = ours.init(PARAMS), theirs.init(PARAMS), PARAMS, PARAMS
  for _ in range(3):
    u1, s1 = ours.update(grads, s1, p1)
    u2, s2 = theirs.update(grads, s2, p2)
    p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
  for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2), strict=True):
    np.testing.assert_array_equal(a, b)


def test_config_groups_take_their_own_schedule_and_settings():
  """A head group with its own step decay and no weight decay, the rest at the config's."""
  head = {"pattern": "^head/", "learning_rate": {"name": "step_decay", "init_value": 0.01,
                                                 "boundaries": [2], "factor": 0.5},
          "weight_decay": 0.0}
  config = Config(learning_rate=0.1, momentum=0.0, weight_decay=0.5, param_groups=[head])
  tx = make_optimizer(config, steps_per_epoch=1)
  state, params = tx.init(PARAMS), PARAMS
  grads = jax.tree.map(jnp.zeros_like, PARAMS)  # only weight decay moves the default group
  for _ in range(3):
    before = params
    updates, state = tx.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(params["head"]["kernel"], before["head"]["kernel"])  # no decay
    np.testing.assert_allclose(params["blocks"]["0"]["conv"]["kernel"],
                               before["blocks"]["0"]["conv"]["kernel"] * (1 - 0.1 * 0.5),
                               rtol=1e-6)
  grads = jax.tree.map(jnp.ones_like, PARAMS)
  updates, _ = tx.update(grads, state, params)  # step 3: the head's rate is 0.01 * 0.5
  np.testing.assert_allclose(updates["head"]["bias"], -0.005, rtol=1e-6)


@pytest.mark.parametrize("groups, match", [
    ([{"learning_rate": 0.1}], r"param_groups\[0\] must be a dict with a 'pattern' key"),
    ([{"pattern": "head", "lr": 0.1}], r"param_groups\[0\]: unknown key\(s\) \['lr'\]"),
    ([{"pattern": "(head"}], "is not a valid regex"),
    ([{"pattern": "head", "learning_rate": -1.0}], r"param_groups\[0\] \('head'\): "
                                                   r"learning_rate must be"),
    ([], "non-empty list of dicts"),
])
def test_config_bad_groups(groups, match):
  with pytest.raises(ValueError, match=match):
    Config(param_groups=groups)


def test_a_pattern_matching_nothing_is_refused_at_init():
  tx = make_optimizer(Config(param_groups=[{"pattern": "^classifier/"}]), steps_per_epoch=1)
  with pytest.raises(ValueError, match=r"pattern '\^classifier/' matches no parameter.*head/"):
    tx.init(PARAMS)


def test_a_training_run_with_a_frozen_head(tmp_path):
  from flax import nnx

  from lrsched.train import train
  from lrsched.train.run_model import build_run_model, load_data
  from tests.train.conftest import tiny_config, write_npz

  data = write_npz(tmp_path / "data.npz")
  config = tiny_config(data, epochs=1, param_groups=[
      {"pattern": "^head/", "learning_rate": 0.0, "weight_decay": 0.0}])
  result = train(config, tmp_path / "run")
  initial = nnx.state(build_run_model(config, load_data(config)[0]), nnx.Param)
  np.testing.assert_array_equal(result.state.params["head"]["kernel"][...],
                                initial["head"]["kernel"][...])
  assert not np.array_equal(result.state.params["stem"]["kernel"][...],
                            initial["stem"]["kernel"][...])
  assert result.history[-1]["learning_rate"] == pytest.approx(0.05)  # the default group's
