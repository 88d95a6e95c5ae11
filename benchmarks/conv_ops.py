"""Per-operation profile of a WideResNet step: the three convolutions, JAX vs PyTorch.

A training step of WRN-16-k is dominated by three convolutions per conv layer: the
forward ``y = conv(x, w)``, the input gradient ``dx`` (a transposed convolution) and
the weight gradient ``dw`` (a convolution of ``x`` with ``dy``). For every distinct
conv shape of WRN-16-``k`` at batch 128 (32x32x3 inputs), this times each of the
three in JAX (``jax.lax.conv_general_dilated`` and its ``jax.vjp``, jitted, NHWC/HWIO,
the layout of :mod:`lrsched.models`) and in PyTorch (``F.conv2d``,
``torch.nn.grad.conv2d_input``/``conv2d_weight``, NCHW, 2 threads), alternating
rounds, fastest round per side, and prints the time of each and the ratio
``PyTorch time / JAX time`` (> 1: JAX faster), weighted by how often the shape occurs.

    pip install torch==2.13.0      # benchmark-only dependency
    python benchmarks/conv_ops.py [--k 4] [--rounds 5] [--variants]

Run on a quiet machine: other jobs on the cores distort PyTorch more than JAX.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

BATCH = 128


def wrn_convs(depth: int, k: int) -> list[tuple[int, int, int, int, int]]:
  """``(in_ch, out_ch, size_in, stride, kernel)`` of every conv in WRN-depth-k (with repeats)."""
  n = (depth - 4) // 6
  convs, cin, size = [(3, 16, 32, 1, 3)], 16, 32
  for stage, width in enumerate((16 * k, 32 * k, 64 * k)):
    for i in range(n):
      stride = 2 if stage > 0 and i == 0 else 1
      convs.append((cin, width, size, stride, 3))
      if cin != width or stride != 1:
        convs.append((cin, width, size, stride, 1))  # the 1x1 shortcut
      size //= stride
      convs.append((width, width, size, 1, 3))
      cin = width
  return convs


def jax_ops(cin, cout, size, stride, kernel):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(BATCH, size, size, cin)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(kernel, kernel, cin, cout)) * 0.1, jnp.float32)
  pad = [(kernel // 2, kernel // 2)] * 2

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), pad,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  y = conv(x, w)
  dy = jnp.ones_like(y)
  fwd = jax.jit(conv)
  dx = jax.jit(lambda x, w, dy: jax.vjp(lambda x: conv(x, w), x)[1](dy)[0])
  dw = jax.jit(lambda x, w, dy: jax.vjp(lambda w: conv(x, w), w)[1](dy)[0])
  return {"forward": lambda: fwd(x, w).block_until_ready(),
          "input grad": lambda: dx(x, w, dy).block_until_ready(),
          "weight grad": lambda: dw(x, w, dy).block_until_ready()}


def torch_ops(cin, cout, size, stride, kernel):
  import torch
  import torch.nn.functional as F

  x = torch.randn(BATCH, cin, size, size)
  w = torch.randn(cout, cin, kernel, kernel) * 0.1
  pad = kernel // 2
  y = F.conv2d(x, w, stride=stride, padding=pad)
  dy = torch.ones_like(y)
  return {"forward": lambda: F.conv2d(x, w, stride=stride, padding=pad),
          "input grad": lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride, pad),
          "weight grad": lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride, pad)}


def best_time(fn, rounds: int, reps: int = 3) -> float:
  fn()  # compile / warm up
  best = float("inf")
  for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(reps):
      fn()
    best = min(best, (time.perf_counter() - start) / reps)
  return best


def weight_grad_variants(rounds: int) -> None:
  """Other ways to compute the weight gradient of the 64->64 3x3 conv at 32x32, batch 128."""
  n, size, c, o = BATCH, 32, 64, 64
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(n, size, size, c)), jnp.float32)
  w = jnp.asarray(rng.normal(size=(3, 3, c, o)) * 0.1, jnp.float32)
  dy = jnp.ones((n, size, size, o), jnp.float32)
  dims = ("NHWC", "HWIO", "NHWC")

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=dims)

  def shifted_products(x, dy):
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.stack([xp[:, i:i + size, j:j + size, :].reshape(-1, c).T @ dy.reshape(-1, o)
                      for i in range(3) for j in range(3)]).reshape(3, 3, c, o)

  def patches(x, dy):
    p = jax.lax.conv_general_dilated_patches(x, (3, 3), (1, 1), [(1, 1), (1, 1)],
                                             dimension_numbers=dims)
    return (p.reshape(-1, c * 9).T @ dy.reshape(-1, o)).reshape(c, 3, 3, o).transpose(1, 2, 0, 3)

  def batch_contracted(x, dy):
    return jax.lax.conv_general_dilated(
        jnp.transpose(x, (3, 1, 2, 0)), jnp.transpose(dy, (1, 2, 0, 3)), (1, 1),
        [(1, 1), (1, 1)], dimension_numbers=dims).transpose(1, 2, 0, 3)

  variants = {"XLA's vjp": lambda x, dy: jax.vjp(lambda w: conv(x, w), w)[1](dy)[0],
              "nine shifted products": shifted_products, "patches + one product": patches,
              "batch-contracted conv": batch_contracted}
  reference = jax.jit(variants["XLA's vjp"])(x, dy)
  print("\nweight gradient of the 64->64 3x3 conv at 32x32, batch 128 (ms):")
  for name, fn in variants.items():
    jitted = jax.jit(fn)
    error = float(jnp.abs(jitted(x, dy) - reference).max() / jnp.abs(reference).max())
    seconds = best_time(lambda f=jitted: f(x, dy).block_until_ready(), rounds)
    print(f"  {name:24s} {1e3 * seconds:8.1f}  (relative error {error:.1e})")
  a = jnp.asarray(rng.normal(size=(n * size * size, c)), jnp.float32)
  dot = jax.jit(lambda a, b: a.T @ b)
  t = best_time(lambda: dot(a, a).block_until_ready(), rounds)
  print(f"  {'9 bare dots of its size':24s} {9e3 * t:8.1f}")


def main() -> None:
  import torch

  torch.set_num_threads(2)
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--depth", type=int, default=16)
  parser.add_argument("--k", type=int, default=4)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--variants", action="store_true",
                      help="also time other formulations of one weight gradient")
  args = parser.parse_args()
  convs = wrn_convs(args.depth, args.k)
  shapes = sorted(set(convs), key=convs.index)
  totals = {side: {op: 0.0 for op in ("forward", "input grad", "weight grad")}
            for side in ("jax", "torch")}
  print(f"WRN-{args.depth}-{args.k}, batch {BATCH}; times in ms (fastest of {args.rounds} "
        f"rounds); ratio = PyTorch / JAX")
  print(f"{'conv (cin->cout, size, stride, kxk) x count':44s} {'op':12s} {'jax':>8s} "
        f"{'torch':>8s} {'ratio':>6s}")
  for shape in shapes:
    count = convs.count(shape)
    ops = {"jax": jax_ops(*shape), "torch": torch_ops(*shape)}
    for op in ("forward", "input grad", "weight grad"):
      if shape[0] == 3 and op == "input grad":
        continue  # nobody needs the gradient of the input images
      t = {side: float("inf") for side in ops}
      for _ in range(2):  # alternate sides; keep each side's fastest
        for side in ops:
          t[side] = min(t[side], best_time(ops[side][op], args.rounds))
      for side in ops:
        totals[side][op] += count * t[side]
      name = f"{shape[0]}->{shape[1]}, {shape[2]}x{shape[2]}, s{shape[3]}, {shape[4]}x{shape[4]}"
      print(f"{name + f' x{count}':44s} {op:12s} {1e3 * t['jax']:8.2f} {1e3 * t['torch']:8.2f} "
            f"{t['torch'] / t['jax']:6.2f}")
  print("\ntotal over the network (ms per step):")
  for op in ("forward", "input grad", "weight grad"):
    j, p = totals["jax"][op], totals["torch"][op]
    print(f"  {op:12s} jax {1e3 * j:8.1f}  torch {1e3 * p:8.1f}  ratio {p / j:5.2f}")
  j, p = sum(totals["jax"].values()), sum(totals["torch"].values())
  print(f"  {'all':12s} jax {1e3 * j:8.1f}  torch {1e3 * p:8.1f}  ratio {p / j:5.2f}")
  if args.variants:
    weight_grad_variants(args.rounds)


if __name__ == "__main__":
  main()
