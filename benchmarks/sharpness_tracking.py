"""Sharpness tracking every 10 steps on the edge-of-stability config: HVPs and added time.

``experiments/configs/eos_fc_tanh.py`` (fc-tanh, MSE, full-batch GD on 1000 images, lr
0.04), trained by :func:`lrsched.train.train` with ``sharpness_every=10`` (the probe: the
whole training set) and with tracking off, interleaved (untracked, tracked, untracked,
tracked, ...) so both see the same load on a shared machine. Measured after ``--warmup``
steps, once the direction has settled (compilation and progressive sharpening excluded):

* HVPs per estimate (warm-started Lanczos to a 1e-3 relative residual): median, mean and
  the fraction of estimates that converged; goal <= 3;
* the added wall time: sum of the per-epoch ``seconds`` (the step, the tracker's
  ``after_step`` and the per-epoch evaluation) of the tracked run over the untracked run's,
  minus 1; goal <= 30%.

Run::

  .venv/bin/python benchmarks/sharpness_tracking.py --steps 400 --warmup 200 --repeats 2

Results: ``benchmarks/RESULTS.md``, "Sharpness tracking".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import runpy
import tempfile

import numpy as np

from lrsched.train import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def measure(steps: int, warmup: int, repeats: int, every: int, lr: float) -> dict:
  base = runpy.run_path(str(ROOT / "experiments/configs/eos_fc_tanh.py"))["get_config"]()
  base = dataclasses.replace(base, epochs=steps, learning_rate=lr, checkpoint_every=0)
  seconds = {"untracked": [], "tracked": []}
  hvps, converged = [], []
  with tempfile.TemporaryDirectory() as tmp:
    for repeat in range(repeats):
      for kind in ("untracked", "tracked"):
        config = dataclasses.replace(base, sharpness_every=every if kind == "tracked" else 0)
        workdir = pathlib.Path(tmp) / f"{kind}{repeat}"
        history = train(config, workdir).history
        seconds[kind].append(float(sum(r["seconds"] for r in history[warmup:])))
        if kind == "tracked":
          records = [json.loads(line) for line in
                     (workdir / "sharpness.jsonl").read_text().splitlines()]
          late = [r for r in records if r["step"] > warmup]
          hvps += [r["num_hvps"] for r in late]
          converged += [r["converged"] for r in late]
        print(f"{kind} repeat {repeat}: {seconds[kind][-1]:.2f} s over steps "
              f"{warmup + 1}-{steps}", flush=True)
  ratios = [t / u for t, u in zip(seconds["tracked"], seconds["untracked"], strict=True)]
  return {"steps_timed": steps - warmup, "every": every, "repeats": repeats,
          "seconds": seconds, "added_time": [r - 1 for r in ratios],
          "hvps_median": float(np.median(hvps)), "hvps_mean": float(np.mean(hvps)),
          "hvps_max": int(np.max(hvps)), "estimates": len(hvps),
          "converged_fraction": float(np.mean(converged))}


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--warmup", type=int, default=200)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--every", type=int, default=10)
  parser.add_argument("--lr", type=float, default=0.04)
  args = parser.parse_args(argv)
  result = measure(args.steps, args.warmup, args.repeats, args.every, args.lr)
  print(json.dumps(result, indent=1))
  added = ", ".join(f"{100 * a:+.0f}%" for a in result["added_time"])
  print(f"HVPs per estimate: median {result['hvps_median']:.0f}, mean {result['hvps_mean']:.2f}, "
        f"max {result['hvps_max']} ({result['estimates']} estimates, "
        f"{100 * result['converged_fraction']:.0f}% converged); added time: {added}")
  return result


if __name__ == "__main__":
  main()
