"""Hessian-vector products and the flat-vector view of a parameter pytree.

The Hessian-vector product is forward-over-reverse: the ``jvp`` of ``grad``
(Pearlmutter's trick), which costs a small constant times a gradient and never
forms the Hessian. Krylov methods work on flat vectors; :class:`FlatSpec` maps a
parameter pytree to one flat vector and back, and is hashable so that it can be a
static argument of a jitted function (the compiled HVP is then reused across calls).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

LossFn = Callable[[Any, Any], jax.Array]


def hvp(loss_fn: LossFn, params: Any, batch: Any, v: Any) -> Any:
  """The Hessian of ``loss_fn(., batch)`` at ``params`` times ``v``.

  Forward-over-reverse (``jax.jvp`` of ``jax.grad``); works for any params pytree
  and inside ``jax.jit``.

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``.
    params: the point, any pytree of float arrays.
    batch: the data passed to ``loss_fn``.
    v: a pytree with the structure, shapes and dtypes of ``params``.

  Returns:
    ``H v`` as a pytree like ``params``.

  Raises:
    ValueError: the loss is not a scalar, or ``v`` does not match ``params``.

  Example:
    >>> import jax.numpy as jnp
    >>> loss = lambda p, b: jnp.sum(b * p["w"] ** 2)   # Hessian diag(2 b)
    >>> hvp(loss, {"w": jnp.ones(3)}, jnp.arange(3.0), {"w": jnp.ones(3)})["w"]
    Array([0., 2., 4.], dtype=float32)
  """
  check_scalar_loss(loss_fn, params, batch)
  if jax.tree.structure(v) != jax.tree.structure(params):
    raise ValueError(f"v must have the pytree structure of params: "
                     f"{jax.tree.structure(params)}, got {jax.tree.structure(v)}")
  for path, (p, t) in _leaves_with_path(params, v):
    if jnp.shape(p) != jnp.shape(t):
      raise ValueError(f"v{path} must have shape {jnp.shape(p)} like params, got {jnp.shape(t)}")
  return _hvp(loss_fn, params, batch, v)


def _hvp(loss_fn: LossFn, params: Any, batch: Any, v: Any) -> Any:
  grad_fn = lambda p: jax.grad(loss_fn)(p, batch)
  return jax.jvp(grad_fn, (params,), (v,))[1]


def _leaves_with_path(a: Any, b: Any):
  paths = jax.tree_util.tree_flatten_with_path(a)[0]
  for (path, leaf_a), leaf_b in zip(paths, jax.tree.leaves(b), strict=True):
    yield jax.tree_util.keystr(path), (leaf_a, leaf_b)


def check_scalar_loss(loss_fn: LossFn, params: Any, batch: Any) -> None:
  """Raises ``ValueError`` unless ``loss_fn(params, batch)`` is a real scalar (traced only)."""
  out = jax.eval_shape(loss_fn, params, batch)
  shape, dtype = getattr(out, "shape", None), getattr(out, "dtype", None)
  if shape != () or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
    raise ValueError(f"loss_fn must return a real scalar, got "
                     f"{'shape ' + str(shape) if shape is not None else type(out).__name__}"
                     f"{' dtype ' + str(dtype) if dtype is not None else ''}")


@dataclasses.dataclass(frozen=True)
class FlatSpec:
  """How a params pytree maps to one flat vector (hashable: a static jit argument).

  Example:
    >>> import jax.numpy as jnp
    >>> spec = FlatSpec.of({"a": jnp.zeros((2, 2)), "b": jnp.ones(3)})
    >>> spec.size, spec.ravel({"a": jnp.zeros((2, 2)), "b": jnp.ones(3)}).shape
    (7, (7,))
  """

  treedef: Any
  shapes: tuple[tuple[int, ...], ...]
  dtypes: tuple[np.dtype, ...]
  dtype: np.dtype

  @classmethod
  def of(cls, params: Any) -> FlatSpec:
    """The spec of ``params``; the flat dtype is the leaves' common float dtype."""
    leaves, treedef = jax.tree.flatten(params)
    if not leaves:
      raise ValueError("params must have at least one array leaf, got an empty pytree")
    dtypes = tuple(np.dtype(jnp.result_type(x)) for x in leaves)
    for (path, _), dtype in zip(jax.tree_util.tree_flatten_with_path(params)[0], dtypes,
                                strict=True):
      if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"params{jax.tree_util.keystr(path)} must be a float array, "
                         f"got dtype {dtype}")
    return cls(treedef, tuple(tuple(np.shape(x)) for x in leaves), dtypes,
               np.dtype(jnp.result_type(*dtypes)))

  @property
  def size(self) -> int:
    """The number of scalars (the dimension of the Hessian)."""
    return sum(math.prod(s) for s in self.shapes)

  def ravel(self, tree: Any) -> jax.Array:
    """The flat vector of ``tree`` (a pytree like params)."""
    leaves = jax.tree.leaves(tree)
    return jnp.concatenate([jnp.ravel(x).astype(self.dtype) for x in leaves])

  def unravel(self, flat: jax.Array) -> Any:
    """The pytree of a flat vector."""
    leaves, start = [], 0
    for shape, dtype in zip(self.shapes, self.dtypes, strict=True):
      size = math.prod(shape)
      leaves.append(jnp.reshape(flat[start:start + size], shape).astype(dtype))
      start += size
    return jax.tree.unflatten(self.treedef, leaves)


def check_finite_params(params: Any) -> None:
  """Raises ``ValueError`` naming the first parameter leaf with a NaN or infinity."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    if not bool(jnp.all(jnp.isfinite(leaf))):
      bad = int(jnp.sum(~jnp.isfinite(leaf)))
      raise ValueError(f"params{jax.tree_util.keystr(path)} must be finite, got {bad} NaN or "
                       f"infinite value(s) of {np.size(leaf)}")
