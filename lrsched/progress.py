"""Progress for long loops: a bar on a terminal or in a notebook, plain lines elsewhere.

* A terminal gets tqdm's text bar, fitted to the width (:class:`FittedBar`): the epoch,
  the learning rate and the main metric stay visible at 80 columns, the bar takes what
  is left.
* A notebook gets tqdm's widget when ``ipywidgets`` is installed (Colab has it) and the
  text bar otherwise, so plain Jupyter never warns ``IProgress not found``.
* Output redirected to a file or a pipe (a batch job, CI) gets plain lines instead of a
  bar, which would write thousands of carriage-return updates: one per epoch, at most
  about 50 per run (the first and last epochs always).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from typing import Any

from tqdm import std as tqdm_std


def in_notebook() -> bool:
  """Whether the code runs in a Jupyter/Colab kernel."""
  shell = sys.modules.get("IPython")
  if shell is None:
    return False
  ipython = shell.get_ipython()
  return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def bar_class() -> type | None:
  """The tqdm class that suits the output, or ``None`` for line-per-epoch logging."""
  if in_notebook():
    if importlib.util.find_spec("ipywidgets") is not None:
      from tqdm import notebook
      return notebook.tqdm
    return tqdm_std.tqdm
  if sys.stderr is not None and sys.stderr.isatty():
    return tqdm_std.tqdm
  return None


def write(message: str) -> None:
  """Prints a message without breaking an active bar."""
  tqdm_std.tqdm.write(message, file=sys.stderr)


def _format(value: Any) -> str:
  return f"{value:.4g}" if isinstance(value, float) else str(value)


def short_name(key: str) -> str:
  """A metric's name as the bar shows it: ``learning_rate`` -> ``lr``, ``accuracy`` -> ``acc``.

  Example:
    >>> short_name("learning_rate"), short_name("test_accuracy"), short_name("train_loss")
    ('lr', 'test_acc', 'train_loss')
  """
  if key == "learning_rate":
    return "lr"
  return key.replace("accuracy", "acc").replace("momentum", "mom")


def short_value(key: str, value: Any) -> str:
  """A metric's value in few characters: accuracies in percent, others to 3 digits.

  Example:
    >>> short_value("test_accuracy", 0.8663), short_value("learning_rate", 1e-05)
    ('86.6%', '1e-5')
    >>> short_value("train_loss", 0.123456), short_value("learning_rate", 0.1)
    ('0.123', '0.1')
  """
  if isinstance(value, bool) or not isinstance(value, int | float):
    return str(value)
  if "accuracy" in key and 0.0 <= value <= 1.0:
    return f"{100 * value:.1f}%"
  text = f"{value:.3g}"
  mantissa, e, exponent = text.partition("e")
  return f"{mantissa}e{int(exponent)}" if e else text


MIN_BAR = 10
"""The bar is drawn only where at least this many columns are left for it."""


def fitted_format(width: int, fields: list[tuple[int, str]], bar_index: int,
                  measure) -> str:
  """The tqdm ``bar_format`` of the most important ``fields`` that fit in ``width`` columns.

  Args:
    width: the terminal's columns.
    fields: ``(priority, bar_format piece)`` in display order; a lower priority number
      is more important. Pieces are dropped from the least important until the rest
      leaves at least :data:`MIN_BAR` columns for the bar (a fifth of the width while
      pieces of priority above 6, the extras, are kept).
    bar_index: the position in ``fields`` where the bar goes.
    measure: ``bar_format -> displayed length`` of a format without ``{bar}``.

  Returns:
    A ``bar_format``; without ``{bar}`` (and with only the fields of priority <= 3)
    where even those leave no room for a bar.

  Example:
    >>> fields = [(4, "run: "), (1, "epoch 3/10"), (2, " lr=0.1"), (9, " 30/100")]
    >>> fitted_format(60, fields, 2, len)
    'run: epoch 3/10 |{bar}| lr=0.1 30/100'
    >>> fitted_format(40, fields, 2, len)
    'run: epoch 3/10 |{bar}| lr=0.1'
    >>> fitted_format(20, fields, 2, len)
    'epoch 3/10 lr=0.1'
  """
  kept = list(range(len(fields)))

  def join(indices, bar):
    before = "".join(fields[i][1] for i in indices if i < bar_index)
    after = "".join(fields[i][1] for i in indices if i >= bar_index)
    return before + (" |{bar}|" if bar else "") + after

  by_priority = sorted(kept, key=lambda i: fields[i][0])
  while True:
    text = join(kept, bar=False)
    extras = any(fields[i][0] > 6 for i in kept)  # kept only while the bar stays wide
    if measure(text) + 3 + (max(MIN_BAR, width // 5) if extras else MIN_BAR) <= width:
      return join(kept, bar=True)
    droppable = [i for i in by_priority if i in kept and fields[i][0] > 3]
    if not droppable:
      return text
    kept.remove(droppable[-1])


class FittedBar(tqdm_std.tqdm):
  """tqdm's text bar, fitted to the terminal at each refresh.

  The line shows, most important first: the epoch (``epoch 12/600``), the learning
  rate, the main metric (the first accuracy among the metrics shown, else the first
  loss), the label (the run directory's name, shortened with ``…`` when long), the
  remaining time, then the other metrics, the percentage, the step count and the speed;
  the bar takes the columns that are left (at least :data:`MIN_BAR`; none where the
  first three fields take the whole width). Fields that do not fit are dropped from the
  least important up, so the line never wraps or is cut mid-field.
  """

  def __init__(self, *args, epochs: int, label: str, **kwargs):
    self.epochs, self.label = epochs, label
    self.metrics: dict[str, Any] = {}
    super().__init__(*args, **kwargs)

  def epoch_now(self) -> int:
    """The epoch being trained (the last one when done)."""
    per_epoch = max(1, (self.total or 1) // max(1, self.epochs))
    return max(1, min(self.epochs, self.n // per_epoch + 1))

  def fields(self, width: int) -> tuple[list[tuple[int, str]], int]:
    """``(priority, bar_format piece)`` pieces in display order, and where the bar goes."""
    label = self.label
    longest = max(8, width // 4)
    if len(label) > longest:
      label = "…" + label[-(longest - 1):]
    label = label.replace("{", "{{").replace("}", "}}")
    fields = [(4, f"{label}: "), (1, f"epoch {self.epoch_now()}/{self.epochs}"),
              (8, " {percentage:3.0f}%")]
    bar_index = len(fields)
    keys = list(self.metrics)
    rate = [k for k in keys if k == "learning_rate"]
    main = ([k for k in keys if "accuracy" in k] or [k for k in keys if "loss" in k])[:1]
    others = [k for k in keys if k not in rate + main]
    for priority, key in ([(2, k) for k in rate] + [(3, k) for k in main]
                          + [(7, k) for k in others]):
      fields.append((priority, f" {short_name(key)}={short_value(key, self.metrics[key])}"))
    fields += [(5, " <{remaining}"), (9, " {n_fmt}/{total_fmt}"), (10, " {rate_fmt}")]
    return fields, bar_index

  def __str__(self) -> str:
    values = self.format_dict
    width = values["ncols"] or 80
    fields, bar_index = self.fields(width)

    def measure(bar_format: str) -> int:
      text = self.format_meter(**{**values, "bar_format": bar_format, "ncols": None})
      return tqdm_std.disp_len(text)

    bar_format = fitted_format(width, fields, bar_index, measure)
    return self.format_meter(**{**values, "bar_format": bar_format, "ncols": width})


class EpochProgress:
  """Progress of a training run: a step bar, or one line per epoch when not interactive.

  On a terminal the bar is a :class:`FittedBar`: at 80 columns it still shows the epoch,
  the learning rate and the main metric. In a notebook the metrics go in tqdm's postfix.

  Args:
    total: steps in the run.
    initial: steps already done (a resumed run).
    label: shown in front of the bar and the lines (the run directory's name).
    enabled: ``False`` shows nothing.
    epochs: the number of epochs (for ``epoch k/N``).
  """

  def __init__(self, total: int, initial: int, label: str, enabled: bool, epochs: int):
    cls = bar_class() if enabled else None
    self.lines = enabled and cls is None
    self.label, self.epochs = label, epochs
    self.bar = None
    if cls is tqdm_std.tqdm and not in_notebook():
      self.bar = FittedBar(total=total, initial=initial, unit="step", dynamic_ncols=True,
                           epochs=epochs, label=label)
    elif cls is not None:
      self.bar = cls(total=total, initial=initial, desc=label, unit="step",
                     dynamic_ncols=True)

  def update(self, steps: int = 1) -> None:
    if self.bar is not None:
      self.bar.update(steps)

  def epoch_done(self, record: Mapping[str, Any], shown: tuple[str, ...]) -> None:
    """Reports a finished epoch: on the bar, or a line with ``shown`` metrics."""
    values = {k: record[k] for k in shown if k in record}
    if isinstance(self.bar, FittedBar):
      self.bar.metrics = values
      self.bar.refresh()
    elif self.bar is not None:
      self.bar.set_postfix({k: _format(v) for k, v in values.items()})
    elif self.lines and (record["epoch"] in (1, self.epochs)
                         or record["epoch"] % max(1, self.epochs // 50) == 0):
      metrics = " ".join(f"{k}={_format(v)}" for k, v in values.items())
      print(f"{self.label}: epoch {record['epoch']}/{self.epochs} step {record.get('step')} "
            f"{metrics} ({record.get('seconds', 0.0):.1f} s)", file=sys.stderr, flush=True)

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
