"""``help(lrsched)``'s map of the API names what exists, and every public model."""

import importlib
import re

import lrsched


def _subpackage_lines() -> dict[str, list[str]]:
  """``{module: [names]}`` from the map's "Subpackages:" lines (prose after ':' or in ())."""
  groups: dict[str, str] = {}
  current = None
  for line in lrsched.__doc__.split("Subpackages:")[1].splitlines():
    start = re.match(r"  (lrsched\.\w+)\s+(.*)", line)
    if start:
      current = start.group(1)
      groups[current] = start.group(2)
    elif current and line.startswith("    "):
      groups[current] += " " + line.strip()
    else:
      current = None
  names = {}
  for module, text in groups.items():
    text = re.sub(r"\([^)]*\)", "", text).split(": ")[0]
    names[module] = [n.strip() for n in text.split(",") if n.strip()]
  return names


def test_every_name_in_the_map_exists_in_its_subpackage():
  groups = _subpackage_lines()
  assert {"lrsched.models", "lrsched.train", "lrsched.hessian", "lrsched.names"} <= set(groups)
  for module, names in groups.items():
    loaded = importlib.import_module(module)
    for name in names:
      assert re.fullmatch(r"[A-Za-z_]\w*", name), (module, name)
      assert hasattr(loaded, name), f"help(lrsched) lists {module}.{name}, which does not exist"


def test_the_map_lists_every_public_model_and_top_level_name():
  import lrsched.models

  models = _subpackage_lines()["lrsched.models"]
  assert "MLP" in models
  assert set(lrsched.models.__all__) <= set(models)
  words = set(re.findall(r"\w+", lrsched.__doc__))
  missing = [name for name in lrsched.__all__ if name not in words]
  assert not missing, f"help(lrsched)'s map omits {missing}"
