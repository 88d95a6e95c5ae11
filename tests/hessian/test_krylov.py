"""The Krylov basis on the devices equals the NumPy one (lrsched.hessian.krylov)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import DatasetHessian, top_eigenvalues
from lrsched.hessian.eigen import lanczos
from lrsched.hessian.krylov import CHUNK_ROWS, DeviceBasis, HostBasis

from .conftest import mlp_data, mlp_loss, mlp_params


def _symmetric(n, seed=0):
  rng = np.random.default_rng(seed)
  q, _ = np.linalg.qr(rng.standard_normal((n, n)))
  values = np.concatenate([[9.0, 8.7, 8.5], rng.uniform(-8, 8, n - 3)])
  return ((q * values) @ q.T).astype(np.float32), np.sort(values)[::-1]


def test_device_basis_is_orthonormal_across_chunks_and_combines_rows():
  n, rows = 50, 3 * CHUNK_ROWS + 3  # a partly filled fourth chunk
  device = DeviceBasis(n, np.float32, jnp.asarray)
  host = HostBasis(n, rows, np.float32)
  rng = np.random.default_rng(0)
  for _ in range(rows):
    v = rng.standard_normal(n).astype(np.float32)
    d = device.orthogonalize(device.vector(v)) if len(device) else device.vector(v)
    h = host.orthogonalize(host.vector(v)) if len(host) else host.vector(v)
    np.testing.assert_allclose(np.asarray(d), h, rtol=1e-4, atol=1e-5)
    device.append(d / device.norm(d))
    host.append(h / host.norm(h))
  assert len(device) == rows
  q = np.asarray(device.combine(np.eye(rows)))
  assert q.shape == (rows, n)
  np.testing.assert_allclose(q @ q.T, np.eye(rows), atol=2e-6)
  coefficients = rng.standard_normal((2, rows))
  np.testing.assert_allclose(np.asarray(device.combine(coefficients)),
                             host.combine(coefficients), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("which", ["largest", "smallest"])
def test_lanczos_with_the_basis_on_the_device_equals_the_host_basis(which):
  n = 60
  a, values = _symmetric(n)
  kwargs = dict(which=which, tol=1e-4, seed=3, dtype=np.float32, return_eigenvectors=True)
  host = lanczos(lambda v: a @ v, n, 3, **kwargs)
  device = lanczos(lambda v: jnp.asarray(a) @ v, n, 3, place=jnp.asarray, **kwargs)
  assert isinstance(device["eigenvectors"], jax.Array)
  assert device["num_matvecs"] == host["num_matvecs"] > 2 * CHUNK_ROWS  # several chunks
  np.testing.assert_allclose(device["eigenvalues"], host["eigenvalues"], rtol=1e-5)
  expected = values[:3] if which == "largest" else values[::-1][:3][::-1]
  np.testing.assert_allclose(device["eigenvalues"], expected, rtol=1e-3)
  for v, lam in zip(np.asarray(device["eigenvectors"]), device["eigenvalues"], strict=True):
    assert np.linalg.norm(a @ v - lam * v) <= 2e-3 * abs(lam)


def test_top_eigenvalues_returns_device_eigenvectors_of_the_dense_hessian():
  params = mlp_params(dtype=jnp.float32)
  data = mlp_data(dtype=np.float32)
  operator = DatasetHessian(mlp_loss, params, data)
  dense = np.stack([operator.matvec(e) for e in np.eye(operator.size, dtype=np.float32)])
  dense = 0.5 * (dense + dense.T)
  result = top_eigenvalues(operator, k=2, tol=1e-4, return_eigenvectors=True)
  np.testing.assert_allclose(result.eigenvalues, np.linalg.eigvalsh(dense)[::-1][:2], rtol=1e-4)
  for vector, lam in zip(result.eigenvectors, result.eigenvalues, strict=True):
    flat = np.asarray(operator.spec.ravel(vector))
    assert np.linalg.norm(dense @ flat - lam * flat) <= 2e-4 * abs(lam)


def test_device_matvec_checks_the_shape_and_matches_matvec():
  params = mlp_params(dtype=jnp.float32)
  operator = DatasetHessian(mlp_loss, params, mlp_data(dtype=np.float32), wrt="w2")
  v = np.random.default_rng(0).standard_normal(operator.size).astype(np.float32)
  np.testing.assert_allclose(np.asarray(operator.device_matvec(operator.place_vector(v))),
                             operator.matvec(v), rtol=1e-6)
  with pytest.raises(ValueError, match=r"v must have shape \(21,\)"):
    operator.device_matvec(jnp.ones(22))


def test_device_basis_leaves_the_callers_vector_alone_and_matvec_is_writeable():
  basis = DeviceBasis(4, np.float32, jnp.asarray)
  basis.append(jnp.array([1.0, 0.0, 0.0, 0.0]))
  w = jnp.ones(4)
  np.testing.assert_allclose(np.asarray(basis.orthogonalize(w)), [0.0, 1.0, 1.0, 1.0])
  assert not w.is_deleted()
  operator = DatasetHessian(mlp_loss, mlp_params(dtype=jnp.float32), mlp_data(dtype=np.float32))
  hv = operator.matvec(np.ones(operator.size, np.float32))
  hv -= 1.0  # a fresh host array, as before the device basis


def test_a_large_outlier_does_not_make_the_bulk_look_invariant():
  """With an outlier 1e4 times the bulk, the float32 basis still resolves the bulk's top
  values (49 HVPs here)."""
  n = 300
  rng = np.random.default_rng(1)
  q, _ = np.linalg.qr(rng.standard_normal((n, n)))
  values = np.concatenate([[1e4, 5e3, 1e3], np.sort(rng.uniform(0, 1, n - 3))[::-1]])
  a = ((q * values) @ q.T).astype(np.float32)
  out = lanczos(lambda v: a @ v, n, 5, tol=1e-3, dtype=np.float32, seed=0)
  np.testing.assert_allclose(out["eigenvalues"], values[:5], rtol=1e-3)
  assert out["converged"].all() and out["num_matvecs"] <= 55
