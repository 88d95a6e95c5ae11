"""The Colab notebooks in colab/: committed clean, and they run top to bottom.

Each notebook is executed with nbclient in a kernel of this Python (ipykernel's
``python3`` kernelspec resolves ``python`` to ``sys.executable``), with
``LRSCHED_SMALL=1`` (tiny models, generated or local data, no download) and a
temporary working directory. Any cell error fails the test.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extras install nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extras install nbclient")
pytest.importorskip("ipykernel", reason="the dev extras install ipykernel")

COLAB = pathlib.Path(__file__).resolve().parents[1] / "colab"
NOTEBOOKS = sorted(COLAB.glob("*.ipynb"))
NAMES = ["01_schedules", "02_train_wideresnet", "03_hessian_spectrum",
         "04_weight_decay_is_exp_lr"]
CELL_TIMEOUT_S = 300


def _execute(notebook, cwd: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
  """Runs every cell in a fresh kernel (the kernel inherits the environment)."""
  monkeypatch.setenv("LRSCHED_SMALL", "1")
  client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                   resources={"metadata": {"path": str(cwd)}})
  client.execute()
  return notebook


def test_the_four_notebooks_exist():
  assert [p.stem for p in NOTEBOOKS] == NAMES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path: pathlib.Path):
  """No outputs, a title, the install cell, and a tagged parameters cell reading LRSCHED_SMALL."""
  notebook = nbformat.read(path, as_version=4)
  nbformat.validate(notebook)
  code = [cell for cell in notebook.cells if cell.cell_type == "code"]
  for cell in code:
    assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs"
  assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
  assert "except ImportError" in code[0].source and "pip install" in code[0].source
  # On Colab's TPU/GPU runtimes the install keeps their jax and jaxlib (pinned, see the cell).
  assert '("jax", "jaxlib", "libtpu")' in code[0].source and "{PINS}" in code[0].source
  assert "print(describe_devices())" in code[0].source
  parameters = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
  assert len(parameters) == 1
  assert 'SMALL = os.environ.get("LRSCHED_SMALL", "1") == "1"' in parameters[0].source


@pytest.mark.slow
def test_kernel_is_this_python(tmp_path, monkeypatch):
  notebook = nbformat.v4.new_notebook(
      cells=[nbformat.v4.new_code_cell("import os, sys\nprint(sys.prefix)\n"
                                       "print(os.environ['LRSCHED_SMALL'])")])
  _execute(notebook, tmp_path, monkeypatch)
  prefix, small = notebook.cells[0].outputs[0]["text"].split()
  assert prefix == sys.prefix  # the same environment (a venv has its own prefix)
  assert small == "1"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: pathlib.Path, tmp_path, monkeypatch):
  notebook = _execute(nbformat.read(path, as_version=4), tmp_path, monkeypatch)
  errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
            if output.get("output_type") == "error"]
  assert not errors
  # The first code cell names the devices: all of them (CI runs notebook 02 again with 8).
  import jax

  first = next(cell for cell in notebook.cells if cell.cell_type == "code")
  printed = "".join(output.get("text", "") for output in first.outputs)
  assert f"{jax.device_count()} device(s)" in printed, printed
  assert f"data mesh {{'data': {jax.device_count()}}}" in printed, printed
  # Whatever a notebook writes goes to a temporary directory, not to its working directory.
  assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_repository_url_is_defined_once_and_used_everywhere():
  """The Colab badges and install cells use pyproject's [project.urls] Repository."""
  import re
  import tomllib

  root = COLAB.parent
  url = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
  owner_name = url.removeprefix("https://github.com/")
  for path in NOTEBOOKS:
    assert f'REPOSITORY = \\"{url}\\"' in path.read_text(), path.name
  for readme in (root / "README.md", COLAB / "README.md"):
    text = readme.read_text()
    badges = re.findall(r"https://colab\.research\.google\.com/github/([^)\s]+)", text)
    assert len(badges) == len(NAMES), readme
    for badge, name in zip(badges, NAMES, strict=True):
      assert badge == f"{owner_name}/blob/main/colab/{name}.ipynb", readme
    assert "github.com/" not in re.sub(r"https://colab\.research\.google\.com/github/\S+", "",
                                       text).replace(url, ""), readme
