"""``reduce_on_plateau``: PyTorch's ``ReduceLROnPlateau`` as an optax transformation.

The transformation multiplies the updates by a scale (1 at the start) that drops by
``factor`` whenever the monitored value has not improved for more than ``patience``
observations. Each observation follows PyTorch's ``ReduceLROnPlateau.step(value)``
exactly (``torch.optim.lr_scheduler``, PyTorch 2.x)::

    better = value < best * (1 - threshold)   # mode "min", threshold_mode "rel"
             value < best - threshold         # "min", "abs"
             value > best * (1 + threshold)   # "max", "rel"
             value > best + threshold         # "max", "abs"
    if better: best, num_bad = value, 0  else: num_bad += 1
    if cooldown_counter > 0: cooldown_counter -= 1; num_bad = 0
    if num_bad > patience:
        new = max(scale * factor, min_scale); if scale - new > eps: scale = new
        cooldown_counter, num_bad = cooldown, 0

with ``best`` starting at ``+inf`` (``"min"``) or ``-inf`` (``"max"``). With a base
learning rate ``lr``, ``min_scale = min_lr / lr`` gives PyTorch's ``min_lr``; ``eps`` is
compared with the change of the scale (PyTorch compares it with the change of the rate;
the two agree for ``lr = 1`` and differ only for changes below 1e-8). The first
``start`` observations are ignored (a warmup: neither ``best`` nor the patience sees
them), which PyTorch's ``SequentialLR`` cannot express and optax's
``contrib.reduce_on_plateau`` does not offer.

**Two ways to observe.** Per step, pass the value to ``update`` (``tx.update(grads,
opt_state, params, value=loss)``; patience then counts steps, as with optax's
``contrib.reduce_on_plateau``). Per epoch, as PyTorch users call
``scheduler.step(val_loss)``, call ``update`` without ``value`` in the train step (it
only scales) and :func:`lrsched.adaptive.observe` once per epoch on the whole optimizer
state: ``opt_state = observe(opt_state, epoch_loss)`` reaches every plateau (and
AutoDecay) state inside chains and ``inject_hyperparams``. The state carries its own
hyperparameters (static, in its tree structure), so :func:`observe` needs nothing else;
its arrays checkpoint with the rest of the optimizer state.

Example:
  >>> import jax.numpy as jnp, optax
  >>> from lrsched.adaptive import adaptive_scale, observe
  >>> tx = optax.chain(optax.sgd(0.1), reduce_on_plateau(factor=0.5, patience=1))
  >>> opt_state = tx.init({"w": jnp.zeros(2)})
  >>> for value in [1.0, 0.5, 0.6, 0.6, 0.4]:  # one value per epoch
  ...   opt_state = observe(opt_state, value)
  >>> float(adaptive_scale(opt_state))  # no improvement for 2 epochs (0.6, 0.6): halved
  0.5
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax


@dataclasses.dataclass(frozen=True)
class PlateauConfig:
  """The hyperparameters of :func:`reduce_on_plateau` (static: part of the state's tree
  structure, not of its arrays, so the rule computes with exact Python numbers)."""

  factor: float
  patience: int
  threshold: float
  cooldown: int
  min_scale: float
  start: int
  maximize: bool
  relative: bool
  eps: float


@flax.struct.dataclass
class PlateauState:
  """The state of :func:`reduce_on_plateau` (a pytree of arrays plus its static config).

  Attributes:
    scale: multiplies the updates (1 at the start).
    best: the best value seen after ``start`` (``+-inf`` before any).
    num_bad: observations since the last improvement (PyTorch's ``num_bad_epochs``).
    cooldown_counter: observations left in the cooldown after a reduction.
    count: observations seen, including the ignored first ``start``.
    num_reductions: how many times the scale was reduced.
    config: the hyperparameters (:class:`PlateauConfig`, static).
  """

  scale: jax.Array
  best: jax.Array
  num_bad: jax.Array
  cooldown_counter: jax.Array
  count: jax.Array
  num_reductions: jax.Array
  config: PlateauConfig = flax.struct.field(pytree_node=False)


def _number(name: str, value: Any, ok, allowed: str) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
      or not math.isfinite(value) or not ok(value):
    raise ValueError(f"reduce_on_plateau: {name} must be {allowed}, got {value!r}")
  return float(value)


def _integer(name: str, value: Any, allowed: str = "an integer >= 0") -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
    raise ValueError(f"reduce_on_plateau: {name} must be {allowed}, got {value!r}")
  return int(value)


def reduce_on_plateau(factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                      threshold_mode: str = "rel", cooldown: int = 0, mode: str = "min",
                      min_scale: float = 0.0, start: int = 0, eps: float = 1e-8
                      ) -> optax.GradientTransformationExtraArgs:
  """Scales updates down by ``factor`` when a monitored value stops improving.

  Args:
    factor: the scale's multiplier at a reduction, in (0, 1).
    patience: observations without improvement tolerated before a reduction (>= 0).
    threshold: the improvement that counts, relative or absolute (>= 0).
    threshold_mode: ``"rel"`` or ``"abs"`` (see the module docstring).
    cooldown: observations after a reduction during which bad ones are not counted.
    mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
    min_scale: the scale never goes below this (PyTorch's ``min_lr / lr``), in [0, 1].
    start: the first ``start`` observations are ignored (e.g. during a warmup).
    eps: a reduction smaller than this is skipped (PyTorch's ``eps``), >= 0.

  Returns:
    An ``optax.GradientTransformationExtraArgs``: ``update(updates, state, params=None,
    *, value=None)`` first observes ``value`` when it is given, then multiplies the
    updates by the scale. Chain it after the optimizer (the scale then multiplies the
    learning rate, schedules included).

  Raises:
    ValueError: an argument out of its range (named, with the value).
  """
  _number("factor", factor, lambda v: 0 < v < 1, "in (0, 1)")
  _integer("patience", patience)
  _number("threshold", threshold, lambda v: v >= 0, ">= 0")
  if threshold_mode not in ("rel", "abs"):
    raise ValueError(f"reduce_on_plateau: threshold_mode must be 'rel' or 'abs', got "
                     f"{threshold_mode!r}")
  _integer("cooldown", cooldown)
  if mode not in ("min", "max"):
    raise ValueError(f"reduce_on_plateau: mode must be 'min' or 'max', got {mode!r}")
  _number("min_scale", min_scale, lambda v: 0 <= v <= 1, "in [0, 1]")
  _integer("start", start)
  _number("eps", eps, lambda v: v >= 0, ">= 0")

  config = PlateauConfig(factor=float(factor), patience=int(patience),
                         threshold=float(threshold), cooldown=int(cooldown),
                         min_scale=float(min_scale), start=int(start), maximize=mode == "max",
                         relative=threshold_mode == "rel", eps=float(eps))

  def init_fn(params: Any) -> PlateauState:
    del params
    f32, i32 = jnp.float32, jnp.int32
    worst = -jnp.inf if mode == "max" else jnp.inf
    return PlateauState(scale=jnp.ones((), f32), best=jnp.asarray(worst, f32),
                        num_bad=jnp.zeros((), i32), cooldown_counter=jnp.zeros((), i32),
                        count=jnp.zeros((), i32), num_reductions=jnp.zeros((), i32),
                        config=config)

  def update_fn(updates, state: PlateauState, params=None, *, value=None, **extra_args):
    del params, extra_args
    if value is not None:
      state = step(state, value)
    scale = state.scale
    return jax.tree.map(lambda u: u * scale.astype(u.dtype), updates), state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def step(state: PlateauState, value: Any) -> PlateauState:
  """One observation (PyTorch's ``scheduler.step(value)``); jittable."""
  c = state.config
  value = jnp.asarray(value, jnp.float32)
  count = state.count + 1
  if c.maximize:
    better = value > (state.best * (1 + c.threshold) if c.relative else state.best + c.threshold)
  else:
    better = value < (state.best * (1 - c.threshold) if c.relative else state.best - c.threshold)
  best = jnp.where(better, value, state.best)
  num_bad = jnp.where(better, 0, state.num_bad + 1)
  in_cooldown = state.cooldown_counter > 0
  cooldown_counter = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
  num_bad = jnp.where(in_cooldown, 0, num_bad)
  reduce = num_bad > c.patience
  new_scale = jnp.maximum(state.scale * c.factor, c.min_scale)
  changed = reduce & (state.scale - new_scale > c.eps)
  observed = state.replace(
      scale=jnp.where(changed, new_scale, state.scale), best=best,
      num_bad=jnp.where(reduce, 0, num_bad),
      cooldown_counter=jnp.where(reduce, c.cooldown, cooldown_counter), count=count,
      num_reductions=state.num_reductions + changed.astype(jnp.int32))
  ignored = state.replace(count=count)
  return jax.tree.map(lambda a, b: jnp.where(count > c.start, a, b), observed, ignored)
