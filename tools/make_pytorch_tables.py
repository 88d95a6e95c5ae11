"""Writes tests/data/pytorch_tables.npz: PyTorch's schedule values, step by step.

Run once, by hand, with PyTorch installed (CI does not need it)::

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python tools/make_pytorch_tables.py

(``tools/make_reference_tables.py`` makes the timm and Hugging Face tables.)

Each case pairs lrsched specs (learning rate and, where PyTorch cycles it,
momentum) with the PyTorch scheduler built from the same numbers. The value at
index ``t`` is the optimizer's learning rate (and momentum) after ``t`` calls of
``scheduler.step()``. The npz holds, per case id, ``ID/spec`` (JSON), ``ID/lr``
and, where cycled, ``ID/momentum`` (float64).
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "pytorch_tables.npz"


def multistep(init, boundaries, factor):
  spec = {"name": "step_decay", "init_value": init, "boundaries": boundaries, "factor": factor}
  make = lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, boundaries, gamma=factor)
  return spec, None, make, init


def cyclic(base, top, up, down=None, mode="triangular", gamma=1.0, mom=(0.8, 0.9)):
  args = {"step_size_up": up, "step_size_down": down, "mode": mode, "gamma": gamma}
  spec = {"name": "cyclic", "init_value": base, "peak_value": top, **args}
  mspec = {"name": "cyclic_momentum", "base_momentum": mom[0], "max_momentum": mom[1], **args}
  make = lambda opt: torch.optim.lr_scheduler.CyclicLR(
      opt, base, top, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma,
      cycle_momentum=True, base_momentum=mom[0], max_momentum=mom[1])
  return spec, mspec, make, base


def one_cycle(total, top, pct=0.3, div=25.0, final_div=1e4, anneal="cos", three=False,
              mom=(0.85, 0.95)):
  common = {"total_steps": total, "pct_start": pct, "anneal": anneal, "three_phase": three}
  spec = {"name": "one_cycle", "peak_value": top, "div_factor": div,
          "final_div_factor": final_div, **common}
  mspec = {"name": "one_cycle_momentum", "base_momentum": mom[0], "max_momentum": mom[1],
           **common}
  make = lambda opt: torch.optim.lr_scheduler.OneCycleLR(
      opt, top, total_steps=total, pct_start=pct, anneal_strategy=anneal,
      div_factor=div, final_div_factor=final_div, three_phase=three,
      base_momentum=mom[0], max_momentum=mom[1])
  return spec, mspec, make, top


def sgdr(top, first, mult=1, bottom=0.0):
  spec = {"name": "sgdr", "peak_value": top, "first_period": first, "period_mult": mult,
          "end_value": bottom}
  make = lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
      opt, T_0=first, T_mult=mult, eta_min=bottom)
  return spec, None, make, top


def warmup(init, steps, main, prefix_name="warmup"):
  """SequentialLR([LinearLR(start_factor=init / peak, total_iters=steps), main]).

  ``main`` is a case tuple of the functions above; ``peak`` its initial lr. (Not
  with OneCycleLR or CyclicLR: they overwrite the optimizer's initial lr, so
  LinearLR's ``start_factor`` no longer refers to ``peak``.)
  """
  spec, _, make_main, peak = main
  wspec = {"name": prefix_name, "schedule": spec, "warmup_steps": steps, "init_value": init}
  make = lambda opt: torch.optim.lr_scheduler.SequentialLR(
      opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=init / peak, end_factor=1.0,
                                              total_iters=steps), make_main(opt)],
      milestones=[steps])
  return wspec, None, make, peak


def join3(peak, first, second):
  """SequentialLR of three: a linear warmup from peak/10, cosine to peak/100, multistep."""
  schedules = [
      {"name": "linear_schedule", "init_value": peak / 10, "end_value": peak,
       "transition_steps": first},
      {"name": "cosine_decay_schedule", "init_value": peak, "decay_steps": second - first,
       "alpha": 0.01},
      {"name": "step_decay", "init_value": peak, "boundaries": [300, 600], "factor": 0.5},
  ]
  spec = {"name": "join", "schedules": schedules, "boundaries": [first, second]}
  make = lambda opt: torch.optim.lr_scheduler.SequentialLR(
      opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=first),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=second - first,
                                                       eta_min=peak / 100),
            torch.optim.lr_scheduler.MultiStepLR(opt, [300, 600], gamma=0.5)],
      milestones=[first, second])
  return spec, None, make, peak


CASES = {
    "multistep_basic": (multistep(0.1, [500, 1000, 1500], 0.1), 2000),
    "multistep_edges": (multistep(1.0, [1, 2, 700, 1999], 0.5), 2500),
    "cyclic_triangular": (cyclic(0.001, 0.1, 200), 2000),
    "cyclic_asym_triangular2": (cyclic(0.01, 0.2, 150, 350, "triangular2", mom=(0.85, 0.95)), 3000),
    "cyclic_exp_range": (cyclic(0.0, 1.0, 100, 60, "exp_range", gamma=0.999), 2000),
    "cyclic_unit_steps": (cyclic(0.1, 0.5, 1, 1), 2000),
    "one_cycle_default": (one_cycle(2000, 0.1), 2000),
    "one_cycle_linear": (one_cycle(2500, 1.0, pct=0.25, div=10.0, final_div=100.0,
                                   anneal="linear"), 2500),
    "one_cycle_three_phase": (one_cycle(2000, 0.5, three=True), 2000),
    "one_cycle_three_linear_odd": (one_cycle(3001, 0.2, pct=0.37, anneal="linear", three=True,
                                             mom=(0.8, 0.9)), 3001),
    "one_cycle_odd_pct": (one_cycle(2003, 0.05, pct=0.333), 2003),
    "sgdr_constant_period": (sgdr(0.1, 300), 2000),
    "sgdr_mult2_min": (sgdr(1.0, 10, 2, 0.001), 5000),
    "sgdr_mult3_first1": (sgdr(0.5, 1, 3), 2000),
    "sgdr_period7_min": (sgdr(0.3, 7, 1, 0.01), 2000),
    "warmup_sgdr": (warmup(0.001, 200, sgdr(0.1, 300, 2, 1e-4)), 2500),
    "warmup_one_step_multistep": (warmup(0.01, 1, multistep(0.5, [100, 900], 0.2)),
                                  2000),
    "warmup_multistep": (warmup(0.003, 50, multistep(0.3, [500, 1500], 0.1)), 2000),
    "join_three": (join3(0.4, 250, 1200), 2200),
}


def table(make, init_lr, steps):
  param = torch.nn.Parameter(torch.zeros(1))
  opt = torch.optim.SGD([param], lr=init_lr, momentum=0.9)
  scheduler = make(opt)
  lrs, moms = [], []
  for _ in range(steps):
    lrs.append(scheduler.get_last_lr()[0])
    moms.append(opt.param_groups[0]["momentum"])
    opt.step()
    scheduler.step()
  return np.asarray(lrs, np.float64), np.asarray(moms, np.float64)


def main() -> None:
  warnings.simplefilter("ignore")
  arrays = {}
  for case_id, ((spec, mspec, make, init_lr), steps) in CASES.items():
    lr, momentum = table(make, init_lr, steps)
    arrays[f"{case_id}/spec"] = np.asarray(json.dumps({"lr": spec, "momentum": mspec}))
    arrays[f"{case_id}/lr"] = lr
    if mspec is not None:
      arrays[f"{case_id}/momentum"] = momentum
  arrays["torch_version"] = np.asarray(torch.__version__)
  np.savez_compressed(OUT, **arrays)
  print(f"wrote {len(CASES)} cases to {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
  main()
