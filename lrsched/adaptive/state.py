"""Working with the adaptive states inside an optimizer state: observe, scale, stop.

:func:`lrsched.adaptive.reduce_on_plateau` and :func:`lrsched.adaptive.autodecay` keep
their states inside whatever optimizer state they are chained into; these functions
find them there (through chains, ``inject_hyperparams`` and other wrappers).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from lrsched.adaptive import smoothed_loss
from lrsched.adaptive.plateau import PlateauState, step


def is_plateau(node: Any) -> bool:
  return isinstance(node, PlateauState)


def _is_adaptive(node: Any) -> bool:
  return is_plateau(node) or smoothed_loss.is_state(node)


_INJECTED = tuple(getattr(optax, name) for name in
                  ("InjectHyperparamsState", "InjectStatefulHyperparamsState")
                  if hasattr(optax, name))


def injected_hyperparams(opt_state: Any) -> dict[str, Any]:
  """The ``hyperparams`` of the outermost ``optax.inject_hyperparams`` state ({} if none)."""
  for node in jax.tree.leaves(opt_state, is_leaf=lambda n: isinstance(n, _INJECTED)):
    if isinstance(node, _INJECTED):
      return dict(node.hyperparams)
  return {}


def observe(opt_state: Any, value: Any, kind: str | None = None) -> Any:
  """Feeds ``value`` to the adaptive states inside ``opt_state`` (once per epoch).

  Args:
    opt_state: an optimizer state (chains, ``inject_hyperparams`` and other wrappers
      are searched).
    value: the monitored value (e.g. the epoch's training or validation loss).
    kind: ``None`` (every adaptive state), ``"plateau"`` (only
      :func:`lrsched.adaptive.reduce_on_plateau` states) or ``"autodecay"`` (only
      :func:`lrsched.adaptive.autodecay` states): for rules that monitor different
      values.

  Returns:
    The optimizer state with each selected state updated: a plateau state as PyTorch's
    ``scheduler.step(value)`` would, an AutoDecay state by its epoch rule.
  """
  if kind not in (None, "plateau", "autodecay"):
    raise ValueError(f"observe: kind must be None, 'plateau' or 'autodecay', got {kind!r}")

  def visit(node):
    if is_plateau(node) and kind in (None, "plateau"):
      return step(node, value)
    if smoothed_loss.is_state(node) and kind in (None, "autodecay"):
      return smoothed_loss.observe_state(node, value)
    return node

  return jax.tree.map(visit, opt_state, is_leaf=_is_adaptive)


def adaptive_scale(opt_state: Any) -> jax.Array:
  """The product of the scales of every adaptive state in ``opt_state`` (1 if none)."""
  scale = jnp.ones((), jnp.float32)
  nodes = jax.tree.leaves(opt_state, is_leaf=_is_adaptive)
  for node in nodes:
    if is_plateau(node):
      scale = scale * node.scale
    elif smoothed_loss.is_state(node):
      scale = scale * smoothed_loss.state_scale(node)
  return scale


def effective_learning_rate(opt_state: Any, schedule: optax.ScalarOrSchedule | None = None,
                            step: int | None = None) -> jax.Array:
  """The learning rate in effect: the schedule's value times the adaptive scales.

  Args:
    opt_state: an optimizer state holding adaptive states (:func:`reduce_on_plateau`,
      :func:`lrsched.autodecay`) and, unless ``schedule`` is given, an
      ``optax.inject_hyperparams`` state whose ``learning_rate`` is the base rate.
    schedule: the base learning rate (a number or an ``optax.Schedule``); ``None``
      reads it from the ``inject_hyperparams`` state.
    step: the step at which ``schedule`` is evaluated (needed for a schedule).

  Returns:
    A scalar array.
  """
  if schedule is None:
    base = injected_hyperparams(opt_state).get("learning_rate")
    if base is None:
      raise ValueError("effective_learning_rate: opt_state has no injected learning_rate; "
                       "pass schedule= (and step=)")
  elif callable(schedule):
    if step is None:
      raise ValueError("effective_learning_rate: a schedule needs step=")
    base = schedule(step)
  else:
    base = schedule
  return jnp.asarray(base, jnp.float32) * adaptive_scale(opt_state)


def find_plateau(opt_state: Any) -> PlateauState | None:
  """The (first) :func:`lrsched.adaptive.reduce_on_plateau` state in ``opt_state``, or None."""
  nodes = [n for n in jax.tree.leaves(opt_state, is_leaf=is_plateau) if is_plateau(n)]
  return nodes[0] if nodes else None


def should_stop(opt_state: Any) -> bool:
  """Whether an :func:`lrsched.adaptive.autodecay` state in ``opt_state`` decided to stop."""
  found = smoothed_loss.find_state(opt_state)
  return found is not None and bool(found.rule.should_stop)
