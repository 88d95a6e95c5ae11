"""Suggestions from a range-test curve: fastai's valley and minimum, steepest, bad input;
the range test's linear mode, evaluation curve and stability bound."""

import json
import pathlib
import runpy

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched import lr_range_test, suggest_learning_rate
from lrsched.range_test import range_test_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "tests/data/fastai_suggestions.json").read_text())["curves"]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_valley_and_minimum_equal_fastai(name):
  curve = TABLE[name]
  for method in ("valley", "minimum/10"):
    assert suggest_learning_rate(curve["lrs"], curve["losses"], method) == pytest.approx(
        curve[method], rel=1e-6), method


def test_steepest_and_minimum_on_a_known_curve():
  lrs = np.geomspace(1e-4, 1.0, 50)
  x = np.log(lrs)
  losses = 2.0 - np.tanh(x - np.log(1e-2))  # steepest exactly at 1e-2, falling to the end
  assert suggest_learning_rate(lrs, losses, "steepest") == pytest.approx(1e-2, rel=0.1)
  assert suggest_learning_rate(lrs, losses, "minimum") == lrs[-1]


@pytest.mark.parametrize("lrs, losses, method, match", [
    ([1e-3, 1e-2], [1.0, 0.5], "median", "method must be one of"),
    ([1e-3], [1.0], "valley", "same length >= 2"),
    ([1e-3, 1e-2, 1e-1], [1.0, 0.5], "valley", "same length"),
    ([1e-2, 1e-3], [1.0, 0.5], "valley", "increasing"),
    ([0.0, 1e-3], [1.0, 0.5], "valley", "positive"),
    ([1e-3, 1e-2], [1.0, float("nan")], "valley", "finite"),
    ([1e-3, 1e-2, 1e-1], [1.0, 1.0, 2.0], "valley", "never decrease"),
])
def test_bad_curves_are_named(lrs, losses, method, match):
  with pytest.raises(ValueError, match=match):
    suggest_learning_rate(lrs, losses, method)


def test_linear_mode_and_evaluation_curve():
  def loss_fn(w, batch):  # curvature 4 along every axis
    return 2.0 * jnp.sum((w - batch) ** 2)

  result = lr_range_test(loss_fn, jnp.ones(3), [jnp.zeros(3)], optax.sgd, min_lr=0.01,
                         max_lr=1.0, num_steps=12, mode="linear", smoothing=0.0)
  np.testing.assert_allclose(result.lrs, np.linspace(0.01, 1.0, 12)[:len(result.lrs)])
  assert result.diverged_lr is not None and result.diverged_lr > 0.5  # GD's edge: 2/4
  evaluated = lr_range_test(loss_fn, jnp.ones(3), [jnp.zeros(3)], optax.sgd, min_lr=0.01,
                            max_lr=1.0, num_steps=12, mode="linear", val_batch=jnp.ones(3))
  # On the evaluation batch (the start point itself) the loss grows as w moves away.
  assert evaluated.losses[0] > 0 and evaluated.losses[1] > evaluated.losses[0]


@pytest.mark.slow
def test_ps10_config_steepest_lies_in_the_descent_below_the_stability_bound():
  config = runpy.run_path(str(ROOT / "experiments/configs/ps10_step_decay.py"))["get_config"]()
  result = range_test_config(config, min_lr=1e-7, max_lr=10.0, num_steps=100)
  assert result.ok and result.lambda_max > 0 and "stability bound" in result.message
  # The descending region: where the smoothed loss is below its start and before the minimum.
  start = result.smoothed[0]
  i_steep = int(np.argmin(np.abs(result.lrs - result.steepest_lr)))
  i_min = int(np.nanargmin(result.smoothed))
  assert i_steep < i_min and result.smoothed[i_steep] < start
  assert result.steepest_lr < result.stability_lr
  assert result.valley_lr < result.min_loss_lr
