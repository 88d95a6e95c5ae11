"""Per-parameter-group optimizers: PyTorch's parameter groups, fastai's discriminative rates.

``torch.optim.SGD([{"params": head, "lr": 0.01}, {"params": rest}], lr=0.1)`` gives each
group its own rate (and momentum, weight decay; a scheduler per group with ``LambdaLR``'s
list of lambdas). In optax that is ``optax.multi_transform`` with a label per parameter;
:func:`by_regex` labels parameters by regexes searched in their ``/``-joined paths
(:mod:`lrsched.paths`, e.g. ``head/kernel``, ``blocks/0/conv1/kernel``), the first
matching group wins, and the rest fall into the default group.

Example:
  >>> import jax.numpy as jnp, optax
  >>> params = {"body": {"w": jnp.ones(2)}, "head": {"w": jnp.ones(2)}}
  >>> tx = by_regex([("^head/", optax.sgd(0.1))], default=optax.sgd(1.0))
  >>> state = tx.init(params)
  >>> grads = {"body": {"w": jnp.ones(2)}, "head": {"w": jnp.ones(2)}}
  >>> updates, _ = tx.update(grads, state, params)
  >>> updates["body"]["w"].tolist(), [round(u, 6) for u in updates["head"]["w"].tolist()]
  ([-1.0, -1.0], [-0.1, -0.1])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jax
import optax

from lrsched.paths import param_path

__all__ = ["by_regex", "group_labels"]

DEFAULT = "default"
"""The label of the parameters no group's pattern matches."""


def _compile(patterns: Sequence[str]) -> list[re.Pattern]:
  compiled = []
  for i, pattern in enumerate(patterns):
    if not isinstance(pattern, str) or not pattern:
      raise ValueError(f"param group {i}: pattern must be a non-empty regex string, got "
                       f"{pattern!r}")
    try:
      compiled.append(re.compile(pattern))
    except re.error as error:
      raise ValueError(f"param group {i}: pattern {pattern!r} is not a valid regex: "
                       f"{error}") from None
  return compiled


def group_labels(params: Any, patterns: Sequence[str]) -> Any:
  """The label of each leaf of ``params``: ``"group<i>"`` for the first pattern ``i``
  searched in its path, else :data:`DEFAULT`.

  Raises:
    ValueError: a bad pattern, or a pattern that matches no parameter (the message
      lists the paths).
  """
  compiled = _compile(patterns)
  used = [False] * len(compiled)

  def label(path, _):
    name = param_path(path)
    for i, pattern in enumerate(compiled):
      if pattern.search(name):
        used[i] = True
        return f"group{i}"
    return DEFAULT

  labels = jax.tree_util.tree_map_with_path(label, params)
  for i, ok in enumerate(used):
    if not ok:
      paths = [param_path(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
      raise ValueError(f"param group {i}: pattern {patterns[i]!r} matches no parameter "
                       f"(or only ones an earlier group took); the paths are {paths}")
  return labels


def by_regex(groups: Sequence[tuple[str, optax.GradientTransformation]],
             default: optax.GradientTransformation) -> optax.GradientTransformation:
  """``optax.multi_transform``: each ``(pattern, transformation)`` for the parameters whose
  path the regex matches (the first group wins), ``default`` for the rest.

  Raises:
    ValueError: a bad pattern (here), or one matching no parameter (at ``init``).
  """
  patterns = [pattern for pattern, _ in groups]
  _compile(patterns)
  transforms = {f"group{i}": tx for i, (_, tx) in enumerate(groups)}
  transforms[DEFAULT] = default
  return optax.multi_transform(transforms, lambda params: group_labels(params, patterns))
