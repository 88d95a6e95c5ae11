"""Build any schedule from a plain dict: the format of configs and the CLI.

A spec names a registered schedule and gives its keyword arguments::

    {"name": "one_cycle", "total_steps": 1000, "peak_value": 0.1}

Specs nest: an argument that is a schedule (``warmup``'s and ``stretch``'s
``schedule``, ``join``'s ``schedules``, ``texp``'s ``schedule``) may be a spec
itself (or a number, for a constant)::

    {"name": "warmup", "warmup_steps": 500,
     "schedule": {"name": "sgdr", "peak_value": 0.1, "first_period": 2000}}
    {"name": "join", "boundaries": [1000],
     "schedules": [{"name": "linear_schedule", "init_value": 0.0, "end_value": 0.1,
                    "transition_steps": 1000},
                   {"name": "rex", "init_value": 0.1, "total_steps": 9000}]}

Durations may be stated in epochs by adding ``"unit": "epochs"`` and passing
``steps_per_epoch``: every argument that counts steps (boundaries, periods,
``total_steps``, warmups, ...) is multiplied by ``steps_per_epoch`` and rounded to
the nearest step, so ``{"name": "step_decay", "init_value": 0.1, "boundaries":
[30, 60], "unit": "epochs"}`` decays at the first step of epochs 30 and 60. The
unit applies inside: a nested spec without its own ``"unit"`` takes its
parent's. (To instead step a schedule once per epoch, as PyTorch code calling
``scheduler.step()`` per epoch does, wrap it in :func:`lrsched.per_epoch`.)

Besides lrsched's own schedules the registry holds every schedule optax exports,
under optax's name and with optax's arguments (``warmup_cosine_decay_schedule``,
``polynomial_schedule``, ``linear_onecycle_schedule``, ...; see
:mod:`lrsched.schedules.optax_names`), and the short names ``constant``,
``cosine_decay``, ``warmup_cosine_decay``, ``linear`` and ``piecewise_constant``
for five of them.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping

import optax

from lrsched.names import did_you_mean
from lrsched.schedules import _validation, optax_names
from lrsched.schedules.budgeted import budgeted, rex
from lrsched.schedules.compose import join, stretch, warmup
from lrsched.schedules.cyclic import cyclic, cyclic_momentum
from lrsched.schedules.exp_lr import exp_lr, texp
from lrsched.schedules.inverse_sqrt import inverse_sqrt
from lrsched.schedules.noise import timm_noise
from lrsched.schedules.one_cycle import one_cycle, one_cycle_momentum
from lrsched.schedules.sgdr import sgdr, tanh_decay
from lrsched.schedules.step_decay import step_decay
from lrsched.schedules.wsd import wsd, wsd_s

UNITS = ("steps", "epochs")

PORTED_ARGUMENTS = {
    "decay_steps": "cooldown_steps",  # wsd: optax's decay_steps is a schedule's total length
    "num_decay_steps": "cooldown_steps",
    "num_warmup_steps": "warmup_steps",
    "num_training_steps": "total_steps",
    "max_lr": "peak_value",
    "base_lr": "init_value",
    "eta_min": "end_value",
    "lr_min": "end_value",
    "milestones": "boundaries",
    "gamma": "factor",
    "T_0": "first_period",
    "T_mult": "period_mult",
    "t_initial": "first_period",
    "cycle_mul": "period_mult",
}
"""PyTorch's, timm's and Hugging Face's argument names -> lrsched's, for "did you mean"."""


@dataclasses.dataclass(frozen=True)
class _Entry:
  factory: Callable[..., optax.Schedule]
  step_args: tuple[str, ...]
  # Arguments holding lists of dicts whose keys count steps (optax's sgdr_schedule).
  nested_step_args: tuple[tuple[str, tuple[str, ...]], ...] = ()


_OPTAX_STEP_ARGS: dict[str, tuple[str, ...]] = {
    "constant_schedule": (),
    "cosine_decay_schedule": ("decay_steps",),
    "cosine_onecycle_schedule": ("transition_steps",),
    "exponential_decay": ("transition_steps", "transition_begin"),
    "join_schedules": ("boundaries",),
    "linear_onecycle_schedule": ("transition_steps",),
    "linear_schedule": ("transition_steps", "transition_begin"),
    "piecewise_constant_schedule": ("boundaries_and_scales",),
    "piecewise_interpolate_schedule": ("boundaries_and_scales",),
    "polynomial_schedule": ("transition_steps", "transition_begin"),
    "sgdr_schedule": (),
    "warmup_constant_schedule": ("warmup_steps",),
    "warmup_cosine_decay_schedule": ("warmup_steps", "decay_steps"),
    "warmup_exponential_decay_schedule": ("warmup_steps", "transition_steps",
                                          "transition_begin"),
}
_SHORT_NAMES = {
    "constant": "constant_schedule",
    "cosine_decay": "cosine_decay_schedule",
    "warmup_cosine_decay": "warmup_cosine_decay_schedule",
    "linear": "linear_schedule",
    "piecewise_constant": "piecewise_constant_schedule",
}

_REGISTRY: dict[str, _Entry] = {
    "step_decay": _Entry(step_decay, ("boundaries",)),
    "cyclic": _Entry(cyclic, ("step_size_up", "step_size_down")),
    "cyclic_momentum": _Entry(cyclic_momentum, ("step_size_up", "step_size_down")),
    "one_cycle": _Entry(one_cycle, ("total_steps",)),
    "one_cycle_momentum": _Entry(one_cycle_momentum, ("total_steps",)),
    "sgdr": _Entry(sgdr, ("first_period",)),
    "tanh_decay": _Entry(tanh_decay, ("first_period",)),
    "rex": _Entry(rex, ("total_steps",)),
    "budgeted": _Entry(budgeted, ("total_steps", "sample_every")),
    "wsd": _Entry(wsd, ("total_steps", "warmup_steps", "cooldown_steps")),
    "wsd_s": _Entry(wsd_s, ("boundaries", "cooldown_steps", "warmup_steps")),
    # in epochs the noise index is the epoch: noise_range stays, noise_every becomes steps
    "timm_noise": _Entry(timm_noise, ("noise_every",)),
    "inverse_sqrt": _Entry(inverse_sqrt, ("warmup_steps", "timescale")),
    "warmup": _Entry(warmup, ("warmup_steps",)),
    "join": _Entry(join, ("boundaries",)),
    "stretch": _Entry(stretch, ("from_step", "old_total", "new_total")),
    "exp_lr": _Entry(exp_lr, ()),
    "texp": _Entry(texp, ("num_steps",)),
}
for _name, _factory in optax_names.OPTAX_SCHEDULES.items():
  _REGISTRY[_name] = _Entry(
      _factory, _OPTAX_STEP_ARGS[_name],
      (("cosine_kwargs", ("warmup_steps", "decay_steps")),) if _name == "sgdr_schedule" else ())
for _short, _name in _SHORT_NAMES.items():
  _REGISTRY[_short] = _REGISTRY[_name]


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
  if not isinstance(name, str):
    raise ValueError(f"name must be a string, got {name!r}")
  if name in _REGISTRY:
    raise ValueError(f"a schedule named {name!r} is already registered")
  _REGISTRY[name] = _Entry(factory, tuple(step_args))


def registered_names() -> list[str]:
  """Names that specs can use, sorted."""
  return sorted(_REGISTRY)


def describe(name: str) -> tuple[str, str]:
  """``(signature, summary)`` of a registered name: its arguments and first docstring line.

  Example:
    >>> describe("rex")
    ('rex(init_value, total_steps, end_value=0.0, beta=0.5)', 'REX: the reflected-exponential profile (Chen, Wolfe & Kyrillidis, 2022).')
  """  # noqa: E501
  factory = _REGISTRY[name].factory
  try:
    parameters = inspect.signature(factory).parameters.values()
    arguments = ", ".join(str(p.replace(annotation=inspect.Parameter.empty)) for p in parameters)
  except (TypeError, ValueError):
    arguments = "..."
  doc = inspect.getdoc(factory) or ""
  summary = doc.strip().splitlines()[0] if doc.strip() else ""
  return f"{name}({arguments})", summary


def _name_suggestion(name: object, names: list[str]) -> str:
  """" (did you mean ...?)" for an unknown schedule name.

  Names that contain what was typed come first (``"cosine"`` -> the cosine
  schedules, shortest first), then difflib's close matches (``"one_cylce"``).
  """
  if isinstance(name, str) and len(name) >= 3:
    contained = sorted((n for n in names if name.lower() in n.lower()), key=len)[:5]
    if contained:
      quoted = [repr(n) for n in contained]
      text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
      return f" (did you mean {text}?)"
  return did_you_mean(name, names)


def _argument_suggestions(unknown: list[str], parameters: list[str]) -> str:
  """" (did you mean ...?)" for unknown spec arguments: ported names, then close matches."""
  hints = []
  for arg in unknown:
    ported = PORTED_ARGUMENTS.get(arg)
    hint = f" (did you mean {ported!r}?)" if ported in parameters else did_you_mean(arg,
                                                                                     parameters)
    if hint:
      hints.append(hint if len(unknown) == 1 else f" ({arg!r}: {hint[2:-1]})")
  return "".join(hints)


def _in_steps(name: str, value: object, steps_per_epoch: int | None) -> object:
  """Converts one step-counting argument: epochs to steps, JSON keys to ints."""
  if isinstance(value, Mapping):  # piecewise_constant: {boundary: scale}
    converted = {}
    for key, scale in value.items():
      try:
        key = float(key)
      except (TypeError, ValueError):
        raise ValueError(f"{name} keys must be numbers of steps, got {key!r}") from None
      converted[_in_steps(name, key, steps_per_epoch)] = scale
    return converted
  if isinstance(value, (list, tuple)):
    return [_in_steps(name, v, steps_per_epoch) for v in value]
  if steps_per_epoch is None or value is None:
    return int(value) if isinstance(value, float) and value.is_integer() else value
  _validation.not_traced(name, value, "it counts steps (epochs here), which stay static")
  epochs = _validation.in_range(name, value, 0.0)
  return int(round(epochs * steps_per_epoch))


def _is_spec(value: object) -> bool:
  return isinstance(value, Mapping) and "name" in value


def _build_nested(owner: str, arg: str, value: object, unit: str,
                  steps_per_epoch: int | None) -> object:
  """Builds a spec (or a list holding specs) given as an argument, in the parent's unit."""
  def build(spec: Mapping[str, object], where: str) -> optax.Schedule:
    inner = dict(spec)
    inner.setdefault("unit", unit)
    try:
      return from_spec(inner, steps_per_epoch)
    except ValueError as error:
      raise ValueError(f"in {where} of {owner!r}: {error}") from None

  if _is_spec(value):
    return build(value, arg)
  if isinstance(value, (list, tuple)) and any(_is_spec(v) for v in value):
    return [build(v, f"{arg}[{i}]") if _is_spec(v) else v for i, v in enumerate(value)]
  return value


def from_spec(spec: Mapping[str, object], steps_per_epoch: int | None = None) -> optax.Schedule:
  """Builds a schedule from a dict naming it and giving its arguments.

  Args:
    spec: ``{"name": NAME, **kwargs}``, optionally with ``"unit": "epochs"``
      (default ``"steps"``). See :func:`registered_names` for the names.
    steps_per_epoch: optimizer steps per epoch; required when the spec's unit
      (or a nested spec's) is ``"epochs"``.

  Returns:
    The ``optax.Schedule`` built by the named factory.

  Raises:
    ValueError: unknown name or unit (with a "did you mean" suggestion), unknown
      (also suggested) or missing arguments, or any invalid argument value (from
      the factory). A spec's real-valued arguments may be JAX tracers, as in the
      factories; its step counts are static.

  Example:
    >>> import lrsched
    >>> spec = {"name": "step_decay", "init_value": 0.1, "boundaries": [2],
    ...         "unit": "epochs"}
    >>> schedule = lrsched.from_spec(spec, steps_per_epoch=100)
    >>> print(round(float(schedule(199)), 6), round(float(schedule(200)), 6))
    0.1 0.01
    >>> warm = lrsched.from_spec({"name": "warmup", "warmup_steps": 1, "unit": "epochs",
    ...                           "schedule": {"name": "rex", "init_value": 0.1,
    ...                                        "total_steps": 2}}, steps_per_epoch=100)
    >>> print(round(float(warm(50)), 6), round(float(warm(100)), 6), float(warm(300)))
    0.05 0.1 0.0
  """
  name, kwargs = resolve_spec(spec, steps_per_epoch)
  return _REGISTRY[name].factory(**kwargs)


def resolve_spec(spec: Mapping[str, object],
                 steps_per_epoch: int | None = None) -> tuple[str, dict[str, object]]:
  """Checks a spec and returns ``(name, kwargs)`` with every duration in steps.

  An argument that is itself a spec (``warmup``'s ``schedule``, the specs in
  ``join``'s ``schedules``) is built with :func:`from_spec`, in the parent's unit
  unless it names its own, with the same ``steps_per_epoch``.

  This is what :func:`from_spec` passes to the factory; tools that need a
  schedule's structure (e.g. the cycle ends of ``sgdr``/``cyclic`` for snapshot
  ensembles) read it from here.

  Example:
    >>> resolve_spec({"name": "sgdr", "peak_value": 0.1, "first_period": 2,
    ...               "unit": "epochs"}, steps_per_epoch=50)
    ('sgdr', {'peak_value': 0.1, 'first_period': 100})
  """
  if not isinstance(spec, Mapping) or "name" not in spec:
    raise ValueError(f"spec must be a dict with a 'name' key, got {spec!r}")
  kwargs = dict(spec)
  name = kwargs.pop("name")
  if not isinstance(name, str) or name not in _REGISTRY:
    names = registered_names()
    kind = "" if isinstance(name, str) else f" ({type(name).__name__})"
    raise ValueError(f"unknown schedule name {name!r}{kind}{_name_suggestion(name, names)}:"
                     f" spec name must be one of {names}")
  unit = _validation.choice("unit", kwargs.pop("unit", "steps"), UNITS)
  for arg, value in kwargs.items():  # specs inside the spec are built first
    kwargs[arg] = _build_nested(name, arg, value, unit, steps_per_epoch)
  if unit == "epochs":
    if steps_per_epoch is None:
      raise ValueError(f"spec for {name!r} is in epochs: pass steps_per_epoch")
    steps_per_epoch = _validation.integer("steps_per_epoch", steps_per_epoch)
  else:
    steps_per_epoch = None
  if name == "timm_noise" and unit == "epochs":  # timm's per-epoch noise: t = the epoch
    kwargs.setdefault("noise_every", 1)
  entry = _REGISTRY[name]
  signature = inspect.signature(entry.factory)
  unknown = sorted(set(kwargs) - set(signature.parameters))
  if unknown:
    parameters = list(signature.parameters)
    raise ValueError(
        f"spec for {name!r} has unknown argument(s) {unknown}"
        f"{_argument_suggestions(unknown, parameters)}; its arguments are {parameters}"
    )
  try:
    signature.bind(**kwargs)
  except TypeError as error:
    raise ValueError(f"spec for {name!r}: {error}") from None
  for arg in entry.step_args:
    if arg in kwargs:
      kwargs[arg] = _in_steps(arg, kwargs[arg], steps_per_epoch)
  for arg, keys in entry.nested_step_args:
    if isinstance(kwargs.get(arg), (list, tuple)):
      kwargs[arg] = [
          {k: _in_steps(k, v, steps_per_epoch) if k in keys else v for k, v in item.items()}
          if isinstance(item, Mapping) else item
          for item in kwargs[arg]
      ]
  return name, kwargs
