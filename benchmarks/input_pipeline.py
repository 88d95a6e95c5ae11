"""Does the training loop keep the device busy? Loop time per step vs the bare step.

Three measurements on the same config (WRN-16-1, batch 128, 32x32x3 random uint8
images, crop + flip augmentation on device, SGD momentum 0.9 + weight decay):

1. **bare step**: the jitted train step of :func:`lrsched.train.steps.make_train_step`,
   called back to back on one batch that already sits on the devices (no input pipeline,
   no callbacks, no metrics read): the step's own time.
2. **full loop**: :func:`lrsched.train.train` itself (input pipeline with
   :func:`lrsched.data.prefetch`, metrics, NaN checks, callbacks), its time per step taken
   between successive steps by a callback, median over the epochs after the first
   (compilation); no checkpoints, a small evaluation set.
3. **pipeline alone**: :func:`lrsched.data.iterate_batches` + :func:`lrsched.data.prefetch`
   to the batch sharding, every batch waited for, no model: images/s it can deliver.

Bare steps are timed before and after the loop (their median is the reference). Goals
(issue 18): loop / bare step <= 1.03, pipeline images/s >= 10x the step's::

    python benchmarks/input_pipeline.py [--epochs 4] [--steps-per-epoch 12] [--depth 16]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import jax
import numpy as np

from lrsched import data as datalib
from lrsched.train import Callback, Config, train
from lrsched.train import steps as stepslib
from lrsched.train.optimizer import make_optimizer
from lrsched.train.run_model import build_run_model, load_data, steps_per_epoch


class StepClock(Callback):
  """Records ``time.perf_counter()`` after every step, per epoch."""

  def __init__(self):
    self.times: dict[int, list[float]] = {}

  def after_step(self, run, step, state):
    epoch = (step - 1) // run.epoch_steps + 1
    self.times.setdefault(epoch, []).append(time.perf_counter())
    return state


def make_config(path: str, args: argparse.Namespace) -> Config:
  return Config(data={"name": path}, model={"name": "wide_resnet", "depth": args.depth,
                                            "widen_factor": args.width},
                batch_size=args.batch_size, epochs=args.epochs, learning_rate=0.05,
                augment=True, checkpoint_every=0, progress=False)


def bare_step_seconds(config: Config, rounds: int, steps: int) -> list[float]:
  """Per-step seconds of the jitted train step on a device-resident batch, per round."""
  train_ds, _ = load_data(config)
  mean, std = train_ds.channel_stats()
  train_def, _, params, rest = stepslib.split_model(build_run_model(config, train_ds))
  mesh = stepslib.data_mesh()
  tx = make_optimizer(config, steps_per_epoch(config, train_ds))
  step = stepslib.make_train_step(train_def, tx, mean, std, config.augment,
                                  jax.random.key(config.seed), mesh)
  state = stepslib.replicate(mesh, stepslib.TrainState(
      step=np.int32(0), params=params, model_state=rest, opt_state=tx.init(params)))
  batch = stepslib.shard_batch(mesh, next(datalib.iterate_batches(train_ds,
                                                                  config.batch_size)))
  state, metrics = step(state, batch)  # compile
  jax.block_until_ready(metrics)
  times = []
  for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(steps):
      state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    times.append((time.perf_counter() - start) / steps)
  return times


def pipeline_images_per_second(config: Config, epochs: int) -> float:
  train_ds, _ = load_data(config)
  mesh = stepslib.data_mesh()
  place = lambda b: stepslib.shard_batch(mesh, b)
  count, start = 0, time.perf_counter()
  for epoch in range(1, epochs + 1):
    for batch in datalib.prefetch(datalib.iterate_batches(train_ds, config.batch_size,
                                                          epoch=epoch), place):
      jax.block_until_ready(batch)
      count += len(batch["label"])
  return count / (time.perf_counter() - start)


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--epochs", type=int, default=4)
  parser.add_argument("--steps-per-epoch", type=int, default=12)
  parser.add_argument("--batch-size", type=int, default=128)
  parser.add_argument("--depth", type=int, default=16)
  parser.add_argument("--width", type=int, default=1)
  parser.add_argument("--rounds", type=int, default=3)
  args = parser.parse_args()

  with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(0)
    n = args.steps_per_epoch * args.batch_size
    path = f"{tmp}/random.npz"
    np.savez(path, x_train=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, n),
             x_test=rng.integers(0, 256, (args.batch_size, 32, 32, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, args.batch_size))
    config = make_config(path, args)
    print(f"{platform.processor() or platform.machine()}, {jax.device_count()} device(s): "
          f"{jax.devices()[0].device_kind}; jax {jax.__version__}")
    print(f"WRN-{args.depth}-{args.width}, batch {args.batch_size}, {n} images, "
          f"{args.steps_per_epoch} steps per epoch, augmentation on")
    bare = bare_step_seconds(config, args.rounds, args.steps_per_epoch)
    clock = StepClock()
    train(config, f"{tmp}/run", callbacks=[clock])
    bare += bare_step_seconds(config, args.rounds, args.steps_per_epoch)
    per_epoch = [statistics.median(np.diff(t)) for e, t in sorted(clock.times.items())
                 if e > 1]
    pipeline = pipeline_images_per_second(config, 3)

  loop, step = statistics.median(per_epoch), statistics.median(bare)
  print("\n| measurement | ms/step | images/s |\n|---|---|---|")
  print(f"| bare jitted step (device-resident batch), median of {len(bare)} rounds | "
        f"{1e3 * step:.1f} | {args.batch_size / step:.0f} |")
  print(f"| full loop (train()), median of epochs 2-{args.epochs} | {1e3 * loop:.1f} | "
        f"{args.batch_size / loop:.0f} |")
  print(f"| input pipeline alone (iterate_batches + prefetch) | "
        f"{1e3 * args.batch_size / pipeline:.2f} | {pipeline:.0f} |")
  print(f"\nloop / bare step: {loop / step:.3f} (goal <= 1.03); per epoch: "
        f"{', '.join(f'{t / step:.3f}' for t in per_epoch)}")
  print(f"bare rounds (ms): {', '.join(f'{1e3 * t:.1f}' for t in bare)}")
  print(f"pipeline / step images per second: {pipeline * step / args.batch_size:.0f}x "
        f"(goal >= 10)")


if __name__ == "__main__":
  main()
