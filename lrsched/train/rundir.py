"""A run directory's safety: one writer at a time, a usable path, readable records.

:class:`RunLock` makes a second process on a live run directory fail at once (today's
alternative is two runs silently overwriting each other's checkpoints and metrics).
:func:`check_workdir` turns a workdir that is a file, lies under a file or is read-only
into one clear error before any work starts. :func:`read_json` and :func:`read_jsonl`
read ``config.json`` and ``metrics.jsonl`` and name the file when it is damaged.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pathlib
import socket
import time
import warnings
from typing import Any

LOCK_NAME = "lrsched.lock"
"""The lock file in a run directory while a process trains in it."""

_HELD: set[pathlib.Path] = set()  # the locks this process holds now


class WorkdirLockedError(RuntimeError):
  """Another live process holds the run directory's lock."""


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # it exists, owned by someone else
    return True
  return True


class RunLock:
  """An exclusive lock on a run directory: ``workdir/lrsched.lock`` holds pid and host.

  The lock file is created atomically (written to a temporary file, then hard-linked to
  its name, which fails if it exists), so a reader never sees a half-written lock. A lock
  left by a dead process on this host is taken over with a warning; a lock of another
  host cannot be checked and is refused with the command that removes it.

  Use as a context manager or call :meth:`acquire` / :meth:`release`.

  Args:
    workdir: the run directory (must exist).
  """

  def __init__(self, workdir: str | pathlib.Path):
    self.path = pathlib.Path(workdir) / LOCK_NAME
    self.held = False

  def _holder(self) -> dict[str, Any] | None:
    try:
      holder = json.loads(self.path.read_text())
      return holder if isinstance(holder, dict) else {}
    except FileNotFoundError:
      return None
    except (OSError, ValueError):
      return {}

  def acquire(self) -> None:
    """Takes the lock; raises :class:`WorkdirLockedError` if a live process holds it."""
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = self.path.with_name(f".{LOCK_NAME}.{me['pid']}.tmp")
    tmp.write_text(json.dumps(me) + "\n")
    try:
      for _ in range(3):
        try:
          os.link(tmp, self.path)
          self.held = True
          _HELD.add(self.path.resolve())
          return
        except FileExistsError:
          pass
        holder = self._holder()
        if holder is None:  # released meanwhile
          continue
        pid, host = holder.get("pid"), holder.get("host")
        # Stale: a dead process of this host, or this pid without holding it (a lock left
        # by an earlier container or session that had the same pid).
        mine = pid == me["pid"] and self.path.resolve() not in _HELD
        stale = (host == me["host"] and isinstance(pid, int) and (mine or not _alive(pid)))
        if not stale:
          where = f"pid {pid} on host {host}" if holder else "an unreadable lock"
          hint = ("" if host == me["host"] else
                  f"; if that process is gone, remove the lock: rm {self.path}")
          raise WorkdirLockedError(
              f"{self.path.parent} is in use by another lrsched process ({where}, since "
              f"{holder.get('started', '?')}): two runs in one directory would overwrite "
              f"each other's checkpoints and metrics; wait for it or choose another "
              f"workdir{hint}")
        warnings.warn(f"{self.path}: taking over a stale lock of pid {pid} on {host} "
                      f"(that process no longer runs)", stacklevel=2)
        with contextlib.suppress(FileNotFoundError):
          self.path.unlink()
      raise WorkdirLockedError(f"could not take the lock {self.path} (contended)")
    finally:
      tmp.unlink(missing_ok=True)

  def release(self) -> None:
    """Removes the lock if this object holds it."""
    if self.held:
      holder = self._holder()
      if holder and holder.get("pid") == os.getpid():
        self.path.unlink(missing_ok=True)
      _HELD.discard(self.path.resolve())
      self.held = False

  def __enter__(self) -> RunLock:
    self.acquire()
    return self

  def __exit__(self, *exc: object) -> None:
    self.release()


def check_workdir(workdir: str | pathlib.Path) -> pathlib.Path:
  """Creates ``workdir`` if needed; raises ``ValueError`` if it cannot hold a run.

  Refused, each with one message naming the path: a workdir that is a file, a workdir
  under a file, and a directory that cannot be written (read-only file system, no
  permission).
  """
  workdir = pathlib.Path(workdir)
  for parent in [workdir, *workdir.parents]:
    if parent.exists() and not parent.is_dir():
      what = "is a file" if parent == workdir else f"lies under {parent}, which is a file"
      raise ValueError(f"workdir {str(workdir)!r} {what}: choose a directory")
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    probe = workdir / f".lrsched-write-test-{os.getpid()}"
    probe.write_text("")
    probe.unlink()
  except OSError as error:
    reason = ("the file system is read-only" if error.errno == errno.EROFS
              else error.strerror or str(error))
    raise ValueError(f"workdir {str(workdir)!r} cannot be written: {reason}") from None
  return workdir


def write_atomic(path: str | pathlib.Path, text: str) -> None:
  """Writes ``text`` to ``path`` through a temporary file and a rename: never torn."""
  path = pathlib.Path(path)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(text)
  tmp.replace(path)


def read_json(path: str | pathlib.Path) -> Any:
  """Parses a JSON file; a damaged one is a ``ValueError`` naming the file."""
  path = pathlib.Path(path)
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as error:
    raise ValueError(f"{path} is damaged (not valid JSON: {error}); restore it or remove "
                     f"the run directory") from None


def read_jsonl(path: str | pathlib.Path) -> list[dict[str, Any]]:
  """The records of a JSON-lines file (``[]`` if absent).

  A torn last line (a write cut short) is dropped with a warning; a damaged line before
  the last is a ``ValueError`` naming the file and the line.
  """
  path = pathlib.Path(path)
  if not path.exists():
    return []
  lines = [(i, line) for i, line in enumerate(path.read_text().splitlines(), 1)
           if line.strip()]
  records = []
  for position, (number, line) in enumerate(lines):
    try:
      record = json.loads(line)
      if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    except ValueError as error:
      if position == len(lines) - 1:
        warnings.warn(f"{path}: dropped its torn last line {number} ({error})", stacklevel=2)
        break
      raise ValueError(f"{path} line {number} is damaged ({error}); restore the file or "
                       f"remove the run directory") from None
    records.append(record)
  return records
