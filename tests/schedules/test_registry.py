"""from_spec builds every schedule from a plain dict, in steps or in epochs."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched

COUNTS = jnp.arange(3000)


def same(a, b):
  np.testing.assert_allclose(a(COUNTS), b(COUNTS), rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    ("spec", "direct"),
    [
        ({"name": "step_decay", "init_value": 0.1, "boundaries": [100, 200]},
         lrsched.step_decay(0.1, [100, 200])),
        ({"name": "cyclic", "base_value": 0.0, "max_value": 1.0, "step_size_up": 30},
         lrsched.cyclic(0.0, 1.0, 30)),
        ({"name": "one_cycle", "total_steps": 1000, "max_value": 0.1},
         lrsched.one_cycle(1000, 0.1)),
        ({"name": "one_cycle_momentum", "total_steps": 1000},
         lrsched.one_cycle_momentum(1000)),
        ({"name": "sgdr", "max_value": 0.1, "first_period": 50, "period_mult": 2},
         lrsched.sgdr(0.1, 50, 2)),
        ({"name": "wsd", "peak_value": 1.0, "total_steps": 900, "warmup_steps": 10,
          "decay_steps": 90}, lrsched.wsd(1.0, 900, 10, 90)),
        ({"name": "cosine_decay", "init_value": 0.1, "decay_steps": 500},
         optax.cosine_decay_schedule(0.1, 500)),
        ({"name": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.1,
          "warmup_steps": 50, "decay_steps": 500},
         optax.warmup_cosine_decay_schedule(0.0, 0.1, 50, 500)),
        ({"name": "exponential_decay", "init_value": 0.1, "transition_steps": 100,
          "decay_rate": 0.5}, optax.exponential_decay(0.1, 100, 0.5)),
        ({"name": "linear", "init_value": 0.1, "end_value": 0.0, "transition_steps": 100},
         optax.linear_schedule(0.1, 0.0, 100)),
    ],
)
def test_spec_builds_the_same_schedule(spec, direct):
  same(lrsched.from_spec(spec), direct)


def test_epoch_spec_converts_every_step_argument():
  spe = 391
  in_epochs = {"name": "wsd", "peak_value": 0.1, "total_steps": 7, "warmup_steps": 0.5,
               "decay_steps": 2, "unit": "epochs"}
  same(lrsched.from_spec(in_epochs, steps_per_epoch=spe),
       lrsched.wsd(0.1, 7 * spe, round(0.5 * spe), 2 * spe))
  decay = {"name": "step_decay", "init_value": 0.1, "boundaries": [3, 6], "unit": "epochs"}
  schedule = lrsched.from_spec(decay, steps_per_epoch=spe)
  assert float(schedule(3 * spe - 1)) == pytest.approx(0.1)
  assert float(schedule(3 * spe)) == pytest.approx(0.01)
  piecewise = {"name": "piecewise_constant", "init_value": 1.0,
               "boundaries_and_scales": {"2": 0.5}, "unit": "epochs"}
  schedule = lrsched.from_spec(piecewise, steps_per_epoch=10)
  assert [float(schedule(t)) for t in (19, 20)] == [1.0, 0.5]


def test_per_epoch_steps_once_per_epoch_like_pytorch():
  # PyTorch code calling scheduler.step() after each epoch of 5 steps.
  schedule = lrsched.per_epoch(lrsched.cyclic(0.0, 1.0, 2), steps_per_epoch=5)
  expected = np.repeat([0.0, 0.5, 1.0, 0.5, 0.0], 5)
  np.testing.assert_allclose(schedule(jnp.arange(25)), expected)


def test_every_registered_name_builds_from_a_spec_in_the_gallery():
  from lrsched import plotting

  in_gallery = {spec["name"] for _, lrs, moms in plotting.GALLERY
                for spec in [*lrs.values(), *moms.values()]}
  assert set(lrsched.registered_names()) - in_gallery == {
      "constant", "exponential_decay", "linear", "piecewise_constant"}
  for name in in_gallery:
    assert name in lrsched.registered_names()


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ({"name": "cosine"}, {}, r"spec name must be one of \[.*'budgeted'.*\], got 'cosine'"),
        ({"init_value": 0.1}, {}, r"spec must be a dict with a 'name' key"),
        ({"name": "rex", "init_value": 0.1, "total_steps": 10, "warmup": 3}, {},
         r"spec for 'rex' has unknown argument\(s\) \['warmup'\]; its arguments are"),
        ({"name": "rex", "init_value": 0.1}, {},
         r"spec for 'rex': missing a required argument: 'total_steps'"),
        ({"name": "rex", "init_value": 0.1, "total_steps": 10, "unit": "epochs"}, {},
         r"spec for 'rex' is in epochs: pass steps_per_epoch"),
        ({"name": "rex", "init_value": 0.1, "total_steps": 10, "unit": "hours"}, {},
         r"unit must be one of \['steps', 'epochs'\], got 'hours'"),
        ({"name": "rex", "init_value": 0.1, "total_steps": -2, "unit": "epochs"},
         {"steps_per_epoch": 10}, r"total_steps must be in \[0.0, inf\], got -2"),
        ({"name": "sgdr", "max_value": 0.1, "first_period": 2.5}, {},
         r"first_period must be an integer .* got 2.5"),
    ],
)
def test_bad_specs(spec, kwargs, message):
  with pytest.raises(ValueError, match=message):
    lrsched.from_spec(spec, **kwargs)


def test_register_a_custom_schedule():
  lrsched.register("test_half", lambda value, steps: lambda c: value * 0.5 ** (c / steps),
                   step_args=("steps",))
  schedule = lrsched.from_spec({"name": "test_half", "value": 2.0, "steps": 1,
                                "unit": "epochs"}, steps_per_epoch=4)
  assert float(schedule(4)) == pytest.approx(1.0)
  with pytest.raises(ValueError, match="already registered"):
    lrsched.register("test_half", lambda: None)
