"""benchmarks/accelerator.py --smoke runs on CPU and prints its whole table."""

import inspect
import os
import pathlib
import re
import subprocess
import sys

import pytest

from lrsched.models import WideResNet

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cifar10_subset.npz"
NUMBER = r"\d+(\.\d+)?"


def _rows(text: str) -> dict[str, list[str]]:
  """Table rows by their first three cells, each a list of all cells."""
  rows = {}
  for line in text.splitlines():
    if line.startswith("| ") and not line.startswith("| benchmark"):
      cells = [c.strip() for c in line.strip("|").split("|")]
      rows[" / ".join(cells[:3])] = cells
  return rows


@pytest.mark.slow
def test_smoke_run_prints_every_row_and_appends_the_table(tmp_path):
  out = tmp_path / "RESULTS.md"
  done = subprocess.run([sys.executable, "benchmarks/accelerator.py", "--smoke", "--out",
                         str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  text = done.stdout
  heading = text.splitlines()[0]
  assert heading.startswith("## accelerator.py --smoke (") and "SMOKE RUN" in heading, heading
  assert "| benchmark | model | setting | lrsched (JAX) | PyTorch | lrsched speedup |" in text
  assert out.read_text() == "\n" + text  # --out appends the same block
  rows = _rows(text)
  bfloat16 = "dtype" in inspect.signature(WideResNet.__init__).parameters
  for dtype in ("float32", "bfloat16"):
    cells = rows[f"train step, images/s / WRN-10-1 / batch 8, 16x16, {dtype}"]
    if dtype == "float32" or bfloat16:
      assert re.fullmatch(NUMBER, cells[3]), cells
    # No torch in the test environment: its cells say why; with torch, numbers.
    assert cells[4] == "torch not installed" or re.fullmatch(NUMBER, cells[4]), cells
  for what in ("one-off HVP", "further HVP on the batch (eigensolver matvec)"):
    cells = rows[f"HVP time / gradient time / WRN-10-1 / batch 8, BatchNorm eval, float32, "
                 f"{what}"]
    assert re.match(rf"{NUMBER} \(HVP {NUMBER} ms, gradient {NUMBER} ms\)", cells[3]), cells
  cells = next(c for k, c in rows.items() if k.startswith("top-10 eigenvalues, wall time"))
  assert re.match(rf"{NUMBER} s: Lanczos, \d+ HVPs, \d+/10 converged", cells[3]), cells
  cells = next(c for k, c in rows.items() if k.startswith("2-second training run"))
  if DATA.is_file():
    assert re.match(rf"\d+ images/s, test accuracy {NUMBER}%", cells[3]), cells
  else:
    assert cells[3].startswith("skipped"), cells
  assert len(rows) == 6, list(rows)


@pytest.mark.slow
def test_hessian_cpu_smoke_prints_pyhessian_and_lanczos_rows_per_top_n():
  done = subprocess.run([sys.executable, "benchmarks/accelerator.py", "--hessian-cpu", "--smoke"],
                        cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr[-3000:]
  text = done.stdout
  heading = text.splitlines()[0]
  assert heading.startswith("## accelerator.py --hessian-cpu --smoke (") and "SMOKE" in heading
  rows = {}
  for line in text.splitlines():
    if line.startswith("| ") and not line.startswith("| top-n"):
      cells = [c.strip() for c in line.strip("|").split("|")]
      rows[(cells[0], cells[1])] = cells
  for k in ("1", "2"):
    cells = rows[(k, "lrsched Lanczos")]
    assert cells[2] == "Ritz residual <= 0.001", cells
    assert [re.fullmatch(NUMBER, c) is not None for c in cells[3:6]] == [True] * 3, cells
    assert re.fullmatch(r"\d\.\de[+-]\d\d", cells[6]), cells  # residual
    assert re.fullmatch(r"\d\.\de[+-]\d\d", cells[7]), cells  # error vs the reference
    # No torch in the test environment: PyHessian's row says why and nothing is matched;
    # with torch, its numbers and a speedup.
    theirs = next(c for key, c in rows.items() if key[0] == k and "PyHessian" in key[1])
    if theirs[3] == "torch not installed":
      assert cells[8] == "", cells
    else:
      assert re.fullmatch(NUMBER, theirs[3]) and re.fullmatch(rf"\*\*{NUMBER}x\*\*", cells[8])
  assert "Reference: Lanczos top-2 at tol 1e-05" in text


def test_hessian_mode_needs_a_gpu_and_refuses_smoke():
  """``--hessian`` (the eigenvalue comparison on a GPU) says so on a CPU-only machine and
  refuses ``--smoke``, whose CPU check is ``--hessian-cpu --smoke``."""
  done = subprocess.run([sys.executable, "benchmarks/accelerator.py", "--hessian", "--smoke"],
                        cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert done.returncode == 2 and "--hessian-cpu --smoke" in done.stderr, done.stderr
  done = subprocess.run([sys.executable, "benchmarks/accelerator.py", "--hessian", "--ks", "1"],
                        cwd=ROOT, capture_output=True, text=True, timeout=300,
                        env={**os.environ, "JAX_PLATFORMS": "cpu",
                             "CUDA_VISIBLE_DEVICES": ""})
  assert done.returncode == 2, done.stderr[-2000:]
  assert "JAX sees no GPU or TPU" in done.stderr, done.stderr[-2000:]
