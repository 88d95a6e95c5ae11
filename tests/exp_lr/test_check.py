"""check_scale_invariance and scale_invariant_mask on the lrsched.models networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from lrsched.models import PreResNet, WideResNet
from lrsched.scale_invariance import check_scale_invariance, scale_invariant_mask
from tests.exp_lr.nets import make_net


def _check(scale_invariant, trained_batchnorm_biases=False):
  net = make_net(jnp.float32, epsilon=1e-5, scale_invariant=scale_invariant, size=8)
  params = net.params
  if trained_batchnorm_biases:  # BN biases away from their zero initialization

    def shift(path, x):
      is_bn_bias = "norm" in str(path) and "bias" in str(path)
      noise = 0.3 * jax.random.normal(jax.random.key(len(str(path))), x.shape)
      return x + noise if is_bn_bias else x

    params = jax.tree_util.tree_map_with_path(shift, params)
  batch = (net.images[0], net.labels[0])
  return net, check_scale_invariance(lambda p, b: net.loss(p, *b), params, batch)


def test_check_is_pointwise_at_initialization():
  # With BN biases at 0, relu(c * scale * xhat) = c * relu(scale * xhat): block 0's
  # norm1 feeds only conv1 (its shortcut is the identity), so its scale passes the
  # check at this point, though not once its bias has moved (next test).
  _, report = _check(scale_invariant=False)
  assert "blocks/0/norm1/scale" in report.invariant_paths
  # Zero-initialized biases were probed at a random point (scaling zeros tests nothing).
  probed = {t.path for t in report.tensors if t.probed}
  assert {"head/bias", "norm/bias", "blocks/0/norm1/bias"} <= probed
  assert {"head/bias", "norm/bias", "blocks/0/norm1/bias"} <= set(report.variant_paths)


def test_ordinary_network_flags_head_and_batchnorm_affine():
  net, report = _check(scale_invariant=False, trained_batchnorm_biases=True)
  variant = set(report.variant_paths)
  assert {"head/kernel", "head/bias", "norm/scale", "norm/bias"} <= variant
  for block in range(3):
    assert {f"blocks/{block}/norm1/scale", f"blocks/{block}/norm1/bias",
            f"blocks/{block}/norm2/scale", f"blocks/{block}/norm2/bias"} <= variant
  assert all(max(t.relative_changes) > 1e-3 for t in report.tensors if t.path in variant)
  # The residual sums make the stem, conv2 and shortcuts variant too; conv1 feeds norm2 only.
  assert report.invariant_paths == [f"blocks/{block}/conv1/kernel" for block in range(3)]
  assert not report.all_invariant
  # The structural mask says the same.
  assert jax.tree.leaves(scale_invariant_mask_of(net, False)) == jax.tree.leaves(report.mask())
  text = str(report)
  assert "head/kernel" in text and "NOT invariant" in text and "3 of 25 tensors" in text
  assert "zero tensor: tested at a random point" in text  # head/bias


def test_scale_invariant_variant_passes():
  net, report = _check(scale_invariant=True)
  assert report.all_invariant, str(report)
  assert len(report.tensors) == len(jax.tree.leaves(net.params))
  assert max(max(t.relative_changes) for t in report.tensors) < 1e-5
  assert all(jax.tree.leaves(report.mask()))
  assert jax.tree.leaves(scale_invariant_mask_of(net, True)) == jax.tree.leaves(report.mask())


def scale_invariant_mask_of(net, scale_invariant):
  model = nnx.eval_shape(lambda: PreResNet(8, scale_invariant=scale_invariant, rngs=nnx.Rngs(0)))
  mask = scale_invariant_mask(model)
  assert jax.tree.structure(mask) == jax.tree.structure(net.params)
  return mask


def test_mask_of_wide_resnet():
  for scale_invariant, expected in [(True, 9), (False, 3)]:  # WRN-10-1: 1 block per stage
    model = nnx.eval_shape(lambda si=scale_invariant: WideResNet(
        10, 1, scale_invariant=si, rngs=nnx.Rngs(0)))
    mask = scale_invariant_mask(model)
    params = nnx.state(model, nnx.Param)
    assert jax.tree.structure(mask) == jax.tree.structure(params)
    assert sum(jax.tree.leaves(mask)) == expected


def test_mask_rejects_other_models():
  with pytest.raises(ValueError, match="knows WideResNet and PreResNet, got Linear"):
    scale_invariant_mask(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(scales=()), "scales must be a non-empty sequence"),
    (dict(scales=(2.0, 1.0)), r"scales\[1\] must differ from 1"),
    (dict(scales=(-2.0,)), r"scales\[0\] must be in \(0.0, inf\]"),
    (dict(rtol=0.0), r"rtol must be in \(0.0, inf\], got 0.0"),
])
def test_bad_arguments_raise(kwargs, match):
  with pytest.raises(ValueError, match=match):
    check_scale_invariance(lambda p, b: jnp.sum(p["w"]), {"w": jnp.ones(2)}, None, **kwargs)


def test_non_finite_loss_raises():
  with pytest.raises(ValueError, match="loss_fn must return a finite scalar"):
    check_scale_invariance(lambda p, b: jnp.log(p["w"] - 1).sum(), {"w": jnp.ones(2)}, None)


def test_paths_of_plain_dicts_and_lists():
  params = {"layers": [{"w": jnp.eye(2)}, {"w": jnp.eye(2)}]}

  def loss(p, x):
    h = x @ p["layers"][0]["w"]
    h = h / jnp.linalg.norm(h)
    return jnp.sum(jnp.sin(h @ p["layers"][1]["w"]))

  report = check_scale_invariance(loss, params, jnp.array([[1.0, 2.0]]))
  assert report.invariant_paths == ["layers/0/w"] and report.variant_paths == ["layers/1/w"]
  np.testing.assert_array_equal(jax.tree.leaves(report.mask()), [True, False])
