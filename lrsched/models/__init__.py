"""Flax NNX models: :class:`WideResNet`, :class:`PreResNet` and :func:`build_model`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from flax import nnx

from lrsched.models.mlp import MLP, FullyConnected
from lrsched.models.resnets import Fixed, FixedLinear, PreActBlock, PreResNet, WideResNet
from lrsched.names import did_you_mean_each, unknown_name_error

_MODELS = {"wide_resnet": WideResNet, "preresnet": PreResNet, "mlp": MLP, "fc": FullyConnected}


def build_model(name: str, *, seed: int = 0, **kwargs) -> nnx.Module:
  """Builds a model by name, as configs name it.

  Args:
    name: ``"wide_resnet"`` (kwargs of :class:`WideResNet`), ``"preresnet"``
      (kwargs of :class:`PreResNet`) or ``"mlp"`` (kwargs of :class:`MLP`: spatially
      constant images such as PS10) or ``"fc"`` (kwargs of :class:`FullyConnected`: an MLP
      on flattened pixels, e.g. Cohen et al.'s fc-tanh).
    seed: seeds ``nnx.Rngs`` for initialization and dropout.
    **kwargs: the model's constructor arguments.

  Returns:
    The model, in training mode.

  Example:
    >>> model = build_model("wide_resnet", depth=10, widen_factor=1, num_classes=10)
    >>> type(model).__name__
    'WideResNet'
  """
  cls = check_model_spec(name, kwargs)
  return cls(**kwargs, rngs=nnx.Rngs(seed))


def model_names() -> list[str]:
  """The names :func:`build_model` (and a config's ``model`` field) takes, sorted."""
  return sorted(_MODELS)


def check_model_spec(name: object, kwargs: Mapping[str, object]) -> type[nnx.Module]:
  """Checks a model name and its keyword arguments without building the model.

  This is the check :func:`build_model` runs first, and what
  :class:`lrsched.train.Config` runs on its ``model`` field, so a typo fails when the
  config is made, with a "did you mean" for the name and for each unknown argument.

  Args:
    name: a name of :func:`model_names`.
    kwargs: the constructor arguments (``rngs`` excluded).

  Returns:
    The model's class.

  Raises:
    ValueError: an unknown name, unknown arguments or missing required arguments.

  Example:
    >>> check_model_spec("wide_resnet", {"depth": 10, "widen_factor": 1}).__name__
    'WideResNet'
    >>> check_model_spec("wide_resnet", {"depth": 10, "widen": 1})
    Traceback (most recent call last):
    ...
    ValueError: model 'wide_resnet': unknown argument(s) ['widen'] (did you mean 'widen_factor'?); missing argument(s) ['widen_factor'] (it takes [...])
  """  # noqa: E501
  if not isinstance(name, str) or name not in _MODELS:
    raise unknown_name_error("model name", name, _MODELS)
  cls = _MODELS[name]
  parameters = inspect.signature(cls.__init__).parameters
  allowed = [k for k in parameters if k not in ("self", "rngs")]
  unknown = sorted(set(kwargs) - set(allowed))
  missing = [k for k, p in parameters.items() if k not in ("self", "rngs")
             and p.default is inspect.Parameter.empty and k not in kwargs
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
  if unknown or missing:
    hints = did_you_mean_each(unknown, [a for a in allowed if a not in kwargs])
    raise ValueError(f"model {name!r}: " + "; ".join(
        ([f"unknown argument(s) {unknown}{hints}"] if unknown else [])
        + ([f"missing argument(s) {missing}"] if missing else []))
        + f" (it takes {allowed})")
  return cls


__all__ = ["MLP", "Fixed", "FixedLinear", "FullyConnected", "PreActBlock", "PreResNet",
           "WideResNet", "build_model", "check_model_spec", "model_names"]
