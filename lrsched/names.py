"""Error messages for unknown names: "did you mean", as a new user needs them.

One helper serves every place that looks a name up (schedule specs, config fields,
models, optimizers, command-line choices), so the messages read alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: object, choices: Iterable[str], *, n: int = 3) -> str:
  """The close matches of ``name`` among ``choices``, as a message suffix.

  Args:
    name: the unknown name (anything: a non-string has no close matches).
    choices: the known names.
    n: at most this many suggestions.

  Returns:
    ``" (did you mean 'one_cycle'?)"``, ``" (did you mean 'a' or 'b'?)"``, or ``""``
    when nothing is close (difflib's ratio >= 0.6, the same rule as Python's own
    ``NameError`` suggestions use in spirit).

  Example:
    >>> did_you_mean("one_cylce", ["one_cycle", "cyclic", "sgdr"])
    " (did you mean 'one_cycle'?)"
    >>> did_you_mean("cosine", ["join", "cosine_decay", "warmup_cosine_decay"])
    " (did you mean 'cosine_decay' or 'warmup_cosine_decay'?)"
    >>> did_you_mean("xyz", ["one_cycle"])
    ''
  """
  if not isinstance(name, str):
    return ""
  choices = list(choices)
  # A name that another contains is the likeliest meaning ("cosine" ->
  # "cosine_decay_schedule"); failing that, difflib's close matches ("one_cylce" ->
  # "one_cycle").
  lowered = name.lower()
  contained = [c for c in choices if len(lowered) >= 3 and lowered in c.lower()]
  contained.sort(key=lambda c: (not c.lower().startswith(lowered), len(c)))
  matches = contained[:n] or difflib.get_close_matches(name, choices, n=n)
  if not matches:
    return ""
  quoted = [repr(m) for m in matches]
  text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
  return f" (did you mean {text}?)"


def unknown_name_error(kind: str, name: object, choices: Iterable[str]) -> ValueError:
  """A ``ValueError`` for an unknown ``name``: the close matches first, then every choice.

  Example:
    >>> print(unknown_name_error("model", "wide_resent", ["mlp", "wide_resnet"]))
    model must be one of ['mlp', 'wide_resnet'], got 'wide_resent' (did you mean 'wide_resnet'?)
  """
  choices = sorted(choices)
  return ValueError(f"{kind} must be one of {choices}, got {name!r}{did_you_mean(name, choices)}")


def did_you_mean_each(names: Iterable[str], choices: Iterable[str]) -> str:
  """:func:`did_you_mean` for a list of unknown names: one name's suffix, or each one's.

  Example:
    >>> did_you_mean_each(["epoch"], ["epochs", "seed"])
    " (did you mean 'epochs'?)"
    >>> did_you_mean_each(["epoch", "sed", "xyz"], ["epochs", "seed"])
    "; 'epoch' (did you mean 'epochs'?); 'sed' (did you mean 'seed'?)"
  """
  names, choices = list(names), list(choices)
  if len(names) == 1:
    return did_you_mean(names[0], choices)
  return "".join(f"; {k!r}{did_you_mean(k, choices)}" for k in names
                 if did_you_mean(k, choices))
