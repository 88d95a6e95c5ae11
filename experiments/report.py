"""Writes the generated parts of experiments/RESULTS.md from experiments/results/*.json.

Each experiment script writes its raw per-seed results to ``results/<experiment>.json``
(:func:`lrsched.train.sweep.results_record`). This script rewrites, in RESULTS.md, the
block between ``<!-- generated:verdicts -->`` and ``<!-- end generated -->`` (the verdict
table of every claim: paired differences, TOST equivalence and exact binomial counts) and
each experiment's block ``<!-- generated:<experiment> -->`` (its runs' final metrics, or
the experiment's own tables, and its claims with their estimates and verdicts; "not yet
run" while its JSON file does not exist).
Nothing between the markers is written by hand; ``--check`` exits 1 when RESULTS.md
disagrees with the JSON files (tests/test_results.py runs it). Run::

  python experiments/report.py           # rewrite the generated blocks
  python experiments/report.py --check   # fail if they are stale
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import re
import sys

from lrsched.train.sweep import mean_std
from lrsched.train.verdicts import claim_kind

HERE = pathlib.Path(__file__).resolve().parent
RESULTS_MD = HERE / "RESULTS.md"
RESULTS_DIR = HERE / "results"
END = "<!-- end generated -->"


def _scale(metric: str | None) -> tuple[float, str]:
  """Accuracies are shown in % (differences in points); other metrics as they are."""
  if metric and "accuracy" in metric:
    return 100.0, " points"
  return 1.0, ""


def _mean_std(values: list) -> str:
  finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
  if not finite:
    return "-"
  mean, std = mean_std(finite)
  if len(finite) == 1:
    return f"{mean:.3g}"
  if abs(mean) >= 10:
    return f"{mean:.1f} ± {std:.1f}"
  return f"{mean:.2f} ± {std:.2f}" if abs(mean) >= 1 else f"{mean:.3f} ± {std:.3f}"


def _difference(item: dict) -> str:
  scale, unit = _scale(item["metric"])
  return (f"{scale * item['mean_difference']:+.2f}{unit} "
          f"[{scale * item['ci_low']:+.2f}, {scale * item['ci_high']:+.2f}]")


def _num(value: float) -> str:
  return f"{value:#.4g}"


TEST_NAMES = {"paired_t": "paired t", "equivalence": "TOST", "non_inferiority":
              "non-inferiority", "binomial": "exact binomial", "rank": "rank",
              "bootstrap_ratio": "bootstrap ratio"}


def _margin(item: dict) -> str:
  scale, unit = _scale(item["metric"])
  return f"{scale * item['margin']:g}{unit}"


def _test(item: dict) -> str:
  """The verdict table's comparison: the test, what it compares, on which metric."""
  kind = claim_kind(item)
  name, metric = TEST_NAMES[kind], item["metric"]
  if kind == "paired_t":
    return f"{name}: {item['a']} {item['direction']} {item['b']} ({metric})"
  if kind == "equivalence":
    if "a" in item:
      return f"{name}: {item['a']} = {item['b']} ± {_margin(item)} ({metric})"
    scale, _ = _scale(metric)
    return f"{name}: mean in {scale * item['target']:g} ± {_margin(item)} ({metric})"
  if kind == "non_inferiority":
    worse = "below" if item["direction"] == ">" else "above"
    return (f"{name}: {item['a']} not {worse} {item['b']} by more than {_margin(item)} "
            f"({metric})")
  if kind == "rank":
    return (f"{name}: {item['subject']}'s share of top-{item['top']} finishes minus the best "
            f"rival's > 0 ({metric})")
  if kind == "bootstrap_ratio":
    return f"{name}: {item['a']} / {item['b']} {item['direction']} {item['threshold']:g} ({metric})"
  return f"{name}: P > 1/2 ({metric})"


def _estimate(item: dict) -> str:
  """The verdict table's estimate with its interval, by the claim's test."""
  kind = claim_kind(item)
  if kind in ("paired_t", "non_inferiority"):
    return _difference(item) + (f" ({item['confidence']:.0%})" if kind == "non_inferiority"
                                else "")
  if kind == "equivalence":
    scale, _ = _scale(item["metric"])
    return (f"{_num(scale * item['mean'])} [{_num(scale * item['ci_low'])}, "
            f"{_num(scale * item['ci_high'])}] ({item['confidence']:.0%}) vs "
            f"{scale * item['target']:g} ± {scale * item['margin']:g}")
  if kind == "rank":
    return (f"{item['statistic']:+.2f} [{item['ci_low']:+.2f}, {item['ci_high']:+.2f}] "
            f"(shares: {_shares(item)})")
  if kind == "bootstrap_ratio":
    if not item["denominator_sign_resolved"]:
      return f"{item['ratio']:.3g} (the denominator's sign is not resolved)"
    return f"{item['ratio']:.3g} [{item['ci_low']:.3g}, {item['ci_high']:.3g}]"
  return (f"{item['count']}/{item['n']} [{item['ci_low']:.2f}, {item['ci_high']:.2f}] "
          f"(95% exact)")


def _shares(item: dict) -> str:
  ranked = sorted(item["shares"].items(), key=lambda kv: -kv[1])
  return ", ".join(f"{name} {share:.2f}" for name, share in ranked)


def verdict_table(records: list[dict]) -> str:
  """Every claim of every experiment: what it compares, the estimate, its interval, the verdict."""
  lines = ["| experiment | claim | test: comparison (metric) | estimate [CI] | seeds | verdict |",
           "|---|---|---|---|---|---|"]
  for record in records:
    for item in record["claims"]:
      if item["verdict"] == "not tested":
        lines.append(f"| {record['experiment']} | {item['claim']} | - | - | - | "
                     f"**not tested**: {item['why']} |")
        continue
      lines.append(f"| {record['experiment']} | {item['claim']} | {_test(item)} | "
                   f"{_estimate(item)} | {item['n']} | **{item['verdict']}** |")
  return "\n".join(lines)


def claim_line(item: dict) -> str:
  """One claim as a bullet: verdict, claim, estimate and the test that decided it."""
  kind = claim_kind(item)
  if kind == "not tested":
    return f"* **not tested** -- {item['claim']}: {item['why']}"
  head = f"* **{item['verdict']}** -- {item['claim']}: "
  metric = item["metric"]
  if kind == "paired_t":
    return head + (f"on `{metric}`, {item['a']} − {item['b']} = {_difference(item)} "
                   f"(mean [95% CI] of the {item['n']} paired seeds; claimed "
                   f"{item['direction']} 0).")
  if kind == "equivalence":
    scale, _ = _scale(metric)
    low, high = scale * (item["target"] - item["margin"]), scale * (item["target"]
                                                                    + item["margin"])
    what = f"{item['a']} − {item['b']}, " if "a" in item else ""
    return head + (f"on `{metric}`, {what}mean {_num(scale * item['mean'])} "
                   f"[{_num(scale * item['ci_low'])}, {_num(scale * item['ci_high'])}] "
                   f"({item['confidence']:.0%} t-interval of the {item['n']} seeds) vs "
                   f"({low:g}, {high:g}): TOST, reproduced inside, contradicted wholly "
                   f"outside.")
  if kind == "non_inferiority":
    side = "above −" if item["direction"] == ">" else "below +"
    return head + (f"on `{metric}`, {item['a']} − {item['b']} = {_difference(item)} "
                   f"({item['confidence']:.0%} t-interval of the {item['n']} paired seeds): "
                   f"non-inferiority, reproduced when it lies {side}{_margin(item)}, "
                   f"contradicted when wholly beyond it.")
  if kind == "rank":
    return head + (f"on `{metric}`, {item['subject']}'s share of top-{item['top']} finishes "
                   f"minus the best rival's = {item['statistic']:+.2f} [{item['ci_low']:+.2f}, "
                   f"{item['ci_high']:+.2f}] (95% bootstrap over the {item['n']} seeds; "
                   f"shares: {_shares(item)}): reproduced above 0, contradicted below.")
  if kind == "bootstrap_ratio":
    return head + (f"on `{metric}`, mean({item['a']}) / mean({item['b']}) = "
                   f"{_estimate(item)} (95% paired bootstrap over the {item['n']} seeds; "
                   f"claimed {item['direction']} {item['threshold']:g}).")
  return head + (f"`{metric}` in {item['count']} of {item['n']} runs, probability "
                 f"[{item['ci_low']:.2f}, {item['ci_high']:.2f}] (95% Clopper-Pearson): "
                 f"reproduced above 1/2, contradicted below.")


def final_metrics_table(record: dict, metrics: list[str] | None = None) -> list[str]:
  """The runs' final metrics (mean ± std over seeds), as table lines and a caption."""
  runs = record["runs"]
  keys = metrics or sorted({k for run in runs.values() for k, v in run["final"].items()
                            if any(x is not None for x in v)})
  header = ["run", "seeds"] + [k + (" (%)" if _scale(k)[0] == 100 else "") for k in keys]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for name, run in runs.items():
    cells = [name, str(len(run["seeds"]))]
    for key in keys:
      scale, _ = _scale(key)
      values = [None if v is None else scale * v for v in run["final"].get(key, [])]
      cells.append(_mean_std(values))
    lines.append("| " + " | ".join(cells) + " |")
  lines.append("")
  best = " (`best_*`: the best epoch)" if any(k.startswith("best_") for k in keys) else ""
  lines.append(f"Final epoch{best}, mean ± std over seeds; per-seed values in "
               f"`experiments/results/{record['experiment']}.json`.")
  return lines


def experiment_block(record: dict, metrics: list[str] | None = None) -> str:
  """One experiment's runs (final metrics, mean ± std over seeds) and claims, as prose."""
  lines = final_metrics_table(record, metrics) + [""]
  for table in record.get("tables", []):  # summaries the script derived from the same runs
    lines += [table, ""]
  lines += [claim_line(item) for item in record["claims"]]
  return "\n".join(lines)


def _rate(config: dict) -> str:
  """A config's learning rate: a number, or a piecewise-constant jump ("0.04, x1.5 at 500")."""
  lr = config["learning_rate"]
  if isinstance(lr, (int, float)):
    return f"{lr:g}"
  if isinstance(lr, dict) and lr.get("name") == "piecewise_constant_schedule":
    jumps = ", ".join(f"x{scale:g} at step {step}"
                      for step, scale in lr["boundaries_and_scales"].items())
    return f"{lr['init_value']:g}, {jumps}"
  return f"`{json.dumps(lr)}`"


def _finite(values: list) -> list[float]:
  return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _per_seed(values: list) -> str:
  return ", ".join("-" if v is None or not math.isfinite(v) else f"{v:.3f}" for v in values)


def _mean_std_3(values: list) -> str:
  """Mean ± std to 3 decimals (``-`` when no value is finite)."""
  finite = _finite(values)
  if not finite:
    return "-"
  mean, std = mean_std(finite)
  return f"{mean:.3f} ± {std:.3f}" if len(finite) > 1 else f"{mean:.3f}"


def edge_of_stability_block(record: dict) -> str:
  """The edge-of-stability runs per seed (late lr·lambda_1/2, final loss, divergence),
  the claims and the figure."""
  header = ["run", "learning rate", "momentum", "steps", "late lr·λ₁/2, per seed",
            "late lr·λ₁/2", "late lr·λ₁/(2+2g)", "final train loss", "diverged"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for name, run in record["runs"].items():
    config, n = run["config"], len(run["seeds"])
    steps = run["diverged_step"]
    ok = [v for v, step in zip(run["final"]["train_loss"], steps, strict=True) if step is None]
    diverged = [(seed, step) for seed, step in zip(run["seeds"], steps, strict=True)
                if step is not None]
    momentum = config.get("momentum") or 0.0
    lines.append("| " + " | ".join([
        name, _rate(config), f"{momentum:g}" if isinstance(momentum, (int, float))
        else f"`{json.dumps(momentum)}`", str(run["steps"]),
        _per_seed(run["late_lr_sharpness_half"]), _mean_std_3(run["late_lr_sharpness_half"]),
        _mean_std_3(run["late_lr_sharpness_momentum"]) if momentum else "-",
        _mean_std_3(ok),
        (f"{len(diverged)} of {n}: step " + ", ".join(f"{step} (seed {seed})"
                                                      for seed, step in diverged))
        if diverged else f"none of {n}"]) + " |")
  seeds = sorted({s for run in record["runs"].values() for s in run["seeds"]})
  every = sorted({run["config"].get("sharpness_every") for run in record["runs"].values()})
  lines += ["", (
      f"Late: the mean of `lr · lambda_1 / 2` (the rate in use; momentum runs also "
      f"`/(2 + 2g)`) over the sharpness estimates (every {', '.join(map(str, every))} steps, "
      f"whole training set) after step `steps/2`, per seed in the order of the seeds "
      f"{', '.join(map(str, seeds))} (`-`: none, the run diverged first), and mean ± std. "
      f"Final train loss: mean ± std over the seeds that did not diverge. A run diverges at "
      f"the first step whose loss is not finite or exceeds 1e6. Every per-seed number and "
      f"trace is in `experiments/results/{record['experiment']}.json`."), ""]
  lines += [claim_line(item) for item in record["claims"]]
  lines += ["", "![training loss and sharpness per run, 2/lr dashed; seed 0 solid]"
                "(figures/edge_of_stability.png)"]
  if any(name.startswith(("sgd", "wrn")) for name in record["runs"]):  # part 5
    lines += ["", "![part 5: SGD on fc-tanh and GD on the WRN, sharpness with 2/lr dashed]"
                  "(figures/edge_of_stability_sgd_wrn.png)"]
  return "\n".join(lines)


def wide_spectrum_block(record: dict) -> str:
  """The WRN-16-8 top-10 at both checkpoints: values, jackknife, bounds, costs."""
  size, lines = record["size"], []
  for label, s in record["stages"].items():
    jack = s["jackknife"]
    lines += [f"**{label}** (lr {s['learning_rate']:g}; {s['num_examples']} images in "
              f"{s['batches']} batches; Lanczos {s['num_matvecs']} HVPs, jackknife "
              f"{s['jackknife_num_matvecs']} more; {s['seconds'] / 60:.0f} min):", "",
              "| i | lambda_i (all batches) | rel. residual | jackknife estimate | s.e. | "
              "95% interval | 2/lambda_i | (2+2g)/lambda_i |", "|---|---|---|---|---|---|---|---|"]
    for i, value in enumerate(s["eigenvalues"]):
      lines.append(
          f"| {i + 1} | {value:.4g} | {s['relative_residuals'][i]:.1e} | "
          f"{jack['estimate'][i]:.4g} | {jack['std_error'][i]:.3g} | "
          f"[{jack['ci_low'][i]:.4g}, {jack['ci_high'][i]:.4g}] | {2 / value:.4g} | "
          f"{3.8 / value:.4g} |")
    low, mid, high = s["jackknife lr_x_lambda_1 / 2"]
    lines += ["", f"lr · lambda_1 / 2 = {s['lr_x_lambda_1 / 2']:.3f} (jackknife {mid:.3f}, "
              f"95% [{low:.3f}, {high:.3f}]); lr · lambda_1 / (2+2g) = "
              f"{s['lr_x_lambda_1 / (2+2g)']:.3f}; all {len(s['eigenvalues'])} values "
              f"converged: {all(s['converged'])}.", ""]
  final, first = record["final"], next(iter(record["stages"].values()))
  lines.append(
      f"WRN-{size['depth']}-{size['widen']} ({first['num_params']:,} "
      f"parameters), GD on {size['num_train']} images, {size['steps']} steps (decay at "
      f"{size['decay_step']}); training {record['train_seconds'] / 60:.0f} min; final train "
      f"loss {final['train_loss']:.3f}, train accuracy {100 * final['train_accuracy']:.1f}%, "
      f"test accuracy {100 * final['test_accuracy']:.1f}%. Every number is in "
      f"`experiments/results/wide_spectrum.json`.")
  lines += ["", "![WRN-16-8: top-10 intervals with jackknife bars](figures/wide_spectrum.png)"]
  return "\n".join(lines)


def _range(values: list) -> str:
  finite = _finite(values)
  if not finite:
    return "-"
  low, high = min(finite), max(finite)
  return f"{low:.3g}" if low == high else f"{low:.3g} .. {high:.3g}"


def bn_and_weight_decay_block(record: dict) -> str:
  """The toy's four arms over seeds (ranges), the cycle of BN + weight decay, the twin."""
  runs = record["runs"]
  lines = ["| arm | seeds | at the minimum | largest excess, last 10% of steps | lowest "
           "excess | departures | weight norm, last 10% |", "|---|---|---|---|---|---|---|"]
  for arm, run in runs.items():
    final = run["final"]
    norms = final["norm_last_tenth_min"] + final["norm_last_tenth_max"]
    raw = " (raw, not x alpha^t)" if "exp lr" in arm else ""
    lines.append(f"| {arm} | {len(run['seeds'])} | {sum(final['reached_minimum'])} of "
                 f"{len(run['seeds'])} | {_range(final['max_excess_last_tenth'])} | "
                 f"{_range(final.get('min_excess', []))} | {_range(final['departures'])} | "
                 f"{_range(norms)}{raw} |")
  both, twin = runs["bn+wd"]["final"], runs["bn, exp lr"]["final"]
  ratios = [r for per_seed in both["edge_ratio_before_departures"] for r in per_seed]
  lines += ["", f"Ranges over seeds ({', '.join(map(str, runs['bn+wd']['seeds']))}); "
            f"per-seed values in `experiments/results/{record['experiment']}.json`. "
            f"BatchNorm + weight decay: the ratio eta (lambda_1 + lam) / 2 first passes 1 at "
            f"step {_range(both['first_edge_crossing'])}, the first departure follows "
            f"{_range(both.get('first_departure_lag', []))} steps later (step "
            f"{_range(both['first_departure'])}); after it the ratio falls as low as "
            f"{_range(both.get('edge_ratio_min_after_first_departure', []))}; a departure every "
            f"{_range(both['median_period'])} steps (median per seed); the ratio at the step "
            f"before a departure: {_range(ratios)} ({len(ratios)} departures). The twin: "
            f"1 - cos {_range(twin['one_minus_cos_while_stable'])} while the map is stable, "
            f"{_range(twin['one_minus_cos_before_first_departure'])} by the first "
            f"departure, {_range(twin['one_minus_cos_max'])} at worst over the run.", ""]
  lines += [claim_line(item) for item in record["claims"]]
  lines += ["", "![BatchNorm, weight decay, both: excess, norm, edge ratio]"
            "(figures/bn_and_weight_decay.png)"]
  return "\n".join(lines)


def exp_lr_equivalence_block(record: dict) -> str:
  """The three runs (a, b, c) per normalization: final numbers and gaps to (a)."""
  setup, lines = record["setup"], []
  for norm, entry in record["norms"].items():
    lines += [f"**{norm} norm**", "",
              "| run | final test acc | final train loss | weight norm | final lr | max "
              "test-acc gap to (a) | epochs with equal test acc | max rel. train-loss gap "
              "to (a) | 1 - cos vs (a) |", "|---|---|---|---|---|---|---|---|---|"]
    for row in entry["rows"].values():
      lines.append(
          f"| {row['run']} | {100 * row['test_accuracy']:.2f} | {row['train_loss']:.10f} | "
          f"{row['weight_norm']:.3f} | {row['final_lr']:.4g} | "
          f"{100 * row['max_abs_acc_diff_vs_a']:.2f} | "
          f"{row['epochs_with_equal_test_accuracy']} of {setup['epochs']} | "
          f"{row['max_rel_train_loss_diff_vs_a']:.1e} | {row['worst_1_minus_cos_vs_a']:.2e} |")
    lines.append("")
  lines += [f"{setup['dtype']}, {setup['epochs']} epochs, PreResNet-{setup['depth']}, seed "
            f"{setup['seed']}, data: {setup['data']}; every number and per-epoch curve is in "
            f"`experiments/results/{record['experiment']}.json`.", "",
            "![test accuracy, learning rate (log), weight norm, per normalization]"
            "(figures/exp_lr_equivalence.png)"]
  return "\n".join(lines)


# Experiments whose block is not the generic final-metrics table.
BLOCKS = {"edge_of_stability": edge_of_stability_block, "wide_spectrum": wide_spectrum_block,
          "bn_and_weight_decay": bn_and_weight_decay_block,
          "exp_lr_equivalence": exp_lr_equivalence_block}


def not_yet_run(name: str) -> str:
  return (f"Not yet run: `experiments/results/{name}.json` does not exist (`python "
          f"experiments/{name}.py` writes it, then `python experiments/report.py`).")


def load_records(directory: pathlib.Path | None = None) -> list[dict]:
  """Every ``<experiment>.json`` in ``directory`` (default: ``RESULTS_DIR``), by name."""
  directory = RESULTS_DIR if directory is None else directory
  return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def render(text: str, records: list[dict]) -> str:
  """``text`` with every generated block rewritten from ``records``.

  A block of ``text`` whose experiment has no record says that it has not been run yet.
  """
  blocks = {"verdicts": verdict_table(records)}
  blocks.update({r["experiment"]: BLOCKS.get(r["experiment"], experiment_block)(r)
                 for r in records})
  for name in re.findall(r"<!-- generated:([\w.-]+) -->", text):
    blocks.setdefault(name, not_yet_run(name))
  for name, body in blocks.items():
    start = f"<!-- generated:{name} -->"
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(text):
      raise ValueError(f"RESULTS.md has no block '{start} ... {END}' for {name}; add one")
    text = pattern.sub(lambda _, s=start, b=body: f"{s}\n{b}\n{END}", text)
  return text


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true",
                      help="exit 1 if RESULTS.md differs from what the JSON files give")
  args = parser.parse_args(argv)
  text = RESULTS_MD.read_text()
  new = render(text, load_records())
  if args.check:
    if new != text:
      print("experiments/RESULTS.md is stale: run python experiments/report.py",
            file=sys.stderr)
      return 1
    return 0
  RESULTS_MD.write_text(new)
  print(f"wrote {RESULTS_MD}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
