"""A parameter's path: its pytree key path joined by ``/`` (``blocks/0/conv1/kernel``).

The one naming of parameters that regexes select by: Hessian blocks
(:mod:`lrsched.hessian.blocks`) and per-parameter-group optimizers
(:mod:`lrsched.param_groups`).
"""

from __future__ import annotations

from typing import Any

import jax

__all__ = ["param_path", "param_paths"]


def param_path(path: tuple) -> str:
  """``blocks/0/conv1/kernel`` for a pytree key path (a trailing ``value`` dropped)."""
  parts = []
  for key in path:
    for attr in ("key", "name", "idx"):
      if hasattr(key, attr):
        parts.append(str(getattr(key, attr)))
        break
    else:
      parts.append(str(key))
  if len(parts) > 1 and parts[-1] == "value":
    parts.pop()
  return "/".join(parts)


def param_paths(params: Any) -> list[str]:
  """The paths of the leaves of ``params``, in flattening order."""
  return [param_path(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
