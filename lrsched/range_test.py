"""The learning-rate range test (Smith 2017; fastai's ``lr_find``) and ``lrsched range-test``.

Train for ``num_steps`` steps with a learning rate growing exponentially (``mode="exp"``,
the default) or linearly (``mode="linear"``, Smith's original test) from ``min_lr`` to
``max_lr``::

    lr_i = min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))      # "exp"
    lr_i = min_lr + (max_lr - min_lr) * i / (num_steps - 1)         # "linear"

record the loss of each step (on the parameters before its update; with ``val_batch``, the
loss on that fixed batch after the update, as torch-lr-finder's ``val_loader``), smooth it with a
bias-corrected moving average ``a_i = s a_{i-1} + (1 - s) loss_i``,
``smoothed_i = a_i / (1 - s^(i+1))``, and stop at divergence: a non-finite loss or
``smoothed_i > diverge_factor * min_{j<=i} smoothed_j``. From the points before the
divergence it suggests

* ``min_loss_lr``: the learning rate of the smallest smoothed loss;
* ``steepest_lr``: where the smoothed loss falls fastest per unit of ``log lr``, ignoring
  the first and last 10% of the points before the divergence (the first smoothed values
  rest on few losses; the last are the blow-up);
* ``suggested_lr = min_loss_lr / 10`` (fastai's "minimum/10"): the minimum itself lies
  at the edge of stability (for gradient descent on a quadratic with top Hessian
  eigenvalue ``lambda_max``, the edge is ``2 / lambda_max``);
* ``valley_lr``: fastai's default suggestion, ``valley`` (see
  :func:`suggest_learning_rate`), on the smoothed losses without the first tenth of the
  planned steps and the last five points, as fastai's ``lr_find`` trims them.

If the smoothed loss never falls by ``min_decrease`` (relative) below its first value,
the result says so (``ok`` is False, ``message`` explains, the suggestions are
``None``) instead of suggesting a value.

Example:
  >>> import jax.numpy as jnp, optax
  >>> def loss_fn(w, batch):  # 0.5 * 4 * w^2: curvature 4, so GD diverges above 0.5
  ...   return 2.0 * jnp.sum(w ** 2)
  >>> result = lr_range_test(loss_fn, jnp.ones(3), [None], optax.sgd, min_lr=1e-3,
  ...                        max_lr=10.0, num_steps=60)
  >>> result.ok, result.suggested_lr < 0.5 < result.diverged_lr
  (True, True)
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

from lrsched.plotting import save_figure

OptimizerFactory = Callable[[optax.ScalarOrSchedule], optax.GradientTransformation]


@dataclasses.dataclass(frozen=True)
class RangeTestResult:
  """What :func:`lr_range_test` returns.

  Attributes:
    lrs: the learning rate of every step taken.
    losses: the loss of every step (before its update).
    smoothed: the bias-corrected smoothed losses (NaN after a non-finite loss).
    diverged_at: index of the step where divergence was detected (None: it did not
      diverge up to ``max_lr``).
    min_loss_lr: learning rate of the smallest smoothed loss before divergence.
    steepest_lr: learning rate of the steepest descent of the smoothed loss.
    suggested_lr: ``min_loss_lr / 10``.
    message: a one-line summary, or why there is no suggestion.
    valley_lr: fastai's ``valley`` suggestion (None when there is no suggestion).
    lambda_max: the top Hessian eigenvalue of the loss at the initial weights, when
      measured (:func:`range_test_config` does, with one Lanczos call).
    momentum: the heavy-ball momentum ``g`` the stability bound assumes.
  """

  lrs: np.ndarray
  losses: np.ndarray
  smoothed: np.ndarray
  diverged_at: int | None
  min_loss_lr: float | None
  steepest_lr: float | None
  suggested_lr: float | None
  message: str
  valley_lr: float | None = None
  lambda_max: float | None = None
  momentum: float = 0.0

  @property
  def stability_lr(self) -> float | None:
    """``(2 + 2g) / lambda_max`` (``2 / lambda_max`` without momentum), or None.

    Gradient descent with heavy-ball momentum ``g`` on a quadratic with top curvature
    ``lambda_max`` diverges above this rate; a suggestion above it is suspect at the
    start of training (the curvature changes as training goes on).
    """
    if self.lambda_max is None or not self.lambda_max > 0:
      return None
    return (2 + 2 * self.momentum) / self.lambda_max

  @property
  def ok(self) -> bool:
    """Whether the loss decreased, so that there are suggestions."""
    return self.suggested_lr is not None

  @property
  def diverged_lr(self) -> float | None:
    """The learning rate at which divergence was detected (None if it was not)."""
    return None if self.diverged_at is None else float(self.lrs[self.diverged_at])

  def suggestions(self) -> dict[str, float]:
    """``{"valley": ..., "minimum": ..., "steepest": ..., "minimum/10": ...}``.

    Raises:
      ValueError: the loss never decreased (the message says so).
    """
    if not self.ok:
      raise ValueError(self.message)
    return {"valley": self.valley_lr, "minimum": self.min_loss_lr,
            "steepest": self.steepest_lr, "minimum/10": self.suggested_lr}


SUGGESTION_METHODS = ("valley", "steepest", "minimum", "minimum/10")


def suggest_learning_rate(lrs: Sequence[float] | np.ndarray,
                          losses: Sequence[float] | np.ndarray,
                          method: str = "valley") -> float:
  """A learning rate suggested by a range test's curve, applied to the arrays as given.

  * ``"valley"`` (fastai's default): the longest strictly decreasing subsequence of the
    losses ends at index ``end`` and has ``m`` points; with fastai's
    ``start = end - m`` (one before its first point) the suggestion is the rate at
    ``start + int((end - start) / 3) + int((end - start) / 3 / 2)``, about halfway
    through the middle third of the valley (where the loss still falls steadily, well
    before the minimum). Where fastai's index would be -1 (a valley of two points at
    the very start) this takes the first rate, not the last.
  * ``"steepest"``: where ``d loss / d log(lr)`` is most negative.
  * ``"minimum"``: the rate of the smallest loss; ``"minimum/10"``: a tenth of it.

  Args:
    lrs: increasing positive learning rates, one per loss (at least 2).
    losses: finite losses (pass smoothed ones; fastai passes its smoothed losses).
    method: one of ``"valley"``, ``"steepest"``, ``"minimum"``, ``"minimum/10"``.

  Returns:
    The suggested learning rate.

  Example:
    >>> lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    >>> losses = [2.3, 2.3, 2.2, 1.6, 0.9, 0.8, 5.0]
    >>> suggest_learning_rate(lrs, losses), suggest_learning_rate(lrs, losses, "minimum")
    (0.0001, 1.0)
  """
  if method not in SUGGESTION_METHODS:
    raise ValueError(f"method must be one of {SUGGESTION_METHODS}, got {method!r}")
  x = np.asarray(lrs, dtype=np.float64)
  y = np.asarray(losses, dtype=np.float64)
  if x.ndim != 1 or x.shape != y.shape or x.size < 2:
    raise ValueError(f"lrs and losses must be 1-D arrays of the same length >= 2, got "
                     f"shapes {x.shape} and {y.shape}")
  if not (np.isfinite(x).all() and (x > 0).all() and (np.diff(x) > 0).all()):
    raise ValueError("lrs must be finite, positive and increasing")
  if not np.isfinite(y).all():
    raise ValueError("losses must be finite (cut the curve at the divergence)")
  if method == "minimum":
    return float(x[np.argmin(y)])
  if method == "minimum/10":
    return float(x[np.argmin(y)]) / 10
  if method == "steepest":
    return float(x[int(np.argmin(np.gradient(y, np.log(x))))])
  n = y.size  # valley: fastai's O(n^2) longest decreasing subsequence, step for step
  lds = [1] * n
  start = end = 0
  for i in range(1, n):
    for j in range(i):
      if y[i] < y[j] and lds[i] < lds[j] + 1:
        lds[i] = lds[j] + 1
      if lds[end] < lds[i]:
        end = i
        start = end - lds[end]
  if lds[end] == 1:
    raise ValueError("the losses never decrease: no learning rate to suggest")
  sections = (end - start) / 3  # fastai's start is one before the valley's first point
  return float(x[max(start + int(sections) + int(sections / 2), 0)])


def _check_args(min_lr, max_lr, num_steps, smoothing, diverge_factor, min_decrease) -> None:
  def bad(name, value, allowed):
    raise ValueError(f"lr_range_test: {name} must be {allowed}, got {value!r}")

  def number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x)

  if not (number(min_lr) and min_lr > 0):
    bad("min_lr", min_lr, "a finite number > 0")
  if not (number(max_lr) and max_lr > min_lr):
    bad("max_lr", max_lr, f"a finite number > min_lr ({min_lr})")
  if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) \
      or num_steps < 3:
    bad("num_steps", num_steps, "an integer >= 3")
  if not (number(smoothing) and 0 <= smoothing < 1):
    bad("smoothing", smoothing, "a number in [0, 1)")
  if not (number(diverge_factor) and diverge_factor > 1):
    bad("diverge_factor", diverge_factor, "a finite number > 1")
  if not (number(min_decrease) and 0 <= min_decrease < 1):
    bad("min_decrease", min_decrease, "a number in [0, 1)")


def _batch_iterator(batches: Iterable[Any]):
  if isinstance(batches, Sequence):
    if not batches:
      raise ValueError("lr_range_test: batches is empty")
    return itertools.cycle(batches)
  return iter(batches)


def lr_range_test(
    loss_fn: Callable[[Any, Any], jax.Array],
    params: Any,
    batches: Iterable[Any],
    optimizer_factory: OptimizerFactory = optax.sgd,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    *,
    min_decrease: float = 0.01,
    mode: str = "exp",
    val_batch: Any = None,
) -> RangeTestResult:
  """Runs the learning-rate range test (see the module docstring for the formulas).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar`` loss (>= 0, e.g. cross-entropy);
      differentiated with ``jax.value_and_grad`` and jitted with the update.
    params: the initial parameters (a pytree; not modified).
    batches: the training batches; a ``Sequence`` (e.g. ``[full_batch]``) is cycled,
      any other iterable must yield one batch per step.
    optimizer_factory: ``factory(learning_rate) -> optax.GradientTransformation``,
      called once with the exponential schedule (``optax.sgd``, ``optax.adam``,
      ``lambda lr: optax.sgd(lr, momentum=0.9)``, ...).
    min_lr: the first learning rate, > 0.
    max_lr: the last learning rate, > ``min_lr``.
    num_steps: number of steps (learning rates), >= 3.
    smoothing: the EMA factor ``s`` of the loss, in [0, 1).
    diverge_factor: stop when the smoothed loss exceeds this multiple of its
      minimum, > 1.
    min_decrease: the relative decrease of the smoothed loss below its first value
      that counts as "the loss decreased", in [0, 1).
    mode: ``"exp"`` (the rate grows geometrically) or ``"linear"``.
    val_batch: a fixed batch whose loss, after each update, is the curve (instead of the
      training loss of the step); ``None``: the training loss.

  Returns:
    A :class:`RangeTestResult`.

  Raises:
    ValueError: a bad argument, or ``batches`` ran out before ``num_steps`` steps.
  """
  _check_args(min_lr, max_lr, num_steps, smoothing, diverge_factor, min_decrease)
  if mode not in ("exp", "linear"):
    raise ValueError(f"lr_range_test: mode must be 'exp' or 'linear', got {mode!r}")
  ratio = (max_lr / min_lr) ** (1.0 / (num_steps - 1))
  log_ratio = math.log(ratio)
  increment = (max_lr - min_lr) / (num_steps - 1)

  def schedule(count):
    if mode == "linear":
      return min_lr + increment * count
    return min_lr * jnp.exp(log_ratio * count)

  tx = optimizer_factory(schedule)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    if val_batch is not None:
      loss = loss_fn(params, val_batch)
    return params, opt_state, loss

  it = _batch_iterator(batches)
  lrs, losses, smoothed = [], [], []
  avg, best, diverged_at = 0.0, math.inf, None
  for i in range(num_steps):
    try:
      batch = next(it)
    except StopIteration:
      raise ValueError(f"lr_range_test: batches ran out after {i} of {num_steps} steps; "
                       f"pass a Sequence (it is cycled) or a longer iterable") from None
    params, opt_state, loss = step(params, opt_state, batch)
    loss = float(loss)
    lrs.append(min_lr + increment * i if mode == "linear" else min_lr * ratio**i)
    losses.append(loss)
    if not math.isfinite(loss):
      smoothed.append(math.nan)
      diverged_at = i
      break
    avg = smoothing * avg + (1 - smoothing) * loss
    smoothed.append(avg / (1 - smoothing ** (i + 1)))
    best = min(best, smoothed[-1])
    if smoothed[-1] > diverge_factor * best:
      diverged_at = i
      break
  return _summarize(np.array(lrs), np.array(losses), np.array(smoothed), diverged_at,
                    min_decrease, num_steps)


def _summarize(lrs, losses, smoothed, diverged_at, min_decrease,
               num_steps: int | None = None) -> RangeTestResult:
  end = len(lrs) if diverged_at is None else diverged_at
  where = ("did not diverge up to max_lr" if diverged_at is None
           else f"diverged at lr {lrs[diverged_at]:.3g} (step {diverged_at})")
  fails = RangeTestResult(lrs, losses, smoothed, diverged_at, None, None, None, "")
  if end < 2:
    return dataclasses.replace(fails, message=(
        f"the range test {where} before it had two good points: lower min_lr"))
  good = smoothed[:end]
  i_min = int(np.argmin(good))
  if not good[i_min] < good[0] - min_decrease * abs(good[0]):
    return dataclasses.replace(fails, message=(
        f"the loss never decreased between lr {lrs[0]:.3g} and {lrs[end - 1]:.3g} (smoothed "
        f"loss {good[0]:.4g} at the start, lowest {good[i_min]:.4g}); no learning rate is "
        f"suggested: widen the range (lower min_lr, more num_steps) or check the model, "
        f"the loss and the data"))
  # Steepest descent without the first and last tenth of the curve before the divergence.
  tenth = end // 10
  lo, hi = tenth, end - tenth
  if hi - lo < 2:
    lo, hi = 0, end
  i_steep = lo + int(np.argmin(np.gradient(good[lo:hi], np.log(lrs[lo:hi]))))
  min_loss_lr = float(lrs[i_min])
  first, last = (num_steps or len(lrs)) // 10, end - 5  # fastai's lr_find trims these
  if last - first < 2:
    first, last = 0, end
  valley = suggest_learning_rate(lrs[first:last], good[first:last], "valley")
  message = (f"valley at lr {valley:.3g}, minimum loss at lr {min_loss_lr:.3g}, steepest "
             f"descent at lr {lrs[i_steep]:.3g}, minimum/10 {min_loss_lr / 10:.3g}; {where}")
  return dataclasses.replace(fails, min_loss_lr=min_loss_lr, steepest_lr=float(lrs[i_steep]),
                             suggested_lr=min_loss_lr / 10, message=message, valley_lr=valley)


def plot_range_test(result: RangeTestResult, path: str | pathlib.Path | None = None,
                    title: str | None = None) -> Figure:
  """Draws loss against learning rate (log axis) with the suggestions marked.

  Args:
    result: a :class:`RangeTestResult`.
    path: where to write the PNG (parent folders are created); ``None`` to only
      return the figure.
    title: figure title (default: the result's message).

  Returns:
    The matplotlib ``Figure``.
  """
  fig = Figure(figsize=(7, 4.2), layout="constrained")
  ax = fig.subplots()
  finite = np.isfinite(result.losses)
  ax.plot(result.lrs[finite], result.losses[finite], ".", color="0.7", label="loss")
  ax.plot(result.lrs, result.smoothed, color="C0", label="smoothed loss")
  marks = [("valley", result.valley_lr, "C4"), ("minimum", result.min_loss_lr, "C2"),
           ("steepest", result.steepest_lr, "C1"),
           ("minimum/10", result.suggested_lr, "C3"), ("divergence", result.diverged_lr, "k"),
           ("stability bound", result.stability_lr, "C5")]
  for label, lr, color in marks:
    if lr is not None:
      ax.axvline(lr, color=color, linestyle="--", linewidth=1, label=f"{label} {lr:.3g}")
  good = result.smoothed[np.isfinite(result.smoothed)]
  if len(good):
    low, high = float(np.min(good)), float(np.max(good[: max(1, len(good) - 1)]))
    pad = 0.1 * (high - low) if high > low else 0.1 * abs(high) + 1e-12
    ax.set_ylim(low - pad, high + pad)
  ax.set_xscale("log")
  ax.set_xlabel("learning rate")
  ax.set_ylabel("loss")
  ax.legend(fontsize="small")
  ax.set_title(title if title is not None else result.message, fontsize="small", wrap=True)
  if path is not None:
    save_figure(fig, path)
  return fig


# ---------------------------------------------------------------- Flax NNX classifiers


def classifier_loss_fn(graphdef, model_state, mean, std, loss: str = "cross_entropy"
                       ) -> Callable[[Any, Mapping], jax.Array]:
  """``loss_fn(params, batch)`` for an NNX classifier split by ``lrsched.train.steps``.

  The loss is the batch mean of ``loss`` (:mod:`lrsched.losses`: softmax cross-entropy
  or the square loss; a run's ``Config.loss``) of ``model(normalize(batch["image"]))``
  in the mode of ``graphdef`` (train mode: BatchNorm uses batch statistics). The
  non-parameter state (BatchNorm running statistics, dropout RNG) is held fixed: a
  range test does not need the running statistics, and dropout draws the same masks
  at every step.

  Args:
    graphdef: the model's graph definition (``split_model(model)[0]``).
    model_state: the rest of its state (``split_model(model)[3]``).
    mean: per-channel mean for :func:`lrsched.data.normalize`.
    std: per-channel standard deviation.
    loss: ``"cross_entropy"`` or ``"mse"``.

  Returns:
    The loss function.
  """
  from flax import nnx

  from lrsched.data import normalize
  from lrsched.losses import mean_loss

  batch_loss = mean_loss(loss)

  def loss_fn(params, batch):
    model = nnx.merge(graphdef, params, model_state, copy=True)
    logits = model(normalize(batch["image"], mean, std))
    return batch_loss(logits.astype(jnp.float32), batch["label"])

  return loss_fn


def epoch_batches(dataset, batch_size: int, seed: int = 0):
  """Shuffled training batches (images and labels) of ``dataset``, epoch after epoch."""
  from lrsched.data import iterate_batches

  for epoch in itertools.count(1):
    for batch in iterate_batches(dataset, batch_size, seed=seed, epoch=epoch):
      yield {"image": batch["image"], "label": batch["label"]}


def _initial_momentum(config) -> float:
  """The config's SGD momentum at step 0 (a momentum schedule at its first step; 0 for
  other optimizers)."""
  from lrsched.schedules import from_spec

  if config.optimizer != "sgd":
    return 0.0
  momentum = config.momentum
  if isinstance(momentum, Mapping):
    momentum = from_spec(momentum, 1)(0)
  return float(momentum)


def optimizer_factory_from_config(config) -> OptimizerFactory:
  """The optimizer of an ``lrsched.train.Config`` with the learning rate left open.

  Momentum given as a schedule spec is taken at its first step.
  """
  from lrsched.train.optimizer import sgd_with_weight_decay
  from lrsched.train.specs import optax_optimizer

  if config.optimizer == "sgd":
    momentum = _initial_momentum(config)
    weight_decay = 0.0 if config.weight_decay_mask == "none" else config.weight_decay
    mask = None
    if config.weight_decay_mask == "kernels":
      def mask(params):
        return jax.tree.map(lambda p: p.ndim > 1, params)
    return lambda lr: sgd_with_weight_decay(lr, momentum=momentum,
                                            weight_decay=weight_decay,
                                            nesterov=config.nesterov, mask=mask)
  factory = optax_optimizer(config.optimizer, config.optimizer_kwargs)
  return lambda lr: factory(learning_rate=lr, **config.optimizer_kwargs)


def range_test_config(config, *, use_eval: bool = False, stability: bool = True,
                      **kwargs: Any) -> RangeTestResult:
  """Runs :func:`lr_range_test` on the model, data and optimizer of a training config.

  Uses the config's training data (no augmentation), model, loss, batch size, seed and
  optimizer (momentum, weight decay). The batches are sharded over every device (the
  training loop's mesh; the parameters are replicated), so the test runs where
  training would.

  Args:
    config: a :class:`lrsched.train.Config`.
    use_eval: the curve is the loss on a fixed batch of the evaluation split after each
      update (torch-lr-finder's ``val_loader``) instead of the step's training loss.
    stability: also measure ``lambda_max`` at the initial weights (one Lanczos call on
      the first batch) for :attr:`RangeTestResult.stability_lr`.
    **kwargs: passed to :func:`lr_range_test` (``min_lr``, ``max_lr``, ``num_steps``,
      ``mode``, ...).
  """
  from lrsched.data import iterate_batches
  from lrsched.train import steps as stepslib
  from lrsched.train.run_model import build_run_model, load_data

  train_ds, eval_ds = load_data(config)
  if config.batch_size > len(train_ds):
    raise ValueError(f"batch_size {config.batch_size} exceeds the {len(train_ds)} "
                     f"training samples")
  mesh = stepslib.data_mesh()
  model = build_run_model(config, train_ds)
  graphdef, _, params, rest = stepslib.split_model(model)
  params = stepslib.replicate(mesh, params)
  mean, std = train_ds.channel_stats()
  from lrsched.losses import check_labels

  check_labels(config.loss, train_ds.labels, config.model.get("num_classes",
                                                              train_ds.num_classes))
  loss_fn = classifier_loss_fn(graphdef, rest, mean, std, config.loss)

  def sharded(batches):
    for batch in batches:
      yield stepslib.shard_batch(mesh, batch)

  val_batch = None
  if use_eval:
    first = next(iterate_batches(eval_ds, min(config.batch_size, len(eval_ds)), shuffle=False,
                                 drop_remainder=False))
    val_batch = stepslib.shard_batch(mesh, {"image": first["image"], "label": first["label"]})
  result = lr_range_test(loss_fn, params, sharded(epoch_batches(train_ds, config.batch_size,
                                                                config.seed)),
                         optimizer_factory_from_config(config), val_batch=val_batch, **kwargs)
  if not stability:
    return result
  from lrsched.hessian import top_eigenvalues

  probe = stepslib.shard_batch(mesh, next(epoch_batches(train_ds, config.batch_size,
                                                        config.seed)))
  lam = float(top_eigenvalues(loss_fn, params, probe, k=1, mode="train").eigenvalues[0])
  momentum = _initial_momentum(config)
  result = dataclasses.replace(result, lambda_max=lam, momentum=momentum)
  bound = result.stability_lr
  if result.ok and bound is not None:
    above = [name for name, lr in result.suggestions().items() if lr > bound]
    note = (f"; stability bound at the initial weights {bound:.3g} "
            f"(lambda_max {lam:.4g}, momentum {momentum:g})")
    if above:
      note += f": {', '.join(above)} above it, suspect"
    result = dataclasses.replace(result, message=result.message + note)
  return result


# ---------------------------------------------------------------- command line


def add_parser(subparsers) -> argparse.ArgumentParser:
  """Adds ``range-test`` to an ``argparse`` subparsers object (``lrsched range-test``)."""
  parser = subparsers.add_parser(
      "range-test", help="learning-rate range test (Smith 2017) on a training config",
      description="Trains a config's model for --num-steps steps with an exponentially "
                  "growing learning rate; prints suggested learning rates and writes a PNG.")
  parser.add_argument("--config", required=True, help="config file (.py)")
  parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="config overrides, e.g. batch_size=64")
  parser.add_argument("--min-lr", type=float, default=1e-7,
                      help="learning rate of the first step (default: 1e-7)")
  parser.add_argument("--max-lr", type=float, default=10.0,
                      help="learning rate of the last step (default: 10)")
  parser.add_argument("--num-steps", type=int, default=100,
                      help="steps, the rate growing geometrically (default: 100)")
  parser.add_argument("--smoothing", type=float, default=0.98,
                      help="exponential smoothing of the loss, in [0, 1) (default: 0.98)")
  parser.add_argument("--diverge-factor", type=float, default=4.0,
                      help="stop when the smoothed loss exceeds this times its minimum "
                           "(default: 4)")
  parser.add_argument("--mode", choices=("exp", "linear"), default="exp",
                      help="how the rate grows: exp (geometric, fastai) or linear (Smith's "
                           "original) (default: exp)")
  parser.add_argument("--eval-loss", action="store_true",
                      help="the curve is the loss on a fixed evaluation batch after each "
                           "update, not the training loss (default: the training loss)")
  parser.add_argument("--out", default=None,
                      help="PNG to write (default runs/<config>_lr_range.png)")
  parser.set_defaults(run=run)
  return parser


def run(args: argparse.Namespace) -> None:
  """Runs ``lrsched range-test``; raises ValueError when the loss never decreased."""
  from lrsched.train import load_config

  config = load_config(args.config, args.overrides)
  result = range_test_config(config, use_eval=args.eval_loss, min_lr=args.min_lr,
                             max_lr=args.max_lr, num_steps=args.num_steps,
                             smoothing=args.smoothing, diverge_factor=args.diverge_factor,
                             mode=args.mode)
  out = args.out or f"runs/{pathlib.Path(args.config).stem}_lr_range.png"
  path = pathlib.Path(out)
  plot_range_test(result, path)
  print(f"wrote {path.resolve()}")
  if not result.ok:
    raise ValueError(result.message)
  bound = result.stability_lr
  for name, value in result.suggestions().items():
    flag = "  (above the stability bound)" if bound is not None and value > bound else ""
    print(f"{name:>10}: {value:.4g}{flag}")
  if bound is not None:
    print(f"{'stability':>10}: {bound:.4g}  ((2 + 2 momentum) / lambda_max at the initial "
          f"weights, lambda_max {result.lambda_max:.4g})")
  print(result.message)


__all__ = [
    "RangeTestResult",
    "add_parser",
    "classifier_loss_fn",
    "epoch_batches",
    "lr_range_test",
    "optimizer_factory_from_config",
    "plot_range_test",
    "range_test_config",
    "run",
    "suggest_learning_rate",
]
