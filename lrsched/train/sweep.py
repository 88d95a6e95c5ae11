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


VERDICTS = ("reproduced", "contradicted", "not resolved", "not tested")
"""The verdicts of :func:`paired_verdict`, :func:`equivalence_verdict` and
:func:`binomial_verdict` (``"not tested"`` is stated, never computed)."""


def paired_verdict(a_values: Sequence[float], b_values: Sequence[float], direction: str,
                   confidence: float = 0.95) -> dict[str, Any]:
  """The verdict rule of ``experiments/RESULTS.md`` for a claim "A beats B on a metric".

  The per-seed differences ``d_i = a_i - b_i`` (same seeds, same data order, so the
  pairing removes what the seeds share) get a two-sided t-interval
  ``mean(d) +- t_{(1+confidence)/2, n-1} * std(d, ddof=1) / sqrt(n)``. For the claim
  ``A > B`` (``direction=">"``): ``"reproduced"`` when the interval lies above 0,
  ``"contradicted"`` when it lies below 0, ``"not resolved"`` when it contains 0; for
  ``"<"`` the same with the sides swapped.

  Args:
    a_values: the metric of run A, one value per seed.
    b_values: the metric of run B for the same seeds, in the same order.
    direction: ``">"`` (the claim is A > B) or ``"<"`` (A < B).
    confidence: the interval's coverage, in (0, 1).

  Returns:
    ``{"n", "mean_difference", "ci_low", "ci_high", "confidence", "verdict"}``.

  Example:
    >>> v = paired_verdict([0.9, 0.8, 0.85], [0.7, 0.65, 0.7], ">")
    >>> v["verdict"], round(v["mean_difference"], 3)
    ('reproduced', 0.167)
    >>> paired_verdict([0.9, 0.6, 0.8], [0.7, 0.7, 0.75], ">")["verdict"]
    'not resolved'
  """
  import scipy.stats  # lazily: seed sweeps need it only here

  a = np.asarray(a_values, dtype=np.float64)
  b = np.asarray(b_values, dtype=np.float64)
  if direction not in (">", "<"):
    raise ValueError(f"direction must be '>' or '<', got {direction!r}")
  if a.ndim != 1 or a.shape != b.shape or a.size < 2:
    raise ValueError(f"a_values and b_values must be equal-length lists of >= 2 paired "
                     f"seeds, got {a.size} and {b.size}")
  if not (np.isfinite(a).all() and np.isfinite(b).all()):
    raise ValueError("a_values and b_values must be finite")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  d = a - b
  mean, n = float(d.mean()), d.size
  half = float(scipy.stats.t.ppf((1 + confidence) / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
  low, high = mean - half, mean + half
  above, below = low > 0, high < 0
  if direction == "<":
    above, below = below, above
  verdict = "reproduced" if above else "contradicted" if below else "not resolved"
  return {"n": n, "mean_difference": mean, "ci_low": low, "ci_high": high,
          "confidence": confidence, "verdict": verdict}


def claim(text: str, metric: str, a: str, b: str, a_values: Sequence[float],
          b_values: Sequence[float], direction: str) -> dict[str, Any]:
  """One claim of an experiment's results file, its verdict computed by :func:`paired_verdict`.

  Returns:
    ``{"claim", "metric", "a", "b", "a_values", "b_values", "direction", "verdict",
    "mean_difference", "ci_low", "ci_high", "n", "confidence"}``.
  """
  result = paired_verdict(a_values, b_values, direction)
  return {"claim": text, "metric": metric, "a": a, "b": b,
          "a_values": [float(v) for v in a_values], "b_values": [float(v) for v in b_values],
          "direction": direction, **result}


def untested_claim(text: str, why: str) -> dict[str, Any]:
  """A claim the setup cannot test, with the reason (verdict ``"not tested"``)."""
  if not why:
    raise ValueError("an untested claim needs the reason it cannot be tested")
  return {"claim": text, "metric": None, "a": None, "b": None, "a_values": [],
          "b_values": [], "direction": None, "verdict": "not tested", "why": why}


def equivalence_verdict(values: Sequence[float], target: float, margin: float,
                        alpha: float = 0.05) -> dict[str, Any]:
  """TOST equivalence: does the mean of ``values`` lie within ``target +- margin``?

  Two one-sided t-tests at level ``alpha`` (Schuirmann 1987), decided by the
  ``1 - 2 alpha`` (90% for ``alpha=0.05``) t-interval of the mean over seeds,
  ``mean(x) +- t_{1-alpha, n-1} * std(x, ddof=1) / sqrt(n)``:
  ``"reproduced"`` (equivalent) when it lies inside ``(target - margin, target + margin)``;
  ``"contradicted"`` when it lies wholly outside (entirely below ``target - margin`` or
  entirely above ``target + margin``: a one-sided level-``alpha`` test that the mean is
  outside the margin); ``"not resolved"`` otherwise (it overlaps a margin's edge).

  Args:
    values: one value per seed (at least 2, finite).
    target: the value the claim says the mean equals.
    margin: the half-width of the equivalence region, ``> 0``.
    alpha: the level of each one-sided test, in ``(0, 0.5)``.

  Returns:
    ``{"n", "mean", "ci_low", "ci_high", "confidence", "margin", "target", "verdict"}``
    (``confidence = 1 - 2 alpha``).

  Example:
    >>> v = equivalence_verdict([1.02, 0.98, 1.01, 1.0, 0.99], 1.0, 0.1)
    >>> v["verdict"], round(v["mean"], 3), v["confidence"]
    ('reproduced', 1.0, 0.9)
    >>> equivalence_verdict([1.3, 1.32, 1.28], 1.0, 0.1)["verdict"]
    'contradicted'
    >>> equivalence_verdict([0.85, 1.1, 0.95], 1.0, 0.1)["verdict"]
    'not resolved'
  """
  import scipy.stats  # lazily, as in paired_verdict

  x = np.asarray(values, dtype=np.float64)
  if x.ndim != 1 or x.size < 2:
    raise ValueError(f"values must be a list of >= 2 per-seed values, got {x.size}")
  if not np.isfinite(x).all():
    raise ValueError(f"values must be finite, got {x.tolist()}")
  if not math.isfinite(target):
    raise ValueError(f"target must be finite, got {target!r}")
  if not (math.isfinite(margin) and margin > 0):
    raise ValueError(f"margin must be > 0 (and finite), got {margin!r}")
  if not 0.0 < alpha < 0.5:
    raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
  n, mean = x.size, float(x.mean())
  half = float(scipy.stats.t.ppf(1 - alpha, n - 1) * x.std(ddof=1) / math.sqrt(n))
  low, high = mean - half, mean + half
  inside = target - margin < low and high < target + margin
  outside = high < target - margin or low > target + margin
  verdict = "reproduced" if inside else "contradicted" if outside else "not resolved"
  return {"n": n, "mean": mean, "ci_low": low, "ci_high": high, "confidence": 1 - 2 * alpha,
          "margin": float(margin), "target": float(target), "verdict": verdict}


def equivalence_claim(text: str, metric: str, values: Sequence[float], target: float,
                      margin: float, alpha: float = 0.05) -> dict[str, Any]:
  """A claim "the mean of ``metric`` over seeds equals ``target`` within ``margin``".

  Its verdict is :func:`equivalence_verdict`'s (TOST).

  Returns:
    ``{"claim", "metric", "test", "values", "n", "mean", "ci_low", "ci_high",
    "confidence", "margin", "target", "verdict"}``; ``test`` reads e.g.
    ``"TOST, 90% t-interval in (0.9, 1.1)"``.

  Example:
    >>> c = equivalence_claim("at the edge", "lr_sharpness_half", [1.02, 0.98, 1.01], 1.0, 0.1)
    >>> c["test"], c["verdict"]
    ('TOST, 90% t-interval in (0.9, 1.1)', 'reproduced')
  """
  result = equivalence_verdict(values, target, margin, alpha)
  test = (f"TOST, {result['confidence']:.0%} t-interval in ({target - margin:g}, "
          f"{target + margin:g})")
  return {"claim": text, "metric": metric, "test": test, "values": [float(v) for v in values],
          **result}


def binomial_verdict(successes: int, n: int, threshold: float = 0.5,
                     confidence: float = 0.95) -> dict[str, Any]:
  """Exact binomial verdict on a count: does the event happen with probability > ``threshold``?

  ``successes`` events in ``n`` independent runs (seeds) give the Clopper-Pearson
  (exact) two-sided ``confidence`` interval of the event's probability ``p``, with
  ``a = 1 - confidence``:
  ``[Beta_{a/2}(k, n - k + 1), Beta_{1-a/2}(k + 1, n - k)]`` (quantiles of the beta
  distribution; 0 for ``k = 0``, 1 for ``k = n``). ``"reproduced"`` when it lies above
  ``threshold`` (with 1/2: the event happens more often than not), ``"contradicted"``
  when it lies below, ``"not resolved"`` when it contains ``threshold``. A count is the
  right statistic for censored outcomes (a run that never diverged within its budget),
  which a t-interval of the steps would average as if they were values.

  Resolution needs enough runs: at 95% and ``threshold=1/2`` even ``k = n`` leaves
  ``ci_low = 0.025 ** (1/n)``, which exceeds 1/2 only from ``n = 6`` on (``n = 5``:
  0.478), so with 5 seeds no count resolves either way.

  Args:
    successes: the number of runs in which the event happened, ``0 <= successes <= n``.
    n: the number of runs, ``>= 1``.
    threshold: the probability the claim compares with, in ``(0, 1)``.
    confidence: the interval's coverage, in ``(0, 1)``.

  Returns:
    ``{"count", "n", "ci_low", "ci_high", "confidence", "threshold", "verdict"}``.

  Example:
    >>> v = binomial_verdict(6, 6)
    >>> v["verdict"], round(v["ci_low"], 3), v["ci_high"]
    ('reproduced', 0.541, 1.0)
    >>> binomial_verdict(5, 5)["verdict"], binomial_verdict(0, 6)["verdict"]
    ('not resolved', 'contradicted')
  """
  import scipy.stats  # lazily, as in paired_verdict

  for name, value in (("successes", successes), ("n", n)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
      raise ValueError(f"{name} must be an integer, got {value!r}")
  k, n = int(successes), int(n)
  if n < 1:
    raise ValueError(f"n must be >= 1, got {n}")
  if not 0 <= k <= n:
    raise ValueError(f"successes must be in [0, n] = [0, {n}], got {k}")
  if not 0.0 < threshold < 1.0:
    raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  a = 1.0 - confidence
  low = 0.0 if k == 0 else float(scipy.stats.beta.ppf(a / 2, k, n - k + 1))
  high = 1.0 if k == n else float(scipy.stats.beta.ppf(1 - a / 2, k + 1, n - k))
  verdict = "reproduced" if low > threshold else "contradicted" if high < threshold \
      else "not resolved"
  return {"count": k, "n": n, "ci_low": low, "ci_high": high, "confidence": confidence,
          "threshold": threshold, "verdict": verdict}


def count_claim(text: str, event: str, outcomes: Sequence[bool]) -> dict[str, Any]:
  """A claim "``event`` happens more often than not", from one outcome per seed.

  Its verdict is :func:`binomial_verdict`'s at the project's rule (Clopper-Pearson 95%,
  threshold 1/2).

  Args:
    text: the claim.
    event: what is counted (recorded as the claim's ``metric``).
    outcomes: per seed, whether the event happened (at least one).

  Returns:
    ``{"claim", "metric", "test", "count", "n", "outcomes", "ci_low", "ci_high",
    "verdict"}`` with ``test = "Clopper-Pearson 95%"``.

  Example:
    >>> c = count_claim("diverges", "diverged", [True] * 6)
    >>> c["count"], c["n"], c["verdict"]
    (6, 6, 'reproduced')
  """
  outcomes = [bool(o) for o in outcomes]
  result = binomial_verdict(sum(outcomes), len(outcomes))
  return {"claim": text, "metric": event, "test": "Clopper-Pearson 95%",
          "count": result["count"], "n": result["n"], "outcomes": outcomes,
          "ci_low": result["ci_low"], "ci_high": result["ci_high"],
          "verdict": result["verdict"]}


CLAIM_KINDS = ("paired", "equivalence", "count", "not tested")
"""The kinds of claim record :func:`claim_kind` tells apart."""


def claim_kind(item: Mapping[str, Any]) -> str:
  """Which builder made a claim record: one of :data:`CLAIM_KINDS`.

  ``"not tested"`` (:func:`untested_claim`), ``"count"`` (:func:`count_claim`: it has
  ``outcomes``), ``"equivalence"`` (:func:`equivalence_claim`: ``margin``) or
  ``"paired"`` (:func:`claim`: ``a_values``).

  Example:
    >>> claim_kind(count_claim("diverges", "diverged", [True, False]))
    'count'
  """
  if item.get("verdict") == "not tested":
    return "not tested"
  if "outcomes" in item:
    return "count"
  if "margin" in item:
    return "equivalence"
  if "a_values" in item:
    return "paired"
  raise ValueError(f"claim {item.get('claim')!r} is none of {CLAIM_KINDS} (fields "
                   f"{sorted(item)})")


def recompute_verdict(item: Mapping[str, Any]) -> dict[str, Any]:
  """A claim record's verdict and interval again, from its raw per-seed values alone.

  What a reader of a results file can check without the runs: the paired t-interval of
  ``a_values - b_values``, the TOST interval of ``values`` or the Clopper-Pearson interval
  of ``outcomes``, by :func:`claim_kind`. A record whose stored counts disagree with its
  outcomes is refused.

  Returns:
    the verdict function's dict (``verdict``, ``ci_low``, ``ci_high``, ...).

  Example:
    >>> recompute_verdict(count_claim("diverges", "diverged", [False] * 8))["verdict"]
    'contradicted'
  """
  kind = claim_kind(item)
  if kind == "paired":
    return paired_verdict(item["a_values"], item["b_values"], item["direction"])
  if kind == "equivalence":
    if item["n"] != len(item["values"]):
      raise ValueError(f"claim {item['claim']!r}: n={item['n']} but {len(item['values'])} values")
    return equivalence_verdict(item["values"], item["target"], item["margin"],
                               alpha=(1 - item["confidence"]) / 2)
  if kind == "count":
    if item["count"] != sum(item["outcomes"]) or item["n"] != len(item["outcomes"]):
      raise ValueError(f"claim {item['claim']!r}: count {item['count']} of {item['n']} does "
                       f"not match its outcomes")
    return binomial_verdict(item["count"], item["n"])
  raise ValueError(f"claim {item['claim']!r} was not tested: it has no verdict to recompute")


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
    claims: made with :func:`claim`, :func:`equivalence_claim`, :func:`count_claim` or
      :func:`untested_claim`.
    histories: ``{run name: [history per seed]}`` as :func:`run_seeds` returns.
    configs: ``{run name: config}`` (seed excepted, the runs' configs).
    seeds: the seeds, in the histories' order.
    metrics: the metric keys recorded for every run (final epoch); a run without one
      records ``None`` for it.
  """
  for item in claims:
    if item.get("verdict") not in VERDICTS:
      raise ValueError(f"claim {item.get('claim')!r} has no valid verdict")
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
