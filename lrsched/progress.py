"""Progress for long loops: a bar on a terminal or in a notebook, plain lines elsewhere.

* A terminal gets tqdm's text bar (labelled, e.g. with the run name).
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


class EpochProgress:
  """Progress of a training run: a step bar, or one line per epoch when not interactive.

  Args:
    total: steps in the run.
    initial: steps already done (a resumed run).
    label: shown in front of the bar and the lines (e.g. the run name).
    enabled: ``False`` shows nothing.
    epochs: the number of epochs (for the lines' ``epoch k/N``).
  """

  def __init__(self, total: int, initial: int, label: str, enabled: bool, epochs: int):
    cls = bar_class() if enabled else None
    self.lines = enabled and cls is None
    self.label, self.epochs = label, epochs
    self.bar = None if cls is None else cls(total=total, initial=initial, desc=label,
                                            unit="step", dynamic_ncols=True)

  def update(self, steps: int = 1) -> None:
    if self.bar is not None:
      self.bar.update(steps)

  def epoch_done(self, record: Mapping[str, Any], shown: tuple[str, ...]) -> None:
    """Reports a finished epoch: the bar's postfix, or a line with ``shown`` metrics."""
    values = {k: record[k] for k in shown if k in record}
    if self.bar is not None:
      self.bar.set_postfix({k: _format(v) for k, v in values.items()})
    elif self.lines and (record["epoch"] in (1, self.epochs)
                         or record["epoch"] % max(1, self.epochs // 50) == 0):
      metrics = " ".join(f"{k}={_format(v)}" for k, v in values.items())
      print(f"{self.label}: epoch {record['epoch']}/{self.epochs} step {record.get('step')} "
            f"{metrics} ({record.get('seconds', 0.0):.1f} s)", file=sys.stderr, flush=True)

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
