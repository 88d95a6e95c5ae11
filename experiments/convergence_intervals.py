"""Top-10 Hessian eigenvalues and (0, 2/lambda) before and after a decay (You et al. Fig. 5).

Takes the full-batch GD runs of ``experiments/gd_vs_sgd.py`` that decay the rate
0.1 -> 0.01 at step 50 (WRN-10-1, 512 CIFAR-10 images at 16x16, momentum 0.9), and
for each seed computes the top-10 eigenvalues (Lanczos, relative residual 1e-3) of the
training loss GD descends -- all 512 images, BatchNorm in train mode with the
training chunks of 256 -- at step 50 (the end of the 0.1 stage) and step 150 (after
100 steps at 0.01). Run after gd_vs_sgd.py (about 3 minutes on 2 CPU cores)::

  python experiments/gd_vs_sgd.py --workdir runs/gd_vs_sgd
  python experiments/convergence_intervals.py --runs runs/gd_vs_sgd

Prints a markdown table (mean +- std over seeds of lambda_1, lambda_10, 2/lambda_1 and
the heavy-ball bound (2 + 2g)/lambda_1 against the learning rate in use) and writes
``intervals_step50.png`` / ``intervals_step150.png`` (seed 0; Fig. 5's bars with the
run's learning rates) and ``summary.json`` to ``--out``.

Paper's claim: the top eigenvalues of a GD-trained WideResNet are large (~200 on full
CIFAR-10), so (0, 2/lambda) is narrow: a rate is either small enough to converge or it
diverges, with no room for the "oscillation" that decay is said to cure. Expected here:
see experiments/RESULTS.md (the edge-of-stability reading: lambda_1 sits near
(2 + 2g)/lr at the rate in use, and rises after the decay).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from lrsched.hessian.command import add_parser
from lrsched.train import format_mean_std, markdown_table

MOMENTUM = 0.9


def checkpoints_of(run_dir: pathlib.Path) -> dict[int, tuple[str, float]]:
  """``{epoch: (label, lr in use)}``: the end of the first stage and the end of the run."""
  config = json.loads((run_dir / "config.json").read_text())
  lr = config["learning_rate"]
  at, last = lr["boundaries"][0], config["epochs"]
  low = lr["init_value"] * lr["factor"]
  return {at: (f"step {at} (end of lr {lr['init_value']:g})", lr["init_value"]),
          last: (f"step {last} (after {last - at} steps at lr {low:g})", low)}


def spectrum(run_dir: pathlib.Path, epoch: int, out: pathlib.Path, k: int = 10) -> dict:
  """Runs ``lrsched hessian`` on one checkpoint; returns its JSON record."""
  parser = argparse.ArgumentParser()
  add_parser(parser.add_subparsers())
  args = parser.parse_args(["hessian", str(run_dir), "--epoch", str(epoch), "--mode", "train",
                            "--batch-size", "256", "--num-batches", "2", "--k", str(k),
                            "--out", str(out)])
  return args.run(args)


def main(argv: list[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", default="runs/gd_vs_sgd", help="gd_vs_sgd.py's workdir")
  parser.add_argument("--out", default="runs/convergence_intervals")
  parser.add_argument("--run", default="GD/decay 50", help="which run of --runs")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  args = parser.parse_args(argv)
  out = pathlib.Path(args.out)
  run = pathlib.Path(args.runs) / args.run
  stages = checkpoints_of(run / f"seed{args.seeds[0]}")
  records = {epoch: [] for epoch in stages}
  for seed in args.seeds:
    for epoch in stages:
      target = out / f"seed{seed}" / f"step{epoch}"
      records[epoch].append(spectrum(run / f"seed{seed}", epoch, target))
      if seed == args.seeds[0]:
        (out / f"intervals_step{epoch}.png").write_bytes((target / "intervals.png").read_bytes())
  rows = []
  for epoch, (label, lr) in stages.items():
    values = np.array([r["eigen"]["eigenvalues"] for r in records[epoch]])
    converged = all(all(r["eigen"]["converged"]) for r in records[epoch])
    rows.append([label, f"{lr:g}", format_mean_std(values[:, 0], digits=1),
                 format_mean_std(values[:, -1], digits=1),
                 format_mean_std(2 / values[:, 0], digits=4),
                 format_mean_std((2 + 2 * MOMENTUM) / values[:, 0], digits=4),
                 format_mean_std(values[:, 0] * lr / (2 + 2 * MOMENTUM), digits=2),
                 "yes" if converged else "no"])
  text = markdown_table(["checkpoint", "lr in use", "lambda_1", "lambda_10", "2/lambda_1",
                         "(2+2g)/lambda_1", "lambda_1 lr / (2+2g)", "all converged"], rows)
  (out / "summary.json").write_text(json.dumps(
      {str(e): [r["eigen"] for r in recs] for e, recs in records.items()}, indent=2) + "\n")
  print(text)
  return text


if __name__ == "__main__":
  main()
