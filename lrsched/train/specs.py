"""A config's values as optax takes them, checked when the :class:`~lrsched.train.Config` is made.

:func:`config_schedule` builds a ``learning_rate``/``momentum`` field (a float or a schedule
spec), both when the Config is made (:func:`check_config_schedule`, which also refuses values
out of range) and when training starts (:func:`lrsched.train.optimizer.make_optimizer`);
:func:`optax_optimizer` resolves an ``optimizer`` name and its ``optimizer_kwargs``. Nothing
here needs a Config, so ``config.py`` imports this module and not the optimizer's.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched.names import did_you_mean, did_you_mean_each
from lrsched.schedules import from_spec

# The values a schedule field may take: (low, high, high included, in words).
FIELD_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "learning_rate": (0.0, math.inf, True, "a learning rate must be >= 0"),
    "momentum": (0.0, 1.0, False, "a momentum must be in [0, 1)"),
}
# Steps per epoch a spec in epochs is built with when a Config is checked: the data (hence the
# real steps per epoch) is not loaded yet. 1 first (the error then counts epochs); 1000 only when
# a duration rounds to too few steps at 1 (e.g. ``warmup_steps=0.2`` epochs).
STAND_IN_STEPS_PER_EPOCH = (1, 1000)
# Every step up to this one is checked; past it, a dense sample (see check_config_schedule).
_DENSE_STEPS = 4096


def config_schedule(field: str, value: float | Mapping[str, Any],
                    steps_per_epoch: int | None) -> optax.ScalarOrSchedule:
  """A config's ``learning_rate`` or ``momentum``: a float, or the schedule its spec names.

  Args:
    field: the config field (named in errors).
    value: a number or a spec for :func:`lrsched.from_spec`.
    steps_per_epoch: converts a spec in epochs.

  Returns:
    ``float(value)`` or the ``optax.Schedule``.

  Raises:
    ValueError: the spec does not build (the builder's message, prefixed by ``field``).

  Example:
    >>> config_schedule("learning_rate", {"name": "wsd", "peak_value": 0.1, "total_steps": 10,
    ...                                   "warmup_steps": 1, "decay_steps": 2}, None)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate: spec for 'wsd' has unknown argument(s) ['decay_steps']...
  """
  if not isinstance(value, Mapping):
    return float(value)
  try:
    return from_spec(value, steps_per_epoch)
  except ValueError as error:
    raise ValueError(f"{field}: {error}") from None


def check_config_schedule(field: str, value: Mapping[str, Any], epochs: int = 1) -> None:
  """Builds a config's schedule spec and checks its values, as a Config does when made.

  The spec is built with :func:`config_schedule` (the path training takes), so a spec that
  would fail when training starts fails here with the same message. A spec in epochs
  (``"unit": "epochs"``, at any depth) needs the steps per epoch, which are not known before
  the data is loaded: it is built with a stand-in of 1 step per epoch for this check only
  (and 1000 when a duration rounds to too few steps at 1); training builds it again with the
  real number.

  The schedule's values must lie in the field's range (``FIELD_RANGES``: a learning rate
  >= 0, a momentum in [0, 1)) and not be NaN. A learning rate may reach ``+inf``: ``exp_lr``
  grows exponentially and overflows float32 after ~10**5 steps, by design (see
  ``lrsched.scale_invariance.renormalize``). With ``H`` the largest number in the spec or
  ``epochs`` (times the stand-in, for a spec in epochs): every step ``0 .. 4096`` is checked,
  so all of a schedule with ``H <= 4096``; a longer one also at 4097 evenly spaced steps of
  ``[0, H]`` and at every number in the spec and its neighbours (the boundaries and ends).
  Steps past the end (``H + 1``, ``2 H``, ``10 H``, ``10**6``) are checked too: a run
  extended on resume goes there. A float32 schedule that reaches 0 may
  round to a value a few float32 ulps below it; a shortfall below
  ``16 * eps(float32) * max |value|`` is taken as 0.

  Args:
    field: ``"learning_rate"`` or ``"momentum"``.
    value: the spec (a dict with a ``"name"``).
    epochs: the run's epochs (reached at least, for a spec in epochs).

  Raises:
    ValueError: the spec does not build, or a value is out of range: the error names the
      field, the step (and the epoch, for a spec in epochs) and the value.

  Example:
    >>> check_config_schedule("learning_rate", {"name": "constant", "value": -0.1})
    Traceback (most recent call last):
    ...
    ValueError: learning_rate: the schedule's value at step 0 is -0.1; a learning rate must be >= 0 (spec {'name': 'constant', 'value': -0.1})
  """  # noqa: E501
  try:
    key = json.dumps(value, sort_keys=True, default=repr)
  except (TypeError, ValueError):  # e.g. keys of mixed types: check without the cache
    key = None
  if key is not None and (field, key, epochs) in _CHECKED:
    return
  _check_schedule(field, value, epochs)
  if key is not None and len(_CHECKED) < 4096:
    _CHECKED.add((field, key, epochs))  # a spec that passed (a failed one raises every time)


# The (field, spec as JSON, epochs) that passed check_config_schedule: a Config is checked
# again on every dataclasses.replace and override; its schedules need building only once.
_CHECKED: set[tuple[str, str, int]] = set()


def _check_schedule(field: str, value: Mapping[str, Any], epochs: int) -> None:
  in_epochs = _mentions_epochs(value)
  stand_ins = STAND_IN_STEPS_PER_EPOCH if in_epochs else (None,)
  first_error = None
  for steps_per_epoch in stand_ins:
    try:
      schedule = config_schedule(field, value, steps_per_epoch)
      break
    except ValueError as error:
      first_error = first_error or error
  else:
    raise first_error
  scale = steps_per_epoch or 1
  numbers = [n * scale for n in _numbers(value)] + [epochs * scale if in_epochs else 0]
  steps = _steps_to_check(numbers)
  with jax.default_device(jax.devices("cpu")[0]):
    values = np.asarray(jax.vmap(schedule)(jnp.asarray(steps, jnp.int32)), np.float64)
  values = values.reshape(len(steps), -1)  # a schedule gives a scalar: one column
  low, high, high_ok, allowed = FIELD_RANGES[field]
  finite = np.isfinite(values)
  slack = 16 * float(np.finfo(np.float32).eps) * float(np.max(np.abs(values[finite]), initial=0))
  above = (values > high) if high_ok else (values >= high)
  bad = np.isnan(values) | (values < low - slack) | above
  if bad.any():
    i, j = np.unravel_index(int(np.argmax(bad)), bad.shape)
    values = values[:, j]
    where = f"step {steps[i]}"
    if in_epochs:
      where += f" (epoch {steps[i] / scale:g}, at a stand-in {scale} step(s) per epoch)"
    raise ValueError(f"{field}: the schedule's value at {where} is {values[i]:.6g}; "
                     f"{allowed} (spec {dict(value)!r})")


def _mentions_epochs(value: object) -> bool:
  if isinstance(value, Mapping):
    return value.get("unit") == "epochs" or any(_mentions_epochs(v) for v in value.values())
  if isinstance(value, list | tuple):
    return any(_mentions_epochs(v) for v in value)
  return False


def _numbers(value: object) -> list[float]:
  """Every finite real number in a spec (values, list items, numeric dict keys)."""
  if isinstance(value, bool):
    return []
  if isinstance(value, int | float):
    return [float(value)] if math.isfinite(value) else []
  if isinstance(value, Mapping):
    found = [n for v in value.values() for n in _numbers(v)]
    for k in value:
      try:
        found += _numbers(float(k))
      except (TypeError, ValueError):
        pass
    return found
  if isinstance(value, list | tuple):
    return [n for v in value for n in _numbers(v)]
  return []


def _steps_to_check(numbers: list[float]) -> np.ndarray:
  """All steps to ``max(4096, H)``, else a dense sample and the spec's numbers; then past H."""
  limit = 2**30  # far below int32's end: a schedule's ``step + 1`` must not wrap around
  horizon = int(min(max([abs(n) for n in numbers] + [0.0]), limit))
  if horizon <= _DENSE_STEPS:
    steps = np.arange(_DENSE_STEPS + 1)
  else:
    marks = np.round(np.minimum(np.abs(numbers), limit)).astype(np.int64)
    steps = np.concatenate([np.arange(_DENSE_STEPS + 1),
                            np.round(np.linspace(0, horizon, _DENSE_STEPS + 1)).astype(np.int64),
                            marks - 1, marks, marks + 1])
  past = np.array([horizon + 1, 2 * horizon, 10 * horizon, 10**6], np.int64)
  steps = np.unique(np.clip(np.concatenate([steps, past]), 0, limit))
  # A fixed length (a power of two) keeps JAX's per-shape caches warm across configs.
  size = 1 << int(np.ceil(np.log2(len(steps))))
  return np.concatenate([steps, np.full(size - len(steps), steps[-1])])


SCHEDULE_FREE = ("schedule_free_sgd", "schedule_free_adamw")
"""The ``optax.contrib`` optimizers a config may name (Defazio et al. 2024): their
evaluation point is ``optax.contrib.schedule_free_eval_params``, which the training loop
evaluates as the run's averaged model (``avg_*`` metrics). The rate reaches them through
``optax.inject_hyperparams`` as a number per step, so a schedule (a warmup) gives each
step one rate for both its step and its averaging weight, as the authors' algorithm does;
handing the schedule itself to ``optax.contrib.schedule_free_sgd`` weights step ``t`` by
the rate of ``t + 1`` (its ``step_count`` starts at 1; optax 0.2.8), a different sequence
under a warmup (tests/train/test_averaging_run.py)."""


def optax_optimizer_names() -> list[str]:
  """The optax optimizers a config may name: optax's functions taking a ``learning_rate``,
  and :data:`SCHEDULE_FREE` from ``optax.contrib``.

  (``scale_by_*`` transformations excluded; ``"sgd"`` in a config is
  :func:`sgd_with_weight_decay`, PyTorch's coupled weight decay.)
  """
  names = []
  for name in dir(optax):
    factory = getattr(optax, name)
    if name.startswith(("_", "scale_by")) or isinstance(factory, type) or not callable(factory):
      continue
    try:
      if "learning_rate" in inspect.signature(factory).parameters:
        names.append(name)
    except (TypeError, ValueError):
      continue
  return sorted(names + list(SCHEDULE_FREE))


def optax_optimizer(name: str, kwargs: Mapping[str, Any] = ()) -> Any:
  """The optax factory a config's ``optimizer`` names, its ``optimizer_kwargs`` checked.

  Raises:
    ValueError: not an optax optimizer, or keyword arguments it does not take (each with
      a "did you mean").

  Example:
    >>> optax_optimizer("adamw", {"b1": 0.9}).__name__
    'adamw'
    >>> optax_optimizer("adamx")
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be 'sgd' or the name of an optax optimizer [...], got 'adamx' (did you mean 'adamax', ...?)
  """  # noqa: E501
  choices = optax_optimizer_names()
  if name not in choices:
    raise ValueError(f"optimizer must be 'sgd' or the name of an optax optimizer {choices}, "
                     f"got {name!r}{did_you_mean(name, choices)}")
  factory = getattr(optax.contrib if name in SCHEDULE_FREE else optax, name)
  allowed = sorted(set(inspect.signature(factory).parameters) - {"learning_rate"})
  unknown = sorted(set(kwargs) - set(allowed))
  if unknown:
    raise ValueError(f"optimizer_kwargs: optax.{name} has no argument(s) {unknown}"
                     f"{did_you_mean_each(unknown, allowed)}; "
                     f"it takes {allowed}")
  return factory
