"""Mixed precision: the compute dtype of a model, separate from its parameters' dtype.

The standard TPU/GPU recipe: convolutions, matrix products and activations run in
``bfloat16`` (half the memory traffic, the accelerators' fast units), while the
parameters, the optimizer state, BatchNorm's statistics (Flax reduces them in at least
float32) and the loss stay float32. lrsched's models take ``dtype=`` for the compute
dtype; their parameters are always created in float32, and their logits are returned in
float32 so that the softmax cross-entropy and its gradient are computed in full precision.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")


def check_compute_dtype(dtype: Any) -> np.dtype | None:
  """The model compute dtype ``dtype`` names (None: the parameters' and inputs' own dtype).

  Args:
    dtype: None, or one of :data:`COMPUTE_DTYPES` as a string, NumPy or JAX dtype.

  Returns:
    The NumPy dtype, or None.

  Raises:
    ValueError: any other value.

  Example:
    >>> import jax.numpy as jnp
    >>> check_compute_dtype("bfloat16") == jnp.bfloat16, check_compute_dtype(None)
    (True, None)
  """
  if dtype is None:
    return None
  try:
    resolved = np.dtype(jnp.dtype(dtype))
  except TypeError:
    resolved = None
  if resolved is None or resolved.name not in COMPUTE_DTYPES:
    raise ValueError(f"dtype must be None or one of {COMPUTE_DTYPES}, got {dtype!r}")
  return resolved


def float32_logits(logits: jax.Array, dtype: np.dtype | None) -> jax.Array:
  """Logits computed in a reduced precision ``dtype``, returned in float32."""
  if dtype is not None and jnp.finfo(dtype).bits < 32:
    return logits.astype(jnp.float32)
  return logits
