"""Transfer learning: weights from one run into another model, features, linear probes.

The two transfer strategies of You et al. (2019, Sec. 6): *fine-tuning* (the whole
network trains on the target task from the source weights: ``Config.init_from``,
which uses :func:`copy_matching_weights`) and *fixed features* (the source network
only extracts features, :func:`extract_features`; a linear classifier is fit on them,
:func:`linear_probe`). :func:`transferability` is the paper's ratio.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx, traverse_util

from lrsched import data as datalib


def copy_matching_weights(source: nnx.Module, target: nnx.Module,
                          skip: Sequence[str] = ()) -> list[str]:
  """Copies the weights of ``source`` into ``target`` in place where path and shape match.

  Every variable but random-number state is copied -- parameters, BatchNorm statistics
  and fixed (untrained) weights such as a scale-invariant model's head -- cast to the
  target's dtype.

  Args:
    source: the module to copy from.
    target: the module to copy into.
    skip: path prefixes (``"head"``, ``"blocks/0"``) that keep the target's own values.

  Returns:
    The paths (``"head/kernel"``...) of ``target`` that kept their own values.

  Raises:
    ValueError: a ``skip`` prefix matches no path of ``target``, or no weight matched
      at all (not the same architecture).
  """
  weights = nnx.Not(nnx.RngState)
  src = traverse_util.flatten_dict(nnx.to_pure_dict(nnx.state(source, weights)))
  state = nnx.state(target, weights)
  dst = traverse_util.flatten_dict(nnx.to_pure_dict(state))
  names = {path: "/".join(map(str, path)) for path in dst}
  skip = [p.strip("/") for p in skip]
  for prefix in skip:
    if not any(n == prefix or n.startswith(prefix + "/") for n in names.values()):
      raise ValueError(f"skip prefix {prefix!r} matches no weight of the target; its "
                       f"top-level names are {sorted({n.split('/')[0] for n in names.values()})}")
  kept = []
  for path, value in dst.items():
    other, name = src.get(path), names[path]
    if any(name == p or name.startswith(p + "/") for p in skip):
      kept.append(name)
    elif other is not None and np.shape(other) == np.shape(value):
      dst[path] = jnp.asarray(other, dtype=value.dtype)
    else:
      kept.append(name)
  if len(kept) == len(dst):
    raise ValueError("no weight of the source matches the target in path and shape: "
                     "not the same architecture")
  nnx.replace_by_pure_dict(state, traverse_util.unflatten_dict(dst))
  nnx.update(target, state)
  return kept


def extract_features(model: nnx.Module, dataset: datalib.ArrayDataset, mean: np.ndarray,
                     std: np.ndarray, batch_size: int = 256) -> np.ndarray:
  """``model.features`` of every image (normalized with ``mean``/``std``), in eval mode.

  Returns:
    ``(len(dataset), width)`` float32 features, in dataset order.
  """
  if not hasattr(model, "features"):
    raise ValueError(f"{type(model).__name__} has no features() method")
  model.eval()
  graphdef, state = nnx.split(model)

  @jax.jit
  def features(state, images):
    return nnx.merge(graphdef, state).features(datalib.normalize(images, mean, std))

  chunks = [np.asarray(features(state, batch["image"]), np.float32) for batch in
            datalib.iterate_batches(dataset, batch_size, shuffle=False, drop_remainder=False)]
  return np.concatenate(chunks)


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                 test_y: np.ndarray, *, l2: float = 1e-3, steps: int = 300) -> dict[str, float]:
  """Fits a multinomial logistic regression on fixed features; returns its accuracies.

  Features are standardized with the training set's statistics; the loss is the mean
  cross-entropy plus ``l2/2 * |W|^2``, minimized full-batch by L-BFGS (``optax.lbfgs``)
  for ``steps`` iterations from zero, so the result is deterministic.

  Returns:
    ``{"train_accuracy", "test_accuracy", "train_loss"}``.
  """
  if not l2 >= 0:
    raise ValueError(f"l2 must be >= 0, got {l2!r}")
  if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
    raise ValueError(f"steps must be a positive integer, got {steps!r}")
  train_x, test_x = np.asarray(train_x, np.float64), np.asarray(test_x, np.float64)
  train_y, test_y = np.asarray(train_y), np.asarray(test_y)
  if (train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]
      or train_y.shape != train_x.shape[:1] or test_y.shape != test_x.shape[:1]):
    raise ValueError(f"features must be (N, D) arrays with (N,) labels, got train "
                     f"{train_x.shape}/{train_y.shape} and test {test_x.shape}/{test_y.shape}")
  if not (np.issubdtype(train_y.dtype, np.integer) and np.issubdtype(test_y.dtype, np.integer)
          and train_y.min() >= 0 and test_y.min() >= 0):
    raise ValueError("labels must be integer class indices >= 0")
  # Standardized with the training statistics; (near-)constant features are only centred.
  mu, std = train_x.mean(0), train_x.std(0)
  sigma = np.where(std > 1e-3 * max(std.max(), 1e-12), std, 1.0)
  xs, xt = (train_x - mu) / sigma, (test_x - mu) / sigma
  num_classes = int(max(train_y.max(), test_y.max())) + 1
  xs, ys = jnp.asarray(xs, jnp.float32), jnp.asarray(train_y)

  def loss(params):
    logits = xs @ params["w"] + params["b"]
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, ys).mean()
    return ce + 0.5 * l2 * jnp.sum(params["w"] ** 2)

  @jax.jit
  def fit(params):
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry, _):
      params, state = carry
      value, grad = value_and_grad(params, state=state)
      updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
      return (optax.apply_updates(params, updates), state), value

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), length=steps)
    return params, loss(params)

  init = {"w": jnp.zeros((xs.shape[1], num_classes)), "b": jnp.zeros(num_classes)}
  params, final = fit(init)
  w, b = np.asarray(params["w"]), np.asarray(params["b"])
  return {"train_accuracy": float(((xs @ w + b).argmax(1) == train_y).mean()),
          "test_accuracy": float(((xt @ w + b).argmax(1) == test_y).mean()),
          "train_loss": float(final)}


def transferability(source_accuracies: Sequence[float],
                    target_accuracies: Sequence[float]) -> list[float]:
  """You et al.'s transferability of what stage ``i`` added, for ``i = 2, 3, ...``.

  ``(tacc_i - tacc_{i-1}) / (acc_i - acc_{i-1})``: the target-task gain per unit of
  source-task gain of stage ``i`` (1 for the source task itself). ``nan`` where the
  source accuracy did not change.

  Example:
    >>> transferability([0.5, 0.75, 0.875], [0.25, 0.5, 0.5])
    [1.0, 0.0]
  """
  acc = np.asarray(source_accuracies, np.float64)
  tacc = np.asarray(target_accuracies, np.float64)
  if acc.shape != tacc.shape or acc.ndim != 1 or acc.size < 2:
    raise ValueError("source_accuracies and target_accuracies must be equally long "
                     f"sequences of at least 2 stages, got {acc.shape} and {tacc.shape}")
  gain, tgain = np.diff(acc), np.diff(tacc)
  return [float(t / g) if g != 0 else float("nan") for g, t in zip(gain, tgain, strict=True)]
