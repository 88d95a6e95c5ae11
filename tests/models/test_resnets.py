"""WideResNet / PreResNet: architecture facts, modes, scale invariance, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from lrsched.models import Fixed, PreActBlock, PreResNet, WideResNet, build_model


def _num_params(model, *filters):
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, *filters)))


def test_wrn_28_10_builds_with_the_reference_parameter_count():
  # 36,479,194: the count of the authors' / PyTorch WRN-28-10 for CIFAR-10.
  model = nnx.eval_shape(lambda: WideResNet(28, 10, rngs=nnx.Rngs(0)))
  assert _num_params(model, nnx.Param) == 36_479_194


def test_preresnet32_structure_and_parameter_count():
  model = nnx.eval_shape(lambda: PreResNet(32, rngs=nnx.Rngs(0)))
  assert len(model.blocks) == 15
  # Counted by hand: 3x3 stem, per block two 3x3 convs + BN scale/bias (+ a 1x1
  # projection when the shape changes), final BN and the 64x10 linear layer.
  expected, in_ch = 3 * 3 * 3 * 16, 16
  for width in (16, 32, 64):
    for _ in range(5):
      expected += 9 * in_ch * width + 9 * width * width + 2 * in_ch + 2 * width
      expected += in_ch * width if in_ch != width else 0
      in_ch = width
  expected += 2 * 64 + 64 * 10 + 10
  assert _num_params(model, nnx.Param) == expected == 466_714


def test_forward_shapes_and_modes():
  model = WideResNet(10, 2, num_classes=7, in_channels=6, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (4, 16, 16, 6)) * 3 + 1
  train_out = model(x)
  assert train_out.shape == (4, 7)
  model.eval()
  eval_out = model(x)  # running stats (still at init 0/1) differ from batch stats
  assert not np.allclose(train_out, eval_out, atol=1e-3)


def _loss(graphdef, params, rest, x, y):
  model = nnx.merge(graphdef, params, rest, copy=True)
  return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()


@pytest.mark.parametrize("make", [
    lambda si: PreResNet(8, scale_invariant=si, rngs=nnx.Rngs(0)),
    lambda si: WideResNet(10, 1, scale_invariant=si, rngs=nnx.Rngs(0)),
    lambda si: PreResNet(8, scale_invariant=si, norm="group", norm_groups=4, rngs=nnx.Rngs(0)),
    lambda si: PreResNet(8, scale_invariant=si, norm="layer", rngs=nnx.Rngs(0)),
], ids=["preresnet", "wrn", "preresnet-groupnorm", "preresnet-layernorm"])
def test_scale_invariant_variant_trains_only_normalized_weights(make):
  x = jax.random.normal(jax.random.key(1), (8, 8, 8, 3))
  y = jnp.arange(8) % 10
  model = make(True)
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  # Only convolution kernels are trained; the head is Fixed; BN has no affine.
  assert all(x.ndim == 4 for x in jax.tree.leaves(params))
  assert _num_params(model, Fixed) == 64 * 10 + 10
  base = _loss(graphdef, params, rest, x, y)
  for c in (0.3, 7.0):
    scaled = jax.tree.map(lambda p, c=c: c * p, params)
    np.testing.assert_allclose(_loss(graphdef, scaled, rest, x, y), base, rtol=2e-5)
  # ... and to scaling any single kernel (each one feeds a normalization layer).
  leaves, treedef = jax.tree.flatten(params)
  for i in range(len(leaves)):
    one = jax.tree.unflatten(treedef, [5.0 * p if j == i else p for j, p in enumerate(leaves)])
    np.testing.assert_allclose(_loss(graphdef, one, rest, x, y), base, rtol=2e-5)
  grads = jax.grad(_loss, argnums=1)(graphdef, params, rest, x, y)
  inner = sum(jnp.vdot(g, p) for g, p in zip(jax.tree.leaves(grads), jax.tree.leaves(params),
                                              strict=True))
  assert abs(float(inner)) < 1e-4  # <grad L(w), w> = 0
  # The ordinary network is not scale invariant (the test can tell them apart).
  graphdef, params, rest = nnx.split(make(False), nnx.Param, ...)
  scaled = jax.tree.map(lambda p: 7.0 * p, params)
  change = _loss(graphdef, scaled, rest, x, y) - _loss(graphdef, params, rest, x, y)
  assert abs(float(change)) > 1e-3


def test_a_block_alone_takes_groups_dividing_its_own_widths():
  block = PreActBlock(24, 24, 1, 0.0, False, norm="group", norm_groups=12, rngs=nnx.Rngs(0))
  assert block.norm1.num_groups == 12
  PreResNet(8, norm="layer", norm_groups=7, rngs=nnx.Rngs(0))  # groups ignored unless "group"


def test_group_and_layer_norm_layers():
  """GroupNorm's statistics are per example and group of channels (LayerNorm: one group);
  they keep no running statistics, so train and eval modes are the same function."""
  x = jax.random.normal(jax.random.key(1), (4, 8, 8, 3)) * 3 + 1
  for norm, groups in (("group", 8), ("layer", 1)):
    model = PreResNet(8, norm=norm, norm_groups=8, rngs=nnx.Rngs(0))
    assert not jax.tree.leaves(nnx.state(model, nnx.BatchStat))
    layer = model.blocks[0].norm1
    assert isinstance(layer, nnx.GroupNorm) and layer.num_groups == groups
    h = jax.random.normal(jax.random.key(2), (2, 4, 4, 16)) * 5 + 3
    grouped = np.asarray(h).reshape(2, 4, 4, groups, 16 // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True)
    expected = ((grouped - mean) / np.sqrt(var + layer.epsilon)).reshape(h.shape)
    np.testing.assert_allclose(layer(h), expected, rtol=1e-4, atol=1e-4)
    train_out = model(x)
    model.eval()
    np.testing.assert_array_equal(model(x), train_out)
  # Each example is normalized on its own: a batch of one gives the same logits.
  np.testing.assert_allclose(model(x[:1]), train_out[:1], rtol=1e-5, atol=1e-5)


def test_dropout_only_in_train_mode():
  model = WideResNet(10, 1, dropout_rate=0.5, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (4, 8, 8, 3))
  assert not np.allclose(model(x), model(x))  # fresh dropout masks
  model.eval()
  np.testing.assert_array_equal(model(x), model(x))


@pytest.mark.parametrize("make, match", [
    (lambda: WideResNet(12, 1, rngs=nnx.Rngs(0)), "depth must be 6n \\+ 4.*got 12"),
    (lambda: WideResNet(16, 0, rngs=nnx.Rngs(0)), "widen_factor must be a positive integer"),
    (lambda: WideResNet(16, 1, dropout_rate=1.0, rngs=nnx.Rngs(0)), "dropout_rate must be"),
    (lambda: PreResNet(30, rngs=nnx.Rngs(0)), "depth must be 6n \\+ 2.*got 30"),
    (lambda: PreResNet(20, num_classes=0, rngs=nnx.Rngs(0)), "num_classes must be a positive"),
    (lambda: build_model("resnet50"), "model name must be one of"),
    (lambda: PreResNet(8, norm="instance", rngs=nnx.Rngs(0)), "norm must be one of"),
    (lambda: PreResNet(8, norm="group", norm_groups=3, rngs=nnx.Rngs(0)),
     "norm_groups must divide every layer width \\(16, 32, 64\\), got 3"),
    (lambda: WideResNet(10, 1, norm="group", norm_groups=0, rngs=nnx.Rngs(0)),
     "norm_groups must be a positive integer, got 0"),
    (lambda: PreActBlock(24, 36, 1, 0.0, False, norm="group", norm_groups=8, rngs=nnx.Rngs(0)),
     "norm_groups must divide every layer width \\(24, 36\\), got 8"),
])
def test_bad_arguments_raise(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_mlp_is_the_network_of_the_channel_means():
  from lrsched.models import build_model

  model = build_model("mlp", width=32, depth=2, num_classes=5, in_channels=6)
  model.eval()
  x = np.random.default_rng(0).normal(size=(4, 3, 3, 6)).astype(np.float32)
  constant = np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape)
  np.testing.assert_allclose(model(x), model(constant), rtol=1e-5, atol=1e-6)
  assert model(x).shape == (4, 5) and model.features(x).shape == (4, 32)
  with pytest.raises(ValueError, match="width must be a positive integer"):
    build_model("mlp", width=0, num_classes=5, in_channels=6)
