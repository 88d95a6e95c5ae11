"""The PyTorch side of ``accelerator.py``, run in a child process by the interpreter that has
torch (``--torch-python``): PyTorch's train steps, its HVPs, and PyHessian's eigenvalues on the
same batch, whose fitted weights lrsched's side then copies.

    python benchmarks/accelerator_torch.py WORKDIR [--serve]   # started by accelerator.py

``WORKDIR`` holds ``plan.json`` (the :class:`~accelerator_plan.Plan`) and ``batch.npz``; the
child writes ``weights.npz`` and ``logits.npy`` there and prints one JSON line (with
``--serve``, then answers requests: :func:`torch_serve`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmarks

from accelerator_plan import (  # noqa: E402
    DTYPES,
    Plan,
    _depth_k,
    _error,
    _time_calls,
    time_steps,
)
from train_step import make_torch_step, torch_wrn  # noqa: E402

# ---------------------------------------------------------------------------- PyTorch side


class PyHessianAlgorithm:
  """PyHessian 0.1's ``hessian`` class for one batch, restricted to ``eigenvalues``.

  A line-for-line re-implementation (used when the ``pyhessian`` package is not
  importable): eval mode, the gradient graph built once with ``create_graph=True`` and
  reused, deflated power iteration from ``torch.randn`` start vectors, normalization by
  ``sqrt(v.v) + 1e-6``, and the stop rule ``|lambda - lambda_prev| / (|lambda_prev| +
  1e-6) < tol`` that keeps the previous estimate.
  """

  def __init__(self, model, criterion, data, device: str):
    import torch

    self.torch, self.device = torch, device
    self.model = model.eval()
    inputs, targets = data
    loss = criterion(self.model(inputs), targets)
    loss.backward(create_graph=True)
    self.params = [p for p in self.model.parameters() if p.requires_grad]
    self.gradsH = [0.0 if p.grad is None else p.grad + 0.0 for p in self.params]

  def _product(self, xs, ys):
    return sum(self.torch.sum(x * y) for x, y in zip(xs, ys, strict=True))

  def _normalization(self, v):
    s = float(self._product(v, v) ** 0.5)
    return [vi / (s + 1e-6) for vi in v]

  def _orthnormal(self, w, vectors):
    for v in vectors:
      alpha = self._product(w, v)
      w = [wi - alpha * vi for wi, vi in zip(w, v, strict=True)]
    return self._normalization(w)

  def hvp(self, v):
    return self.torch.autograd.grad(self.gradsH, self.params, grad_outputs=v,
                                    only_inputs=True, retain_graph=True)

  def eigenvalues(self, maxIter: int = 100, tol: float = 1e-3, top_n: int = 1):  # noqa: N803
    eigenvalues, eigenvectors = [], []
    while len(eigenvalues) < top_n:
      eigenvalue = None
      v = self._normalization([self.torch.randn(p.size()).to(self.device)
                               for p in self.params])
      for _ in range(maxIter):
        v = self._orthnormal(v, eigenvectors)
        self.model.zero_grad()
        hv = self.hvp(v)
        current = float(self._product(hv, v))
        v = self._normalization(hv)
        if eigenvalue is None:
          eigenvalue = current
        elif abs(eigenvalue - current) / (abs(eigenvalue) + 1e-6) < tol:
          break
        else:
          eigenvalue = current
      eigenvalues.append(eigenvalue)
      eigenvectors.append(v)
    return eigenvalues, eigenvectors


def _pyhessian(model, criterion, data, device: str):
  """PyHessian's ``hessian`` object, its HVP function, a counter, and its label.

  The counter holds ``hvps`` and ``per_value``, the HVPs spent on each eigenvalue (the
  deflation step before every HVP says which one: the number of vectors found so far).
  """
  counter = {"hvps": 0, "per_value": []}

  def count():
    counter["hvps"] += 1
    counter["per_value"][-1] += 1

  def deflating(orthnormal):
    def wrapped(w, vectors):
      if len(counter["per_value"]) <= len(vectors):
        counter["per_value"].append(0)
      return orthnormal(w, vectors)
    return wrapped

  try:
    import pyhessian
    from pyhessian.utils import hessian_vector_product, orthnormal
  except ImportError:
    solver = PyHessianAlgorithm(model, criterion, data, device)
    hvp = solver.hvp

    def counted(v):
      count()
      return hvp(v)

    solver.hvp, solver._orthnormal = counted, deflating(solver._orthnormal)
    return solver, hvp, counter, "PyHessian's algorithm (re-implemented here)"
  module = sys.modules["pyhessian.hessian"]

  def counting(grads, params, v):
    count()
    return hessian_vector_product(grads, params, v)

  module.hessian_vector_product = counting
  module.orthnormal = deflating(orthnormal)
  solver = pyhessian.hessian(model, criterion, data=data, cuda=device == "cuda")
  version = getattr(pyhessian, "__version__", None)
  if version is None:
    from importlib.metadata import version as dist_version
    version = dist_version("pyhessian")
  return (solver, lambda v: hessian_vector_product(solver.gradsH, solver.params, v), counter,
          f"PyHessian {version}")


def torch_problem(plan: Plan, device: str, workdir: pathlib.Path):
  """PyTorch's WRN fitted on the batch by ``plan.fit_steps`` SGD steps, its weights and
  logits saved for lrsched; returns ``(model, criterion, x, y, losses)``."""
  import numpy as np
  import torch

  torch.backends.cudnn.allow_tf32 = False
  torch.backends.cuda.matmul.allow_tf32 = False
  with np.load(workdir / "batch.npz") as arrays:
    x = torch.from_numpy(arrays["x"]).to(device).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(arrays["y"]).to(device)
  torch.manual_seed(0)
  model = torch_wrn(*_depth_k(plan.hessian_model)).to(device)
  model = model.to(memory_format=torch.channels_last).train()
  criterion = torch.nn.CrossEntropyLoss()
  opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
  losses = []
  for _ in range(plan.fit_steps):
    opt.zero_grad(set_to_none=True)
    loss = criterion(model(x), y)
    loss.backward()
    opt.step()
    losses.append(float(loss.detach()))
  model.eval().zero_grad(set_to_none=True)
  np.savez(workdir / "weights.npz", **{k: v.detach().cpu().contiguous().numpy()
                                       for k, v in model.state_dict().items()})
  with torch.no_grad():
    np.save(workdir / "logits.npy", model(x).cpu().numpy())
  return model, criterion, x, y, losses


def torch_hvp_calls(model, criterion, x, y, device: str) -> dict[str, Callable[[], Any]]:
  """The timed PyTorch calls: a gradient, a one-off HVP (double backward) and a further
  HVP through a retained gradient graph (what PyHessian repeats)."""
  import torch

  params = [p for p in model.parameters() if p.requires_grad]
  gen = torch.Generator().manual_seed(1)
  v = [torch.randn(p.shape, generator=gen).to(device) for p in params]
  graph = torch.autograd.grad(criterion(model(x), y), params, create_graph=True)

  def gradient():
    return torch.autograd.grad(criterion(model(x), y), params)

  def hvp():
    grads = torch.autograd.grad(criterion(model(x), y), params, create_graph=True)
    return torch.autograd.grad(grads, params, grad_outputs=v)

  def hvp_reused():
    return torch.autograd.grad(graph, params, grad_outputs=v, retain_graph=True)

  return {"gradient": gradient, "hvp": hvp, "hvp_reused": hvp_reused}


def torch_hessian(plan: Plan, device: str, workdir: pathlib.Path, sync) -> dict:
  """Fits PyTorch's WRN on the batch, saves its weights, times gradient/HVP and PyHessian."""
  model, criterion, x, y, losses = torch_problem(plan, device, workdir)
  times = _time_calls(torch_hvp_calls(model, criterion, x, y, device), lambda _: sync(),
                      plan.hessian_rounds, plan.hessian_reps)  # the graph freed after
  model.zero_grad(set_to_none=True)
  eigens = [pyhessian_top(model, criterion, (x, y), device, k, plan, sync)
            for k in plan.top_ns]
  return {"times": times, "fit_losses": [losses[0], losses[-1]] if losses else [],
          "eigens": eigens}


def torch_serve(plan: Plan, device: str, workdir: pathlib.Path, sync, out: dict) -> None:
  """``--hessian-cpu``: sets the problem up, prints ``out`` (one JSON line), then answers
  the parent's requests, one JSON line each, until stdin closes: ``{"cmd": "times",
  "warmup": bool}`` (one round of the HVP timings) and ``{"cmd": "eigen", "k": k}`` (one
  timed PyHessian run). So the parent can alternate PyTorch's and lrsched's runs."""
  try:
    model, criterion, x, y, losses = torch_problem(plan, device, workdir)
    calls = torch_hvp_calls(model, criterion, x, y, device)
    out["hessian"] = {"fit_losses": [losses[0], losses[-1]] if losses else []}
  except Exception as error:
    out["hessian"] = {"error": _error(error)}
  print(json.dumps(out), flush=True)
  if "error" in out["hessian"]:
    return
  single = dataclasses.replace(plan, solver_reps=1)
  for line in sys.stdin:
    request = json.loads(line)
    if request["cmd"] == "times":
      answer = _time_calls(calls, lambda _: sync(), 1, plan.hessian_reps, request["warmup"])
    else:
      model.zero_grad(set_to_none=True)
      answer = pyhessian_top(model, criterion, (x, y), device, request["k"], single, sync)
    print(json.dumps(answer), flush=True)


def pyhessian_top(model, criterion, data, device: str, k: int, plan: Plan, sync) -> dict:
  """PyHessian's top-``k`` (``tol``/``maxIter`` of ``plan``), timed from its ``hessian``
  object's construction (the graph of the gradient) to the values, ``plan.solver_reps``
  times from the same seed (``wall``: the median, ``walls``: all); then, untimed, the
  relative residual ``||Hv - lambda v|| / (|lambda| ||v||)`` of each returned pair."""
  import torch

  walls = []
  for _ in range(plan.solver_reps):
    solver = None  # frees the previous run's gradient graph
    model.zero_grad(set_to_none=True)
    torch.manual_seed(0)
    sync()
    start = time.perf_counter()
    solver, plain_hvp, counter, label = _pyhessian(model, criterion, data, device)
    values, vectors = solver.eigenvalues(maxIter=plan.max_iter, tol=plan.tol, top_n=k)
    sync()
    walls.append(time.perf_counter() - start)
  residuals = []
  for value, vector in zip(values, vectors, strict=True):  # outside the timed part
    hv = plain_hvp(vector)
    norm = float(sum(torch.sum(a * a) for a in vector)) ** 0.5
    diff = float(sum(torch.sum((h - value * a) ** 2) for h, a in zip(hv, vector, strict=True)))
    residuals.append(diff ** 0.5 / (abs(value) * norm))
  solver = None  # frees its gradient graph
  model.zero_grad(set_to_none=True)
  order = sorted(range(len(values)), key=lambda i: -values[i])
  return {"k": k, "label": label, "wall": statistics.median(walls), "walls": walls,
          "hvps": counter["hvps"], "per_value": counter["per_value"],
          "eigenvalues": [values[i] for i in order],
          "residuals": [residuals[i] for i in order], "max_residual": max(residuals)}


def torch_child(workdir: pathlib.Path, serve: bool = False) -> dict | None:
  """Everything PyTorch measures (run in a child process); returns a JSON-ready dict
  (with ``serve``, prints it and answers requests instead: :func:`torch_serve`)."""
  plan = Plan(**{k: tuple(v) if isinstance(v, list) else v
                 for k, v in json.loads((workdir / "plan.json").read_text()).items()})
  try:
    import torch
  except ImportError:
    return {"missing": "torch not installed"}
  import warnings

  # PyHessian's loss.backward(create_graph=True) warns of a reference cycle; it is its method.
  warnings.filterwarnings("ignore", message="Using backward.. with create_graph=True")
  if torch.cuda.is_available() and (plan.accelerator or not plan.cpu_hessian):
    device = "cuda"
  elif plan.smoke or (plan.cpu_hessian and not plan.accelerator):
    device = "cpu"
    if plan.smoke:  # small ops on shared cores: more threads only spin and wait
      torch.set_num_threads(1)
  else:
    return {"missing": "no CUDA GPU for PyTorch"}
  torch.backends.cudnn.benchmark = True

  def sync():
    if device == "cuda":
      torch.cuda.synchronize()

  out = {"torch": torch.__version__, "device": (torch.cuda.get_device_name()
                                                if device == "cuda" else "cpu"),
         "cudnn": torch.backends.cudnn.version() if device == "cuda" else None, "train": {},
         "threads": torch.get_num_threads()}
  if serve:
    torch_serve(plan, device, workdir, sync, out)
    return None
  for model in plan.models:
    for dtype in DTYPES:
      try:
        step, step_sync, count = make_torch_step(
            *_depth_k(model), batch=plan.batch, image_size=plan.image_size, device=device,
            channels_last=True, autocast_dtype=torch.bfloat16 if dtype == "bfloat16" else None)
        out["train"][f"{model}/{dtype}"] = {**time_steps(step, step_sync, plan),
                                            "params": count}
      except Exception as error:  # a failed cell, not a failed table
        out["train"][f"{model}/{dtype}"] = {"error": _error(error)}
      step = None
      if device == "cuda":
        torch.cuda.empty_cache()
  try:
    out["hessian"] = torch_hessian(plan, device, workdir, sync)
  except Exception as error:
    out["hessian"] = {"error": _error(error)}
  return out


class TorchServer:
  """``--hessian-cpu``: the torch child kept running (:func:`torch_serve`), so that the
  parent alternates PyTorch's timed runs with lrsched's and both see the same machine
  (other jobs on shared cores would otherwise slow whichever framework ran during them).

  ``first``: the child's first answer (versions, the fit), or ``{"missing": why}``.
  """

  def __init__(self, plan: Plan, workdir: pathlib.Path, python: str):
    (workdir / "plan.json").write_text(json.dumps(dataclasses.asdict(plan)))
    self.stderr = workdir / "torch_stderr.txt"
    self.proc = None
    try:
      with self.stderr.open("w") as err:
        self.proc = subprocess.Popen(
            [python, str(HERE / "accelerator_torch.py"), str(workdir), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
      self.first = self._answer()
    except (OSError, RuntimeError) as error:
      self.first = {"missing": f"PyTorch child failed: {_error(error)}"}
    if "missing" in self.first or "error" in self.first.get("hessian", {}):
      self.close()

  def _answer(self) -> dict:
    line = self.proc.stdout.readline()
    if not line:
      tail = (self.stderr.read_text().strip().splitlines() or ["no output"])[-1]
      raise RuntimeError(f"no answer; its last words: {tail[:150]}")
    return json.loads(line)

  @property
  def alive(self) -> bool:
    return self.proc is not None and self.proc.poll() is None

  def request(self, **request) -> dict:
    """One request (see :func:`torch_serve`); its answer."""
    self.proc.stdin.write(json.dumps(request) + "\n")
    self.proc.stdin.flush()
    return self._answer()

  def close(self) -> None:
    if self.proc is not None:
      if self.proc.stdin:
        self.proc.stdin.close()
      try:
        self.proc.wait(timeout=60)
      except subprocess.TimeoutExpired:
        self.proc.kill()
        self.proc.wait()


def run_torch(plan: Plan, workdir: pathlib.Path, python: str) -> dict:
  """Runs :func:`torch_child` in ``python`` and returns its dict (or why there is none)."""
  (workdir / "plan.json").write_text(json.dumps(dataclasses.asdict(plan)))
  try:
    out = subprocess.run([python, str(HERE / "accelerator_torch.py"), str(workdir)],
                         capture_output=True, text=True,
                         timeout=120 if plan.smoke else 1800 if plan.cpu_hessian else 400)
  except (OSError, subprocess.TimeoutExpired) as error:
    return {"missing": f"PyTorch child failed: {_error(error)}"}
  lines = out.stdout.strip().splitlines()
  if out.returncode or not lines:
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return {"missing": f"PyTorch child failed: {tail[:150]}"}
  return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("workdir", type=pathlib.Path)
  parser.add_argument("--serve", action="store_true")
  args = parser.parse_args(argv)
  out = torch_child(args.workdir, serve=args.serve)
  if out is not None:
    print(json.dumps(out))
  return 0


if __name__ == "__main__":
  sys.exit(main())
