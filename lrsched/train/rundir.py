"""A run directory's safety: one writer at a time, a usable path, readable records.

:class:`RunLock` makes a second process on a live run directory fail at once (today's
alternative is two runs silently overwriting each other's checkpoints and metrics).
:func:`check_workdir` turns a workdir that is a file, lies under a file or is read-only
into one clear error before any work starts. :func:`read_json` and :func:`read_jsonl`
read ``config.json`` and ``metrics.jsonl`` and name the file when it is damaged.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import socket
import time
import uuid
import warnings
from typing import Any

LOCK_NAME = "lrsched.lock"
"""The lock file in a run directory while a process trains in it."""

_HELD: set[pathlib.Path] = set()  # the locks this process holds now
_NO_FLOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


class WorkdirLockedError(RuntimeError):
  """Another live process holds the run directory's lock."""


class StaleLockWarning(UserWarning):
  """A lock left by a process that no longer holds it was taken over.

  Nothing is lost (the run resumes from its checkpoints); ``lrsched`` prints it as one
  line, ``lrsched train: warning: ...``. Silence it with
  ``warnings.filterwarnings("ignore", category=StaleLockWarning)``.
  """


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # it exists, owned by someone else
    return True
  return True


def _identity() -> dict[str, Any]:
  return {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def _parse(text: str) -> dict[str, Any]:
  try:
    holder = json.loads(text)
  except ValueError:
    return {}
  return holder if isinstance(holder, dict) else {}


class RunLock:
  """An exclusive lock on a run directory: ``workdir/lrsched.lock``, naming pid and host.

  The lock is an advisory ``flock`` on that file, which the kernel drops when its process
  dies however it dies (kill -9, a recycled VM), so a lock left behind is never mistaken
  for a live one and is taken over with a :class:`StaleLockWarning` naming the process
  that left it.
  Holding the lock means holding the ``flock`` on the file that is at the path (checked
  after locking, so a file removed and recreated meanwhile cannot be held twice).

  Where the file system has no ``flock`` (some network and FUSE mounts), the lock is
  the file's existence (created with ``O_EXCL``): a lock left by a dead process of this
  host is taken over with a warning; one of another host cannot be checked and is
  refused with the command that removes it.

  Use as a context manager or call :meth:`acquire` / :meth:`release`.

  Args:
    workdir: the run directory (must exist).
  """

  def __init__(self, workdir: str | pathlib.Path):
    self.path = pathlib.Path(workdir) / LOCK_NAME
    self.held = False
    self._fd: int | None = None

  def _refuse(self, holder: dict[str, Any], hint: bool) -> WorkdirLockedError:
    where = (f"pid {holder.get('pid')} on host {holder.get('host')}" if holder
             else "a process that has not written its name yet")
    remove = f"; if that process is gone, remove the lock: rm {self.path}" if hint else ""
    return WorkdirLockedError(
        f"{self.path.parent} is in use by another lrsched process ({where}, since "
        f"{holder.get('started', '?')}): two runs in one directory would overwrite each "
        f"other's checkpoints and metrics; wait for it or choose another workdir{remove}")

  def acquire(self) -> None:
    """Takes the lock; raises :class:`WorkdirLockedError` if a live process holds it."""
    import fcntl

    for _ in range(10):
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        holder = _parse(os.pread(fd, 4096, 0).decode(errors="replace"))
        os.close(fd)
        raise self._refuse(holder, hint=False) from None
      except OSError as error:
        os.close(fd)
        if error.errno in _NO_FLOCK:
          return self._acquire_exclusive()
        raise
      try:  # the locked file must still be the one at the path
        current = os.stat(self.path).st_ino == os.fstat(fd).st_ino
      except FileNotFoundError:
        current = False
      if not current:
        os.close(fd)
        continue
      previous = _parse(os.pread(fd, 4096, 0).decode(errors="replace"))
      me = _identity()
      if previous.get("pid") is not None and (previous.get("pid"), previous.get("host")) != (
          me["pid"], me["host"]):
        warnings.warn(f"{self.path}: took over the lock left by pid {previous.get('pid')} on "
                      f"{previous.get('host')} (since {previous.get('started', '?')}); that "
                      f"process no longer holds it", StaleLockWarning, stacklevel=2)
      os.ftruncate(fd, 0)
      os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
      os.fsync(fd)
      self._fd, self.held = fd, True
      _HELD.add(self.path.resolve())
      return
    raise WorkdirLockedError(f"could not take the lock {self.path} (it keeps being replaced)")

  def _acquire_exclusive(self) -> None:
    """The lock without ``flock``: the file's existence, created with ``O_EXCL``."""
    me = _identity()
    for _ in range(3):
      try:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
      except FileExistsError:
        try:
          holder = _parse(self.path.read_text())
        except FileNotFoundError:  # released meanwhile
          continue
        pid, host = holder.get("pid"), holder.get("host")
        # Stale: a dead process of this host, or this pid without holding it (a lock left
        # by an earlier container or session that had the same pid).
        mine = pid == me["pid"] and self.path.resolve() not in _HELD
        if not (host == me["host"] and isinstance(pid, int) and (mine or not _alive(pid))):
          raise self._refuse(holder, hint=True) from None
        warnings.warn(f"{self.path}: took over a stale lock of pid {pid} on {host} (that "
                      f"process no longer runs)", StaleLockWarning, stacklevel=3)
        self.path.unlink(missing_ok=True)
        continue
      os.write(fd, (json.dumps(me) + "\n").encode())
      os.close(fd)
      self.held = True
      _HELD.add(self.path.resolve())
      return
    raise WorkdirLockedError(f"could not take the lock {self.path} (contended)")

  def release(self, remove: bool = True) -> None:
    """Releases the lock if this object holds it (and removes the file with ``remove``)."""
    if not self.held:
      return
    try:
      if remove:
        if self._fd is None or os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
          self.path.unlink(missing_ok=True)
    except FileNotFoundError:
      pass
    finally:
      if self._fd is not None:
        os.close(self._fd)  # drops the flock
        self._fd = None
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
    probe = workdir / f".lrsched-write-test-{uuid.uuid4().hex}"
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
