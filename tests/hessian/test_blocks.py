"""wrt= and per_layer: diagonal Hessian blocks against a dense Hessian, bad input."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from lrsched.hessian import (
    DatasetHessian,
    hessian_trace,
    min_eigenvalue,
    param_paths,
    per_layer,
    spectral_density,
    top_eigenvalues,
)


def _problem():
  k = jax.random.split(jax.random.key(0), 4)
  params = {"dense1": {"kernel": 0.5 * jax.random.normal(k[0], (4, 5)), "bias": jnp.zeros(5)},
            "dense2": {"kernel": 0.5 * jax.random.normal(k[1], (5, 3)), "bias": jnp.zeros(3)}}
  batch = {"x": jax.random.normal(k[2], (32, 4)), "y": jax.random.randint(k[3], (32,), 0, 3)}

  def loss_fn(p, b):
    h = jnp.tanh(b["x"] @ p["dense1"]["kernel"] + p["dense1"]["bias"])
    logits = h @ p["dense2"]["kernel"] + p["dense2"]["bias"]
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(b["y"].size), b["y"]])

  return loss_fn, params, batch


def _dense_block(loss_fn, params, batch, keep):
  """The dense Hessian's block of the parameters whose path ``keep`` accepts."""
  flat, unravel = ravel_pytree(params)
  full = np.asarray(jax.hessian(lambda v: loss_fn(unravel(v), batch))(flat), np.float64)
  offset, index = 0, []
  for path, leaf in zip(param_paths(params), jax.tree.leaves(params), strict=True):
    if keep(path):
      index.extend(range(offset, offset + leaf.size))
    offset += leaf.size
  return full[np.ix_(index, index)]


@pytest.mark.parametrize("wrt", ["^dense1/", "dense2/kernel$", lambda p: p.endswith("bias")])
def test_block_spectrum_and_trace_equal_the_dense_block(wrt):
  loss_fn, params, batch = _problem()
  keep = wrt if callable(wrt) else (lambda path: re.search(wrt, path) is not None)
  block = _dense_block(loss_fn, params, batch, keep)
  n = block.shape[0]
  exact = np.sort(np.linalg.eigvalsh(block))[::-1]
  top = top_eigenvalues(loss_fn, params, batch, k=2, tol=1e-5, wrt=wrt)
  np.testing.assert_allclose(top.eigenvalues, exact[:2], rtol=1e-3, atol=1e-5)
  low = min_eigenvalue(loss_fn, params, batch, tol=1e-5, wrt=wrt)
  np.testing.assert_allclose(low.eigenvalues[0], exact[-1], rtol=1e-3, atol=1e-5)
  trace = hessian_trace(loss_fn, params, batch, num_probes=400, wrt=wrt)
  assert abs(trace.trace - np.trace(block)) < 4 * trace.std_error + 1e-6
  density = spectral_density(loss_fn, params, batch, num_steps=n - 1, wrt=wrt)
  assert density.grid.min() <= exact[-1] + 1e-3 and density.grid.max() >= exact[0] - 1e-3
  operator = DatasetHessian(loss_fn, params, batch, wrt=wrt)
  assert operator.size == n
  v = np.random.default_rng(0).standard_normal(n).astype(np.float32)
  np.testing.assert_allclose(operator.matvec(v), block @ v, rtol=1e-4, atol=1e-5)


def test_per_layer_rows_equal_dense_blocks():
  loss_fn, params, batch = _problem()
  rows = per_layer(loss_fn, params, batch, k=2, trace_probes=300)
  assert [r["group"] for r in rows] == ["dense1", "dense2"]
  for row in rows:
    block = _dense_block(loss_fn, params, batch, lambda p, g=row["group"]: p.startswith(g + "/"))
    assert row["size"] == block.shape[0]
    exact = np.sort(np.linalg.eigvalsh(block))[::-1]
    np.testing.assert_allclose(row["eigenvalues"], exact[:2], rtol=1e-3, atol=1e-5)
    assert abs(row["trace"] - np.trace(block)) < 4 * row["trace_std_error"] + 1e-6
  by_leaf = per_layer(loss_fn, params, batch, group=lambda path: path, trace_probes=2)
  assert [r["group"] for r in by_leaf] == param_paths(params)


@pytest.mark.parametrize("wrt, match", [
    ("conv", "matches no parameter; the paths are: dense1/bias"),
    ("dense[", "not a valid regex"),
    (3, "wrt must be a regex string or a predicate"),
])
def test_bad_wrt_is_named(wrt, match):
  loss_fn, params, batch = _problem()
  with pytest.raises(ValueError, match=match):
    top_eigenvalues(loss_fn, params, batch, k=1, wrt=wrt)


def test_wrt_with_an_operator_and_bad_group():
  loss_fn, params, batch = _problem()
  operator = DatasetHessian(loss_fn, params, batch)
  with pytest.raises(ValueError, match="pass wrt to the DatasetHessian itself"):
    top_eigenvalues(operator, k=1, wrt="dense1")
  with pytest.raises(ValueError, match="group must be None"):
    per_layer(loss_fn, params, batch, group=0)


def test_error_bars_are_the_spread_over_disjoint_subsets():
  # Hessian of 0.5 mean(b) |p|^2 is mean(b) I: each subset's value is its own mean of b.
  def loss(p, b):
    return 0.5 * jnp.mean(b) * jnp.sum(p ** 2)

  batches = [jnp.full(2, v) for v in (1.0, 3.0, 5.0, 7.0)]
  top = top_eigenvalues(loss, jnp.zeros(3), batches, k=1, error_bars=2)
  assert top.eigenvalues[0] == pytest.approx(4.0)
  sampling = top.sampling
  np.testing.assert_allclose(np.ravel(sampling["values"]), [2.0, 6.0], rtol=1e-5)
  assert sampling["mean"][0] == pytest.approx(4.0) and sampling["std"][0] == pytest.approx(
      np.sqrt(8.0), rel=1e-5)
  assert sampling["ci_low"][0] < 4.0 < sampling["ci_high"][0]
  trace = hessian_trace(loss, jnp.zeros(3), batches, num_probes=3, error_bars=4)
  np.testing.assert_allclose(np.ravel(trace.sampling["values"]), [3.0, 9.0, 15.0, 21.0],
                             rtol=1e-5)
  assert top_eigenvalues(loss, jnp.zeros(3), batches, k=1).sampling is None
  for bad in (1, 5, 2.0):
    with pytest.raises(ValueError, match="error_bars must be an integer in \\[2, 4\\]"):
      top_eigenvalues(loss, jnp.zeros(3), batches, k=1, error_bars=bad)


def test_hutch_plus_plus_has_lower_variance_when_few_eigenvalues_dominate():
  rng = np.random.default_rng(0)
  u, _ = np.linalg.qr(rng.standard_normal((60, 60)))
  d = np.concatenate([[100.0, 60.0, 30.0, 10.0], np.full(56, 0.1)])
  h = jnp.asarray((u * d) @ u.T, jnp.float32)

  def loss(p, b):
    return 0.5 * p @ h @ p + 0.0 * jnp.sum(b)

  estimates = {m: [hessian_trace(loss, jnp.zeros(60), jnp.zeros(1), num_probes=30, seed=s,
                                 method=m).trace for s in range(20)]
               for m in ("hutchinson", "hutch++")}
  exact = float(d.sum())
  assert abs(np.mean(estimates["hutch++"]) - exact) < 0.02 * exact
  assert np.std(estimates["hutch++"]) < 0.25 * np.std(estimates["hutchinson"])
  with pytest.raises(ValueError, match="method must be 'hutchinson' or 'hutch\\+\\+'"):
    hessian_trace(loss, jnp.zeros(60), jnp.zeros(1), method="hutch")
  with pytest.raises(ValueError, match="num_probes >= 3"):
    hessian_trace(loss, jnp.zeros(60), jnp.zeros(1), num_probes=2, method="hutch++")
