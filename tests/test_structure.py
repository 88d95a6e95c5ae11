"""Module structure: no import circles in lrsched.train, lrsched.hessian independent of
training, and train() short enough to read."""

import ast
import inspect
import pathlib

import lrsched.train.loop

ROOT = pathlib.Path(__file__).resolve().parents[1] / "lrsched"


def _imports(path: pathlib.Path) -> set[str]:
  """Every lrsched module a file imports, at the top or inside functions."""
  out = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lrsched"):
      out.add(node.module)
      out.update(f"{node.module}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Import):
      out.update(a.name for a in node.names if a.name.startswith("lrsched"))
  return out


def test_lrsched_train_has_no_import_cycle():
  modules = {f"lrsched.train.{p.stem}": p for p in (ROOT / "train").glob("*.py")
             if p.stem != "__init__"}
  graph = {name: {m for m in _imports(path) if m in modules and m != name}
           for name, path in modules.items()}
  state: dict[str, int] = {}

  def visit(name, trail):
    if state.get(name) == 1:
      raise AssertionError(f"import cycle: {' -> '.join([*trail, name])}")
    if state.get(name) == 2:
      return
    state[name] = 1
    for dep in graph[name]:
      visit(dep, [*trail, name])
    state[name] = 2

  for name in graph:
    visit(name, [])


def test_lrsched_hessian_imports_nothing_from_training():
  for path in (ROOT / "hessian").glob("*.py"):
    assert not any(m.startswith("lrsched.train") for m in _imports(path)), path


def test_the_epoch_driver_reads_in_well_under_100_lines():
  for function in (lrsched.train.loop.train, lrsched.train.loop._run_epochs,
                   lrsched.train.loop._train_epoch):
    assert len(inspect.getsource(function).splitlines()) < 70, function.__name__
