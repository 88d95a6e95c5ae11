"""lrsched.averaging against PyTorch's AveragedModel/update_bn and timm's ModelEmaV3
(tests/data/averaging_reference.npz, made by tools/make_averaging_tables.py)."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from lrsched.averaging import (
    LawaState,
    averaged_params,
    averaging_from_spec,
    check_averaging_spec,
    ema,
    lawa,
    recalibrate_batchnorm,
    swa,
)

TABLE = np.load(pathlib.Path(__file__).parent / "data" / "averaging_reference.npz")


def _feed(tx, steps=None):
  """Runs ``tx`` (last in a chain) along the table's trajectory of parameters; returns the
  averaged parameters after each step."""
  traj = {"w": TABLE["traj_w"], "b": TABLE["traj_b"]}
  params = {"w": jnp.zeros((3, 4)), "b": jnp.zeros(4)}
  state = tx.init(params)
  update = jax.jit(tx.update)
  out = []
  for t in range(len(traj["w"]) if steps is None else steps):
    target = {k: jnp.asarray(v[t]) for k, v in traj.items()}
    updates, state = update(jax.tree.map(jnp.subtract, target, params), state, params)
    params = optax.apply_updates(params, updates)
    out.append(jax.tree.map(np.asarray, averaged_params(state)))
  return out, state


@pytest.mark.parametrize("name, tx", [("ema", ema(0.7)), ("timm", ema(0.9, warmup=True)),
                                      ("swa", swa(start=3, every=2))])
def test_averages_equal_pytorch_and_timm(name, tx):
  out, _ = _feed(tx)
  for t, averaged in enumerate(out):
    for key in ("w", "b"):
      np.testing.assert_allclose(averaged[key], TABLE[f"{name}_{key}"][t], rtol=2e-6,
                                 atol=2e-6, err_msg=f"{name} {key} after step {t + 1}")


def test_lawa_is_the_mean_of_the_last_kept_points():
  out, state = _feed(lawa(num_checkpoints=3, every=2))
  assert isinstance(jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, LawaState))[0],
                    LawaState)
  traj = TABLE["traj_w"]
  for t in range(1, len(traj) + 1):
    kept = [s for s in range(2, t + 1, 2)][-3:]  # steps 2, 4, 6, ...: the last three
    expected = np.mean([traj[s - 1] for s in kept], 0) if kept else np.zeros((3, 4))
    np.testing.assert_allclose(out[t - 1]["w"], expected, rtol=2e-6, atol=2e-6)


def test_average_survives_a_checkpoint_and_resume():
  """The state is a plain pytree: rebuilt from its leaves it continues identically."""
  tx = optax.chain(optax.sgd(0.1, momentum=0.9), ema(0.8))
  params = {"w": jnp.ones(3)}
  state = tx.init(params)
  grads = [{"w": jnp.full(3, g)} for g in (1.0, -2.0, 0.5, 3.0)]
  for g in grads[:2]:
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
  leaves, treedef = jax.tree.flatten(state)
  restored = jax.tree.unflatten(treedef, [np.asarray(x) for x in leaves])
  outs = []
  for s in (state, restored):
    p = params
    for g in grads[2:]:
      updates, s = tx.update(g, s, p)
      p = optax.apply_updates(p, updates)
    outs.append(np.asarray(averaged_params(s)["w"]))
  np.testing.assert_array_equal(outs[0], outs[1])


def test_decay_may_be_traced():
  def averaged(decay):
    tx = ema(decay)
    state = tx.init(jnp.zeros(1))
    for value in (1.0, 2.0):
      _, state = tx.update(jnp.ones(1) * value - state.average * 0, state, jnp.zeros(1))
    return state.average
  np.testing.assert_allclose(jax.jit(averaged)(0.5), [1.5])


def _bn_net():
  net = nnx.Sequential(nnx.Linear(5, 4, rngs=nnx.Rngs(0)), nnx.BatchNorm(4, rngs=nnx.Rngs(0)))
  net.layers[0].kernel[...] = jnp.asarray(TABLE["bn_kernel"])
  net.layers[0].bias[...] = jnp.asarray(TABLE["bn_bias"])
  return net


def test_recalibration_equals_torch_update_bn():
  net = recalibrate_batchnorm(_bn_net(), list(TABLE["bn_batches"]))
  bn = net.layers[1]
  n = TABLE["bn_batches"].shape[1]
  np.testing.assert_allclose(bn.mean[...], TABLE["bn_running_mean"], rtol=1e-5, atol=1e-6)
  # torch keeps the unbiased variance of each batch, Flax the biased one
  np.testing.assert_allclose(bn.var[...], TABLE["bn_running_var"] * (n - 1) / n, rtol=1e-5)
  assert bn.momentum == 0.99 and bn.use_running_average  # restored, left in eval mode


def test_recalibration_uses_num_batches_and_refuses_bad_input():
  one = recalibrate_batchnorm(_bn_net(), list(TABLE["bn_batches"]), num_batches=1)
  x = TABLE["bn_batches"][0] @ TABLE["bn_kernel"] + TABLE["bn_bias"]
  np.testing.assert_allclose(one.layers[1].mean[...], x.mean(0), rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="num_batches must be an integer >= 1, got 0"):
    recalibrate_batchnorm(_bn_net(), list(TABLE["bn_batches"]), num_batches=0)
  with pytest.raises(ValueError, match="at least one batch"):
    recalibrate_batchnorm(_bn_net(), [])
  bad = TABLE["bn_batches"].copy()
  bad[1, 2, 0] = np.nan
  net = _bn_net()
  with pytest.raises(ValueError, match="batch 1 gives non-finite statistics"):
    recalibrate_batchnorm(net, list(bad))
  assert net.layers[1].momentum == 0.99  # restored after the error


@pytest.mark.parametrize("make, match", [
    (lambda: ema(1.0), r"decay must be in \(0, 1\), got 1.0"),
    (lambda: ema(0), r"decay must be in \(0, 1\), got 0"),
    (lambda: ema("0.9"), r"decay must be in \(0, 1\), got '0.9'"),
    (lambda: ema(0.9, warmup_power=0), "warmup_power must be a number > 0, got 0"),
    (lambda: swa(start=0), "start must be an integer >= 1, got 0"),
    (lambda: swa(start=5, every=0), "every must be an integer >= 1, got 0"),
    (lambda: lawa(num_checkpoints=0, every=1), "num_checkpoints must be an integer >= 1"),
    (lambda: check_averaging_spec({"kind": "polyak"}), "'kind' one of"),
    (lambda: check_averaging_spec({"kind": "ema", "decay": 0.9, "start": 3}),
     r"unknown key\(s\) \['start'\] for kind 'ema'"),
    (lambda: check_averaging_spec({"kind": "ema"}), "needs 'decay'"),
    (lambda: check_averaging_spec({"kind": "ema", "decay": 0.9, "bn_batches": 0}),
     "bn_batches must be an integer >= 1, got 0"),
    (lambda: check_averaging_spec({"kind": "swa", "start": 2, "unit": "days"}),
     "unit must be 'steps' or 'epochs'"),
    (lambda: averaging_from_spec({"kind": "swa", "start": 11, "unit": "epochs"},
                                 steps_per_epoch=10, total_steps=100),
     r"swa start 11 \(epochs\) is after the run's last step 100"),
])
def test_bad_input_is_refused_at_construction(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_spec_units_scale_swa_and_lawa():
  tx = averaging_from_spec({"kind": "swa", "start": 2, "every": 1, "unit": "epochs"},
                           steps_per_epoch=3, total_steps=12)
  out, _ = _feed(tx)
  traj = TABLE["traj_w"]  # averaged at steps 6 (start 2 epochs x 3) and 9: only 6 here
  np.testing.assert_allclose(out[-1]["w"], traj[5], rtol=2e-6, atol=2e-6)
  with pytest.raises(ValueError, match="holds no averaging state"):
    averaged_params(optax.sgd(0.1).init({"w": jnp.zeros(1)}))
