"""AutoDecay: decay when the smoothed epoch loss plateaus (You et al. 2019, A.1).

The training loss of each epoch, ``loss(t)``, is smoothed by a bias-corrected
exponential moving average (Adam's correction)::

    f(0) = 0,   f(t) = b f(t-1) + (1 - b) loss(t),   g(t) = f(t) / (1 - b^t)

Over the last ``W`` smoothed values ``G`` of the current stage the loss is *stable* when
``(max G - min G) / (min G + eps) < tolerance``. When it is stable, AutoDecay either
decays (``(g(t) + eps) / (g_start + eps) <= drop``: the stage brought a significant
drop; the learning rate is multiplied by ``factor`` and a new stage begins) or raises
``should_stop`` (no significant drop: a smaller learning rate will not help either).
As in the paper's Fig. 12, a decay resets the stage counter ``t`` to 0, so the EMA, its
bias correction and the window restart with the new stage. ``g_start``, the paper's
``g(0)``, is the loss level the stage started from: the smoothed value at the decay
that opened it, and ``g(1) = loss(1)`` for the first stage.

**Design.** :func:`autodecay` is an optax ``GradientTransformationExtraArgs``: chained
after an optimizer, it multiplies the updates by its scale (1, then ``factor`` after
each decay), so it composes with any schedule (a warmup included) and its state --
the rule's :class:`AutoDecayState` with its hyperparameters as static data -- lives in
the optimizer state and checkpoints with it. The loss it needs is per *epoch* while
updates are per *step*: the train step calls ``update`` without ``value`` (it only
scales), and once per epoch :func:`lrsched.adaptive.observe` feeds the epoch loss to
every adaptive state in the optimizer state (``update(..., value=loss)`` observes at
that call instead). :func:`autodecay_rule` is the same rule as a bare controller
(``init() -> state``, ``update(state, epoch_loss) -> state``) whose
``state.learning_rate`` a caller writes into its optimizer itself.

**Defaults** (for CIFAR-style training: 40-200 epochs, a few decays, epoch-mean training
loss that wanders by ``sigma`` of about 2-5% of its value from epoch to epoch on a
plateau). ``beta = 0.9`` (the paper's value): the smoothed loss has variance
``(1-b)/(1+b) * (1+b^t)/(1-b^t) * sigma^2``, which falls to ``0.053 sigma^2`` (standard
deviation ``0.23 sigma``) after a few epochs. ``window = 10``: at least ten epochs per
stage. Consecutive smoothed values are strongly correlated, so their range over ten
epochs on a flat plateau is much smaller than ``sigma``: simulation of the recursion
gives a median ``0.34 sigma`` and a 99% quantile ``0.73 sigma``. ``tolerance = 0.03``
therefore declares a true plateau stable at its first check with probability >= 99% for
relative noise up to ``sigma = 0.03 / 0.73 = 4%``, while a loss still falling by more than
``0.03 / 9 = 0.33%`` per epoch (10% per 30 epochs) is not stable. ``drop = 0.9``: a stage
that lowered the smoothed loss by less than 10% ends training (the noise on the ratio,
about ``0.23 sigma * sqrt(2)``, is ~1% for ``sigma = 4%``). ``factor = 0.1`` as in step
decay. Noisier losses need a larger ``tolerance`` (or ``beta``), otherwise AutoDecay
never sees a plateau and keeps the rate constant; :func:`smoothed_std` gives the noise
level of ``g(t)`` for a given ``sigma``.

**Non-finite losses.** Called eagerly (outside ``jax.jit``), ``update`` raises
:class:`AutoDecayNonFiniteError` naming the epoch. Under ``jax.jit`` it cannot raise; it
then leaves the EMA and window untouched, raises ``should_stop`` and logs a
``"non-finite"`` decision with the epoch, which :func:`decisions` shows.

Example:
  >>> import optax, jax.numpy as jnp
  >>> ad = autodecay_rule(0.1, factor=0.1, beta=0.0, window=3, tolerance=0.1, drop=0.5)
  >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9)
  >>> opt_state = tx.init({"w": jnp.zeros(2)})
  >>> state = ad.init()
  >>> for loss in [4.0, 2.0, 1.0, 1.0, 1.0]:  # one value per epoch
  ...   state = ad.update(state, loss)
  ...   opt_state = optax.tree.set(opt_state, learning_rate=state.learning_rate)
  >>> [(r["epoch"], r["action"]) for r in decisions(state)]
  [(5, 'decay')]
  >>> round(float(opt_state.hyperparams["learning_rate"]), 6)
  0.01
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

#: Action codes of :attr:`AutoDecayState.action` and of the decision log.
ACTIONS = ("fill", "wait", "decay", "stop", "stopped", "non-finite")
FILL, WAIT, DECAY, STOP, STOPPED, NON_FINITE = range(len(ACTIONS))


class AutoDecayNonFiniteError(FloatingPointError):
  """A NaN or infinite epoch loss was fed to :meth:`AutoDecay.update`.

  Attributes:
    epoch: the 1-based epoch (update count) whose loss was not finite.
    loss: the loss value.
  """

  def __init__(self, epoch: int, loss: float):
    self.epoch, self.loss = epoch, loss
    super().__init__(f"AutoDecay: the training loss of epoch {epoch} is {loss}; the smoothed "
                     f"loss cannot be updated. Lower the learning rate or check the data.")


class DecisionLog(NamedTuple):
  """Fixed-capacity record of the decisions (``decay``, ``stop``, ``non-finite``).

  Every field but ``count`` has shape ``(max_decisions,)``; ``count`` is the number of
  decisions taken (entries beyond the capacity are dropped).
  """

  epoch: jax.Array
  smoothed: jax.Array
  range_ratio: jax.Array
  drop_ratio: jax.Array
  action: jax.Array
  learning_rate: jax.Array
  count: jax.Array


class AutoDecayState(NamedTuple):
  """The state of :class:`AutoDecay` (a pytree of arrays).

  Attributes:
    epoch: number of epoch losses seen (the 1-based epoch of the latest one).
    stage: number of decays so far.
    stage_epoch: the paper's counter ``t`` within the stage (reset to 0 at a decay).
    ema: ``f(t)``, the uncorrected moving average of the stage.
    smoothed: ``g(t) = f(t) / (1 - beta^t)``, the bias-corrected smoothed loss.
    window: the last ``window`` smoothed values of the stage, newest last.
    stage_start: ``g_start``, the loss level the stage started from.
    learning_rate: the learning rate to use from the next epoch on.
    should_stop: no significant drop on a plateau (or a non-finite loss under jit).
    range_ratio: ``(max G - min G) / (min G + eps)`` of the latest update (NaN while
      the window fills).
    drop_ratio: ``(g(t) + eps) / (g_start + eps)`` of the latest update.
    action: code of the latest update's action (see :data:`ACTIONS`).
    log: the :class:`DecisionLog`.
  """

  epoch: jax.Array
  stage: jax.Array
  stage_epoch: jax.Array
  ema: jax.Array
  smoothed: jax.Array
  window: jax.Array
  stage_start: jax.Array
  learning_rate: jax.Array
  should_stop: jax.Array
  range_ratio: jax.Array
  drop_ratio: jax.Array
  action: jax.Array
  log: DecisionLog


def _check(name: str, value: Any, ok: bool, allowed: str) -> None:
  if not ok:
    raise ValueError(f"autodecay: {name} must be {allowed}, got {value!r}")


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
  return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class AutoDecay:
  """The AutoDecay controller; build it with :func:`autodecay` (which validates).

  Attributes mirror the arguments of :func:`autodecay`.
  """

  init_value: float
  factor: float
  beta: float
  window: int
  tolerance: float
  drop: float
  eps: float
  max_decisions: int

  def init(self) -> AutoDecayState:
    """The state before the first epoch (learning rate ``init_value``)."""
    f32, i32 = jnp.float32, jnp.int32
    n = self.max_decisions
    def nan():  # a new buffer per field: the train step donates the optimizer state
      return jnp.full((), jnp.nan, f32)

    log = DecisionLog(epoch=jnp.zeros(n, i32), smoothed=jnp.full(n, jnp.nan, f32),
                      range_ratio=jnp.full(n, jnp.nan, f32), drop_ratio=jnp.full(n, jnp.nan, f32),
                      action=jnp.zeros(n, i32), learning_rate=jnp.full(n, jnp.nan, f32),
                      count=jnp.zeros((), i32))
    return AutoDecayState(
        epoch=jnp.zeros((), i32), stage=jnp.zeros((), i32), stage_epoch=jnp.zeros((), i32),
        ema=jnp.zeros((), f32), smoothed=nan(), window=jnp.full(self.window, jnp.nan, f32),
        stage_start=nan(), learning_rate=jnp.asarray(self.init_value, f32),
        should_stop=jnp.zeros((), bool), range_ratio=nan(), drop_ratio=nan(),
        action=jnp.asarray(FILL, i32), log=log)

  def update(self, state: AutoDecayState, epoch_loss: Any) -> AutoDecayState:
    """Feeds one epoch's training loss (the mean over the epoch); returns the new state.

    Args:
      state: the current state.
      epoch_loss: a scalar, the epoch's mean training loss.

    Returns:
      The new state; ``state.learning_rate`` is the rate for the next epoch,
      ``state.should_stop`` says whether to end training.

    Raises:
      AutoDecayNonFiniteError: ``epoch_loss`` is NaN or infinite (eager calls only; see
        the module docstring for ``jax.jit``).
    """
    if not isinstance(epoch_loss, jax.core.Tracer) and not isinstance(state.epoch, jax.core.Tracer):
      value = float(np.asarray(epoch_loss))
      if not math.isfinite(value):
        raise AutoDecayNonFiniteError(int(state.epoch) + 1, value)
    loss = jnp.asarray(epoch_loss, jnp.float32)
    epoch = state.epoch + 1
    finite = jnp.isfinite(loss)
    b, eps = self.beta, self.eps

    # Smoothing (Eq. 2 of the paper), stage-local.
    t = state.stage_epoch + 1
    ema = b * state.ema + (1.0 - b) * loss
    smoothed = ema / (1.0 - jnp.power(jnp.float32(b), t.astype(jnp.float32)))
    window = jnp.roll(state.window, -1).at[-1].set(smoothed)
    first_of_run = (state.stage == 0) & (t == 1)
    stage_start = jnp.where(first_of_run, smoothed, state.stage_start)

    # Criteria.
    full = t >= self.window
    low, high = jnp.min(window), jnp.max(window)
    range_ratio = jnp.where(full, (high - low) / (low + eps), jnp.nan)
    drop_ratio = (smoothed + eps) / (stage_start + eps)
    stable = full & (range_ratio < self.tolerance)
    significant = drop_ratio <= self.drop
    active = finite & ~state.should_stop
    decay = active & stable & significant
    stop = active & stable & ~significant
    action = jnp.select(
        [~finite, state.should_stop, decay, stop, full],
        [jnp.int32(NON_FINITE), jnp.int32(STOPPED), jnp.int32(DECAY), jnp.int32(STOP),
         jnp.int32(WAIT)], jnp.int32(FILL))
    learning_rate = jnp.where(decay, state.learning_rate * self.factor, state.learning_rate)

    # A decay starts a new stage: counter, EMA and window restart; g_start = g(t).
    new = AutoDecayState(
        epoch=epoch,
        stage=state.stage + decay.astype(jnp.int32),
        stage_epoch=jnp.where(decay, 0, t),
        ema=jnp.where(decay, 0.0, ema),
        smoothed=smoothed,
        window=jnp.where(decay, jnp.full_like(window, jnp.nan), window),
        stage_start=jnp.where(decay, smoothed, stage_start),
        learning_rate=learning_rate.astype(jnp.float32),
        should_stop=state.should_stop | stop | ~finite,
        range_ratio=range_ratio,
        drop_ratio=drop_ratio,
        action=action,
        log=state.log)
    # A non-finite loss changes nothing but the epoch, the flag and the action.
    new = jax.tree.map(lambda a, b_: jnp.where(finite, a, b_), new,
                       state._replace(epoch=epoch, should_stop=jnp.asarray(True),
                                      action=jnp.int32(NON_FINITE), range_ratio=jnp.nan,
                                      drop_ratio=jnp.nan, smoothed=loss))
    record = decay | stop | ~finite
    log = state.log
    i = jnp.where(record, log.count, self.max_decisions)  # out of range: dropped
    log = DecisionLog(
        epoch=log.epoch.at[i].set(epoch, mode="drop"),
        smoothed=log.smoothed.at[i].set(new.smoothed, mode="drop"),
        range_ratio=log.range_ratio.at[i].set(new.range_ratio, mode="drop"),
        drop_ratio=log.drop_ratio.at[i].set(new.drop_ratio, mode="drop"),
        action=log.action.at[i].set(new.action, mode="drop"),
        learning_rate=log.learning_rate.at[i].set(new.learning_rate, mode="drop"),
        count=log.count + record.astype(jnp.int32))
    return new._replace(log=log)


def autodecay_rule(init_value: float, factor: float = 0.1, beta: float = 0.9, window: int = 10,
                   tolerance: float = 0.03, drop: float = 0.9, eps: float = 1e-8, *,
                   max_decisions: int = 32) -> AutoDecay:
  """Builds the :class:`AutoDecay` rule as a controller (see the module docstring).

  :func:`autodecay` is the same rule as an optax transformation; the controller is for
  code that sets a learning rate itself (``state.learning_rate`` after each epoch).

  Formula: ``g(t) = f(t) / (1 - beta^t)``, ``f(t) = beta f(t-1) + (1 - beta) loss(t)``;
  stable when ``(max G - min G) / (min G + eps) < tolerance`` over the last ``window``
  values ``G``; then decay by ``factor`` if ``(g(t) + eps) / (g_start + eps) <= drop``,
  else stop.

  Args:
    init_value: the initial learning rate, > 0.
    factor: multiplier of the learning rate at each decay, in (0, 1).
    beta: EMA decay factor of the epoch loss, in [0, 1) (0: no smoothing).
    window: number ``W`` of smoothed values that must be stable, an integer >= 2; also
      the minimum number of epochs per stage.
    tolerance: ``eta``, the largest relative range of the window that counts as
      stable, > 0.
    drop: ``zeta``, the largest ``g(t) / g_start`` that counts as a significant drop,
      in (0, 1].
    eps: the small constant of both ratios, >= 0.
    max_decisions: capacity of the decision log, an integer >= 1.

  Returns:
    The controller: ``state = ad.init()``, then ``state = ad.update(state, epoch_loss)``
    after every epoch.

  Raises:
    ValueError: an argument is out of its range (the message names it).

  Example:
    >>> ad = autodecay_rule(0.1)
    >>> (ad.window, ad.tolerance, ad.drop)
    (10, 0.03, 0.9)
    >>> autodecay_rule(0.1, factor=2.0)
    Traceback (most recent call last):
    ...
    ValueError: autodecay: factor must be a number in (0, 1), got 2.0
  """
  def finite(value):
    return _is_number(value) and math.isfinite(value)

  _check("init_value", init_value, finite(init_value) and init_value > 0, "a finite number > 0")
  _check("factor", factor, finite(factor) and 0 < factor < 1, "a number in (0, 1)")
  _check("beta", beta, finite(beta) and 0 <= beta < 1, "a number in [0, 1)")
  _check("window", window, _is_int(window) and window >= 2, "an integer >= 2")
  _check("tolerance", tolerance, finite(tolerance) and tolerance > 0, "a finite number > 0")
  _check("drop", drop, finite(drop) and 0 < drop <= 1, "a number in (0, 1]")
  _check("eps", eps, finite(eps) and eps >= 0, "a finite number >= 0")
  _check("max_decisions", max_decisions, _is_int(max_decisions) and max_decisions >= 1,
         "an integer >= 1")
  return AutoDecay(float(init_value), float(factor), float(beta), int(window), float(tolerance),
                   float(drop), float(eps), int(max_decisions))


def _record(epoch, stage, smoothed, range_ratio, drop_ratio, action, learning_rate) -> dict:
  def num(x):
    x = float(str(np.float32(x)))  # shortest decimal of the float32 value
    return x if math.isfinite(x) else None

  return {"epoch": int(epoch), "stage": int(stage), "smoothed_loss": num(smoothed),
          "range_ratio": num(range_ratio), "drop_ratio": num(drop_ratio),
          "action": ACTIONS[int(action)], "learning_rate": num(learning_rate)}


@flax.struct.dataclass
class AutoDecayOptState:
  """The state of the :func:`autodecay` transformation.

  Attributes:
    rule: the rule's :class:`AutoDecayState`; its ``learning_rate`` is the scale
      (the rule runs with ``init_value = 1``).
    config: the rule (:class:`AutoDecay`), static.
  """

  rule: AutoDecayState
  config: AutoDecay = flax.struct.field(pytree_node=False)


def autodecay(factor: float = 0.1, beta: float = 0.9, window: int = 10,
              tolerance: float = 0.03, drop: float = 0.9, eps: float = 1e-8, *,
              max_decisions: int = 32) -> optax.GradientTransformationExtraArgs:
  """AutoDecay as an optax transformation: scales the updates by ``factor`` at each decay.

  The rule of the module docstring, decision for decision (it is :func:`autodecay_rule`
  with ``init_value = 1``: the scale plays the learning rate's part).

  Args:
    factor, beta, window, tolerance, drop, eps, max_decisions: as for
      :func:`autodecay_rule`.

  Returns:
    ``update(updates, state, params=None, *, value=None)``: observes ``value`` (an epoch
    loss) when given, then multiplies the updates by the scale. Per epoch, call
    ``update`` without ``value`` in the train step and
    :func:`lrsched.adaptive.observe` ``(opt_state, epoch_loss)`` after each epoch;
    :func:`lrsched.adaptive.should_stop` reads the stop decision and :func:`decisions`
    the log.

  Raises:
    ValueError: an argument out of its range (named, with the value).

  Example:
    >>> import jax.numpy as jnp, optax
    >>> from lrsched.adaptive import observe, should_stop
    >>> tx = optax.chain(optax.sgd(0.1), autodecay(beta=0.0, window=3, tolerance=0.1,
    ...                                            drop=0.5))
    >>> opt_state = tx.init({"w": jnp.zeros(2)})
    >>> for loss in [4.0, 2.0, 1.0, 1.0, 1.0]:
    ...   opt_state = observe(opt_state, loss)
    >>> [(r["epoch"], r["action"], r["scale"]) for r in decisions(opt_state)]
    [(5, 'decay', 0.1)]
  """
  rule = autodecay_rule(1.0, factor, beta, window, tolerance, drop, eps,
                        max_decisions=max_decisions)

  def init_fn(params: Any) -> AutoDecayOptState:
    del params
    return AutoDecayOptState(rule=rule.init(), config=rule)

  def update_fn(updates, state: AutoDecayOptState, params=None, *, value=None, **extra_args):
    del params, extra_args
    if value is not None:
      state = observe_state(state, value)
    scale = state.rule.learning_rate
    return jax.tree.map(lambda u: u * scale.astype(u.dtype), updates), state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def is_state(node: Any) -> bool:
  """Whether ``node`` is the state of an :func:`autodecay` transformation."""
  return isinstance(node, AutoDecayOptState)


def observe_state(state: AutoDecayOptState, value: Any) -> AutoDecayOptState:
  """One epoch loss fed to an :func:`autodecay` state."""
  return state.replace(rule=state.config.update(state.rule, value))


def state_scale(state: AutoDecayOptState) -> jax.Array:
  return state.rule.learning_rate


def find_state(opt_state: Any) -> AutoDecayOptState | None:
  """The (first) :func:`autodecay` state inside an optimizer state, or None."""
  nodes = [n for n in jax.tree.leaves(opt_state, is_leaf=is_state) if is_state(n)]
  return nodes[0] if nodes else None


def decisions(state: AutoDecayState | Any) -> list[dict[str, Any]]:
  """The decisions taken so far (decays, the stop, non-finite losses), oldest first.

  Args:
    state: an :class:`AutoDecayState` (device or numpy arrays), or an optimizer state
      holding an :func:`autodecay` transformation (its records then say ``scale``
      instead of ``learning_rate``).

  Returns:
    One dict per decision: ``epoch``, ``stage`` (decays before it), ``smoothed_loss``
    ``g(t)``, ``range_ratio``, ``drop_ratio``, ``action`` (``"decay"``, ``"stop"`` or
    ``"non-finite"``) and ``learning_rate`` (after the decision); JSON-ready, with NaN
    written as ``None``.
  """
  if not isinstance(state, AutoDecayState):
    found = find_state(state)
    if found is None:
      raise ValueError("decisions: no AutoDecay state in the given state")
    return [_as_scale(r) for r in decisions(found.rule)]
  log = jax.tree.map(np.asarray, state.log)
  n = min(int(log.count), len(log.epoch))
  out, stage = [], 0
  for i in range(n):
    out.append(_record(log.epoch[i], stage, log.smoothed[i], log.range_ratio[i],
                       log.drop_ratio[i], log.action[i], log.learning_rate[i]))
    stage += int(log.action[i]) == DECAY
  return out


def _as_scale(record: dict[str, Any]) -> dict[str, Any]:
  out = dict(record)
  out["scale"] = out.pop("learning_rate")
  return out


def last_record(state: AutoDecayState | Any) -> dict[str, Any]:
  """The statistics of the latest update, for per-epoch metrics.

  Returns:
    A dict like those of :func:`decisions`; ``action`` is also ``"fill"`` (the window
    is not full yet), ``"wait"`` (not stable) or ``"stopped"`` (already stopped);
    ``stage`` is the number of decays after the update. Given an optimizer state
    holding an :func:`autodecay` transformation, ``scale`` replaces ``learning_rate``.
  """
  if not isinstance(state, AutoDecayState):
    found = find_state(state)
    if found is None:
      raise ValueError("last_record: no AutoDecay state in the given state")
    return _as_scale(last_record(found.rule))
  return _record(state.epoch, state.stage, state.smoothed, state.range_ratio,
                 state.drop_ratio, state.action, state.learning_rate)


def smoothed_std(sigma: float, t: int | np.ndarray, beta: float = 0.9) -> np.ndarray:
  """Standard deviation of ``g(t)`` for i.i.d. epoch-loss noise of std ``sigma``.

  Formula: ``sqrt((1-b)/(1+b) * (1+b^t)/(1-b^t)) * sigma`` (You et al., Eq. 3).

  Example:
    >>> round(float(smoothed_std(1.0, 1)), 6), round(float(smoothed_std(1.0, 1000)), 4)
    (1.0, 0.2294)
  """
  t = np.asarray(t, np.float64)
  return np.sqrt((1 - beta) / (1 + beta) * (1 + beta**t) / (1 - beta**t)) * sigma


__all__ = [
    "ACTIONS",
    "AutoDecay",
    "AutoDecayNonFiniteError",
    "AutoDecayOptState",
    "AutoDecayState",
    "DecisionLog",
    "autodecay",
    "autodecay_rule",
    "decisions",
    "last_record",
    "smoothed_std",
]
