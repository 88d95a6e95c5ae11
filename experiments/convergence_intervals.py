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
* Per layer, at both checkpoints (same loss and data): the top eigenvalue and trace (10
  Hutchinson probes) of the diagonal Hessian block of each block of the network -- the
  stem, each residual block, the final BatchNorm, the head (:func:`block_of`) --
  by :func:`lrsched.hessian.per_layer`.
* lambda_1's two uncertainties, at both checkpoints: numerical, the true relative residual
  ``||H v - theta v|| / theta`` of a top-1 Lanczos rerun (it bounds the relative error,
  and the rerun is compared with the stored top-10 value); sampling, lambda_1 on each of
  the 4 chunks of 256 images (``error_bars=4``: std and 95% t-interval of the mean).

Run after gd_vs_sgd.py (finished parts are read back; measured on 2 CPU cores: 17 minutes
for the spectra and App. A.2, 2026-11-29, and 29 minutes more for the per-layer spectra
and error bars, about 3 minutes a checkpoint, 2026-11-30, with the cores shared)::

  python experiments/gd_vs_sgd.py --workdir runs/gd_vs_sgd
  python experiments/convergence_intervals.py --runs runs/gd_vs_sgd

It writes ``experiments/results/convergence_intervals.json`` (per-seed eigenvalues,
ratios and divergence steps, per-block values (``per_layer``) and uncertainties
(``uncertainty``) of both checkpoints' runs, the two summary tables, and the claims with
their verdicts; RESULTS.md section 3 is generated from it),
``experiments/figures/convergence_intervals.png`` (every seed) and
``convergence_intervals_per_layer.png`` (per-block lambda_1, lambda_1 with its error bars).

Paper's claims: the top eigenvalues of a GD-trained WideResNet are large (~200), so the
intervals are narrow and the rate in use lies inside them; a mild increase of the rate
makes GD diverge at once. Read also as the edge of stability (Cohen et al. 2021; see
``experiments/edge_of_stability.py``): is lambda_1 *at* an edge (TOST, ``lr lambda_1 /
bound`` within +-10% of 1), does it rise after the decay, and how many continuations
diverge (exact binomial; :func:`decide`). ``--decide-only`` recomputes the claims from the
results file's per-seed numbers, without runs. Expected (measured
2026-11-29, five seeds): lambda_1 ~23 at step 60 (lr lambda_1 / 2 ~1.1, at plain GD's
edge; ~0.6 of the heavy-ball bound), ~100 at step 240; no continuation diverges within
50 steps, even at x4 (the loss spikes, then lambda_1 falls below the new edge). The stem
block has the largest top eigenvalue at both checkpoints (~16 of lambda_1 ~23 at step 60,
~78 of ~100 at step 240) and sharpens ~5 fold after the decay, the first two residual
blocks 3-4 fold, the last less than 2 fold, the head not. Sampling dominates lambda_1's
uncertainty: the 4 chunks' lambda_1 spread by ~16% of it (std), ~170-650x the numerical
residual (<= 1e-3). Per seed and verdicts: experiments/RESULTS.md section 3.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib

import numpy as np
from matplotlib.figure import Figure

from lrsched.hessian_command import add_parser, load_run
from lrsched.plotting import save_figure
from lrsched.train import markdown_table, train
from lrsched.train.loop import NonFiniteLossError
from lrsched.train.run_model import read_run_config
from lrsched.train.rundir import read_jsonl
from lrsched.train.sweep import add_results_arguments, redecide, write_results
from lrsched.train.verdicts import claim, count_claim, equivalence_claim

HERE = pathlib.Path(__file__).resolve().parent
MOMENTUM = 0.9
FACTORS = (1.0, 1.5, 2.0, 4.0)
CONTINUE_STEPS = 50
DIVERGED = 10.0  # a loss above this multiple of the starting loss counts as diverged
PAPER_LAMBDA = 100.0  # "~200": the premise, tested as lambda_1 above half of it
EDGE_MARGIN = 0.1  # "at the edge": lr * lambda_1 / bound within +-10% of 1 (TOST), as in
# experiments/edge_of_stability.py


def decide(runs: dict[str, dict], stages: list[str], at: int, continue_steps: int
           ) -> list[dict]:
  """The claims and their verdicts, from the per-seed numbers of ``runs`` (the record's).

  You et al.'s claims as they state them, and the edge-of-stability reading (Cohen et al.
  2021) of the same numbers: whether the sharpness sits *at* an edge (TOST, margin
  ``EDGE_MARGIN``) rather than below it, and whether a mild increase diverges, counted
  per run (exact binomial: a run that never diverged is a censored outcome, not a
  duration of ``continue_steps``). ``python experiments/convergence_intervals.py
  --decide-only`` recomputes them from the committed results file.
  """
  before, after = (runs[label]["final"] for label in stages)
  n = len(before["lambda_1"])
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
      equivalence_claim("edge of stability: at the end of the large-rate stage lambda_1 sits "
                        "at plain GD's edge, lr x lambda_1 / 2 within +-10% of 1",
                        "lr_x_lambda_1 / 2", before["lr_x_lambda_1 / 2"], 1.0, EDGE_MARGIN),
      equivalence_claim("edge of stability: at the end of the large-rate stage lambda_1 sits "
                        "at heavy-ball's edge (the bound of the optimizer in use), "
                        "lr x lambda_1 / (2+2g) within +-10% of 1",
                        "lr_x_lambda_1 / (2+2g)", before["lr_x_lambda_1 / (2+2g)"], 1.0,
                        EDGE_MARGIN),
      claim(f"progressive sharpening after the decay: lambda_1 at {stages[1]} above {stages[0]}",
            "lambda_1", stages[1], stages[0], after["lambda_1"], before["lambda_1"], ">"),
      claim(f"after the decay lambda_1 has not (yet) reached the new edge 2/lr: "
            f"lr x lambda_1 / 2 below 1 at {stages[1]}", "lr_x_lambda_1 / 2",
            "lr x lambda_1 / 2", "1", after["lr_x_lambda_1 / 2"], [1.0] * n, "<"),
  ]
  pooled = []
  for factor in FACTORS[1:]:
    name = f"GD x{factor:g} from step {at}"
    diverged = [s < continue_steps for s in runs[name]["final"]["steps_before_divergence"]]
    pooled += diverged
    claims.append(count_claim(
        f"a mild rate increase (x{factor:g}) makes GD diverge (the loss above {DIVERGED:g}x "
        f"its start within {continue_steps} steps)", "diverged", diverged))
  claims.append(count_claim(
      f"a mild rate increase (x1.5, x2 or x4, pooled: {len(pooled)} runs; the three share "
      f"each seed's starting weights) makes GD diverge within {continue_steps} steps",
      "diverged", pooled))
  return claims


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


def block_of(path: str) -> str:
  """A parameter's block: ``stem``, ``blocks/i`` (a residual block), ``norm`` or ``head``."""
  parts = path.split("/")
  return "/".join(parts[:2]) if parts[0] == "blocks" else parts[0]


def network_order(group: str) -> tuple[int, int]:
  """Sort key of a :func:`block_of` name: stem, the residual blocks in order, norm, head."""
  if group.startswith("blocks/"):
    return 1, int(group.split("/")[1])
  return {"stem": (0, 0), "norm": (2, 0), "head": (3, 0)}.get(group, (4, 0))


def uncertainty(run_dir: pathlib.Path, epoch: int, out: pathlib.Path, stored: dict,
                bars: int = 4, trace_probes: int = 10) -> dict:
  """Per-block top eigenvalues and lambda_1's two uncertainties at one checkpoint.

  The same loss and data as :func:`spectrum` (train mode, 4 chunks of 256). Computes
  (read back from ``out / "uncertainty.json"`` when done):

  * ``per_layer``: each block's top eigenvalue and trace (``trace_probes`` Hutchinson
    probes) of its diagonal Hessian block (:func:`lrsched.hessian.per_layer`, blocks
    :func:`block_of`), in network order;
  * ``numerical``: the stored lambda_1's Lanczos residual estimate, and a fresh top-1
    (``tol`` 1e-3) with its true relative residual ``||H v - theta v|| / theta`` (one
    more HVP; it bounds ``|lambda - theta| / theta``);
  * ``sampling``: lambda_1 on each of ``bars`` disjoint subsets of the batches (one chunk
    of 256 each): mean, std and 95% t-interval (``error_bars=bars``).
  """
  from lrsched.data import normalize
  from lrsched.hessian import DatasetHessian, model_loss, per_layer, top_eigenvalues

  path = out / "uncertainty.json"
  if path.exists():
    return json.loads(path.read_text())
  parser = argparse.ArgumentParser()
  add_parser(parser.add_subparsers())
  args = parser.parse_args(["hessian", str(run_dir), "--epoch", str(epoch), "--mode", "train",
                            "--batch-size", "256", "--num-batches", "4"])
  _, model, batches, (mean, std), _, _ = load_run(args)
  loss_fn, params = model_loss(model, "train", preprocess=lambda x: normalize(x, mean, std))
  operator = DatasetHessian(loss_fn, params, batches)
  bars = min(bars, len(batches))
  eig = top_eigenvalues(operator, k=1, tol=1e-3, error_bars=bars if bars >= 2 else None,
                        return_eigenvectors=True)
  v = np.asarray(operator.spec.ravel(eig.eigenvectors[0]), np.float64)
  v /= np.linalg.norm(v)
  hv = np.asarray(operator.matvec(v.astype(operator.dtype)), np.float64)
  theta = float(v @ hv)
  true = float(np.linalg.norm(hv - theta * v))
  rows = per_layer(loss_fn, params, batches, k=1, group=block_of, trace_probes=trace_probes)
  rows.sort(key=lambda r: network_order(r["group"]))
  stored_eigen = stored["eigen"]
  result = {
      "per_layer": rows,
      "numerical": {"lambda_1": stored_eigen["eigenvalues"][0],
                    "lanczos_relative_residual": stored_eigen["relative_residuals"][0],
                    "tol": stored_eigen["tol"], "top1_lambda_1": float(eig.eigenvalues[0]),
                    "top1_lanczos_relative_residual": float(eig.relative_residuals[0]),
                    "top1_rayleigh_quotient": theta,
                    "top1_true_relative_residual": true / abs(theta)},
      "sampling": None if eig.sampling is None else {
          key: eig.sampling[key] for key in ("subsets", "values", "mean", "std", "ci_low",
                                             "ci_high")},
      "num_matvecs": operator.num_matvecs}
  out.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(result, indent=1) + "\n")
  return result


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
      # the first 256 training samples (all of them in a smaller test run)
      sharpness_batch_size=min(256, source.train_subset or 256), progress=False)
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


def summarize(stages: dict[str, tuple[int, float]],
              parts: dict[str, list[dict]]) -> tuple[dict[str, dict], list[str]]:
  """Per-seed per-block and uncertainty values of each checkpoint, and the two tables."""
  per_stage = {}
  for label, records in parts.items():
    groups = [row["group"] for row in records[0]["per_layer"]]
    numerical = [r["numerical"] for r in records]
    sampling = [r["sampling"] for r in records]
    per_stage[label] = {
        "per_layer": {"groups": groups,
                      "sizes": [row["size"] for row in records[0]["per_layer"]],
                      "lambda_1": [[row["eigenvalues"][0] for row in r["per_layer"]]
                                   for r in records],
                      "trace": [[row["trace"] for row in r["per_layer"]] for r in records],
                      "trace_std_error": [[row["trace_std_error"] for row in r["per_layer"]]
                                          for r in records]},
        "uncertainty": {
            "lambda_1": [n["lambda_1"] for n in numerical],
            "lanczos_relative_residual": [n["lanczos_relative_residual"] for n in numerical],
            "top1_lambda_1": [n["top1_lambda_1"] for n in numerical],
            "top1_true_relative_residual": [n["top1_true_relative_residual"]
                                            for n in numerical],
            "subsets": None if sampling[0] is None else sampling[0]["subsets"],
            "subset_lambda_1": [None if x is None else [v[0] for v in x["values"]]
                                for x in sampling],
            "subset_std": [None if x is None else x["std"][0] for x in sampling],
            "ci_low": [None if x is None else x["ci_low"][0] for x in sampling],
            "ci_high": [None if x is None else x["ci_high"][0] for x in sampling]}}
  labels = list(stages)
  first = per_stage[labels[0]]["per_layer"]
  header = ["block", "parameters"]
  for label in labels:
    header += [f"lambda_1, {label.split(' (')[0]}", f"trace, {label.split(' (')[0]}"]
  rows = []
  for i, (group, size) in enumerate(zip(first["groups"], first["sizes"], strict=True)):
    row = [group, str(size)]
    for label in labels:
      layer = per_stage[label]["per_layer"]
      row += [_mean_std([seed[i] for seed in layer["lambda_1"]]),
              _mean_std([seed[i] for seed in layer["trace"]])]
    rows.append(row)
  row = ["whole model", str(sum(first["sizes"]))]
  for label in labels:
    row += [_mean_std(per_stage[label]["uncertainty"]["lambda_1"]), "-"]
  rows.append(row)
  layers = markdown_table(header, rows) + (
      "\n\nPer block (stem, residual blocks, final BatchNorm, linear head): the top eigenvalue "
      "(Lanczos, relative residual 1e-3) and trace (Hutchinson, 10 probes) of its diagonal "
      "Hessian block, the other blocks held fixed; same loss and data as lambda_1; mean ± std "
      "over seeds.")
  rows = []
  for label in labels:
    u = per_stage[label]["uncertainty"]
    lam = np.asarray(u["lambda_1"])
    moved = np.abs(np.asarray(u["top1_lambda_1"]) - lam) / lam
    true = np.asarray(u["top1_true_relative_residual"])
    if u["subsets"] is None:
      rows.append([label, _mean_std(lam), f"{true.max():.1e}", f"{moved.max():.1e}",
                   "-", "-", "-", "-"])
      continue
    sub = np.asarray(u["subset_lambda_1"])
    std = np.asarray(u["subset_std"]) / lam
    half = (np.asarray(u["ci_high"]) - np.asarray(u["ci_low"])) / 2 / lam
    rows.append([label, _mean_std(lam), f"{true.max():.1e}", f"{moved.max():.1e}",
                 _mean_std(sub.mean(1)), f"{std.mean():.2f} ({std.min():.2f}-{std.max():.2f})",
                 f"{half.mean():.2f} ({half.min():.2f}-{half.max():.2f})",
                 f"{(std / true).min():.0f}"])
  bars = per_stage[labels[0]]["uncertainty"]["subsets"]
  spread = markdown_table(
      ["checkpoint", "lambda_1 (1024 images)", "numerical: relative residual (max)",
       "numerical: top-1 rerun vs top-10, relative (max)",
       f"lambda_1 on {bars} subsets: mean of subset values",
       "sampling: subset std / lambda_1, mean (min-max)",
       "sampling: 95% CI half-width / lambda_1, mean (min-max)",
       "subset std / residual (min)"], rows) + (
      f"\n\nThe two uncertainties of lambda_1 (mean ± std or max/min over seeds). Numerical: "
      f"the true relative residual ||H v - theta v|| / theta of a top-1 Lanczos rerun "
      f"(tol 1e-3; it bounds the relative error of theta), and how far that rerun moved from "
      f"the stored top-10 value. Sampling: lambda_1 on each of {bars} disjoint subsets of "
      f"the 1024 images (one chunk of 256 each, `error_bars={bars}`), their std and the 95% "
      f"t-interval of their mean, relative to lambda_1.")
  return per_stage, [layers, spread]


def _mean_std(values) -> str:
  values = np.asarray(values, dtype=np.float64)
  mean, std = values.mean(), (values.std(ddof=1) if values.size > 1 else 0.0)
  digits = 1 if abs(mean) >= 10 else 2 if abs(mean) >= 1 else 3
  return f"{mean:.{digits}f} ± {std:.{digits}f}"


def plot_uncertainty(per_stage: dict[str, dict], path: pathlib.Path) -> None:
  """Per-block lambda_1 before/after the decay, and lambda_1 per seed with its error bars."""
  fig = Figure(figsize=(12, 4.2), layout="constrained")
  axes = fig.subplots(1, 2)
  labels = list(per_stage)
  groups = per_stage[labels[0]]["per_layer"]["groups"]
  x = np.arange(len(groups))
  width = 0.8 / len(labels)
  for j, label in enumerate(labels):
    values = np.asarray(per_stage[label]["per_layer"]["lambda_1"])
    offset = (j - (len(labels) - 1) / 2) * width
    axes[0].bar(x + offset, values.mean(0), width, color=f"C{j}", alpha=0.6,
                label=label.split(" (")[0])
    for seed in values:
      axes[0].plot(x + offset, seed, "k.", markersize=3)
    u = per_stage[label]["uncertainty"]
    lam = np.asarray(u["lambda_1"])
    seeds = np.arange(len(lam)) + (j - (len(labels) - 1) / 2) * 0.2
    axes[1].plot(seeds, lam, "o", color=f"C{j}", label=f"{label.split(' (')[0]}: all 1024")
    if u["subsets"] is not None:
      mid = (np.asarray(u["ci_high"]) + np.asarray(u["ci_low"])) / 2
      axes[1].errorbar(seeds + 0.07, mid, yerr=np.asarray(u["ci_high"]) - mid, fmt="_",
                       color=f"C{j}", capsize=3,
                       label=f"{label.split(' (')[0]}: 95% CI over {u['subsets']} subsets")
      for s, sub in zip(seeds, u["subset_lambda_1"], strict=True):
        axes[1].plot([s + 0.16] * len(sub), sub, "x", color=f"C{j}", markersize=4, alpha=0.7)
  axes[0].set_yscale("log")
  axes[0].set_xticks(x, groups)
  axes[0].set_ylabel("lambda_1 of the block's Hessian")
  axes[0].set_title("per block: mean over seeds (bars), each seed (dots)", fontsize="medium")
  axes[0].legend(fontsize="small")
  axes[1].set_yscale("log")
  axes[1].set_xticks(np.arange(len(lam)), [f"seed {i}" for i in range(len(lam))])
  axes[1].set_ylabel("lambda_1")
  axes[1].set_title("lambda_1 per seed (numerical error < 1e-3 relative: inside the dot)\n"
                    "and the spread of the subsets' values (x)", fontsize="medium")
  axes[1].legend(fontsize="small")
  save_figure(fig, path)


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
  add_results_arguments(parser, HERE / "results/convergence_intervals.json", HERE / "figures")
  args = parser.parse_args(argv)
  if args.decide_only:
    return redecide(args.results, decide_record)
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
  parts = {label: [uncertainty(run / f"seed{s}", epoch, out / f"seed{s}" / f"step{epoch}", r)
                   for s, r in zip(args.seeds, spectra[label], strict=True)]
           for label, (epoch, _) in stages.items()}
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
  per_stage, tables = summarize(stages, parts)
  for label, extra in per_stage.items():
    runs[label].update(extra)
  for factor, per_seed in continued.items():
    runs[f"GD x{factor:g} from step {at}"] = {
        "seeds": args.seeds, "epochs": [len(r["losses"]) for r in per_seed],
        "final": {"steps_before_divergence": [r["steps_before_divergence"] for r in per_seed],
                  "learning_rate": [r["learning_rate"] for r in per_seed]},
        "config": {"source": args.run, "checkpoint": at, "factor": factor,
                   "steps": args.continue_steps,
                   "diverged": f"loss > {DIVERGED:g}x its first step"}}
  claims = decide(runs, list(stages), at, args.continue_steps)
  record = {"experiment": "convergence_intervals", "claims": claims, "runs": runs,
            "tables": tables}
  write_results(args.results, record)
  plot(spectra, {label: lr for label, (_, lr) in stages.items()}, continued,
       pathlib.Path(args.figures) / "convergence_intervals.png")
  plot_uncertainty(per_stage, pathlib.Path(args.figures) / "convergence_intervals_per_layer.png")
  for item in claims:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


def decide_record(record: dict) -> list[dict]:
  """:func:`decide` on a results file's record (``--decide-only``)."""
  runs = record["runs"]
  stages = [label for label in runs if label.startswith("step ")]
  at = runs[stages[0]]["config"]["checkpoint"]
  steps = next(r["config"]["steps"] for label, r in runs.items() if label.startswith("GD x"))
  return decide(runs, stages, at, steps)


if __name__ == "__main__":
  main()
