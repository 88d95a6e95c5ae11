"""Pre-activation residual networks in Flax NNX: WideResNet and PreResNet.

Both follow the CIFAR recipes they come from:

* ``WideResNet(depth, widen_factor)`` (Zagoruyko & Komodakis 2016): a 3x3 stem of
  16 channels, three stages of ``(depth - 4) / 6`` pre-activation blocks of widths
  ``16k, 32k, 64k`` (strides 1, 2, 2), then BN-ReLU, global average pooling and a
  linear classifier. Block: BN-ReLU-conv3x3-(dropout)-BN-ReLU-conv3x3 plus a shortcut
  that is the identity, or a 1x1 convolution of the pre-activated input when the
  shape changes (as in the authors' code).
* ``PreResNet(depth)`` (He et al. 2016, "Identity mappings"): the same network with
  widths 16, 32, 64 and ``(depth - 2) / 6`` blocks per stage (PreResNet32: 5).

Conventions follow PyTorch's reference code so that baselines port: convolutions
without bias, He-normal (fan-out) initialization, BatchNorm momentum 0.9 in Flax's
convention (PyTorch's 0.1) and epsilon 1e-5.

``scale_invariant=True`` builds the network the way Li & Arora (2020) train it:
BatchNorm has no affine scale/bias (the same as freezing them at 1/0) and the last
linear layer is a :class:`Fixed` variable kept at its random initialization, so
the only :class:`flax.nnx.Param` s are convolution kernels. So that *every* kernel
feeds a normalization layer (the condition of the theory, ``../shared/reference.md``
sec. 1), this variant also normalizes the outputs of the stem, of each block's second
convolution and of each projection shortcut (affine-free BatchNorm before the
residual addition). The loss is then invariant to scaling any single kernel by
``c > 0``, not only all of them jointly. Optimizers built over ``nnx.Param`` (as
:mod:`lrsched.train` does) train only these normalized weights.

``norm`` picks the normalization layer: ``"batch"`` (default), ``"group"``
(``nnx.GroupNorm`` with ``norm_groups`` groups, Wu & He 2018) or ``"layer"`` (one group:
the statistics of each example over its channels and positions, Layer Normalization as the
GroupNorm paper applies it to convolutions). Li & Arora's equivalence holds for each, as
each makes the preceding kernel's scale irrelevant; GroupNorm and LayerNorm have no
running statistics, so their evaluation is the same function as their training.

Calling conventions: ``model(x)`` takes NHWC float images; ``model.train()`` /
``model.eval()`` switch BatchNorm between batch statistics and running averages
and turn dropout on/off, as everywhere in NNX.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from flax.nnx.nn import dtypes
from jax.typing import DTypeLike

from lrsched.models.precision import check_compute_dtype, float32_logits

_BN_MOMENTUM = 0.9
_BN_EPSILON = 1e-5


class Fixed(nnx.Variable):
  """A weight that is part of the model but never trained (not an ``nnx.Param``)."""


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int, rngs: nnx.Rngs,
          dtype: np.dtype | None = None) -> nnx.Conv:
  return nnx.Conv(
      in_ch, out_ch, (kernel, kernel), strides=stride, padding=kernel // 2, use_bias=False,
      kernel_init=nnx.initializers.variance_scaling(2.0, "fan_out", "normal"), dtype=dtype,
      rngs=rngs)


NORMS = ("batch", "group", "layer")


@dataclasses.dataclass(frozen=True)
class _Norm:
  """How to build a normalization layer: ``kind`` in :data:`NORMS`."""
  kind: str = "batch"
  groups: int = 8
  epsilon: float = _BN_EPSILON
  dtype: np.dtype | None = None

  def __call__(self, channels: int, scale_invariant: bool, rngs: nnx.Rngs) -> nnx.Module:
    affine = {"use_scale": not scale_invariant, "use_bias": not scale_invariant}
    if self.kind == "batch":
      return nnx.BatchNorm(channels, momentum=_BN_MOMENTUM, epsilon=self.epsilon,
                           dtype=self.dtype, rngs=rngs, **affine)
    groups = self.groups if self.kind == "group" else 1
    return nnx.GroupNorm(channels, num_groups=groups, epsilon=self.epsilon,
                         dtype=self.dtype, rngs=rngs, **affine)


def _check_norm(norm: str, norm_groups: int, widths: Sequence[int]) -> None:
  """``norm`` is one of :data:`NORMS`; for ``"group"``, ``norm_groups`` divides ``widths``."""
  if norm not in NORMS:
    raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
  if norm == "group":
    _check_positive_int("norm_groups", norm_groups)
    widths = tuple(sorted(set(widths)))
    if any(width % norm_groups for width in widths):
      raise ValueError(f"norm_groups must divide every layer width {widths}, got {norm_groups}")


class FixedLinear(nnx.Module):
  """A linear layer initialized like ``nnx.Linear`` whose weights are :class:`Fixed`."""

  def __init__(self, in_features: int, out_features: int, *, rngs: nnx.Rngs,
               dtype: np.dtype | None = None):
    trained = nnx.Linear(in_features, out_features, rngs=rngs)
    self.kernel = Fixed(trained.kernel[...])
    self.bias = Fixed(trained.bias[...])
    self.dtype = dtype

  def __call__(self, x: jax.Array) -> jax.Array:
    x, kernel, bias = dtypes.promote_dtype((x, self.kernel[...], self.bias[...]),
                                             dtype=self.dtype)
    return x @ kernel + bias


class PreActBlock(nnx.Module):
  """Norm-ReLU-conv3x3-(dropout)-Norm-ReLU-conv3x3 with an identity or 1x1 shortcut.

  The normalization is ``norm`` (``"batch"``, ``"group"`` with ``norm_groups`` groups
  dividing ``in_ch`` and ``out_ch``, or ``"layer"``) with epsilon ``bn_epsilon``; see the
  module doc for ``scale_invariant``.
  """

  def __init__(self, in_ch: int, out_ch: int, stride: int, dropout_rate: float,
               scale_invariant: bool, *, rngs: nnx.Rngs, bn_epsilon: float = _BN_EPSILON,
               dtype: np.dtype | None = None, norm: str = "batch", norm_groups: int = 8):
    _check_norm(norm, norm_groups, (in_ch, out_ch))
    make = _Norm(norm, norm_groups, bn_epsilon, dtype)
    self.norm1 = make(in_ch, scale_invariant, rngs)
    self.conv1 = _conv(in_ch, out_ch, 3, stride, rngs, dtype)
    self.dropout = nnx.Dropout(dropout_rate, rngs=rngs) if dropout_rate > 0 else None
    self.norm2 = make(out_ch, scale_invariant, rngs)
    self.conv2 = _conv(out_ch, out_ch, 3, 1, rngs, dtype)
    needs_projection = stride != 1 or in_ch != out_ch
    self.shortcut = _conv(in_ch, out_ch, 1, stride, rngs, dtype) if needs_projection else None
    # Scale-invariant variant: every kernel's output is normalized (see module doc).
    self.norm_out = make(out_ch, True, rngs) if scale_invariant else None
    self.norm_shortcut = make(out_ch, True, rngs) if scale_invariant and needs_projection \
        else None

  def __call__(self, x: jax.Array) -> jax.Array:
    activated = nnx.relu(self.norm1(x))
    shortcut = x if self.shortcut is None else self.shortcut(activated)
    if self.norm_shortcut is not None:
      shortcut = self.norm_shortcut(shortcut)
    y = self.conv1(activated)
    if self.dropout is not None:
      y = self.dropout(y)
    y = self.conv2(nnx.relu(self.norm2(y)))
    if self.norm_out is not None:
      y = self.norm_out(y)
    return y + shortcut


class _PreActNet(nnx.Module):
  """Stem conv, stages of :class:`PreActBlock`, BN-ReLU, average pool, classifier."""

  def __init__(self, blocks_per_stage: int, widths: Sequence[int], num_classes: int,
               in_channels: int, dropout_rate: float, scale_invariant: bool, rngs: nnx.Rngs,
               bn_epsilon: float = _BN_EPSILON, dtype: DTypeLike | None = None,
               norm: str = "batch", norm_groups: int = 8):
    self.dtype = dtype = check_compute_dtype(dtype)
    if not bn_epsilon > 0:
      raise ValueError(f"bn_epsilon must be > 0, got {bn_epsilon!r}")
    _check_norm(norm, norm_groups, (16, *widths))  # the stem's 16 channels too
    make = _Norm(norm, norm_groups, bn_epsilon, dtype)
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("in_channels", in_channels)
    if not 0.0 <= dropout_rate < 1.0:
      raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    self.stem = _conv(in_channels, 16, 3, 1, rngs, dtype)
    self.stem_norm = make(16, True, rngs) if scale_invariant else None
    blocks = []
    in_ch = 16
    for stage, width in enumerate(widths):
      for index in range(blocks_per_stage):
        stride = 2 if stage > 0 and index == 0 else 1
        blocks.append(PreActBlock(in_ch, width, stride, dropout_rate, scale_invariant,
                                  rngs=rngs, bn_epsilon=bn_epsilon, dtype=dtype, norm=norm,
                                  norm_groups=norm_groups))
        in_ch = width
    self.blocks = nnx.List(blocks)
    self.norm = make(in_ch, scale_invariant, rngs)
    if scale_invariant:
      self.head = FixedLinear(in_ch, num_classes, rngs=rngs, dtype=dtype)
    else:
      self.head = nnx.Linear(in_ch, num_classes, dtype=dtype, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """The ``(N, width)`` globally pooled features that feed the classifier ``head``."""
    x = self.stem(x)
    if self.stem_norm is not None:
      x = self.stem_norm(x)
    for block in self.blocks:
      x = block(x)
    x = nnx.relu(self.norm(x))
    return jnp.mean(x, axis=(1, 2))

  def __call__(self, x: jax.Array) -> jax.Array:
    return float32_logits(self.head(self.features(x)), self.dtype)


class WideResNet(_PreActNet):
  """WRN-``depth``-``widen_factor`` for 32x32 inputs (Zagoruyko & Komodakis 2016).

  Args:
    depth: total depth, ``6n + 4`` (10, 16, 22, 28, 40, ...).
    widen_factor: width multiplier ``k`` (stage widths ``16k, 32k, 64k``).
    num_classes: number of output logits.
    dropout_rate: dropout between the two convolutions of each block (0.3 in the
      paper's best CIFAR runs; 0 by default).
    in_channels: channels of the input images (3 for CIFAR, 6 for PS10).
    scale_invariant: build Li & Arora's scale-invariant variant (see module doc).
    bn_epsilon: the normalization layers' epsilon (PyTorch's BatchNorm 1e-5). It breaks
      scale invariance at a relative level ~``bn_epsilon / var``; exact-equivalence
      experiments use ~1e-12.
    norm: ``"batch"`` (default), ``"group"`` or ``"layer"`` (see module doc).
    norm_groups: GroupNorm's number of groups (``norm="group"``), dividing every width.
    dtype: the compute dtype (``"bfloat16"`` for mixed precision; see
      :mod:`lrsched.models.precision`): parameters and BatchNorm statistics stay float32
      and the logits are returned in float32. None (default): compute in the dtype of
      the parameters and inputs.
    rngs: the ``nnx.Rngs`` for initialization (and dropout).

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> model = WideResNet(16, 1, num_classes=10, rngs=nnx.Rngs(0))
    >>> model(jnp.zeros((2, 32, 32, 3))).shape
    (2, 10)
  """

  def __init__(self, depth: int, widen_factor: int, num_classes: int = 10,
               dropout_rate: float = 0.0, *, in_channels: int = 3,
               scale_invariant: bool = False, bn_epsilon: float = _BN_EPSILON,
               dtype: DTypeLike | None = None, norm: str = "batch", norm_groups: int = 8,
               rngs: nnx.Rngs):
    _check_positive_int("depth", depth)
    _check_positive_int("widen_factor", widen_factor)
    if depth < 10 or (depth - 4) % 6:
      raise ValueError(f"depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), got {depth}")
    widths = (16 * widen_factor, 32 * widen_factor, 64 * widen_factor)
    super().__init__((depth - 4) // 6, widths, num_classes, in_channels, dropout_rate,
                     scale_invariant, rngs, bn_epsilon, dtype, norm, norm_groups)


class PreResNet(_PreActNet):
  """Pre-activation ResNet-``depth`` for 32x32 inputs (He et al. 2016).

  Args:
    depth: total depth, ``6n + 2`` (20, 32, 44, 56, 110, ...); PreResNet32 is Li &
      Arora's network.
    num_classes: number of output logits.
    in_channels: channels of the input images.
    scale_invariant: build Li & Arora's scale-invariant variant (see module doc).
    bn_epsilon: the normalization layers' epsilon (PyTorch's BatchNorm 1e-5). It breaks
      scale invariance at a relative level ~``bn_epsilon / var``; exact-equivalence
      experiments use ~1e-12.
    norm: ``"batch"`` (default), ``"group"`` or ``"layer"`` (see module doc).
    norm_groups: GroupNorm's number of groups (``norm="group"``), dividing every width.
    dtype: the compute dtype, as for :class:`WideResNet`.
    rngs: the ``nnx.Rngs`` for initialization.

  Example:
    >>> from flax import nnx
    >>> model = PreResNet(20, num_classes=10, rngs=nnx.Rngs(0))
    >>> len(model.blocks)
    9
  """

  def __init__(self, depth: int, num_classes: int = 10, *, in_channels: int = 3,
               scale_invariant: bool = False, bn_epsilon: float = _BN_EPSILON,
               dtype: DTypeLike | None = None, norm: str = "batch", norm_groups: int = 8,
               rngs: nnx.Rngs):
    _check_positive_int("depth", depth)
    if depth < 8 or (depth - 2) % 6:
      raise ValueError(f"depth must be 6n + 2 with n >= 1 (8, 20, 32, 44, 56, 110, ...), "
                       f"got {depth}")
    super().__init__((depth - 2) // 6, (16, 32, 64), num_classes, in_channels, 0.0,
                     scale_invariant, rngs, bn_epsilon, dtype, norm, norm_groups)


def _check_positive_int(name: str, value: object) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f"{name} must be a positive integer, got {value!r}")
