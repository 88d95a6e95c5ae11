"""LR range test: exact lr bookkeeping, smoothing, suggestions vs 2/lambda_max, bad input, CLI."""

import argparse

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lrsched import range_test
from lrsched.range_test import lr_range_test, plot_range_test


def test_learning_rates_and_losses_follow_gd_on_a_1d_quadratic():
  lam = 4.0  # loss 0.5 lam w^2: one GD step multiplies the loss by (1 - lr lam)^2

  def loss_fn(w, _):
    return 0.5 * lam * jnp.sum(w**2)

  result = lr_range_test(loss_fn, jnp.ones(1), [None], min_lr=1e-3, max_lr=10.0, num_steps=40)
  n = len(result.lrs)
  np.testing.assert_allclose(result.lrs, 1e-3 * 1e4 ** (np.arange(n) / 39), rtol=1e-12)
  ratios = result.losses[1:] / result.losses[:-1]
  np.testing.assert_allclose(ratios, (1 - result.lrs[:-1] * lam) ** 2, rtol=1e-3, atol=1e-6)
  # Smoothing: bias-corrected EMA of the recorded losses (numpy loop).
  avg, expected = 0.0, []
  for i, loss in enumerate(result.losses, 1):
    avg = 0.98 * avg + 0.02 * loss
    expected.append(avg / (1 - 0.98**i))
  np.testing.assert_allclose(result.smoothed, expected, rtol=1e-9)
  # Divergence rule: the last smoothed value is the first above 4x the running best.
  best = np.minimum.accumulate(result.smoothed)
  assert result.smoothed[-1] > 4 * best[-1]
  assert np.all(result.smoothed[:-1] <= 4 * best[:-1])
  assert result.diverged_at == n - 1 and result.diverged_lr > 2 / lam


def _linear_regression(seed=0, n=200, d=10):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, d)) * np.linspace(0.3, 3.0, d)
  y = x @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
  lam_max = np.linalg.eigvalsh(x.T @ x / n)[-1]  # Hessian of 0.5 mean (x w - y)^2
  x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
  return (lambda w, batch: 0.5 * jnp.mean((x @ w - y) ** 2)), jnp.zeros(d), lam_max


def test_full_batch_gd_linear_regression_suggestion_below_two_over_lambda_max():
  loss_fn, w0, lam_max = _linear_regression()
  edge = 2 / lam_max
  result = lr_range_test(loss_fn, w0, [None], optax.sgd, min_lr=1e-5, max_lr=10.0)
  assert result.ok, result.message
  assert result.suggested_lr == pytest.approx(result.min_loss_lr / 10)
  assert result.suggested_lr < edge and result.steepest_lr < edge
  # GD on a quadratic cannot increase the loss below 2/lambda_max: the first increase
  # and the detected divergence both lie above it.
  first_increase = int(np.argmax(np.diff(result.losses) > 0))
  assert result.lrs[first_increase] > edge
  assert result.diverged_lr > edge


def test_noisy_quadratic_divergence_detected_near_two_over_lambda_max():
  # L(w) = 0.5 (w - xi)^T H (w - xi) with fresh xi per step: every step has Hessian H,
  # so the iteration w <- (I - lr H) w + lr H xi is stable exactly for lr < 2/lambda_max,
  # and the noise keeps the top direction excited, so the blow-up follows the edge closely.
  d = 20
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.normal(size=(d, d)))
  eigs = np.geomspace(0.1, 10.0, d)
  h = jnp.asarray((q * eigs) @ q.T, jnp.float32)
  edge = 2 / eigs[-1]
  shifts = list(jnp.asarray(0.05 * rng.normal(size=(100, d)), jnp.float32))

  def loss_fn(w, xi):
    e = w - xi
    return 0.5 * e @ h @ e

  result = lr_range_test(loss_fn, 3 * jnp.ones(d), shifts, optax.sgd, min_lr=1e-4, max_lr=10.0)
  assert result.ok, result.message
  assert edge < result.diverged_lr < 4 * edge
  assert result.suggested_lr < edge and result.steepest_lr < edge


def test_loss_that_never_decreases_says_so(tmp_path):
  loss_fn, w0, _ = _linear_regression()
  ascent = lambda lr: optax.chain(optax.sgd(lr), optax.scale(-1.0))  # noqa: E731
  result = lr_range_test(loss_fn, w0, [None], ascent, min_lr=1e-4, max_lr=10.0, num_steps=50)
  assert not result.ok
  assert result.min_loss_lr is None and result.suggested_lr is None
  assert "never decreased" in result.message
  with pytest.raises(ValueError, match="never decreased"):
    result.suggestions()
  plot_range_test(result, tmp_path / "flat.png")
  assert (tmp_path / "flat.png").stat().st_size > 0


def test_plot_and_suggestions(tmp_path):
  loss_fn, w0, _ = _linear_regression()
  result = lr_range_test(loss_fn, w0, [None], min_lr=1e-5, max_lr=10.0, num_steps=60)
  assert set(result.suggestions()) == {"valley", "minimum", "steepest", "minimum/10"}
  fig = plot_range_test(result, tmp_path / "sub" / "range.png")
  assert (tmp_path / "sub" / "range.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert fig.axes[0].get_xscale() == "log"


@pytest.mark.parametrize("kwargs, name", [
    ({"min_lr": 0.0}, "min_lr"), ({"max_lr": 1e-8}, "max_lr"), ({"num_steps": 2}, "num_steps"),
    ({"smoothing": 1.0}, "smoothing"), ({"diverge_factor": 1.0}, "diverge_factor"),
    ({"min_decrease": 1.0}, "min_decrease"), ({"mode": "log"}, "mode must be"),
])
def test_bad_arguments(kwargs, name):
  with pytest.raises(ValueError, match=name):
    lr_range_test(lambda w, b: jnp.sum(w**2), jnp.ones(2), [None], **kwargs)


def test_batches_running_out_is_an_error():
  with pytest.raises(ValueError, match="ran out after 3 of 10"):
    lr_range_test(lambda w, b: jnp.sum(w**2), jnp.ones(2), iter([None] * 3), num_steps=10)


def test_cli_range_test_on_a_tiny_config(tmp_path, capsys):
  rng = np.random.default_rng(0)
  data = tmp_path / "tiny.npz"
  x = rng.integers(0, 256, (64, 4, 4, 3)).astype(np.uint8)
  y = rng.integers(0, 2, 64)
  np.savez(data, x_train=x, y_train=y, x_test=x[:8], y_test=y[:8])
  config = tmp_path / "tiny.py"
  config.write_text(
      "from lrsched.train import Config\n"
      "def get_config():\n"
      f"  return Config(data={{'name': {str(data)!r}}}, model={{'name': 'wide_resnet', "
      "'depth': 10, 'widen_factor': 1}, batch_size=16, progress=False)\n")
  parser = argparse.ArgumentParser()
  range_test.add_parser(parser.add_subparsers(dest="command"))
  out = tmp_path / "range.png"
  args = parser.parse_args(["range-test", "--config", str(config), "--min-lr", "1e-4",
                            "--max-lr", "100", "--num-steps", "30", "--out", str(out),
                            "momentum=0.0"])
  args.run(args)
  printed = capsys.readouterr().out
  assert out.exists() and "minimum/10" in printed and "wrote" in printed
