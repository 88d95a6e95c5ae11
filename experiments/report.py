"""Writes the generated parts of experiments/RESULTS.md from experiments/results/*.json.

Each experiment script writes its raw per-seed results to ``results/<experiment>.json``
(:func:`lrsched.train.sweep.results_record`). This script rewrites, in RESULTS.md, the
block between ``<!-- generated:verdicts -->`` and ``<!-- end generated -->`` (the verdict
table of every claim) and each experiment's block ``<!-- generated:<experiment> -->``
(its runs' final metrics and its claims with their paired differences and verdicts).
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


def verdict_table(records: list[dict]) -> str:
  """Every claim of every experiment: its comparison, paired difference and verdict."""
  lines = ["| experiment | claim | A vs B (metric) | A − B, mean [95% CI] | seeds | verdict |",
           "|---|---|---|---|---|---|"]
  for record in records:
    for item in record["claims"]:
      if item["verdict"] == "not tested":
        lines.append(f"| {record['experiment']} | {item['claim']} | - | - | - | "
                     f"**not tested**: {item['why']} |")
        continue
      lines.append(f"| {record['experiment']} | {item['claim']} | {item['a']} "
                   f"{item['direction']} {item['b']} ({item['metric']}) | "
                   f"{_difference(item)} | {item['n']} | **{item['verdict']}** |")
  return "\n".join(lines)


def experiment_block(record: dict, metrics: list[str] | None = None) -> str:
  """One experiment's runs (final metrics, mean ± std over seeds) and claims, as prose."""
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
  lines.append("")
  for table in record.get("tables", []):  # summaries the script derived from the same runs
    lines += [table, ""]
  for item in record["claims"]:
    if item["verdict"] == "not tested":
      lines.append(f"* **not tested** -- {item['claim']}: {item['why']}")
      continue
    lines.append(f"* **{item['verdict']}** -- {item['claim']}: on `{item['metric']}`, "
                 f"{item['a']} − {item['b']} = {_difference(item)} (mean [95% CI] of the "
                 f"{item['n']} paired seeds; claimed {item['direction']} 0).")
  return "\n".join(lines)


def load_records(directory: pathlib.Path = RESULTS_DIR) -> list[dict]:
  return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def render(text: str, records: list[dict]) -> str:
  """``text`` with every generated block rewritten from ``records``."""
  blocks = {"verdicts": verdict_table(records)}
  blocks.update({r["experiment"]: experiment_block(r) for r in records})
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
