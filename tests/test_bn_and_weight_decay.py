"""Li & Arora's toy (experiments/bn_and_weight_decay.py) at a short length: the three
arms' outcomes, the exponential-rate twin and the edge ratio, from the script itself."""

import json
import pathlib
import runpy

import jax
import jax.numpy as jnp
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "experiments/bn_and_weight_decay.py"


@pytest.fixture(scope="module")
def toy():
  return runpy.run_path(str(SCRIPT))


def test_the_scale_invariant_loss_and_its_minimum(toy):
  setup = toy["Setup"]()
  with jax.enable_x64(True):
    x, y, w0 = toy["make_data"](3, setup)
    loss = lambda w: toy["bn_loss"](w, x, y, setup.bn_scale)  # noqa: E731
    assert float(loss(7.0 * w0)) == pytest.approx(float(loss(w0)), rel=1e-13)
    assert abs(float(jax.grad(loss)(w0) @ w0)) < 1e-13  # <grad L(w), w> = 0
    star = toy["bn_minimum"](x, y, setup.bn_scale)
    angles = jnp.linspace(0, 2 * jnp.pi, 200001)
    dense = jax.vmap(lambda t: loss(jnp.stack([jnp.cos(t), jnp.sin(t)])))(angles)
    assert star <= float(dense.min()) + 1e-13  # no direction of a finer sweep is lower
    assert star >= float(dense.min()) - 1e-9  # and the minimum is attained near one


def test_short_run_decides_every_claim(toy, tmp_path):
  """3000 steps are past bn+wd's first departures (step ~400-850 for seeds 0-7)."""
  x64 = jax.config.jax_enable_x64
  record = toy["main"](["--seeds", "0", "1", "--steps", "3000", "--results",
                        str(tmp_path / "r.json"), "--figures", str(tmp_path)])
  assert jax.config.jax_enable_x64 == x64  # main restores the precision it changed
  final = {arm: run["final"] for arm, run in record["runs"].items()}
  assert final["wd"]["reached_minimum"] == [True, True]
  assert final["bn"]["reached_minimum"] == [True, True]
  assert final["bn+wd"]["reached_minimum"] == [False, False]
  assert all(n >= 3 for n in final["bn+wd"]["departures"])
  assert all(r > 1.0 for per_seed in final["bn+wd"]["edge_ratio_before_departures"]
             for r in per_seed)
  assert all(c < 1e-12 for c in final["bn, exp lr"]["one_minus_cos_while_stable"])
  assert all(e > -1e-12 for arm in final.values() for e in arm["min_excess"])  # true minima
  assert all(lag > 0 for lag in final["bn+wd"]["first_departure_lag"])
  assert all(r < 1.0 for r in final["bn+wd"]["edge_ratio_min_after_first_departure"])
  assert [c["count"] for c in record["claims"]] == [2, 2, 2, 2, 2, 2]
  assert json.loads((tmp_path / "r.json").read_text())["claims"] == record["claims"]
  assert (tmp_path / "bn_and_weight_decay.png").stat().st_size > 1000
  block = runpy.run_path(str(SCRIPT.parent / "report.py"))["bn_and_weight_decay_block"](record)
  assert "| bn+wd | 2 | 0 of 2 |" in block
