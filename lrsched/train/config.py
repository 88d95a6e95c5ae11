"""Training configuration: a dataclass, Python config files and command-line overrides.

A config file is a small Python file under ``experiments/configs/`` whose
``get_config()`` returns a :class:`Config`; its docstring states the command that
runs it and the result it should give (the big_vision convention). Overrides
``key=value`` replace fields; dotted keys reach into the dict fields
(``model.depth=16``, ``learning_rate.boundaries=[30,60]``); values are Python
literals (``ast.literal_eval``) and fall back to plain strings.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import inspect
import math
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from lrsched.names import did_you_mean

WEIGHT_DECAY_MASKS = ("all", "kernels", "none")
COMPUTE_DTYPES = ("float32", "bfloat16")
BUDGET_CHANGES = ("stretch", "error")


@dataclasses.dataclass
class Config:
  """Everything a training run needs; every field has a working default.

  Attributes:
    data: ``{"name": ..., **kwargs}`` for :func:`lrsched.data.load_dataset`
      (e.g. ``{"name": "cifar10", "data_dir": None, "download": False}``, a
      ``.npz`` path, or ``{"name": "ps10", "noise_fraction": 0.1}``).
    eval_split: split evaluated after every epoch (``"test"``).
    eval_train: also evaluate on the training split (eval mode, no augmentation);
      this is where per-kind accuracy on noisy PS10 samples is measured.
    train_subset: use only the first N training samples (0: all).
    model: ``{"name": "wide_resnet" | "preresnet" | "mlp" | "fc", **kwargs}`` for
      :func:`lrsched.models.build_model` (``"mlp"``: channel means, for PS10; ``"fc"``: a
      fully connected network on flattened pixels, the edge-of-stability model);
      ``num_classes`` and ``in_channels`` are filled in from the data when absent. The name
      and the arguments are checked when the Config is made
      (:func:`lrsched.models.check_model_spec`).
    loss: the training loss, one of :data:`lrsched.losses.LOSSES`: ``"cross_entropy"``
      (softmax cross-entropy, the default) or ``"mse"`` (the square loss of the
      edge-of-stability papers, ``0.5 * mean_i ||f(x_i) - onehot(y_i)||^2`` on the raw
      outputs; Cohen et al. 2021). Training, evaluation, the sharpness tracker, the range
      test and ``lrsched hessian`` all use it; labels outside the model's ``num_classes``
      are refused before training.
    batch_size: global batch size (all devices and hosts together).
    epochs: number of epochs.
    optimizer: ``"sgd"`` (momentum SGD with PyTorch-style coupled weight decay:
      ``g + weight_decay * w`` enters the momentum buffer) or the name of any optax
      optimizer (``"adamw"``, ``"lamb"``, ...) built with ``optimizer_kwargs``, or
      ``"schedule_free_sgd"`` / ``"schedule_free_adamw"`` (``optax.contrib``; any
      ``learning_rate`` schedule, a warmup included, reaches it per step; each epoch's
      ``avg_*`` metrics evaluate ``schedule_free_eval_params`` with BatchNorm recalibrated
      there, the raw ``test_*`` ones the interpolated point ``y`` it trains at).
    optimizer_kwargs: extra keyword arguments of the optax optimizer.
    learning_rate: a number or a schedule spec for :func:`lrsched.from_spec`
      (``"unit": "epochs"`` is converted with the run's steps per epoch). A spec is built
      when the Config is made, so a bad spec fails here, and its values must be >= 0
      (``lrsched.train.specs.check_config_schedule``; a spec in epochs is built at a
      stand-in 1 step per epoch for that check, the data not being loaded yet).
    momentum: a number or a schedule spec (``"sgd"`` only), checked the same way: its values
      must be in [0, 1).
    nesterov: Nesterov momentum (``"sgd"`` only).
    weight_decay: coupled L2 weight decay (``"sgd"`` only).
    momentum_init: ``None`` (a zero momentum buffer) or ``"exp_lr"``: start the SGD
      momentum buffer at :func:`lrsched.exp_lr_momentum_init`, which makes an
      ``exp_lr`` learning rate exactly equivalent to its constant rate plus weight
      decay (Li & Arora). Needs ``optimizer="sgd"``, an ``exp_lr`` learning-rate spec
      with the config's ``momentum``, and ``weight_decay=0``.
    weight_decay_mask: which parameters decay: ``"all"`` (PyTorch's default and
      Li & Arora's setting), ``"kernels"`` (conv/linear kernels, not BatchNorm
      scale/bias or biases) or ``"none"``.
    full_batch: gradient descent: each step accumulates the gradient over the whole
      training set (in chunks of ``batch_size``, weighted by size), so one epoch is
      one step. BatchNorm uses the statistics of each chunk.
    augment: pad-4 random crop and horizontal flip on device (training only).
    autodecay: kwargs of :func:`lrsched.adaptive.autodecay` (``factor``, ``beta``,
      ``window``, ``tolerance``, ``drop``) to scale the learning rate by the epoch
      training loss (You et al. 2019, App. A.1), or ``None`` (off). The transformation
      is chained after the optimizer, so any ``learning_rate`` (a warmup schedule
      included) is scaled; its state checkpoints with the optimizer's. Each epoch's
      record gains ``autodecay_*`` fields; training ends early at AutoDecay's stop
      decision.
    plateau: kwargs of :func:`lrsched.adaptive.reduce_on_plateau` (PyTorch's
      ``ReduceLROnPlateau``: ``factor``, ``patience``, ``threshold``, ``threshold_mode``,
      ``cooldown``, ``mode``, ``min_scale``, ``start``) plus ``monitor``, the epoch
      metric it observes (``"train_loss"``, the default, or ``"<eval_split>_loss"`` /
      ``"<eval_split>_accuracy"``; use ``mode="max"`` for an accuracy), or ``None``.
      ``start=W`` ignores the first W epochs (a warmup). Records gain ``plateau_scale``.
    averaging: weight averaging (:mod:`lrsched.averaging`), or ``None`` (off): ``{"kind":
      "ema", "decay": 0.999}`` (optional ``"warmup": True``), ``{"kind": "swa", "start":
      S, "every": N, "unit": "epochs"}`` or ``{"kind": "lawa", "num_checkpoints": K,
      "every": N, "unit": "epochs"}`` (``unit`` ``"steps"`` by default), plus
      ``"bn_batches"``: how many training batches (in order, unaugmented) recalibrate the
      averaged model's BatchNorm statistics before each evaluation (default 50; ``None``:
      keep the raw model's statistics); ``{"kind": "schedule_free", "bn_batches": N}``
      sets the recalibration of a schedule-free optimizer's evaluation point (whose
      ``avg_*`` metrics are logged anyway, with 50 batches). The rule is chained last, so
      its average lives in the optimizer state (checkpointed, resumed bitwise). Each
      epoch's record gains
      ``avg_<eval_split>_loss`` and ``avg_<eval_split>_accuracy`` (and per kind) beside
      the raw model's.
    param_groups: per-parameter-group settings (PyTorch's parameter groups, fastai's
      discriminative rates; :mod:`lrsched.param_groups`), or ``None``: a list of
      ``{"pattern": REGEX, ...}`` whose other keys override ``learning_rate`` (a number or
      a schedule spec), ``momentum``, ``weight_decay`` or ``optimizer_kwargs`` for the
      parameters whose ``/``-joined path (``head/kernel``, ``blocks/0/conv1/kernel``) the
      regex matches; the first matching group wins, the rest use the config's own
      values. A pattern that matches no parameter is an error when the optimizer is
      made. Records report the default group's learning rate.
    sharpness_every: every N steps, estimate the top Hessian eigenvalue of the training
      loss on a probe batch and log it beside ``2/lr`` and ``(2+2 momentum)/lr`` in
      ``sharpness.jsonl``/``sharpness.png`` (0: off); see :mod:`lrsched.train.sharpness`.
    sharpness_batch_size: the probe batch (the first N training samples; 0: ``batch_size``;
      the training set's size: all of it, as the edge-of-stability papers measure; more
      than the training set is refused).
    sharpness_k: 1, or 2 to log ``lambda_2`` beside ``lambda_1`` (``lambda_2``'s record).
    sharpness_directional: also log the gradient's component along the top eigenvector and
      the loss change of the step's part along it (``grad_along_top``,
      ``loss_change_along_top``: positive past the edge).
    snapshots: snapshot ensembles: keep the model at the end of every cycle of an
      ``sgdr`` or ``cyclic`` learning rate (in ``workdir/snapshots``) and report the
      ensemble's and the last snapshot's evaluation accuracy after each new snapshot.
    param_dtype: ``"float32"`` or ``"float64"``: the dtype of the parameters, the
      BatchNorm statistics and the optimizer state (the model is initialized in
      float32, then cast, so both dtypes start from the same weights). float64
      needs ``jax.config.update("jax_enable_x64", True)`` before training; it is for
      exactness experiments (e.g. weight decay vs its exponential-rate equivalent,
      whose float32 runs drift apart by amplified rounding).
    compute_dtype: ``"float32"`` (compute in the parameters' dtype) or ``"bfloat16"``
      (mixed precision, the standard TPU recipe, see :mod:`lrsched.models.precision`):
      convolutions, matrix products and activations run in bfloat16; the parameters,
      the optimizer state, BatchNorm statistics, the logits, the loss and the
      checkpoints stay float32. Needs ``param_dtype="float32"``. ``lrsched hessian``
      and the sharpness probe evaluate such a model in float32.
    init_from: fine-tuning: ``{"run": RUN_DIR, "epoch": N, "skip": ["head"]}`` (epoch
      optional: the newest checkpoint; skip optional) initializes the model from
      another run's checkpoint -- every parameter and BatchNorm statistic whose path
      and shape match and whose path does not start with a ``skip`` prefix; the rest
      (e.g. a classifier head for a different number of classes) keeps its fresh
      initialization -- or ``None`` (train from scratch). A resumed run restores its
      own checkpoint instead.
    budget_change: what a resumed run does when ``epochs`` differs from its
      ``config.json``: ``"stretch"`` (the learning-rate and momentum schedules are
      stretched from the resume point with :func:`lrsched.stretch`, so the rate is
      continuous there and reaches the old end at the new last epoch; logged as
      ``budget_change`` in that epoch's record) or ``"error"`` (refuse). A run that
      had finished its old budget has no rest to stretch: extended, its schedules go
      on as they would past their end (most hold their end value).
    seed: seeds the model, data order and augmentation (an integer >= 0).
    checkpoint_every: save an orbax checkpoint every N epochs (0: never) and at the end.
    keep_checkpoints: how many checkpoints to keep.
    progress: show a progress bar.
  """

  data: dict[str, Any] = dataclasses.field(default_factory=lambda: {"name": "ps10"})
  eval_split: str = "test"
  eval_train: bool = False
  train_subset: int = 0
  model: dict[str, Any] = dataclasses.field(
      default_factory=lambda: {"name": "wide_resnet", "depth": 10, "widen_factor": 1})
  loss: str = "cross_entropy"
  batch_size: int = 128
  epochs: int = 10
  optimizer: str = "sgd"
  optimizer_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
  learning_rate: float | dict[str, Any] = 0.1
  momentum: float | dict[str, Any] = 0.9
  nesterov: bool = False
  weight_decay: float = 5e-4
  weight_decay_mask: str = "all"
  momentum_init: str | None = None
  full_batch: bool = False
  augment: bool = True
  autodecay: dict[str, Any] | None = None
  plateau: dict[str, Any] | None = None
  averaging: dict[str, Any] | None = None
  param_groups: list[dict[str, Any]] | None = None
  sharpness_every: int = 0
  sharpness_batch_size: int = 0
  sharpness_k: int = 1
  sharpness_directional: bool = False
  snapshots: bool = False
  param_dtype: str = "float32"
  compute_dtype: str = "float32"
  init_from: dict[str, Any] | None = None
  budget_change: str = "stretch"
  seed: int = 0
  checkpoint_every: int = 1
  keep_checkpoints: int = 2
  progress: bool = True

  def __post_init__(self) -> None:
    self.validate()

  def validate(self) -> None:
    """Raises ``ValueError`` naming the first invalid field, its value and what is allowed."""
    for name in ("eval_train", "nesterov", "full_batch", "augment", "snapshots", "progress",
                 "sharpness_directional"):
      value = getattr(self, name)
      if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    for name in ("eval_split", "optimizer"):
      value = getattr(self, name)
      if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
      raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
    if self.budget_change not in BUDGET_CHANGES:
      raise ValueError(f"budget_change must be one of {BUDGET_CHANGES}, "
                       f"got {self.budget_change!r}")
    for name in ("batch_size", "epochs"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("train_subset", "checkpoint_every", "keep_checkpoints", "sharpness_every",
                 "sharpness_batch_size"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if isinstance(self.sharpness_k, bool) or self.sharpness_k not in (1, 2):
      raise ValueError(f"sharpness_k must be 1 (lambda_1) or 2 (also lambda_2), got "
                       f"{self.sharpness_k!r}")
    for name in ("data", "model"):
      value = getattr(self, name)
      if not isinstance(value, Mapping) or "name" not in value:
        raise ValueError(f"{name} must be a dict with a 'name' key, got {value!r}")
    from lrsched.losses import check_loss_name  # lazily: configs load without jax

    check_loss_name(self.loss, "loss")
    if self.weight_decay_mask not in WEIGHT_DECAY_MASKS:
      raise ValueError(f"weight_decay_mask must be one of {WEIGHT_DECAY_MASKS}, "
                       f"got {self.weight_decay_mask!r}")
    _check_number("weight_decay", self.weight_decay, 0.0, math.inf, "[0, inf)")
    for name in ("learning_rate", "momentum"):
      value = getattr(self, name)
      if isinstance(value, Mapping):
        if not isinstance(value.get("name"), str):
          raise ValueError(f"{name}: a schedule spec needs a string 'name', got {value!r}")
        from lrsched.train.specs import check_config_schedule  # lazily: imports optax

        check_config_schedule(name, value, self.epochs)  # builds it: a bad spec fails here
        continue
      if name == "learning_rate":
        _check_number(name, value, 0.0, math.inf, "[0, inf) or a schedule spec dict",
                      open_low=False)
      else:
        _check_number(name, value, 0.0, 1.0, "[0, 1) or a schedule spec dict", open_high=True)
    if not isinstance(self.optimizer_kwargs, Mapping):
      raise ValueError(f"optimizer_kwargs must be a dict, got {self.optimizer_kwargs!r}")
    self._check_optimizer()
    if self.param_dtype not in ("float32", "float64"):
      raise ValueError(f"param_dtype must be 'float32' or 'float64', got {self.param_dtype!r}")
    if self.compute_dtype not in COMPUTE_DTYPES:
      raise ValueError(f"compute_dtype must be one of {COMPUTE_DTYPES}, "
                       f"got {self.compute_dtype!r}")
    if self.compute_dtype == "bfloat16" and self.param_dtype != "float32":
      raise ValueError(f"compute_dtype='bfloat16' needs param_dtype='float32' (mixed "
                       f"precision keeps float32 weights), got {self.param_dtype!r}")
    if "dtype" in self.model:
      raise ValueError(f"model: set the compute dtype with the config field compute_dtype, "
                       f"not model.dtype (got {self.model['dtype']!r})")
    from lrsched.models import check_model_spec  # name and arguments ("did you mean")

    check_model_spec(self.model["name"], {k: v for k, v in self.model.items() if k != "name"})
    if self.momentum_init is not None:
      lr = self.learning_rate
      if self.momentum_init != "exp_lr":
        raise ValueError(f"momentum_init must be None or 'exp_lr', got {self.momentum_init!r}")
      if not (isinstance(lr, Mapping) and lr.get("name") == "exp_lr"
              and self.optimizer == "sgd" and lr.get("momentum") == self.momentum
              and self.weight_decay == 0):
        raise ValueError(
            "momentum_init='exp_lr' needs optimizer='sgd', an 'exp_lr' learning_rate spec "
            f"whose momentum equals momentum ({self.momentum!r}) and weight_decay=0; got "
            f"learning_rate={lr!r}, optimizer={self.optimizer!r}, "
            f"weight_decay={self.weight_decay!r}")
    self._check_adaptive()
    self._check_param_groups()
    if self.averaging is not None:
      from lrsched.averaging import check_averaging_spec  # lazily: imports jax

      check_averaging_spec(self.averaging)
      spec = self.averaging
      free = self.optimizer.startswith("schedule_free")
      if (spec["kind"] == "schedule_free") != free:
        raise ValueError(f"averaging: kind 'schedule_free' goes with (only) a schedule-free "
                         f"optimizer, which averages already; got kind {spec['kind']!r} with "
                         f"optimizer {self.optimizer!r}")
      if spec["kind"] == "swa" and spec.get("unit") == "epochs" and spec.get(
          "start", 1) > self.epochs:
        raise ValueError(f"averaging: swa start {spec['start']} (epochs) is after the run's "
                         f"last epoch {self.epochs}: nothing would be averaged")
    if self.init_from is not None:
      init = self.init_from
      epoch = init.get("epoch") if isinstance(init, Mapping) else None
      skip = init.get("skip", []) if isinstance(init, Mapping) else None
      if (not isinstance(init, Mapping) or not isinstance(init.get("run"), str)
          or set(init) - {"run", "epoch", "skip"}
          or (epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)
                                     or epoch < 1))
          or not isinstance(skip, list | tuple) or not all(isinstance(p, str) for p in skip)):
        raise ValueError("init_from must be None or {'run': RUN_DIR, 'epoch': N, 'skip': "
                         "[path prefixes]} (epoch an integer >= 1 and skip optional), "
                         f"got {init!r}")
    if self.snapshots and not (isinstance(self.learning_rate, Mapping)
                               and self.learning_rate.get("name") in ("sgdr", "cyclic")):
      raise ValueError(f"snapshots=True needs an 'sgdr' or 'cyclic' learning_rate spec, "
                       f"got {self.learning_rate!r}")

  def _check_param_groups(self) -> None:
    """``param_groups``: a list of dicts with a regex ``pattern`` and known overrides."""
    if self.param_groups is None:
      return
    if not isinstance(self.param_groups, list | tuple) or not self.param_groups:
      raise ValueError(f"param_groups must be None or a non-empty list of dicts, got "
                       f"{self.param_groups!r}")
    from lrsched.param_groups import _compile  # lazily: imports jax

    allowed = ("pattern",) + PARAM_GROUP_FIELDS
    for i, group in enumerate(self.param_groups):
      if not isinstance(group, Mapping) or "pattern" not in group:
        raise ValueError(f"param_groups[{i}] must be a dict with a 'pattern' key, got "
                         f"{group!r}")
      unknown = sorted(set(group) - set(allowed))
      if unknown:
        raise ValueError(f"param_groups[{i}]: unknown key(s) {unknown}; allowed: "
                         f"{list(allowed)}")
      _compile([group["pattern"]])
      overrides = {k: v for k, v in group.items() if k != "pattern"}
      try:
        dataclasses.replace(self, param_groups=None, **overrides)  # the fields' own checks
      except ValueError as error:
        raise ValueError(f"param_groups[{i}] ({group['pattern']!r}): {error}") from None

  def _check_optimizer(self) -> None:
    if self.optimizer == "sgd":
      if self.optimizer_kwargs:
        raise ValueError(f"optimizer_kwargs: optimizer 'sgd' takes none (its settings are the "
                         f"config fields momentum, nesterov, weight_decay, "
                         f"weight_decay_mask), got {sorted(self.optimizer_kwargs)}")
      return
    from lrsched.train.specs import optax_optimizer  # lazily: imports optax

    optax_optimizer(self.optimizer, self.optimizer_kwargs)  # "did you mean" for both

  def _check_adaptive(self) -> None:
    """``autodecay`` and ``plateau``: dicts whose transformations build."""
    from lrsched.adaptive import autodecay, reduce_on_plateau

    for name, build in (("autodecay", autodecay), ("plateau", reduce_on_plateau)):
      kwargs = getattr(self, name)
      if kwargs is None:
        continue
      if not isinstance(kwargs, Mapping):
        raise ValueError(f"{name} must be None or a dict of lrsched.adaptive.{build.__name__} "
                         f"kwargs, got {kwargs!r}")
      kwargs = dict(kwargs)
      if name == "plateau":
        monitor = kwargs.pop("monitor", "train_loss")
        allowed = ("train_loss", f"{self.eval_split}_loss", f"{self.eval_split}_accuracy")
        if monitor not in allowed:
          raise ValueError(f"plateau: monitor must be one of {allowed}, got {monitor!r}")
      try:
        build(**kwargs)
      except TypeError as error:
        raise ValueError(f"{name}: {error} (allowed: "
                         f"{', '.join(inspect.signature(build).parameters)})") from None

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)


PARAM_GROUP_FIELDS = ("learning_rate", "momentum", "weight_decay", "optimizer_kwargs")
"""The fields a parameter group may override."""

_dataclass_init = Config.__init__


@functools.wraps(_dataclass_init)
def _init(self: Config, *args: Any, **kwargs: Any) -> None:
  """The dataclass's ``__init__``, with a "did you mean" for an unknown keyword."""
  fields = [f.name for f in dataclasses.fields(Config)]
  for key in kwargs:
    if key not in fields:
      raise TypeError(f"Config() got an unexpected keyword argument {key!r}"
                      f"{did_you_mean(key, fields)}; fields: {sorted(fields)}")
  _dataclass_init(self, *args, **kwargs)


Config.__init__ = _init


def _check_number(name: str, value: Any, low: float, high: float, allowed: str, *,
                  open_low: bool = False, open_high: bool = False) -> None:
  """Raises ``ValueError`` unless ``value`` is a real number in the allowed range."""
  ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and (value < high if open_high else value <= high))
  if not ok:
    raise ValueError(f"{name} must be a number in {allowed}, got {value!r}")


def _parse_value(text: str) -> Any:
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def apply_overrides(config: Config, overrides: Sequence[str]) -> Config:
  """Returns a copy of ``config`` with ``key=value`` overrides applied.

  Example:
    >>> config = apply_overrides(Config(), ["epochs=3", "model.depth=16"])
    >>> config.epochs, config.model["depth"]
    (3, 16)
  """
  values = config.to_dict()
  fields = {f.name for f in dataclasses.fields(Config)}
  for item in overrides:
    key, sep, text = item.partition("=")
    if not sep:
      raise ValueError(f"an override must look like key=value, got {item!r}")
    path = key.strip().split(".")
    if path[0] not in fields:
      raise ValueError(f"unknown config field {path[0]!r} in override {item!r}"
                       f"{did_you_mean(path[0], fields)}; fields: {sorted(fields)}")
    target = values
    for part in path[:-1]:
      if not isinstance(target.get(part), dict):
        target[part] = {} if target.get(part) is None else target[part]
        if not isinstance(target[part], dict):
          raise ValueError(f"cannot set {key!r}: {part!r} is not a dict")
      target = target[part]
    target[path[-1]] = _parse_value(text.strip())
  return Config(**values)


def load_config(path: str | pathlib.Path, overrides: Sequence[str] = ()) -> Config:
  """Loads ``get_config()`` from a Python config file and applies overrides."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"config file {str(path)!r} does not exist")
  spec = importlib.util.spec_from_file_location(f"_lrsched_config_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ValueError(f"config file {str(path)!r} must define get_config()")
  config = module.get_config()
  if not isinstance(config, Config):
    raise ValueError(f"get_config() in {str(path)!r} must return lrsched.train.Config, "
                     f"got {type(config).__name__}")
  from lrsched.train import small_mode  # LRSCHED_SMALL=1: a tiny run (the docs' tests)

  return small_mode.apply(apply_overrides(config, overrides))
