"""A Config builds its schedule specs and checks its names when it is made (issue 24, 2 and 7).

A learning-rate or momentum spec is built by :class:`Config` with the code path training takes
(:func:`lrsched.train.specs.config_schedule`), so a spec that would fail when training
starts fails at ``Config(...)``; its values are checked against the field's range. Unknown
config fields, model names and arguments and optimizer names come with a "did you mean".
"""

import dataclasses
import inspect

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched import schedules
from lrsched.models import build_model, check_model_spec, model_names
from lrsched.schedules import registry
from lrsched.train import Config
from lrsched.train import specs as specs_lib
from lrsched.train.config import apply_overrides

# Notebook 02's WSD spec as it was (cell 7): ``decay_steps`` is optax's name, not wsd's.
NOTEBOOK_02_WSD = {"name": "wsd", "peak_value": 0.1, "total_steps": 4, "warmup_steps": 0.2,
                   "decay_steps": 0.8, "unit": "epochs"}


def test_a_spec_with_a_wrong_argument_fails_at_config_not_at_training():
  with pytest.raises(ValueError, match=r"learning_rate: spec for 'wsd' has unknown "
                                       r"argument\(s\) \['decay_steps'\]"):
    Config(learning_rate=NOTEBOOK_02_WSD)
  fixed = {**NOTEBOOK_02_WSD, "cooldown_steps": NOTEBOOK_02_WSD["decay_steps"]}
  del fixed["decay_steps"]
  Config(learning_rate=fixed, epochs=4)  # the notebook's spec as it is now


def test_config_and_training_build_a_spec_the_same_way():
  """The error at Config(...) is the one make_optimizer gives: one code path."""
  with pytest.raises(ValueError) as at_config:
    Config(learning_rate=NOTEBOOK_02_WSD)
  with pytest.raises(ValueError) as at_training:
    specs_lib.config_schedule("learning_rate", NOTEBOOK_02_WSD, steps_per_epoch=16)
  assert str(at_config.value) == str(at_training.value)


@pytest.mark.parametrize("spec", [
    {"name": "constant", "value": -0.1},
    {"name": "cosine_decay", "init_value": -0.1, "decay_steps": 100},
    {"name": "cosine_decay", "init_value": -0.1, "decay_steps": 10, "unit": "epochs"},
    {"name": "warmup_cosine_decay", "init_value": -0.1, "peak_value": 0.1, "warmup_steps": 5,
     "decay_steps": 50},
], ids=["constant", "cosine", "cosine_epochs", "warmup_from_negative"])
def test_a_learning_rate_spec_that_is_negative_at_the_start_is_refused(spec):
  """``learning_rate=-0.1`` is refused; so is a spec whose values are -0.1."""
  value = float(schedules.from_spec(spec, 1)(0))
  assert value < 0
  with pytest.raises(ValueError, match=rf"learning_rate: the schedule's value at step 0 "
                                       rf"(\(epoch 0, .*\) )?is {value:.6g}; a learning rate "
                                       r"must be >= 0"):
    Config(learning_rate=spec)


def test_a_builder_that_refuses_a_negative_value_names_the_field():
  with pytest.raises(ValueError, match=r"learning_rate: peak_value must be in \(0.0, inf\]"):
    Config(learning_rate={"name": "one_cycle", "peak_value": -0.1, "total_steps": 1000})


def test_a_schedule_that_turns_negative_late_is_caught_near_where_it_does():
  """A linear 0.1 -> -0.1 over 10,000 steps crosses 0 at step 5,000: past the dense range
  (4,096 steps), the sample (every 10,000/4,096 < 3 steps) finds it within 3 steps."""
  spec = {"name": "linear", "init_value": 0.1, "end_value": -0.1, "transition_steps": 10_000}
  with pytest.raises(ValueError, match=r"learning_rate: the schedule's value at step") as error:
    Config(learning_rate=spec)
  message = str(error.value)
  step = int(message.split("at step ")[1].split()[0])
  value = float(message.split(" is ")[1].split(";")[0])
  assert 5_000 < step <= 5_003
  # The value there, computed in float32 as 0.1 + (-0.2) * (step / 10_000): a few roundings of
  # numbers <= 0.2, so within 4 ulps of 0.2 (~6e-9) of the exact value; the message has 6
  # significant digits (|value| ~ 1e-4: 1e-10).
  exact = 0.1 - 0.2 * step / 10_000
  assert abs(value - exact) <= 4 * np.finfo(np.float32).eps * 0.2 + 1e-10


def test_a_jump_below_zero_at_a_far_boundary_is_found_at_that_step():
  """join at step 100,000 (far past the dense range): the boundary itself is checked."""
  spec = {"name": "join", "boundaries": [100_000],
          "schedules": [0.1, {"name": "constant", "value": -0.1}]}
  with pytest.raises(ValueError, match=r"value at step 100000 is -0.1;"):
    Config(learning_rate=spec)


def test_a_spec_in_epochs_is_checked_at_a_stand_in_steps_per_epoch():
  spec = {"name": "linear", "init_value": 0.1, "end_value": -0.1, "transition_steps": 10,
          "unit": "epochs"}
  # 0.1 - 0.02 t < 0 from epoch 6 on (epoch 5 is exactly 0 up to float32 rounding).
  with pytest.raises(ValueError, match=r"learning_rate: the schedule's value at step 6 "
                                       r"\(epoch 6, at a stand-in 1 step\(s\) per epoch\) is "
                                       r"-0.02"):
    Config(learning_rate=spec, epochs=10)


def test_a_duration_too_short_at_one_step_per_epoch_is_built_at_a_finer_stand_in():
  """1cycle over 1 epoch is 1 step at 1 step per epoch (refused: it needs 2); at the real
  steps per epoch it is fine, so the Config accepts it and training builds it."""
  spec = {"name": "one_cycle", "peak_value": 0.1, "total_steps": 1, "unit": "epochs"}
  with pytest.raises(ValueError, match="total_steps"):
    schedules.from_spec(spec, 1)
  config = Config(learning_rate=spec, epochs=1)
  schedule = specs_lib.config_schedule("learning_rate", config.learning_rate, 50)
  peak = max(float(schedule(t)) for t in range(50))  # 50 steps at 50 steps per epoch
  assert peak == pytest.approx(0.1, rel=1e-6)


@pytest.mark.parametrize("spec, message", [
    ({"name": "constant", "value": 1.0}, r"at step 0 is 1; a momentum must be in \[0, 1\)"),
    ({"name": "constant", "value": -0.1}, r"at step 0 is -0.1; a momentum must be in"),
    ({"name": "linear", "init_value": 0.9, "end_value": 1.2, "transition_steps": 5,
      "unit": "epochs"}, r"at step 2 \(epoch 2, .*\) is 1.02; a momentum must be in \[0, 1\)"),
])
def test_a_momentum_spec_outside_0_1_is_refused(spec, message):
  with pytest.raises(ValueError, match="momentum: the schedule's value " + message):
    Config(momentum=spec)


def test_a_nan_value_is_refused(monkeypatch):
  """A (test-only) schedule that turns NaN at a far step: the spec's numbers are checked."""
  def nan_from(start):
    return lambda step: jnp.where(step < start, 0.1, jnp.nan)

  monkeypatch.setitem(registry._REGISTRY, "nan_from", registry._Entry(nan_from, ("start",)))
  with pytest.raises(ValueError, match=r"learning_rate: the schedule's value at step 54321 is "
                                       r"nan"):
    Config(learning_rate={"name": "nan_from", "start": 54_321})


@pytest.mark.parametrize("spec", [
    # decays to exactly 0: float32 rounding may put it a few ulps below, which is allowed
    {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 1000},
    {"name": "linear", "init_value": 0.1, "end_value": 0.0, "transition_steps": 7},
    # grows exponentially and overflows float32 to +inf after ~10**5 steps, by design
    {"name": "exp_lr", "init_value": 0.1, "weight_decay": 5e-4, "momentum": 0.9},
    {"name": "texp", "schedule": {"name": "step_decay", "init_value": 0.1, "boundaries": [2]},
     "weight_decay": 5e-4, "momentum": 0.9, "num_steps": 4, "unit": "epochs"},
    {"name": "sgdr", "peak_value": 0.1, "first_period": 4 / 7, "period_mult": 2,
     "unit": "epochs"},
])
def test_valid_specs_are_accepted(spec):
  Config(learning_rate=spec, epochs=4)


def test_the_check_samples_every_step_of_a_short_schedule():
  steps = specs_lib._steps_to_check([0.1, 300.0, 4.0])
  assert set(range(4097)) <= set(steps.tolist())
  assert {301, 600, 3000, 10**6} <= set(steps.tolist())  # past the end
  long = specs_lib._steps_to_check([123_457.0])
  assert {123_456, 123_457, 123_458, 246_914, 1_234_570} <= set(long.tolist())
  assert np.max(np.diff(np.unique(long[long <= 123_457]))) <= 123_457 / 4096 + 1


def test_a_spec_is_built_once_however_often_the_config_is_remade(monkeypatch):
  spec = {"name": "step_decay", "init_value": 0.1, "boundaries": [3, 7], "unit": "epochs"}
  Config(learning_rate=spec, epochs=9)
  calls = []
  monkeypatch.setattr(specs_lib, "from_spec",
                      lambda *args: calls.append(args) or schedules.from_spec(*args))
  config = Config(learning_rate=dict(spec), epochs=9)
  dataclasses.replace(config, seed=3)
  apply_overrides(config, ["seed=4"])
  assert calls == []
  with pytest.raises(ValueError):  # a failed check is not cached: it fails every time
    Config(learning_rate={"name": "constant", "value": -0.1})
  with pytest.raises(ValueError):
    Config(learning_rate={"name": "constant", "value": -0.1})
  assert len(calls) == 2


# -- "did you mean" --------------------------------------------------------------------------

def test_an_unknown_override_field_suggests_the_close_one():
  with pytest.raises(ValueError, match=r"unknown config field 'epoch' in override 'epoch=3' "
                                       r"\(did you mean 'epochs'\?\)"):
    apply_overrides(Config(), ["epoch=3"])


def test_an_unknown_config_keyword_suggests_the_close_one():
  with pytest.raises(TypeError, match=r"unexpected keyword argument 'learningrate' \(did you "
                                      r"mean 'learning_rate'\?\)"):
    Config(learningrate=0.1)
  assert "learning_rate" in inspect.signature(Config).parameters  # help(Config) still reads


def test_model_names_and_arguments_suggest_the_close_one():
  with pytest.raises(ValueError, match=r"model name must be one of .*got 'wide_resent' "
                                       r"\(did you mean 'wide_resnet'"):
    Config(model={"name": "wide_resent", "depth": 10, "widen_factor": 1})
  with pytest.raises(ValueError, match=r"model 'wide_resnet': unknown argument\(s\) "
                                       r"\['widen_factr'\] \(did you mean 'widen_factor'\?\)"):
    Config(model={"name": "wide_resnet", "depth": 10, "widen_factr": 1})
  with pytest.raises(ValueError, match=r"\['dept', 'widen'\]; 'dept' \(did you mean 'depth'\?\); "
                                       r"'widen' \(did you mean 'widen_factor'\?\)"):
    build_model("wide_resnet", dept=10, widen=1)
  with pytest.raises(ValueError, match=r"model 'mlp': unknown argument\(s\) \['widen_factor'\] "
                                       r"\(it takes \['width'"):
    check_model_spec("mlp", {"widen_factor": 2})
  assert {"wide_resnet", "preresnet", "mlp"} <= set(model_names())


def test_optimizer_names_and_arguments_suggest_the_close_one():
  with pytest.raises(ValueError, match=r"optimizer must be 'sgd' or the name of an optax "
                                       r"optimizer .*got 'adamx' \(did you mean 'adam"):
    Config(optimizer="adamx")
  with pytest.raises(ValueError, match=r"optax.adamw has no argument\(s\) \['weight_dacay'\] "
                                       r"\(did you mean 'weight_decay'\?\)"):
    Config(optimizer="adamw", optimizer_kwargs={"weight_dacay": 1e-4})
  names = specs_lib.optax_optimizer_names()
  assert {"adamw", "lamb", "sgd", "lion"} <= set(names)
  assert not {"chain", "scale_by_adam", "scale_by_learning_rate"} & set(names)
  with pytest.raises(ValueError, match="got 'chain'"):  # callable, but not an optimizer
    Config(optimizer="chain")
