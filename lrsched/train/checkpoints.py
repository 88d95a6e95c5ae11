"""Atomic, resumable orbax checkpoints of a :class:`~lrsched.train.steps.TrainState`.

Orbax writes each checkpoint to a temporary directory and renames it when complete,
so an interrupted save never leaves a half-written checkpoint that a resume would
pick up. Typed PRNG keys (dropout streams) are stored as their raw ``key_data``
and re-wrapped on restore.
"""

from __future__ import annotations

import pathlib
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
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

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
    self._manager.save(epoch, args=ocp.args.StandardSave(_to_savable(state)))

  def restore(self, epoch: int, template: Any) -> Any:
    """Restores the checkpoint of ``epoch`` with the structure and shardings of ``template``."""
    self._manager.wait_until_finished()
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _to_savable(template))
    saved = self._manager.restore(epoch, args=ocp.args.StandardRestore(abstract))
    return _from_savable(saved, template)

  def close(self) -> None:
    """Waits for pending saves and releases the manager."""
    self._manager.wait_until_finished()
    self._manager.close()
