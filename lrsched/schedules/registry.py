"""Build any schedule from a plain dict: the format of configs and the CLI.

A spec names a registered schedule and gives its keyword arguments::

    {"name": "one_cycle", "total_steps": 1000, "max_value": 0.1}

Durations may be stated in epochs by adding ``"unit": "epochs"`` and passing
``steps_per_epoch``: every argument that counts steps (boundaries, periods,
``total_steps``, warmups, ...) is multiplied by ``steps_per_epoch`` and rounded to
the nearest step, so ``{"name": "step_decay", "init_value": 0.1, "boundaries":
[30, 60], "unit": "epochs"}`` decays at the first step of epochs 30 and 60. (To
instead step a schedule once per epoch, as PyTorch code calling
``scheduler.step()`` per epoch does, wrap it in :func:`lrsched.per_epoch`.)

Besides lrsched's own schedules the registry holds optax's: ``constant``
(``optax.constant_schedule``), ``cosine_decay``, ``warmup_cosine_decay``,
``linear``, ``exponential_decay`` and ``piecewise_constant``, with optax's
argument names.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping

import optax

from lrsched.schedules import _validation
from lrsched.schedules.budgeted import budgeted, rex
from lrsched.schedules.cyclic import cyclic, cyclic_momentum
from lrsched.schedules.exp_lr import exp_lr, texp
from lrsched.schedules.one_cycle import one_cycle, one_cycle_momentum
from lrsched.schedules.sgdr import sgdr
from lrsched.schedules.step_decay import step_decay
from lrsched.schedules.wsd import wsd

UNITS = ("steps", "epochs")


@dataclasses.dataclass(frozen=True)
class _Entry:
  factory: Callable[..., optax.Schedule]
  step_args: tuple[str, ...]


_REGISTRY: dict[str, _Entry] = {
    "step_decay": _Entry(step_decay, ("boundaries",)),
    "cyclic": _Entry(cyclic, ("step_size_up", "step_size_down")),
    "cyclic_momentum": _Entry(cyclic_momentum, ("step_size_up", "step_size_down")),
    "one_cycle": _Entry(one_cycle, ("total_steps",)),
    "one_cycle_momentum": _Entry(one_cycle_momentum, ("total_steps",)),
    "sgdr": _Entry(sgdr, ("first_period",)),
    "rex": _Entry(rex, ("total_steps",)),
    "budgeted": _Entry(budgeted, ("total_steps", "sample_every")),
    "wsd": _Entry(wsd, ("total_steps", "warmup_steps", "decay_steps")),
    "exp_lr": _Entry(exp_lr, ()),
    "texp": _Entry(texp, ("num_steps",)),
    "constant": _Entry(optax.constant_schedule, ()),
    "cosine_decay": _Entry(optax.cosine_decay_schedule, ("decay_steps",)),
    "warmup_cosine_decay": _Entry(
        optax.warmup_cosine_decay_schedule, ("warmup_steps", "decay_steps")
    ),
    "linear": _Entry(optax.linear_schedule, ("transition_steps", "transition_begin")),
    "exponential_decay": _Entry(
        optax.exponential_decay, ("transition_steps", "transition_begin")
    ),
    "piecewise_constant": _Entry(
        optax.piecewise_constant_schedule, ("boundaries_and_scales",)
    ),
}


def register(
    name: str, factory: Callable[..., optax.Schedule], step_args: tuple[str, ...] = ()
) -> None:
  """Adds a schedule factory to the registry so specs can name it.

  Args:
    name: the spec ``"name"``; must not be registered already.
    factory: a function of keyword arguments returning an ``optax.Schedule``.
    step_args: names of its arguments that count steps (converted when a spec
      is given in epochs).
  """
  if name in _REGISTRY:
    raise ValueError(f"a schedule named {name!r} is already registered")
  _REGISTRY[name] = _Entry(factory, tuple(step_args))


def registered_names() -> list[str]:
  """Names that specs can use, sorted."""
  return sorted(_REGISTRY)


def _in_steps(name: str, value: object, steps_per_epoch: int | None) -> object:
  """Converts one step-counting argument: epochs to steps, JSON keys to ints."""
  if isinstance(value, Mapping):  # piecewise_constant: {boundary: scale}
    return {_in_steps(name, float(k), steps_per_epoch): v for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_in_steps(name, v, steps_per_epoch) for v in value]
  if steps_per_epoch is None or value is None:
    return int(value) if isinstance(value, float) and value.is_integer() else value
  epochs = _validation.in_range(name, value, 0.0)
  return int(round(epochs * steps_per_epoch))


def from_spec(spec: Mapping[str, object], steps_per_epoch: int | None = None) -> optax.Schedule:
  """Builds a schedule from a dict naming it and giving its arguments.

  Args:
    spec: ``{"name": NAME, **kwargs}``, optionally with ``"unit": "epochs"``
      (default ``"steps"``). See :func:`registered_names` for the names.
    steps_per_epoch: optimizer steps per epoch; required when the spec's unit
      is ``"epochs"``.

  Returns:
    The ``optax.Schedule`` built by the named factory.

  Raises:
    ValueError: unknown name or unit, unknown or missing arguments, or any
      invalid argument value (from the factory).

  Example:
    >>> import lrsched
    >>> spec = {"name": "step_decay", "init_value": 0.1, "boundaries": [2],
    ...         "unit": "epochs"}
    >>> schedule = lrsched.from_spec(spec, steps_per_epoch=100)
    >>> print(round(float(schedule(199)), 6), round(float(schedule(200)), 6))
    0.1 0.01
  """
  name, kwargs = resolve_spec(spec, steps_per_epoch)
  return _REGISTRY[name].factory(**kwargs)


def resolve_spec(spec: Mapping[str, object],
                 steps_per_epoch: int | None = None) -> tuple[str, dict[str, object]]:
  """Checks a spec and returns ``(name, kwargs)`` with every duration in steps.

  An argument that is itself a spec (``texp``'s ``schedule``) is built with
  :func:`from_spec` and the same ``steps_per_epoch``.

  This is what :func:`from_spec` passes to the factory; tools that need a
  schedule's structure (e.g. the cycle ends of ``sgdr``/``cyclic`` for snapshot
  ensembles) read it from here.

  Example:
    >>> resolve_spec({"name": "sgdr", "max_value": 0.1, "first_period": 2,
    ...               "unit": "epochs"}, steps_per_epoch=50)
    ('sgdr', {'max_value': 0.1, 'first_period': 100})
  """
  if not isinstance(spec, Mapping) or "name" not in spec:
    raise ValueError(f"spec must be a dict with a 'name' key, got {spec!r}")
  kwargs = dict(spec)
  name = kwargs.pop("name")
  if name not in _REGISTRY:
    raise ValueError(f"spec name must be one of {registered_names()}, got {name!r}")
  unit = _validation.choice("unit", kwargs.pop("unit", "steps"), UNITS)
  for arg, value in kwargs.items():  # a spec inside a spec (texp's schedule) is built first
    if isinstance(value, Mapping) and "name" in value:
      kwargs[arg] = from_spec(value, steps_per_epoch)
  if unit == "epochs":
    if steps_per_epoch is None:
      raise ValueError(f"spec for {name!r} is in epochs: pass steps_per_epoch")
    steps_per_epoch = _validation.integer("steps_per_epoch", steps_per_epoch)
  else:
    steps_per_epoch = None
  entry = _REGISTRY[name]
  signature = inspect.signature(entry.factory)
  unknown = sorted(set(kwargs) - set(signature.parameters))
  if unknown:
    raise ValueError(
        f"spec for {name!r} has unknown argument(s) {unknown}; its arguments are"
        f" {list(signature.parameters)}"
    )
  try:
    signature.bind(**kwargs)
  except TypeError as error:
    raise ValueError(f"spec for {name!r}: {error}") from None
  for arg in entry.step_args:
    if arg in kwargs:
      kwargs[arg] = _in_steps(arg, kwargs[arg], steps_per_epoch)
  return name, kwargs
