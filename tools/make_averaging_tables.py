"""Writes tests/data/averaging_reference.npz: PyTorch's and timm's weight averages.

Run once, by hand, in the environment of ``tools/make_reference_tables.py`` (torch 2.13.0,
timm 1.0.31; CI needs neither)::

    /tmp/refenv/bin/python tools/make_averaging_tables.py

A fixed trajectory of parameters (``w`` 3x4 and ``b`` 4, float32, seeded), as if a model
took ``T`` optimizer steps, is fed to

* ``torch.optim.swa_utils.AveragedModel`` with ``get_ema_multi_avg_fn(0.7)``,
  ``update_parameters`` after every step (``ema_w``, ``ema_b``: the average after each);
* timm's ``ModelEmaV3(decay=0.9, use_warmup=True)`` (``warmup_gamma`` 1, ``warmup_power``
  2/3), ``update(model, step=t)`` after step ``t`` (``timm_w``, ``timm_b``);
* ``AveragedModel`` with its default running mean, ``update_parameters`` after steps 3, 5
  and 7 (SWA from step 3 every 2 steps: ``swa_w``, ``swa_b``);

and ``torch.optim.swa_utils.update_bn`` on ``Linear(5, 4) -> BatchNorm1d(4)`` with stored
weights over 3 stored batches of 8 inputs (``bn_*``: its running mean and unbiased running
variance).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import pathlib

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "averaging_reference.npz"
STEPS = 8


def _timm_model_ema_v3() -> type:
  """timm's ``ModelEmaV3`` from its file (``import timm`` imports torchvision, which fails
  with a CPU build of torch and PyPI's torchvision; this module needs torch alone)."""
  spec = importlib.util.find_spec("timm")
  path = pathlib.Path(spec.submodule_search_locations[0]) / "utils" / "model_ema.py"
  module_spec = importlib.util.spec_from_file_location("timm_model_ema", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.ModelEmaV3


class Tiny(torch.nn.Module):
  def __init__(self):
    super().__init__()
    self.w = torch.nn.Parameter(torch.zeros(3, 4))
    self.b = torch.nn.Parameter(torch.zeros(4))


def _set(model: Tiny, w: np.ndarray, b: np.ndarray) -> None:
  with torch.no_grad():
    model.w.copy_(torch.from_numpy(w))
    model.b.copy_(torch.from_numpy(b))


def main() -> None:
  rng = np.random.default_rng(20261202)
  traj_w = rng.standard_normal((STEPS, 3, 4)).astype(np.float32)
  traj_b = rng.standard_normal((STEPS, 4)).astype(np.float32)
  out = {"traj_w": traj_w, "traj_b": traj_b}

  model = Tiny()
  ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.7))
  swa = AveragedModel(model)
  timm = _timm_model_ema_v3()(model, decay=0.9, use_warmup=True)
  rows = {key: [] for key in ("ema_w", "ema_b", "swa_w", "swa_b", "timm_w", "timm_b")}
  for t in range(1, STEPS + 1):
    _set(model, traj_w[t - 1], traj_b[t - 1])
    ema.update_parameters(model)
    if t >= 3 and (t - 3) % 2 == 0:
      swa.update_parameters(model)
    timm.update(model, step=t)
    for name, averaged in (("ema", ema.module), ("swa", swa.module), ("timm", timm.module)):
      rows[f"{name}_w"].append(averaged.w.detach().numpy().copy())
      rows[f"{name}_b"].append(averaged.b.detach().numpy().copy())
  out.update({key: np.stack(value) for key, value in rows.items()})

  net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4))
  with torch.no_grad():
    net[0].weight.copy_(torch.from_numpy(rng.standard_normal((4, 5)).astype(np.float32)))
    net[0].bias.copy_(torch.from_numpy(rng.standard_normal(4).astype(np.float32)))
  batches = (2 * rng.standard_normal((3, 8, 5)) + 1).astype(np.float32)
  update_bn([torch.from_numpy(x) for x in batches], net)
  out.update(bn_kernel=net[0].weight.detach().numpy().T.copy(),
             bn_bias=net[0].bias.detach().numpy().copy(), bn_batches=batches,
             bn_running_mean=net[1].running_mean.numpy().copy(),
             bn_running_var=net[1].running_var.numpy().copy(),
             versions=np.array(f"torch {torch.__version__}, timm "
                               f"{importlib.metadata.version('timm')}"))
  np.savez(OUT, **out)
  print(f"wrote {OUT}: {sorted(out)}")


if __name__ == "__main__":
  main()
