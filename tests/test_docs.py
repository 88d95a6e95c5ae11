"""Every documented command runs as written; every public name is in the API reference.

The documents: ``README.md``, ``experiments/README.md``, ``colab/README.md`` and every page of
the Sphinx site (``docs/**/*.md``). Their fenced blocks are run by language:

* ``bash``: every command, in document order, in one scratch directory shared by all the
  documents (a later command may read a run an earlier one wrote: ``lrsched hessian runs/a``
  after ``lrsched train ... --workdir runs/a``), with ``LRSCHED_SMALL=1`` so that training
  commands run tiny (:mod:`lrsched.train.small_mode`). The directory links the repository's
  ``experiments``, ``benchmarks``, ``colab``, ``docs`` and ``.venv`` so paths read as in the
  docs. Commands are split at ``&&``; the parts that are not re-run are recognized exactly by
  :func:`_not_rerun` (installs, the whole test suite, the docs build, which ``.ci/run`` runs)
  and the parts replaced by ``--help`` by :func:`_help_only` (the experiments' full runs,
  hours; the accelerator benchmark, which needs a GPU and writes ``benchmarks/RESULTS.md``),
  each with its reason. Where the docs show the expected output (a bare fenced block after
  the command), its shape is checked (:data:`EXPECTED`).
* ``python``: each block on its own in a fresh interpreter (the blocks of a page in one
  scratch directory), so each must hold its imports and definitions; ``pycon``: a doctest,
  run the same way. A block may write only under
  ``runs/``; a last line ending in ``# prints: TEXT`` must print TEXT last.
* ``json``: a schedule spec must build with :func:`lrsched.from_spec`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Shell blocks run in this order (a document's commands may read what earlier ones wrote).
ORDER = ["README.md", "docs/getting_started.md", "docs/guides/schedules.md",
         "docs/guides/training.md", "docs/guides/hessian.md", "docs/guides/edge_of_stability.md",
         "docs/guides/adaptive.md",
         "docs/guides/weight_decay_exp_lr.md", "docs/gallery.md", "docs/coming_from.md",
         "docs/performance.md", "docs/development.md", "docs/guides/experiments.md",
         "docs/guides/results.md", "docs/notebooks/index.md", "docs/index.md",
         "docs/api/index.md", "experiments/README.md", "colab/README.md"]
LINKED = ["experiments", "benchmarks", "colab", "docs", "tools"]
SUBSET = ROOT.parent / "shared/data/cifar10_subset.npz"  # the real CIFAR-10 subset
PACKAGES = ["lrsched", "lrsched.schedules", "lrsched.adaptive", "lrsched.train",
            "lrsched.hessian", "lrsched.data", "lrsched.models", "lrsched.plotting",
            "lrsched.scale_invariance", "lrsched.range_test", "lrsched.losses", "lrsched.names",
            "lrsched.train.verdicts", "lrsched.loss_law", "lrsched.averaging",
            "lrsched.param_groups", "lrsched.paths", "lrsched.train.cooldown"]
# The expected outputs the docs show (a bare fenced block after a command) and the shape that
# checks them in a small run, where the numbers (and so the ranking) differ.
_RUN = r"[\w.-]+"
_PCT = r"\d+\.\d%"
EXPECTED = {
    "ps10_step_decay reached the highest complex-pattern test accuracy: 88.2% vs 78.6% for "
    "ps10_constant (+9.6 points). Clean labels: the gap is the schedules' own, not a "
    "label-noise effect.":
        rf"^(?:{_RUN} reached the highest complex-pattern test accuracy: {_PCT} vs {_PCT} for "
        rf"{_RUN} \(\+\d+\.\d points\)\.|{_RUN} and {_RUN} tie on complex-pattern test "
        rf"accuracy \({_PCT}\)\.)( .*)?$",
}


@dataclasses.dataclass
class Block:
  path: str
  line: int
  language: str
  text: str
  output: str | None = None  # a bare fenced block right after this one


def _blocks(path: str) -> list[Block]:
  lines = (ROOT / path).read_text().splitlines()
  blocks: list[Block] = []
  i = 0
  while i < len(lines):
    fence = re.match(r"^(```+)(\S*)", lines[i])
    if not fence:
      i += 1
      continue
    end = next(j for j in range(i + 1, len(lines)) if lines[j] == fence.group(1))
    language, text = fence.group(2), "\n".join(lines[i + 1:end]) + "\n"
    if language == "" and blocks and blocks[-1].output is None and not lines[i - 1].strip():
      blocks[-1].output = text.strip()
    elif language == "":
      raise AssertionError(f"{path}:{i + 1}: a bare fenced block must follow a command block")
    else:
      blocks.append(Block(path, i + 1, language, text))
    i = end + 1
  return blocks


def _documents() -> list[str]:
  pages = sorted(str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md")
                 if "_build" not in p.parts)
  return ORDER + [p for p in pages if p not in ORDER]


def test_every_document_is_in_the_order_and_every_block_has_a_known_language():
  pages = {str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md") if "_build" not in p.parts}
  assert pages <= set(ORDER), f"add {sorted(pages - set(ORDER))} to ORDER"
  for path in ORDER:
    assert (ROOT / path).is_file(), path
    for block in _blocks(path):
      assert block.language in ("bash", "python", "pycon", "json", "{toctree}", "{include}"), (
          f"{path}:{block.line}: a {block.language!r} block is not tested; use bash, python, "
          "pycon or json")
      if block.output is not None:
        assert block.output in EXPECTED, f"{path}:{block.line}: add its shape to EXPECTED"


def _commands(block: Block) -> list[list[str]]:
  """The block's commands, each as its ``&&``-separated parts (continuations joined, comments
  dropped, each part quoted again for bash)."""
  joined = block.text.replace("\\\n", " ")
  commands = []
  for line in joined.splitlines():
    words = shlex.split(line, comments=True)
    parts, part = [], []
    for word in [*words, "&&"]:
      if word == "&&":
        parts.append(shlex.join(part)) if part else None
        part = []
      else:
        part.append(word)
    if parts:
      commands.append(parts)
  return commands


def _not_rerun(part: str) -> str | None:
  """Why a part of a documented command is not re-run inside the tests, or None."""
  words = shlex.split(part)
  if words[:3] == ["python3", "-m", "venv"]:
    return "creates a virtual environment (install)"
  if "pip" in words[0] and words[1:2] == ["install"]:
    return "installs packages"
  if words[1:4] == ["-m", "pytest", "-q"] and len(words) == 4:
    return "the whole test suite (the test command itself)"
  if words[0].endswith("sphinx-build"):
    return "the docs build, run verbatim by .ci/run after the tests"
  if any("eos_fc_tanh" in w or "cifar16" in w for w in words) and not SUBSET.is_file():
    return "needs ../shared/data/cifar10_subset.npz, absent on this machine"
  return None


def _help_only(part: str) -> str | None:
  """Why a part is checked by ``--help`` only (its script parses and imports), or None."""
  words = shlex.split(part)
  if words[:3] == ["python", "experiments/report.py", "--check"]:
    return None  # reads RESULTS.md and results/*.json only: run as written
  if words[0] == "python" and words[1:2] and words[1].startswith("experiments/"):
    return ("an experiment's full run takes minutes to hours and writes experiments/results; "
            "tests/test_experiments.py builds every config and runs the scripts small")
  if words[0] == "python" and words[1:2] == ["benchmarks/accelerator.py"]:
    return ("the accelerator benchmark needs a GPU/TPU and writes benchmarks/RESULTS.md; "
            "tests/test_accelerator_benchmark.py runs --smoke")
  return None


def _environment() -> dict[str, str]:
  env = dict(os.environ, LRSCHED_SMALL="1", MPLBACKEND="Agg", COLUMNS="100")
  env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
  env.pop("XLA_FLAGS", None)
  return env


@pytest.mark.slow
def test_every_shell_command_runs_as_written(tmp_path):
  for name in LINKED:
    (tmp_path / name).symlink_to(ROOT / name)
  (tmp_path / ".venv").symlink_to(pathlib.Path(sys.prefix))
  ran, skipped = [], []
  for path in _documents():
    for block in (b for b in _blocks(path) if b.language == "bash"):
      for parts in _commands(block):
        command = " && ".join(parts)
        run = [p for p in parts if not _not_rerun(p)]
        skipped += [(p, _not_rerun(p)) for p in parts if _not_rerun(p)]
        run = [f"{p} --help" if _help_only(p) else p for p in run]
        if not run:
          continue
        where = f"{path}:{block.line}: {command}"
        done = subprocess.run(" && ".join(run), shell=True, cwd=tmp_path, env=_environment(),
                              capture_output=True, text=True, timeout=900,
                              executable="/bin/bash")
        assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr[-3000:]}"
        ran.append(where)
        if block.output is not None and parts == _commands(block)[-1]:
          printed = done.stdout.splitlines()
          assert any(re.match(EXPECTED[block.output], line) for line in printed), (
              f"{where}\nno line of the expected shape in:\n{done.stdout[-3000:]}")
  assert len(ran) >= 10, ran
  reasons = {reason for _, reason in skipped}
  assert reasons <= {"creates a virtual environment (install)", "installs packages",
                     "the whole test suite (the test command itself)",
                     "the docs build, run verbatim by .ci/run after the tests",
                     "needs ../shared/data/cifar10_subset.npz, absent on this machine"}, reasons
  assert (tmp_path / "runs/ps10/compare.png").is_file()
  written = {p.name for p in tmp_path.iterdir()} - {*LINKED, ".venv"}
  assert written == {"runs"}, f"commands wrote {sorted(written - {'runs'})} outside runs/"
  assert (tmp_path / "runs/a/hessian/hessian.json").is_file()


def test_run_directories_read_by_commands_are_written_by_earlier_commands():
  written: set[str] = set()
  for path in _documents():
    for block in (b for b in _blocks(path) if b.language == "bash"):
      for command in map(" && ".join, _commands(block)):
        for read in re.findall(r"lrsched (?:hessian|train --workdir) (runs/[\w./-]+)", command):
          assert read in written, f"{path}:{block.line}: {read} is read before it is written"
        written |= set(re.findall(r"--workdir (runs/[\w./-]+)", command))


_PAGE_DIRS: dict[str, pathlib.Path] = {}
# A ``pycon`` block is a doctest: run with the flags of pyproject's doctest_optionflags.
_DOCTEST = """import doctest, sys
test = doctest.DocTestParser().get_doctest({!r}, {{}}, "block", "block", 0)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
runner.run(test)
sys.exit(1 if runner.failures or not test.examples else 0)
"""


def _python_blocks() -> list[Block]:
  return [b for path in _documents() for b in _blocks(path) if b.language in ("python", "pycon")]


@pytest.mark.slow
@pytest.mark.parametrize("block", _python_blocks(), ids=lambda b: f"{b.path}:{b.line}")
def test_python_block_runs_on_its_own(block, tmp_path, tmp_path_factory):
  """In a fresh interpreter; the blocks of one page share a directory (a later block may
  read back a run an earlier one trained, as a reader's would, but trains it when absent)."""
  script = tmp_path / "block.py"
  script.write_text(block.text if block.language == "python" else _DOCTEST.format(block.text))
  if block.path not in _PAGE_DIRS:
    _PAGE_DIRS[block.path] = tmp_path_factory.mktemp("page")
  work = _PAGE_DIRS[block.path]
  (work / "runs").mkdir(exist_ok=True)
  done = subprocess.run([sys.executable, str(script)], cwd=work, env=_environment(),
                        capture_output=True, text=True, timeout=900)
  where = f"{block.path}:{block.line}"
  assert done.returncode == 0, f"{where}\n{done.stderr[-3000:]}"
  assert sorted(p.name for p in work.iterdir()) == ["runs"], f"{where} wrote outside runs/"
  expected = re.search(r"# prints: (.*)$", block.text.rstrip().splitlines()[-1])
  if expected:
    assert done.stdout.strip().splitlines()[-1] == expected.group(1), where


def test_json_specs_build():
  import lrsched

  specs = [b for path in _documents() for b in _blocks(path) if b.language == "json"]
  assert specs
  for block in specs:
    schedule = lrsched.from_spec(json.loads(block.text), steps_per_epoch=10)
    assert float(schedule(0)) >= 0, f"{block.path}:{block.line}"


def test_the_readme_is_a_quick_start():
  readme = (ROOT / "README.md").read_text()
  assert len(readme) < 8000, len(readme)
  for link in re.findall(r"\]\(((?:docs|experiments|colab)/[^)#]+)\)", readme):
    assert (ROOT / link).is_file(), link


def _public_names(package: str) -> list[str]:
  module = importlib.import_module(package)
  if hasattr(module, "__all__"):
    return list(module.__all__)
  return sorted(name for name, value in vars(module).items()
                if not name.startswith("_") and getattr(value, "__module__", None) == package
                and (inspect.isfunction(value) or inspect.isclass(value)))


@pytest.mark.slow
def test_every_public_name_is_in_the_api_reference(tmp_path):
  """Builds the site (warnings are errors) and reads its inventory of documented objects.

  A name counts when it is documented under its package (``lrsched.data.load_dataset``), or
  when its package's page names it and links the one object it is (``lrsched.AutoDecay``, the
  class documented as ``lrsched.adaptive.AutoDecay``).
  """
  pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
  from sphinx.util.inventory import InventoryFile

  out = tmp_path / "html"
  done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q",
                         "-b", "html", str(DOCS), str(out)], capture_output=True, text=True,
                        timeout=900)
  assert done.returncode == 0, done.stderr[-5000:]
  with open(out / "objects.inv", "rb") as f:
    inventory = InventoryFile.load(f, "", lambda base, uri: uri)
  documented = {name for kind, objects in inventory.items() if kind.startswith("py:")
                for name in objects}
  missing = []
  for package in PACKAGES:
    page = (DOCS / "api" / f"{package}.rst").read_text()
    module = importlib.import_module(package)
    for name in _public_names(package):
      if f"{package}.{name}" in documented:
        continue
      value = getattr(module, name)
      elsewhere = [d for d in documented if d.rsplit(".", 1)[-1] == name and d.startswith(
          "lrsched.") and _resolve(d) is value]
      if not (elsewhere and f"``{package}.{name}``" in page):
        missing.append(f"{package}.{name}")
  assert not missing, missing


def _resolve(dotted: str):
  module, _, name = dotted.rpartition(".")
  try:
    return getattr(importlib.import_module(module), name)
  except (ImportError, AttributeError):
    return None
