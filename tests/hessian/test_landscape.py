"""loss_landscape: curvature along eigenvectors vs the eigenvalue, 2D grids, bad input."""

import jax.numpy as jnp
import numpy as np
import pytest

from lrsched.hessian import loss_landscape, plot_loss_landscape, top_eigenvalues
from tests.hessian.test_blocks import _problem


def test_curvature_along_top_eigenvectors_matches_the_eigenvalues(tmp_path):
  loss_fn, params, batch = _problem()
  top = top_eigenvalues(loss_fn, params, batch, k=2, tol=1e-5, return_eigenvectors=True)
  result = loss_landscape(loss_fn, params, batch, top, radius=0.05, num_points=21)
  assert result.losses.shape == (21, 21) and result.num_nonfinite == 0
  np.testing.assert_allclose(result.curvature, top.eigenvalues, rtol=0.02)
  line = loss_landscape(loss_fn, params, batch, top.eigenvectors[0], radius=0.05,
                        num_points=21)
  assert line.losses.shape == (21,)
  np.testing.assert_allclose(line.losses, result.losses[:, 10], rtol=1e-5)
  plot_loss_landscape(result, tmp_path / "plane.png")
  plot_loss_landscape(line, tmp_path / "line.png")
  assert (tmp_path / "plane.png").is_file() and (tmp_path / "line.png").is_file()


def test_direction_scale_does_not_matter_and_nonfinite_points_are_counted(tmp_path):
  loss = lambda p, b: jnp.log(1.0 - jnp.sum(p ** 2)) * -1.0  # noqa: E731  NaN for |p| > 1
  small = loss_landscape(loss, jnp.zeros(2), jnp.zeros(1), jnp.array([1.0, 0.0]), radius=2.0,
                         num_points=9)
  big = loss_landscape(loss, jnp.zeros(2), jnp.zeros(1), jnp.array([5.0, 0.0]), radius=2.0,
                       num_points=9)
  np.testing.assert_array_equal(np.isnan(small.losses), np.isnan(big.losses))
  assert small.num_nonfinite == 6 and np.isnan(small.losses[0])  # |t| >= 1: log(<= 0)
  plot_loss_landscape(small, tmp_path / "nan.png")


@pytest.mark.parametrize("kwargs, match", [
    (dict(radius=0.0), "radius must be a finite number > 0"),
    (dict(radius=1.0, num_points=40), "num_points must be an odd integer"),
    (dict(radius=1.0, directions={"a": jnp.ones(2)}), "structure of params"),
    (dict(radius=1.0, directions=jnp.ones(3)), "shape"),
    (dict(radius=1.0, directions=jnp.zeros(2)), "nonzero"),
    (dict(radius=1.0, directions=[jnp.ones(2)] * 3), "one or two directions"),
])
def test_bad_input_is_named(kwargs, match):
  kwargs.setdefault("directions", jnp.ones(2))
  with pytest.raises(ValueError, match=match):
    loss_landscape(lambda p, b: jnp.sum(p ** 2), jnp.zeros(2), jnp.zeros(1), **kwargs)


def test_eigen_result_without_vectors_is_refused():
  loss_fn, params, batch = _problem()
  top = top_eigenvalues(loss_fn, params, batch, k=1)
  with pytest.raises(ValueError, match="return_eigenvectors=True"):
    loss_landscape(loss_fn, params, batch, top, radius=0.1)
