"""Small problems whose Hessian can be formed densely, in float64 (scoped)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from lrsched.hessian import FlatSpec


@pytest.fixture
def x64():
  """float64 for the test only (``jax.enable_x64`` is a scoped context manager)."""
  with jax.enable_x64(True):
    yield
  assert jnp.ones(1).dtype == jnp.float32


def mlp_loss(params, batch):
  hidden = jnp.tanh(batch["x"] @ params["w1"] + params["b1"])
  logits = hidden @ params["w2"] + params["b2"]
  return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()


def mlp_params(seed=0, sizes=(5, 7, 3), dtype=jnp.float64):
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  return {"w1": jax.random.normal(k1, sizes[:2], dtype) / np.sqrt(sizes[0]),
          "b1": 0.1 * jax.random.normal(k3, sizes[1:2], dtype),
          "w2": jax.random.normal(k2, sizes[1:], dtype) / np.sqrt(sizes[1]),
          "b2": jnp.zeros(sizes[2], dtype)}


def mlp_data(n=40, seed=1, dims=5, classes=3, dtype=np.float64):
  rng = np.random.default_rng(seed)
  return {"x": rng.standard_normal((n, dims)).astype(dtype), "y": rng.integers(0, classes, n)}


def split_batches(data, sizes):
  """Consecutive batches of the given sizes (covering ``data``)."""
  bounds = np.cumsum([0, *sizes])
  assert bounds[-1] == len(data["y"] if "y" in data else data["label"])
  pairs = zip(bounds[:-1], bounds[1:], strict=True)
  return [{k: v[a:b] for k, v in data.items()} for a, b in pairs]


def dense_hessian(loss_fn, params, batch):
  spec = FlatSpec.of(params)
  flat = spec.ravel(params)
  return np.asarray(jax.jit(jax.hessian(lambda f: loss_fn(spec.unravel(f), batch)))(flat))


def dense_dataset_hessian(loss_fn, params, batches):
  sizes = [len(jax.tree.leaves(b)[0]) for b in batches]
  total = sum(n * dense_hessian(loss_fn, params, b) for n, b in zip(sizes, batches, strict=True))
  return total / sum(sizes)


class SmallCNN(nnx.Module):
  """conv3x3 -> BatchNorm -> relu -> global mean -> linear; 47 parameters."""

  def __init__(self, rngs):
    self.conv = nnx.Conv(1, 3, (3, 3), rngs=rngs)
    self.norm = nnx.BatchNorm(3, momentum=0.5, rngs=rngs)
    self.head = nnx.Linear(3, 3, rngs=rngs)

  def __call__(self, x):
    x = nnx.relu(self.norm(self.conv(x)))
    return self.head(x.mean(axis=(1, 2)))


def cnn_data(n=12, seed=2):
  rng = np.random.default_rng(seed)
  return {"image": rng.standard_normal((n, 5, 5, 1)), "label": rng.integers(0, 3, n)}


def small_cnn(seed=0):
  """A SmallCNN whose running statistics moved away from (0, 1) (eval != train)."""
  model = SmallCNN(nnx.Rngs(seed))
  model.train()
  for i in range(3):
    model(jnp.asarray(cnn_data(16, seed=10 + i)["image"] * 2 + 1, jnp.float32))
  return model
