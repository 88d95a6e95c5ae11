"""Flax NNX models: :class:`WideResNet`, :class:`PreResNet` and :func:`build_model`."""

from __future__ import annotations

import inspect

from flax import nnx

from lrsched.models.mlp import MLP
from lrsched.models.resnets import Fixed, FixedLinear, PreActBlock, PreResNet, WideResNet

_MODELS = {"wide_resnet": WideResNet, "preresnet": PreResNet, "mlp": MLP}


def build_model(name: str, *, seed: int = 0, **kwargs) -> nnx.Module:
  """Builds a model by name, as configs name it.

  Args:
    name: ``"wide_resnet"`` (kwargs of :class:`WideResNet`), ``"preresnet"``
      (kwargs of :class:`PreResNet`) or ``"mlp"`` (kwargs of :class:`MLP`: spatially
      constant images such as PS10).
    seed: seeds ``nnx.Rngs`` for initialization and dropout.
    **kwargs: the model's constructor arguments.

  Returns:
    The model, in training mode.

  Example:
    >>> model = build_model("wide_resnet", depth=10, widen_factor=1, num_classes=10)
    >>> type(model).__name__
    'WideResNet'
  """
  if name not in _MODELS:
    raise ValueError(f"model name must be one of {sorted(_MODELS)}, got {name!r}")
  cls = _MODELS[name]
  parameters = inspect.signature(cls.__init__).parameters
  allowed = [k for k in parameters if k not in ("self", "rngs")]
  unknown = sorted(set(kwargs) - set(allowed))
  missing = [k for k, p in parameters.items() if k not in ("self", "rngs")
             and p.default is inspect.Parameter.empty and k not in kwargs]
  if unknown or missing:
    raise ValueError(f"model {name!r}: " + "; ".join(
        ([f"unknown argument(s) {unknown}"] if unknown else [])
        + ([f"missing argument(s) {missing}"] if missing else []))
        + f" (it takes {allowed})")
  return cls(**kwargs, rngs=nnx.Rngs(seed))


__all__ = ["MLP", "Fixed", "FixedLinear", "PreActBlock", "PreResNet", "WideResNet", "build_model"]
