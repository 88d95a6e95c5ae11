"""Sphinx configuration of lrsched's documentation (optax/flax conventions).

Build (what ``.ci/run`` runs; warnings, broken cross-references included, are errors):

  sphinx-build -W --keep-going -n -b html docs docs/_build/html
"""

import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "lrsched"
author = "the lrsched authors"
copyright = "2026, the lrsched authors"  # noqa: A001 (Sphinx's name)

extensions = [
    "myst_nb",  # Markdown (MyST) pages and the notebooks, not executed
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style docstrings
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

# The notebooks live in colab/ (run by tests/test_notebooks.py); Sphinx only reads documents
# inside its source directory, so each build copies them to docs/notebooks/ (ignored by git).
NOTEBOOKS = ROOT / "colab"
for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
  target = pathlib.Path(__file__).parent / "notebooks" / notebook.name
  if not target.exists() or target.read_bytes() != notebook.read_bytes():
    shutil.copyfile(notebook, target)

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
nb_execution_mode = "off"  # the notebooks are executed by tests/test_notebooks.py, not here
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "lrsched"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes:" as fields: no second description of a NamedTuple field

# -n (nitpicky) makes every unresolved cross-reference an error. There is no internet here
# (nor in CI) for intersphinx, so names from other packages -- which appear in signatures'
# type hints and in docstrings -- cannot resolve; they are ignored by package prefix below.
# Everything of lrsched's own must resolve.
nitpick_ignore_regex = [
    ("py:.*", r"(jax|jnp|jaxlib|optax|flax|nnx|chex|numpy|np|scipy|matplotlib|orbax|ocp"
              r"|tensorflow_datasets|tfds|tqdm|typing_extensions|argparse|pathlib"
              r"|collections|typing|concurrent|threading|os|io|dataclasses|enum"
              r"|abc|types)(\..*)?"),
    ("py:.*", r"(Array|ArrayLike|ArrayTree|PyTree|Schedule|ScalarOrSchedule|Numeric"
              r"|GradientTransformation|GradientTransformationExtraArgs|OptState|Params"
              r"|Updates|Figure|Axes|Line2D|Path|PathLike|Module|Mesh|NamedSharding"
              r"|Sharding|Namespace|ArgumentParser|Callable|Iterator|Iterable|Mapping"
              r"|Sequence|Any|NamedTuple|ndarray|dtype|DTypeLike|PRNGKey|Rngs|Variable"
              r"|Generator|TypeVar|Protocol)"),
]


# References in docstrings to lrsched objects that the reference does not document (a
# private module such as ``lrsched.hessian.blocks``, a module constant, an exception raised
# inside a submodule) or that a docstring names without its package: an unqualified name is
# linked to the documented object of that name, an existing undocumented object is shown as
# code, and a name that exists nowhere in lrsched stays an error (-n). Napoleon's reading of
# a prose phrase before a colon as a type ("Returns: The largest ...: ...") is shown as text.
_INDEX: dict[str, list[str]] = {}


def _lrsched_index() -> dict[str, list[str]]:
  """Every module and module-level name of lrsched: last name -> full names."""
  if not _INDEX:
    import importlib
    import pkgutil

    import lrsched

    for info in pkgutil.walk_packages(lrsched.__path__, "lrsched."):
      try:
        module = importlib.import_module(info.name)
      except Exception:  # noqa: BLE001 (an optional module: not indexed)
        continue
      _INDEX.setdefault(info.name.rsplit(".", 1)[1], []).append(info.name)
      for name, value in vars(module).items():
        _INDEX.setdefault(name, []).append(f"{info.name}.{name}")
        members = ({**vars(value), **getattr(value, "__annotations__", {})}
                   if isinstance(value, type) else ())
        for attribute in members:
          _INDEX.setdefault(attribute, []).append(f"{info.name}.{name}.{attribute}")
  return _INDEX


def _exists(target: str) -> bool:
  last = target.rsplit(".", 1)[-1]
  return any(full == target or full.endswith("." + target)
             for full in _lrsched_index().get(last, ()))


def _missing_reference(app, env, node, contnode):
  if node.get("refdomain") != "py":
    return None
  target = node["reftarget"]
  if any(c in target for c in " [|"):
    return contnode
  if not (target.startswith("lrsched") or "." not in target or _exists(target)):
    return None
  domain = env.get_domain("py")
  last = target.rsplit(".", 1)[-1]
  documented = [name for name in domain.objects if name.rsplit(".", 1)[-1] == last
                and (name == target or name.endswith("." + target) or "." not in target)]
  if documented and not target.startswith("lrsched"):
    module = node.get("py:module") or ""
    best = min(documented, key=lambda name: (not name.startswith(module + "."), len(name)))
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], best, node,
                               contnode)
  if _exists(target):
    return contnode
  return None


def _package_map_verbatim(app, what, name, obj, options, lines):
  """``lrsched``'s module docstring is a plain-text map written for ``help(lrsched)``: verbatim."""
  if what == "module" and name == "lrsched" and len(lines) > 2:
    lines[2:] = ["::", ""] + ["   " + line for line in lines[2:]]


def setup(app):
  app.connect("missing-reference", _missing_reference)
  app.connect("autodoc-process-docstring", _package_map_verbatim)
