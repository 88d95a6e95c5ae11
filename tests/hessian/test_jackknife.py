"""Delete-one-batch jackknife (lrsched.hessian.jackknife) of the top eigenvalues and the trace."""

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import DatasetHessian, hessian_trace, top_eigenvalues
from lrsched.hessian.jackknife import jackknife
from tests.hessian.conftest import (
    dense_hessian,
    mlp_data,
    mlp_loss,
    mlp_params,
    split_batches,
)


def test_jackknife_of_a_mean_is_the_t_interval_and_removes_the_bias_of_a_square():
  rng = np.random.default_rng(0)
  x = rng.standard_normal(7) + 2.0
  loo = np.array([(x.sum() - v) / 6 for v in x])
  out = jackknife(np.array([x.mean(), x.mean() ** 2]), np.stack([loo, loo ** 2], 1))
  assert out["estimate"][0] == pytest.approx(x.mean())  # linear: no correction
  assert out["std_error"][0] == pytest.approx(x.std(ddof=1) / np.sqrt(7))
  # the jackknife of mean^2 is the unbiased mean^2 - s^2 / n (Quenouille)
  assert out["estimate"][1] == pytest.approx(x.mean() ** 2 - x.var(ddof=1) / 7)
  half = 2.4469118511449692 * out["std_error"][0]  # t(0.975, 6)
  assert out["ci_high"][0] - out["estimate"][0] == pytest.approx(half)
  assert out["dof"] == 6 and out["batches"] == 7


def test_weighted_jackknife_of_a_weighted_mean_is_exact():
  x, sizes = np.array([1.0, 2.0, 4.0, 5.0]), np.array([3.0, 1.0, 2.0, 2.0])
  full = sizes @ x / sizes.sum()
  loo = np.array([[(sizes @ x - s * v) / (sizes.sum() - s)] for s, v in zip(sizes, x, strict=True)])
  assert jackknife([full], loo, sizes)["estimate"][0] == pytest.approx(full)


def test_95_percent_interval_covers_the_truth_in_90_to_99_percent_of_200_draws():
  """Per-batch Hessians ``A + (G + G')/2`` (G standard normal, 8 x 8), 8 batches: the truth
  is ``lambda_i(A)`` and ``tr(A)``. The full-data top eigenvalue is biased upward (by about
  0.11 here, a third of its standard error); the jackknife removes it."""
  rng = np.random.default_rng(0)
  n, batches = 8, 8
  a = np.diag([6.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.2, 0.0])
  truth = np.array([6.0, 4.0, np.trace(a)])

  def estimate(h):
    mean = h.mean(0)
    values = np.linalg.eigvalsh(mean)[::-1]
    return np.array([values[0], values[1], np.trace(mean)])

  covered, bias_full, bias_jack = np.zeros(3), [], []
  for _ in range(200):
    g = rng.standard_normal((batches, n, n))
    h = a + (g + g.transpose(0, 2, 1)) / 2
    full = estimate(h)
    out = jackknife(full, np.array([estimate(np.delete(h, b, 0)) for b in range(batches)]))
    covered += (np.array(out["ci_low"]) <= truth) & (truth <= np.array(out["ci_high"]))
    bias_full.append(full - truth)
    bias_jack.append(np.array(out["estimate"]) - truth)
  coverage = covered / 200
  print("coverage (lambda_1, lambda_2, trace):", coverage)
  assert ((0.90 <= coverage) & (coverage <= 0.99)).all(), coverage
  assert np.mean(bias_full, 0)[0] > 0.05 and abs(np.mean(bias_jack, 0)[0]) < 0.03


def test_top_eigenvalues_jackknife_uses_the_leave_one_out_hessians(x64):
  params, data = mlp_params(), mlp_data(40)
  batches = split_batches(data, [12, 12, 10, 6])
  operator = DatasetHessian(mlp_loss, params, batches)
  out = top_eigenvalues(operator, k=3, tol=1e-9, jackknife=True)
  jack = out.jackknife
  assert jack["batches"] == 4 and np.array(jack["converged"]).all()
  np.testing.assert_allclose(jack["full"], out.eigenvalues)
  sizes = np.array([12.0, 12.0, 10.0, 6.0])
  dense = np.stack([dense_hessian(mlp_loss, params, x) for x in batches])  # once per batch
  for b in range(4):
    rest = np.delete(np.arange(4), b)
    combined = np.tensordot(sizes[rest], dense[rest], 1) / sizes[rest].sum()
    exact = np.linalg.eigvalsh(combined)[::-1][:3]
    np.testing.assert_allclose(jack["leave_one_out"][b], exact, rtol=1e-7)
  expected = jackknife(out.eigenvalues, np.array(jack["leave_one_out"]), [12, 12, 10, 6])
  np.testing.assert_allclose(jack["estimate"], expected["estimate"])
  assert out.num_matvecs < jack["num_matvecs"]  # the B runs are counted apart
  assert out.to_dict()["jackknife"]["dof"] == 3


def test_trace_jackknife_costs_no_hvps_and_equals_the_same_probes_without_a_batch(x64):
  params, data = mlp_params(), mlp_data(40)
  batches = split_batches(data, [12, 12, 10, 6])
  operator = DatasetHessian(mlp_loss, params, batches)
  for method, probes in (("hutchinson", 5), ("hutch++", 9)):
    plain = hessian_trace(operator, num_probes=probes, seed=3, method=method)
    out = hessian_trace(operator, num_probes=probes, seed=3, method=method, jackknife=True)
    assert out.num_matvecs == plain.num_matvecs == probes
    assert out.trace == pytest.approx(plain.trace, rel=1e-12)
    if method == "hutchinson":  # the same probes on B - 1 batches
      for b in range(4):
        alone = hessian_trace(operator.leave_one_out(b), num_probes=probes, seed=3)
        assert out.jackknife["leave_one_out"][b][0] == pytest.approx(alone.trace, rel=1e-12)
      assert out.jackknife["estimate"][0] == pytest.approx(out.trace, rel=1e-12)  # linear


def test_batch_quadratic_forms_and_leave_one_out(x64):
  params, data = mlp_params(), mlp_data(40)
  batches = split_batches(data, [16, 16, 8])
  operator = DatasetHessian(mlp_loss, params, batches, wrt="w2")
  v = np.random.default_rng(0).standard_normal(operator.size)
  forms = operator.batch_quadratic_forms(v)
  for b, batch in enumerate(batches):
    dense = dense_hessian(mlp_loss, params, batch)[operator._index][:, operator._index]
    assert forms[b] == pytest.approx(v @ dense @ v, rel=1e-10)
  assert operator.num_matvecs == 1
  rest = operator.leave_one_out(1)
  assert rest.sizes == [16, 8] and rest.total == 24 and rest.num_matvecs == 0
  alone = DatasetHessian(mlp_loss, params, [batches[0], batches[2]], wrt="w2")
  np.testing.assert_allclose(rest.matvec(v), alone.matvec(v), rtol=1e-12)
  assert operator.sizes == [16, 16, 8]  # untouched


def test_bad_jackknife_input():
  loss = lambda p, b: 0.5 * jnp.sum(b * p ** 2)
  two = [jnp.ones(4), 2 * jnp.ones(4)]
  with pytest.raises(ValueError, match=r"jackknife needs at least 3 batches .* got 2 batch"):
    top_eigenvalues(loss, jnp.zeros(4), two, k=1, jackknife=True)
  with pytest.raises(ValueError, match=r"jackknife needs at least 3 batches .* got 2 batch"):
    hessian_trace(loss, jnp.zeros(4), two, num_probes=2, jackknife=True)
  with pytest.raises(ValueError, match="got 2 batch"):
    jackknife([1.0], [[1.0], [2.0]])
  with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
    jackknife([1.0], [[1.0], [2.0], [3.0]], confidence=95)
  with pytest.raises(ValueError, match="sizes must be 3 positive batch sizes"):
    jackknife([1.0], [[1.0], [2.0], [3.0]], sizes=[1, 0, 2])
  operator = DatasetHessian(loss, jnp.zeros(4), two)
  with pytest.raises(ValueError, match=r"index must be an integer in \[0, 1\], got 2"):
    operator.leave_one_out(2)
