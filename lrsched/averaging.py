"""Weight averaging as optax transformations: EMA, SWA and LAWA, and BatchNorm recalibration.

Each rule is a ``GradientTransformation`` that leaves the updates unchanged and keeps an
average of the *parameters after the update* (``params + updates``) in its state, so it
goes last in a chain, ``optax.chain(tx, ema(0.999))``, and the average is checkpointed
and resumed with the rest of the optimizer state. :func:`averaged_params` reads it from
anywhere in the state (chains, ``inject_hyperparams``). The rules follow
``torch.optim.swa_utils.AveragedModel`` (PyTorch 2.x): the first averaged step copies the
parameters; after that::

    EMA:   avg <- d_t avg + (1 - d_t) p          (get_ema_multi_avg_fn(decay))
    SWA:   avg <- avg + (p - avg) / (n + 1)      (the default running mean; n models so far)
    LAWA:  avg  = the mean of the last K parameters kept every `every` steps
                  (Kaddour 2022; Sanyal et al. 2023: "latest weight averaging")

EMA's ``d_t`` is ``decay``, or with ``warmup=True`` timm's ``ModelEmaV3`` warmup
``min(decay, 1 - (1 + t / warmup_gamma) ** -warmup_power)`` (``t`` the averaged step, from
0), which keeps the early average from being dominated by the initialization. SWA
averages at the steps ``start, start + every, ...`` (torch users call
``update_parameters`` once per epoch from ``swa_start``: ``every`` = steps per epoch). Only
parameters are averaged: BatchNorm's running statistics belong to the raw model, so the
averaged model needs its own, :func:`recalibrate_batchnorm`
(``torch.optim.swa_utils.update_bn``: one pass over training batches in train mode, the
statistics the cumulative mean of the batches' statistics).

Example:
  >>> import jax.numpy as jnp, optax
  >>> tx = optax.chain(optax.sgd(1.0), swa(start=2))
  >>> params = {"w": jnp.zeros(1)}
  >>> state = tx.init(params)
  >>> for g in [1.0, 1.0, 1.0, 1.0]:          # w: -1, -2, -3, -4
  ...   updates, state = tx.update({"w": jnp.array([g])}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> averaged_params(state)["w"].tolist()    # SWA over steps 2, 3, 4: (-2 - 3 - 4) / 3
  [-3.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

__all__ = ["AveragingState", "LawaState", "averaged_params", "averaging_from_spec",
           "check_averaging_spec", "ema", "find_averaging_state", "lawa",
           "recalibrate_batchnorm", "swa"]

KINDS = ("ema", "swa", "lawa", "schedule_free")
"""Config kinds: the three rules here, and ``"schedule_free"``: the average a schedule-free
optimizer keeps itself (``optax.contrib.schedule_free_*``; only ``bn_batches`` to set)."""


class AveragingState(NamedTuple):
  """The state of :func:`ema`, :func:`swa` and :func:`lawa`.

  Attributes:
    count: steps seen (``update`` calls).
    num_averaged: parameter sets in the average so far (LAWA: in its buffer, at most K).
    average: the average, shaped like the parameters (LAWA: its ``K`` slots, stacked on a
      leading axis; :func:`averaged_params` gives their mean).
  """

  count: jax.Array
  num_averaged: jax.Array
  average: Any


class LawaState(AveragingState):
  """:func:`lawa`'s state: an :class:`AveragingState` whose ``average`` holds K slots."""


def _is_number(value: Any) -> bool:
  return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
      value, bool)


def _check_int(name: str, value: Any, low: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
    raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_decay(decay: Any) -> None:
  if isinstance(decay, jax.core.Tracer):
    return
  if not _is_number(decay) or not 0.0 < float(decay) < 1.0:
    raise ValueError(f"decay must be in (0, 1), got {decay!r}")


def _new_params(updates: Any, params: Any, name: str) -> Any:
  if params is None:
    raise ValueError(f"{name} averages the parameters: call update(updates, state, params) "
                     f"with params")
  return optax.apply_updates(params, updates)


def _copy_or(first: jax.Array, new: Any, blended: Any) -> Any:
  return jax.tree.map(lambda p, b: jnp.where(first, p, b).astype(b.dtype), new, blended)


def ema(decay: float, *, warmup: bool = False, warmup_gamma: float = 1.0,
        warmup_power: float = 2 / 3) -> optax.GradientTransformation:
  """An exponential moving average of the parameters (``AveragedModel`` with EMA).

  ``avg <- d_t avg + (1 - d_t) p`` after each step (the first step copies ``p``), with
  ``d_t = decay``, or with ``warmup`` ``min(decay, 1 - (1 + t / warmup_gamma) **
  -warmup_power)`` for the ``t``-th averaged step from 0 (timm's ``ModelEmaV3``).

  Args:
    decay: in (0, 1), e.g. 0.999 (a horizon of ~1000 steps).
    warmup: warm the decay up from 0 (timm's ``use_warmup``).
    warmup_gamma: > 0, timm's ``warmup_gamma`` (steps scale).
    warmup_power: > 0, timm's ``warmup_power`` (2/3 reaches 0.999 after ~31.6k steps).

  Raises:
    ValueError: ``decay`` outside (0, 1), non-positive warmup parameters.

  Example:
    >>> import jax.numpy as jnp, optax
    >>> tx = optax.chain(optax.sgd(1.0), ema(0.5))
    >>> params = {"w": jnp.zeros(1)}
    >>> state = tx.init(params)
    >>> for _ in range(3):                         # w: -1, -2, -3
    ...   updates, state = tx.update({"w": jnp.ones(1)}, state, params)
    ...   params = optax.apply_updates(params, updates)
    >>> averaged_params(state)["w"].tolist()       # -1 -> -1.5 -> -2.25
    [-2.25]
  """
  _check_decay(decay)
  for name, value in (("warmup_gamma", warmup_gamma), ("warmup_power", warmup_power)):
    if not _is_number(value) or not value > 0:
      raise ValueError(f"{name} must be a number > 0, got {value!r}")

  def init(params):
    return AveragingState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                          jax.tree.map(jnp.array, params))

  def update(updates, state, params=None):
    new = _new_params(updates, params, "ema")
    d = jnp.asarray(decay, jnp.float32)
    if warmup:
      t = state.num_averaged.astype(jnp.float32)
      d = jnp.minimum(d, 1.0 - (1.0 + t / warmup_gamma) ** (-warmup_power))
    blended = jax.tree.map(lambda a, p: (d * a + (1 - d) * p).astype(a.dtype),
                           state.average, new)
    average = _copy_or(state.num_averaged == 0, new, blended)
    return updates, AveragingState(state.count + 1, state.num_averaged + 1, average)

  return optax.GradientTransformation(init, update)


def swa(start: int, every: int = 1) -> optax.GradientTransformation:
  """Stochastic weight averaging: the uniform mean of the parameters after the steps
  ``start, start + every, start + 2 every, ...`` (steps counted from 1).

  Args:
    start: the first averaged step, >= 1 (torch's ``swa_start`` in steps).
    every: steps between averaged points, >= 1 (the steps of an epoch to average once an
      epoch, as torch's SWA recipe does).

  Raises:
    ValueError: ``start`` or ``every`` not a positive integer.
  """
  _check_int("start", start, 1)
  _check_int("every", every, 1)

  def init(params):
    return AveragingState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                          jax.tree.map(jnp.array, params))

  def update(updates, state, params=None):
    new = _new_params(updates, params, "swa")
    step = state.count + 1
    take = (step >= start) & ((step - start) % every == 0)
    n = state.num_averaged.astype(jnp.float32)
    mean = _copy_or(state.num_averaged == 0, new, jax.tree.map(  # the first point: a copy
        lambda a, p: (a + (p - a) / (n + 1)).astype(a.dtype), state.average, new))
    average = jax.tree.map(lambda m, a: jnp.where(take, m, a), mean, state.average)
    return updates, AveragingState(step, state.num_averaged + take.astype(jnp.int32), average)

  return optax.GradientTransformation(init, update)


def lawa(num_checkpoints: int, every: int) -> optax.GradientTransformation:
  """Latest weight averaging: the mean of the last ``num_checkpoints`` parameter sets kept
  after every ``every``-th step (a ring buffer of K copies of the parameters).

  Args:
    num_checkpoints: K >= 1.
    every: steps between kept points, >= 1 (e.g. the steps of an epoch).

  Raises:
    ValueError: either not a positive integer.
  """
  _check_int("num_checkpoints", num_checkpoints, 1)
  _check_int("every", every, 1)

  def init(params):
    slots = jax.tree.map(lambda p: jnp.zeros((num_checkpoints, *jnp.shape(p)),
                                             jnp.asarray(p).dtype), params)
    return LawaState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), slots)

  def update(updates, state, params=None):
    new = _new_params(updates, params, "lawa")
    step = state.count + 1
    take = step % every == 0
    slot = (step // every - 1) % num_checkpoints
    def put(buffer, p):
      return jnp.where(take, buffer.at[slot].set(p.astype(buffer.dtype)), buffer)
    average = jax.tree.map(put, state.average, new)
    filled = jnp.minimum(state.num_averaged + take.astype(jnp.int32), num_checkpoints)
    return updates, LawaState(step, filled, average)

  return optax.GradientTransformation(init, update)


def _first_of(opt_state: Any, kind: type) -> Any:
  found = [x for x in jax.tree.leaves(opt_state, is_leaf=lambda x: isinstance(x, kind))
           if isinstance(x, kind)]
  return found[0] if found else None


def find_averaging_state(opt_state: Any) -> AveragingState | None:
  """The (first) :class:`AveragingState` inside an optimizer state, or None."""
  return _first_of(opt_state, AveragingState)


def averaged_params(opt_state: Any, params: Any = None) -> Any:
  """The averaged parameters in ``opt_state``: those of an :func:`ema`/:func:`swa`/
  :func:`lawa` state anywhere in it (before any averaged step, the parameters it started
  from; LAWA before its first kept point: zeros), or a schedule-free optimizer's evaluation
  point ``optax.contrib.schedule_free_eval_params(state, params)`` (then ``params`` is
  required).

  Raises:
    ValueError: ``opt_state`` holds neither, or a schedule-free state without ``params``.
  """
  state = find_averaging_state(opt_state)
  if state is None:
    free = _first_of(opt_state, optax.contrib.ScheduleFreeState)
    if free is not None:
      if params is None:
        raise ValueError("a schedule-free optimizer's average needs the current params: "
                         "averaged_params(opt_state, params)")
      return optax.contrib.schedule_free_eval_params(free, params)
    raise ValueError("opt_state holds no averaging state: chain the optimizer with "
                     "lrsched.averaging.ema/swa/lawa, or use a schedule-free optimizer")
  if not isinstance(state, LawaState):
    return state.average
  n = jnp.maximum(state.num_averaged, 1)
  def mean(buffer):
    keep = (jnp.arange(buffer.shape[0]) < state.num_averaged).reshape(
        (-1,) + (1,) * (buffer.ndim - 1))
    return (jnp.sum(jnp.where(keep, buffer, 0), 0) / n).astype(buffer.dtype)
  return jax.tree.map(mean, state.average)


def averaging_from_spec(spec: Mapping[str, Any], steps_per_epoch: int = 1,
                        total_steps: int | None = None) -> optax.GradientTransformation:
  """The averaging rule of a config's ``averaging`` dict (``"bn_batches"`` is ignored here).

  ``{"kind": "ema", "decay": 0.999, "warmup": False}``, ``{"kind": "swa", "start": 150,
  "every": 1, "unit": "epochs"}`` or ``{"kind": "lawa", "num_checkpoints": 5, "every": 1,
  "unit": "epochs"}``; ``unit`` (``"steps"`` by default) scales ``start`` and ``every``.

  Raises:
    ValueError: an unknown kind or key, a bad value (see each rule), a ``unit`` other
      than steps/epochs, or an SWA ``start`` after ``total_steps``.
  """
  check_averaging_spec(spec)
  kind = spec["kind"]
  if kind == "schedule_free":
    raise ValueError("averaging kind 'schedule_free' is the optimizer's own average: there "
                     "is no rule to chain")
  args = {k: v for k, v in spec.items() if k not in ("kind", "unit", "bn_batches")}
  scale = steps_per_epoch if spec.get("unit", "steps") == "epochs" else 1
  if kind == "ema":
    return ema(**args)
  if kind == "swa":
    start, every = args.get("start", 1) * scale, args.get("every", 1) * scale
    if total_steps is not None and start > total_steps:
      raise ValueError(f"averaging: swa start {args.get('start')} "
                       f"({spec.get('unit', 'steps')}) is after the run's last step "
                       f"{total_steps}: nothing would be averaged")
    return swa(start, every)
  return lawa(args["num_checkpoints"], args.get("every", 1) * scale)


_KEYS = {"ema": {"decay", "warmup", "warmup_gamma", "warmup_power"},
         "swa": {"start", "every", "unit"}, "lawa": {"num_checkpoints", "every", "unit"},
         "schedule_free": set()}


def check_averaging_spec(spec: Any) -> None:
  """Checks a config's ``averaging`` dict without building it (a ``ValueError`` naming the
  key and value; see :func:`averaging_from_spec`)."""
  if not isinstance(spec, Mapping) or spec.get("kind") not in KINDS:
    raise ValueError(f"averaging must be a dict with 'kind' one of {KINDS}, got {spec!r}")
  kind = spec["kind"]
  unknown = set(spec) - _KEYS[kind] - {"kind", "bn_batches"}
  if unknown:
    raise ValueError(f"averaging: unknown key(s) {sorted(unknown)} for kind {kind!r}; "
                     f"allowed: {sorted(_KEYS[kind] | {'bn_batches'})}")
  if kind == "ema" and "decay" not in spec:
    raise ValueError("averaging: kind 'ema' needs 'decay' in (0, 1)")
  if kind == "lawa" and "num_checkpoints" not in spec:
    raise ValueError("averaging: kind 'lawa' needs 'num_checkpoints' (an integer >= 1)")
  if spec.get("unit", "steps") not in ("steps", "epochs"):
    raise ValueError(f"averaging: unit must be 'steps' or 'epochs', got {spec['unit']!r}")
  bn = spec.get("bn_batches", None)
  if bn is not None:
    _check_int("averaging: bn_batches", bn, 1)
  args = {k: v for k, v in spec.items() if k not in ("kind", "unit", "bn_batches")}
  if kind != "schedule_free":
    {"ema": ema, "swa": swa, "lawa": lawa}[kind](**args)  # the rule's own checks


def _batch_norms(model: nnx.Module) -> list[nnx.BatchNorm]:
  # nnx.iter_modules(m) from flax 0.12.1 on; the method before (deprecated since)
  modules = nnx.iter_modules(model) if hasattr(nnx, "iter_modules") else model.iter_modules()
  return [m for _, m in modules if isinstance(m, nnx.BatchNorm)]


@nnx.jit
def _batch_statistics(model: nnx.Module, images: jax.Array) -> list[jax.Array]:
  model(images)
  # arrays, not the State: its Variables are the model's own, which the next batch changes
  return [jnp.array(x) for x in jax.tree.leaves(nnx.state(model, nnx.BatchStat))]


def recalibrate_batchnorm(model: nnx.Module, batches: Iterable[Any],
                          num_batches: int | None = None) -> nnx.Module:
  """Sets every BatchNorm's running statistics to those of the data, as
  ``torch.optim.swa_utils.update_bn``: one pass over ``batches`` in train mode, each
  statistic the mean over the batches of the batch's statistic (torch's ``momentum=None``,
  a cumulative average). Flax keeps the *biased* batch variance in ``var`` (PyTorch the
  unbiased one), so ``var`` is the mean of biased variances: the convention the model's
  own training uses. Changes ``model`` in place, leaves it in eval mode, returns it.

  Args:
    model: an NNX module (with the averaged weights, e.g. ``nnx.update(model,
      averaged_params(opt_state))``); without BatchNorm nothing changes.
    batches: arrays of model inputs (normalized as in training), or mappings with an
      ``"image"`` entry.
    num_batches: use at most this many (>= 1); None: all.

  Raises:
    ValueError: ``num_batches < 1``, no batch, or a batch whose statistics are not
      finite (named by its index).
  """
  if num_batches is not None:
    _check_int("num_batches", num_batches, 1)
  norms = _batch_norms(model)
  if not norms:
    model.eval()
    return model
  momenta = [bn.momentum for bn in norms]
  for bn in norms:
    bn.momentum = 0.0  # running <- this batch's statistics
  model.train()
  total, count = None, 0
  try:
    for index, batch in enumerate(batches):
      if num_batches is not None and index >= num_batches:
        break
      images = batch["image"] if isinstance(batch, Mapping) else batch
      stats = _batch_statistics(model, jnp.asarray(images))
      finite = all(bool(jnp.all(jnp.isfinite(x))) for x in stats)
      if not finite:
        raise ValueError(f"BatchNorm recalibration: batch {index} gives non-finite "
                         f"statistics (NaN or inf): check that batch and the averaged "
                         f"weights")
      total = stats if total is None else [a + b for a, b in zip(total, stats, strict=True)]
      count += 1
  finally:
    for bn, momentum in zip(norms, momenta, strict=True):
      bn.momentum = momentum
  if count == 0:
    raise ValueError("BatchNorm recalibration needs at least one batch, got none")
  treedef = jax.tree.structure(nnx.state(model, nnx.BatchStat))
  nnx.update(model, jax.tree.unflatten(treedef, [x / count for x in total]))
  model.eval()
  return model
