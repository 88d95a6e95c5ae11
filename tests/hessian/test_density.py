"""Hutchinson trace, SLQ density, convergence intervals and the Fig. 5 plot."""

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import (
    convergence_intervals,
    hessian_trace,
    plot_convergence_intervals,
    spectral_density,
    top_eigenvalues,
)
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


def test_trace_within_5_percent_with_100_probes(x64):
  params, data = mlp_params(), mlp_data()
  exact = np.trace(dense_hessian(mlp_loss, params, data))
  result = hessian_trace(mlp_loss, params, split_batches(data, [25, 15]), num_probes=100)
  assert result.num_matvecs == 100 and len(result.samples) == 100
  assert abs(result.trace - exact) < 0.05 * abs(exact), (result.trace, exact)
  assert abs(result.trace - exact) < 4 * result.std_error


def test_trace_of_batchnorm_cnn_train_mode(x64):
  loss_fn, params = model_loss(small_cnn(), "train", dtype=jnp.float64)
  batches = split_batches(cnn_data(12), [8, 4])
  exact = np.trace(dense_dataset_hessian(loss_fn, params, batches))
  result = hessian_trace(loss_fn, params, batches, num_probes=100, seed=1)
  assert result.mode == "train"
  # off-diagonal mass makes this Hessian's probe variance large: judge by the std error
  assert abs(result.trace - exact) < 3 * result.std_error, (result.trace, exact)
  assert result.std_error < 0.1 * abs(exact)


def test_trace_deterministic_and_unbiased_over_seeds(x64):
  params, data = mlp_params(), mlp_data()
  exact = np.trace(dense_hessian(mlp_loss, params, data))
  a = hessian_trace(mlp_loss, params, data, num_probes=20, seed=3)
  b = hessian_trace(mlp_loss, params, data, num_probes=20, seed=3)
  np.testing.assert_array_equal(a.samples, b.samples)
  samples = np.concatenate([hessian_trace(mlp_loss, params, data, 50, s).samples
                            for s in range(4)])
  assert abs(samples.mean() - exact) < 4 * samples.std() / np.sqrt(len(samples))


def test_density_integrates_to_one_and_matches_the_spectrum(x64):
  params, data = mlp_params(), mlp_data()
  exact = np.linalg.eigvalsh(dense_hessian(mlp_loss, params, data))
  result = spectral_density(mlp_loss, params, data, num_probes=3, num_steps=30)
  assert abs(np.trapezoid(result.density, result.grid) - 1) < 1e-6
  assert (result.density >= 0).all()
  np.testing.assert_allclose(result.weights.sum(axis=1), 1, rtol=1e-10)
  assert result.num_matvecs == 3 * 30
  # the quadrature's extreme nodes are the extreme eigenvalues (30 steps, 66 dims)
  np.testing.assert_allclose(np.nanmax(result.nodes), exact[-1], rtol=1e-6)
  np.testing.assert_allclose(np.nanmin(result.nodes), exact[0], rtol=1e-6)
  # its mean is the Hutchinson estimate of tr(H)/n from the same probes (same seed)
  mean = np.trapezoid(result.grid * result.density, result.grid)
  hutchinson = hessian_trace(mlp_loss, params, data, num_probes=3).trace / len(exact)
  np.testing.assert_allclose(mean, hutchinson, rtol=1e-6)


def test_density_full_krylov_space_is_exact(x64):
  values = np.array([1.0, 2.0, 2.0, 5.0])
  loss = lambda p, d: 0.5 * jnp.sum(d * p ** 2)
  result = spectral_density(loss, jnp.zeros(4), jnp.asarray(values), num_steps=10, sigma=0.05)
  nodes = result.nodes[~np.isnan(result.nodes)]
  np.testing.assert_allclose(np.sort(nodes), [1.0, 2.0, 5.0], atol=1e-10)
  weights = result.weights[0][~np.isnan(result.nodes[0])]
  np.testing.assert_allclose(weights[np.argsort(nodes)], [0.25, 0.5, 0.25], atol=1e-10)
  assert abs(np.trapezoid(result.density, result.grid) - 1) < 1e-6
  with pytest.raises(ValueError, match="sigma must be > 0"):
    spectral_density(loss, jnp.zeros(4), jnp.asarray(values), sigma=0.0)


def test_convergence_intervals():
  out = convergence_intervals([2.0, 400.0, 0.0, -3.0], momentum=0.5)
  np.testing.assert_array_equal(out.eigenvalues, [400.0, 2.0, 0.0, -3.0])
  np.testing.assert_allclose(out.gd_upper, [0.005, 1.0, 0.0, 0.0])
  np.testing.assert_allclose(out.upper, [0.0075, 1.5, 0.0, 0.0])
  assert out.contains(0.1).tolist() == [False, True, False, False]
  assert convergence_intervals([4.0]).max_stable_lr == 0.5
  for bad, match in [(([1.0], 1.0), r"momentum must be in \[0, 1\)"),
                     (([],), "at least one"), (([np.nan],), "finite")]:
    with pytest.raises(ValueError, match=match):
      convergence_intervals(*bad)


def test_gd_on_a_quadratic_converges_exactly_inside_the_interval():
  """The 2/lambda bound itself: GD on 0.5 lambda x^2 contracts iff lr < 2/lambda."""
  lam = 40.0
  upper = convergence_intervals([lam]).upper[0]
  for lr, should_converge in [(0.99 * upper, True), (1.01 * upper, False)]:
    x = 1.0
    for _ in range(2000):
      x -= lr * lam * x
    assert (abs(x) < 1e-3) == should_converge


def test_fig5_plot_from_top_eigenvalues(x64, tmp_path):
  params, data = mlp_params(), mlp_data()
  top = top_eigenvalues(mlp_loss, params, data, k=5, tol=1e-6)
  path = tmp_path / "fig5.png"
  fig = plot_convergence_intervals(top.eigenvalues, learning_rates=[1.0, 1.0, 0.1, 0.01],
                                   momentum=0.9, path=path)
  assert path.stat().st_size > 1000
  ax = fig.axes[0]
  assert len(ax.patches) == 10  # momentum bars + GD bars
  assert len(ax.get_lines()) == 3  # the distinct learning rates
  heights = sorted(p.get_height() for p in ax.patches)[:5]
  np.testing.assert_allclose(sorted(heights), np.sort(2 / top.eigenvalues), rtol=1e-12)
