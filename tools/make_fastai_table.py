"""Writes tests/data/fastai_suggestions.json: fastai's lr_find suggestions on recorded curves.

Run once, by hand, with fastai installed (CI does not need it)::

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch fastai numpy
    /tmp/torchenv/bin/python tools/make_fastai_table.py

The curves (range-test-shaped smoothed losses with noise, plateaus, a double valley, a
monotone one; made here from a fixed numpy seed and stored in the file) go through
``fastai.callback.schedule.valley`` and ``minimum`` exactly as ``Learner.lr_find`` calls
them (torch tensors, ``num_it`` = the curve's length). ``tests/range_test/test_suggest.py``
checks ``lrsched.suggest_learning_rate`` against them.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
from fastai.callback.schedule import minimum, valley

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "fastai_suggestions.json"


def curves() -> dict[str, tuple[list[float], list[float]]]:
  rng = np.random.default_rng(0)
  out = {}
  for name, n, lo, hi in (("range_100", 100, 1e-7, 10.0), ("range_73", 73, 1e-5, 1.0),
                          ("range_40", 40, 1e-4, 10.0), ("range_200", 200, 1e-6, 100.0)):
    lrs = np.geomspace(lo, hi, n)
    x = np.log10(lrs)
    centre = x[0] + 0.7 * (x[-1] - x[0])
    loss = 2.3 - 1.2 / (1 + np.exp(-(x - (centre - 1.0)) * 2.5))  # the descent
    loss = loss + 0.8 * np.maximum(0, x - centre) ** 2             # the blow-up
    loss = loss + 0.02 * rng.standard_normal(n)
    out[name] = (lrs.tolist(), loss.tolist())
  lrs = np.geomspace(1e-6, 1.0, 90)
  x = np.log10(lrs)
  double = 2.0 - 0.4 * (x > -4.5) - 0.6 * (x > -2.0) + 0.03 * np.sin(5 * x)
  out["double_valley"] = (lrs.tolist(), (double + 0.01 * rng.standard_normal(90)).tolist())
  lrs = np.geomspace(1e-3, 1.0, 30)
  out["monotone"] = (lrs.tolist(), np.linspace(3.0, 1.0, 30).tolist())
  return out


def main() -> None:
  table = {}
  for name, (lrs, losses) in curves().items():
    t_lrs, t_losses = torch.tensor(lrs), torch.tensor(losses)
    table[name] = {"lrs": lrs, "losses": losses,
                   "valley": valley(t_lrs, t_losses, len(lrs))[0],
                   "minimum/10": minimum(t_lrs, t_losses, len(lrs))[0]}
  import fastai
  OUT.parent.mkdir(parents=True, exist_ok=True)
  OUT.write_text(json.dumps({"fastai": fastai.__version__, "curves": table}) + "\n")
  print(f"wrote {OUT} ({len(table)} curves, fastai {fastai.__version__})")


if __name__ == "__main__":
  main()
