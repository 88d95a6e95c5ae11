"""One table for a GPU (or TPU): lrsched vs PyTorch and PyHessian, and a one-minute run.

The rows, all measured in one call:

1. **Train step, images/s**: lrsched's jitted train step
   (:func:`lrsched.train.steps.make_train_step`, NHWC) vs an eager PyTorch step
   (``torch.backends.cudnn.benchmark = True``, model and inputs ``channels_last``) on
   the same pre-activation WRN-16-4 and WRN-28-10 (parameter counts equal, see
   ``benchmarks/train_step.py``), batch 128 of 32x32x3, SGD momentum 0.9 and weight decay
   5e-4, BatchNorm in train mode; each in float32 and in bfloat16 mixed precision
   (lrsched: ``WideResNet(..., dtype="bfloat16")``; PyTorch:
   ``torch.autocast("cuda", dtype=torch.bfloat16)``). Float32 means each framework's
   default: both let cuDNN use TF32 tensor cores for float32 convolutions.
2. **HVP time / gradient time** on WRN-16-4, batch 128, BatchNorm in eval mode (what
   PyHessian differentiates): a one-off HVP (lrsched: :func:`lrsched.hessian.hvp`, ``jvp``
   of ``grad``, jitted; PyTorch: double backward) and a further HVP on the same batch, as
   the eigensolvers pay it (lrsched: ``DatasetHessian.device_matvec`` with the gradient
   linearized once, vectors on the device as Lanczos keeps them; PyTorch: an HVP through
   PyHessian's retained gradient graph).
3. **Top-10 eigenvalues, wall time**: :func:`lrsched.hessian.top_eigenvalues` (Lanczos,
   relative residual 1e-3) vs PyHessian's ``hessian(...).eigenvalues(top_n=10)`` (deflated
   power iteration, its relative-change rule 1e-3, ``maxIter`` 100) -- the PyPI package
   when importable, else the same algorithm re-implemented here (labelled so). Both run on
   the *same weights*: PyTorch's network after a few SGD steps on the batch, copied into
   lrsched's (the logits are checked to agree), so the two compute the same Hessian. The
   Hessian rows run in full float32 (TF32 off in both frameworks: TF32's 10-bit mantissa
   is coarser than the 1e-3 tolerance). Residuals ``||Hv - lambda v|| / |lambda|`` are
   reported for both (PyHessian's computed afterwards, outside its time).
4. **One-minute training run**: :func:`lrsched.train.train` on the CIFAR-10 subset
   (``../shared/data/cifar10_subset.npz``: 5085 training and 1017 test images; skipped
   when absent), WRN-16-4, batch 128, bfloat16 compute, augmentation, 1cycle learning
   rate over the number of epochs that the measured step throughput fits into 60 s;
   reports images/s (epochs after the first, which compiles; evaluation included) and the
   final test accuracy.

PyTorch runs first, in a child process (the interpreter of ``--torch-python``, default
this one), so the two frameworks never hold the accelerator at the same time; without
torch (as in CI) its cells say so and the script still exits 0. One chip against one
chip: the full run sets ``CUDA_VISIBLE_DEVICES=0`` unless it is set (lrsched's steps
would shard over every visible device; the heading states the device count). Timing:
warm-up steps (the first, XLA's compilation, is reported), then rounds of steps closed by
``torch.cuda.synchronize()`` / ``jax.block_until_ready``, median over rounds. PyTorch and
PyHessian are benchmark-only dependencies. The full run is sized to finish in under 8
minutes on one modern GPU (most of it XLA compilation and the training run) and needs no
network.

    pip install torch pyhessian                     # benchmark-only dependencies
    python benchmarks/accelerator.py                # on a GPU or TPU machine
    python benchmarks/accelerator.py --out benchmarks/RESULTS.md   # also append the table
    python benchmarks/accelerator.py --smoke        # tiny shapes on CPU, seconds (CI)
    python benchmarks/accelerator.py --torch-python /path/to/env/bin/python

``--smoke`` runs every row on CPU with WRN-10-1, 16x16 images, batch 8, a few steps,
PyHessian's ``maxIter`` 20 and a two-second training run on 256 images, XLA compiling
without backend optimization (``--xla_backend_optimization_level=0``) and PyTorch on one
thread: it checks the script, its numbers mean nothing.

``--hessian-cpu`` runs only the eigenvalue comparison, both frameworks on CPU (PyTorch on
its default threads, one per core), on a realistic CNN: WRN-16-1, batch 128 of the CIFAR-10
subset at 32x32, BatchNorm in eval mode, PyTorch's weights after 20 SGD steps copied into
lrsched's, float32. For each top-n (``--ks``, default 1 and 5) it times PyHessian's
``eigenvalues(top_n=n)`` (its own rule: relative change < 1e-3, ``maxIter`` 100) and
:func:`lrsched.hessian.top_eigenvalues` (Lanczos, warm: the compilation is reported apart),
each from building its solver to the values, at ``tol`` 1e-3 and at the loosest ``tol``
whose accuracy is no worse than PyHessian's on every eigenvalue (see :func:`accuracy_rows`);
it prints the HVP counts, wall per HVP, each method's true relative residuals ``||Hv -
lambda v|| / |lambda|`` and relative eigenvalue errors against a reference (Lanczos at
``tol`` 1e-5), the speedups and the isolated HVP times of both frameworks. The torch child
stays alive and serves runs on request, so that PyTorch's and lrsched's timed runs (and
timing rounds) alternate and see the same machine: on shared cores, a job of someone else's
during one framework's block of runs would skew the ratio. Each solver call is timed
``--reps`` times (default 3; median, and the fastest). About 6.5 minutes on 2 cores for the
default ``--ks 1,5``:

    python benchmarks/accelerator.py --hessian-cpu --torch-python /path/to/env/bin/python
    python benchmarks/accelerator.py --hessian-cpu --ks 1,5,10 --batch 64   # other sizes
    python benchmarks/accelerator.py --hessian-cpu --tols 0.01,0.03 --reps 2  # more rows
    python benchmarks/accelerator.py --hessian-cpu --smoke   # tiny shapes, seconds (CI)

``--hessian`` runs that same comparison on one GPU, both frameworks there, in full float32
(PyTorch's TF32 off, JAX at ``highest`` matmul precision: TF32 HVPs are too noisy for a
1e-3 residual), on WRN-16-4 at batch 128 and for top-1, 5 and 10 (``--ks``, ``--batch``,
``--reps``, ``--tols`` as above). The issue's >= 8x goal against PyHessian is measured
there: a few minutes of GPU time, PyHessian's ~500 HVPs of top-10 being most of it.

    python benchmarks/accelerator.py --hessian --out benchmarks/RESULTS.md

Three files: this one (the driver, lrsched's side and the tables), ``accelerator_torch.py``
(the PyTorch side, run in a child process by ``--torch-python``) and ``accelerator_plan.py``
(what a run measures, shared by both).
"""


from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmarks (python benchmarks/accelerator.py)

from accelerator_plan import (  # noqa: E402
  DATA,
  DTYPES,
  FULL,
  HESSIAN_CPU,
  HESSIAN_CPU_SMOKE,
  HESSIAN_GPU,
  SMOKE,
  Plan,
  _depth_k,
  _error,
  _say,
  _time_calls,
  hessian_batch,
  time_steps,
)
from accelerator_torch import TorchServer, run_torch  # noqa: E402
from train_step import make_jax_step  # noqa: E402

# -------------------------------------------------------------------------------- JAX side


def lrsched_has_bfloat16() -> bool:
  """Whether this lrsched's models take a compute ``dtype`` (mixed precision)."""
  import inspect

  from lrsched.models import WideResNet

  return "dtype" in inspect.signature(WideResNet.__init__).parameters


def jax_train_steps(plan: Plan) -> dict:
  out = {}
  bf16 = lrsched_has_bfloat16()
  for model in plan.models:
    for dtype in DTYPES:
      key = f"{model}/{dtype}"
      if dtype == "bfloat16" and not bf16:
        out[key] = {"error": "this lrsched has no compute dtype"}
        continue
      try:
        step, sync, count = make_jax_step(*_depth_k(model), batch=plan.batch,
                                          image_size=plan.image_size,
                                          dtype=None if dtype == "float32" else dtype)
        out[key] = {**time_steps(step, sync, plan), "params": count}
      except Exception as error:
        out[key] = {"error": _error(error)}
      _say(f"lrsched train step {key}: {out[key]}")
  return out


def load_torch_weights(model, path: pathlib.Path) -> None:
  """Copies ``torch_wrn``'s ``state_dict`` (saved as ``.npz``) into lrsched's WideResNet."""
  import jax.numpy as jnp
  import numpy as np

  with np.load(path) as arrays:
    w = dict(arrays)

  def conv(layer, key):
    layer.kernel.set_value(jnp.asarray(w[f"{key}.weight"].transpose(2, 3, 1, 0)))  # -> HWIO

  def norm(layer, key):
    for ours, theirs in (("scale", "weight"), ("bias", "bias"), ("mean", "running_mean"),
                         ("var", "running_var")):
      getattr(layer, ours).set_value(jnp.asarray(w[f"{key}.{theirs}"]))

  conv(model.stem, "0")
  for i, block in enumerate(model.blocks, 1):
    norm(block.norm1, f"{i}.bn1")
    conv(block.conv1, f"{i}.conv1")
    norm(block.norm2, f"{i}.bn2")
    conv(block.conv2, f"{i}.conv2")
    if block.shortcut is not None:
      conv(block.shortcut, f"{i}.short")
  last = len(model.blocks)
  norm(model.norm, f"{last + 1}")
  model.head.kernel.set_value(jnp.asarray(w[f"{last + 5}.weight"].T))
  model.head.bias.set_value(jnp.asarray(w[f"{last + 5}.bias"]))


def jax_problem(plan: Plan, workdir: pathlib.Path, out: dict):
  """lrsched's ``(loss_fn, params, batch)`` of the Hessian rows: WideResNet with PyTorch's
  weights (when saved; the logits gap goes into ``out``), BatchNorm in eval mode."""
  import jax
  import numpy as np
  from flax import nnx

  from lrsched.hessian import model_loss
  from lrsched.models import WideResNet

  with np.load(workdir / "batch.npz") as arrays:
    batch = {"image": np.ascontiguousarray(arrays["x"].transpose(0, 2, 3, 1)),
             "label": arrays["y"].astype(np.int32)}
  model = WideResNet(*_depth_k(plan.hessian_model), num_classes=10, rngs=nnx.Rngs(0))
  if (workdir / "weights.npz").is_file():
    load_torch_weights(model, workdir / "weights.npz")
    model.eval()
    theirs = np.load(workdir / "logits.npy")
    ours = np.asarray(model(batch["image"]))
    out["logits_gap"] = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
    out["weights"] = f"PyTorch's network after {plan.fit_steps} SGD steps, copied"
    loss_fn, params = model_loss(model, "eval")
  else:  # no PyTorch weights: fit lrsched's own network (benchmarks/hessian.py's fit)
    import hessian as hessian_bench

    loss_fn, params = model_loss(model, "eval")
    params, _ = hessian_bench.fit(loss_fn, params, jax.device_put(batch), plan.fit_steps)
    out["weights"] = f"lrsched's network after {plan.fit_steps} SGD steps"
  return loss_fn, params, batch


def lanczos_top(loss_fn, params, batch, k: int, tol: float, max_matvecs: int | None = None,
                reps: int = 1) -> dict:
  """:func:`lrsched.hessian.top_eigenvalues` (Lanczos) timed like PyHessian
  (:func:`accelerator_torch.pyhessian_top`): from the operator's construction (the gradient
  linearized once) to the values and vectors, ``reps`` times (the same seed; ``wall``: the
  median, ``walls``: all); then, untimed, each pair's true relative residual
  ``||Hv - lambda v|| / |lambda|`` (besides Lanczos's own Ritz estimate)."""
  import numpy as np

  from lrsched.hessian import DatasetHessian, top_eigenvalues

  walls = []
  for _ in range(reps):
    operator = result = None  # frees the previous run's linearization
    start = time.perf_counter()
    operator = DatasetHessian(loss_fn, params, batch, linearize=True)
    result = top_eigenvalues(operator, k=k, tol=tol, max_matvecs=max_matvecs,
                             return_eigenvectors=True)
    walls.append(time.perf_counter() - start)
  residuals = []
  for value, vector in zip(result.eigenvalues, result.eigenvectors, strict=True):
    flat = np.asarray(operator.spec.ravel(vector), np.float64)
    hv = operator.matvec(flat.astype(operator.dtype))
    residuals.append(float(np.linalg.norm(hv - value * flat)
                           / (abs(value) * np.linalg.norm(flat))))
  return {"k": k, "tol": tol, "wall": statistics.median(walls), "walls": walls,
          "hvps": result.num_matvecs,
          "eigenvalues": result.eigenvalues.tolist(), "residuals": residuals,
          "max_residual": max(residuals),
          "max_ritz_residual": float(result.relative_residuals.max()),
          "converged": int(result.converged.sum())}


def jax_hessian(plan: Plan, workdir: pathlib.Path, server: TorchServer | None = None) -> dict:
  """Gradient/HVP times and the top-k eigenvalues of lrsched on the same weights and batch.

  With ``plan.cpu_hessian``: :func:`accuracy_rows`, and when ``server`` is alive its
  PyTorch timings round by round between lrsched's (``their_times``)."""
  import jax
  import numpy as np

  from lrsched.hessian import DatasetHessian, hvp

  out = {}
  with jax.default_matmul_precision("highest"):
    loss_fn, params, batch = jax_problem(plan, workdir, out)
    operator = DatasetHessian(loss_fn, params, batch, linearize=True)
    v_flat = np.random.default_rng(1).standard_normal(operator.size).astype(operator.dtype)
    v = operator.unravel(v_flat)
    start = time.perf_counter()  # compiles the eigensolvers' matvec (linearize, apply)
    v_placed = operator.place_vector(v_flat)
    jax.block_until_ready(operator.device_matvec(v_placed))
    out["compile_s"] = time.perf_counter() - start
    out["params"] = operator.size
    gradient = jax.jit(jax.grad(loss_fn))
    one_off = jax.jit(lambda p, b, t: hvp(loss_fn, p, b, t))
    on_device = jax.device_put(batch)
    calls = {"gradient": lambda: gradient(params, on_device),
             "hvp": lambda: one_off(params, on_device, v),
             "hvp_reused": lambda: operator.device_matvec(v_placed)}
    if server is not None and server.alive:  # alternate the rounds: theirs, ours, ...
      rounds = {"ours": [], "theirs": []}
      for i in range(plan.hessian_rounds):
        rounds["theirs"].append(server.request(cmd="times", warmup=i == 0))
        rounds["ours"].append(_time_calls(calls, jax.block_until_ready, 1, plan.hessian_reps,
                                          warmup=i == 0))
      out["times"], out["their_times"] = (
          {name: statistics.median(r[name] for r in rounds[side]) for name in calls}
          for side in ("ours", "theirs"))
    else:
      out["times"] = _time_calls(calls, jax.block_until_ready, plan.hessian_rounds,
                                 plan.hessian_reps)
    operator = calls = None  # frees its linearization
    if plan.cpu_hessian:
      out.update(accuracy_rows(plan, loss_fn, params, batch, server))
    else:
      out["eigen"] = lanczos_top(loss_fn, params, batch, plan.k, plan.tol)
  return out


def _relative_errors(values: list[float], reference: list[float]) -> list[float]:
  """``|lambda_i - ref_i| / |ref_i|``, both sorted descending, over the first ``len(values)``."""
  return [abs(a - b) / abs(b) for a, b in zip(values, reference, strict=False)]


def _floor_1digit(x: float) -> float:
  """``x`` rounded down to one significant digit (0.0274 -> 0.02)."""
  import math

  scale = 10.0 ** math.floor(math.log10(x))
  return math.floor(x / scale + 1e-9) * scale


def _with_errors(run: dict, reference: list[float]) -> dict:
  run["errors"] = _relative_errors(run["eigenvalues"], reference)
  run["max_error"] = max(run["errors"])
  return run


def _pooled(runs: list[dict]) -> dict:
  """Timed runs of one deterministic computation as one: the first's results, every wall."""
  walls = [w for run in runs for w in run["walls"]]
  return {**runs[0], "walls": walls, "wall": statistics.median(walls)}


def accuracy_rows(plan: Plan, loss_fn, params, batch, server: TorchServer | None) -> dict:
  """For each ``k`` of ``plan.ks``: PyHessian's top-``k`` (from ``server``, when alive),
  Lanczos at ``plan.tol`` and Lanczos at a tolerance matched to PyHessian's accuracy, each
  timed ``plan.solver_reps`` times, the runs alternating (PyHessian, Lanczos, Lanczos
  matched, PyHessian, ...); every eigenvalue's error against a reference Lanczos run at
  ``plan.ref_tol`` (``k = max(ks)``).

  The matched tolerance starts at PyHessian's max relative residual rounded down to one
  digit and is divided by 3 (rounded down) until, eigenvalue by eigenvalue (both sorted
  descending), Lanczos's residual *and* error are no worse than PyHessian's (at most 6
  tries, each one run, all returned; the runs are deterministic, so the timed runs at the
  chosen tolerance repeat its accuracy). Per eigenvalue, not max against max: PyHessian's
  deflated power iteration can return a wrong value (a negative one of larger magnitude,
  or an unconverged mixture at ``maxIter``) whose large error would excuse a loose Lanczos
  on all the others.
  """
  top = max(plan.ks)
  _say(f"lrsched reference: Lanczos top-{top}, tol {plan.ref_tol:g} ...")
  ref = lanczos_top(loss_fn, params, batch, top, plan.ref_tol, max_matvecs=max(300, 40 * top))
  _say(f"reference: {ref['hvps']} HVPs, max residual {ref['max_residual']:.1e}")
  torch_alive = server is not None and server.alive
  rows = []
  for k in plan.ks:
    reference = ref["eigenvalues"][:k]
    theirs = [server.request(cmd="eigen", k=k)] if torch_alive else []
    pyh = _with_errors(theirs[0], reference) if theirs else None
    row = {"k": k, "pyhessian": pyh, "tries": []}
    ours = [_with_errors(lanczos_top(loss_fn, params, batch, k, plan.tol), reference)]
    extra = [[_with_errors(lanczos_top(loss_fn, params, batch, k, tol), reference)]
             for tol in plan.extra_tols]
    _say(f"top-{k}: PyHessian {pyh}, Lanczos tol {plan.tol:g} {ours[0]}")
    matched = []
    if pyh is not None:
      tol = min(_floor_1digit(pyh["max_residual"]), 0.5)
      for _ in range(6):
        tol = max(tol, 1e-5)
        run = _with_errors(lanczos_top(loss_fn, params, batch, k, tol), reference)
        pairs = zip(run["residuals"] + run["errors"], pyh["residuals"] + pyh["errors"],
                    strict=True)
        run["matched"] = all(a <= b for a, b in pairs)
        row["tries"].append(run)
        _say(f"top-{k} Lanczos tol {tol:g}: {run}")
        if run["matched"]:
          matched.append(run)
          break
        if tol <= 1e-5:
          break
        tol = _floor_1digit(tol / 3)
    for _ in range(plan.solver_reps - 1):
      if torch_alive:
        theirs.append(server.request(cmd="eigen", k=k))
      ours.append(lanczos_top(loss_fn, params, batch, k, plan.tol))
      for runs, tol in zip(extra, plan.extra_tols, strict=True):
        runs.append(lanczos_top(loss_fn, params, batch, k, tol))
      if matched:
        matched.append(lanczos_top(loss_fn, params, batch, k, matched[0]["tol"]))
    if pyh is not None:
      row["pyhessian"] = _pooled([pyh, *theirs[1:]])
    row["lanczos"] = _pooled(ours)
    row["extra"] = [_pooled(runs) for runs in extra]
    if matched:
      row["tries"][-1] = _pooled(matched)
    rows.append(row)
  return {"reference": ref, "rows": rows}


def _time_limit(limit: float):
  """A callback that ends a run once its epochs after the first took ``limit`` seconds."""
  from lrsched.train import Callback

  class TimeLimit(Callback):
    spent = 0.0

    def after_epoch(self, run, record, state):
      if record["epoch"] > 1:
        self.spent += record["seconds"]
      run.stop = run.stop or self.spent > limit
      return state

  return TimeLimit()


def training_run(plan: Plan, data: pathlib.Path, ips: float | None) -> dict:
  """:func:`lrsched.train.train` for about ``plan.run_seconds`` on the CIFAR-10 subset."""
  import numpy as np

  from lrsched.train import Config, train

  if not data.is_file():
    return {"error": f"skipped: {data} not found"}
  with np.load(data) as arrays:
    available, tests = len(arrays["y_train"]), len(arrays["y_test"])
  n = min(plan.run_subset or available, available)
  epoch_images = n // plan.run_batch * plan.run_batch
  # Epochs that fit the budget at 80% of the measured step throughput (evaluation, input).
  epochs = max(2, int(plan.run_seconds * 0.8 * (ips or epoch_images) / epoch_images))
  fields = {f.name for f in dataclasses.fields(Config)}
  dtype = plan.run_dtype if "compute_dtype" in fields else "float32"
  depth, k = _depth_k(plan.run_model)
  config = Config(
      data={"name": str(data), **({} if plan.image_size == 32 else
                                  {"image_size": plan.image_size})},
      train_subset=plan.run_subset,
      model={"name": "wide_resnet", "depth": depth, "widen_factor": k},
      batch_size=plan.run_batch, epochs=epochs,
      learning_rate={"name": "one_cycle", "total_steps": epochs, "peak_value": 0.2,
                     "unit": "epochs"},
      checkpoint_every=0, keep_checkpoints=1, progress=False,
      **({"compute_dtype": dtype} if "compute_dtype" in fields else {}))
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as workdir:
    result = train(config, pathlib.Path(workdir) / "run",
                   callbacks=[_time_limit(1.5 * plan.run_seconds)])
  history = result.history
  later = history[1:]
  steps = sum(r["step"] - p["step"] for p, r in zip(history, later, strict=False))
  return {"ips": steps * plan.run_batch / sum(r["seconds"] for r in later),
          "accuracy": history[-1]["test_accuracy"], "epochs": len(history),
          "planned_epochs": epochs, "seconds": sum(r["seconds"] for r in later),
          "first_epoch_s": history[0]["seconds"], "total_s": time.perf_counter() - start,
          "train_images": n, "test_images": tests, "dtype": dtype}


# ------------------------------------------------------------------------------ the table


def _cell_ips(entry: dict | None) -> str:
  if entry is None:
    return "-"
  return f"{entry['ips']:.0f}" if "ips" in entry else entry.get("error", "-")


def _speedup(ours: float | None, theirs: float | None) -> str:
  return f"{ours / theirs:.2f}x" if ours and theirs else ""


def _versions(torch_out: dict, pyhessian: str | None) -> str:
  import flax
  import jax

  device = jax.devices()[0]
  parts = [f"jax {jax.__version__} ({jax.default_backend()})", f"flax {flax.__version__}"]
  if "torch" in torch_out:
    cudnn = f", cuDNN {torch_out['cudnn']}" if torch_out.get("cudnn") else ""
    parts.append(f"torch {torch_out['torch']}{cudnn}")
  else:
    parts.append(torch_out.get("missing", "no torch"))
  if pyhessian:
    parts.append(pyhessian)
  kind = (f"{jax.device_count()}x {device.device_kind}" if device.platform != "cpu"
          else f"CPU {platform.machine()}, {os.cpu_count()} cores")
  return f"{kind}; {', '.join(parts)}"


def build_table(plan: Plan, jax_train: dict, torch_out: dict, hess: dict, run: dict,
                command: str) -> str:
  """The markdown block: heading, command, one table, notes."""
  torch_train = torch_out.get("train", {})
  missing = torch_out.get("missing")
  t_hess = torch_out.get("hessian", {})
  t_eigen = next(iter(t_hess.get("eigens") or []), None)
  today = datetime.date.today().isoformat()
  title = "accelerator.py" + (" --smoke" if plan.smoke else "")
  label = " -- SMOKE RUN: tiny shapes on CPU, the numbers mean nothing" if plan.smoke else ""
  lines = [f"## {title} ({today}, {_versions(torch_out, t_eigen and t_eigen['label'])})"
           f"{label}", "",
           f"`{command}`", "",
           "| benchmark | model | setting | lrsched (JAX) | PyTorch | lrsched speedup |",
           "|---|---|---|---|---|---|"]
  for model in plan.models:
    for dtype in DTYPES:
      key = f"{model}/{dtype}"
      ours, theirs = jax_train.get(key), torch_train.get(key)
      theirs_cell = missing or _cell_ips(theirs)
      lines.append(f"| train step, images/s | WRN-{model} | batch {plan.batch}, "
                   f"{plan.image_size}x{plan.image_size}, {dtype} | {_cell_ips(ours)} | "
                   f"{theirs_cell} | "
                   f"{_speedup((ours or {}).get('ips'), (theirs or {}).get('ips'))} |")
  model = f"WRN-{plan.hessian_model}"
  setting = f"batch {plan.batch}, BatchNorm eval, float32"
  ours_t, theirs_t = hess.get("times"), t_hess.get("times")
  for name, what in (("hvp", "one-off HVP"),
                     ("hvp_reused", "further HVP on the batch (eigensolver matvec)")):
    ours = (f"{ours_t[name] / ours_t['gradient']:.2f} (HVP {1e3 * ours_t[name]:.1f} ms, "
            f"gradient {1e3 * ours_t['gradient']:.1f} ms)" if ours_t
            else hess.get("error", "-"))
    theirs = (f"{theirs_t[name] / theirs_t['gradient']:.2f} (HVP {1e3 * theirs_t[name]:.1f} "
              f"ms, gradient {1e3 * theirs_t['gradient']:.1f} ms)" if theirs_t
              else missing or t_hess.get("error", "-"))
    speed = _speedup(theirs_t and theirs_t[name], ours_t and ours_t[name])
    lines.append(f"| HVP time / gradient time | {model} | {setting}, {what} | {ours} | "
                 f"{theirs} | {speed} |")
  ours_e = hess.get("eigen")
  ours = (f"{ours_e['wall']:.2f} s: Lanczos, {ours_e['hvps']} HVPs, {ours_e['converged']}/"
          f"{plan.k} converged, max rel. residual {ours_e['max_residual']:.1e}" if ours_e
          else hess.get("error", "-"))
  theirs = (f"{t_eigen['wall']:.2f} s: {t_eigen['label']}, {t_eigen['hvps']} HVPs, max rel. "
            f"residual {t_eigen['max_residual']:.1e}" if t_eigen
            else missing or t_hess.get("error", "-"))
  speed = _speedup(t_eigen and t_eigen["wall"], ours_e and ours_e["wall"])
  lines.append(f"| top-{plan.k} eigenvalues, wall time | {model} | {setting}, tol "
               f"{plan.tol:g}, maxIter {plan.max_iter} | {ours} | {theirs} | {speed} |")
  run_model = f"WRN-{plan.run_model}"
  if "ips" in run:
    ours = (f"{run['ips']:.0f} images/s, test accuracy {100 * run['accuracy']:.1f}% "
            f"({run['epochs']} epochs in {run['seconds']:.0f} s + first epoch "
            f"{run['first_epoch_s']:.0f} s)")
    setting = (f"CIFAR-10 subset, {run['train_images']} train / {run['test_images']} test, batch "
               f"{plan.run_batch}, {run['dtype']}, {plan.run_seconds:g} s")
  else:
    ours, setting = run.get("error", "-"), f"CIFAR-10 subset, {plan.run_seconds:g} s"
  lines.append(f"| {plan.run_seconds:g}-second training run | {run_model} | {setting} | "
               f"{ours} | | |")
  lines += ["", *notes(plan, jax_train, hess, run,
                       t_eigen["eigenvalues"][0] if t_eigen else None)]
  return "\n".join(lines) + "\n"


def notes(plan: Plan, jax_train: dict, hess: dict, run: dict,
          their_top: float | None) -> list[str]:
  """The lines under the table: what the speedups mean, compile times, sanity checks."""
  out = ["Speedup: lrsched's images/s over PyTorch's, or PyTorch's time over lrsched's "
         "(> 1: lrsched faster). Train steps: median of "
         f"{plan.rounds} rounds x {plan.steps} steps after {plan.warmup} warm-up "
         f"step{'s' if plan.warmup > 1 else ''}."]
  compiles = [f"WRN-{k.replace('/', ' ')} {v['first_step_s']:.1f} s"
              for k, v in jax_train.items() if "first_step_s" in v]
  if compiles:
    out.append("lrsched's first train step (XLA compilation): " + ", ".join(compiles) + ".")
  if "eigen" in hess:
    gap = hess.get("logits_gap")
    agree = (f"; lrsched's logits on the batch match PyTorch's to {gap:.1e} (relative)"
             if gap is not None else "")
    theirs = (f", PyHessian's {their_top:.5g}" if their_top is not None else "")
    eigen = hess["eigen"]
    in_hvps = eigen["hvps"] * hess["times"]["hvp_reused"]
    out.append(f"Hessian rows: {hess['batch']}; {hess['weights']}{agree}; eigenvalue "
               f"wall time warm (the operator's compilation took {hess['compile_s']:.1f} s "
               f"before), of which about {in_hvps:.2f} s in the HVPs ({eigen['hvps']} x the "
               f"further-HVP time) and the rest in Lanczos's steps (reorthogonalization "
               f"against its basis of up to {eigen['hvps']} vectors, on the device); top "
               f"eigenvalue: "
               f"lrsched's {eigen['eigenvalues'][0]:.5g}{theirs}.")
  if "ips" in run:
    stopped = (f", stopped by the time limit at {run['epochs']} of {run['planned_epochs']}"
               if run["epochs"] < run["planned_epochs"] else "")
    out.append(f"Training run: 1cycle over {run['planned_epochs']} epochs{stopped}; "
               f"{run['total_s']:.0f} s wall in all (data, compilation, evaluation, curves).")
  return out


def _values(values: list[float]) -> str:
  return ", ".join(f"{v:.5g}" for v in values)


def build_hessian_cpu_table(plan: Plan, torch_out: dict, hess: dict, command: str,
                            loads: list[float]) -> str:
  """The ``--hessian-cpu`` block: per top-n, PyHessian vs Lanczos at ``plan.tol`` and at
  the tolerance matched to PyHessian's accuracy; then the per-HVP times and the notes."""
  t_hess = torch_out.get("hessian", {})
  missing = torch_out.get("missing") or t_hess.get("error")
  label = next((row["pyhessian"]["label"] for row in hess.get("rows", [])
                if row["pyhessian"]), None)
  today = datetime.date.today().isoformat()
  smoke = " --smoke" if plan.smoke else ""
  warning = " -- SMOKE RUN: tiny shapes, the numbers mean nothing" if plan.smoke else ""
  depth, k_width = _depth_k(plan.hessian_model)
  mode = "--hessian" if plan.accelerator else "--hessian-cpu"
  lines = [f"## accelerator.py {mode}{smoke} ({today}, "
           f"{_versions(torch_out, label)}){warning}", "",
           f"`{command}`", "",
           f"WRN-{depth}-{k_width} ({hess.get('params', '?'):,} parameters), batch {plan.batch} "
           f"of {plan.image_size}x{plan.image_size}, BatchNorm eval, float32 "
           f"{'(no TF32) on one GPU' if plan.accelerator else 'on CPU'}. "
           "Residual: max over the returned pairs of ||Hv - lambda v|| / |lambda| (each "
           "framework's own HVP, untimed); error: max |lambda_i - ref_i| / |ref_i| against "
           f"the reference (Lanczos, tol {plan.ref_tol:g}); wall: warm, from building the "
           "solver (PyHessian's gradient graph, lrsched's linearized gradient) to the values, "
           f"median of {plan.solver_reps} runs (fastest in parentheses); speedup: PyHessian's "
           "median wall / lrsched's.", "",
           "| top-n | method | stopping rule | wall (s) | HVPs | wall / HVP (ms) | "
           "max rel. residual | max rel. error | speedup |",
           "|---|---|---|---|---|---|---|---|---|"]
  if "rows" not in hess:
    lines.append(f"| {', '.join(map(str, plan.ks))} | lrsched | | {hess.get('error', '-')} "
                 "| | | | | |")
  decomposition = []
  for row in hess.get("rows", []):
    k, pyh = row["k"], row["pyhessian"]
    matched = next((r for r in row["tries"] if r["matched"]), None)

    def cells(run: dict) -> str:
      error = f"{run['max_error']:.1e}" if "max_error" in run else "-"
      fastest = f" ({min(run['walls']):.2f})" if len(run["walls"]) > 1 else ""
      return (f"{run['wall']:.2f}{fastest} | {run['hvps']} | "
              f"{1e3 * run['wall'] / run['hvps']:.0f} | {run['max_residual']:.1e} | {error}")

    if pyh is None:
      lines.append(f"| {k} | PyHessian | rel. change < {plan.tol:g}, maxIter {plan.max_iter} "
                   f"| {missing or '-'} | | | | | |")
    else:
      lines.append(f"| {k} | {pyh['label']} | rel. change < {plan.tol:g}, maxIter "
                   f"{plan.max_iter} | {cells(pyh)} | |")
    runs = [("lrsched Lanczos", row["lanczos"])]
    runs += [("lrsched Lanczos", run) for run in row["extra"]]
    if matched is not None:
      runs.append(("lrsched Lanczos, accuracy matched", matched))
    elif row["tries"]:
      runs.append(("lrsched Lanczos, NOT matched (loosest tried)", row["tries"][-1]))
    for name, run in runs:
      speed = _speedup(pyh and pyh["wall"], run["wall"])
      lines.append(f"| {k} | {name} | Ritz residual <= {run['tol']:g} | {cells(run)} | "
                   f"**{speed}** |" if speed else
                   f"| {k} | {name} | Ritz residual <= {run['tol']:g} | {cells(run)} | |")
      if pyh is not None:
        decomposition.append(
            f"top-{k} at tol {run['tol']:g}: {pyh['hvps'] / run['hvps']:.2f} x "
            f"{(pyh['wall'] / pyh['hvps']) / (run['wall'] / run['hvps']):.2f} = "
            f"{pyh['wall'] / run['wall']:.2f}x (fastest runs: "
            f"{min(pyh['walls']) / min(run['walls']):.2f}x)")
  lines.append("")
  ours_t, theirs_t = hess.get("times"), t_hess.get("times")
  if ours_t:
    hvps = (f"HVP alone (median of {plan.hessian_rounds} rounds x {plan.hessian_reps}, warm): "
            f"lrsched {1e3 * ours_t['hvp_reused']:.0f} ms per further HVP on the batch "
            f"(gradient linearized once; one-off jvp-of-grad HVP "
            f"{1e3 * ours_t['hvp']:.0f} ms, gradient {1e3 * ours_t['gradient']:.0f} ms)")
    if theirs_t:
      hvps += (f", PyTorch {1e3 * theirs_t['hvp_reused']:.0f} ms per HVP through the retained "
               f"gradient graph (one-off double backward {1e3 * theirs_t['hvp']:.0f} ms, "
               f"gradient {1e3 * theirs_t['gradient']:.0f} ms): lrsched's HVP takes "
               f"{ours_t['hvp_reused'] / theirs_t['hvp_reused']:.2f}x PyTorch's")
    lines.append(hvps + ".")
  if decomposition:
    lines.append("Speedup = HVP ratio x wall-per-HVP ratio (both PyHessian's / lrsched's): "
                 + "; ".join(decomposition) + ".")
  if "reference" in hess:
    ref = hess["reference"]
    gap = hess.get("logits_gap")
    agree = f" (logits match PyTorch's to {gap:.1e} relative)" if gap is not None else ""
    lines.append(f"Weights: {hess['weights']}{agree}; batch: {hess.get('batch')}. Reference: "
                 f"Lanczos top-{ref['k']} at tol {ref['tol']:g}, {ref['hvps']} HVPs, "
                 f"{ref['wall']:.1f} s, max rel. residual {ref['max_residual']:.1e}; "
                 f"eigenvalues {_values(ref['eigenvalues'])}. lrsched's compilation (before "
                 f"the warm runs): {hess['compile_s']:.1f} s.")
  for row in hess.get("rows", []):
    pyh, tries = row["pyhessian"], row["tries"]
    if pyh is not None:
      per = pyh.get("per_value")
      per = f"; HVPs per eigenvalue in the order found {per}" if per else ""
      lines.append(f"top-{row['k']}: PyHessian's eigenvalues {_values(pyh['eigenvalues'])} "
                   f"(errors {', '.join(f'{e:.1e}' for e in pyh['errors'])}; residuals "
                   f"{', '.join(f'{r:.1e}' for r in pyh['residuals'])}{per}); Lanczos "
                   "tolerances tried until no eigenvalue's residual or error is worse than "
                   "PyHessian's (start: its max residual rounded down): "
                   + ", ".join(f"{r['tol']:g} (max residual {r['max_residual']:.1e}, max "
                               f"error {r['max_error']:.1e}, "
                               f"{'matched' if r['matched'] else 'some worse'})"
                               for r in tries) + ".")
    timed = [row["lanczos"], *row["extra"], *(r for r in tries if r["matched"])]
    lines.append(f"top-{row['k']}: Lanczos's errors per eigenvalue: " + "; ".join(
        f"tol {r['tol']:g}: {', '.join(f'{e:.1e}' for e in r['errors'])}" for r in timed) + ".")
  threads = torch_out.get("threads")
  lines.append(f"Runs alternate between the frameworks (PyTorch in a child process that "
               f"waits while lrsched runs). Machine load (1-minute load average) at the start, "
               f"after PyTorch's fit, at the end: "
               f"{', '.join(f'{x:.1f}' for x in loads)}"
               + (f"; PyTorch on {threads} thread(s)" if threads else "") + ".")
  return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--smoke", action="store_true",
                      help="tiny shapes on CPU in seconds: checks the script (CI)")
  parser.add_argument("--hessian-cpu", action="store_true",
                      help="only the top-n eigenvalue comparison with PyHessian, both on CPU")
  parser.add_argument("--hessian", action="store_true",
                      help="the --hessian-cpu comparison on one GPU, WRN-16-4, top-1, 5 and 10")
  parser.add_argument("--ks", default=None,
                      help="--hessian(-cpu): the top-n to compare, comma-separated (default "
                           "1,5 on CPU, 1,5,10 on a GPU)")
  parser.add_argument("--batch", type=int, default=None,
                      help="--hessian(-cpu): the batch size (default 128)")
  parser.add_argument("--reps", type=int, default=None,
                      help="--hessian(-cpu): timed runs of each eigensolver call (default 3)")
  parser.add_argument("--tols", default=None,
                      help="--hessian(-cpu): further Lanczos tolerances to time, comma-separated")
  parser.add_argument("--out", type=pathlib.Path, default=None,
                      help="also append the table to this file (e.g. benchmarks/RESULTS.md)")
  parser.add_argument("--torch-python", default=sys.executable,
                      help="the Python interpreter that has torch (default: this one)")
  parser.add_argument("--data", type=pathlib.Path, default=DATA,
                      help="the CIFAR-10 subset .npz of the training run")
  args = parser.parse_args(argv)
  if args.hessian and (args.hessian_cpu or args.smoke):
    parser.error("--hessian runs on a GPU, alone; its check on CPU is --hessian-cpu --smoke")
  if (args.ks or args.batch or args.reps or args.tols) and not (args.hessian_cpu or
                                                                args.hessian):
    parser.error("--ks, --batch, --reps and --tols go with --hessian or --hessian-cpu")
  if args.hessian_cpu or args.hessian:
    plan = HESSIAN_GPU if args.hessian else HESSIAN_CPU_SMOKE if args.smoke else HESSIAN_CPU
    if args.ks:
      plan = dataclasses.replace(plan, ks=tuple(int(k) for k in args.ks.split(",")))
    if args.batch:
      plan = dataclasses.replace(plan, batch=args.batch)
    if args.reps:
      plan = dataclasses.replace(plan, solver_reps=args.reps)
    if args.tols:
      plan = dataclasses.replace(plan, extra_tols=tuple(float(t) for t in args.tols.split(",")))
  else:
    plan = SMOKE if args.smoke else FULL
  on_cpu = plan.smoke or (plan.cpu_hessian and not plan.accelerator)
  if on_cpu:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
  if plan.smoke:  # XLA's quick compiles: the steps run slower, the smoke sooner
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_backend_optimization_level=0").strip()
  else:  # one chip against one chip (lrsched would shard over every GPU)
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")
  command = "python benchmarks/accelerator.py" + (
      " --hessian" if plan.accelerator else " --hessian-cpu" if plan.cpu_hessian else "")
  command += (" --smoke" if plan.smoke else "") + (f" --ks {args.ks}" if args.ks else "")
  for flag, value in (("--batch", args.batch), ("--reps", args.reps), ("--tols", args.tols)):
    command += f" {flag} {value}" if value else ""
  loads = [os.getloadavg()[0]]
  with tempfile.TemporaryDirectory() as tmp:
    workdir = pathlib.Path(tmp)
    import numpy as np

    batch = hessian_batch(plan, args.data)
    np.savez(workdir / "batch.npz", x=batch["x"], y=batch["y"])
    _say(f"PyTorch ({args.torch_python}) ...")
    server = None
    if plan.cpu_hessian:  # the child stays, its runs alternate with lrsched's
      server = TorchServer(plan, workdir, args.torch_python)
      torch_out = server.first
    else:
      torch_out = run_torch(plan, workdir, args.torch_python)
    _say(f"PyTorch: {torch_out.get('missing') or torch_out.get('hessian') or 'done'}")
    loads.append(os.getloadavg()[0])
    import jax

    if not on_cpu and jax.default_backend() == "cpu":
      if server is not None:
        server.close()
      print("accelerator.py: JAX sees no GPU or TPU; run the full benchmark (or --hessian) on "
            "an accelerator machine, or `--smoke` (`--hessian-cpu`) on CPU", file=sys.stderr)
      return 2
    jax_train = jax_train_steps(plan)
    try:
      hess = jax_hessian(plan, workdir, server)
    except Exception as error:
      hess = {"error": _error(error)}
    finally:
      if server is not None:
        server.close()
    if "their_times" in hess:
      torch_out["hessian"]["times"] = hess.pop("their_times")
    hess["batch"] = batch["source"]
    _say(f"lrsched Hessian: {hess.get('eigen') or hess.get('error') or 'done'}")
  if plan.cpu_hessian:
    loads.append(os.getloadavg()[0])
    table = build_hessian_cpu_table(plan, torch_out, hess, command, loads)
  else:
    ips = jax_train.get(f"{plan.run_model}/{plan.run_dtype}", {}).get("ips")
    _say(f"lrsched training run (~{plan.run_seconds:g} s of epochs) ...")
    try:
      run = training_run(plan, args.data, ips)
    except Exception as error:
      run = {"error": _error(error)}
    _say(f"training run: {run}")
    table = build_table(plan, jax_train, torch_out, hess, run, command)
  print(table, end="")
  if args.out is not None:
    with args.out.open("a") as f:
      f.write("\n" + table)
  return 0


if __name__ == "__main__":
  sys.exit(main())
