"""Numerical check of scale invariance, one parameter tensor at a time."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lrsched.schedules import _validation


def path_string(path: Sequence[Any]) -> str:
  """``"blocks/0/conv1/kernel"`` for a pytree key path (an nnx ``.value`` suffix dropped)."""
  parts = []
  for entry in path:
    if isinstance(entry, jax.tree_util.DictKey):
      parts.append(str(entry.key))
    elif isinstance(entry, jax.tree_util.SequenceKey):
      parts.append(str(entry.idx))
    elif isinstance(entry, jax.tree_util.GetAttrKey):
      parts.append(entry.name)
    elif isinstance(entry, jax.tree_util.FlattenedIndexKey):
      parts.append(str(entry.key))
    else:
      parts.append(str(entry))
  if len(parts) > 1 and parts[-1] == "value" and isinstance(path[-1], jax.tree_util.GetAttrKey):
    parts.pop()
  return "/".join(parts)


@dataclasses.dataclass(frozen=True)
class TensorCheck:
  """The check of one parameter tensor.

  Attributes:
    path: the tensor's path in the params pytree, e.g. ``"blocks/0/conv1/kernel"``.
    shape: its shape.
    relative_changes: ``|L(c w_i) - L(w_i)| / |L(w_i)|`` for each scale ``c``.
    probed: the tensor was all zeros (scaling it is a no-op), so it was tested at a
      random point ``w_i ~ N(0, 1)`` instead.
    invariant: every relative change is ``<= rtol``.
  """

  path: str
  shape: tuple[int, ...]
  relative_changes: tuple[float, ...]
  probed: bool
  invariant: bool


@dataclasses.dataclass(frozen=True)
class ScaleInvarianceReport:
  """Per-tensor result of :func:`check_scale_invariance`; ``str()`` gives a table.

  Attributes:
    loss: the loss at the given params.
    scales: the factors ``c`` tried.
    rtol: the tolerance on the relative loss change.
    tensors: one :class:`TensorCheck` per parameter tensor, in pytree order.
  """

  loss: float
  scales: tuple[float, ...]
  rtol: float
  tensors: tuple[TensorCheck, ...]
  treedef: Any = dataclasses.field(repr=False, compare=False, default=None)

  @property
  def all_invariant(self) -> bool:
    """Whether every tensor passed."""
    return all(t.invariant for t in self.tensors)

  @property
  def invariant_paths(self) -> list[str]:
    """Paths of the tensors that passed."""
    return [t.path for t in self.tensors if t.invariant]

  @property
  def variant_paths(self) -> list[str]:
    """Paths of the tensors whose scaling changed the loss (not scale invariant)."""
    return [t.path for t in self.tensors if not t.invariant]

  def mask(self) -> Any:
    """A pytree of bools with the params' structure: True for the invariant tensors.

    Usable as the ``mask`` of :func:`lrsched.scale_invariance.renormalized_sgd`.
    """
    return jax.tree.unflatten(self.treedef, [t.invariant for t in self.tensors])

  def __str__(self) -> str:
    width = max([len(t.path) for t in self.tensors] + [6])
    header = "  ".join(f"c={c:g}".rjust(9) for c in self.scales)
    lines = [
        f"scale invariance of L = {self.loss:.6g} (relative change |L(c w_i) - L(w_i)| / |L|, "
        f"rtol {self.rtol:g})",
        f"{'tensor'.ljust(width)}  {'shape'.ljust(16)}  {header}  result",
    ]
    for t in self.tensors:
      changes = "  ".join(f"{x:9.2e}" for x in t.relative_changes)
      verdict = "invariant" if t.invariant else "NOT invariant"
      if t.probed:
        verdict += " (zero tensor: tested at a random point)"
      lines.append(f"{t.path.ljust(width)}  {str(t.shape).ljust(16)}  {changes}  {verdict}")
    lines.append(f"{len(self.invariant_paths)} of {len(self.tensors)} tensors scale invariant")
    return "\n".join(lines)


def check_scale_invariance(
    loss_fn: Callable[[Any, Any], jax.Array],
    params: Any,
    batch: Any,
    scales: Sequence[float] = (0.5, 2.0, 10.0),
    rtol: float = 1e-4,
    *,
    seed: int = 0,
) -> ScaleInvarianceReport:
  r"""Checks ``L(c w_i) = L(w_i)`` numerically for every parameter tensor ``w_i`` alone.

  A tensor is scale invariant when it feeds a normalization layer (BatchNorm in
  *training* mode, i.e. batch statistics; GroupNorm, LayerNorm, ...) and nothing
  else; then ``<grad_i L, w_i> = 0`` and the theory of :mod:`lrsched.schedules.exp_lr`
  applies to it. BatchNorm's ``epsilon`` makes the invariance approximate, at a
  relative level of about ``epsilon / var``; ``rtol`` allows for that and float32
  rounding. A tensor of zeros (a bias at initialization) is tested at a random
  point, since scaling zeros is a no-op.

  Costs ``len(scales) * num_tensors + 1`` loss evaluations (``loss_fn`` is jitted
  once).

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``.
    params: the parameter pytree (e.g. ``nnx.state(model, nnx.Param)``).
    batch: passed through to ``loss_fn``.
    scales: the factors ``c`` tried, each > 0 and != 1.
    rtol: largest relative loss change counted as invariant, > 0.
    seed: seed of the random points for zero tensors.

  Returns:
    A :class:`ScaleInvarianceReport` (``print`` it for a table; ``.mask()`` for
    :func:`renormalized_sgd`).

  Raises:
    ValueError: on bad ``scales`` or ``rtol``, or a loss that is not a finite scalar.

  Example:
    >>> import jax.numpy as jnp
    >>> from lrsched.scale_invariance import check_scale_invariance
    >>> def loss(p, x):
    ...   h = x @ p["w"]
    ...   return jnp.sum(jnp.tanh(h / jnp.linalg.norm(h) + p["b"]))
    >>> report = check_scale_invariance(loss, {"w": jnp.eye(2), "b": jnp.ones(2)},
    ...                                 jnp.array([[1.0, 2.0]]))
    >>> report.invariant_paths, report.variant_paths
    (['w'], ['b'])
  """
  if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence) or not scales:
    raise ValueError(f"scales must be a non-empty sequence of numbers > 0, got {scales!r}")
  scales = tuple(
      _validation.in_range(f"scales[{i}]", c, 0.0, low_open=True) for i, c in enumerate(scales))
  for i, c in enumerate(scales):
    if c == 1.0:
      raise ValueError(f"scales[{i}] must differ from 1 (scaling by 1 tests nothing), got {c}")
  rtol = _validation.in_range("rtol", rtol, 0.0, low_open=True)

  evaluate = jax.jit(loss_fn)

  def loss_at(p: Any) -> float:
    value = np.asarray(evaluate(p, batch))
    if value.shape != () or not np.isfinite(value):
      raise ValueError(f"loss_fn must return a finite scalar, got {value!r}")
    return float(value)

  leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(params)
  leaves = [leaf for _, leaf in leaves_with_paths]
  base_loss = loss_at(params)
  key = jax.random.key(seed)
  checks = []
  for index, (path, leaf) in enumerate(leaves_with_paths):
    leaf = jnp.asarray(leaf)

    def with_leaf(value: jax.Array, index: int = index) -> Any:
      return jax.tree.unflatten(treedef, [value if j == index else x
                                          for j, x in enumerate(leaves)])

    probed = not bool(jnp.any(leaf != 0))
    reference, point = base_loss, leaf
    if probed:
      point = jax.random.normal(jax.random.fold_in(key, index), leaf.shape, leaf.dtype)
      reference = loss_at(with_leaf(point))
    denominator = max(abs(reference), math.ulp(1.0))
    changes = tuple(abs(loss_at(with_leaf(c * point)) - reference) / denominator
                    for c in scales)
    checks.append(TensorCheck(path=path_string(path), shape=tuple(leaf.shape),
                              relative_changes=changes, probed=probed,
                              invariant=all(x <= rtol for x in changes)))
  return ScaleInvarianceReport(loss=base_loss, scales=scales, rtol=rtol, tensors=tuple(checks),
                               treedef=treedef)
