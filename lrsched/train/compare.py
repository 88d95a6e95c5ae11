"""Train several configs side by side and tabulate their final metrics."""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Mapping, Sequence

from lrsched.plotting import plot_training_curves
from lrsched.train.config import Config
from lrsched.train.loop import train
from lrsched.train.sweep import finished_history

# (column title, metric key) in table order; missing keys are left out.
COLUMNS = (
    ("train loss", "train_loss"),
    ("test acc %", "test_accuracy"),
    ("test simple %", "test_accuracy_simple"),
    ("test complex %", "test_accuracy_complex"),
    ("train simple %", "train_eval_accuracy_simple"),
    ("train complex %", "train_eval_accuracy_complex"),
    ("train noise memorized %", "train_eval_accuracy_noise"),
)


def compare(configs: Mapping[str, Config], workdir: str | pathlib.Path, *,
            resume: bool = False) -> list[dict]:
  """Trains each config in ``workdir/<name>``; writes ``summary.json`` and ``compare.png``.

  Args:
    configs: ``{run name: config}``.
    workdir: parent directory of the runs.
    resume: resume runs that have checkpoints. Either way, a run that already finished
      with the same config is read back from its ``metrics.jsonl`` (not retrained), so
      rerunning a comparison prints its table again.

  Returns:
    One row per run: ``{"run": name, **final epoch record}``.
  """
  if not configs:
    raise ValueError("configs must hold at least one config")
  workdir = pathlib.Path(workdir)
  histories = {}
  for name, config in configs.items():
    try:
      finished = finished_history(config, workdir / name)
    except ValueError:
      if not resume:
        raise
      finished = None  # a run to resume with changes that resuming allows (e.g. epochs)
    if finished is not None:
      print(f"{name}: finished earlier in {workdir / name}; read back, not retrained",
            file=sys.stderr)
    histories[name] = finished or train(config, workdir / name, resume=resume).history
  rows = [{"run": name, **history[-1]} for name, history in histories.items()]
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
  plot_training_curves([], workdir / "compare.png", runs=histories)
  return rows


def format_table(rows: Sequence[Mapping[str, float]]) -> str:
  """A plain-text table of the :data:`COLUMNS` present in ``rows`` (accuracies in %)."""
  columns = [(title, key) for title, key in COLUMNS if any(key in r for r in rows)]
  header = ["run"] + [title for title, _ in columns]
  lines = [header]
  for row in rows:
    cells = [str(row["run"])]
    for _, key in columns:
      value = row.get(key)
      if value is None:
        cells.append("-")
      elif "accuracy" in key:
        cells.append(f"{100 * value:.1f}")
      else:
        cells.append(f"{value:.4f}")
    lines.append(cells)
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  text = ["  ".join(cell.rjust(w) if i else cell.ljust(w)
                    for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
          for line in lines]
  text.insert(1, "  ".join("-" * w for w in widths))
  return "\n".join(text)


def reading(rows: Sequence[Mapping[str, float]]) -> str:
  """One sentence that reads the table: who learned more, by how much (final epoch).

  With PS10's per-kind metrics it compares complex-pattern test accuracy and the share of
  noisy training samples whose (wrong) label the network reproduces (memorization: 0% for a
  model that ignores the noise, 100% for one that memorizes all of it), or says that the
  labels are clean, so the gap is the schedules' own and no label-noise effect; otherwise
  test accuracy. One run: its numbers.

  Example:
    >>> print(reading([{"run": "a", "test_accuracy": 0.8}, {"run": "b", "test_accuracy": 0.7}]))
    a reached the highest test accuracy: 80.0% vs 70.0% for b (+10.0 points).
  """
  if not rows:
    raise ValueError("rows must hold at least one run")
  splits = sorted({k.split("_accuracy")[0] for r in rows for k in r
                   if "_accuracy" in k and not k.startswith("train")})
  candidates = [f"{split}_accuracy{suffix}" for suffix in ("_complex", "") for split in splits]
  key = next((k for k in candidates if all(k in r for r in rows)), None)
  if key is None:
    return "no evaluation accuracy to compare."
  split = key.split("_accuracy")[0]
  what = (f"complex-pattern {split} accuracy" if key.endswith("complex")
          else f"{split} accuracy")
  ranked = sorted(rows, key=lambda r: -r[key])
  best, rest = ranked[0], ranked[1:]
  if not rest:
    return f"{best['run']}: {what} {100 * best[key]:.1f}%."
  if best[key] == rest[0][key]:
    return (f"{best['run']} and {rest[0]['run']} tie on {what} "
            f"({100 * best[key]:.1f}%).")
  others = ", ".join(f"{100 * r[key]:.1f}% for {r['run']}" for r in rest)
  text = (f"{best['run']} reached the highest {what}: {100 * best[key]:.1f}% vs {others} "
          f"(+{100 * (best[key] - rest[0][key]):.1f} points).")
  noise = "train_eval_accuracy_noise"
  if all(noise in r for r in rows):
    memorized = ", ".join(f"{r['run']} {100 * r[noise]:.1f}%" for r in ranked)
    text += (f" Noisy training samples given their wrong label (memorized; 0% none, 100% "
             f"all): {memorized}.")
  elif key.endswith("complex"):
    text += " Clean labels: the gap is the schedules' own, not a label-noise effect."
  return text
