"""A small scale-invariant PreResNet, jitted training runs and direction comparisons."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from lrsched.models import PreResNet
from lrsched.scale_invariance.check import path_string

# BatchNorm's epsilon breaks scale invariance at a relative level ~eps / var, and the
# runs compared here hold the same directions at different norms (they differ by c_t),
# so exactness tests use a negligible epsilon: the theory is about exactly
# scale-invariant losses. (With the default 1e-5 the agreement is only approximate.)
EXACT_EPSILON = 1e-30


@dataclasses.dataclass
class Net:
  graphdef: Any
  params: Any
  rest: Any
  images: jax.Array  # (num_batches, batch, size, size, 3)
  labels: jax.Array  # (num_batches, batch)

  def loss(self, params: Any, images: jax.Array, labels: jax.Array) -> jax.Array:
    model = nnx.merge(self.graphdef, params, self.rest, copy=True)
    return optax.softmax_cross_entropy_with_integer_labels(model(images), labels).mean()


def make_net(dtype=jnp.float32, epsilon: float = EXACT_EPSILON, scale_invariant: bool = True,
             num_batches: int = 4, batch: int = 8, size: int = 4) -> Net:
  """PreResNet-8 on random ``size`` x ``size`` images, built in float32, cast to ``dtype``."""
  with jax.enable_x64(False):  # the same initial weights and data in every mode
    model = PreResNet(8, num_classes=10, scale_invariant=scale_invariant, rngs=nnx.Rngs(0))
    images = jax.random.normal(jax.random.key(1), (num_batches, batch, size, size, 3))
    labels = jax.random.randint(jax.random.key(2), (num_batches, batch), 0, 10)
  for _, module in nnx.iter_modules(model):
    if isinstance(module, nnx.BatchNorm):
      module.epsilon = epsilon
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)

  def cast(x):
    x = np.asarray(x)
    return jnp.asarray(x, dtype) if np.issubdtype(x.dtype, np.floating) else jnp.asarray(x)

  params, rest, images = jax.tree.map(cast, (params, rest, images))
  return Net(graphdef, params, rest, images, labels)


def train(net: Net, optimizer: optax.GradientTransformation, steps: int, params: Any = None,
          opt_state: Any = None, history: bool = False) -> tuple[Any, Any, Any]:
  """``steps`` updates cycling through the batches, as one jitted scan.

  Returns:
    ``(params, opt_state, params after every update or None)``.
  """
  params = net.params if params is None else params
  opt_state = optimizer.init(params) if opt_state is None else opt_state
  num_batches = net.images.shape[0]

  def body(carry, step):
    p, s = carry
    batch = step % num_batches
    grads = jax.grad(net.loss)(p, net.images[batch], net.labels[batch])
    updates, s = optimizer.update(grads, s, p)
    p = optax.apply_updates(p, updates)
    return (p, s), (p if history else None)

  run = jax.jit(lambda p, s: jax.lax.scan(body, (p, s), jnp.arange(steps)))
  (params, opt_state), trace = run(params, opt_state)
  return params, opt_state, trace


def one_minus_cos(a: Any, b: Any) -> dict[str, float]:
  """Per tensor path, ``1 - cos(a_i, b_i)`` in float64."""
  result = {}
  for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b),
                          strict=True):
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    result[path_string(path)] = 1.0 - float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
  return result


def norms(tree: Any) -> np.ndarray:
  return np.array([np.linalg.norm(np.asarray(x, np.float64)) for x in jax.tree.leaves(tree)])
