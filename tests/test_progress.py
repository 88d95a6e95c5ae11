"""Progress on a terminal: the epoch, the learning rate and the main metric fit at 80 columns.

The terminal test runs a tiny real training (``lrsched train`` on a PS10 MLP) with its
output on a pseudo-terminal of 80 and of 120 columns, and reads what tqdm drew.
"""

import fcntl
import io
import os
import re
import struct
import subprocess
import sys
import termios

import pytest
from tqdm.std import disp_len

from lrsched import progress

METRICS = {"train_loss": 0.123456, "test_loss": 2.3456, "test_accuracy": 0.8663,
           "learning_rate": 0.001}


def _bar(width, label="ps10_step_decay", epochs=600, steps=72_000, done=6_600):
  bar = progress.FittedBar(total=steps, initial=done, file=io.StringIO(), ncols=width,
                           epochs=epochs, label=label, unit="step", mininterval=0)
  bar.metrics = dict(METRICS)
  return bar


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_the_line_fits_and_keeps_epoch_rate_and_metric(width):
  line = str(_bar(width))
  assert disp_len(line) <= width, line
  # 6600 steps of 120 per epoch; below 80 columns the label gives way to the bar.
  assert line.startswith("ps10_step_decay: epoch 56/600 " if width >= 80 else "epoch 56/600 ")
  assert " lr=0.001 " in line and " test_acc=86.6%" in line
  bar = re.search(r"\|(.*)\|", line)
  assert bar and len(bar.group(1)) >= progress.MIN_BAR  # the bar takes what is left
  if width >= 120:  # room for the rest as well
    assert "train_loss=0.123" in line and "test_loss=2.35" in line and "<" in line


def test_the_bar_takes_the_columns_that_are_left():
  widths = {w: len(re.search(r"\|(.*)\|", str(_bar(w))).group(1)) for w in (80, 81, 200)}
  assert widths[81] == widths[80] + 1 and widths[200] > 60


def test_fields_drop_from_the_least_important_and_long_labels_shorten():
  assert str(_bar(40)) == "epoch 56/600 lr=0.001 test_acc=86.6%"  # no room for a bar
  line = str(_bar(80, label="a_very_long_run_directory_name_for_a_sweep"))
  assert line.startswith("…ry_name_for_a_sweep: epoch 56/600") and disp_len(line) <= 80


def test_short_formats():
  assert progress.short_value("test_accuracy", 1.0) == "100.0%"
  assert progress.short_value("learning_rate", 2.5e-07) == "2.5e-7"
  assert progress.short_value("train_loss", 12345.678) == "1.23e4"
  assert progress.short_name("train_eval_accuracy") == "train_eval_acc"


CONFIG = """
from lrsched.train import Config


def get_config():
  return Config(data={"name": "ps10", "num_train": 512, "num_test": 64, "image_size": 1},
                model={"name": "mlp", "width": 32, "depth": 1}, batch_size=32, epochs=4,
                learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [2],
                               "factor": 0.01, "unit": "epochs"},
                augment=False, checkpoint_every=0, progress=True)
"""


CHILD = """
import fcntl, os, struct, sys, termios
from lrsched import cli

config, parent = sys.argv[1:]
for columns in (80, 120):  # the same process: the second run reuses the compiled steps
  fcntl.ioctl(2, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
  os.environ["COLUMNS"] = str(columns)
  print(f"=== {columns} columns", flush=True)
  workdir = os.path.join(parent, str(columns), "ps10_step_decay")
  assert cli.main(["train", "--config", config, "--workdir", workdir]) == 0
"""


def _on_a_terminal(argv, columns, rows=24):
  """Runs ``argv`` with stdout and stderr on a pseudo-terminal of ``columns``; its output."""
  master, slave = os.openpty()
  fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
  env = dict(os.environ, COLUMNS=str(columns), LINES=str(rows), JAX_PLATFORMS="cpu")
  process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             env=env)
  os.close(slave)
  chunks = []
  while True:
    try:
      chunk = os.read(master, 1 << 16)
    except OSError:  # EIO: the other end closed
      break
    if not chunk:
      break
    chunks.append(chunk)
  os.close(master)
  assert process.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")
  return b"".join(chunks).decode()


@pytest.fixture(scope="module")
def terminal_output(tmp_path_factory) -> dict[int, str]:
  """``{columns: what lrsched train drew}`` for 80 and 120 columns (one process)."""
  tmp = tmp_path_factory.mktemp("terminal")
  config = tmp / "ps10_tiny.py"
  config.write_text(CONFIG)
  text = _on_a_terminal([sys.executable, "-c", CHILD, str(config), str(tmp)], 80)
  text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # cursor moves, if any
  parts = re.split(r"=== (\d+) columns", text)
  return {int(columns): part for columns, part in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.mark.slow  # two tiny trainings in a subprocess (~30 s on 2 shared cores)
@pytest.mark.parametrize("columns", [80, 120])
def test_lrsched_train_on_a_terminal(terminal_output, columns):
  text = terminal_output[columns]
  segments = [s for s in re.split(r"[\r\n]", text) if s.strip()]
  bars = [s for s in segments if " epoch " in s and ": finished" not in s]
  assert len(bars) >= 4, text
  for line in bars:
    assert disp_len(line) <= columns, (columns, line)
    assert line.startswith("ps10_step_decay: epoch "), line
    assert re.search(r"epoch [1-4]/4", line), line
  shown = [s for s in bars if "lr=" in s]
  assert shown, text
  for line in shown:  # once there is a record: the rate and the main metric, always
    assert re.search(r" lr=[0-9.e-]+ test_acc=[0-9.]+%", line), line
  last = bars[-1]
  assert "epoch 4/4" in last and " lr=0.001 " in last, last
  assert re.search(r"\|[█▏▎▍▌▋▊▉ ]{10,}\|", last), last  # the bar, at least 10 columns
  if columns == 120:
    assert "train_loss=" in last and "100%" in last, last
  finished = [s for s in segments if ": finished" in s]
  assert finished and finished[-1].startswith("ps10_step_decay: finished epoch 4/4 in ")
