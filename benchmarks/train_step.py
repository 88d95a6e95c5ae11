"""Images per second of lrsched's jitted train step vs a PyTorch eager step, same WideResNet.

Both sides train the same network (pre-activation WRN-``depth``-``k``, no conv bias,
BatchNorm in training mode, cross-entropy, SGD with momentum 0.9 and coupled weight
decay 5e-4) on the same batch of 128 CIFAR-shaped float32 images on this CPU. The
JAX side is :func:`lrsched.train.steps.make_train_step` itself (no augmentation, one
device). The PyTorch side is the usual eager loop body: ``zero_grad``, forward,
``backward``, ``optimizer.step()``.

Each XLA flag set runs in a fresh process (XLA reads its flags once); inside it
the JAX and PyTorch steps are timed in alternating rounds, so both see the same
machine state, and the ratio ``JAX images/s / PyTorch images/s`` is taken from
each side's fastest round (interference only ever adds time) and from the
median of per-round ratios.

    pip install torch==2.13.0      # benchmark-only dependency
    python benchmarks/train_step.py [--rounds 15] [--steps 5] [--models 16-1,16-4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

BATCH = 128

# name -> XLA_FLAGS. The default is what a user gets; the others are what we tried.
FLAG_SETS = {
    "default": "",
    "onednn": "--xla_cpu_use_onednn=true",
    "xnnpack": "--xla_cpu_use_xnnpack=true",
    "fast-math": "--xla_cpu_enable_fast_math=true",
}


def torch_step_fn(depth: int, k: int):
  import torch
  from torch import nn

  class Block(nn.Module):
    def __init__(self, cin, cout, stride):
      super().__init__()
      self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
      self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
      self.short = (nn.Conv2d(cin, cout, 1, stride, bias=False)
                    if stride != 1 or cin != cout else None)

    def forward(self, x):
      a = torch.relu(self.bn1(x))
      s = x if self.short is None else self.short(a)
      return self.conv2(torch.relu(self.bn2(self.conv1(a)))) + s

  n = (depth - 4) // 6
  layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
  for stage, width in enumerate((16 * k, 32 * k, 64 * k)):
    for i in range(n):
      layers.append(Block(cin, width, 2 if stage and not i else 1))
      cin = width
  layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
             nn.Linear(cin, 10)]
  model = nn.Sequential(*layers).train()
  opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
  x = torch.randn(BATCH, 3, 32, 32)
  y = torch.randint(0, 10, (BATCH,))
  loss_fn = nn.CrossEntropyLoss()

  def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

  return step, sum(p.numel() for p in model.parameters())


def jax_step_fn(depth: int, k: int):
  import jax
  import numpy as np
  from flax import nnx

  from lrsched.models import WideResNet
  from lrsched.train import Config, make_optimizer
  from lrsched.train import steps as stepslib

  model = WideResNet(depth, k, num_classes=10, rngs=nnx.Rngs(0))
  train_def, _, params, rest = stepslib.split_model(model)
  tx = make_optimizer(Config(learning_rate=0.1, momentum=0.9, weight_decay=5e-4), 1)
  mesh = stepslib.data_mesh()
  state = stepslib.replicate(mesh, stepslib.TrainState(np.int32(0), params, rest,
                                                        tx.init(params)))
  step_fn = stepslib.make_train_step(train_def, tx, np.zeros(3, np.float32),
                                     np.ones(3, np.float32), False, jax.random.key(0), mesh)
  rng = np.random.default_rng(0)
  batch = stepslib.shard_batch(mesh, {
      "image": rng.normal(size=(BATCH, 32, 32, 3)).astype(np.float32),
      "label": rng.integers(0, 10, BATCH).astype(np.int32)})
  holder = {"state": state}

  def step():
    holder["state"], metrics = step_fn(holder["state"], batch)
    return float(metrics["loss"])  # blocks until the step is done

  count = sum(x.size for x in jax.tree.leaves(params))
  return step, count


def _time(step, steps: int) -> float:
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return (time.perf_counter() - start) / steps


def child(model: str, rounds: int, steps: int) -> dict:
  import torch

  depth, k = (int(v) for v in model.split("-"))
  torch.set_num_threads(os.cpu_count())
  t_step, t_params = torch_step_fn(depth, k)
  j_step, j_params = jax_step_fn(depth, k)
  assert t_params == j_params, (t_params, j_params)  # the same network
  for _ in range(2):  # compile / warm up
    t_step(), j_step()
  jt, tt = [], []
  for r in range(rounds):
    order = [(j_step, jt), (t_step, tt)]
    for fn, out in (order if r % 2 else order[::-1]):
      out.append(_time(fn, steps))
  ratios = [t / j for j, t in zip(jt, tt, strict=True)]
  return {"params": j_params, "jax_ips": BATCH / min(jt), "torch_ips": BATCH / min(tt),
          "min_ratio": min(tt) / min(jt), "median_ratio": statistics.median(ratios),
          "jax_ms_median": 1e3 * statistics.median(jt),
          "torch_ms_median": 1e3 * statistics.median(tt)}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=15)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--models", default="16-1,16-4")
  parser.add_argument("--flags", default=",".join(FLAG_SETS),
                      help=f"flag sets to try, from {list(FLAG_SETS)}")
  parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    print(json.dumps(child(args.child, args.rounds, args.steps)))
    return
  import jax
  import torch

  print(f"# {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}, "
        f"torch {torch.__version__}, batch {BATCH}, {args.rounds} rounds x {args.steps} steps")
  print("| model | XLA flags | params | JAX img/s | PyTorch img/s | ratio (fastest) "
        "| ratio (median) |")
  print("|---|---|---|---|---|---|---|")
  for model in args.models.split(","):
    for name in args.flags.split(","):
      env = dict(os.environ, XLA_FLAGS=FLAG_SETS[name], JAX_PLATFORMS="cpu")
      out = subprocess.run([sys.executable, __file__, "--child", model, "--rounds",
                            str(args.rounds), "--steps", str(args.steps)],
                           env=env, capture_output=True, text=True)
      if out.returncode:
        print(f"| WRN-{model} | {name} | failed: {out.stderr.strip().splitlines()[-1]} |")
        continue
      r = json.loads(out.stdout.strip().splitlines()[-1])
      print(f"| WRN-{model} | {name} | {r['params']:,} | {r['jax_ips']:.0f} | "
            f"{r['torch_ips']:.0f} | {r['min_ratio']:.2f} | {r['median_ratio']:.2f} |",
            flush=True)


if __name__ == "__main__":
  main()
