"""Writes tests/data/reference_tables.npz: timm's and Hugging Face's schedule values.

(timm's learning-rate noise too: ``noise_range_t``, ``noise_type``, ``noise_pct``,
``noise_std``, ``noise_seed`` on a ``CosineLRScheduler``, against ``timm_noise``.)

Run once, by hand, with PyTorch, timm and transformers installed (CI needs none
of them)::

    python -m venv /tmp/refenv && /tmp/refenv/bin/pip install torch==2.13.0 \\
        torchvision==0.28.0 timm==1.0.31 transformers==5.24.0 numpy
    /tmp/refenv/bin/python tools/make_reference_tables.py

Each case pairs an lrsched spec with the reference scheduler built from the same
numbers, stepped per update:

* timm's ``CosineLRScheduler`` and ``TanhLRScheduler`` (``t_in_epochs=False``): the value
  at index ``t`` is the learning rate after ``scheduler.step_update(num_updates=t)``;
  lrsched's ``cycle_limit=None`` is timm's ``cycle_limit=2**31``;
* Hugging Face's ``get_wsd_schedule`` and ``get_inverse_sqrt_schedule`` (a
  ``LambdaLR``): the value at index ``t`` is ``get_last_lr()`` after ``t`` calls
  of ``scheduler.step()``, with the optimizer's learning rate as ``peak_value``.

The npz holds, per case id, ``ID/spec`` (JSON: ``{"lr": spec}``), ``ID/lr``
(float64), ``ID/source`` (the reference call) and ``ID/misplaced``: the counts
where timm's cycle index ``floor(log(1 - t / T_0 (1 - m), m))`` differs from the
exact one (computed here with fractions), e.g. ``t = 242`` for ``T_0 = 2, m = 3``:
timm ends the previous cycle there, lrsched (and PyTorch) restart.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import pathlib
import sys
import warnings
from fractions import Fraction

import numpy as np
import torch
import transformers
from transformers import get_inverse_sqrt_schedule, get_wsd_schedule

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "reference_tables.npz"
NO_LIMIT = 2**31


def _timm_schedulers() -> tuple[type, type]:
  """timm's ``CosineLRScheduler`` and ``TanhLRScheduler``, loaded from the installed timm's
  own files.

  ``import timm`` imports torchvision, which fails where only a CPU build of torch
  and PyPI's torchvision are installed; the scheduler needs torch alone.
  """
  folder = pathlib.Path(importlib.util.find_spec("timm").submodule_search_locations[0])
  package = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(
      "timm_scheduler", None, is_package=True))
  package.__path__ = [str(folder / "scheduler")]
  sys.modules["timm_scheduler"] = package
  for name in ("scheduler", "cosine_lr", "tanh_lr"):
    spec = importlib.util.spec_from_file_location(f"timm_scheduler.{name}",
                                                  folder / "scheduler" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
  return (sys.modules["timm_scheduler.cosine_lr"].CosineLRScheduler,
          sys.modules["timm_scheduler.tanh_lr"].TanhLRScheduler)


CosineLRScheduler, TanhLRScheduler = _timm_schedulers()


def _optimizer(lr: float) -> torch.optim.Optimizer:
  return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def _exact_cycle(t: int, first: int, mult: float) -> int:
  start, length, cycle = Fraction(0), Fraction(first), 0
  while start + length <= t:
    start, length, cycle = start + length, length * Fraction(mult), cycle + 1
  return cycle


def _timm_cycle(t: int, first: int, mult: float) -> int:
  if mult == 1:
    return t // first
  return math.floor(math.log(1 - t / first * (1 - mult), mult))


def _timm_case(scheduler_cls, spec, kwargs, peak, steps):
  """Steps a timm scheduler per update; wraps ``spec`` in lrsched's warmup like timm's."""
  warmup_steps, prefix = kwargs["warmup_t"], kwargs["warmup_prefix"]
  first, mult = kwargs["t_initial"], kwargs["cycle_mul"]
  if warmup_steps:
    spec = {"name": "warmup", "schedule": spec, "warmup_steps": warmup_steps,
            "init_value": kwargs["warmup_lr_init"], "prefix": prefix}
  opt = _optimizer(peak)
  scheduler = scheduler_cls(opt, **kwargs)
  values = []
  for t in range(steps):
    scheduler.step_update(num_updates=t)
    values.append(opt.param_groups[0]["lr"])
  shift = warmup_steps if prefix else 0
  misplaced = [t for t in range(warmup_steps, steps)
               if _timm_cycle(t - shift, first, mult) != _exact_cycle(t - shift, first, mult)]
  source = (f"timm {scheduler_cls.__name__}("
            + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")
  return spec, values, source, misplaced


def timm_cosine(peak, first, steps, mult=1.0, end=0.0, decay=1.0, limit=None, k=1.0,
                warmup_steps=0, warmup_init=0.0, prefix=False):
  spec = {"name": "sgdr", "peak_value": peak, "first_period": first, "period_mult": mult,
          "end_value": end, "cycle_decay": decay, "cycle_limit": limit, "k_decay": k}
  kwargs = dict(t_initial=first, lr_min=end, cycle_mul=mult, cycle_decay=decay,
                cycle_limit=NO_LIMIT if limit is None else limit, k_decay=k,
                warmup_t=warmup_steps, warmup_lr_init=warmup_init, warmup_prefix=prefix,
                t_in_epochs=False)
  return _timm_case(CosineLRScheduler, spec, kwargs, peak, steps)


def timm_cosine_noise(peak, first, steps, noise_range, noise_type, pct, std, seed,
                      end=0.0):
  """timm's CosineLRScheduler with its learning-rate noise (per update); its constructor
  takes no ``noise_type`` (the base Scheduler's attribute, 'normal' by default), so the
  attribute is set after construction."""
  spec = {"name": "sgdr", "peak_value": peak, "first_period": first, "end_value": end}
  kwargs = dict(t_initial=first, lr_min=end, cycle_limit=NO_LIMIT, t_in_epochs=False,
                noise_range_t=tuple(noise_range), noise_pct=pct, noise_std=std,
                noise_seed=seed)
  opt = _optimizer(peak)
  scheduler = CosineLRScheduler(opt, **kwargs)
  scheduler.noise_type = noise_type
  values = []
  for t in range(steps):
    scheduler.step_update(num_updates=t)
    values.append(opt.param_groups[0]["lr"])
  source = ("timm CosineLRScheduler(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            + f"), noise_type={noise_type!r}")
  noisy = {"name": "timm_noise", "schedule": spec, "noise_range": list(noise_range),
           "noise_type": noise_type, "noise_pct": pct, "noise_std": std, "noise_seed": seed}
  return noisy, values, source, []


def timm_tanh(peak, first, steps, mult=1.0, end=0.0, decay=1.0, limit=1, lower=-7.0,
              upper=3.0, warmup_steps=0, warmup_init=0.0, prefix=False):
  spec = {"name": "tanh_decay", "peak_value": peak, "first_period": first,
          "period_mult": mult, "end_value": end, "cycle_decay": decay, "cycle_limit": limit,
          "lower": lower, "upper": upper}
  kwargs = dict(t_initial=first, lb=lower, ub=upper, lr_min=end, cycle_mul=mult,
                cycle_decay=decay, cycle_limit=NO_LIMIT if limit is None else limit,
                warmup_t=warmup_steps, warmup_lr_init=warmup_init, warmup_prefix=prefix,
                t_in_epochs=False)
  return _timm_case(TanhLRScheduler, spec, kwargs, peak, steps)


def _lambda_lr(scheduler, steps):
  values = []
  for _ in range(steps):
    values.append(scheduler.get_last_lr()[0])
    scheduler.optimizer.step()
    scheduler.step()
  return values


def hf_wsd(peak, total, warmup, cooldown, warmup_shape, cooldown_shape, end, steps):
  spec = {"name": "wsd", "peak_value": peak, "total_steps": total, "warmup_steps": warmup,
          "cooldown_steps": cooldown, "warmup_shape": warmup_shape,
          "cooldown_shape": cooldown_shape, "end_value": end}
  kwargs = dict(num_warmup_steps=warmup, num_decay_steps=cooldown, num_training_steps=total,
                warmup_type=warmup_shape, decay_type=cooldown_shape, min_lr_ratio=end / peak)
  values = _lambda_lr(get_wsd_schedule(_optimizer(peak), **kwargs), steps)
  source = "transformers get_wsd_schedule(" + ", ".join(
      f"{k}={v!r}" for k, v in kwargs.items()) + f"), lr={peak!r}"
  return spec, values, source, []


def hf_inverse_sqrt(peak, warmup, timescale, steps):
  spec = {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": warmup,
          "timescale": timescale}
  values = _lambda_lr(get_inverse_sqrt_schedule(_optimizer(peak), warmup, timescale), steps)
  source = (f"transformers get_inverse_sqrt_schedule(num_warmup_steps={warmup}, "
            f"timescale={timescale!r}), lr={peak!r}")
  return spec, values, source, []


CASES = {
    "timm_float_mult_decay": lambda: timm_cosine(0.1, 100, 3000, mult=1.5, end=1e-4,
                                                 decay=0.7),
    "timm_k_decay_limit": lambda: timm_cosine(0.2, 300, 2000, end=1e-3, decay=0.5, limit=4,
                                              k=2.0),
    "timm_k_half_mult2": lambda: timm_cosine(0.05, 50, 3200, mult=2.0, k=0.5),
    "timm_mult1_25_limit": lambda: timm_cosine(0.3, 37, 2500, mult=1.25, end=2e-3, decay=0.9,
                                               limit=6),
    "timm_default_one_cycle": lambda: timm_cosine(0.1, 500, 1500, end=1e-5, limit=1),
    "timm_mult3_first2": lambda: timm_cosine(0.5, 2, 2000, mult=3.0),
    "timm_warmup_prefix": lambda: timm_cosine(0.1, 400, 3000, mult=2.0, end=1e-5,
                                              warmup_steps=100, warmup_init=1e-4,
                                              prefix=True),
    "timm_warmup_no_prefix": lambda: timm_cosine(0.1, 400, 3000, mult=1.5, end=1e-5,
                                                 decay=0.8, warmup_steps=100,
                                                 warmup_init=1e-4),
    "timm_noise_normal": lambda: timm_cosine_noise(0.1, 400, 1600, (100, 1200), "normal", 0.4,
                                                   0.8, 7, end=1e-4),
    "timm_noise_uniform": lambda: timm_cosine_noise(0.2, 1000, 1500, (0, 1500), "uniform",
                                                    0.67, 1.0, 42),
    "timm_tanh_one_cycle": lambda: timm_tanh(0.1, 1200, 1600, end=1e-4),
    "timm_tanh_restarts": lambda: timm_tanh(0.3, 200, 3000, mult=1.5, end=1e-3, decay=0.8,
                                            limit=None, lower=-5.0, upper=4.0),
    "timm_tanh_warmup_limit": lambda: timm_tanh(0.05, 300, 2000, end=0.0, limit=4,
                                                warmup_steps=80, warmup_init=1e-4,
                                                prefix=True),
    "hf_wsd_linear_cosine": lambda: hf_wsd(0.3, 2000, 150, 400, "linear", "cosine", 0.0, 2200),
    "hf_wsd_cosine_1sqrt_min": lambda: hf_wsd(0.3, 2000, 100, 500, "cosine", "1-sqrt", 0.03,
                                              2200),
    "hf_wsd_1sqrt_linear_min": lambda: hf_wsd(1e-3, 2500, 300, 250, "1-sqrt", "linear", 1e-4,
                                              2600),
    "hf_wsd_no_warmup": lambda: hf_wsd(0.1, 2000, 0, 2000, "linear", "cosine", 1e-3, 2100),
    "hf_wsd_no_cooldown": lambda: hf_wsd(0.1, 2000, 37, 0, "cosine", "cosine", 0.01, 2100),
    "hf_inverse_sqrt_warmup": lambda: hf_inverse_sqrt(0.01, 100, None, 3000),
    "hf_inverse_sqrt_no_warmup": lambda: hf_inverse_sqrt(0.5, 0, None, 3000),
    "hf_inverse_sqrt_timescale": lambda: hf_inverse_sqrt(0.02, 50, 300, 3000),
}


def main() -> None:
  warnings.simplefilter("ignore")
  arrays = {}
  for case_id, make in CASES.items():
    spec, values, source, misplaced = make()
    arrays[f"{case_id}/spec"] = np.asarray(json.dumps({"lr": spec}))
    arrays[f"{case_id}/lr"] = np.asarray(values, np.float64)
    arrays[f"{case_id}/source"] = np.asarray(source)
    arrays[f"{case_id}/misplaced"] = np.asarray(misplaced, np.int64)
  timm_version = importlib.metadata.version("timm")
  arrays["versions"] = np.asarray(f"torch {torch.__version__}, timm {timm_version}, "
                                  f"transformers {transformers.__version__}")
  np.savez_compressed(OUT, **arrays)
  print(f"wrote {len(CASES)} cases to {OUT} ({arrays['versions']})")


if __name__ == "__main__":
  main()
