"""What one run of ``accelerator.py`` measures (:class:`Plan` and its presets) and the helpers
both of its sides share: progress lines, timing, the Hessian rows' batch.

The PyTorch side (``accelerator_torch.py``, run in a child process with the interpreter that
has torch) and the JAX side (``accelerator.py``) read the same :class:`Plan`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmarks

from train_step import _time  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data" / "cifar10_subset.npz"
DTYPES = ("float32", "bfloat16")




@dataclasses.dataclass(frozen=True)
class Plan:
  """What one call measures; :data:`FULL` on an accelerator, :data:`SMOKE` on CPU."""

  smoke: bool
  models: tuple[str, ...]  # "depth-k" of the train-step rows
  batch: int
  image_size: int
  warmup: int  # steps before timing (the first compiles)
  rounds: int
  steps: int  # per round
  hessian_model: str
  fit_steps: int  # SGD steps on the batch before the Hessian rows
  hessian_rounds: int
  hessian_reps: int
  k: int
  tol: float
  max_iter: int  # PyHessian's maxIter
  run_model: str
  run_batch: int
  run_seconds: float
  run_subset: int  # training images of the run (0: all)
  run_dtype: str
  ks: tuple[int, ...] = ()  # --hessian-cpu: the top-n of each comparison (else (k,))
  ref_tol: float = 0.0  # --hessian-cpu: the reference Lanczos run's tolerance
  cpu_hessian: bool = False  # --hessian-cpu: only the Hessian rows, both sides on CPU
  solver_reps: int = 1  # timed runs of each eigensolver call (the median is reported)
  extra_tols: tuple[float, ...] = ()  # --hessian-cpu: further Lanczos rows at these tols
  accelerator: bool = False  # --hessian: the Hessian rows of --hessian-cpu on the GPU

  @property
  def top_ns(self) -> tuple[int, ...]:
    """The top-n of the eigenvalue comparisons: ``ks``, else ``(k,)``."""
    return self.ks or (self.k,)


FULL = Plan(smoke=False, models=("16-4", "28-10"), batch=128, image_size=32, warmup=3,
            rounds=5, steps=10, hessian_model="16-4", fit_steps=20, hessian_rounds=5,
            hessian_reps=3, k=10, tol=1e-3, max_iter=100, run_model="16-4", run_batch=128,
            run_seconds=60.0, run_subset=0, run_dtype="bfloat16")
SMOKE = Plan(smoke=True, models=("10-1",), batch=8, image_size=16, warmup=1, rounds=2,
             steps=2, hessian_model="10-1", fit_steps=3, hessian_rounds=1, hessian_reps=1,
             k=10, tol=1e-3, max_iter=20, run_model="10-1", run_batch=32, run_seconds=2.0,
             run_subset=256, run_dtype="bfloat16")
HESSIAN_CPU = Plan(smoke=False, models=(), batch=128, image_size=32, warmup=0, rounds=0,
                   steps=0, hessian_model="16-1", fit_steps=20, hessian_rounds=5,
                   hessian_reps=2, k=5, tol=1e-3, max_iter=100, run_model="16-1", run_batch=0,
                   run_seconds=0.0, run_subset=0, run_dtype="float32", ks=(1, 5), ref_tol=1e-5,
                   cpu_hessian=True, solver_reps=3)
# --hessian: the same comparison on one GPU, both frameworks there (full float32: no TF32),
# on the full benchmark's WRN-16-4 and for top-1, 5 and 10.
HESSIAN_GPU = dataclasses.replace(HESSIAN_CPU, hessian_model="16-4", ks=(1, 5, 10),
                                  accelerator=True)
# --hessian-cpu --smoke: the same rows on SMOKE's tiny shapes (checks the mode, CI).
HESSIAN_CPU_SMOKE = dataclasses.replace(
    HESSIAN_CPU, smoke=True, batch=SMOKE.batch, image_size=SMOKE.image_size,
    hessian_model=SMOKE.hessian_model, fit_steps=SMOKE.fit_steps, hessian_rounds=1,
    hessian_reps=1, max_iter=SMOKE.max_iter, ks=(1, 2), solver_reps=1)


def _depth_k(model: str) -> tuple[int, int]:
  depth, k = model.split("-")
  return int(depth), int(k)


_STARTED = time.perf_counter()


def _say(message: str) -> None:
  """Progress on stderr, with the seconds since the start."""
  print(f"[accelerator {time.perf_counter() - _STARTED:5.1f} s] {message}", file=sys.stderr,
        flush=True)


def _error(error: BaseException) -> str:
  text = f"{type(error).__name__}: {error}".splitlines()[0]
  return text[:150]


def time_steps(step: Callable[[], Any], sync: Callable[[], None], plan: Plan) -> dict:
  """Images/s (median of ``plan.rounds`` rounds) after ``plan.warmup`` warm-up steps, and
  the seconds of the first step (the compilation, for JAX)."""
  start = time.perf_counter()
  step()
  sync()
  first = time.perf_counter() - start
  for _ in range(plan.warmup - 1):
    step()
  sync()
  times = [_time(step, plan.steps, sync) for _ in range(plan.rounds)]
  return {"ips": plan.batch / statistics.median(times), "first_step_s": first}


def hessian_batch(plan: Plan, data: pathlib.Path) -> dict:
  """The Hessian rows' batch (NCHW float32): the first CIFAR-10 subset images, or noise."""
  import numpy as np

  n, size = plan.batch, plan.image_size
  if data.is_file():
    with np.load(data) as arrays:
      x = arrays["x_train"][:n].astype(np.float32) / 255.0
      y = arrays["y_train"][:n].astype(np.int64)
    x = (x - x.mean((0, 1, 2))) / x.std((0, 1, 2))
    f = x.shape[1] // size
    x = x.reshape(n, size, f, size, f, 3).mean((2, 4))
    source = "the first CIFAR-10 subset images"
  else:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    source = "random images (no CIFAR-10 subset)"
  return {"x": np.ascontiguousarray(x.transpose(0, 3, 1, 2)), "y": y, "source": source}


def _time_calls(fns: dict[str, Callable[[], Any]], sync: Callable[[Any], Any], rounds: int,
                reps: int, warmup: bool = True) -> dict[str, float]:
  """Median seconds per call of each function: two warm-up calls (unless ``warmup`` is
  False), then ``rounds`` rounds of ``reps`` calls each, the functions interleaved;
  ``sync(result)`` waits for the device."""
  for fn in fns.values():
    for _ in range(2 if warmup else 0):
      sync(fn())
  times = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      start = time.perf_counter()
      for _ in range(reps):
        out = fn()
      sync(out)
      times[name].append((time.perf_counter() - start) / reps)
  return {name: statistics.median(values) for name, values in times.items()}
