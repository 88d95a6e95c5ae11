"""``LRSCHED_SMALL=1``: every config loaded from a file runs tiny (the documentation's tests).

The documentation's commands (``lrsched train``, ``lrsched compare``, ``lrsched range-test``,
``lrsched hessian --config``, ``lrsched cooldown``, which then branches from at most the
parent's last epoch for at most :data:`SMALL_EPOCHS`) are tested as written, with
``LRSCHED_SMALL=1`` in the environment. :func:`lrsched.train.load_config` passes every
config through :func:`apply`, which then caps the run at :data:`SMALL_EPOCHS` epochs on the
first :data:`SMALL_TRAIN` training samples, so a 600-epoch config runs in seconds. Without
the variable (or with any other value) configs are unchanged. The notebooks read the same
variable for their own ``SMALL`` switch.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TypeVar

# A lrsched.train.Config (not imported: config.py imports this module).
ConfigT = TypeVar("ConfigT")

ENV_VAR = "LRSCHED_SMALL"
SMALL_EPOCHS = 2
SMALL_TRAIN = 512


def enabled() -> bool:
  """Whether ``LRSCHED_SMALL=1`` is set.

  Example:
    >>> import os
    >>> enabled() == (os.environ.get("LRSCHED_SMALL") == "1")
    True
  """
  return os.environ.get(ENV_VAR) == "1"


def apply(config: ConfigT) -> ConfigT:
  """The :class:`~lrsched.train.Config` itself, or with ``LRSCHED_SMALL=1`` a tiny copy.

  ``epochs <- min(epochs, SMALL_EPOCHS)`` and ``train_subset <- min(train_subset, SMALL_TRAIN)``
  (0, all samples, counts as unbounded); ``batch_size`` and ``sharpness_batch_size`` are
  capped at the new ``train_subset`` (a full-batch config stays full-batch); nothing else
  changes, so the learning-rate spec,
  the model and the data are the config's own (a step decay at epoch 150 of a capped run
  simply never decays).

  Example:
    >>> import os
    >>> from lrsched.train import Config
    >>> os.environ["LRSCHED_SMALL"] = "1"
    >>> small = apply(Config(epochs=600, batch_size=1000))
    >>> del os.environ["LRSCHED_SMALL"]
    >>> small.epochs, small.train_subset, small.batch_size
    (2, 512, 512)
    >>> apply(Config(epochs=600)).epochs
    600
  """
  if not enabled():
    return config
  subset = SMALL_TRAIN if config.train_subset == 0 else min(config.train_subset, SMALL_TRAIN)
  return dataclasses.replace(
      config, epochs=min(config.epochs, SMALL_EPOCHS), train_subset=subset,
      batch_size=min(config.batch_size, subset),
      sharpness_batch_size=min(config.sharpness_batch_size, subset))
