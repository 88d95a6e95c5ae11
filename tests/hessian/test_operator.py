"""The dataset operator, the HVP, and clear errors on bad input."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import DatasetHessian, FlatSpec, hessian_trace, hvp, top_eigenvalues
from lrsched.hessian.model_loss import model_loss
from tests.hessian.conftest import (
    cnn_data,
    dense_hessian,
    mlp_data,
    mlp_loss,
    mlp_params,
    small_cnn,
    split_batches,
)


def test_hvp_matches_dense_hessian(x64):
  params, data = mlp_params(), mlp_data()
  spec = FlatSpec.of(params)
  v = np.random.default_rng(0).standard_normal(spec.size)
  out = spec.ravel(hvp(mlp_loss, params, data, spec.unravel(jnp.asarray(v))))
  np.testing.assert_allclose(out, dense_hessian(mlp_loss, params, data) @ v, rtol=1e-10,
                             atol=1e-12)


@pytest.mark.parametrize("sizes", [[40], [16, 16, 8], [13, 13, 13, 1], [1] * 3 + [37]])
def test_uneven_batches_equal_full_batch_hvp(x64, sizes):
  params, data = mlp_params(), mlp_data(40)
  spec = FlatSpec.of(params)
  v = np.random.default_rng(1).standard_normal(spec.size)
  full = np.asarray(spec.ravel(hvp(mlp_loss, params, data, spec.unravel(jnp.asarray(v)))))
  operator = DatasetHessian(mlp_loss, params, split_batches(data, sizes))
  np.testing.assert_allclose(operator.matvec(v), full, rtol=1e-12, atol=1e-14)
  assert operator.total == 40 and operator.sizes == sizes and operator.num_matvecs == 1


def test_unweighted_mean_of_batches_would_differ(x64):
  """Guards the test above: weighting by batch size is what makes it pass."""
  params, data = mlp_params(), mlp_data(40)
  spec = FlatSpec.of(params)
  v = spec.unravel(jnp.asarray(np.random.default_rng(1).standard_normal(spec.size)))
  batches = split_batches(data, [37, 3])
  unweighted = sum(spec.ravel(hvp(mlp_loss, params, b, v)) for b in batches) / 2
  assert not np.allclose(unweighted, spec.ravel(hvp(mlp_loss, params, data, v)), rtol=1e-3)


def test_uneven_batches_cnn_eval_mode_equal_full_batch(x64):
  loss_fn, params = model_loss(small_cnn(), "eval", dtype=jnp.float64)
  data = cnn_data(12)
  spec = FlatSpec.of(params)
  v = np.random.default_rng(2).standard_normal(spec.size)
  full = DatasetHessian(loss_fn, params, data).matvec(v)
  uneven = DatasetHessian(loss_fn, params, split_batches(data, [7, 5])).matvec(v)
  np.testing.assert_allclose(uneven, full, rtol=1e-10, atol=1e-13)


def test_linearized_operator_matches(x64):
  params, batches = mlp_params(), split_batches(mlp_data(40), [30, 10])
  v = np.random.default_rng(3).standard_normal(FlatSpec.of(params).size)
  plain = DatasetHessian(mlp_loss, params, batches).matvec(v)
  linear = DatasetHessian(mlp_loss, params, batches, linearize=True)
  np.testing.assert_allclose(linear.matvec(v), plain, rtol=1e-12)
  np.testing.assert_allclose(linear.matvec(2 * v), 2 * plain, rtol=1e-12)


def test_generator_of_batches_is_kept(x64):
  params, data = mlp_params(), mlp_data(40)
  operator = DatasetHessian(mlp_loss, params, (b for b in split_batches(data, [20, 20])))
  v = np.ones(operator.size)
  np.testing.assert_array_equal(operator.matvec(v), operator.matvec(v))


def test_sharded_over_eight_devices_matches_one():
  """Eight host-platform devices in a subprocess (the device count is fixed at startup): the
  matvec, a block's matvec, top eigenvalues and the trace equal the one-device ones."""
  code = textwrap.dedent("""
      import jax, numpy as np
      jax.config.update("jax_enable_x64", True)
      assert jax.device_count() == 8
      from lrsched.hessian import DatasetHessian, hessian_trace, top_eigenvalues
      from tests.hessian.conftest import mlp_data, mlp_loss, mlp_params, split_batches
      params, data = mlp_params(), mlp_data(40)
      batches = split_batches(data, [16, 16, 7, 1])  # odd sizes are replicated
      one = jax.make_mesh((1,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
      for wrt in (None, "^w1$|^b1$"):  # everything, and the first layer's block
        sharded = DatasetHessian(mlp_loss, params, batches, wrt=wrt)
        assert sharded.mesh is not None and sharded.mesh.devices.size == 8
        single = DatasetHessian(mlp_loss, params, batches, mesh=one, wrt=wrt)
        v = np.random.default_rng(0).standard_normal(sharded.size)
        np.testing.assert_allclose(sharded.matvec(v), single.matvec(v), rtol=1e-12)
      top8 = top_eigenvalues(DatasetHessian(mlp_loss, params, batches), k=3, tol=1e-8)
      top1 = top_eigenvalues(DatasetHessian(mlp_loss, params, batches, mesh=one), k=3, tol=1e-8)
      np.testing.assert_allclose(top8.eigenvalues, top1.eigenvalues, rtol=1e-5)
      t8 = hessian_trace(DatasetHessian(mlp_loss, params, batches), num_probes=6)
      t1 = hessian_trace(DatasetHessian(mlp_loss, params, batches, mesh=one), num_probes=6)
      np.testing.assert_allclose(t8.trace, t1.trace, rtol=1e-5)
      print("ok")
  """)
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
             JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       timeout=300)
  assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


# --- bad input ---

def test_k_out_of_range():
  params = {"w": jnp.ones(4)}
  loss = lambda p, b: jnp.sum(b * p["w"] ** 2)
  for k in (4, 5, 0, -1):
    with pytest.raises(ValueError, match=rf"k must be an integer in \[1, 3\].*n=4.*got {k}"):
      top_eigenvalues(loss, params, jnp.ones(4), k=k)


def test_empty_dataset():
  loss = lambda p, b: jnp.sum(b * p ** 2)
  with pytest.raises(ValueError, match="batches must hold at least one batch"):
    top_eigenvalues(loss, jnp.ones(3), [], k=1)
  with pytest.raises(ValueError, match="batch 1 is empty"):
    hessian_trace(loss, jnp.ones(3), [np.ones(2), np.ones(0)])


def test_non_finite_params():
  loss = lambda p, b: jnp.sum(b * p["w"] ** 2)
  with pytest.raises(ValueError, match=r"params\['w'\] must be finite, got 1 NaN"):
    top_eigenvalues(loss, {"w": jnp.array([1.0, jnp.nan, 0.0])}, jnp.ones(3), k=1)


def test_nan_in_an_hvp_names_the_batch():
  loss = lambda p, b: jnp.mean(jnp.log(b)) * jnp.sum(p ** 2)
  batches = [np.ones(4), np.ones(4), -np.ones(4), np.ones(2)]
  with pytest.raises(ValueError, match=r"batch 2 \(of 4, 4 examples\) is not finite"):
    top_eigenvalues(loss, jnp.ones(3), batches, k=1)


def test_non_scalar_loss():
  loss = lambda p, b: b * p ** 2
  with pytest.raises(ValueError, match=r"loss_fn must return a real scalar, got shape \(3,\)"):
    top_eigenvalues(loss, jnp.ones(3), jnp.ones(3), k=1)
  with pytest.raises(ValueError, match="real scalar"):
    hvp(loss, jnp.ones(3), jnp.ones(3), jnp.ones(3))


def test_other_bad_arguments():
  loss = lambda p, b: jnp.sum(b * p ** 2)
  params, batch = jnp.ones(5), jnp.ones(5)
  with pytest.raises(ValueError, match=r"tol must be in \[1.19e-06, 1\).*got 1e-09"):
    top_eigenvalues(loss, params, batch, k=1, tol=1e-9)
  with pytest.raises(ValueError, match="method must be 'lanczos' or 'power'"):
    top_eigenvalues(loss, params, batch, k=1, method="arnoldi")
  with pytest.raises(ValueError, match="use method='lanczos' for which='smallest'"):
    top_eigenvalues(loss, params, batch, k=1, method="power", which="smallest")
  with pytest.raises(ValueError, match="max_matvecs must be an integer >= k=2"):
    top_eigenvalues(loss, params, batch, k=2, max_matvecs=1)
  with pytest.raises(ValueError, match="num_probes must be a positive integer"):
    hessian_trace(loss, params, batch, num_probes=0)
  with pytest.raises(ValueError, match=r"mode must be one of \('eval', 'train'\)"):
    model_loss(small_cnn(), "inference")
  with pytest.raises(ValueError, match="batch 0 must have arrays with one common leading"):
    DatasetHessian(lambda p, b: jnp.sum(p ** 2) * b["a"].sum(), params,
                   [{"a": np.ones(3), "b": np.ones(4)}])
  with pytest.raises(ValueError, match=r"v must have shape \(5,\)"):
    DatasetHessian(loss, params, batch).matvec(np.ones(4))


def test_x64_is_scoped(x64):
  assert jnp.ones(1).dtype == jnp.float64
  assert jax.config.jax_enable_x64


def _saved_bytes(operator):
  return sum(x.nbytes for linear in operator._linear for x in jax.tree.leaves(linear))


def test_remat_linearization_matches_dense_and_keeps_less(x64):
  """BatchNorm in train mode (the elementwise work remat recomputes): the same HVPs as the
  dense Hessian, from a linearization that saves fewer bytes than the plain one."""
  loss_fn, params = model_loss(small_cnn(), "train", dtype=jnp.float64)
  data = cnn_data(8)
  spec = FlatSpec.of(params)
  v = np.random.default_rng(4).standard_normal(spec.size)
  dense = dense_hessian(loss_fn, params, data) @ v
  plain = DatasetHessian(loss_fn, params, data, linearize=True)
  remat = DatasetHessian(loss_fn, params, data, remat=True)  # linearize None -> True
  np.testing.assert_allclose(remat.matvec(v), dense, rtol=1e-9, atol=1e-11)
  np.testing.assert_allclose(plain.matvec(v), dense, rtol=1e-9, atol=1e-11)
  assert remat._linearize and _saved_bytes(remat) < 0.8 * _saved_bytes(plain)
  # the remat setting reaches the subsets' and the leave-one-out operators
  two = DatasetHessian(loss_fn, params, split_batches(data, [4, 4]), remat=True)
  assert all(part._remat for part in two.subsets(2)) and two.leave_one_out(0)._remat


def test_top_eigenvalues_with_remat_equal_without(x64):
  loss_fn, params = model_loss(small_cnn(), "train", dtype=jnp.float64)
  data = cnn_data(8)
  plain = top_eigenvalues(loss_fn, params, data, k=3, tol=1e-8)
  remat = top_eigenvalues(loss_fn, params, data, k=3, tol=1e-8, remat=True)
  np.testing.assert_allclose(remat.eigenvalues, plain.eigenvalues, rtol=1e-8)


def test_remat_bad_input():
  params, data = mlp_params(dtype=jnp.float32), mlp_data(8, dtype=np.float32)
  with pytest.raises(ValueError, match="remat must be True or False, got 'yes'"):
    DatasetHessian(mlp_loss, params, data, remat="yes")
  with pytest.raises(ValueError, match="remat=True .* linearize=False"):
    DatasetHessian(mlp_loss, params, data, linearize=False, remat=True)
  operator = DatasetHessian(mlp_loss, params, data)
  with pytest.raises(ValueError, match="pass remat to the DatasetHessian itself"):
    top_eigenvalues(operator, k=1, remat=True)

  from jax.experimental import io_callback

  def logged(p, b):  # a host callback: it cannot be differentiated forward, nor remat'ed
    io_callback(lambda x: None, None, p["b2"].sum(), ordered=True)
    return mlp_loss(p, b)

  with pytest.raises(ValueError, match="remat=True: the loss cannot be linearized under "
                                       "jax.checkpoint"):
    DatasetHessian(logged, params, data, remat=True)
