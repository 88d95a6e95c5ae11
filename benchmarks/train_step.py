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

``benchmarks/accelerator.py`` reuses the two networks and steps from here: :func:`torch_wrn`,
and :func:`make_torch_step` / :func:`make_jax_step` (batch shape, device, ``channels_last``,
autocast or compute dtype, and steps that do not wait for the device, with a ``sync``).
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


def torch_wrn(depth: int, k: int, num_classes: int = 10):
  """PyTorch's pre-activation WRN-``depth``-``k``, layer for layer lrsched's ``WideResNet``.

  Returns:
    An ``nn.Sequential``: the stem convolution, the blocks (``Block`` modules with
    ``bn1, conv1, bn2, conv2`` and a 1x1 ``short`` convolution or None), then
    BatchNorm, ReLU, average pooling, flatten and the linear classifier.
  """
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
             nn.Linear(cin, num_classes)]
  return nn.Sequential(*layers)


def make_torch_step(depth: int, k: int, *, batch: int = BATCH, image_size: int = 32,
                    device: str = "cpu", channels_last: bool = False,
                    autocast_dtype=None, seed: int = 0):
  """An eager PyTorch train step of WRN-``depth``-``k`` on one fixed random batch.

  Args:
    depth, k: the network.
    batch, image_size: the batch shape (``batch x 3 x image_size x image_size``).
    device: ``"cpu"`` or ``"cuda"``.
    channels_last: model and inputs in ``torch.channels_last`` memory format.
    autocast_dtype: None (float32) or e.g. ``torch.bfloat16``: the forward pass
      under ``torch.autocast(device, dtype)``.
    seed: seeds the weights and the batch.

  Returns:
    ``(step, sync, count)``: ``step()`` queues one step and returns the loss tensor,
    ``sync()`` waits for the device, ``count`` is the number of parameters.
  """
  import contextlib

  import torch
  from torch import nn

  torch.manual_seed(seed)
  model = torch_wrn(depth, k).to(device).train()
  x = torch.randn(batch, 3, image_size, image_size).to(device)
  y = torch.randint(0, 10, (batch,)).to(device)
  if channels_last:
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
  opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
  loss_fn = nn.CrossEntropyLoss()

  def autocast():
    if autocast_dtype is None:
      return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=autocast_dtype)

  def step():
    opt.zero_grad(set_to_none=True)
    with autocast():
      loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss

  def sync():
    if torch.device(device).type == "cuda":
      torch.cuda.synchronize(device)

  return step, sync, sum(p.numel() for p in model.parameters())


def torch_step_fn(depth: int, k: int):
  step, _, count = make_torch_step(depth, k)
  return (lambda: step().item()), count


def make_jax_step(depth: int, k: int, *, batch: int = BATCH, image_size: int = 32,
                  dtype=None, seed: int = 0):
  """lrsched's jitted train step of WRN-``depth``-``k`` on one fixed random batch.

  Args:
    depth, k: the network.
    batch, image_size: the batch shape (``batch x image_size x image_size x 3``, NHWC).
    dtype: the model's compute dtype (None: float32; ``"bfloat16"``: mixed precision,
      see :mod:`lrsched.models.precision`).
    seed: seeds the weights and the batch.

  Returns:
    ``(step, sync, count)``: ``step()`` dispatches one step and returns the loss array,
    ``sync()`` waits for the state, ``count`` is the number of parameters.
  """
  import jax
  import numpy as np
  from flax import nnx

  from lrsched.models import WideResNet
  from lrsched.train import Config, make_optimizer
  from lrsched.train import steps as stepslib

  kwargs = {} if dtype is None else {"dtype": dtype}
  model = WideResNet(depth, k, num_classes=10, rngs=nnx.Rngs(seed), **kwargs)
  train_def, _, params, rest = stepslib.split_model(model)
  tx = make_optimizer(Config(learning_rate=0.1, momentum=0.9, weight_decay=5e-4), 1)
  mesh = stepslib.data_mesh()
  state = stepslib.replicate(mesh, stepslib.TrainState(np.int32(0), params, rest,
                                                        tx.init(params)))
  step_fn = stepslib.make_train_step(train_def, tx, np.zeros(3, np.float32),
                                     np.ones(3, np.float32), False, jax.random.key(seed), mesh)
  rng = np.random.default_rng(seed)
  batch = stepslib.shard_batch(mesh, {
      "image": rng.normal(size=(batch, image_size, image_size, 3)).astype(np.float32),
      "label": rng.integers(0, 10, batch).astype(np.int32)})
  holder = {"state": state}

  def step():
    holder["state"], metrics = step_fn(holder["state"], batch)
    return metrics["loss"]

  def sync():
    jax.block_until_ready(holder["state"])

  count = sum(x.size for x in jax.tree.leaves(params))
  return step, sync, count


def jax_step_fn(depth: int, k: int):
  step, _, count = make_jax_step(depth, k)
  return (lambda: float(step())), count  # float() blocks until the step is done


def _time(step, steps: int, sync=None) -> float:
  """Seconds per call of ``step`` over ``steps`` calls (then ``sync()``, if given)."""
  start = time.perf_counter()
  for _ in range(steps):
    step()
  if sync is not None:
    sync()
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
