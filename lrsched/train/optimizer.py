"""The optax optimizer a :class:`~lrsched.train.Config` asks for.

Learning rate and momentum may be schedules; they go through
``optax.inject_hyperparams`` so their current values live in the optimizer state
(``opt_state.hyperparams``), where the training loop reads them for the metrics.

Every config field becomes what optax takes through :mod:`lrsched.train.specs`
(:func:`~lrsched.train.specs.config_schedule`, :func:`~lrsched.train.specs.optax_optimizer`),
the same functions that check the fields when the Config is made.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import optax

from lrsched.adaptive import autodecay, reduce_on_plateau
from lrsched.averaging import averaging_from_spec
from lrsched.param_groups import by_regex
from lrsched.train.config import Config
from lrsched.train.specs import config_schedule, optax_optimizer


def sgd_with_weight_decay(learning_rate: optax.ScalarOrSchedule, momentum: float = 0.0,
                          weight_decay: float = 0.0, nesterov: bool = False,
                          mask: Any = None) -> optax.GradientTransformation:
  """PyTorch's ``SGD(lr, momentum, weight_decay)``: ``v = m v + g + wd w; w -= lr v``.

  Args:
    learning_rate: a float or an ``optax.Schedule``.
    momentum: heavy-ball momentum ``m`` (0 for plain SGD).
    weight_decay: coupled L2 weight decay ``wd`` (added to the gradient before
      momentum, as PyTorch and Li & Arora do).
    nesterov: Nesterov momentum.
    mask: optax mask (pytree of bools or a callable) selecting decayed parameters.

  Returns:
    The gradient transformation.
  """
  return optax.chain(
      optax.add_decayed_weights(weight_decay, mask),
      optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov),
  )


def _decay_mask(kind: str):
  if kind == "kernels":
    return lambda params: jax.tree.map(lambda p: p.ndim > 1, params)
  return None


def make_optimizer(config: Config, steps_per_epoch: int) -> optax.GradientTransformation:
  """Builds the optimizer of ``config``; schedules in epochs use ``steps_per_epoch``.

  Returns:
    An ``optax.inject_hyperparams`` transformation (its ``hyperparams`` hold
    ``learning_rate`` and, for SGD, ``momentum`` as used by the latest update), chained
    with ``config.plateau``'s and ``config.autodecay``'s transformations when set (they
    scale its updates; :func:`lrsched.adaptive.effective_learning_rate` is the product),
    and last with ``config.averaging``'s rule (it sees the final updates). With
    ``config.param_groups`` the optimizer is ``optax.multi_transform`` of one such
    transformation per group (:func:`lrsched.param_groups.by_regex`).
  """
  tx = _base_optimizer(config, steps_per_epoch)
  if config.param_groups:
    groups = [(group["pattern"], _base_optimizer(dataclasses.replace(
        config, param_groups=None, **{k: v for k, v in group.items() if k != "pattern"}),
        steps_per_epoch)) for group in config.param_groups]
    tx = by_regex(groups, default=tx)
  adaptive = []
  if config.plateau is not None:
    adaptive.append(reduce_on_plateau(**{k: v for k, v in config.plateau.items()
                                         if k != "monitor"}))
  if config.autodecay is not None:
    adaptive.append(autodecay(**config.autodecay))
  if config.averaging is not None and config.averaging["kind"] != "schedule_free":
    adaptive.append(averaging_from_spec(config.averaging, steps_per_epoch,
                                        config.epochs * steps_per_epoch))
  return optax.chain(tx, *adaptive) if adaptive else tx


def _base_optimizer(config: Config, steps_per_epoch: int) -> optax.GradientTransformation:
  learning_rate = config_schedule("learning_rate", config.learning_rate, steps_per_epoch)
  if config.optimizer == "sgd":
    weight_decay = 0.0 if config.weight_decay_mask == "none" else config.weight_decay
    return optax.inject_hyperparams(sgd_with_weight_decay, static_args=("nesterov", "mask"))(
        learning_rate=learning_rate,
        momentum=config_schedule("momentum", config.momentum, steps_per_epoch),
        weight_decay=weight_decay,
        nesterov=config.nesterov,
        mask=_decay_mask(config.weight_decay_mask),
    )
  factory = optax_optimizer(config.optimizer, config.optimizer_kwargs)
  return optax.inject_hyperparams(factory)(learning_rate=learning_rate,
                                           **config.optimizer_kwargs)
