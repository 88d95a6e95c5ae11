"""What weight averaging adds to a train step: EMA, SWA and LAWA vs none, side by side.

The step is :func:`lrsched.train.steps.make_train_step` itself, with the optimizer of a
:class:`lrsched.train.Config` (SGD, momentum 0.9, weight decay 5e-4) without averaging and
with each ``Config.averaging`` rule chained last (EMA decay 0.999; SWA from step 1, every
step -- the most work it can do; LAWA with 5 slots, kept every step), on a WideResNet at
CIFAR shape (batch 128, 32x32x3, float32, no augmentation, one device). The variants are
timed in rounds, a new random order each round; printed: each variant's time per step
(fastest round, median) and the ratio to the plain step from the fastest rounds and as the
median of per-round ratios. Goal (issue 27): averaging costs <= 2% of a train step.

    python benchmarks/averaging_overhead.py [--rounds 20] [--steps 5] [--model 16-4]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

import jax
import numpy as np

from lrsched.models import WideResNet
from lrsched.train import Config
from lrsched.train import steps as stepslib
from lrsched.train.optimizer import make_optimizer

VARIANTS = {
    "none": None,
    "ema": {"kind": "ema", "decay": 0.999},
    "swa": {"kind": "swa", "start": 1, "every": 1},
    "lawa": {"kind": "lawa", "num_checkpoints": 5, "every": 1},
}


def make(variant, depth: int, widen: int, batch: dict):
  from flax import nnx

  model = WideResNet(depth, widen, num_classes=10, rngs=nnx.Rngs(0))
  train_def, _, params, rest = stepslib.split_model(model)
  config = Config(averaging=VARIANTS[variant], epochs=1000)
  tx = make_optimizer(config, steps_per_epoch=100)
  mesh = stepslib.data_mesh()
  state = stepslib.replicate(mesh, stepslib.TrainState(
      step=np.int32(0), params=params, model_state=rest,
      opt_state=jax.tree.map(lambda x: x.copy(), tx.init(params))))
  step = stepslib.make_train_step(train_def, tx, np.zeros(3, np.float32),
                                  np.ones(3, np.float32), False, jax.random.key(0), mesh)
  sharded = stepslib.shard_batch(mesh, batch)
  state, metrics = step(state, sharded)  # compile
  jax.block_until_ready(metrics)
  return [state], step, sharded


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=20)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--model", default="16-4", help="WideResNet DEPTH-WIDEN")
  args = parser.parse_args()
  depth, widen = (int(x) for x in args.model.split("-"))
  rng = np.random.default_rng(0)
  batch = {"image": rng.integers(0, 256, (128, 32, 32, 3)).astype(np.uint8),
           "label": rng.integers(0, 10, 128).astype(np.int32)}
  built = {name: make(name, depth, widen, batch) for name in VARIANTS}
  times = {name: [] for name in VARIANTS}
  order = list(VARIANTS)
  for _ in range(args.rounds):
    random.shuffle(order)
    for name in order:
      holder, step, sharded = built[name]
      start = time.perf_counter()
      for _ in range(args.steps):
        holder[0], metrics = step(holder[0], sharded)
      jax.block_until_ready(metrics)
      times[name].append((time.perf_counter() - start) / args.steps)
  print(f"{platform.processor() or platform.machine()}; jax {jax.__version__}; WRN-{depth}-"
        f"{widen}, batch 128 x 32x32x3, {args.rounds} rounds x {args.steps} steps, shuffled")
  base = times["none"]
  print(f"{'averaging':10s} {'min ms':>8s} {'median ms':>9s} {'min ratio':>9s} "
        f"{'median of ratios':>16s}")
  for name, values in times.items():
    ratios = [v / b for v, b in zip(values, base, strict=True)]
    print(f"{name:10s} {1e3 * min(values):8.1f} {1e3 * statistics.median(values):9.1f} "
          f"{min(values) / min(base):9.3f} {statistics.median(ratios):16.3f}")
  # The whole-step ratios are as noisy as the machine (a few %); the averaging update
  # alone, jitted on the same parameters, bounds what it can add.
  from lrsched.averaging import averaging_from_spec

  params = built["none"][0][0].params
  updates = jax.tree.map(lambda x: x * 1e-3, params)
  print(f"\nthe averaging update alone (jitted, {args.rounds * 5} calls, min) vs the plain "
        f"step's fastest round")
  for name, spec in VARIANTS.items():
    if spec is None:
      continue
    rule = averaging_from_spec(spec)
    state = rule.init(params)
    update = jax.jit(rule.update)
    _, state = update(updates, state, params)
    jax.block_until_ready(state)
    samples = []
    for _ in range(args.rounds * 5):
      start = time.perf_counter()
      _, out = update(updates, state, params)
      jax.block_until_ready(out)
      samples.append(time.perf_counter() - start)
    print(f"{name:10s} {1e3 * min(samples):8.2f} ms = {100 * min(samples) / min(base):.2f}% of "
          f"a step")


if __name__ == "__main__":
  main()
