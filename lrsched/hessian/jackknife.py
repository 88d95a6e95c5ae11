"""Delete-one-batch jackknife: the error bar of an estimate computed on all ``B`` batches.

The full-data estimate ``theta`` (a top eigenvalue, the trace) is recomputed ``B`` times,
each time without one batch (``theta_(b)``). With batch ``b`` holding ``n_b`` of the ``N``
examples and ``h_b = N / n_b``, the delete-a-group jackknife for groups of unequal size
(Busing, Meijer & van der Leeden 1999; for equal groups, ``h_b = B``, it is Quenouille
and Tukey's) gives

    theta_J = B theta - sum_b (1 - n_b / N) theta_(b)            (bias-corrected)
    pseudo_b = h_b theta - (h_b - 1) theta_(b)
    se^2 = (1 / B) sum_b (pseudo_b - theta_J)^2 / (h_b - 1)

and the interval ``theta_J +- t(1 - alpha/2, B - 1) se``. For equal batches that is
``theta_J = B theta - (B - 1) mean_b theta_(b)`` and
``se^2 = (B - 1) / B sum_b (theta_(b) - mean)^2``. Unlike the spread of estimates on
disjoint subsets (:func:`lrsched.hessian.eigen.sampling_spread`), which describes an
estimate computed on ``1/B`` of the data (and, for a top eigenvalue, biased upward: the
top eigenvalue of a smaller sample's Hessian is larger on average), this describes the
full-data estimate: its first-order bias ``(B - 1)(mean theta_(b) - theta)`` is removed
and ``se`` is its standard error.
"""

from __future__ import annotations

import numpy as np
import scipy.stats


def check_batches(count: int) -> None:
  """Raises ``ValueError`` for fewer than 3 batches (2: a t-interval with 1 dof)."""
  if count < 3:
    raise ValueError(f"jackknife needs at least 3 batches (one left out at a time; the "
                     f"t-interval has B - 1 degrees of freedom), got {count} batch(es)")


def jackknife(full: np.ndarray, leave_one_out: np.ndarray, sizes=None,
              confidence: float = 0.95) -> dict:
  """The delete-one-batch jackknife of an estimate (see the module docstring).

  Args:
    full: ``(k,)`` the estimate on all batches.
    leave_one_out: ``(B, k)``, row ``b`` the estimate without batch ``b``.
    sizes: ``(B,)`` examples per batch (default: equal).
    confidence: of the t-interval, in ``(0, 1)``.

  Returns:
    A JSON-ready dict: ``batches`` (B), ``full``, ``estimate`` (bias-corrected), ``bias``
    (``full - estimate``), ``std_error``, ``ci_low``/``ci_high``, ``confidence``, ``dof``
    (B - 1) and ``leave_one_out`` (the rows).

  Raises:
    ValueError: fewer than 3 batches, mismatched shapes, or ``confidence`` outside (0, 1).

  Example:
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 4.0, 5.0])       # the mean of 4 batches' values
    >>> loo = np.array([[(x.sum() - v) / 3] for v in x])
    >>> out = jackknife(np.array([x.mean()]), loo)
    >>> out["estimate"], bool(np.isclose(out["std_error"][0], x.std(ddof=1) / 2))
    ([3.0], True)
  """
  full = np.atleast_1d(np.asarray(full, np.float64))
  loo = np.asarray(leave_one_out, np.float64).reshape(-1, full.size)
  count = loo.shape[0]
  check_batches(count)
  if not 0 < confidence < 1:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  sizes = np.ones(count) if sizes is None else np.asarray(sizes, np.float64)
  if sizes.shape != (count,) or np.any(sizes <= 0):
    raise ValueError(f"sizes must be {count} positive batch sizes, got {sizes.tolist()}")
  share = sizes / sizes.sum()
  h = 1.0 / share
  estimate = count * full - ((1 - share)[:, None] * loo).sum(0)
  pseudo = h[:, None] * full - (h - 1)[:, None] * loo
  std_error = np.sqrt((((pseudo - estimate) ** 2) / (h - 1)[:, None]).sum(0) / count)
  half = scipy.stats.t.ppf(0.5 + confidence / 2, count - 1) * std_error
  return {"batches": int(count), "full": full.tolist(), "estimate": estimate.tolist(),
          "bias": (full - estimate).tolist(), "std_error": std_error.tolist(),
          "ci_low": (estimate - half).tolist(), "ci_high": (estimate + half).tolist(),
          "confidence": float(confidence), "dof": int(count - 1),
          "leave_one_out": loo.tolist()}
