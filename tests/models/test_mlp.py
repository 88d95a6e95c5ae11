"""MLP (PS10, channel means) and FullyConnected (flattened pixels, Cohen et al.'s fc-tanh)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lrsched.models import MLP, FullyConnected, build_model


def test_fc_tanh_architecture_and_parameter_count():
  net = build_model("fc", widths=[200, 200], num_classes=10, in_channels=3, image_size=16)
  assert isinstance(net, FullyConnected)
  count = sum(x.size for x in jax.tree.leaves(nnx.state(net, nnx.Param)))
  assert count == 768 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10
  # Dense -> tanh -> Dense -> tanh -> Dense, computed by hand.
  x = jax.random.normal(jax.random.key(1), (4, 16, 16, 3))
  h = x.reshape(4, -1)
  for layer in net.layers:
    h = jnp.tanh(h @ layer.kernel[...] + layer.bias[...])
  expected = h @ net.head.kernel[...] + net.head.bias[...]
  # float32 sums of 768 products of O(1) terms: ~1e-5 absolute.
  np.testing.assert_allclose(net(x), expected, atol=1e-4, rtol=1e-4)


def test_fc_init_is_pytorch_default_uniform():
  net = FullyConnected((300,), 10, in_channels=3, image_size=16, rngs=nnx.Rngs(0))
  for layer, fan_in in ((net.layers[0], 768), (net.head, 300)):
    bound = 1 / math.sqrt(fan_in)
    kernel = np.asarray(layer.kernel[...])
    assert np.abs(kernel).max() <= bound and np.abs(layer.bias[...]).max() <= bound
    # U(-b, b) has variance b^2 / 3; with >= 3000 draws the sample variance is within 10%.
    assert kernel.var() == pytest.approx(bound ** 2 / 3, rel=0.1)


def test_fc_relu_and_batch_norm_options():
  x = jax.random.normal(jax.random.key(2), (6, 4, 4, 2))
  relu = FullyConnected((8,), 3, in_channels=2, image_size=4, activation="relu",
                        rngs=nnx.Rngs(0))
  assert float(relu.features(x).min()) >= 0.0
  bn = FullyConnected((8, 8), 3, in_channels=2, image_size=(4, 4), batch_norm=True,
                      rngs=nnx.Rngs(0))
  assert len(bn.norms) == 2 and bn.layers[0].bias is None
  # Train mode: each hidden unit is normalized over the batch before tanh.
  pre = bn.norms[0](bn.layers[0](x.reshape(6, -1)))
  np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-5)
  bn.eval()
  assert bn(x).shape == (6, 3)


def test_fc_bad_input():
  with pytest.raises(ValueError, match="activation must be one of.*'tahn'.*did you mean 'tanh'"):
    FullyConnected((8,), activation="tahn", rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"widths\[1\] must be a positive integer"):
    FullyConnected((8, 0), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="widths must be a non-empty list"):
    FullyConnected((), rngs=nnx.Rngs(0))
  net = FullyConnected((8,), 3, in_channels=3, image_size=16, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"built for images of shape \(16, 16, 3\)"):
    net(jnp.zeros((2, 32, 32, 3)))


def test_mlp_still_pools_channel_means():
  # Unchanged for PS10's configs: a spatially constant image and its channel means agree.
  net = MLP(16, 2, num_classes=4, in_channels=6, rngs=nnx.Rngs(0))
  net.eval()
  x = jax.random.normal(jax.random.key(3), (5, 1, 1, 6))
  np.testing.assert_allclose(net(jnp.tile(x, (1, 8, 8, 1))), net(x), atol=1e-5)


def test_fc_lecun_normal_init_and_unknown_init():
  net = FullyConnected((400,), 10, in_channels=3, image_size=16, init="lecun_normal",
                       rngs=nnx.Rngs(0))
  kernel = np.asarray(net.layers[0].kernel[...])
  # variance 1/fan_in; 307,200 draws: the sample variance is within 2%.
  assert kernel.var() == pytest.approx(1 / 768, rel=0.02)
  assert not np.any(net.layers[0].bias[...])
  with pytest.raises(ValueError, match="init must be one of.*did you mean 'pytorch'"):
    FullyConnected((8,), init="pytorc", rngs=nnx.Rngs(0))
