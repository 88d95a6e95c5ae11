"""from_spec builds every schedule from a plain dict, in steps or in epochs."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
from lrsched.schedules import describe, optax_names, resolve_spec

COUNTS = jnp.arange(3000)


def same(a, b):
  np.testing.assert_allclose(a(COUNTS), b(COUNTS), rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    ("spec", "direct"),
    [
        ({"name": "step_decay", "init_value": 0.1, "boundaries": [100, 200]},
         lrsched.step_decay(0.1, [100, 200])),
        ({"name": "cyclic", "init_value": 0.0, "peak_value": 1.0, "step_size_up": 30},
         lrsched.cyclic(0.0, 1.0, 30)),
        ({"name": "one_cycle", "total_steps": 1000, "peak_value": 0.1},
         lrsched.one_cycle(1000, 0.1)),
        ({"name": "one_cycle_momentum", "total_steps": 1000},
         lrsched.one_cycle_momentum(1000)),
        ({"name": "sgdr", "peak_value": 0.1, "first_period": 50, "period_mult": 2},
         lrsched.sgdr(0.1, 50, 2)),
        ({"name": "sgdr", "peak_value": 0.1, "first_period": 50, "period_mult": 1.5,
          "end_value": 0.01, "cycle_decay": 0.5, "cycle_limit": 4, "k_decay": 2.0},
         lrsched.sgdr(0.1, 50, 1.5, 0.01, 0.5, 4, 2.0)),
        ({"name": "wsd", "peak_value": 1.0, "total_steps": 900, "warmup_steps": 10,
          "cooldown_steps": 90}, lrsched.wsd(1.0, 900, 10, 90)),
        ({"name": "inverse_sqrt", "peak_value": 1.0, "warmup_steps": 10},
         lrsched.inverse_sqrt(1.0, 10)),
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
               "cooldown_steps": 2, "unit": "epochs"}
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
  # Every lrsched schedule is drawn; of optax's, a selection (all are tested below).
  optax_names_and_short_names = set(optax_names.OPTAX_SCHEDULES) | {
      "constant", "cosine_decay", "warmup_cosine_decay", "linear", "piecewise_constant"}
  assert set(lrsched.registered_names()) - in_gallery <= optax_names_and_short_names
  assert len(in_gallery & optax_names_and_short_names) >= 5
  for name in in_gallery:
    assert name in lrsched.registered_names()


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ({"name": "cosine"}, {}, r"unknown schedule name 'cosine' \(did you mean 'cosine_decay',"
         r" .*\): spec name must be one of \[.*'budgeted'.*\]"),
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
        ({"name": "sgdr", "peak_value": 0.1, "first_period": 2.5}, {},
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


# Every schedule optax exports, by optax's name and arguments: (kwargs, counts compared).
OPTAX_CASES = {
    "constant_schedule": dict(value=0.3),
    "cosine_decay_schedule": dict(init_value=0.1, decay_steps=500, alpha=0.1, exponent=2.0),
    "cosine_onecycle_schedule": dict(transition_steps=1000, peak_value=0.2, pct_start=0.25),
    "exponential_decay": dict(init_value=0.1, transition_steps=100, decay_rate=0.5,
                              transition_begin=50, staircase=True, end_value=0.001),
    "join_schedules": dict(schedules=[optax.constant_schedule(0.1),
                                      optax.linear_schedule(0.1, 0.0, 300)],
                           boundaries=[200]),
    "linear_onecycle_schedule": dict(transition_steps=1000, peak_value=0.2),
    "linear_schedule": dict(init_value=0.1, end_value=0.01, transition_steps=400,
                            transition_begin=100),
    "piecewise_constant_schedule": dict(init_value=0.1,
                                        boundaries_and_scales={300: 0.1, 600: 0.5}),
    "piecewise_interpolate_schedule": dict(interpolate_type="cosine", init_value=0.1,
                                           boundaries_and_scales={300: 2.0, 900: 0.01}),
    "polynomial_schedule": dict(init_value=0.1, end_value=0.001, power=2.0,
                                transition_steps=700, transition_begin=20),
    "sgdr_schedule": dict(cosine_kwargs=[
        dict(init_value=0.0, peak_value=0.1, warmup_steps=50, decay_steps=300),
        dict(init_value=0.01, peak_value=0.05, warmup_steps=20, decay_steps=500,
             end_value=0.001)]),
    "warmup_constant_schedule": dict(init_value=0.0, peak_value=0.1, warmup_steps=120),
    "warmup_cosine_decay_schedule": dict(init_value=0.0, peak_value=0.1, warmup_steps=100,
                                         decay_steps=1000, end_value=0.001, exponent=1.5),
    "warmup_exponential_decay_schedule": dict(init_value=0.0, peak_value=0.1,
                                              warmup_steps=100, transition_steps=200,
                                              decay_rate=0.3, end_value=0.002),
}


def test_every_schedule_optax_exports_is_registered_by_its_optax_name():
  import optax.schedules as optax_schedules

  exported = {
      name for name in dir(optax_schedules)
      if not name.startswith("_") and inspect.isfunction(getattr(optax_schedules, name))
      and name not in ("inject_hyperparams", "inject_stateful_hyperparams")}
  assert exported <= set(OPTAX_CASES) == set(optax_names.OPTAX_SCHEDULES)
  assert set(OPTAX_CASES) <= set(lrsched.registered_names())


@pytest.mark.parametrize("name", sorted(OPTAX_CASES))
def test_optax_names_equal_optax_plain_and_jitted(name):
  kwargs = OPTAX_CASES[name]
  theirs = getattr(optax, name)(**kwargs)
  # Same arguments, same names (the signature is optax's).
  assert list(inspect.signature(optax_names.OPTAX_SCHEDULES[name]).parameters) == list(
      inspect.signature(getattr(optax, name)).parameters)
  ours = lrsched.from_spec({"name": name, **kwargs}) if name != "join_schedules" else (
      lrsched.from_spec({"name": name, "schedules": [0.1, {
          "name": "linear_schedule", "init_value": 0.1, "end_value": 0.0,
          "transition_steps": 300}], "boundaries": [200]}))
  counts = jnp.arange(0, 1300, dtype=jnp.int32)
  # optax itself, count by count (some optax schedules take scalar counts only).
  expected = np.asarray(jax.vmap(lambda c: jnp.asarray(theirs(c)))(counts), np.float64)
  # optax's own float32 formulas round differently under jit (its linear_schedule ends at
  # -2.4e-9 instead of 0): absolute slack of float32 rounding at the schedule's scale.
  atol = 1e-7 * np.abs(expected).max()
  np.testing.assert_allclose(ours(counts), expected, rtol=1e-6, atol=atol)
  jitted = jax.jit(ours)
  np.testing.assert_allclose([float(jitted(c)) for c in counts[::97]], expected[::97],
                             rtol=1e-6, atol=atol)


def test_short_names_are_optax_schedules():
  for short, full in [("constant", "constant_schedule"), ("cosine_decay", "cosine_decay_schedule"),
                      ("warmup_cosine_decay", "warmup_cosine_decay_schedule"),
                      ("linear", "linear_schedule"),
                      ("piecewise_constant", "piecewise_constant_schedule")]:
    assert describe(short)[1] == describe(full)[1]


def test_nested_specs_warmup_and_join_with_epochs_applying_inside():
  spe = 10
  spec = {
      "name": "join", "unit": "epochs", "boundaries": [5, 25],
      "schedules": [
          {"name": "warmup", "warmup_steps": 2, "init_value": 0.01,
           "schedule": {"name": "sgdr", "peak_value": 0.1, "first_period": 1}},
          {"name": "step_decay", "init_value": 0.05, "boundaries": [10]},
          {"name": "rex", "init_value": 0.02, "total_steps": 300, "unit": "steps"},
      ],
  }
  built = lrsched.from_spec(spec, steps_per_epoch=spe)
  direct = lrsched.join([
      lrsched.warmup(lrsched.sgdr(0.1, 10), 20, 0.01),
      lrsched.step_decay(0.05, [100]),
      lrsched.rex(0.02, 300),  # its own unit: steps
  ], [50, 250])
  same(built, direct)
  assert float(built(49)) == pytest.approx(float(lrsched.sgdr(0.1, 10)(29)), rel=1e-6)


def test_nested_spec_may_be_a_number_and_stretch_is_a_spec():
  spec = {"name": "stretch", "from_step": 100, "old_total": 300, "new_total": 600,
          "schedule": {"name": "warmup", "schedule": 0.1, "warmup_steps": 50}}
  built = lrsched.from_spec(spec)
  direct = lrsched.stretch(lrsched.warmup(0.1, 50), 100, 300, 600)
  same(built, direct)
  texp = lrsched.from_spec({"name": "texp", "schedule": 0.1, "weight_decay": 1e-3,
                            "momentum": 0.9, "num_steps": 10})
  assert np.isfinite(float(texp(20)))


def test_epochs_reach_optax_sgdr_schedule_cycles():
  spec = {"name": "sgdr_schedule", "unit": "epochs", "cosine_kwargs": [
      {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 1, "decay_steps": 3}] * 2}
  _, kwargs = resolve_spec(spec, steps_per_epoch=10)
  assert [(k["warmup_steps"], k["decay_steps"]) for k in kwargs["cosine_kwargs"]] == [
      (10, 30), (10, 30)]
  built = lrsched.from_spec(spec, steps_per_epoch=10)
  assert float(built(30)) == pytest.approx(0.0) and float(built(40)) == pytest.approx(0.1)


def test_describe_gives_signature_and_first_docstring_line():
  signature, summary = describe("sgdr")
  assert signature == ("sgdr(peak_value, first_period, period_mult=1.0, end_value=0.0, "
                       "cycle_decay=1.0, cycle_limit=None, k_decay=1.0)")
  assert "timm" in summary
  for name in lrsched.registered_names():
    signature, summary = describe(name)
    assert signature.startswith(f"{name}("), name
    assert summary or name.startswith("test_"), name  # test_*: registered by a test


@pytest.mark.parametrize("name", sorted(OPTAX_CASES))
def test_optax_names_are_finite_at_the_ends_of_the_int32_range(name):
  kwargs = OPTAX_CASES[name]
  schedule = (lrsched.join(kwargs["schedules"], kwargs["boundaries"])
              if name == "join_schedules" else lrsched.from_spec({"name": name, **kwargs}))
  counts = np.array([-5, 0, 2**31 - 2, 2**31 - 1], np.int32)
  for values in (schedule(counts), jax.jit(schedule)(counts), schedule(np.int64(2**40))):
    assert np.all(np.isfinite(np.asarray(values))), values


@pytest.mark.parametrize(("name", "suggested"), [
    ("one_cylce", ["one_cycle"]),
    ("cosine", ["cosine_decay", "warmup_cosine_decay", "cosine_decay_schedule"]),
    ("sgd", ["sgdr", "sgdr_schedule"]),
    ("step", ["step_decay"]),
    ("inverse_sqrt_decay", ["inverse_sqrt"]),
])
def test_a_misspelt_schedule_name_gets_a_did_you_mean_before_the_list(name, suggested):
  with pytest.raises(ValueError) as caught:
    lrsched.from_spec({"name": name, "peak_value": 0.1})
  message = str(caught.value)
  hint, _, listed = message.partition(": spec name must be one of ")
  assert hint.startswith(f"unknown schedule name {name!r} (did you mean ")
  for candidate in suggested:
    assert repr(candidate) in hint
  assert "'join'" not in hint  # "cosine" used to come out as 'cosine_decay' or 'join'
  assert listed.startswith("[") and "'rex'" in listed  # the names are still listed, after it


def test_a_name_with_nothing_close_lists_the_names_without_a_guess():
  with pytest.raises(ValueError, match=r"^unknown schedule name 'zzzz': spec name must be one of"
                                       r" \['budgeted', "):
    lrsched.from_spec({"name": "zzzz"})


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "sgdr", "peak": 0.1, "first_period": 10},
     r"spec for 'sgdr' has unknown argument\(s\) \['peak'\] \(did you mean 'peak_value'\?\);"
     r" its arguments are \['peak_value', 'first_period'"),
    # Ported names: Hugging Face's / optax's decay_steps is wsd's cooldown_steps, ...
    ({"name": "wsd", "peak_value": 0.1, "total_steps": 100, "warmup_steps": 10,
      "decay_steps": 20}, r"\['decay_steps'\] \(did you mean 'cooldown_steps'\?\)"),
    ({"name": "step_decay", "init_value": 0.1, "milestones": [3], "gamma": 0.5},
     r"\['gamma', 'milestones'\] \('gamma': did you mean 'factor'\?\)"
     r" \('milestones': did you mean 'boundaries'\?\); its arguments are"),
    ({"name": "one_cycle", "total_steps": 100, "max_lr": 0.1},
     r"\['max_lr'\] \(did you mean 'peak_value'\?\)"),
    ({"name": "rex", "init_value": 0.1, "total_steps": 10, "zzz": 3},
     r"spec for 'rex' has unknown argument\(s\) \['zzz'\]; its arguments are"),
    ({"name": "rex", "init_value": 0.1, "total_steps": 10, "unit": "epoch"},
     r"unit must be one of \['steps', 'epochs'\], got 'epoch' \(did you mean 'epochs'\?\)"),
    ({"name": "wsd", "peak_value": 0.1, "total_steps": 100, "warmup_steps": 10,
      "cooldown_steps": 20, "cooldown_shape": "cosin"},
     r"cooldown_shape must be one of \['linear', 'cosine', '1-sqrt'\], got 'cosin'"
     r" \(did you mean 'cosine'\?\)"),
])
def test_unknown_arguments_and_choices_get_a_did_you_mean(spec, message):
  with pytest.raises(ValueError, match=message):
    lrsched.from_spec(spec)


def test_the_epochs_message_names_steps_per_epoch():
  # The CLI translates this to --steps-per-epoch; keep the argument's name in it.
  with pytest.raises(ValueError, match=r"^spec for 'rex' is in epochs: pass steps_per_epoch$"):
    lrsched.from_spec({"name": "rex", "init_value": 0.1, "total_steps": 10, "unit": "epochs"})


def test_a_spec_takes_traced_values_and_static_epochs():
  spec = lambda peak: {"name": "rex", "init_value": peak, "total_steps": 2,  # noqa: E731
                       "unit": "epochs"}
  swept = jax.vmap(lambda p: lrsched.from_spec(spec(p), steps_per_epoch=50)(jnp.arange(150)))(
      jnp.asarray([0.1, 0.2]))
  want = [lrsched.from_spec(spec(p), steps_per_epoch=50)(jnp.arange(150)) for p in (0.1, 0.2)]
  # ~30 float32 operations per value, on either path: 2 * 30 roundings apart at most.
  np.testing.assert_allclose(swept, np.stack(want), rtol=2 * 30 * 2.0**-24, atol=1e-12)
  with pytest.raises(ValueError, match=r"total_steps must be a concrete value"):
    jax.jit(lambda n: lrsched.from_spec({**spec(0.1), "total_steps": n}, 50)(3))(2.0)
