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

Three further modes, each run alone:

3. **Where the HVP time goes** (``--hvp-anatomy``, WRN-16-1 as above): the convolutions
   (forward, input gradient, weight gradient; counted and their FLOPs computed from the
   shapes in ``jit(f).lower(...).compile().as_text()``, beside XLA's ``cost_analysis()``)
   of the compiled gradient, HVP (``jvp`` of ``grad``; ``grad`` of ``jvp`` for comparison),
   linearization and linearized HVP (also with the linearization under
   ``jax.checkpoint(policy=dots_saveable)``, which saves only the convolutions' outputs);
   the XLA profiler's time per category of operation (convolutions by kind, standalone
   transposes/copies, reductions, elementwise); wall-time ratios in shuffled rounds; and
   each pair of tangent convolutions run as two convolutions vs one merged convolution.
4. **Peak memory (RSS) of the top-10 eigenvalues** (``--memory``; WRN-16-4 at batch 128 by
   default, ``--memory-model 28-10 --batch-size 8`` for WRN-28-10, BatchNorm train mode):
   each variant in a fresh child process (this script with a hidden ``--memory-child``)
   reporting ``ru_maxrss`` after building the model and batch (baseline) and at the end:
   one jitted gradient (reference), one linearized HVP (and its warm time per further HVP),
   and Lanczos ``top_eigenvalues(k=10)`` without and with ``return_eigenvectors``, capped at
   ``--memory-matvecs`` HVPs (the Krylov basis grows by chunks of 8 rows as it is used).
   Further variants (``--memory-variants``): ``one HVP (remat)`` (the linearization under
   ``jax.checkpoint``, ``remat=True``), ``restarted`` and ``restarted (remat)`` (thick-restart
   Lanczos with ``max_basis=--memory-max-basis``), compared with the unrestarted run
   (eigenvalues, HVPs, peak) when both are in one invocation.
5. **Hutch++ vs Hutchinson at equal HVPs** (``--trace-variance``, WRN-16-1 after
   ``--fit-steps`` SGD steps, BatchNorm train mode): ``hessian_trace`` with each method for
   ``--seeds`` seeds at ``--trace-matvecs`` HVPs each; mean, standard deviation across seeds
   and the variance ratio, beside the top eigenvalues (Lanczos) and ``||H||_F^2`` (mean
   ``||H g||^2`` over Gaussian ``g``) to show whether a few eigenvalues dominate.

    python benchmarks/hessian.py --hvp-anatomy [--profile-calls 5] [--anatomy-rounds 10]
    python benchmarks/hessian.py --memory [--memory-matvecs 40] [--memory-variants ...]
    python benchmarks/hessian.py --memory --memory-model 28-10 --batch-size 8 \
        --memory-variants "eigenvalues,restarted" --memory-max-basis 13 --memory-matvecs 400
    python benchmarks/hessian.py --trace-variance [--seeds 8] [--trace-matvecs 30]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import glob
import itertools
import json
import math
import os
import pathlib
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from lrsched.hessian import (
    DatasetHessian,
    FlatSpec,
    hessian_trace,
    model_loss,
    top_eigenvalues,
)
from lrsched.hessian.hvp import _hvp
from lrsched.models import WideResNet


def build(batch_size: int, seed: int = 0, depth: int = 16, widen: int = 1):
  model = WideResNet(depth, widen, num_classes=10, rngs=nnx.Rngs(seed))
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


# --- 3) where the HVP time goes: the compiled programs' convolutions, FLOPs and profile -------

_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%([\w.\-]+)\s*\(.*\)\s*->.*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%([\w.\-]+)\s*=\s*(.+?)\s([a-z][\w\-]*)\((.*)$")
_ARRAY = re.compile(r"^[a-z]+\d*\[([\d,]*)\]")
CONV_KINDS = ("forward", "input grad", "weight grad")
CATEGORIES = (*CONV_KINDS, "layout (transpose/copy)", "reductions", "elementwise, other")


@dataclasses.dataclass
class _Instruction:
  name: str
  dims: tuple[int, ...] | None
  opcode: str
  operands: list[str]
  calls: str | None
  op_name: str | None
  text: str


def _parse_hlo(text: str) -> tuple[dict[str, list[_Instruction]], str]:
  """The computations of a compiled HLO module (``Compiled.as_text()``) and the entry's name."""
  computations: dict[str, list[_Instruction]] = {}
  current, entry = None, None
  for line in text.splitlines():
    header = _COMPUTATION.match(line)
    if header:
      current = header.group(1)
      computations[current] = []
      if line.startswith("ENTRY"):
        entry = current
      continue
    match = _INSTRUCTION.match(line) if current is not None else None
    if not match:
      continue
    name, shape, opcode, rest = match.groups()
    array = _ARRAY.match(shape)
    dims = tuple(int(d) for d in array.group(1).split(",") if d) if array else None
    calls = re.search(r"calls=%([\w.\-]+)", rest)
    op_name = re.search(r'op_name="([^"]*)"', rest)
    computations[current].append(_Instruction(
        name, dims, opcode, re.findall(r"%([\w.\-]+)", rest.split(")", 1)[0]),
        calls.group(1) if calls else None, op_name.group(1) if op_name else None, rest))
  if entry is None:
    raise ValueError("no ENTRY computation in the HLO text")
  return computations, entry


def _conv_kind_flops(ins: _Instruction, dims: dict,
                     op_name: str | None) -> tuple[str, float, float]:
  """Which of the three convolutions ``ins`` is, its FLOPs as executed (2 per multiply-add)
  and its useful FLOPs (without the products with the zeros of a dilated input: a stride-2
  input gradient is a convolution over the cotangent with zeros between its rows/columns).

  A weight gradient has a kernel-sized (<= 3x3) spatial output; of the others, those under
  a ``transpose(...)`` (the VJP) are input gradients, the rest forward convolutions
  (primal or tangent)."""
  labels = re.search(r"dim_labels=(\w+)_(\w+)->(\w+)", ins.text)
  groups = re.search(r"feature_group_count=(\d+)", ins.text)
  _, rhs_labels, out_labels = labels.groups()
  rhs = dims[ins.operands[1]]
  contracted = math.prod(d for d, label in zip(rhs, rhs_labels, strict=True) if label != "o")
  flops = 2.0 * math.prod(ins.dims) * contracted / (int(groups.group(1)) if groups else 1)
  dilate = re.search(r"lhs_dilate=([\dx]+)", ins.text)
  useful = flops / (math.prod(int(d) for d in dilate.group(1).split("x")) if dilate else 1)
  spatial = [d for d, label in zip(ins.dims, out_labels, strict=True) if label.isdigit()]
  if max(spatial) <= 3:
    return "weight grad", flops, useful
  return ("input grad" if "transpose(" in (op_name or "") else "forward"), flops, useful


def hlo_anatomy(compiled_text: str) -> dict:
  """Convolutions (count and FLOPs by kind) of a compiled program, and the category of each
  top-level instruction (the names its profile events carry)."""
  computations, entry = _parse_hlo(compiled_text)

  def convs(name: str, op_name: str | None) -> list[tuple[str, float, float]]:
    body = computations[name]
    dims = {ins.name: ins.dims for ins in body}
    found = []
    for ins in body:
      label = ins.op_name or op_name
      if ins.opcode == "convolution":
        found.append(_conv_kind_flops(ins, dims, label))
      elif ins.calls in computations:
        found += convs(ins.calls, label)
    return found

  def opcodes(name: str) -> set[str]:
    ops = set()
    for ins in computations[name]:
      ops.add(ins.opcode)
      if ins.calls in computations:
        ops |= opcodes(ins.calls)
    return ops

  count = dict.fromkeys(CONV_KINDS, 0)
  flops = dict.fromkeys(CONV_KINDS, 0.0)
  useful = dict.fromkeys(CONV_KINDS, 0.0)
  category = {}
  for ins in computations[entry]:
    found = convs(ins.calls, ins.op_name) if ins.calls in computations else []
    if ins.opcode == "convolution":
      found = [_conv_kind_flops(ins, {i.name: i.dims for i in computations[entry]},
                                ins.op_name)]
    for kind, f, u in found:
      count[kind] += 1
      flops[kind] += f
      useful[kind] += u
    if ins.opcode in ("parameter", "constant", "tuple", "get-tuple-element", "bitcast"):
      continue
    ops = opcodes(ins.calls) - {"parameter", "bitcast"} if ins.calls in computations else {
        ins.opcode}
    if found:
      category[ins.name] = found[0][0]
    elif ops <= {"transpose", "copy", "reverse", "reshape"}:  # standalone layout changes
      category[ins.name] = "layout (transpose/copy)"
    elif "reduce" in ops or "reduce-window" in ops:
      category[ins.name] = "reductions"
    else:
      category[ins.name] = "elementwise, other"
  return {"count": count, "flops": flops, "useful": useful, "category": category}


def profile_thunks(fn, calls: int, names: set[str]) -> tuple[dict[str, float], float, float]:
  """Exclusive seconds per thunk in the least disturbed of ``calls`` profiled calls, that
  call's span (first thunk start to last thunk end) and the mean wall seconds per call.

  XLA:CPU records a profiler event per executed thunk (top-level HLO instruction ``names``),
  named after it, and an ``end: <name>`` event when it completes; a plain (Eigen)
  convolution runs asynchronously on the thread pool, so its interval runs to its end
  event. Independent thunks run concurrently, so each moment is shared equally among the
  thunks running then (the per-thunk times sum to the span)."""
  with tempfile.TemporaryDirectory() as directory:
    jax.profiler.start_trace(directory)
    start = time.perf_counter()
    for _ in range(calls):
      jax.block_until_ready(fn())
    wall = (time.perf_counter() - start) / calls
    jax.profiler.stop_trace()
    path = glob.glob(os.path.join(directory, "**", "*.xplane.pb"), recursive=True)[0]
    data = jax.profiler.ProfileData.from_file(path)
    events = collections.defaultdict(list)
    for plane in data.planes:
      for line in plane.lines:
        for event in line.events:
          events[event.name].append((event.start_ns, event.start_ns + event.duration_ns))
  runs = [[] for _ in range(calls)]  # (start, end, name) per call
  for name in names & set(events):
    starts, ends = sorted(events[name]), sorted(events.get("end: " + name, []))
    if len(starts) != calls:
      continue  # not one event per call (none here)
    for i, (s, e) in enumerate(starts):
      runs[i].append((s, max(e, ends[i][1]) if len(ends) == calls else e, name))
  best = None
  for run in runs:
    if not run:
      continue
    span = max(e for _, e, _ in run) - min(s for s, _, _ in run)
    if best is None or span < best[1]:
      best = (run, span)
  run, span = best
  boundaries = sorted({t for s, e, _ in run for t in (s, e)})
  exclusive = collections.defaultdict(float)
  ordered, active, i = sorted(run), [], 0
  for left, right in itertools.pairwise(boundaries):
    while i < len(ordered) and ordered[i][0] <= left:
      active.append(ordered[i])
      i += 1
    active = [a for a in active if a[1] > left]
    for _, _, name in active:
      exclusive[name] += (right - left) * 1e-9 / len(active)
  return dict(exclusive), span * 1e-9, wall


def tangent_pairs(size: int, channels: int, reps: int) -> list[tuple[str, float, float, float]]:
  """The three pairs of convolutions a forward-over-reverse HVP adds per conv layer, each as
  two convolutions plus an add (what XLA runs) and as one convolution of twice the
  contraction (same FLOPs): fastest ms of each and the relative difference of the results."""
  rng = np.random.default_rng(0)
  shape, kernel = (128, size, size, channels), (3, 3, channels, channels)
  arrays = [jnp.asarray(rng.standard_normal(shape), jnp.float32) for _ in range(4)]
  arrays += [jnp.asarray(0.1 * rng.standard_normal(kernel), jnp.float32) for _ in range(2)]
  conv = lambda a, k: jax.lax.conv_general_dilated(a, k, (1, 1), "SAME",
                                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
  wgrad = lambda a, k, g: jax.vjp(lambda k: conv(a, k), k)[1](g)[0]
  xgrad = lambda a, k, g: jax.vjp(lambda a: conv(a, k), a)[1](g)[0]
  cat = jnp.concatenate
  pairs = {  # functions of (x, dx, gy, dgy, w, dw)
      "tangent forward: conv(dx, W) + conv(x, dW)": (
          lambda x, dx, gy, dgy, w, dw: conv(dx, w) + conv(x, dw),
          lambda x, dx, gy, dgy, w, dw: conv(cat([dx, x], 3), cat([w, dw], 2))),
      "tangent input grad: convT(dgy, W) + convT(gy, dW)": (
          lambda x, dx, gy, dgy, w, dw: xgrad(x, w, dgy) + xgrad(x, dw, gy),
          lambda x, dx, gy, dgy, w, dw: xgrad(x, cat([w, dw], 3), cat([dgy, gy], 3))),
      "tangent weight grad: wgrad(dx, gy) + wgrad(x, dgy)": (
          lambda x, dx, gy, dgy, w, dw: wgrad(dx, w, gy) + wgrad(x, w, dgy),
          lambda x, dx, gy, dgy, w, dw: wgrad(cat([dx, x], 0), w, cat([gy, dgy], 0))),
  }
  out = []
  for name, (two, one) in pairs.items():
    two, one = jax.jit(two), jax.jit(one)
    a, b = jax.block_until_ready(two(*arrays)), jax.block_until_ready(one(*arrays))
    best = [np.inf, np.inf]
    for _ in range(reps):
      for i, f in enumerate((two, one)):
        start = time.perf_counter()
        jax.block_until_ready(f(*arrays))
        best[i] = min(best[i], time.perf_counter() - start)
    diff = float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(a)))
    out.append((name, 1e3 * best[0], 1e3 * best[1], diff))
  return out


def shuffled_rounds(fns: dict, rounds: int) -> dict[str, list[float]]:
  """Seconds of each call, ``rounds`` rounds of one call each, in a new random order."""
  times = {name: [] for name in fns}
  order, rng = list(fns), random.Random(0)
  for _ in range(rounds):
    rng.shuffle(order)
    for name in order:
      start = time.perf_counter()
      jax.block_until_ready(fns[name]())
      times[name].append(time.perf_counter() - start)
  return times


def hvp_anatomy(args) -> None:
  loss_fn, params, batch = build(args.batch_size)
  batch = jax.device_put(batch)
  spec = FlatSpec.of(params)
  v = spec.unravel(jnp.asarray(np.random.default_rng(1).standard_normal(spec.size),
                               spec.dtype))
  print(f"{platform.processor() or platform.machine()}, {jax.device_count()} device(s): "
        f"{jax.devices()[0].device_kind}; jax {jax.__version__}")
  print(f"WideResNet-16-1, {spec.size} parameters, batch {args.batch_size} x 32x32x3, "
        f"BatchNorm train mode, float32")
  grad_of_jvp = lambda p, b, t: jax.grad(
      lambda q: jax.jvp(lambda r: loss_fn(r, b), (q,), (t,))[1])(p)
  linearize = jax.jit(lambda p, b: jax.linearize(lambda q: jax.grad(loss_fn)(q, b), p)[1])
  # the same linearization saving only the convolutions' (and the head's dot's) outputs:
  # the elementwise work (BatchNorm, ReLU) is recomputed from them in each HVP
  linearize_remat = jax.jit(lambda p, b: jax.linearize(jax.checkpoint(
      lambda q: jax.grad(loss_fn)(q, b), policy=jax.checkpoint_policies.dots_saveable), p)[1])
  linear, linear_remat = linearize(params, batch), linearize_remat(params, batch)
  apply = jax.jit(lambda f, t: f(t))
  programs = {
      "gradient": (jax.jit(lambda p, b: jax.grad(loss_fn)(p, b)), (params, batch)),
      "HVP (jvp of grad)": (jax.jit(lambda p, b, t: _hvp(loss_fn, p, b, t)), (params, batch, v)),
      "HVP (grad of jvp)": (jax.jit(grad_of_jvp), (params, batch, v)),
      "linearize (once)": (linearize, (params, batch)),
      "HVP (linearized, reused)": (apply, (linear, v)),
      "linearize (remat, once)": (linearize_remat, (params, batch)),
      "HVP (remat lin., reused)": (apply, (linear_remat, v)),
  }
  info = {}
  for name, (fn, fn_args) in programs.items():
    lowered = fn.lower(*fn_args)
    compiled = lowered.compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    info[name] = {**hlo_anatomy(compiled.as_text()), "total flops": float(cost["flops"]),
                  "traced convs": lowered.as_text().count("stablehlo.convolution"),
                  "call": functools.partial(compiled, *fn_args)}
  reference = spec.ravel(info["HVP (jvp of grad)"]["call"]())
  scale = float(jnp.max(jnp.abs(reference)))
  checked = ("HVP (grad of jvp)", "HVP (linearized, reused)", "HVP (remat lin., reused)")
  for name in checked:
    info[name]["max diff"] = float(jnp.max(jnp.abs(spec.ravel(info[name]["call"]())
                                                   - reference))) / scale

  base = info["gradient"]
  print("\n3a) convolutions in the compiled programs (XLA:CPU; 'traced': before optimization) "
        "and their GFLOP: useful (forward/input grad/weight grad), as executed (stride-2 input "
        "gradients run over a zero-dilated cotangent), and XLA's cost analysis (all ops)")
  print(f"{'program':26s} {'traced':>6s} {'fwd':>4s} {'in.gr':>5s} {'w.gr':>5s} "
        f"{'useful f/i/w':>14s} {'useful':>6s} {'executed':>8s} {'XLA':>6s} "
        f"{'useful ratio':>12s} {'executed ratio':>14s} {'XLA ratio':>9s}")
  for name, d in info.items():
    useful, executed = sum(d["useful"].values()), sum(d["flops"].values())
    split = "/".join(f"{d['useful'][k] / 1e9:.1f}" for k in CONV_KINDS)
    print(f"{name:26s} {d['traced convs']:6d} {d['count']['forward']:4d} "
          f"{d['count']['input grad']:5d} {d['count']['weight grad']:5d} {split:>14s} "
          f"{useful / 1e9:6.2f} {executed / 1e9:8.2f} {d['total flops'] / 1e9:6.2f} "
          f"{useful / sum(base['useful'].values()):12.3f} "
          f"{executed / sum(base['flops'].values()):14.3f} "
          f"{d['total flops'] / base['total flops']:9.3f}")
  for name in checked:
    print(f"{name} vs HVP (jvp of grad): max |difference| / max |HVP| = "
          f"{info[name]['max diff']:.1e}")
  for name, saved in (("linearize", linear), ("linearize (remat)", linear_remat)):
    leaves = jax.tree.leaves(saved)
    print(f"{name}: {len(leaves)} saved arrays, {sum(x.nbytes for x in leaves) / 2**20:.0f} MiB")

  print(f"\n3b) XLA profiler, each program run {args.profile_calls} times after 2 warm-up calls; "
        f"the call with the shortest span; ms per call by category (concurrent thunks share "
        f"each moment equally)")
  times = {}
  for name, d in info.items():
    for _ in range(2):
      jax.block_until_ready(d["call"]())
    exclusive, span, wall = profile_thunks(d["call"], args.profile_calls, set(d["category"]))
    by = dict.fromkeys(CATEGORIES, 0.0)
    for thunk, seconds in exclusive.items():
      by[d["category"][thunk]] += seconds
    times[name] = (by, span, wall)
  header = " ".join(f"{c.split(' (')[0].split(',')[0][:11]:>11s}" for c in CATEGORIES)
  print(f"{'program':26s} {header} {'span':>7s} {'wall':>7s} {'span ratio':>10s} "
        f"{'wall ratio':>10s}")
  base_span, base_wall = times["gradient"][1], times["gradient"][2]
  for name, (by, span, wall) in times.items():
    cells = " ".join(f"{1e3 * by[c]:11.1f}" for c in CATEGORIES)
    print(f"{name:26s} {cells} {1e3 * span:7.1f} {1e3 * wall:7.1f} {span / base_span:10.3f} "
          f"{wall / base_wall:10.3f}")
  for name in ("gradient", "HVP (jvp of grad)", "HVP (linearized, reused)",
               "HVP (remat lin., reused)"):
    by = times[name][0]
    print(f"{'  ms per useful GFLOP':26s} " + " ".join(
        f"{1e3 * by[k] / (info[name]['useful'][k] / 1e9):11.1f}" for k in CONV_KINDS)
        + f"   ({name})")
  grad_by, lin_by = times["gradient"][0], times["HVP (linearized, reused)"][0]
  print("linearized HVP / gradient by category: " + ", ".join(
      f"{c.split(' (')[0]} {lin_by[c] / grad_by[c]:.2f}" for c in CATEGORIES if grad_by[c]))

  print(f"\n3c) wall time, {args.anatomy_rounds} rounds, each program once per round in a new "
        f"random order; min ratio = fastest / gradient's fastest, median of per-round ratios")
  walls = shuffled_rounds({name: d["call"] for name, d in info.items()}, args.anatomy_rounds)
  print(f"{'program':26s} {'median ms':>9s} {'min ms':>8s} {'min ratio':>9s} {'median ratio':>12s}")
  for name, values in walls.items():
    ratios = [t / b for t, b in zip(values, walls["gradient"], strict=True)]
    print(f"{name:26s} {1e3 * statistics.median(values):9.1f} {1e3 * min(values):8.1f} "
          f"{min(values) / min(walls['gradient']):9.3f} {statistics.median(ratios):12.3f}")

  print(f"\n3d) the pairs of tangent convolutions, as XLA runs them (two convolutions + add) and "
        f"merged into one of twice the contraction (same FLOPs); fastest of {args.profile_calls}")
  print(f"{'shape':20s} {'pair':52s} {'two ms':>7s} {'one ms':>7s} {'one/two':>7s} "
        f"{'rel. diff':>9s}")
  for size, channels in ((32, 16), (8, 64)):
    for name, two, one, diff in tangent_pairs(size, channels, args.profile_calls):
      print(f"{f'128x{size}x{size}x{channels} 3x3':20s} {name:52s} {two:7.1f} {one:7.1f} "
            f"{one / two:7.3f} {diff:9.1e}")


# --- 4) peak memory of the top-10 eigenvalues on WRN-16-4 -------------------------------------

MEMORY_VARIANTS = ("gradient", "one HVP", "eigenvalues", "eigenvectors")
"""The default variants of ``--memory`` (the 2026-11-30 table)."""
ALL_MEMORY_VARIANTS = MEMORY_VARIANTS + ("one HVP (remat)", "restarted", "restarted (remat)",
                                         "eigenvectors (restarted)")
"""Also: one HVP through a checkpointed linearization (``remat=True``), and the top-k by
thick-restart Lanczos with a basis of ``--memory-max-basis`` vectors, without and with remat,
and with its eigenvectors. A variant that returns eigenvectors also reports their *true*
relative residuals ``|H v - lambda v| / |lambda|`` (k more HVPs, after the peak is read), the
check of the recurrence's residual estimates."""


def _max_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _current_rss_mib() -> float | None:
  try:
    with open("/proc/self/status") as status:
      for line in status:
        if line.startswith("VmRSS:"):
          return int(line.split()[1]) / 1024
  except OSError:
    return None
  return None


def _model_shape(text: str) -> tuple[int, int]:
  """``"28-10"`` -> ``(28, 10)``: a WideResNet's depth and widen factor."""
  try:
    depth, widen = (int(x) for x in text.split("-"))
  except ValueError:
    raise SystemExit(f"--memory-model must be DEPTH-WIDEN such as 28-10, got {text!r}") from None
  return depth, widen


def memory_child(variant: str, args) -> None:
  """One variant in this (fresh) process; prints one JSON line with its RSS figures."""
  depth, widen = _model_shape(args.memory_model)
  loss_fn, params, batch = build(args.batch_size, depth=depth, widen=widen)
  if args.memory_params:  # the parent's fitted point
    saved = np.load(args.memory_params)
    params = jax.tree.unflatten(jax.tree.structure(params),
                                [saved[f"leaf{i}"] for i in range(len(saved.files))])
  out = {"variant": variant, "n": FlatSpec.of(params).size, "baseline": _max_rss_mib()}
  start = time.perf_counter()
  remat = variant.endswith("(remat)")
  if variant == "gradient":
    keep = jax.block_until_ready(jax.jit(jax.grad(loss_fn))(params, jax.device_put(batch)))
    out["hvps"] = 0
  elif variant.startswith("one HVP"):
    operator = DatasetHessian(loss_fn, params, batch, linearize=True, remat=remat)
    v = np.random.default_rng(0).standard_normal(operator.size).astype(operator.dtype)
    keep = operator.matvec(v)
    out["first_hvp_seconds"] = time.perf_counter() - start  # linearization + compilation
    again = time.perf_counter()
    for _ in range(args.memory_hvp_repeats):  # warm: what each further matvec costs
      keep = operator.matvec(v)
    out["seconds_per_hvp"] = (time.perf_counter() - again) / args.memory_hvp_repeats
    out["hvps"] = operator.num_matvecs
  else:
    restarted = "restarted" in variant
    keep = top_eigenvalues(loss_fn, params, batch, k=args.k, tol=args.tol,
                           max_matvecs=args.memory_matvecs, remat=remat,
                           max_basis=args.memory_max_basis if restarted else None,
                           return_eigenvectors=variant.startswith("eigenvectors"))
    out.update(hvps=keep.num_matvecs, converged=int(keep.converged.sum()),
               eigenvalues=keep.eigenvalues.tolist(), stop_reason=keep.stop_reason,
               restarts=keep.restarts, max_basis=keep.max_basis,
               residual_estimates=np.asarray(keep.relative_residuals).tolist())
  out.update(seconds=time.perf_counter() - start, peak=_max_rss_mib(), end=_current_rss_mib())
  if getattr(keep, "eigenvectors", None) is not None:
    operator = DatasetHessian(loss_fn, params, batch, linearize=True)
    spec = FlatSpec.of(params)
    true = []
    for value, vector in zip(keep.eigenvalues, keep.eigenvectors, strict=True):
      v = np.asarray(spec.ravel(vector), np.float64)
      true.append(float(np.linalg.norm(np.asarray(operator.matvec(v.astype(operator.dtype)),
                                                  np.float64) - value * v) / abs(value)))
    out["true_relative_residuals"] = true
    if args.memory_save_vectors:  # for the parent's overlap of two variants' vectors
      path = pathlib.Path(args.memory_save_vectors) / f"{variant}.npy"
      np.save(path, np.stack([np.asarray(spec.ravel(v), np.float32) for v in keep.eigenvectors]))
  del keep
  print("MEMORY-JSON " + json.dumps(out), flush=True)


def lanczos_rows(matvecs: int) -> int:
  """Rows of the Krylov basis that ``lrsched.hessian.eigen.lanczos`` has allocated after
  ``matvecs`` HVPs: chunks of :data:`lrsched.hessian.krylov.CHUNK_ROWS` as they are used."""
  from lrsched.hessian.krylov import CHUNK_ROWS

  return -(-matvecs // CHUNK_ROWS) * CHUNK_ROWS


def memory(args) -> None:
  variants = [v.strip() for v in args.memory_variants.split(",")]
  depth, widen = _model_shape(args.memory_model)
  print(f"{platform.processor() or platform.machine()}; jax {jax.__version__}")
  print(f"4) peak RSS, WideResNet-{depth}-{widen}, batch {args.batch_size} x 32x32x3, "
        f"BatchNorm train mode, float32; each variant in a fresh process; top-{args.k} "
        f"eigenvalues by Lanczos, tol {args.tol:g}, max_matvecs {args.memory_matvecs} (the "
        f"linearization is kept: one batch); restarted: max_basis {args.memory_max_basis}")
  fitted = []
  if args.memory_fit_steps:  # once here; the children load the point (np.load of the leaves)
    loss_fn, params, batch = build(args.batch_size, depth=depth, widen=widen)
    params, losses = fit(loss_fn, params, jax.device_put(batch), args.memory_fit_steps)
    print(f"the point: {args.memory_fit_steps} heavy-ball SGD steps on the batch (loss "
          f"{losses[0]:.3f} -> {losses[-1]:.4f}); at initialization with random labels the "
          f"top-10 needs hundreds of HVPs", flush=True)
    handle = tempfile.NamedTemporaryFile(suffix=".npz", delete=False)
    np.savez(handle, **{f"leaf{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(params))})
    handle.close()
    fitted = ["--memory-params", handle.name]
    del loss_fn, params, batch
  results = []
  for variant in variants:
    if variant not in ALL_MEMORY_VARIANTS:
      raise SystemExit(f"--memory-variants: unknown {variant!r}, choose from "
                       f"{ALL_MEMORY_VARIANTS}")
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", variant,
               "--batch-size", str(args.batch_size), "--k", str(args.k), "--tol", str(args.tol),
               "--memory-matvecs", str(args.memory_matvecs), "--memory-model",
               args.memory_model, "--memory-max-basis", str(args.memory_max_basis),
               "--memory-hvp-repeats", str(args.memory_hvp_repeats), *fitted,
               *(["--memory-save-vectors", args.memory_save_vectors]
                 if args.memory_save_vectors else [])]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("MEMORY-JSON ")]
    if done.returncode or not lines:
      raise SystemExit(f"{variant}: the child failed (rc {done.returncode}):\n{done.stderr}")
    results.append(json.loads(lines[-1].removeprefix("MEMORY-JSON ")))
    print("  " + json.dumps(results[-1]), flush=True)  # raw, as each child finishes
  print(f"{'variant':17s} {'baseline MiB':>12s} {'peak MiB':>9s} {'peak - base':>11s} "
        f"{'RSS at end':>10s} {'HVPs':>5s} {'seconds':>8s}")
  for r in results:
    extra = ""
    if "converged" in r:
      extra = (f"  converged {r['converged']}/{args.k}, stop {r['stop_reason']}, "
               f"restarts {r['restarts']}")
    elif "seconds_per_hvp" in r:
      extra = f"  {r['seconds_per_hvp']:.2f} s per further HVP"
    print(f"{r['variant']:17s} {r['baseline']:12.0f} {r['peak']:9.0f} "
          f"{r['peak'] - r['baseline']:11.0f} {r['end'] or float('nan'):10.0f} {r['hvps']:5d} "
          f"{r['seconds']:8.1f}" + extra)
  for r in results:
    if "true_relative_residuals" in r:
      pairs = ", ".join(f"{v:.6g} ({e:.1e} / {t:.1e})" for v, e, t in zip(
          r["eigenvalues"], r["residual_estimates"], r["true_relative_residuals"], strict=True))
      print(f"{r['variant']}: eigenvalue (estimated / true relative residual): {pairs}")
  saved = [pathlib.Path(args.memory_save_vectors or ".") / f"{r['variant']}.npy"
           for r in results if "true_relative_residuals" in r]
  if args.memory_save_vectors and len(saved) == 2:
    first, second = (np.load(path, mmap_mode="r") for path in saved)
    overlap = np.abs(np.asarray(first, np.float64) @ np.asarray(second, np.float64).T)
    print(f"|cos| between the eigenvectors of {saved[0].stem} (rows) and {saved[1].stem} "
          f"(columns):")
    for i, row in enumerate(overlap):
      print(f"  {i + 1:2d}: " + " ".join(f"{x:5.3f}" for x in row))
  n = results[0]["n"]
  vector = 4 * n / 2**20
  print(f"n = {n} parameters: one float32 vector = {vector:.1f} MiB")
  for r in results:
    if "converged" not in r:
      continue
    m = r["hvps"]
    if r["max_basis"] is not None:
      print(f"{r['variant']}: basis at most {r['max_basis']} x n = "
            f"{r['max_basis'] * vector:.0f} MiB ({m} HVPs)")
      continue
    rows = lanczos_rows(m)
    print(f"{r['variant']}: Lanczos basis {m} x n used = {m * vector:.0f} MiB; allocated "
          f"{rows} rows = {rows * vector:.0f} MiB")
  by = {r["variant"]: r for r in results}
  if "eigenvalues" in by and "eigenvectors" in by:
    extra = by["eigenvectors"]["peak"] - by["eigenvalues"]["peak"]
    print(f"eigenvectors - eigenvalues peak: {extra:.0f} MiB; {args.k} eigenvectors = "
          f"{args.k} x n floats = {args.k * vector:.0f} MiB per copy (the Ritz vectors "
          f"S' Q, their descending copy, then {args.k} parameter pytrees)")
  for name in ("restarted", "restarted (remat)"):
    if "eigenvalues" in by and name in by:
      plain, ours = by["eigenvalues"], by[name]
      a, b = np.asarray(plain["eigenvalues"]), np.asarray(ours["eigenvalues"])
      print(f"{name} vs unrestarted: max relative eigenvalue difference "
            f"{np.max(np.abs(a - b) / np.abs(a)):.1e}; HVPs {ours['hvps']} / {plain['hvps']} = "
            f"{ours['hvps'] / plain['hvps']:.2f}x; peak {ours['peak']:.0f} vs "
            f"{plain['peak']:.0f} MiB")
  if "one HVP" in by and "one HVP (remat)" in by:
    plain, remat = by["one HVP"], by["one HVP (remat)"]
    print(f"remat: one HVP's peak - baseline {remat['peak'] - remat['baseline']:.0f} vs "
          f"{plain['peak'] - plain['baseline']:.0f} MiB; further HVP "
          f"{remat['seconds_per_hvp']:.2f} vs {plain['seconds_per_hvp']:.2f} s "
          f"({remat['seconds_per_hvp'] / plain['seconds_per_hvp']:.2f}x)")


# --- 5) Hutch++ vs Hutchinson at equal matvecs -------------------------------------------------

def trace_variance(args) -> None:
  import scipy.stats

  loss_fn, params, batch = build(args.batch_size, depth=args.trace_depth, widen=1)
  n = FlatSpec.of(params).size
  print(f"{platform.processor() or platform.machine()}; jax {jax.__version__}")
  params, losses = fit(loss_fn, params, jax.device_put(batch), args.fit_steps)
  print(f"WideResNet-{args.trace_depth}-1, {n} parameters, batch {args.batch_size} x 32x32x3, "
        f"BatchNorm train mode, float32; after {args.fit_steps} SGD steps on the batch (loss "
        f"{losses[0]:.3f} -> {losses[-1]:.3f})")
  operator = DatasetHessian(loss_fn, params, batch, linearize=True)
  top = top_eigenvalues(operator, k=args.k, tol=args.trace_tol, max_matvecs=args.trace_lanczos)
  rng = np.random.default_rng(12345)
  frobenius = [float(np.sum(operator.matvec(rng.standard_normal(n).astype(operator.dtype))
                            .astype(np.float64) ** 2)) for _ in range(args.frobenius_probes)]
  estimates = {"hutchinson": [], "hutch++": []}
  errors = {"hutchinson": [], "hutch++": []}
  seconds = {"hutchinson": 0.0, "hutch++": 0.0}
  for seed in range(args.seeds):
    for method in estimates:
      r = hessian_trace(operator, num_probes=args.trace_matvecs, seed=seed, method=method)
      assert r.num_matvecs == args.trace_matvecs
      estimates[method].append(r.trace)
      errors[method].append(r.std_error)
      seconds[method] += r.wall_time
  print(f"\n5) {args.seeds} seeds x {args.trace_matvecs} HVPs per estimate (Hutch++: "
        f"{args.trace_matvecs // 3} sketch + {args.trace_matvecs // 3} projected + "
        f"{args.trace_matvecs - 2 * (args.trace_matvecs // 3)} residual probes)")
  # the std an estimate's own probes predict: for Hutch++ that of its residual part, which is
  # its whole variance (given the sketch the estimate is unbiased, so the sketch adds none)
  predicted = {m: float(np.sqrt(np.mean(np.square(e)))) for m, e in errors.items()}
  print(f"{'method':11s} {'mean':>9s} {'std across seeds':>16s} {'std from probes':>15s} "
        f"{'s per estimate':>14s}  estimates")
  for method, values in estimates.items():
    values = np.array(values)
    print(f"{method:11s} {values.mean():9.3f} {values.std(ddof=1):16.3f} "
          f"{predicted[method]:15.3f} {seconds[method] / args.seeds:14.1f}  "
          f"{np.array2string(values, precision=2, max_line_width=250)}")
  var = {m: float(np.var(v, ddof=1)) for m, v in estimates.items()}
  ratio = var["hutchinson"] / var["hutch++"]
  f = scipy.stats.f.ppf(0.975, args.seeds - 1, args.seeds - 1)
  print(f"variance ratio Hutchinson / Hutch++ across seeds = {ratio:.2f} (95% F interval "
        f"{ratio / f:.2f} - {ratio * f:.2f}); from the probes' sample variances "
        f"({args.seeds} x {args.trace_matvecs} and {args.seeds} x "
        f"{args.trace_matvecs - 2 * (args.trace_matvecs // 3)} samples): "
        f"{(predicted['hutchinson'] / predicted['hutch++']) ** 2:.2f}")
  pooled = np.concatenate([estimates["hutchinson"], estimates["hutch++"]]).mean()
  frob = float(np.mean(frobenius))
  head = top.eigenvalues
  print(f"\ntop-{args.k} eigenvalues (Lanczos, tol {args.trace_tol:g}, {top.num_matvecs} HVPs, "
        f"{int(top.converged.sum())}/{args.k} converged): "
        f"{np.array2string(head, precision=4, max_line_width=200)}")
  print(f"trace (all {2 * args.seeds} estimates pooled) {pooled:.3f}; sum of the top "
        f"{args.k} {head.sum():.3f} = {head.sum() / pooled:.1%} of the trace; top 3: "
        f"{head[:3].sum() / pooled:.1%}")
  m = args.trace_matvecs // 3
  error = np.std(frobenius, ddof=1) / np.sqrt(len(frobenius))
  print(f"||H||_F^2 ~ {frob:.3f} (mean ||H g||^2 over {args.frobenius_probes} Gaussian g, "
        f"std error {error:.3f}); top-{min(m, args.k)}"
        f" eigenvalues' share of it: {np.sum(head[:m] ** 2) / frob:.1%} (Hutch++ beats Hutchinson "
        f"when its {m} sketch vectors capture more than ~2/3 of it)")


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
  parser.add_argument("--memory", action="store_true",
                      help="mode 4: peak RSS of the top-k eigenvalues (--memory-model)")
  parser.add_argument("--memory-matvecs", type=int, default=40)
  parser.add_argument("--memory-variants", default=",".join(MEMORY_VARIANTS))
  parser.add_argument("--memory-model", default="16-4",
                      help="mode 4's WideResNet as DEPTH-WIDEN (default 16-4; 28-10: 36.5M)")
  parser.add_argument("--memory-max-basis", type=int, default=30,
                      help="mode 4's restarted variants: max_basis (default 30 = 2k + 10)")
  parser.add_argument("--memory-hvp-repeats", type=int, default=2,
                      help="mode 4's one-HVP variants: warm HVPs timed after the first")
  parser.add_argument("--memory-fit-steps", type=int, default=0,
                      help="mode 4: SGD steps on the batch first (0: the initialization)")
  parser.add_argument("--memory-save-vectors", default=None,
                      help="mode 4: a folder where variants with eigenvectors save them; with "
                           "two such variants, their eigenvectors' overlaps are printed")
  parser.add_argument("--memory-params", help=argparse.SUPPRESS)
  parser.add_argument("--memory-child", choices=ALL_MEMORY_VARIANTS, help=argparse.SUPPRESS)
  parser.add_argument("--trace-variance", action="store_true",
                      help="mode 5: Hutch++ vs Hutchinson across seeds at equal HVPs")
  parser.add_argument("--trace-depth", type=int, default=16)
  parser.add_argument("--trace-matvecs", type=int, default=30)
  parser.add_argument("--seeds", type=int, default=8)
  parser.add_argument("--trace-tol", type=float, default=1e-2)
  parser.add_argument("--trace-lanczos", type=int, default=60)
  parser.add_argument("--frobenius-probes", type=int, default=10)
  parser.add_argument("--hvp-anatomy", action="store_true",
                      help="mode 3: convolutions, FLOPs and profile of gradient and HVPs")
  parser.add_argument("--profile-calls", type=int, default=5)
  parser.add_argument("--anatomy-rounds", type=int, default=10)
  args = parser.parse_args()
  if args.memory_child:
    return memory_child(args.memory_child, args)
  if args.memory:
    return memory(args)
  if args.trace_variance:
    return trace_variance(args)
  if args.hvp_anatomy:
    return hvp_anatomy(args)

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
