"""Cost of a Hessian-vector product, and HVPs needed for the top-10 eigenvalues.

On a WideResNet-16-1 (``lrsched.models``) at CIFAR shape, one batch of 128
random 32x32x3 images with random labels, BatchNorm in train mode (the loss SGD
descends), float32 on this machine's CPU:

1. **HVP time / gradient time.** Three jitted programs, warm: the gradient,
   the HVP (``jvp`` of ``grad``, a fresh forward/backward pass each time: what a
   one-off HVP costs) and the HVP through a linearization computed once
   (``jax.linearize`` of the gradient, reused: what each further matvec of an
   eigensolver costs on a fixed batch, which is what :class:`DatasetHessian`
   does with ``linearize=True``). Timed in many short rounds in a new random
   order each round; printed: the ratio of the fastest rounds (the ``timeit``
   convention: interference only ever adds time) and the median of the
   per-round ratios.
2. **HVPs for the top-10 eigenvalues at relative residual 1e-3**: Lanczos (full
   reorthogonalization, stops on Ritz residuals) vs deflated power iteration
   stopping on the residual (PyHessian's method with a residual test instead of
   its relative-change rule, which stops falsely), and, for reference,
   PyHessian's own rule (how many HVPs, and how many of its values actually meet
   the residual). Same operator, same seed, counts of dataset-level HVPs.

    python benchmarks/hessian.py [--rounds 30] [--reps 3] [--k 10] [--tol 1e-3]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lrsched.hessian import DatasetHessian, FlatSpec, model_loss, top_eigenvalues
from lrsched.hessian.hvp import _hvp
from lrsched.models import WideResNet


def build(batch_size: int, seed: int = 0):
  model = WideResNet(16, 1, num_classes=10, rngs=nnx.Rngs(seed))
  loss_fn, params = model_loss(model, "train")
  rng = np.random.default_rng(seed)
  batch = {"image": rng.standard_normal((batch_size, 32, 32, 3)).astype(np.float32),
           "label": rng.integers(0, 10, batch_size)}
  return loss_fn, params, batch


def fit(loss_fn, params, batch, steps: int, lr: float = 0.05, momentum: float = 0.9):
  """Heavy-ball SGD on the batch: moves the point off initialization (where random labels
  give large negative curvature) towards the trained regime the paper analyses."""
  @jax.jit
  def step(p, buf):
    loss, g = jax.value_and_grad(loss_fn)(p, batch)
    buf = jax.tree.map(lambda b, x: momentum * b + x, buf, g)
    return jax.tree.map(lambda x, b: x - lr * b, p, buf), buf, loss

  buf = jax.tree.map(jnp.zeros_like, params)
  losses = []
  for _ in range(steps):
    params, buf, loss = step(params, buf)
    losses.append(float(loss))
  return params, losses


def time_ratios(loss_fn, params, batch, rounds: int, reps: int) -> dict[str, list[float]]:
  spec = FlatSpec.of(params)
  v = spec.unravel(jnp.asarray(np.random.default_rng(1).standard_normal(spec.size),
                               spec.dtype))
  grad = jax.jit(lambda p, b: jax.grad(loss_fn)(p, b))
  hvp = jax.jit(lambda p, b, t: _hvp(loss_fn, p, b, t))
  linearize = jax.jit(lambda p, b: jax.linearize(lambda q: jax.grad(loss_fn)(q, b), p)[1])
  apply = jax.jit(lambda f, t: f(t))
  batch = jax.device_put(batch)
  linear = linearize(params, batch)
  fns = {"gradient": lambda: grad(params, batch),
         "HVP (jvp of grad)": lambda: hvp(params, batch, v),
         "HVP (linearized once, reused)": lambda: apply(linear, v)}
  for fn in fns.values():  # compile and warm up
    jax.block_until_ready(fn())
    jax.block_until_ready(fn())
  times = {name: [] for name in fns}
  order = list(fns)
  rng = random.Random(0)
  for _ in range(rounds):
    rng.shuffle(order)
    for name in order:
      start = time.perf_counter()
      for _ in range(reps):
        out = fns[name]()
      jax.block_until_ready(out)
      times[name].append((time.perf_counter() - start) / reps)
  return times


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--rounds", type=int, default=30)
  parser.add_argument("--reps", type=int, default=3)
  parser.add_argument("--batch-size", type=int, default=128)
  parser.add_argument("--k", type=int, default=10)
  parser.add_argument("--tol", type=float, default=1e-3)
  parser.add_argument("--max-iter", type=int, default=300)
  parser.add_argument("--fit-steps", type=int, default=60)
  parser.add_argument("--power-budget", type=int, default=8)
  parser.add_argument("--skip-timing", action="store_true")
  args = parser.parse_args()

  loss_fn, params, batch = build(args.batch_size)
  n = FlatSpec.of(params).size
  print(f"{platform.processor() or platform.machine()}, {jax.device_count()} device(s): "
        f"{jax.devices()[0].device_kind}; jax {jax.__version__}")
  print(f"WideResNet-16-1, {n} parameters, batch {args.batch_size} x 32x32x3, BatchNorm "
        f"train mode, float32")

  if not args.skip_timing:
    times = time_ratios(loss_fn, params, batch, args.rounds, args.reps)
    base = times["gradient"]
    print(f"\n1) {args.rounds} rounds x {args.reps} calls, shuffled order")
    print(f"{'program':32s} {'median ms':>9s} {'min ms':>8s} {'min ratio':>9s} "
          f"{'median ratio':>12s}")
    for name, values in times.items():
      ratios = [t / b for t, b in zip(values, base, strict=True)]
      print(f"{name:32s} {1e3 * statistics.median(values):9.1f} {1e3 * min(values):8.1f} "
            f"{min(values) / min(base):9.3f} {statistics.median(ratios):12.3f}")

  params, losses = fit(loss_fn, params, jax.device_put(batch), args.fit_steps)
  print(f"\n2) after {args.fit_steps} SGD steps on the batch (lr 0.05, momentum 0.9; loss "
        f"{losses[0]:.3f} -> {losses[-1]:.3f}): top-{args.k} eigenvalues to relative "
        f"residual {args.tol:g} (seed 0)")
  operator = DatasetHessian(loss_fn, params, batch, linearize=True)
  results = {"lanczos": top_eigenvalues(operator, k=args.k, tol=args.tol, method="lanczos")}
  # Power iteration gets a budget of --power-budget times Lanczos's HVPs: enough to decide
  # the goal (>= 4x); when it runs out, its count is a lower bound.
  budget = args.power_budget * results["lanczos"].num_matvecs
  runs = {
      "power, residual stop": dict(stop="residual", max_iter=args.max_iter),
      "power, PyHessian rule": dict(stop="relative_change", max_iter=100),
  }
  for name, kwargs in runs.items():
    results[name] = top_eigenvalues(operator, k=args.k, tol=args.tol, method="power",
                                    max_matvecs=budget, **kwargs)
  print(f"{'method':24s} {'HVPs':>5s} {'converged':>9s} {'max rel. residual':>17s} "
        f"{'seconds':>8s}  eigenvalues")
  for name, r in results.items():
    print(f"{name:24s} {r.num_matvecs:5d} {int(r.converged.sum()):6d}/{len(r.converged):<2d} "
          f"{r.relative_residuals.max():17.2e} {r.wall_time:8.1f}  "
          f"{np.array2string(r.eigenvalues, precision=4, max_line_width=200)}")
  lanczos, power = results["lanczos"], results["power, residual stop"]
  complete = power.all_converged and len(power.eigenvalues) == args.k
  print(f"power (residual stop) / Lanczos HVPs: {power.num_matvecs / lanczos.num_matvecs:.1f}x"
        f"{'' if complete else ' (power ran out of budget unconverged: a lower bound)'}"
        f" (goal >= 4; Lanczos all converged: {lanczos.all_converged})")
  common = min(len(power.eigenvalues), args.k)
  gap = np.abs(lanczos.eigenvalues[:common] - power.eigenvalues[:common]) / np.abs(
      lanczos.eigenvalues[:common])
  print(f"max relative difference Lanczos vs power (residual stop) eigenvalues: {gap.max():.2e}")
  smallest = top_eigenvalues(operator, k=1, tol=args.tol, which="smallest", max_matvecs=60)
  print(f"smallest eigenvalue (Lanczos): {smallest.eigenvalues[0]:.4g} "
        f"(converged {smallest.all_converged}, {smallest.num_matvecs} HVPs)")


if __name__ == "__main__":
  main()
