"""Multilayer perceptrons: on an image's channel means (PS10), and on its flattened pixels.

* :class:`MLP` (``"mlp"``): PS10's images are constant over height and width (You et al.
  2019, Sec. 5.1), so a convolutional network sees nothing but the per-channel values: on
  them a WideResNet is an MLP with BatchNorm that costs ~20x more per step. :class:`MLP` is
  that network without the convolutions: global average pooling (lossless for constant
  images), then ``depth`` hidden layers ``Dense -> BatchNorm -> ReLU`` of ``width`` units,
  then a linear classifier.
* :class:`FullyConnected` (``"fc"``): the fully connected networks of the
  edge-of-stability literature (Cohen et al. 2021, "fc-tanh" / "fc-relu"): the flattened
  pixels, hidden layers ``Dense [-> BatchNorm] -> activation`` of the given ``widths``,
  a linear output; PyTorch's default ``nn.Linear`` initialization, or LeCun's normal one.

The two are separate classes rather than options of one: they differ in the input (pooled
vs flattened), the initialization (He vs PyTorch's default) and the biases (none before
BatchNorm), and ``MLP``'s defaults stay what PS10's configs were trained with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import DTypeLike

from lrsched.models.precision import check_compute_dtype, float32_logits
from lrsched.names import unknown_name_error

_BN_MOMENTUM = 0.9
ACTIVATIONS = {"tanh": jnp.tanh, "relu": nnx.relu}
"""The hidden activations :class:`FullyConnected` accepts."""
INITS = ("pytorch", "lecun_normal")
"""The initializations :class:`FullyConnected` accepts."""


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


def _torch_uniform(fan_in: int):
  """PyTorch's ``nn.Linear`` default: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (kernel and bias)."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


class FullyConnected(nnx.Module):
  """A fully connected network on flattened pixels (Cohen et al. 2021's fc-tanh, fc-relu).

  ``x -> flatten -> [Dense(w) [-> BatchNorm] -> activation] for w in widths -> Dense(num_classes)``.
  ``init="pytorch"`` (the default) initializes every ``Dense`` as PyTorch's default
  ``nn.Linear``, kernel and bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (the layers of
  Cohen et al.'s PyTorch code); ``init="lecun_normal"``: kernel a truncated normal of
  variance ``1/fan_in`` (Flax's ``lecun_normal``: standard deviation ``1/sqrt(fan_in)``),
  bias 0: three times PyTorch's variance, and a ~3.4x larger initial sharpness of fc-tanh
  with MSE on 1000 CIFAR-10 images at 16x16 (93 vs 27); the initialization of
  ``../shared/reference.md`` sec. 5's plain-JAX check (lambda_1 at initialization 77).
  With ``batch_norm`` a hidden ``Dense`` has no bias (BatchNorm's shift replaces it).

  Args:
    widths: the hidden layers' sizes (at least one; fc-tanh: ``(200, 200)``).
    num_classes: number of outputs.
    in_channels: channels of the input images.
    image_size: their height and width (an int, or ``(height, width)``): the input
      layer has ``height * width * in_channels`` units.
    activation: ``"tanh"`` or ``"relu"``.
    batch_norm: BatchNorm after each hidden ``Dense``, before the activation.
    init: ``"pytorch"`` or ``"lecun_normal"`` (above).
    dtype: the compute dtype, as for :class:`lrsched.models.WideResNet`.
    rngs: the ``nnx.Rngs`` for initialization.

  Raises:
    ValueError: a non-positive size, an unknown ``activation`` or ``init``, or (when called) images
      whose shape is not ``(batch, height, width, in_channels)``.

  Example:
    >>> from flax import nnx
    >>> import jax.numpy as jnp
    >>> net = FullyConnected((200, 200), 10, in_channels=3, image_size=16, rngs=nnx.Rngs(0))
    >>> net(jnp.zeros((5, 16, 16, 3))).shape, net.layers[0].kernel.shape
    ((5, 10), (768, 200))
  """

  def __init__(self, widths: Sequence[int] = (200, 200), num_classes: int = 10, *,
               in_channels: int = 3, image_size: int | Sequence[int] = 32,
               activation: str = "tanh", batch_norm: bool = False, init: str = "pytorch",
               dtype: DTypeLike | None = None, rngs: nnx.Rngs):
    self.dtype = dtype = check_compute_dtype(dtype)
    if activation not in ACTIVATIONS:
      raise unknown_name_error("activation", activation, ACTIVATIONS)
    if init not in INITS:
      raise unknown_name_error("init", init, INITS)
    if not isinstance(batch_norm, bool):
      raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
    if isinstance(widths, int | str) or not isinstance(widths, Sequence) or not widths:
      raise ValueError(f"widths must be a non-empty list of positive integers, got {widths!r}")
    shape = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    sizes = {"num_classes": num_classes, "in_channels": in_channels,
             **{f"widths[{i}]": w for i, w in enumerate(widths)},
             **{f"image_size[{i}]": v for i, v in enumerate(shape)}}
    for name, value in sizes.items():
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if len(shape) != 2:
      raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}")
    self.input_shape = (*shape, in_channels)
    self.activation = activation
    fans = [math.prod(self.input_shape), *widths]

    def inits(fan_in):
      if init == "pytorch":
        return {"kernel_init": _torch_uniform(fan_in), "bias_init": _torch_uniform(fan_in)}
      return {"kernel_init": nnx.initializers.lecun_normal(),
              "bias_init": nnx.initializers.zeros_init()}

    self.layers = nnx.List([
        nnx.Linear(a, b, use_bias=not batch_norm, dtype=dtype, rngs=rngs, **inits(a))
        for a, b in zip(fans[:-1], fans[1:], strict=True)])
    self.norms = nnx.List([nnx.BatchNorm(w, momentum=_BN_MOMENTUM, dtype=dtype, rngs=rngs)
                           for w in widths] if batch_norm else [])
    self.head = nnx.Linear(fans[-1], num_classes, dtype=dtype, rngs=rngs, **inits(fans[-1]))

  def features(self, x: jax.Array) -> jax.Array:
    """The last hidden layer's activations of NHWC images."""
    if tuple(x.shape[1:]) != self.input_shape:
      raise ValueError(f"FullyConnected was built for images of shape {self.input_shape} "
                       f"(image_size, in_channels), got a batch of shape {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    act = ACTIVATIONS[self.activation]
    for i, layer in enumerate(self.layers):
      x = layer(x)
      if self.norms:
        x = self.norms[i](x)
      x = act(x)
    return x

  def __call__(self, x: jax.Array) -> jax.Array:
    return float32_logits(self.head(self.features(x)), self.dtype)
