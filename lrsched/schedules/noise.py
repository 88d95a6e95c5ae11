"""timm's learning-rate noise: ``lr (1 + n_t)`` with a seeded noise ``n_t`` inside a range.

timm's schedulers (``noise_range_t``, ``noise_type``, ``noise_pct``, ``noise_std``,
``noise_seed``; timm 1.0) multiply the rate at ``t`` (a step, or an epoch with
``t_in_epochs``) by ``1 + n_t`` for ``t`` in ``[start, end)``, where ``n_t`` comes from a
``torch.Generator`` seeded with ``noise_seed + t``: ``"normal"`` draws ``torch.randn``
times ``noise_std`` until ``|n_t| < noise_pct``; ``"uniform"`` is ``2 (u - 1/2)
noise_pct`` for ``u = torch.rand``. :func:`timm_noise` reproduces those numbers exactly:
PyTorch's CPU generator is MT19937 seeded as NumPy's legacy seeding seeds it, ``rand``
takes 24 bits of one 32-bit output, ``randn`` is Box-Muller on two 53-bit uniforms
(two outputs each) and returns the cosine, then the cached sine, of each pair. The noise
of every ``t`` in the range is computed once, on the host, when the schedule is made;
the schedule itself is a jittable table lookup.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation
from lrsched.schedules.compose import ScheduleLike, _as_schedule

NOISE_TYPES = ("normal", "uniform")
MAX_TABLE = 10_000_000
"""The longest noise range (values of ``t``) a schedule tabulates."""


def _mt19937(seed: int, count: int) -> np.ndarray:
  generator = np.random.MT19937(0)
  generator._legacy_seeding(seed)  # init_genrand(seed): PyTorch's manual_seed
  return generator.random_raw(count).astype(np.uint64)


def torch_rand(seed: int) -> float:
  """``torch.rand(1, generator=torch.Generator().manual_seed(seed)).item()`` (CPU)."""
  x = int(_mt19937(seed, 1)[0])
  return float(np.float32((x & ((1 << 24) - 1)) * 2.0**-24))


def torch_randn(seed: int, count: int) -> list[float]:
  """The first ``count`` values of ``torch.randn(1, generator=g)`` called repeatedly on a
  CPU generator seeded with ``seed`` (each as the float32 ``.item()`` gives)."""
  raw, values, i = _mt19937(seed, 4 * ((count + 1) // 2)), [], 0
  while len(values) < count:
    u = []
    for _ in range(2):
      x = (int(raw[i]) << 32) | int(raw[i + 1])
      u.append((x & ((1 << 53) - 1)) * 2.0**-53)
      i += 2
    radius, angle = math.sqrt(-2.0 * math.log(1.0 - u[1])), 2.0 * math.pi * u[0]
    values += [radius * math.cos(angle), radius * math.sin(angle)]
  return [float(np.float32(v)) for v in values[:count]]


def timm_noise_value(t: int, noise_type: str, noise_pct: float, noise_std: float,
                     noise_seed: int, max_draws: int = 10_000) -> float:
  """timm's ``Scheduler._calculate_noise(t)``: ``n_t`` as above."""
  if noise_type == "uniform":
    return 2.0 * (torch_rand(noise_seed + t) - 0.5) * noise_pct
  draws = 16
  while draws <= max_draws:
    for value in torch_randn(noise_seed + t, draws):
      if abs(value * noise_std) < noise_pct:
        return value * noise_std
    draws *= 4
  raise ValueError(f"no normal draw within noise_pct={noise_pct} in {max_draws} tries "
                   f"(noise_std={noise_std}): raise noise_pct or lower noise_std")


def timm_noise(schedule: ScheduleLike, noise_range: tuple[int, int] | list[int],
               noise_type: str = "normal", noise_pct: float = 0.67,
               noise_std: float = 1.0, noise_seed: int = 42,
               noise_every: int = 1) -> optax.Schedule:
  r"""``schedule`` with timm's learning-rate noise: ``schedule(t) (1 + n_{t'})`` with
  ``t' = t // noise_every`` in ``[start, end)``, else ``schedule(t)``.

  ``noise_every=1`` is timm's per-update noise (``t_in_epochs=False``, ``t'`` the step);
  ``noise_every`` = steps per epoch its per-epoch noise (``t'`` the epoch, ``noise_range``
  in epochs: the same factor through an epoch). ``n_{t'}`` equals timm's to the last bit
  (module docstring): ``"normal"`` a ``N(0, noise_std^2)`` draw redrawn until
  ``|n| < noise_pct``, ``"uniform"`` uniform in ``(-noise_pct, noise_pct)``.

  Args:
    schedule: the schedule (or a constant rate).
    noise_range: ``[start, end)`` of ``t'``, integers ``0 <= start < end``, at most
      10,000,000 values (timm's open-ended ``noise_range_t=start``: give the run's end).
    noise_type: ``"normal"`` or ``"uniform"``.
    noise_pct: in [0, 1] (> 0 for ``"normal"``, whose draws must fall inside it).
    noise_std: > 0, the normal draws' scale.
    noise_seed: timm's ``noise_seed`` (an integer >= 0; timm's default 42).
    noise_every: steps per noise index, >= 1.

  Returns:
    An ``optax.Schedule``.

  Raises:
    ValueError: a bad range, type, percentage, std, seed or ``noise_every``.

  Example:
    >>> noisy = timm_noise(0.1, [2, 4], noise_type="uniform", noise_pct=0.5)
    >>> [round(float(noisy(t)), 4) for t in range(5)]
    [0.1, 0.1, 0.122, 0.0687, 0.1]
  """
  base = _as_schedule("schedule", schedule)
  if (not isinstance(noise_range, list | tuple) or len(noise_range) != 2
      or any(isinstance(x, bool) or not isinstance(x, int | np.integer) for x in noise_range)
      or not 0 <= noise_range[0] < noise_range[1]):
    raise ValueError(f"noise_range must be [start, end) with integers 0 <= start < end, "
                     f"got {noise_range!r}")
  start, end = int(noise_range[0]), int(noise_range[1])
  if end - start > MAX_TABLE:
    raise ValueError(f"noise_range holds {end - start} values of t, more than {MAX_TABLE}")
  noise_type = _validation.choice("noise_type", noise_type, NOISE_TYPES)
  low_open = noise_type == "normal"
  if (isinstance(noise_pct, bool) or not isinstance(noise_pct, int | float)
      or not (0.0 < noise_pct <= 1.0 if low_open else 0.0 <= noise_pct <= 1.0)):
    raise ValueError(f"noise_pct must be in {'(0' if low_open else '[0'}, 1] for "
                     f"noise_type {noise_type!r}, got {noise_pct!r}")
  if isinstance(noise_std, bool) or not isinstance(noise_std, int | float) or not (
      noise_std > 0 and math.isfinite(noise_std)):
    raise ValueError(f"noise_std must be a finite number > 0, got {noise_std!r}")
  noise_seed = _validation.integer("noise_seed", noise_seed, low=0)
  noise_every = _validation.integer("noise_every", noise_every)
  table = jnp.asarray([timm_noise_value(t, noise_type, noise_pct, noise_std, noise_seed)
                       for t in range(start, end)], jnp.float32)

  def noisy(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count) // noise_every
    inside = (t >= start) & (t < end)
    factor = jnp.where(inside, 1.0 + table[jnp.clip(t - start, 0, end - start - 1)], 1.0)
    return base(count) * factor

  return noisy
