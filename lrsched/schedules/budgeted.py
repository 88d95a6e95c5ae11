"""Budgeted training: a profile on training progress, sampled every k steps.

Chen, Wolfe & Kyrillidis (REX, 2022) describe a schedule as a *profile* ``p(z)``
on the progress ``z = t / T`` in [0, 1] and a *sampling rate*: the profile is
evaluated only every ``k`` steps, which turns a smooth profile into a staircase
(an exponential profile sampled a few times is classic step decay). The same
profile serves any budget ``T``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from lrsched.schedules import _anneal, _validation

PROFILES = ("linear", "cosine", "exponential", "rex", "step")
STEP_PROFILE_DROPS = (0.5, 0.75)
"""Progress points at which the ``"step"`` profile divides the value by 10."""
REX_PAPER_BETA = 0.5
"""``(1 - z) / (1/2 + (1 - z)/2) == (1 - z) / (1 - 0.5 z)``: the REX paper's form."""
MAX_CHECKED_PROFILE_POINTS = 100_001

# A profile maps (z, 1 - z, init, end) to the value; 1 - z is passed separately
# because it is computed exactly from integers ((T - t) / T) and keeps the end of
# the schedule precise.
_Profile = Callable[[jnp.ndarray, jnp.ndarray, float, float], jnp.ndarray]


def _rex(beta: float) -> _Profile:
  def profile(z, rest, init, end):
    return end + (init - end) * rest / (1.0 - beta * z)

  return profile


def _exponential(z, rest, init, end):
  del rest
  if _validation.any_traced(init, end):
    # float32 power; 0 ** 0 = 1 keeps z = 0 at init even for an (unchecked) end of 0.
    return init * jnp.power(end / init, z)
  return init * jnp.exp(z * math.log(end / init))


def _step(z, rest, init, end):
  del rest
  drops = sum((z >= p).astype(z.dtype) for p in STEP_PROFILE_DROPS)
  return end + (init - end) * jnp.power(0.1, drops)


_NAMED: dict[str, _Profile] = {
    "linear": lambda z, rest, init, end: _anneal.anneal(init, end, z, rest, "linear"),
    "cosine": lambda z, rest, init, end: _anneal.anneal(init, end, z, rest, "cos"),
    "exponential": _exponential,
    "rex": _rex(REX_PAPER_BETA),
    "step": _step,
}


def _user_profile(
    profile: Callable[[jnp.ndarray], jnp.ndarray], total_steps: int, sample_every: int
) -> _Profile:
  """Wraps a user's ``p(z)``, checked to lie in [0, 1] at every reachable z."""
  if total_steps // sample_every + 2 > MAX_CHECKED_PROFILE_POINTS:  # never allocate them all
    reachable = np.linspace(0, total_steps, MAX_CHECKED_PROFILE_POINTS)
  else:
    reachable = np.arange(0, total_steps + sample_every, sample_every).clip(max=total_steps)
  z = _anneal.as_float(reachable / total_steps)
  try:
    values = jax.vmap(profile)(z)
  except Exception as error:  # a user callable may fail in any way
    raise ValueError(
        f"profile must be a jnp callable of the progress z in [0, 1]; calling it"
        f" failed with {type(error).__name__}: {error}"
    ) from error
  if _validation.is_traced(values):  # it closes over a traced value: unchecked
    return _scaled_profile(profile)
  values = np.asarray(values)
  if values.shape != z.shape:
    raise ValueError(f"profile must return a scalar per z, got shape {values.shape[1:]}")
  bad = ~np.isfinite(values) | (values < 0.0) | (values > 1.0)
  if bad.any():
    i = int(np.argmax(bad))
    raise ValueError(
        f"profile must return values in [0, 1] for z in [0, 1], got profile({float(z[i])})"
        f" = {values[i]}"
    )
  return _scaled_profile(profile)


def _scaled_profile(profile: Callable[[jnp.ndarray], jnp.ndarray]) -> _Profile:
  def wrapped(z, rest, init, end):
    del rest
    return end + (init - end) * profile(z)

  return wrapped


def _sampled(
    profile: _Profile, init: float, end: float, total_steps: int, sample_every: int
) -> optax.Schedule:
  def schedule(count: ArrayLike) -> jnp.ndarray:
    t = _anneal.as_count(count)
    sampled = jnp.minimum((t // sample_every) * sample_every, total_steps)
    z = _anneal.as_float(sampled) / total_steps
    rest = _anneal.as_float(total_steps - sampled) / total_steps
    return profile(z, rest, init, end)

  return schedule


def _check_values(init_value: float, end_value: float) -> tuple[float, float]:
  init_value = _validation.in_range("init_value", init_value, 0.0, low_open=True)
  end_value = _validation.in_range("end_value", end_value, 0.0)
  _validation.ordered("end_value", end_value, "init_value", init_value)
  return init_value, end_value


def budgeted(
    profile: str | Callable[[jnp.ndarray], jnp.ndarray],
    init_value: float,
    total_steps: int,
    end_value: float = 0.0,
    sample_every: int = 1,
) -> optax.Schedule:
  r"""A decay profile on progress ``z`` sampled every ``sample_every`` steps.

  With ``z = min(k \lfloor t/k \rfloor, T) / T`` (``k = sample_every``,
  ``T = total_steps``) the value is ``end + (init - end) * p(z)``, where ``p`` is

  * ``"linear"``: ``1 - z``;
  * ``"cosine"``: ``(1 + cos(pi z)) / 2``;
  * ``"rex"``: ``(1 - z) / (1 - z/2)`` (the REX paper's form; :func:`rex` has the
    general ``beta``);
  * ``"step"``: ``0.1 ** (number of {0.5, 0.75} <= z)`` (the classic ResNet
    schedule: divide by 10 at 50% and 75% of the budget);
  * ``"exponential"``: geometric interpolation, the value is
    ``init * (end / init) ** z``; needs ``end_value > 0``;
  * any jnp callable ``p(z)`` with values in [0, 1] (checked at construction on
    every reachable ``z``, or on 100,001 evenly spaced ones for huge budgets).

  After ``total_steps`` the value stays at ``p(1)``.

  Args:
    profile: a profile name from the list above, or a callable.
    init_value: value at ``z = 0``, > 0.
    total_steps: the budget ``T`` in steps, >= 1.
    end_value: value at ``z = 1``, in [0, ``init_value``].
    sample_every: sampling period ``k`` in steps, >= 1.

  ``init_value`` and ``end_value`` may be traced (``jax.vmap``, ``jax.jit`` or
  ``jax.grad`` over them): checked when concrete, passed through when traced (a
  traced ``end_value`` of 0 with ``"exponential"`` is not caught: it gives 0
  after ``z = 0``). A callable profile may close over traced values; it is then
  not checked. ``total_steps`` and ``sample_every`` are static Python integers
  (``100.0`` reads as 100).

  Returns:
    An ``optax.Schedule`` with values in ``[end_value, init_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.budgeted("linear", 1.0, total_steps=4, sample_every=2)
    >>> [float(schedule(t)) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.0, 0.0]
  """
  init_value, end_value = _check_values(init_value, end_value)
  total_steps = _validation.integer("total_steps", total_steps)
  sample_every = _validation.integer("sample_every", sample_every)
  if callable(profile):
    fn = _user_profile(profile, total_steps, sample_every)
  else:
    fn = _NAMED[_validation.choice("profile", profile, PROFILES)]
    if profile == "exponential" and not _validation.is_traced(end_value) and end_value == 0.0:
      raise ValueError(
          "profile='exponential' interpolates geometrically and needs end_value > 0"
          f" (e.g. end_value=init_value*1e-3), got end_value={end_value!r}"
      )
  return _sampled(fn, init_value, end_value, total_steps, sample_every)


def rex(
    init_value: float, total_steps: int, end_value: float = 0.0, beta: float = 0.5
) -> optax.Schedule:
  r"""REX: the reflected-exponential profile (Chen, Wolfe & Kyrillidis, 2022).

  With progress ``z = min(t, T) / T``:

  .. math::
    \eta(t) = \eta_{end} + (\eta_0 - \eta_{end}) \frac{1 - z}{1 - \beta z}

  ``beta = 0.5`` is the paper's ``(1 - z) / (1/2 + (1 - z)/2)``; ``beta = 0.9`` is
  the authors' code; ``beta = 0`` is linear decay. Larger ``beta`` holds the
  value high for longer and drops it later.

  Args:
    init_value: value at step 0, > 0.
    total_steps: the budget ``T`` in steps, >= 1; the value is ``end_value``
      from then on.
    end_value: final value, in [0, ``init_value``].
    beta: shape parameter, in [0, 1).

  ``init_value``, ``end_value`` and ``beta`` may be traced (``jax.vmap``,
  ``jax.jit`` or ``jax.grad`` over them): checked when concrete, passed through
  when traced. ``total_steps`` is a static Python integer (``100.0`` reads as 100).

  Returns:
    An ``optax.Schedule`` with values in ``[end_value, init_value]``.

  Example:
    >>> import lrsched
    >>> schedule = lrsched.rex(1.0, total_steps=4)
    >>> [round(float(schedule(t)), 4) for t in range(5)]
    [1.0, 0.8571, 0.6667, 0.4, 0.0]
  """
  init_value, end_value = _check_values(init_value, end_value)
  total_steps = _validation.integer("total_steps", total_steps)
  beta = _validation.in_range("beta", beta, 0.0, 1.0, high_open=True)
  return _sampled(_rex(beta), init_value, end_value, total_steps, 1)
