"""Verdicts: the test that fits each claim, decided from per-seed values.

Every claim of ``experiments/`` is decided by a test chosen before the runs
(``experiments/RESULTS.md``, "The verdict rule"), recorded in its results file with the
per-seed values it was decided from, so that :func:`recompute_verdict` can decide it again:

=================== ============================== =========================================
``test``            claim                          builder
=================== ============================== =========================================
``paired_t``        "A beats B"                    :func:`claim` (:func:`paired_verdict`)
``equivalence``     "the same" / "equals x"        :func:`same_claim`, :func:`equivalence_claim`
``non_inferiority`` "not worse by more than m"     :func:`non_inferiority_claim`
``binomial``        "the event happens" (counts)   :func:`count_claim`
``rank``            "the most consistent"          :func:`rank_claim`
``bootstrap_ratio`` a ratio of means               :func:`ratio_claim`
=================== ============================== =========================================

Each verdict is ``"reproduced"``, ``"contradicted"`` or ``"not resolved"``;
:func:`untested_claim` records a claim the setup cannot test (``"not tested"``, with the
reason). Tests with a margin (equivalence, non-inferiority) record it in the metric's units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CLAIM_KINDS",
    "TESTS",
    "VERDICTS",
    "binomial_verdict",
    "claim",
    "claim_kind",
    "count_claim",
    "equivalence_claim",
    "equivalence_verdict",
    "non_inferiority_claim",
    "non_inferiority_verdict",
    "paired_verdict",
    "rank_claim",
    "rank_verdict",
    "ratio_claim",
    "ratio_verdict",
    "recompute_verdict",
    "same_claim",
    "untested_claim",
]

VERDICTS = ("reproduced", "contradicted", "not resolved", "not tested")
"""The verdicts of :func:`paired_verdict`, :func:`equivalence_verdict` and
:func:`binomial_verdict` (``"not tested"`` is stated, never computed)."""


def _paired_arrays(a_values: Sequence[float], b_values: Sequence[float], direction: str
                   ) -> tuple[np.ndarray, np.ndarray]:
  """Checked float64 arrays of two paired per-seed lists (and a valid ``direction``)."""
  a = np.asarray(a_values, dtype=np.float64)
  b = np.asarray(b_values, dtype=np.float64)
  if direction not in (">", "<"):
    raise ValueError(f"direction must be '>' or '<', got {direction!r}")
  if a.ndim != 1 or a.shape != b.shape or a.size < 2:
    raise ValueError(f"a_values and b_values must be equal-length lists of >= 2 paired "
                     f"seeds, got {a.size} and {b.size}")
  if not (np.isfinite(a).all() and np.isfinite(b).all()):
    raise ValueError("a_values and b_values must be finite")
  return a, b


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

  a, b = _paired_arrays(a_values, b_values, direction)
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
    ``{"claim", "test": "paired_t", "metric", "a", "b", "a_values", "b_values",
    "direction", "verdict", "mean_difference", "ci_low", "ci_high", "n", "confidence"}``.
  """
  result = paired_verdict(a_values, b_values, direction)
  return {"claim": text, "test": "paired_t", "metric": metric, "a": a, "b": b,
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
    ``{"claim", "test": "equivalence", "method", "metric", "values", "n", "mean",
    "ci_low", "ci_high", "confidence", "margin", "target", "verdict"}``; ``method``
    reads e.g. ``"TOST, 90% t-interval in (0.9, 1.1)"``.

  Example:
    >>> c = equivalence_claim("at the edge", "lr_sharpness_half", [1.02, 0.98, 1.01], 1.0, 0.1)
    >>> c["test"], c["method"], c["verdict"]
    ('equivalence', 'TOST, 90% t-interval in (0.9, 1.1)', 'reproduced')
  """
  result = equivalence_verdict(values, target, margin, alpha)
  method = (f"TOST, {result['confidence']:.0%} t-interval in ({target - margin:g}, "
            f"{target + margin:g})")
  return {"claim": text, "test": "equivalence", "method": method, "metric": metric,
          "values": [float(v) for v in values], **result}


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
    ``{"claim", "test": "binomial", "method": "Clopper-Pearson 95%", "metric", "count",
    "n", "outcomes", "ci_low", "ci_high", "verdict"}``.

  Example:
    >>> c = count_claim("diverges", "diverged", [True] * 6)
    >>> c["count"], c["n"], c["verdict"]
    (6, 6, 'reproduced')
  """
  outcomes = [bool(o) for o in outcomes]
  result = binomial_verdict(sum(outcomes), len(outcomes))
  return {"claim": text, "test": "binomial", "method": "Clopper-Pearson 95%", "metric": event,
          "count": result["count"], "n": result["n"], "outcomes": outcomes,
          "ci_low": result["ci_low"], "ci_high": result["ci_high"],
          "verdict": result["verdict"]}


def non_inferiority_verdict(a_values: Sequence[float], b_values: Sequence[float],
                            margin: float, direction: str = ">", alpha: float = 0.05
                            ) -> dict[str, Any]:
  """Non-inferiority: is A no worse than B by more than ``margin`` (paired seeds)?

  One one-sided paired t-test at level ``alpha``, decided by the ``1 - 2 alpha`` (90%)
  t-interval of ``d_i = a_i - b_i`` (as one side of :func:`equivalence_verdict`'s TOST).
  With ``direction=">"`` (higher is better, e.g. an accuracy): ``"reproduced"`` when the
  interval lies above ``-margin``, ``"contradicted"`` when it lies below ``-margin``
  (A is worse by more than the margin), ``"not resolved"`` otherwise. With ``"<"``
  (lower is better, e.g. a loss or a number of epochs) the mirror image about
  ``+margin``.

  Args:
    a_values, b_values: the metric of A and B, one value per seed, same seeds.
    margin: how much worse A may be, in the metric's units, ``> 0``.
    direction: ``">"`` (higher is better) or ``"<"`` (lower is better).
    alpha: the level of the one-sided test, in ``(0, 0.5)``.

  Returns:
    ``{"n", "mean_difference", "ci_low", "ci_high", "confidence", "margin", "direction",
    "verdict"}``.

  Example:
    >>> non_inferiority_verdict([0.80, 0.81, 0.79], [0.81, 0.81, 0.80], 0.02)["verdict"]
    'reproduced'
    >>> non_inferiority_verdict([0.70, 0.71, 0.69], [0.81, 0.81, 0.80], 0.02)["verdict"]
    'contradicted'
  """
  if direction not in (">", "<"):
    raise ValueError(f"direction must be '>' or '<', got {direction!r}")
  if not (math.isfinite(margin) and margin > 0):
    raise ValueError(f"margin must be > 0 (and finite), got {margin!r}")
  if not 0.0 < alpha < 0.5:
    raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
  result = paired_verdict(a_values, b_values, ">", confidence=1 - 2 * alpha)
  low, high = result["ci_low"], result["ci_high"]
  if direction == ">":
    verdict = ("reproduced" if low > -margin else "contradicted" if high < -margin
               else "not resolved")
  else:
    verdict = ("reproduced" if high < margin else "contradicted" if low > margin
               else "not resolved")
  return {**result, "margin": float(margin), "direction": direction, "verdict": verdict}


def _paired_fields(a: str, b: str, a_values: Sequence[float], b_values: Sequence[float]
                   ) -> dict[str, Any]:
  return {"a": a, "b": b, "a_values": [float(v) for v in a_values],
          "b_values": [float(v) for v in b_values]}


def same_claim(text: str, metric: str, a: str, b: str, a_values: Sequence[float],
               b_values: Sequence[float], margin: float, alpha: float = 0.05
               ) -> dict[str, Any]:
  """A claim "A and B are the same on ``metric`` within ``margin``" (paired seeds).

  TOST on the per-seed differences (:func:`equivalence_verdict` of ``a - b`` about 0):
  ``"reproduced"`` when their 90% t-interval lies inside ``(-margin, margin)``,
  ``"contradicted"`` when wholly outside, ``"not resolved"`` otherwise.

  Example:
    >>> c = same_claim("no change", "train_loss", "A", "B", [1.0, 1.1, 0.9], [1.0, 1.08, 0.93],
    ...                margin=0.1)
    >>> c["test"], c["verdict"]
    ('equivalence', 'reproduced')
  """
  differences = np.asarray(a_values, dtype=np.float64) - np.asarray(b_values, dtype=np.float64)
  result = equivalence_claim(text, metric, differences.tolist(), 0.0, margin, alpha)
  result["method"] = (f"TOST on the paired differences, {result['confidence']:.0%} "
                      f"t-interval in (-{margin:g}, {margin:g})")
  return {**result, **_paired_fields(a, b, a_values, b_values)}


def non_inferiority_claim(text: str, metric: str, a: str, b: str, a_values: Sequence[float],
                          b_values: Sequence[float], margin: float, direction: str = ">",
                          alpha: float = 0.05) -> dict[str, Any]:
  """A claim "A is no worse than B by more than ``margin``": :func:`non_inferiority_verdict`.

  Example:
    >>> c = non_inferiority_claim("as accurate", "test_accuracy", "A", "B", [0.8, 0.81, 0.8],
    ...                           [0.8, 0.8, 0.81], margin=0.02)
    >>> c["test"], c["verdict"]
    ('non_inferiority', 'reproduced')
  """
  result = non_inferiority_verdict(a_values, b_values, margin, direction, alpha)
  side = "above -" if direction == ">" else "below +"
  method = (f"one-sided paired t-test, {result['confidence']:.0%} t-interval of A - B "
            f"{side}{margin:g}")
  return {"claim": text, "test": "non_inferiority", "method": method, "metric": metric,
          **_paired_fields(a, b, a_values, b_values), **result}


def rank_verdict(scores: Mapping[str, Sequence[Sequence[float]]], subject: str, top: int = 1,
                 higher_is_better: bool = True, num_bootstrap: int = 10_000, seed: int = 0,
                 confidence: float = 0.95) -> dict[str, Any]:
  """Rank consistency: does ``subject`` finish in the top ``top`` more often than any rival?

  ``scores[name][i][j]`` is run ``name``'s metric for seed ``i`` in block ``j`` (e.g. a
  budget). In each (seed, block) the runs are ranked (ties share the better rank); a run's
  *share* is the fraction of (seed, block) cells where it ranks in the top ``top``. The
  statistic is ``share[subject] - max over rivals of share[rival]``: the rival is not
  chosen from the data but the best one in each resample. Its interval is the percentile
  interval of ``num_bootstrap`` resamples of the seeds (whole rows, with replacement;
  numpy's generator seeded with ``seed``): ``"reproduced"`` when it lies above 0,
  ``"contradicted"`` below 0, ``"not resolved"`` when it contains 0.

  Returns:
    ``{"n", "shares", "statistic", "ci_low", "ci_high", "confidence", "top", "verdict"}``
    (``n``: seeds; ``shares``: every run's share on the data).

  Example:
    >>> s = {"A": [[3, 3], [3, 3], [3, 3]], "B": [[2, 1], [1, 2], [2, 2]],
    ...      "C": [[1, 2], [2, 1], [1, 1]]}
    >>> v = rank_verdict(s, "A")
    >>> v["shares"]["A"], v["verdict"]
    (1.0, 'reproduced')
  """
  if subject not in scores:
    raise ValueError(f"subject {subject!r} is not one of the runs {sorted(scores)}")
  if len(scores) < 2:
    raise ValueError("rank_verdict needs at least two runs to rank")
  names = list(scores)
  values = np.asarray([scores[name] for name in names], dtype=np.float64)  # run, seed, block
  if values.ndim != 3 or values.shape[1] < 2:
    raise ValueError(f"scores must be [seed][block] lists of equal shape with >= 2 seeds, "
                     f"got shape {values.shape[1:]}")
  if not np.isfinite(values).all():
    raise ValueError("scores must be finite")
  if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top < len(names):
    raise ValueError(f"top must be an integer in [1, {len(names) - 1}], got {top!r}")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  signed = values if higher_is_better else -values
  # rank 1 = best; ties share the better rank: 1 + the number of strictly better runs.
  better = (signed[None, :, :, :] > signed[:, None, :, :]).sum(axis=1)
  in_top = better < top  # run, seed, block
  per_seed = in_top.mean(axis=2)  # run, seed: each seed's share over the blocks
  subject_index = names.index(subject)

  def statistic(rows: np.ndarray) -> float:
    shares = per_seed[:, rows].mean(axis=1)
    return float(shares[subject_index] - np.delete(shares, subject_index).max())

  n = values.shape[1]
  rng = np.random.default_rng(seed)
  boot = np.array([statistic(rng.integers(0, n, n)) for _ in range(num_bootstrap)])
  low, high = (float(q) for q in np.quantile(boot, [(1 - confidence) / 2,
                                                   (1 + confidence) / 2]))
  verdict = "reproduced" if low > 0 else "contradicted" if high < 0 else "not resolved"
  return {"n": n, "shares": {name: float(per_seed[i].mean()) for i, name in enumerate(names)},
          "statistic": statistic(np.arange(n)), "ci_low": low, "ci_high": high,
          "confidence": confidence, "top": top, "verdict": verdict}


def rank_claim(text: str, metric: str, scores: Mapping[str, Sequence[Sequence[float]]],
               subject: str, top: int = 1, higher_is_better: bool = True,
               blocks: Sequence[str] | None = None) -> dict[str, Any]:
  """A claim "``subject`` is the most consistent" (:func:`rank_verdict`, 10000 resamples).

  ``blocks`` names the columns of ``scores`` (e.g. the budgets), for the record.
  """
  result = rank_verdict(scores, subject, top, higher_is_better)
  return {"claim": text, "test": "rank",
          "method": (f"share of top-{top} finishes minus the best rival's, 95% bootstrap "
                     f"over seeds"),
          "metric": metric, "subject": subject, "higher_is_better": higher_is_better,
          "blocks": list(blocks) if blocks is not None else None,
          "scores": {k: [[float(x) for x in row] for row in v] for k, v in scores.items()},
          **result}


def ratio_verdict(a_values: Sequence[float], b_values: Sequence[float], threshold: float = 1.0,
                  direction: str = ">", num_bootstrap: int = 10_000, seed: int = 0,
                  confidence: float = 0.95) -> dict[str, Any]:
  """A ratio of means, ``mean(a) / mean(b)``, against ``threshold`` by a paired bootstrap.

  Seeds are resampled as pairs (numpy's generator seeded with ``seed``); the interval is
  the percentile interval of the resampled ratios. ``"reproduced"`` when it lies on the
  claimed side of ``threshold`` (``">"``: above), ``"contradicted"`` when on the other,
  ``"not resolved"`` otherwise -- and always ``"not resolved"`` when the denominator's
  mean changes sign (or reaches 0) across resamples, where a ratio has no meaning (it
  flips sign with noise); ``denominator_sign_resolved`` records which.

  Returns:
    ``{"n", "ratio", "ci_low", "ci_high", "confidence", "threshold", "direction",
    "denominator_sign_resolved", "verdict"}``.

  Example:
    >>> ratio_verdict([2.0, 2.2, 1.9, 2.1], [1.0, 1.1, 1.0, 0.9])["verdict"]
    'reproduced'
    >>> ratio_verdict([2.0, 2.2, 1.9, 2.1], [1.0, -1.1, 0.5, -0.2])["verdict"]
    'not resolved'
  """
  a, b = _paired_arrays(a_values, b_values, direction)
  n = a.size
  rng = np.random.default_rng(seed)
  rows = rng.integers(0, n, (num_bootstrap, n))
  numerators, denominators = a[rows].mean(axis=1), b[rows].mean(axis=1)
  sign_resolved = bool(np.all(denominators > 0) or np.all(denominators < 0))
  ratio = float(a.mean() / b.mean()) if b.mean() != 0 else math.nan
  if sign_resolved:
    low, high = (float(q) for q in np.quantile(numerators / denominators,
                                               [(1 - confidence) / 2, (1 + confidence) / 2]))
    above, below = low > threshold, high < threshold
    if direction == "<":
      above, below = below, above
    verdict = "reproduced" if above else "contradicted" if below else "not resolved"
  else:
    low, high, verdict = -math.inf, math.inf, "not resolved"
  return {"n": n, "ratio": ratio, "ci_low": low, "ci_high": high, "confidence": confidence,
          "threshold": float(threshold), "direction": direction,
          "denominator_sign_resolved": sign_resolved, "verdict": verdict}


def ratio_claim(text: str, metric: str, a: str, b: str, a_values: Sequence[float],
                b_values: Sequence[float], threshold: float = 1.0, direction: str = ">"
                ) -> dict[str, Any]:
  """A claim "mean(A) / mean(B) is above (or below) ``threshold``": :func:`ratio_verdict`."""
  result = ratio_verdict(a_values, b_values, threshold, direction)
  return {"claim": text, "test": "bootstrap_ratio",
          "method": "ratio of means, 95% paired bootstrap over seeds", "metric": metric,
          **_paired_fields(a, b, a_values, b_values), **result}


TESTS = ("paired_t", "equivalence", "non_inferiority", "binomial", "rank", "bootstrap_ratio")
"""The tests a claim can name (its record's ``"test"``)."""

CLAIM_KINDS = TESTS + ("not tested",)
"""What :func:`claim_kind` returns: a test, or ``"not tested"``."""


def claim_kind(item: Mapping[str, Any]) -> str:
  """A claim record's test (one of :data:`TESTS`), or ``"not tested"``.

  Example:
    >>> claim_kind(count_claim("diverges", "diverged", [True, False]))
    'binomial'
  """
  if item.get("verdict") == "not tested":
    return "not tested"
  if item.get("test") in TESTS:
    return item["test"]
  raise ValueError(f"claim {item.get('claim')!r} names no test of {TESTS} (test="
                   f"{item.get('test')!r})")


def recompute_verdict(item: Mapping[str, Any]) -> dict[str, Any]:
  """A claim record's verdict and interval again, from its raw per-seed values alone.

  What a reader of a results file can check without the runs, by the claim's test
  (:func:`claim_kind`). A record whose stored counts or differences disagree with its
  values is refused.

  Returns:
    the verdict function's dict (``verdict``, ``ci_low``, ``ci_high``, ...).

  Example:
    >>> recompute_verdict(count_claim("diverges", "diverged", [False] * 8))["verdict"]
    'contradicted'
  """
  kind, name = claim_kind(item), item.get("claim")
  if kind == "paired_t":
    return paired_verdict(item["a_values"], item["b_values"], item["direction"])
  if kind == "equivalence":
    if item["n"] != len(item["values"]):
      raise ValueError(f"claim {name!r}: n={item['n']} but {len(item['values'])} values")
    if "a_values" in item and not np.allclose(
        np.subtract(item["a_values"], item["b_values"]), item["values"], rtol=0, atol=1e-12):
      raise ValueError(f"claim {name!r}: its values are not a_values - b_values")
    return equivalence_verdict(item["values"], item["target"], item["margin"],
                               alpha=(1 - item["confidence"]) / 2)
  if kind == "non_inferiority":
    return non_inferiority_verdict(item["a_values"], item["b_values"], item["margin"],
                                   item["direction"], alpha=(1 - item["confidence"]) / 2)
  if kind == "binomial":
    if item["count"] != sum(item["outcomes"]) or item["n"] != len(item["outcomes"]):
      raise ValueError(f"claim {name!r}: count {item['count']} of {item['n']} does not "
                       f"match its outcomes")
    return binomial_verdict(item["count"], item["n"])
  if kind == "rank":
    return rank_verdict(item["scores"], item["subject"], item["top"],
                        item["higher_is_better"], confidence=item["confidence"])
  if kind == "bootstrap_ratio":
    return ratio_verdict(item["a_values"], item["b_values"], item["threshold"],
                         item["direction"], confidence=item["confidence"])
  raise ValueError(f"claim {name!r} was not tested: it has no verdict to recompute")
