"""Thick-restart Lanczos (lrsched.hessian.restart) against dense eigh and plain Lanczos."""

import os
import pathlib
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import DatasetHessian, top_eigenvalues
from lrsched.hessian import restart as restart_module
from lrsched.hessian.eigen import lanczos
from lrsched.hessian.krylov import DeviceBasis, HostBasis
from lrsched.hessian.model_loss import model_loss
from tests.hessian.conftest import cnn_data, small_cnn, split_batches

ROOT = pathlib.Path(__file__).parent.parent.parent


def _spectrum(kind: str, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """A dense symmetric matrix with a named kind of spectrum, and its eigenvalues (descending)."""
  rng = np.random.default_rng(seed)
  values = {
      "random": lambda: rng.standard_normal(n),
      "clustered": lambda: np.concatenate([[1.0], np.linspace(0.99, 0.98, 5),
                                           rng.uniform(0, 0.5, n - 6)]),
      "outlier": lambda: np.concatenate([[1e3], rng.uniform(0, 1, n - 1)]),
      "repeated": lambda: np.concatenate([[5.0, 5.0, 5.0, 4.0, 4.0], rng.uniform(0, 3, n - 5)]),
      "powerlaw": lambda: 1.0 / np.arange(1, n + 1),
      "hessian": lambda: np.concatenate([np.sort(rng.lognormal(2, 1, 20))[::-1],
                                         rng.normal(0, 0.5, n - 20)]),
  }[kind]()
  q, _ = np.linalg.qr(rng.standard_normal((n, n)))
  return (q * values) @ q.T, np.sort(values)[::-1]


@pytest.mark.parametrize("kind", ["clustered", "outlier", "repeated", "random"])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_restarted_matches_eigh_with_a_basis_of_2k_plus_2_in_float64(kind, k):
  a, _ = _spectrum(kind)
  exact = np.linalg.eigvalsh(a)[::-1]
  out = lanczos(lambda v: a @ v, len(a), k, tol=1e-8, max_matvecs=2000, max_basis=2 * k + 2)
  assert out["stop_reason"] == "converged" and out["converged"].all()
  assert out["restarts"] > 0 or kind == "outlier"  # an outlier's top-1 needs 4 HVPs
  if kind == "repeated" and k == 3:
    # 5, 5, 5 exactly: one start vector's Krylov space may miss a copy (the documented
    # limitation of single-vector Lanczos, lrsched.hessian.eigen); plain Lanczos returns
    # 5, 5, 4 here too. Each value is still an eigenvalue, and both methods agree.
    plain = lanczos(lambda v: a @ v, len(a), k, tol=1e-8)
    np.testing.assert_allclose(out["eigenvalues"], plain["eigenvalues"], rtol=1e-6)
    assert np.abs(out["eigenvalues"][:, None] - exact[None]).min(1).max() <= 1e-6 * exact[0]
  else:
    np.testing.assert_allclose(out["eigenvalues"], exact[:k], rtol=1e-6)
  # the smallest-eigenvalue path on -a (the same spectrum end: a dense bulk's small end
  # has gaps of 1e-6, where any Krylov method may take the 4th value for the 3rd)
  smallest = lanczos(lambda v: -(a @ v), len(a), k, which="smallest", tol=1e-8,
                     max_matvecs=2000, max_basis=2 * k + 2)
  assert smallest["converged"].all()
  expected = -exact[:k][::-1] if not (kind == "repeated" and k == 3) else lanczos(
      lambda v: -(a @ v), len(a), k, which="smallest", tol=1e-8)["eigenvalues"]
  np.testing.assert_allclose(smallest["eigenvalues"], expected, rtol=1e-6)


@pytest.mark.parametrize("kind", ["clustered", "outlier", "random"])
def test_restarted_matches_eigh_in_float32_within_a_bound_from_eps(kind):
  """float32: a Ritz value with residual r is within r of an eigenvalue of the float32
  operator, which is within the matvec's rounding of the float64 one. The rounding of a
  length-n dot product is <= sqrt(n) eps ||A|| with high probability (random signs); the
  bound below allows 4x that, plus the tol residual: no CPU-specific constant."""
  a, _ = _spectrum(kind)
  n, k, tol = len(a), 4, 1e-5
  a32 = a.astype(np.float32)
  exact = np.linalg.eigvalsh(a32.astype(np.float64))[::-1][:k]
  out = lanczos(lambda v: a32 @ v, n, k, tol=tol, dtype=np.float32, max_matvecs=n,
                max_basis=2 * k + 2)
  assert out["converged"].all() and out["restarts"] > 0
  bound = tol * np.abs(exact) + 4 * np.sqrt(n) * np.finfo(np.float32).eps * np.abs(exact).max()
  assert (np.abs(out["eigenvalues"] - exact) <= bound).all(), (out["eigenvalues"] - exact, bound)


def test_hvps_of_the_default_basis_are_within_1_5x_of_plain_lanczos():
  """``max_basis="auto"`` (2k + 10) on typical spectra; also printed for 2k + 2."""
  ratios = {}
  for kind in ("random", "clustered", "outlier", "powerlaw", "hessian"):
    a, _ = _spectrum(kind, n=300)
    matvec = a.__matmul__
    for k in (1, 5, 10):
      plain = lanczos(matvec, 300, k, tol=1e-6, max_matvecs=300)
      for label, basis in (("auto", "auto"), ("2k+2", 2 * k + 2)):
        out = lanczos(matvec, 300, k, tol=1e-6, max_matvecs=300, max_basis=basis)
        assert out["converged"].all(), (kind, k, label)
        ratios[kind, k, label] = out["num_matvecs"] / plain["num_matvecs"]
  print("HVPs restarted / plain:", {key: round(r, 2) for key, r in ratios.items()})
  assert max(r for (_, _, label), r in ratios.items() if label == "auto") <= 1.5


def test_max_basis_at_least_the_budget_is_plain_lanczos():
  a, _ = _spectrum("random", n=120)
  plain = lanczos(lambda v: a @ v, 120, 3, tol=1e-8)
  same = lanczos(lambda v: a @ v, 120, 3, tol=1e-8, max_basis=120)  # budget min(n, 100) = 100
  np.testing.assert_array_equal(same["eigenvalues"], plain["eigenvalues"])
  assert same["num_matvecs"] == plain["num_matvecs"] and same["restarts"] == 0
  assert plain["stop_reason"] == "converged"


def test_restarted_equals_plain_on_a_small_network_hessian(x64):
  """The device basis's in-place restart, on SmallCNN's (47 parameters) dataset Hessian."""
  loss_fn, params = model_loss(small_cnn(), "train", dtype=jnp.float64)
  operator = DatasetHessian(loss_fn, params, split_batches(cnn_data(12), [8, 4]))
  plain = top_eigenvalues(operator, k=5, tol=1e-9)
  restarted = top_eigenvalues(operator, k=5, tol=1e-9, max_basis=12, return_eigenvectors=True)
  assert restarted.restarts > 0 and restarted.all_converged and restarted.max_basis == 12
  np.testing.assert_allclose(restarted.eigenvalues, plain.eigenvalues, rtol=1e-7)
  for vector, value in zip(restarted.eigenvectors, restarted.eigenvalues, strict=True):
    flat = np.asarray(operator.spec.ravel(vector))
    assert abs(np.linalg.norm(flat) - 1) < 1e-8
    assert np.linalg.norm(operator.matvec(flat) - value * flat) <= 1e-8 * abs(value)
  print(f"SmallCNN top-5: {restarted.num_matvecs} HVPs restarted (basis 12) vs "
        f"{plain.num_matvecs} plain")
  assert restarted.to_dict()["stop_reason"] == "converged"


@pytest.mark.parametrize("columns", [7, 64])  # blocks with a tail, and one block
def test_device_restart_rotates_in_place_like_the_host(monkeypatch, columns):
  monkeypatch.setattr("lrsched.hessian.krylov.RESTART_COLUMNS", columns)
  n, rows, kept = 50, 19, 10  # three chunks, two kept
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.standard_normal((n, rows)))
  device, host = DeviceBasis(n, np.float32, jnp.asarray), HostBasis(n, rows, np.float32)
  for row in q.T.astype(np.float32):
    device.append(jnp.asarray(row))
    host.append(row)
  s, _ = np.linalg.qr(rng.standard_normal((rows, kept)))
  device.restart(s.T)
  host.restart(s.T)
  assert len(device) == len(host) == kept and len(device._chunks) == 2
  got = np.asarray(device.combine(np.eye(kept)))
  np.testing.assert_allclose(got, host.combine(np.eye(kept)), atol=1e-6)
  np.testing.assert_allclose(got, (q @ s).T, atol=1e-6)
  w = rng.standard_normal(n).astype(np.float32)  # rows past kept are zero: clean projection
  np.testing.assert_allclose(np.asarray(device.orthogonalize(jnp.asarray(w))),
                             host.orthogonalize(w), atol=1e-5)
  with pytest.raises(ValueError, match=r"coefficients must have shape \(<= 10, 10\)"):
    device.restart(np.ones((3, 11)))


def test_stagnation_needs_max_basis_hvps_without_any_record():
  progress = restart_module._Progress(np.array([2.0, 1.0]), np.array([1e-2, 1e-1]), "largest",
                                      tol=1e-6)
  # the residuals oscillate, the Ritz values creep up: progress each time
  assert not progress.idle(np.array([2.0, 1.1]), np.array([5e-2, 2e-1]), 10, 1e-12, 8)
  assert not progress.idle(np.array([2.0, 1.1]), np.array([5e-3, 2e-1]), 14, 1e-12, 8)
  # nothing new: idle only once max_basis (8) HVPs passed since the last record
  assert not progress.idle(np.array([1.9, 1.05]), np.array([6e-3, 3e-1]), 18, 1e-12, 8)
  assert progress.idle(np.array([2.0, 1.1]), np.array([5e-3, 2e-1]), 22, 1e-12, 8)
  smallest = restart_module._Progress(np.array([-2.0]), np.array([1e-2]), "smallest", 1e-6)
  assert not smallest.idle(np.array([-2.5]), np.array([1e-2]), 10, 1e-12, 4)
  assert smallest.idle(np.array([-2.4]), np.array([1e-2]), 14, 1e-12, 4)


def test_a_stagnated_run_reports_it_and_flags_the_unconverged(monkeypatch):
  """Forced: every restart looks like no progress (a _Progress that is always idle)."""
  monkeypatch.setattr(restart_module._Progress, "idle", lambda self, *args: True)
  a, _ = _spectrum("clustered", n=200)
  out = lanczos(lambda v: a @ v, 200, 3, tol=1e-12 * 1e3, max_matvecs=200, max_basis=8)
  assert out["stop_reason"] == "stagnated" and out["num_matvecs"] < 200
  assert not out["converged"].all()
  np.testing.assert_array_equal(out["converged"], out["relative_residuals"] <= 1e-9)


def test_bad_max_basis():
  loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)
  params, batch = jnp.zeros(20), jnp.arange(1.0, 21.0)
  for bad in (4, 21, True, "big", 3.5):
    with pytest.raises(ValueError, match=r"max_basis must be None, 'auto' or an integer in "
                                         r"\[k \+ 2, n\] = \[5, 20\].*got"):
      top_eigenvalues(loss, params, batch, k=3, max_basis=bad)
  with pytest.raises(ValueError, match="max_basis .* method='lanczos' only"):
    top_eigenvalues(loss, params, batch, k=3, method="power", max_basis=8)
  with pytest.raises(ValueError, match=r"keep must be in \[k, max_basis - 2\] = \[3, 6\]"):
    restart_module.thick_restart_lanczos(lambda v: v, 20, 3, budget=20, max_basis=8, keep=7)
  auto = top_eigenvalues(loss, params, batch, k=2, max_basis="auto", tol=1e-5)
  assert auto.max_basis == 14 and auto.all_converged


@pytest.mark.slow  # a subprocess with 8 CPU devices: ~15-30 s on 2 shared cores
def test_restarted_under_eight_faked_devices_equals_one_device():
  code = textwrap.dedent("""
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from lrsched.hessian import DatasetHessian, top_eigenvalues
    from tests.hessian.conftest import mlp_data, mlp_loss, mlp_params, split_batches
    assert jax.device_count() == 8
    params, data = mlp_params(), mlp_data(40)
    batches = split_batches(data, [16, 16, 8])
    one = jax.make_mesh((1,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    dense = np.linalg.eigvalsh(np.stack([DatasetHessian(mlp_loss, params, batches, mesh=one)
                                         .matvec(e) for e in np.eye(66)]))[::-1]
    for k in (1, 3, 5):
      eight = top_eigenvalues(DatasetHessian(mlp_loss, params, batches), k=k, tol=1e-9,
                              max_basis=2 * k + 2)
      single = top_eigenvalues(DatasetHessian(mlp_loss, params, batches, mesh=one), k=k,
                               tol=1e-9, max_basis=2 * k + 2)
      assert eight.restarts > 0 and eight.all_converged, (k, eight.stop_reason)
      np.testing.assert_allclose(eight.eigenvalues, single.eigenvalues, rtol=1e-9)
      np.testing.assert_allclose(eight.eigenvalues, dense[:k], rtol=1e-6)
    print("ok")
  """)
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
             JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=300)
  assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]
