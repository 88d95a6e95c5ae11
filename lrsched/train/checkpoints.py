"""Atomic, resumable orbax checkpoints of a :class:`~lrsched.train.steps.TrainState`.

Orbax writes each checkpoint to a temporary directory and renames it when complete,
so an interrupted save never leaves a half-written checkpoint that a resume would
pick up. Typed PRNG keys (dropout streams) are stored as their raw ``key_data``
and re-wrapped on restore.

A checkpoint can still be damaged afterwards (a disk error, a foreign edit, a stray
directory): :meth:`Checkpoints.restore_newest` verifies by restoring (orbax's OCDBT
format checks what it reads) and falls back to the newest intact checkpoint with a
warning naming what it skipped. Damaged checkpoints are never deleted; a resumed run
moves them aside to ``checkpoints.damaged/`` so that their epochs can be saved again.
"""

from __future__ import annotations

import pathlib
import shutil
import time
import warnings
from typing import Any

import jax
import orbax.checkpoint as ocp


def _is_key(x: Any) -> bool:
  return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_savable(tree: Any) -> Any:
  return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def _from_savable(tree: Any, template: Any) -> Any:
  def restore(saved, like):
    if _is_key(like):
      return jax.random.wrap_key_data(saved, impl=jax.random.key_impl(like))
    return saved
  return jax.tree.map(restore, tree, template)


class Checkpoints:
  """Saves and restores pytrees (a ``TrainState``) under ``directory``, one per epoch.

  Args:
    directory: where checkpoints go (one sub-directory per epoch, or per step for
      snapshots).
    keep: how many of the latest checkpoints to keep (>= 1), or ``None`` for all.
  """

  def __init__(self, directory: str | pathlib.Path, keep: int | None = 2):
    if keep is not None and keep < 1:
      raise ValueError(f"keep must be >= 1 or None, got {keep}")
    self.directory = pathlib.Path(directory).absolute()
    # create=False: the directory appears with the first save, so a run refused at
    # start-up leaves no empty checkpoints/ behind.
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=False)
    # One named item, "default" (the directory a single unnamed item gets, so older runs
    # restore too): orbax would otherwise guess single vs. several items from the newest
    # step directory, and a stray one (e.g. an empty checkpoints/99/) derails that guess.
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("default",))

  def latest_epoch(self) -> int | None:
    """The epoch of the newest complete checkpoint, or None."""
    return self._manager.latest_step()

  def all_epochs(self) -> list[int]:
    """The epochs (or steps) of every complete checkpoint, increasing."""
    return sorted(self._manager.all_steps())

  def delete(self, epoch: int) -> None:
    """Deletes the checkpoint of ``epoch``."""
    self._manager.wait_until_finished()
    self._manager.delete(epoch)

  def save(self, epoch: int, state: Any) -> None:
    """Saves ``state`` as the checkpoint of ``epoch`` (asynchronously)."""
    self._manager.save(epoch, args=ocp.args.Composite(
        default=ocp.args.StandardSave(_to_savable(state))))

  def restore(self, epoch: int, template: Any) -> Any:
    """Restores the checkpoint of ``epoch`` with the structure and shardings of ``template``."""
    self._manager.wait_until_finished()
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _to_savable(template))
    saved = self._manager.restore(epoch, args=ocp.args.Composite(
        default=ocp.args.StandardRestore(abstract)))["default"]
    return _from_savable(saved, template)

  def restore_newest(self, template: Any, *, move_damaged: bool = False
                     ) -> tuple[int | None, Any]:
    """Restores the newest checkpoint that reads back intact.

    Args:
      template: the structure and shardings to restore into (see :meth:`restore`).
      move_damaged: move the newer checkpoints that failed to restore to
        ``<directory>.damaged/<epoch>-<time>`` (never deleted), so a resumed run can save
        those epochs again. Only a process that owns the run (holds its lock) should.

    Returns:
      ``(epoch, state)``, or ``(None, template)`` when there is no checkpoint.

    Raises:
      ValueError: no checkpoint restores (each failure is named; nothing is moved).
    """
    skipped = []
    for epoch in reversed(self.all_epochs()):
      try:
        state = self.restore(epoch, template)
      except Exception as error:  # orbax raises many types for damaged files
        lines = str(error).strip().splitlines()
        skipped.append((epoch, f"{type(error).__name__}: {lines[0][:200] if lines else ''}"))
        continue
      if skipped:
        where = ""
        if move_damaged:
          target = self.directory.with_name(self.directory.name + ".damaged")
          target.mkdir(exist_ok=True)
          for bad, _ in skipped:
            shutil.move(self.directory / str(bad),
                        target / f"{bad}-{time.strftime('%Y%m%d-%H%M%S')}")
          self._manager.reload()  # orbax caches its steps: forget the moved ones
          where = f" (kept in {target})"
        warnings.warn(f"{self.directory}: skipped damaged checkpoint(s) "
                      f"{'; '.join(f'epoch {e} ({why})' for e, why in skipped)}{where}; "
                      f"restored epoch {epoch}", stacklevel=2)
      return epoch, state
    if skipped:
      raise ValueError(f"{self.directory}: no checkpoint restores: "
                       f"{'; '.join(f'epoch {e}: {why}' for e, why in skipped)}")
    return None, template

  def reload(self) -> None:
    """Forgets orbax's cached list of steps (after another process moved some)."""
    self._manager.reload()

  def close(self) -> None:
    """Waits for pending saves and releases the manager (again: a no-op)."""
    if self._manager is not None:
      self._manager.wait_until_finished()
      self._manager.close()
      self._manager = None
