"""Every Python block of README.md runs as written, top to bottom, in one namespace.

Blocks build on each other (the Hessian example analyses the training example's model);
``LRSCHED_SMALL=1`` makes the training example a one-epoch PS10 run.
"""

import os
import pathlib
import re

import matplotlib
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
  return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


@pytest.mark.slow
def test_every_python_block_runs(tmp_path, monkeypatch):
  matplotlib.use("Agg")
  monkeypatch.chdir(tmp_path)
  monkeypatch.setenv("LRSCHED_SMALL", "1")
  blocks = _blocks("python")
  assert len(blocks) >= 5
  namespace: dict = {}
  for number, block in enumerate(blocks, 1):
    try:
      exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    except Exception as error:
      raise AssertionError(f"README python block {number} failed:\n{block}") from error
  assert (tmp_path / "runs/wrn28/metrics.jsonl").is_file()
  assert (tmp_path / "fig5.png").is_file() and (tmp_path / "range.png").is_file()
  assert os.environ["LRSCHED_SMALL"] == "1"


def test_run_directories_used_by_commands_are_created_by_commands():
  """A command that reads runs/X follows one (in the README) that writes runs/X."""
  shell = "\n".join(_blocks("bash"))
  written = set(re.findall(r"--workdir (runs/[\w./-]+)", shell))
  for read in re.findall(r"lrsched hessian (runs/[\w./-]+)", shell):
    assert read in written, read
