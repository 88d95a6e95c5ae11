"""Sharpness tracking: the top Hessian eigenvalue during training, beside ``2/lr``.

Every ``Config.sharpness_every`` steps the loop estimates the largest eigenvalue
``lambda_1`` of the Hessian of the training loss -- the run's ``Config.loss``, BatchNorm
in train mode (batch statistics), the loss GD descends -- on a fixed probe batch (the
first ``sharpness_batch_size`` training samples, unaugmented; the whole training set for
the edge-of-stability config), by Lanczos warm-started from the previous top eigenvector
(1-3 HVPs once the direction settles, ``benchmarks/sharpness_tracking.py``). Each
estimate is logged to ``sharpness.jsonl`` with the stability thresholds of gradient
descent, ``2/lr``, and of heavy-ball momentum ``g``, ``(2 + 2g)/lr``, and the ratios

* ``lr_sharpness_half = lr * lambda_1 / 2`` (1 at GD's edge of stability) and
* ``lr_sharpness_momentum = lr * lambda_1 / (2 + 2g)`` (1 at heavy-ball's edge),

and drawn in ``sharpness.png``: the "edge of stability" picture (Cohen et al. 2021):
full-batch GD drives the sharpness up to ``2/lr`` and hovers there. Optionally
(:class:`SharpnessTracker` arguments) ``k=2`` adds ``lambda_2``, and ``directional=True``
the gradient's component along the top eigenvector ``v`` and the loss change of the GD
step's part along it, ``L(w - lr (g.v) v) - L(w)`` (quadratic model:
``lr (g.v)^2 (lr lambda_1/2 - 1)``: positive past the edge).

A record is written as soon as it is made (an append to ``sharpness.jsonl``), so a run
that diverges keeps its log up to the last estimate; ``sharpness.png`` is redrawn at most
every 30 s and at the end.
"""

from __future__ import annotations

import json
import math
import pathlib
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from matplotlib.figure import Figure

from lrsched import data as datalib
from lrsched.hessian import model_loss, top_eigenvalues
from lrsched.plotting import save_figure
from lrsched.train.rundir import read_jsonl, write_atomic

PLOT_EVERY_SECONDS = 30.0
"""``sharpness.png`` is redrawn at most this often during a run, and at the end."""


def check_probe_size(batch_size: int, num_train: int, field: str = "sharpness_batch_size"
                     ) -> int:
  """Returns the probe size; a ``ValueError`` naming ``field`` if it exceeds the data.

  Example:
    >>> check_probe_size(1000, 1000)
    1000
  """
  if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f"{field} must be a positive integer, got {batch_size!r}")
  if batch_size > num_train:
    raise ValueError(f"{field}={batch_size} exceeds the {num_train} training samples (the "
                     f"probe is the first {field} of them; use {num_train} for the whole set)")
  return batch_size


class SharpnessTracker:
  """Estimates and logs the top Hessian eigenvalue every ``every`` steps.

  Args:
    every: steps between estimates (>= 1).
    graphdef: the model's train-mode graph definition.
    dataset: the training set; its first ``batch_size`` samples are the probe batch.
    batch_size: probe batch size, at most ``len(dataset)`` (``Config.sharpness_batch_size``).
    mean, std: the normalization of the training step.
    path: the ``.jsonl`` log (records past the resumed step are dropped).
    start_step: the step the run (re)starts from.
    tol: relative residual of the Lanczos estimate.
    loss: the run's loss (``Config.loss``).
    k: 1 (``lambda_1``) or 2 (also ``lambda_2``).
    directional: also log ``grad_along_top`` (``g.v``) and ``loss_change_along_top``
      (``L(w - lr (g.v) v) - L(w)``): one gradient and one loss more per estimate.

  Raises:
    ValueError: a probe larger than the training set, or a bad ``every``/``k``.
  """

  def __init__(self, every: int, graphdef: nnx.GraphDef, dataset: datalib.ArrayDataset,
               batch_size: int, mean: np.ndarray, std: np.ndarray, path: str | pathlib.Path,
               start_step: int = 0, tol: float = 1e-3, *, loss: str = "cross_entropy",
               k: int = 1, directional: bool = False) -> None:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
      raise ValueError(f"sharpness_every must be a positive integer, got {every!r}")
    if k not in (1, 2):
      raise ValueError(f"k must be 1 or 2, got {k!r}")
    check_probe_size(batch_size, len(dataset))
    self.every, self.graphdef, self.tol = every, graphdef, tol
    self.loss, self.k, self.directional = loss, k, directional
    # This process's rows of the probe (DatasetHessian joins all processes' rows).
    rows = np.array_split(np.arange(batch_size), jax.process_count())
    self.batch = dataset.take(rows[jax.process_index()])
    self.preprocess = lambda images: datalib.normalize(images, mean, std)
    self.path = pathlib.Path(path)
    self.records: list[dict[str, Any]] = [
        r for r in read_jsonl(self.path) if r.get("step", math.inf) <= start_step]
    self._written = None  # records already in the file (None: rewrite it first)
    self._plotted = -math.inf
    self._vector = None
    self._loss_fn = None
    self._directional_fn = None

  def after_step(self, step: int, params: Any, model_state: Any,
                 hyperparams: dict[str, float]) -> dict[str, Any] | None:
    """Estimates the sharpness when ``step % every == 0``; returns the record (or None)."""
    if step % self.every:
      return None
    if self._loss_fn is None:
      # Train-mode BatchNorm reads batch statistics only, never the running ones kept in
      # the loss function, so one loss function (compiled once) serves every estimate.
      model = nnx.merge(self.graphdef, params, model_state, copy=True)
      self._loss_fn, _ = model_loss(model, "train", preprocess=self.preprocess,
                                    loss=self.loss)
    result = top_eigenvalues(self._loss_fn, params, self.batch, k=self.k, tol=self.tol,
                             return_eigenvectors=True, start=self._vector)
    self._vector = result.eigenvectors[0]
    lr = float(hyperparams.get("learning_rate", math.nan))
    momentum = float(hyperparams.get("momentum", 0.0))
    top = float(result.eigenvalues[0])
    record = {"step": step, "sharpness": top,
              "converged": bool(result.converged[0]),
              "relative_residual": float(result.relative_residuals[0]),
              "num_hvps": int(result.num_matvecs), "learning_rate": lr,
              "momentum": momentum, "gd_threshold": 2.0 / lr,
              "momentum_threshold": (2.0 + 2.0 * momentum) / lr,
              "lr_sharpness_half": lr * top / 2.0,
              "lr_sharpness_momentum": lr * top / (2.0 + 2.0 * momentum)}
    if self.k == 2:
      record["lambda_2"] = float(result.eigenvalues[1])
      record["lambda_2_converged"] = bool(result.converged[1])
    if self.directional:
      record.update(self._along_top(params, lr))
    self.records.append(record)
    return record

  def _along_top(self, params: Any, lr: float) -> dict[str, float]:
    """``g.v`` and ``L(w - lr (g.v) v) - L(w)`` for the top eigenvector ``v``."""
    if self._directional_fn is None:
      loss_fn = self._loss_fn

      def along(params, vector, batch, lr):
        value, grad = jax.value_and_grad(loss_fn)(params, batch)
        dot = sum(jnp.vdot(g, v) for g, v in zip(jax.tree.leaves(grad),
                                                  jax.tree.leaves(vector), strict=True))
        moved = jax.tree.map(lambda p, v: p - lr * dot * v, params, vector)
        return dot, loss_fn(moved, batch) - value

      self._directional_fn = jax.jit(along)
    vector = jax.tree.map(lambda p, v: jnp.asarray(v, p.dtype), params, self._vector)
    dot, change = self._directional_fn(params, vector, self.batch, lr)
    return {"grad_along_top": float(dot), "loss_change_along_top": float(change)}

  def write(self, final: bool = False) -> None:
    """Writes the new records to ``sharpness.jsonl``; redraws ``sharpness.png`` at most every
    30 s, and always when ``final``."""
    if self._written is None:  # the records kept at a resume, rewritten once
      write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
    elif len(self.records) > self._written:
      with self.path.open("a") as file:
        file.write("".join(json.dumps(r) + "\n" for r in self.records[self._written:]))
    self._written = len(self.records)
    now = time.perf_counter()
    if self.records and (final or now - self._plotted > PLOT_EVERY_SECONDS):
      plot_sharpness(self.records, self.path.with_suffix(".png"))
      self._plotted = now


def plot_sharpness(records: list[dict[str, Any]], path: str | pathlib.Path) -> Figure:
  """Draws the sharpness and the ``2/lr`` and ``(2+2g)/lr`` thresholds over steps."""
  steps = [r["step"] for r in records]
  fig = Figure(figsize=(7, 4), layout="constrained")
  ax = fig.subplots()
  ax.plot(steps, [r["sharpness"] for r in records], marker=".", label="top Hessian eigenvalue")
  if any("lambda_2" in r for r in records):
    ax.plot([r["step"] for r in records if "lambda_2" in r],
            [r["lambda_2"] for r in records if "lambda_2" in r], ".", markersize=3,
            label="second eigenvalue")
  ax.plot(steps, [r["gd_threshold"] for r in records], "--", label="2 / lr")
  if any(r["momentum"] for r in records):
    ax.plot(steps, [r["momentum_threshold"] for r in records], ":", label="(2 + 2 momentum) / lr")
  unconverged = [(r["step"], r["sharpness"]) for r in records if not r["converged"]]
  if unconverged:
    ax.plot(*zip(*unconverged, strict=True), "rx", label="not converged")
  ax.set_xlabel("step")
  if all(r["sharpness"] > 0 for r in records):
    ax.set_yscale("log")
  ax.legend(fontsize="small")
  ax.set_title("sharpness (train-mode BatchNorm, probe batch)")
  save_figure(fig, path)
  return fig
