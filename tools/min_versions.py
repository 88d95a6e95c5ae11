"""Prints pip constraints pinning the declared minimum versions of the core dependencies.

``pyproject.toml`` declares ``jax>=A``, ``optax>=B``, ...; CI installs exactly those
minimums in a second environment and runs the schedule and training-loop tests
there, so a declared minimum is one that works::

    python3 tools/min_versions.py > /tmp/min.txt
    python3 -m venv /tmp/min && /tmp/min/bin/pip install -c /tmp/min.txt -e ".[dev]"

``jaxlib`` is pinned to jax's minimum (jax needs the matching jaxlib). Needs only the
standard library (Python >= 3.11 for ``tomllib``).
"""

from __future__ import annotations

import pathlib
import re
import sys
import tomllib

PINNED = ("jax", "optax", "flax", "orbax-checkpoint", "chex", "numpy")
PYPROJECT = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"


def minimums(pyproject: pathlib.Path = PYPROJECT) -> dict[str, str]:
  """``{package: minimum}`` for the :data:`PINNED` packages, from ``project.dependencies``."""
  dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
  found = {}
  for requirement in dependencies:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", requirement)
    if match and match.group(1).lower() in PINNED:
      found[match.group(1).lower()] = match.group(2)
  missing = [name for name in PINNED if name not in found]
  if missing:
    raise SystemExit(f"pyproject.toml declares no 'NAME>=VERSION' minimum for {missing}")
  return found


def main() -> None:
  found = minimums()
  lines = [f"{name}=={version}" for name, version in found.items()]
  lines.append(f"jaxlib=={found['jax']}")
  sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
  main()
