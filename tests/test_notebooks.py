"""The Colab notebooks in colab/: committed clean, and they run top to bottom, every option.

Each notebook is executed with nbclient in a kernel of this Python (ipykernel's
``python3`` kernelspec resolves ``python`` to ``sys.executable``), with
``LRSCHED_SMALL=1`` (tiny models, generated or local data, no download) and a
temporary working directory. Any cell error fails the test.

Every option a parameters cell documents (``SCHEDULE = "step_decay"  # "step_decay",
"cosine", ...``) runs in a test (:data:`OPTIONS` says where; a test fails when a notebook
documents an option that is not there). To keep CI short, one option per notebook runs the
whole notebook; the others run the cells that the option changes, in the same kernel:

* 02's ``SCHEDULE``: each schedule's config, data and schedule plot cells, then one optimizer
  update with it (training takes the same path: ``make_optimizer``); the full-size config cell
  (``SMALL = False``) too, for every schedule and both ``FULL_MODEL`` sizes (the config only:
  it would download CIFAR-10). ``WORKDIR``: the full run writes to a directory, and running its
  train cell again resumes from there.
* 03's ``MODE = "train"``: every cell after training again (the Hessian cells), in train mode.
* 04's ``DTYPE = "float32"``: a second full run (the dtype is set before any array exists).

``SMALL = False`` itself is the full-scale run on a Colab accelerator: it downloads CIFAR-10 and
trains for hours, so no test runs it beyond 02's config cell.
"""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import sys
import tomllib
import urllib.error
import urllib.request

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extras install nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extras install nbclient")
pytest.importorskip("ipykernel", reason="the dev extras install ipykernel")

ROOT = pathlib.Path(__file__).resolve().parents[1]
COLAB = ROOT / "colab"
NOTEBOOKS = sorted(COLAB.glob("*.ipynb"))
NAMES = ["01_schedules", "02_train_wideresnet", "03_hessian_spectrum",
         "04_weight_decay_is_exp_lr"]
CELL_TIMEOUT_S = 300
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Where each documented option of a parameters cell runs (the default runs in test_notebook_runs).
OPTIONS = {
    "02_train_wideresnet": {
        "SCHEDULE": ("test_notebook_02_builds_every_schedule",
                     ["step_decay", "cosine", "one_cycle", "sgdr", "rex", "wsd"]),
        "FULL_MODEL": ("test_notebook_02_builds_every_schedule", [(28, 10), (16, 8)]),
        "WORKDIR": ("test_notebook_runs", [None, "a path"]),
    },
    "03_hessian_spectrum": {"MODE": ("test_notebook_runs", ["eval", "train"])},
    "04_weight_decay_is_exp_lr": {
        "DTYPE": ("test_notebook_04_in_float32", ["float64", "float32"])},
}


def _read(name: str):
  return nbformat.read(COLAB / f"{name}.ipynb", as_version=4)


def _code_cells(notebook) -> list:
  return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _parameters_cell(notebook):
  (cell,) = [c for c in _code_cells(notebook) if "parameters" in c.metadata.get("tags", [])]
  return cell


def _cell_with(notebook, text: str) -> int:
  """The index of the one code cell whose source contains ``text``."""
  found = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and text in c.source]
  assert len(found) == 1, (text, found)
  return found[0]


def documented_options(source: str) -> dict[str, list]:
  """``NAME = default  # comment``: the default and every literal the comment names.

  Quoted strings and tuples of integers count (``"cosine"``, ``(16, 8)``); an assignment
  whose default is ``None`` documents ``None`` and "a path" when its comment says "path".
  """
  options = {}
  for line in source.splitlines():
    match = re.fullmatch(r"([A-Z_]+) = (.+?)  # (.*)", line)
    if not match:
      continue
    name, default, comment = match.groups()
    try:
      value = ast.literal_eval(default)
    except (ValueError, SyntaxError):
      continue  # an expression (SMALL reads the environment)
    found = [value]
    found += [s for s in re.findall(r'"([^"]*)"', comment) if s not in found]
    found += [t for t in (tuple(int(n) for n in m.split(","))
                          for m in re.findall(r"\((\d+, \d+)\)", comment)) if t not in found]
    if value is None and "path" in comment:
      found.append("a path")
    if len(found) > 1:
      options[name] = found
  return options


class Kernel:
  """A kernel running a notebook's cells (or new ones) one by one, outputs kept."""

  def __init__(self, notebook, cwd: pathlib.Path):
    self.notebook = notebook
    self.client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S,
                                          kernel_name="python3",
                                          resources={"metadata": {"path": str(cwd)}})

  def __enter__(self):
    self._context = self.client.setup_kernel()
    self._context.__enter__()
    return self

  def __exit__(self, *exc):
    return self._context.__exit__(*exc)

  def run(self, cell_or_source) -> str:
    """Runs a cell of the notebook (its index) or new source; returns what it printed."""
    if isinstance(cell_or_source, int):
      cell, index = self.notebook.cells[cell_or_source], cell_or_source
    else:  # appended: nbclient stores each executed cell in the notebook
      cell, index = nbformat.v4.new_code_cell(cell_or_source), len(self.notebook.cells)
      self.notebook.cells.append(cell)
    self.client.execute_cell(cell, index)
    return "".join(output.get("text", "") for output in cell.outputs)


def _execute(notebook, cwd: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
  """Runs every cell in a fresh kernel (the kernel inherits the environment)."""
  monkeypatch.setenv("LRSCHED_SMALL", "1")
  client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                   resources={"metadata": {"path": str(cwd)}})
  client.execute()
  return notebook


def _with_parameters(notebook, **values):
  """The notebook with ``NAME = value`` lines run right after its parameters cell."""
  cell = _parameters_cell(notebook)
  index = notebook.cells.index(cell)
  source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
  notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
  return notebook


def _errors(notebook) -> list:
  return [output for cell in notebook.cells for output in cell.get("outputs", [])
          if output.get("output_type") == "error"]


def test_the_four_notebooks_exist():
  assert [p.stem for p in NOTEBOOKS] == NAMES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path: pathlib.Path):
  """No outputs, a title, the install cell, and a tagged parameters cell reading LRSCHED_SMALL."""
  notebook = nbformat.read(path, as_version=4)
  nbformat.validate(notebook)
  code = _code_cells(notebook)
  for cell in code:
    assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs"
  assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
  assert "except ImportError" in code[0].source and "%pip install" in code[0].source
  # On Colab's TPU/GPU runtimes the install keeps their jax and jaxlib (pinned, see the cell).
  assert '("jax", "jaxlib", "libtpu")' in code[0].source and "{PINS}" in code[0].source
  assert "print(describe_devices())" in code[0].source
  parameters = _parameters_cell(notebook)
  assert 'SMALL = os.environ.get("LRSCHED_SMALL", "1") == "1"' in parameters.source


def test_every_documented_option_has_a_test():
  """A parameters cell's options are the ones OPTIONS runs (adding one needs a test)."""
  for name in NAMES:
    documented = documented_options(_parameters_cell(_read(name)).source)
    assert documented == {k: v for k, (_, v) in OPTIONS.get(name, {}).items()}, name
  assert documented_options(_parameters_cell(_read("02_train_wideresnet")).source)[
      "SCHEDULE"] == ["step_decay", "cosine", "one_cycle", "sgdr", "rex", "wsd"]


# -- the install cell ------------------------------------------------------------------------

def _install_source() -> str:
  return _code_cells(_read(NAMES[0]))[0].source


def test_the_install_cell_is_the_same_in_every_notebook():
  sources = {name: _code_cells(_read(name))[0].source for name in NAMES}
  assert len(set(sources.values())) == 1, "edit the four install cells together"
  setups = {name: _read(name).cells[1].source for name in NAMES}
  assert len(set(setups.values())) == 1, "edit the four Setup cells together"


def test_the_install_cell_states_the_floors_of_pyproject():
  """``JAX_FLOOR`` and the versions the Setup cell and colab/README.md name are pyproject's."""
  floors = dict(match.groups() for dep in PYPROJECT["project"]["dependencies"]
                if (match := re.match(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)", dep)))
  assert f'JAX_FLOOR = "{floors["jax"]}"' in _install_source()
  setup = _read(NAMES[0]).cells[1].source
  readme = (COLAB / "README.md").read_text()
  for text in (" ".join(setup.split()), " ".join(readme.split())):  # lines wrap anywhere
    for package in ("jax", "flax", "optax", "orbax-checkpoint"):
      assert f"{package} {floors[package]}" in text, (package, text[:80])


def _run_install_cell(monkeypatch, *, versions: dict[str, str], reachable: bool = True,
                      source: str | None = None) -> tuple[list[str], Exception | None]:
  """Runs the install cell's code as IPython would on a runtime without lrsched.

  ``versions``: what ``importlib.metadata`` reports installed; ``%pip`` is recorded, not
  run; ``urlopen`` succeeds or fails as ``reachable`` says. Returns the pip lines and the
  error raised, if any.
  """
  from IPython.core.inputtransformer2 import TransformerManager

  code = TransformerManager().transform_cell(_install_source())
  code = code.split("from lrsched.train.steps import")[0]  # the devices: tested by the runs
  if source is not None:
    assert "SOURCE = None" in code
    code = code.replace("SOURCE = None", f"SOURCE = {source!r}")
  calls = []

  class Shell:
    def run_line_magic(self, magic, line):
      calls.append(f"%{magic} {line.format(**namespace)}")

  def version(package):
    if package not in versions:
      raise importlib.metadata.PackageNotFoundError(package)
    return versions[package]

  def urlopen(url, timeout=None):
    if not reachable:
      raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
    return type("Response", (), {"close": lambda self: None})()

  namespace = {"get_ipython": Shell}
  monkeypatch.setitem(sys.modules, "lrsched", None)  # "not installed": import fails
  monkeypatch.setattr(importlib.metadata, "version", version)
  monkeypatch.setattr(urllib.request, "urlopen", urlopen)
  try:
    exec(compile(code, "<install cell>", "exec"), namespace)
  except RuntimeError as error:
    return calls, error
  return calls, None


def test_install_cell_keeps_the_runtime_jax(monkeypatch):
  url = PYPROJECT["project"]["urls"]["Repository"]
  calls, error = _run_install_cell(
      monkeypatch, versions={"jax": "0.7.2", "jaxlib": "0.7.2", "libtpu": "0.0.21"})
  assert error is None
  assert calls == [f"%pip install -q git+{url} jax==0.7.2 jaxlib==0.7.2 libtpu==0.0.21"]
  calls, error = _run_install_cell(monkeypatch, versions={})  # no jax: pip installs one
  assert error is None and calls == [f"%pip install -q git+{url} "]


def test_install_cell_stops_on_a_jax_older_than_the_floor(monkeypatch):
  calls, error = _run_install_cell(monkeypatch, versions={"jax": "0.4.33", "jaxlib": "0.4.33"})
  assert calls == []
  floor = _install_source().split('JAX_FLOOR = "')[1].split('"')[0]
  assert f"This runtime has jax 0.4.33; lrsched needs jax>={floor}" in str(error)
  assert "Change runtime type" in str(error)
  calls, error = _run_install_cell(monkeypatch, versions={"jax": "0.10.0.dev20260101"})
  assert error is None and len(calls) == 1  # a dev build above the floor is fine


def test_install_cell_says_the_repository_is_not_public_and_takes_a_local_path(monkeypatch):
  calls, error = _run_install_cell(monkeypatch, versions={"jax": "0.8.0"}, reachable=False)
  assert calls == [] and "the repository is not public yet" in str(error)
  assert "SOURCE" in str(error)
  calls, error = _run_install_cell(monkeypatch, versions={"jax": "0.8.0"}, reachable=False,
                                   source="/content/lrsched")
  assert error is None and calls == ["%pip install -q /content/lrsched jax==0.8.0"]


def test_colab_readme_says_the_repository_is_not_public_yet():
  readme = (COLAB / "README.md").read_text()
  assert "not public yet" in readme and "SOURCE" in readme and "pip install" in readme
  assert "not public yet" in _read(NAMES[0]).cells[1].source


# -- running them ----------------------------------------------------------------------------

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
def test_notebook_runs(path: pathlib.Path, tmp_path, tmp_path_factory, monkeypatch):
  """The whole notebook; then the options that change only later cells, in the same kernel."""
  monkeypatch.setenv("LRSCHED_SMALL", "1")
  notebook = nbformat.read(path, as_version=4)
  workdir = None
  if path.stem == "02_train_wideresnet":  # WORKDIR = a path: the run is kept there
    workdir = tmp_path_factory.mktemp("notebook_workdir") / "run"
    notebook = _with_parameters(notebook, WORKDIR=str(workdir))
  with Kernel(notebook, tmp_path) as kernel:
    for index, cell in enumerate(notebook.cells):
      if cell.cell_type == "code":
        kernel.run(index)
    if path.stem == "02_train_wideresnet":  # running the train cell again resumes, trains nothing
      assert (workdir / "metrics.jsonl").is_file()
      printed = kernel.run(_cell_with(notebook, "train(config, workdir, resume=True)"))
      assert f"{workdir}: epoch 4," in printed, printed
      assert kernel.run("print(len(result.history), result.history[-1]['epoch'])") == "4 4\n"
    if path.stem == "03_hessian_spectrum":  # MODE = "train": the Hessian cells again
      eos = _cell_with(notebook, "eos_config = Config(")
      printed = "".join(o.get("text", "") for o in notebook.cells[eos].outputs)
      late = float(re.search(r"([0-9.]+) on average over steps", printed).group(1))
      assert 0.9 < late < 1.1, printed  # at the edge of stability, lr * lambda_1 / 2 ~ 1
      first, end = _cell_with(notebook, "model_loss(result.model, MODE"), eos - 1
      kernel.run('MODE = "train"')
      for index in range(first, end):
        if notebook.cells[index].cell_type == "code":
          kernel.run(index)
      assert "BatchNorm train mode" in "".join(
          o.get("text", "") for o in notebook.cells[first].outputs)
  assert not _errors(notebook)
  # The first code cell names the devices: all of them (CI runs notebook 02 again with 8).
  import jax

  first = next(cell for cell in notebook.cells if cell.cell_type == "code")
  printed = "".join(output.get("text", "") for output in first.outputs)
  assert f"{jax.device_count()} device(s)" in printed, printed
  assert f"data mesh {{'data': {jax.device_count()}}}" in printed, printed
  # Whatever a notebook writes goes to a temporary directory, not to its working directory.
  assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_notebook_02_builds_every_schedule(tmp_path, monkeypatch):
  """Each SCHEDULE: its config, its data and schedule plot and an optimizer update, in small
  mode; and the full-size config (``SMALL = False``, both FULL_MODEL sizes: Config builds and
  checks the 200-epoch schedules; the data would be downloaded, so no further)."""
  monkeypatch.setenv("LRSCHED_SMALL", "1")
  notebook = _read("02_train_wideresnet")
  schedules = OPTIONS["02_train_wideresnet"]["SCHEDULE"][1]
  config_cell = _cell_with(notebook, "SCHEDULES = {")
  plot_cell = _cell_with(notebook, "plot_schedules({SCHEDULE: config.learning_rate}")
  with Kernel(notebook, tmp_path) as kernel:
    for index in range(config_cell):  # install, parameters and imports
      if notebook.cells[index].cell_type == "code":
        kernel.run(index)
    for schedule in schedules:
      kernel.run(f"SCHEDULE = {schedule!r}")
      kernel.run(config_cell)
      assert kernel.run("print(sorted(SCHEDULES))") == f"{sorted(schedules)}\n"
      kernel.run(plot_cell)
      assert any("image/png" in o.get("data", {}) for o in notebook.cells[plot_cell].outputs)
      printed = kernel.run(
          "import jax.numpy as jnp\n"
          "from lrsched.train.optimizer import make_optimizer\n"
          "tx = make_optimizer(config, steps_per_epoch)\n"
          "params = {'w': jnp.ones(3)}\n"
          "updates, _ = tx.update({'w': jnp.ones(3)}, tx.init(params), params)\n"
          "rates = lrsched.from_spec(config.learning_rate, steps_per_epoch)(\n"
          "    jnp.arange(epochs * steps_per_epoch))\n"
          "print(bool(jnp.isfinite(updates['w']).all()), float(rates.min()) >= 0,\n"
          "      float(rates.max()))")
      finite, nonnegative, peak = printed.split()
      assert finite == nonnegative == "True" and 0.05 <= float(peak) <= 0.2, (schedule, printed)
    for full_model in OPTIONS["02_train_wideresnet"]["FULL_MODEL"][1]:
      for schedule in schedules:
        kernel.run(f"SMALL = False\nFULL_MODEL = {full_model!r}\nSCHEDULE = {schedule!r}")
        printed = kernel.run(config_cell)
        assert f"WRN-{full_model[0]}-{full_model[1]}, 200 epochs" in printed, printed
  assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_notebook_04_in_float32(tmp_path, monkeypatch):
  """DTYPE = "float32": the three runs in float32 (they drift apart; the notebook says so)."""
  notebook = _with_parameters(_read("04_weight_decay_is_exp_lr"), DTYPE="float32")
  notebook = _execute(notebook, tmp_path, monkeypatch)
  assert not _errors(notebook)
  printed = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
  assert "largest training-loss difference" in printed
  assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_repository_url_is_defined_once_and_used_everywhere():
  """The Colab badges and install cells use pyproject's [project.urls] Repository."""
  url = PYPROJECT["project"]["urls"]["Repository"]
  owner_name = url.removeprefix("https://github.com/")
  for path in NOTEBOOKS:
    assert f'REPOSITORY = \\"{url}\\"' in path.read_text(), path.name
  for readme in (ROOT / "README.md", COLAB / "README.md"):
    text = readme.read_text()
    badges = re.findall(r"https://colab\.research\.google\.com/github/([^)\s]+)", text)
    assert len(badges) == len(NAMES), readme
    for badge, name in zip(badges, NAMES, strict=True):
      assert badge == f"{owner_name}/blob/main/colab/{name}.ipynb", readme
    assert "github.com/" not in re.sub(r"https://colab\.research\.google\.com/github/\S+", "",
                                       text).replace(url, ""), readme
