"""Seed sweeps: train every config with several seeds, summarize as mean +- std.

Every comparison in ``experiments/`` is claimed over several seeds. :func:`run_seeds`
trains ``configs x seeds`` in ``workdir/<name>/seed<k>``; a finished run (its
``metrics.jsonl`` complete) is read back, not retrained, and an interrupted one resumes
from its checkpoint (a config with ``checkpoint_every=0`` is saved once, at its last
epoch), so an experiment script can be rerun to regenerate its tables and figures. The seed replaces
``Config.seed`` (initialization, data order, augmentation); the data itself (e.g.
PS10's ``data["seed"]``) stays the same across seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lrsched.train.config import Config
from lrsched.train.loop import SAFE_ON_RESUME, config_differences, read_history, train
from lrsched.train.run_model import read_run_config
from lrsched.train.verdicts import VERDICTS

History = list[dict[str, Any]]
# The fields a resumed run may change except its budget: they do not change the results.
IGNORED_FIELDS = tuple(f for f in SAFE_ON_RESUME if f != "epochs")


def run_seeds(configs: Mapping[str, Config], seeds: Sequence[int],
              workdir: str | pathlib.Path) -> dict[str, list[History]]:
  """Trains each config with each seed (resuming what exists); returns the histories.

  Args:
    configs: ``{run name: config}``.
    seeds: the seeds (at least one, distinct).
    workdir: runs go to ``workdir/<name>/seed<seed>``.

  Returns:
    ``{name: [history of seed 0, history of seed 1, ...]}`` in the order of ``seeds``;
    a history is the list of per-epoch records of :func:`lrsched.train.train`.
  """
  seeds = [int(s) for s in seeds]
  if not configs:
    raise ValueError("configs must hold at least one config")
  if not seeds or len(set(seeds)) != len(seeds):
    raise ValueError(f"seeds must be a non-empty list of distinct integers, got {seeds}")
  workdir = pathlib.Path(workdir)
  out = {}
  for name, config in configs.items():
    out[name] = []
    for seed in seeds:
      # A run without checkpoints still saves its last epoch (resumable like the others).
      run = dataclasses.replace(config, seed=seed,
                                checkpoint_every=config.checkpoint_every or config.epochs)
      run_dir = workdir / name / f"seed{seed}"
      history = finished_history(run, run_dir)
      out[name].append(history if history is not None else
                       train(run, run_dir, resume=True).history)
  return out


def finished_history(config: Config, run_dir: str | pathlib.Path) -> History | None:
  """The history of a finished run of ``config`` in ``run_dir``, or ``None``.

  Finished: ``metrics.jsonl`` holds every epoch (or ends with AutoDecay's stop).

  Raises:
    ValueError: ``run_dir`` holds a run of a different config (results are never
      silently mixed; remove the directory to rerun).
  """
  run_dir = pathlib.Path(run_dir)
  if not (run_dir / "config.json").is_file():
    return None
  saved = read_run_config(run_dir)
  diff = sorted(config_differences(saved, config, IGNORED_FIELDS))
  if diff == ["epochs"]:
    raise ValueError(f"{run_dir} holds a run of {saved.epochs} epochs, not {config.epochs}: "
                     f"resume it to change its budget (train(..., resume=True), --resume), "
                     f"or remove it to rerun")
  if diff:
    raise ValueError(f"{run_dir} holds a run of a different config (fields {diff}); "
                     f"remove it to rerun")
  history = read_history(run_dir / "metrics.jsonl", config.epochs)
  if history and (len(history) == config.epochs
                  or history[-1].get("autodecay_action") == "stop"):
    return history
  return None


def mean_std(values: Sequence[float]) -> tuple[float, float]:
  """Mean and sample standard deviation (``ddof=1``; 0 for a single value)."""
  values = np.asarray(values, dtype=np.float64)
  if values.size == 0:
    raise ValueError("mean_std needs at least one value")
  std = float(values.std(ddof=1)) if values.size > 1 else 0.0
  return float(values.mean()), std


def per_seed(histories: Sequence[History], key: str,
             reduce: str | Callable[[np.ndarray], float] = "final") -> list[float]:
  """One number per seed from each history's ``key`` column.

  Args:
    histories: the histories of one run name (one per seed).
    key: a metric key of the epoch records (e.g. ``"test_accuracy"``).
    reduce: ``"final"`` (last epoch), ``"max"``, ``"min"`` or a function of the
      per-epoch values.
  """
  reducers = {"final": lambda v: v[-1], "max": np.max, "min": np.min}
  fn = reducers.get(reduce, reduce) if isinstance(reduce, str) else reduce
  if not callable(fn):
    raise ValueError(f"reduce must be one of {sorted(reducers)} or a function, got {reduce!r}")
  out = []
  for history in histories:
    values = np.array([record[key] for record in history if key in record], dtype=np.float64)
    if values.size == 0:
      raise KeyError(f"no epoch record has the metric {key!r}")
    out.append(float(fn(values)))
  return out


def format_mean_std(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
  """``"mean +- std"`` of ``values * scale`` (e.g. ``scale=100`` for accuracies in %)."""
  mean, std = mean_std(np.asarray(values, dtype=np.float64) * scale)
  if math.isnan(mean):
    return "nan"
  return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
  """A GitHub markdown table (cells formatted with ``str``)."""
  if any(len(row) != len(header) for row in rows):
    raise ValueError("every row must have one cell per header column")
  lines = ["| " + " | ".join(map(str, header)) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
  lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
  return "\n".join(lines)


def _check_verdicts(claims: Sequence[Mapping[str, Any]]) -> None:
  """A ``ValueError`` naming the first claim without one of :data:`VERDICTS`."""
  for item in claims:
    if item.get("verdict") not in VERDICTS:
      raise ValueError(f"claim {item.get('claim')!r} has no valid verdict")


def results_record(experiment: str, claims: Sequence[Mapping[str, Any]],
                   histories: Mapping[str, Sequence[History]], configs: Mapping[str, Config],
                   seeds: Sequence[int], metrics: Sequence[str]) -> dict[str, Any]:
  """The raw results of an experiment: its claims and every run's final metrics per seed.

  The format of ``experiments/results/<experiment>.json``:
  ``{"experiment", "claims": [...], "runs": {name: {"seeds", "final": {metric: [per
  seed]}, "config"}}}``; ``experiments/report.py`` writes RESULTS.md's tables and verdicts
  from it.

  Args:
    experiment: the experiment's name (its script's stem).
    claims: made with the claim builders of :mod:`lrsched.train.verdicts`.
    histories: ``{run name: [history per seed]}`` as :func:`run_seeds` returns.
    configs: ``{run name: config}`` (seed excepted, the runs' configs).
    seeds: the seeds, in the histories' order.
    metrics: the metric keys recorded for every run (final epoch); a run without one
      records ``None`` for it.
  """
  _check_verdicts(claims)
  runs = {}
  for name, per_seed_histories in histories.items():
    final = {key: [h[-1].get(key) for h in per_seed_histories] for key in metrics}
    runs[name] = {"seeds": [int(s) for s in seeds], "final": final,
                  "epochs": [len(h) for h in per_seed_histories],
                  "config": json.loads(json.dumps(configs[name].to_dict()))}
  return {"experiment": experiment, "claims": [dict(c) for c in claims], "runs": runs}


def write_results(path: str | pathlib.Path, record: Mapping[str, Any]) -> pathlib.Path:
  """Writes a :func:`results_record` as indented JSON (creating the directory)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(record, indent=1) + "\n")
  return path


def redecide(path: str | pathlib.Path,
             decide: Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]
             ) -> dict[str, Any]:
  """Rewrites a results file's claims as ``decide(record)`` makes them from its own values.

  For an experiment whose claims (or their tests) changed after its runs: the claims are
  a function of the per-seed values the file already holds, so they are decided again
  without training (each experiment's ``--decide-only``). Prints each verdict.
  """
  path = pathlib.Path(path)
  record = json.loads(path.read_text())
  record["claims"] = [dict(c) for c in decide(record)]
  _check_verdicts(record["claims"])
  write_results(path, record)
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


def add_results_arguments(parser: argparse.ArgumentParser, results: str | pathlib.Path,
                          figures: str | pathlib.Path) -> None:
  """An experiment script's ``--results`` and ``--figures`` (with these defaults) and its
  ``--decide-only`` (decide the claims again from the results file: :func:`redecide`)."""
  parser.add_argument("--results", default=str(results), help="where the raw results go")
  parser.add_argument("--figures", default=str(figures))
  parser.add_argument("--decide-only", action="store_true",
                      help="decide the claims again from --results' per-seed values, no runs")
