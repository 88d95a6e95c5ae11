"""On-device image transforms: per-channel normalization and CIFAR augmentation (jnp)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lrsched.data.dataset import to_unit_scale


def normalize(images: jax.Array, mean, std) -> jax.Array:
  """``(images / 255 - mean) / std`` for uint8 images, ``(images - mean) / std`` for floats.

  ``mean`` and ``std`` are per channel, on the [0, 1] scale, e.g. from
  :meth:`~lrsched.data.ArrayDataset.channel_stats` of the training set.
  """
  images = to_unit_scale(jnp.asarray(images))
  return (images - jnp.asarray(mean, images.dtype)) / jnp.asarray(std, images.dtype)


def augment(key: jax.Array, images: jax.Array, padding: int = 4) -> jax.Array:
  """Pad-``padding`` random crop and random horizontal flip, independently per image.

  The standard CIFAR augmentation (torchvision's ``RandomCrop(32, padding=4)`` +
  ``RandomHorizontalFlip()``). It runs on normalized images, so the padding is 0 =
  the channel mean (torchvision pads the raw image with black). Jittable.

  Args:
    key: a PRNG key.
    images: ``(N, H, W, C)`` images.
    padding: zero padding on each side before cropping back to ``H x W``.

  Returns:
    The augmented images, same shape and dtype.
  """
  n, height, width, _ = images.shape
  crop_key, flip_key = jax.random.split(key)
  offsets = jax.random.randint(crop_key, (n, 2), 0, 2 * padding + 1)
  flips = jax.random.bernoulli(flip_key, 0.5, (n,))
  padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))

  def one(image, offset, flip):
    crop = jax.lax.dynamic_slice(image, (offset[0], offset[1], 0),
                                 (height, width, image.shape[-1]))
    return jnp.where(flip, crop[:, ::-1], crop)

  return jax.vmap(one)(padded, offsets, flips)
