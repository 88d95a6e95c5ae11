"""Sharpness tracking: the top Hessian eigenvalue during training, beside ``2/lr``.

Every ``Config.sharpness_every`` steps the loop estimates the largest eigenvalue of
the Hessian of the training loss -- BatchNorm in train mode (batch statistics), the
loss SGD descends -- on a fixed probe batch (the first ``sharpness_batch_size``
training samples, unaugmented), by Lanczos warm-started from the previous top
eigenvector (a handful of HVPs once the direction settles). Each estimate is logged
to ``sharpness.jsonl`` with the stability thresholds of gradient descent, ``2/lr``,
and of heavy-ball momentum ``g``, ``(2 + 2g)/lr``, and drawn in ``sharpness.png``: the
"edge of stability" picture (Cohen et al. 2021): full-batch GD drives the sharpness up
to ``2/lr`` and hovers there.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import jax
import numpy as np
from flax import nnx
from matplotlib.figure import Figure

from lrsched import data as datalib
from lrsched.hessian import model_loss, top_eigenvalues
from lrsched.plotting import save_figure
from lrsched.train.rundir import read_jsonl, write_atomic


class SharpnessTracker:
  """Estimates and logs the top Hessian eigenvalue every ``every`` steps.

  Args:
    every: steps between estimates (>= 1).
    graphdef: the model's train-mode graph definition.
    dataset: the training set; its first ``batch_size`` samples are the probe batch.
    batch_size: probe batch size.
    mean, std: the normalization of the training step.
    path: the ``.jsonl`` log (records past the resumed step are dropped).
    start_step: the step the run (re)starts from.
    tol: relative residual of the Lanczos estimate.
  """

  def __init__(self, every: int, graphdef: nnx.GraphDef, dataset: datalib.ArrayDataset,
               batch_size: int, mean: np.ndarray, std: np.ndarray, path: str | pathlib.Path,
               start_step: int = 0, tol: float = 1e-3) -> None:
    self.every, self.graphdef, self.tol = every, graphdef, tol
    # This process's rows of the probe (DatasetHessian joins all processes' rows).
    rows = np.array_split(np.arange(min(batch_size, len(dataset))), jax.process_count())
    self.batch = dataset.take(rows[jax.process_index()])
    self.preprocess = lambda images: datalib.normalize(images, mean, std)
    self.path = pathlib.Path(path)
    self.records: list[dict[str, Any]] = []
    self.records = [r for r in read_jsonl(self.path) if r.get("step", math.inf) <= start_step]
    self._vector = None
    self._loss_fn = None

  def after_step(self, step: int, params: Any, model_state: Any,
                 hyperparams: dict[str, float]) -> dict[str, Any] | None:
    """Estimates the sharpness when ``step % every == 0``; returns the record (or None)."""
    if step % self.every:
      return None
    if self._loss_fn is None:
      # Train-mode BatchNorm reads batch statistics only, never the running ones kept in
      # the loss function, so one loss function (compiled once) serves every estimate.
      model = nnx.merge(self.graphdef, params, model_state, copy=True)
      self._loss_fn, _ = model_loss(model, "train", preprocess=self.preprocess)
    result = top_eigenvalues(self._loss_fn, params, self.batch, k=1, tol=self.tol,
                             return_eigenvectors=True, start=self._vector)
    self._vector = result.eigenvectors[0]
    lr = float(hyperparams.get("learning_rate", math.nan))
    momentum = float(hyperparams.get("momentum", 0.0))
    record = {"step": step, "sharpness": float(result.eigenvalues[0]),
              "converged": bool(result.converged[0]),
              "relative_residual": float(result.relative_residuals[0]),
              "num_hvps": int(result.num_matvecs), "learning_rate": lr,
              "momentum": momentum, "gd_threshold": 2.0 / lr,
              "momentum_threshold": (2.0 + 2.0 * momentum) / lr}
    self.records.append(record)
    return record

  def write(self) -> None:
    """Writes ``sharpness.jsonl`` and ``sharpness.png`` beside it."""
    write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
    if self.records:
      plot_sharpness(self.records, self.path.with_suffix(".png"))


def plot_sharpness(records: list[dict[str, Any]], path: str | pathlib.Path) -> Figure:
  """Draws the sharpness and the ``2/lr`` and ``(2+2g)/lr`` thresholds over steps."""
  steps = [r["step"] for r in records]
  fig = Figure(figsize=(7, 4), layout="constrained")
  ax = fig.subplots()
  ax.plot(steps, [r["sharpness"] for r in records], marker=".", label="top Hessian eigenvalue")
  ax.plot(steps, [r["gd_threshold"] for r in records], "--", label="2 / lr")
  if any(r["momentum"] for r in records):
    ax.plot(steps, [r["momentum_threshold"] for r in records], ":", label="(2 + 2 momentum) / lr")
  unconverged = [(r["step"], r["sharpness"]) for r in records if not r["converged"]]
  if unconverged:
    ax.plot(*zip(*unconverged, strict=True), "rx", label="not converged")
  ax.set_xlabel("step")
  ax.set_yscale("log")
  ax.legend(fontsize="small")
  ax.set_title("sharpness (train-mode BatchNorm, probe batch)")
  save_figure(fig, path)
  return fig
