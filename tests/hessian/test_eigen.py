"""Top eigenvalues against dense ``eigh(jax.hessian(...))`` in float64; PyHessian's pitfalls."""

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import FlatSpec, min_eigenvalue, top_eigenvalues
from lrsched.hessian.model_loss import model_loss
from tests.hessian.conftest import (
    cnn_data,
    dense_dataset_hessian,
    dense_hessian,
    mlp_data,
    mlp_loss,
    mlp_params,
    small_cnn,
    split_batches,
)


def _check_against_dense(result, hessian, spec, k=5):
  values, vectors = np.linalg.eigh(hessian)
  values, vectors = values[::-1][:k], vectors[:, ::-1][:, :k]
  np.testing.assert_allclose(result.eigenvalues, values, rtol=1e-4)
  assert (result.relative_residuals < 1e-7).all()
  for i, vector in enumerate(result.eigenvectors):
    flat = np.asarray(spec.ravel(vector))
    assert abs(np.linalg.norm(flat) - 1) < 1e-8
    cosine = abs(flat @ vectors[:, i])  # up to sign
    assert cosine > 1 - 1e-6, (i, cosine)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_mlp_top5_matches_dense(x64, method):
  params, data = mlp_params(), mlp_data()
  batches = split_batches(data, [16, 16, 8])
  kwargs = dict(stop="residual", max_iter=3000) if method == "power" else {}
  result = top_eigenvalues(mlp_loss, params, batches, k=5, method=method, tol=1e-9,
                           return_eigenvectors=True, **kwargs)
  assert result.all_converged or method == "power"  # deflation: see power_iteration
  assert result.eigenvalues.dtype == np.float64 and result.mode is None
  _check_against_dense(result, dense_hessian(mlp_loss, params, data), FlatSpec.of(params))
  assert result.method == method and result.num_matvecs > 5


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_cnn_with_batchnorm_top5_matches_dense(x64, mode):
  loss_fn, params = model_loss(small_cnn(), mode, dtype=jnp.float64)
  batches = split_batches(cnn_data(12), [8, 4])
  result = top_eigenvalues(loss_fn, params, batches, k=5, tol=1e-9, return_eigenvectors=True)
  assert result.mode == mode and result.all_converged
  _check_against_dense(result, dense_dataset_hessian(loss_fn, params, batches),
                       FlatSpec.of(params))


def test_batchnorm_modes_give_different_hessians(x64):
  batches = split_batches(cnn_data(12), [8, 4])
  tops = {}
  for mode in ("eval", "train"):
    loss_fn, params = model_loss(small_cnn(), mode, dtype=jnp.float64)
    tops[mode] = top_eigenvalues(loss_fn, params, batches, k=1, tol=1e-8).eigenvalues[0]
  assert abs(tops["eval"] - tops["train"]) > 1e-3 * abs(tops["eval"])


def _clustered_quadratic(n=200, seed=0):
  """0.5 x'Ax: top eigenvalue 1.0, a cluster at 0.98-0.99 just below, a bulk in [0, 0.5]."""
  rng = np.random.default_rng(seed)
  values = np.concatenate([[1.0], np.linspace(0.99, 0.98, 5), rng.uniform(0, 0.5, n - 6)])
  basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
  matrix = (basis * values) @ basis.T
  loss = lambda p, a: 0.5 * p @ (a @ p)
  return loss, np.sort(values)[::-1], jnp.asarray(matrix)


def test_clustered_top_eigenvalues_pyhessian_rule_stops_early_and_is_flagged(x64):
  loss, exact, matrix = _clustered_quadratic()
  params = jnp.zeros(len(exact))
  power = top_eigenvalues(loss, params, matrix, k=3, method="power", tol=1e-3, seed=0)
  # PyHessian's rule (relative change of the Rayleigh quotient < 1e-3) stops early ...
  errors = np.abs(power.eigenvalues - exact[:3]) / exact[:3]
  assert errors[0] > 5e-3, power.eigenvalues
  assert power.num_matvecs < 3 * 100
  # ... and our residual check says so instead of passing the wrong value as converged.
  assert not power.converged[errors > 1e-3].any()
  assert not power.all_converged
  lanczos = top_eigenvalues(loss, params, matrix, k=3, tol=1e-4, seed=0)
  assert lanczos.all_converged
  np.testing.assert_allclose(lanczos.eigenvalues, exact[:3], rtol=1e-4)


def test_negative_eigenvalues(x64):
  values = np.array([3.0, 2.0, 1.0, 0.5, -1.0, -10.0])
  loss = lambda p, d: 0.5 * jnp.sum(d * p ** 2)
  params = jnp.zeros(6)
  top = top_eigenvalues(loss, params, jnp.asarray(values), k=2, tol=1e-10)
  np.testing.assert_allclose(top.eigenvalues, [3.0, 2.0], rtol=1e-8)
  smallest = min_eigenvalue(loss, params, jnp.asarray(values), tol=1e-10)
  np.testing.assert_allclose(smallest.eigenvalues, [-10.0], rtol=1e-8)
  assert smallest.which == "smallest" and smallest.all_converged
  # power iteration (PyHessian) returns the largest *magnitude* first
  power = top_eigenvalues(loss, params, jnp.asarray(values), k=1, method="power", tol=1e-10,
                          stop="residual", max_iter=2000)
  np.testing.assert_allclose(power.eigenvalues, [-10.0], rtol=1e-6)


def test_mlp_min_eigenvalue_matches_dense(x64):
  params, data = mlp_params(), mlp_data()
  exact = np.linalg.eigvalsh(dense_hessian(mlp_loss, params, data))
  assert exact[0] < 0  # a non-convex point
  result = min_eigenvalue(mlp_loss, params, [data], k=2, tol=1e-8)
  np.testing.assert_allclose(result.eigenvalues, exact[:2][::-1], rtol=1e-4)


def test_unconverged_budget_is_flagged(x64):
  params, data = mlp_params(), mlp_data()
  result = top_eigenvalues(mlp_loss, params, [data], k=5, tol=1e-8, max_matvecs=6)
  assert result.num_matvecs == 6
  assert not result.all_converged
  assert (result.relative_residuals[~result.converged] > 1e-8).all()


def test_deterministic_for_a_seed(x64):
  params, data = mlp_params(), mlp_data()
  runs = [top_eigenvalues(mlp_loss, params, [data], k=3, tol=1e-3, seed=s) for s in (4, 4, 5)]
  np.testing.assert_array_equal(runs[0].eigenvalues, runs[1].eigenvalues)
  assert runs[0].num_matvecs == runs[1].num_matvecs
  assert not np.array_equal(runs[0].eigenvalues, runs[2].eigenvalues)


def test_float32_default_dtype():
  params = mlp_params(dtype=jnp.float32)
  data = mlp_data(dtype=np.float32)
  result = top_eigenvalues(mlp_loss, params, [data], k=2, tol=1e-4)
  with_x64 = np.linalg.eigvalsh(dense_hessian(mlp_loss, params, data).astype(np.float64))
  np.testing.assert_allclose(result.eigenvalues, with_x64[::-1][:2], rtol=1e-3)
  assert result.all_converged
