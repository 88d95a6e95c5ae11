"""A multilayer perceptron on the channel means of an image, for spatially constant data.

PS10's images are constant over height and width (You et al. 2019, Sec. 5.1), so a
convolutional network sees nothing but the per-channel values: on them a WideResNet is an
MLP with BatchNorm that costs ~20x more per step. :class:`MLP` is that network without the
convolutions: global average pooling (lossless for constant images), then ``depth``
hidden layers ``Dense -> BatchNorm -> ReLU`` of ``width`` units, then a linear classifier.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from lrsched.models.precision import check_compute_dtype, float32_logits

_BN_MOMENTUM = 0.9


class MLP(nnx.Module):
  """``depth`` hidden layers of ``width`` units (Dense-BatchNorm-ReLU) on channel means.

  Args:
    width: hidden units per layer.
    depth: number of hidden layers (>= 1).
    num_classes: number of output logits.
    in_channels: channels of the input images (6 for PS10).
    dtype: the compute dtype, as for :class:`lrsched.models.WideResNet`.
    rngs: the ``nnx.Rngs`` for initialization.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> MLP(64, 2, num_classes=10, in_channels=6, rngs=nnx.Rngs(0))(
    ...     jnp.zeros((3, 4, 4, 6))).shape
    (3, 10)
  """

  def __init__(self, width: int = 256, depth: int = 3, num_classes: int = 10, *,
               in_channels: int = 3, dtype: DTypeLike | None = None, rngs: nnx.Rngs):
    self.dtype = dtype = check_compute_dtype(dtype)
    for name, value in (("width", width), ("depth", depth), ("num_classes", num_classes),
                        ("in_channels", in_channels)):
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    init = nnx.initializers.variance_scaling(2.0, "fan_in", "normal")  # He, for ReLU
    sizes = [in_channels] + [width] * depth
    self.layers = nnx.List([nnx.Linear(a, b, kernel_init=init, use_bias=False, dtype=dtype,
                                       rngs=rngs)
                            for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
    self.norms = nnx.List([nnx.BatchNorm(width, momentum=_BN_MOMENTUM, dtype=dtype, rngs=rngs)
                           for _ in range(depth)])
    self.head = nnx.Linear(width, num_classes, dtype=dtype, rngs=rngs)

  def features(self, x: jax.Array) -> jax.Array:
    """The last hidden layer's activations of NHWC images."""
    x = jnp.mean(x, axis=(1, 2))
    for layer, norm in zip(self.layers, self.norms, strict=True):
      x = nnx.relu(norm(layer(x)))
    return x

  def __call__(self, x: jax.Array) -> jax.Array:
    return float32_logits(self.head(self.features(x)), self.dtype)
