"""Run as a script with 8 host devices: one train step sharded over 8 devices vs 1.

The caller sets ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (setting it
here would leak into every module pytest imports after this one).
Prints a JSON line with the largest relative parameter difference and the losses.
"""

import json

import jax
import numpy as np

from lrsched.models import WideResNet
from lrsched.train import Config, make_optimizer
from lrsched.train import steps as stepslib


def run(devices, batch):
  from flax import nnx
  mesh = jax.make_mesh((len(devices),), ("data",), devices=devices,
                       axis_types=(jax.sharding.AxisType.Auto,))
  model = WideResNet(10, 1, num_classes=10, rngs=nnx.Rngs(0))
  train_def, _, params, rest = stepslib.split_model(model)
  tx = make_optimizer(Config(learning_rate=0.1, momentum=0.9, weight_decay=5e-4), 10)
  state = stepslib.replicate(mesh, stepslib.TrainState(np.int32(0), params, rest,
                                                        tx.init(params)))
  step = stepslib.make_train_step(train_def, tx, np.zeros(3, np.float32),
                                  np.ones(3, np.float32), True, jax.random.key(0), mesh)
  losses = []
  for _ in range(2):
    state, metrics = step(state, stepslib.shard_batch(mesh, batch))
    losses.append(float(metrics["loss"]))
  return state, losses


def main():
  assert jax.device_count() == 8, jax.devices()
  rng = np.random.default_rng(0)
  batch = {"image": rng.normal(size=(32, 16, 16, 3)).astype(np.float32),
           "label": rng.integers(0, 10, 32).astype(np.int32)}
  sharded, sharded_losses = run(jax.devices(), batch)
  single, single_losses = run(jax.devices()[:1], batch)
  leaf = jax.tree.leaves(sharded.params)[0]
  worst = 0.0
  for a, b in zip(jax.tree.leaves((sharded.params, sharded.model_state)),
                  jax.tree.leaves((single.params, single.model_state)), strict=True):
    a, b = np.asarray(a), np.asarray(b)
    worst = max(worst, float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12)))
  print(json.dumps({"devices": len(leaf.sharding.device_set), "worst_rel": worst,
                    "sharded_losses": sharded_losses, "single_losses": single_losses}))


if __name__ == "__main__":
  main()
