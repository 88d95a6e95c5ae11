"""Diagonal blocks of the Hessian: parameters chosen by path, and per-layer spectra.

A parameter's path is its pytree path joined by ``/`` (NNX's trailing ``value`` dropped),
e.g. ``blocks/0/conv1/kernel``. ``wrt=`` (on :class:`DatasetHessian`,
:func:`top_eigenvalues`, :func:`min_eigenvalue`, :func:`hessian_trace`,
:func:`spectral_density`) is a regex searched in each path (anchor it with ``^``/``$``
for an exact match) or a predicate ``path -> bool``; the operator is then the diagonal
block ``H_ss`` of the selected parameters ``s`` (the others held fixed): ``H_ss v_s`` is
the selected part of ``H [v_s; 0]``, one full Hessian-vector product per matvec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from lrsched.paths import param_path

Wrt = str | Callable[[str], bool] | None


def _matcher(wrt: Wrt) -> Callable[[str], bool]:
  if callable(wrt):
    return lambda path: bool(wrt(path))
  if not isinstance(wrt, str):
    raise ValueError(f"wrt must be a regex string or a predicate path -> bool, got {wrt!r}")
  try:
    pattern = re.compile(wrt)
  except re.error as error:
    raise ValueError(f"wrt={wrt!r} is not a valid regex: {error}") from None
  return lambda path: pattern.search(path) is not None


def select(params: Any, wrt: Wrt) -> tuple[Any, np.ndarray | None]:
  """The selected sub-pytree (other leaves ``None``) and its indices in the flat vector.

  Returns:
    ``(params, None)`` when ``wrt`` is None (everything).

  Raises:
    ValueError: ``wrt`` is not a regex or predicate, or it selects no parameter (the
      message lists some paths).
  """
  if wrt is None:
    return params, None
  match = _matcher(wrt)
  flat, treedef = jax.tree_util.tree_flatten_with_path(params)
  paths = [param_path(p) for p, _ in flat]
  chosen = [match(p) for p in paths]
  if not any(chosen):
    shown = ", ".join(paths[:8]) + (", ..." if len(paths) > 8 else "")
    raise ValueError(f"wrt={wrt!r} matches no parameter; the paths are: {shown}")
  index, offset = [], 0
  for (_, leaf), keep in zip(flat, chosen, strict=True):
    size = int(np.size(leaf))
    if keep:
      index.append(np.arange(offset, offset + size))
    offset += size
  sub = jax.tree_util.tree_unflatten(treedef, [leaf if keep else None for (_, leaf), keep
                                                in zip(flat, chosen, strict=True)])
  return sub, np.concatenate(index)


def layer_of(path: str, depth: int | None = None) -> str:
  """The layer a parameter belongs to: its path without the last part (``kernel``,
  ``bias``, ``scale``), or its first ``depth`` parts."""
  parts = path.split("/")
  return "/".join(parts[:depth] if depth is not None else parts[:-1] or parts)
