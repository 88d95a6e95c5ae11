"""Top-10 eigenvalues, intervals (0, 2/lambda), a mild rate increase (You et al. Fig. 5, A.2).

Takes the full-batch GD runs of ``experiments/gd_vs_sgd.py`` (WRN-10-1, 1024 CIFAR-10
images at 16x16 with crop + flip, momentum g = 0.9) that decay the rate 0.1 -> 0.01 at
step 60, for every seed:

* Fig. 5: the top-10 eigenvalues (Lanczos, relative residual 1e-3) of the training loss
  on the 1024 unaugmented images, BatchNorm in train mode with GD's chunks of 256, at
  step 60 (the end of the 0.1 stage) and step 240 (after 180 steps at 0.01), with both
  stability bounds: plain GD's ``2/lambda`` and heavy-ball momentum's ``(2 + 2g)/lambda``
  (the bound for the optimizer these runs use).
* App. A.2: from the step-60 weights, 50 more GD steps at the rate in use (0.1) and at
  x1.5, x2 and x4 of it, lambda_1 every 10 steps (probe: the first 256 images). A run
  "diverges" at the first step whose training loss exceeds 10x the loss at its first
  step (or is not finite); the metric is the number of steps before that, 50 if never.
  The continuation loads the weights and BatchNorm statistics, not the momentum buffer
  (it restarts at zero, as after a restart from a checkpoint with a new optimizer).

Run after gd_vs_sgd.py (17 minutes on 2 CPU cores, measured 2026-11-29; finished parts
are read back)::

  python experiments/gd_vs_sgd.py --workdir runs/gd_vs_sgd
  python experiments/convergence_intervals.py --runs runs/gd_vs_sgd

It writes ``experiments/results/convergence_intervals.json`` (per-seed eigenvalues,
ratios and divergence steps, and the claims with their verdicts; RESULTS.md section 3 is
generated from it) and ``experiments/figures/convergence_intervals.png`` (every seed).

Paper's claims: the top eigenvalues of a GD-trained WideResNet are large (~200), so the
intervals are narrow and the rate in use lies inside them; a mild increase of the rate
makes GD diverge at once. Expected (measured
2026-11-29, five seeds): lambda_1 ~23 at step 60 (lr lambda_1 / 2 ~1.1, at plain GD's
edge; ~0.6 of the heavy-ball bound), ~100 at step 240; no continuation diverges within
50 steps, even at x4 (the loss spikes, then lambda_1 falls below the new edge). Per seed
and verdicts: experiments/RESULTS.md section 3.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib

import numpy as np
from matplotlib.figure import Figure

from lrsched.hessian_command import add_parser
from lrsched.plotting import save_figure
from lrsched.train import train
from lrsched.train.loop import NonFiniteLossError
from lrsched.train.run_model import read_run_config
from lrsched.train.rundir import read_jsonl
from lrsched.train.sweep import claim, write_results

HERE = pathlib.Path(__file__).resolve().parent
MOMENTUM = 0.9
FACTORS = (1.0, 1.5, 2.0, 4.0)
CONTINUE_STEPS = 50
DIVERGED = 10.0  # a loss above this multiple of the starting loss counts as diverged
PAPER_LAMBDA = 100.0  # "~200": the premise, tested as lambda_1 above half of it


def spectrum(run_dir: pathlib.Path, epoch: int, out: pathlib.Path, k: int = 10) -> dict:
  """``lrsched hessian`` on one checkpoint (read back when done); returns its record."""
  if (out / "hessian.json").exists():
    return json.loads((out / "hessian.json").read_text())
  parser = argparse.ArgumentParser()
  add_parser(parser.add_subparsers())
  args = parser.parse_args(["hessian", str(run_dir), "--epoch", str(epoch), "--mode", "train",
                            "--batch-size", "256", "--num-batches", "4", "--k", str(k),
                            "--out", str(out)])
  return args.run(args)


def continue_gd(run_dir: pathlib.Path, epoch: int, factor: float, out: pathlib.Path,
                steps: int = CONTINUE_STEPS) -> dict:
  """GD for ``steps`` steps from ``run_dir``'s checkpoint at ``epoch`` at ``factor`` x its rate."""
  summary = out / "summary.json"
  if summary.exists():
    return json.loads(summary.read_text())
  source = read_run_config(run_dir)
  lr = factor * source.learning_rate["init_value"]
  config = dataclasses.replace(
      source, epochs=steps, learning_rate=lr, checkpoint_every=0,
      init_from={"run": str(run_dir), "epoch": epoch}, sharpness_every=10,
      sharpness_batch_size=256, progress=False)
  try:
    train(config, out, resume=True)
  except NonFiniteLossError as error:
    print(f"x{factor:g}: {error}")
  losses = [r["train_loss"] for r in read_jsonl(out / "metrics.jsonl")]
  bad = [i for i, loss in enumerate(losses, 1)
         if not math.isfinite(loss) or loss > DIVERGED * losses[0]]
  # A non-finite step stops the run before its record is written: it diverged there.
  steps = bad[0] - 1 if bad else len(losses)
  result = {"factor": factor, "learning_rate": lr, "losses": losses,
            "steps_before_divergence": steps,
            "sharpness": [(r["step"], r["sharpness"]) for r in
                          read_jsonl(out / "sharpness.jsonl")]}
  summary.write_text(json.dumps(result, indent=1) + "\n")
  return result


def bounds(eigenvalues: list[float], lr: float) -> dict[str, float]:
  lam = float(eigenvalues[0])
  return {"lambda_1": lam, "lambda_10": float(eigenvalues[-1]), "lr_in_use": lr,
          "lr_x_lambda_1 / 2": lr * lam / 2,
          "lr_x_lambda_1 / (2+2g)": lr * lam / (2 + 2 * MOMENTUM)}


def plot(spectra: dict[str, list[dict]], lrs: dict[str, float], continued: dict[float, list],
         path: pathlib.Path) -> None:
  fig = Figure(figsize=(15, 4.2), layout="constrained")
  axes = fig.subplots(1, 4)
  for ax, (label, records) in zip(axes[:2], spectra.items(), strict=True):
    for seed, record in enumerate(records):
      lam = np.asarray(record["eigen"]["eigenvalues"])
      i = np.arange(1, len(lam) + 1)
      ax.plot(i, 2 / lam, "o-", color="C0", alpha=0.6, markersize=3,
              label="2/lambda_i (GD)" if seed == 0 else None)
      ax.plot(i, (2 + 2 * MOMENTUM) / lam, "s-", color="C1", alpha=0.6, markersize=3,
              label="(2+2g)/lambda_i (momentum 0.9)" if seed == 0 else None)
    ax.axhline(lrs[label], color="k", linewidth=1, label=f"lr in use ({lrs[label]:g})")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue index i")
    ax.set_ylabel("upper end of the stable interval")
    ax.set_title(label, fontsize="medium")
    ax.legend(fontsize="small")
  for factor, runs in continued.items():
    color = f"C{FACTORS.index(factor)}"
    for seed, run in enumerate(runs):
      losses = np.asarray(run["losses"], float)
      axes[2].plot(np.arange(1, len(losses) + 1), losses, color=color, alpha=0.7,
                   label=f"x{factor:g} (lr {run['learning_rate']:g})" if seed == 0 else None)
      if run["sharpness"]:
        steps, values = zip(*run["sharpness"], strict=True)
        axes[3].plot(steps, values, "o-", color=color, alpha=0.7, markersize=3,
                     label=f"x{factor:g}" if seed == 0 else None)
    axes[3].axhline((2 + 2 * MOMENTUM) / runs[0]["learning_rate"], color=color,
                    linestyle=":", linewidth=1)
  axes[2].set_yscale("log")
  axes[2].set_xlabel("GD step from the end of the 0.1 stage")
  axes[2].set_ylabel("training loss")
  axes[2].set_title("App. A.2: GD at a larger rate", fontsize="medium")
  axes[2].legend(fontsize="small")
  axes[3].set_xlabel("GD step")
  axes[3].set_ylabel("lambda_1 (probe: 256 images)")
  axes[3].set_title("lambda_1 every 10 steps; dotted: (2+2g)/lr", fontsize="medium")
  axes[3].legend(fontsize="small")
  n = len(next(iter(spectra.values())))
  fig.suptitle(f"GD, WRN-10-1, 1024 CIFAR-10 images at 16x16: every one of {n} seeds "
               f"(one line per seed)")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", default="runs/gd_vs_sgd", help="gd_vs_sgd.py's workdir")
  parser.add_argument("--out", default="runs/convergence_intervals", help="spectra and runs")
  parser.add_argument("--run", default="GD/decay 60", help="which run of --runs")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
  parser.add_argument("--continue-steps", type=int, default=CONTINUE_STEPS,
                      help="GD steps of the App. A.2 runs")
  parser.add_argument("--results", default=str(HERE / "results/convergence_intervals.json"))
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  out = pathlib.Path(args.out)
  run = pathlib.Path(args.runs) / args.run
  config = json.loads((run / f"seed{args.seeds[0]}" / "config.json").read_text())
  lr_spec, last = config["learning_rate"], config["epochs"]
  at, high = lr_spec["boundaries"][0], lr_spec["init_value"]
  low = high * lr_spec["factor"]
  stages = {f"step {at} (end of lr {high:g})": (at, high),
            f"step {last} (after {last - at} steps at lr {low:g})": (last, low)}
  spectra = {label: [spectrum(run / f"seed{s}", epoch, out / f"seed{s}" / f"step{epoch}")
                     for s in args.seeds] for label, (epoch, _) in stages.items()}
  continued = {f: [continue_gd(run / f"seed{s}", at, f, out / f"seed{s}" / f"x{f:g}",
                               args.continue_steps)
                   for s in args.seeds] for f in FACTORS}

  runs = {}
  for label, (epoch, lr) in stages.items():
    rows = [bounds(r["eigen"]["eigenvalues"], lr) for r in spectra[label]]
    runs[label] = {"seeds": args.seeds, "epochs": [epoch] * len(args.seeds),
                   "final": {key: [row[key] for row in rows] for key in rows[0]} | {
                       "all_converged": [float(all(r["eigen"]["converged"]))
                                         for r in spectra[label]]},
                   "config": {"source": args.run, "checkpoint": epoch, "k": 10,
                              "eigenvalues": [r["eigen"]["eigenvalues"] for r in spectra[label]]}}
  for factor, per_seed in continued.items():
    runs[f"GD x{factor:g} from step {at}"] = {
        "seeds": args.seeds, "epochs": [len(r["losses"]) for r in per_seed],
        "final": {"steps_before_divergence": [r["steps_before_divergence"] for r in per_seed],
                  "learning_rate": [r["learning_rate"] for r in per_seed]},
        "config": {"source": args.run, "checkpoint": at, "factor": factor,
                   "steps": args.continue_steps,
                   "diverged": f"loss > {DIVERGED:g}x its first step"}}
  before = runs[next(iter(stages))]["final"]
  n = len(args.seeds)
  claims = [
      claim(f"the top eigenvalue is large (~200; tested: lambda_1 > {PAPER_LAMBDA:g}) at the "
            f"end of the large-rate stage", "lambda_1", "lambda_1", f"{PAPER_LAMBDA:g}",
            before["lambda_1"], [PAPER_LAMBDA] * n, ">"),
      claim("the rate in use lies inside (0, 2/lambda_1): lr x lambda_1 / 2 < 1",
            "lr_x_lambda_1 / 2", "lr x lambda_1 / 2", "1", before["lr_x_lambda_1 / 2"],
            [1.0] * n, "<"),
      claim("the rate in use lies inside the heavy-ball interval (0, (2+2g)/lambda_1)",
            "lr_x_lambda_1 / (2+2g)", "lr x lambda_1 / (2+2g)", "1",
            before["lr_x_lambda_1 / (2+2g)"], [1.0] * n, "<"),
  ]
  steady = runs[f"GD x1 from step {at}"]["final"]["steps_before_divergence"]
  for factor in FACTORS[1:]:
    name = f"GD x{factor:g} from step {at}"
    claims.append(claim(
        f"a mild rate increase (x{factor:g}) makes GD diverge sooner than the rate in use "
        f"(steps before the loss exceeds {DIVERGED:g}x its start; {args.continue_steps} = "
        f"never)",
        "steps_before_divergence", name, f"GD x1 from step {at}",
        runs[name]["final"]["steps_before_divergence"], steady, "<"))
  record = {"experiment": "convergence_intervals", "claims": claims, "runs": runs}
  write_results(args.results, record)
  plot(spectra, {label: lr for label, (_, lr) in stages.items()}, continued,
       pathlib.Path(args.figures) / "convergence_intervals.png")
  for item in claims:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
