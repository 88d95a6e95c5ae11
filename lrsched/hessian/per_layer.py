"""Per-layer (block) spectra: the top eigenvalues and trace of each layer's Hessian block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrsched.hessian.blocks import layer_of
from lrsched.hessian.density import hessian_trace
from lrsched.hessian.eigen import top_eigenvalues
from lrsched.hessian.hvp import LossFn
from lrsched.hessian.operator import DatasetHessian, as_batch_list
from lrsched.paths import param_paths


def _grouping(group: int | Callable[[str], str] | None) -> Callable[[str], str]:
  if group is None:
    return layer_of
  if callable(group):
    return lambda path: str(group(path))
  if isinstance(group, bool) or not isinstance(group, int) or group < 1:
    raise ValueError(f"group must be None (a layer: the path without its last part), an "
                     f"integer >= 1 (the first N path parts) or a function path -> name, "
                     f"got {group!r}")
  return lambda path: layer_of(path, group)


def per_layer(loss_fn: LossFn, params: Any, batches: Any, k: int = 1,
              group: int | Callable[[str], str] | None = None, *, trace_probes: int = 20,
              tol: float = 1e-3, seed: int = 0) -> list[dict[str, Any]]:
  """The spectrum of each diagonal block of the Hessian, one block per layer or group.

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` (the mean loss of a batch).
    params: the point.
    batches: one batch or an iterable of batches.
    k: top eigenvalues per block (fewer for a block of <= k parameters).
    group: how parameters form blocks: None (a layer: the ``/``-joined path without its
      last part, so a layer's kernel and bias form one block), an integer N (the first N
      path parts, e.g. 2 for ``blocks/0``) or a function ``path -> group name``.
    trace_probes: Hutchinson probes for each block's trace.
    tol: the eigensolver's relative residual.
    seed: seeds the eigensolver and the probes.

  Returns:
    One row per block, in parameter order: ``{"group", "size", "eigenvalues",
    "converged", "trace", "trace_std_error"}``.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: jnp.sum(b * p["a"] ** 2) + 3.0 * jnp.sum(p["b"] ** 2)
    >>> rows = per_layer(loss, {"a": jnp.zeros(3), "b": jnp.zeros(2)}, jnp.ones(3),
    ...                  group=lambda path: path)
    >>> [(r["group"], r["size"], round(r["eigenvalues"][0], 4)) for r in rows]
    [('a', 3, 2.0), ('b', 2, 6.0)]
  """
  name_of = _grouping(group)
  batch_list = as_batch_list(batches)
  names = []
  for path in param_paths(params):
    if name_of(path) not in names:
      names.append(name_of(path))
  rows = []
  for name in names:
    operator = DatasetHessian(loss_fn, params, batch_list,
                              wrt=lambda path, name=name: name_of(path) == name)
    if operator.size == 1:  # a 1x1 block is its own eigenvalue
      value = float(operator.matvec(np.ones(1, operator.dtype))[0])
      eig, converged = [value], [True]
    else:
      result = top_eigenvalues(operator, k=min(k, operator.size - 1), tol=tol, seed=seed)
      eig, converged = [float(v) for v in result.eigenvalues], [bool(c) for c in
                                                               result.converged]
    trace = hessian_trace(operator, num_probes=trace_probes, seed=seed)
    rows.append({"group": name, "size": operator.size, "eigenvalues": eig,
                 "converged": converged, "trace": float(trace.trace),
                 "trace_std_error": float(trace.std_error)})
  return rows
