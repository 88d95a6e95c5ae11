"""Writes tests/data/plateau_pytorch.json: PyTorch ReduceLROnPlateau's rate, value by value.

Run once, by hand, with PyTorch installed (CI does not need it)::

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    /tmp/torchenv/bin/python tools/make_plateau_table.py

Each case feeds a recorded sequence of values (noisy loss and accuracy curves with
plateaus, made here from a fixed numpy seed and stored in the file) to
``torch.optim.lr_scheduler.ReduceLROnPlateau`` and records the optimizer's learning rate
after each ``scheduler.step(value)``. ``tests/adaptive/test_plateau.py`` checks that
``lrsched.adaptive.reduce_on_plateau`` takes the same decisions (scale x lr == rate).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "plateau_pytorch.json"


def sequences() -> dict[str, list[float]]:
  rng = np.random.default_rng(0)
  t = np.arange(120)
  loss = 2.0 * np.exp(-t / 15) + 0.3 + 0.02 * rng.standard_normal(t.size)
  loss[60:] = loss[60] + 0.01 * rng.standard_normal(60)  # a long plateau
  steps = np.repeat([1.0, 0.8, 0.8, 0.5, 0.5, 0.5], 20) + 0.005 * rng.standard_normal(120)
  accuracy = 0.9 - 0.6 * np.exp(-t / 20) + 0.01 * rng.standard_normal(t.size)
  signed = np.sin(t / 7.0) - 0.01 * t  # crosses zero: relative thresholds on negatives
  return {"loss": loss.tolist(), "steps": steps.tolist(), "accuracy": accuracy.tolist(),
          "signed": signed.tolist()}


CASES = [
    ("loss", dict(mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel")),
    ("loss", dict(mode="min", factor=0.5, patience=3, threshold=0.01, threshold_mode="rel")),
    ("loss", dict(mode="min", factor=0.5, patience=2, threshold=0.005, threshold_mode="abs",
                  cooldown=4)),
    ("loss", dict(mode="min", factor=0.3, patience=0, threshold=0.0, threshold_mode="rel",
                  min_lr=0.01)),
    ("steps", dict(mode="min", factor=0.5, patience=5, threshold=0.02, threshold_mode="rel",
                   cooldown=2, min_lr=0.05)),
    ("steps", dict(mode="min", factor=0.1, patience=4, threshold=0.1, threshold_mode="abs")),
    ("accuracy", dict(mode="max", factor=0.5, patience=5, threshold=1e-3,
                      threshold_mode="rel")),
    ("accuracy", dict(mode="max", factor=0.2, patience=3, threshold=0.01, threshold_mode="abs",
                      cooldown=3, min_lr=0.001)),
    ("signed", dict(mode="min", factor=0.5, patience=4, threshold=0.05, threshold_mode="rel")),
    ("signed", dict(mode="max", factor=0.5, patience=4, threshold=0.05, threshold_mode="rel")),
]


def run(values: list[float], lr: float, kwargs: dict) -> list[float]:
  optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
  scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
  out = []
  for value in values:
    optimizer.step()
    scheduler.step(value)
    out.append(optimizer.param_groups[0]["lr"])
  return out


def main() -> None:
  seqs = sequences()
  cases = []
  for name, kwargs in CASES:
    for lr in (1.0, 0.1):
      cases.append({"sequence": name, "lr": lr, "kwargs": kwargs,
                    "rates": run(seqs[name], lr, kwargs)})
  OUT.parent.mkdir(parents=True, exist_ok=True)
  OUT.write_text(json.dumps({"torch": torch.__version__, "sequences": seqs, "cases": cases})
                 + "\n")
  print(f"wrote {OUT} ({len(cases)} cases, torch {torch.__version__})")


if __name__ == "__main__":
  main()
