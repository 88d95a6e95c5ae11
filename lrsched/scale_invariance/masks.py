"""Which parameters of the :mod:`lrsched.models` networks are scale invariant."""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from lrsched.models.resnets import _PreActNet
from lrsched.scale_invariance.check import path_string


def scale_invariant_mask(model: nnx.Module) -> Any:
  """A pytree of bools like ``nnx.state(model, nnx.Param)``: True where a tensor alone
  is scale invariant (in training mode, with BatchNorm on batch statistics).

  Structural, from the architecture of :class:`~lrsched.models.WideResNet` and
  :class:`~lrsched.models.PreResNet`:

  * ``scale_invariant=True``: every ``nnx.Param`` is a convolution kernel whose
    output is normalized (BatchNorm without affine; the head is a ``Fixed``
    variable), so the mask is all True.
  * the ordinary network: only each block's first convolution ``conv1`` (its
    output feeds ``norm2`` and nothing else, dropout being scale equivariant).
    The stem, ``conv2`` and projection shortcuts feed residual sums, the BN
    scale/bias and the classifier are not invariant.

  Use it as the ``mask`` of :func:`lrsched.scale_invariance.renormalized_sgd`. For
  other models, run :func:`lrsched.scale_invariance.check_scale_invariance` and use
  its report's ``mask()``.

  Args:
    model: a ``WideResNet`` or ``PreResNet``.

  Returns:
    The mask, with the structure of ``nnx.state(model, nnx.Param)`` (the params of
    ``nnx.split(model, nnx.Param, ...)``).

  Raises:
    ValueError: for another kind of model.

  Example:
    >>> import jax
    >>> from flax import nnx
    >>> from lrsched.models import PreResNet
    >>> from lrsched.scale_invariance import scale_invariant_mask
    >>> model = nnx.eval_shape(lambda: PreResNet(8, rngs=nnx.Rngs(0)))  # shapes suffice
    >>> mask = scale_invariant_mask(model)
    >>> sum(jax.tree.leaves(mask)), len(jax.tree.leaves(mask))
    (3, 25)
  """
  if not isinstance(model, _PreActNet):
    raise ValueError(
        f"scale_invariant_mask knows WideResNet and PreResNet, got {type(model).__name__}; "
        f"for other models use check_scale_invariance(...).mask()")
  params = nnx.state(model, nnx.Param)
  all_invariant = model.stem_norm is not None  # the scale_invariant=True variant

  def invariant(path: Any, _: Any) -> bool:
    if all_invariant:
      return True
    parts = path_string(path).split("/")
    return len(parts) == 4 and parts[0] == "blocks" and parts[2:] == ["conv1", "kernel"]

  return jax.tree_util.tree_map_with_path(invariant, params)
