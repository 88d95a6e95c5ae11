"""The Hessian of a loss over a whole dataset, as a matrix-free operator.

The dataset loss is the size-weighted mean of the per-batch mean losses,
``L = sum_b n_b L_b / sum_b n_b``, so its Hessian-vector product is the same
weighted mean of per-batch HVPs; a short last batch gets its true weight. Each
batch's HVP is one jitted call (the loss function and the flat layout are static
arguments, so the compiled program is reused across matvecs and across calls
with the same ``loss_fn``; a differently sized last batch compiles once more).
With several devices, each batch is sharded along its first axis over a 1-D
``("data",)`` mesh and the parameters are replicated; XLA inserts the reductions,
so the result is the same as on one device.

Under ``jax.distributed`` (several processes) each process passes *its own rows*
of every batch, as ``jax.make_array_from_process_local_data`` expects and as the
training loop feeds data (process ``i`` holding rows ``[i b, (i + 1) b)`` of each
global batch); the operator assembles global batches sharded over the devices of
all processes, and everything else (the params, the vectors, hence every matvec,
eigenvalue and trace) is the same on every process and equals the one-process
result on the full batches.

With BatchNorm in train mode (batch statistics) the per-batch losses depend on
how the data is batched, so the operator is the Hessian of the mean of the
per-batch losses *for this batching*; in eval mode it is the Hessian of the
dataset loss itself.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from lrsched.hessian.blocks import Wrt, select
from lrsched.hessian.hvp import (
    FlatSpec,
    LossFn,
    _hvp,
    check_finite_params,
    check_scalar_loss,
)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _accumulate(loss_fn, spec, acc, params, batch, v_flat, weight):
  hv = spec.ravel(_hvp(loss_fn, params, batch, spec.unravel(v_flat)))
  return acc + weight * hv, jnp.all(jnp.isfinite(hv))


@functools.partial(jax.jit, static_argnums=(0,))
def _linearize(loss_fn, params, batch):
  grad_fn = lambda p: jax.grad(loss_fn)(p, batch)
  return jax.linearize(grad_fn, params)[1]


def _remat_gradient(loss_fn, batch):
  """The gradient under ``jax.checkpoint`` saving only matmul/convolution outputs."""
  return jax.checkpoint(lambda p: jax.grad(loss_fn)(p, batch),
                        policy=jax.checkpoint_policies.dots_saveable)


@functools.partial(jax.jit, static_argnums=(0,))
def _linearize_remat(loss_fn, params, batch):
  return jax.linearize(_remat_gradient(loss_fn, batch), params)[1]


@functools.partial(jax.jit, static_argnums=(0,))
def _unravel(spec, flat):
  return spec.unravel(flat)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _embed(size, dtype, index, v):
  return jnp.zeros(size, dtype).at[index].set(v.astype(dtype))


_zeros_like = jax.jit(jnp.zeros_like)  # placed like its argument, no host round trip


@jax.jit
def _finish(acc, total, index):
  out = acc / total
  return out if index is None else out[index]


@functools.partial(jax.jit, static_argnums=(0,))
def _accumulate_linear(spec, acc, linear_fn, v_flat, weight):
  hv = spec.ravel(linear_fn(spec.unravel(v_flat)))
  return acc + weight * hv, jnp.all(jnp.isfinite(hv))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _quadratic(loss_fn, spec, params, batch, v_flat):
  hv = spec.ravel(_hvp(loss_fn, params, batch, spec.unravel(v_flat)))
  return jnp.dot(v_flat, hv, precision=jax.lax.Precision.HIGHEST), jnp.all(jnp.isfinite(hv))


@functools.partial(jax.jit, static_argnums=(0,))
def _quadratic_linear(spec, linear_fn, v_flat):
  hv = spec.ravel(linear_fn(spec.unravel(v_flat)))
  return jnp.dot(v_flat, hv, precision=jax.lax.Precision.HIGHEST), jnp.all(jnp.isfinite(hv))


def _batch_size(batch: Any, index: int) -> int:
  leaves = jax.tree.leaves(batch)
  sizes = {int(np.shape(x)[0]) for x in leaves if np.ndim(x) > 0}
  if len(sizes) != 1:
    raise ValueError(f"batch {index} must have arrays with one common leading (batch) "
                     f"dimension, got leading sizes {sorted(sizes) or 'none (scalars only)'}")
  return sizes.pop()


def _gather_rows(x: Any, counts: np.ndarray) -> np.ndarray:
  """Every process's rows of a leaf (``counts[p]`` rows on process ``p``), concatenated."""
  x = np.asarray(x)
  padded = np.zeros((int(counts.max()), *x.shape[1:]), x.dtype)
  padded[:len(x)] = x
  stacked = multihost_utils.process_allgather(padded)  # (processes, max rows, ...)
  return np.concatenate([stacked[p, :c] for p, c in enumerate(counts)])


def as_batch_list(batches: Any) -> list:
  """A list of batches from one batch (a mapping or an array) or an iterable of batches."""
  if isinstance(batches, Mapping | np.ndarray | jax.Array):
    return [batches]
  if not isinstance(batches, Iterable):
    raise ValueError(f"batches must be a batch (a mapping) or an iterable of batches, "
                     f"got {type(batches).__name__}")
  return list(batches)


class DatasetHessian:
  """The Hessian of the size-weighted mean loss over a list of batches.

  Args:
    loss_fn: ``loss_fn(params, batch) -> scalar``, the *mean* loss of a batch.
    params: the point (any pytree of float arrays); must be finite.
    batches: one batch (a mapping or an array) or an iterable of batches (a list,
      tuple or generator: consumed once and kept). Every array in a batch has the
      batch size as leading dimension. Under ``jax.distributed``: this process's
      rows of each batch (every process passes the same number of batches; rows of
      a batch may be split unevenly, e.g. a short last batch); the batch is the
      concatenation of all processes' rows in process order.
    linearize: linearize the gradient of each batch once (``jax.linearize``) and
      reuse it for every matvec: each HVP then skips the primal forward/backward
      pass (about 1.7x a gradient instead of 2.3x for a WideResNet on CPU, see
      ``benchmarks/RESULTS.md``) but every batch's activations stay in memory.
      Default (None): only when there is a single batch.
    mesh: a 1-D mesh with one axis named ``"data"`` of type ``AxisType.Auto`` to
      shard batches over; by default one over all devices (of all processes) when
      there are several. Under ``jax.distributed`` it must hold devices of every
      process.
    remat: linearize under ``jax.checkpoint`` with the ``dots_saveable`` policy
      (rematerialization): the linearization keeps only the outputs of matrix products
      and convolutions, and each HVP recomputes the elementwise work between them
      (BatchNorm, activations) from those. For a model whose activations do not fit
      beside the eigensolver's basis: on a WideResNet-16-1 it keeps 4.1x less (146 vs
      601 MiB at batch 128) and an HVP costs about 2.0 gradients instead of 1.5 on CPU
      (``benchmarks/RESULTS.md``); the HVPs are the same to float32 rounding. Implies
      ``linearize`` (None becomes True); ``linearize=False`` keeps nothing between HVPs
      already, so it is refused.
    wrt: the parameters whose diagonal Hessian block this is (a regex searched in each
      ``/``-joined parameter path, or a predicate ``path -> bool``; see
      :mod:`lrsched.hessian.blocks`); None: all of them.

  Attributes:
    spec: the :class:`FlatSpec` of the selected parameters (``params`` itself without
      ``wrt``; else ``params`` with the other leaves ``None``); ``spec.size`` is the
      dimension.
    sizes: the number of examples per batch (over all processes).
    total: the number of examples (over all processes).
    num_matvecs: how many dataset-level HVPs this operator has computed.

  Multi-process (``jax.distributed``): every process constructs the operator with the
  same ``loss_fn``, ``params`` and options and its own rows of the batches, and
  calls the same methods with the same vectors in the same order (the methods run
  collectives). A batch whose global size is a multiple of the device count and
  whose rows are split evenly over the processes is sharded over all devices;
  any other batch is gathered and replicated. :meth:`matvec` returns the same
  NumPy vector on every process (and :meth:`device_matvec` the same replicated
  array), so Krylov methods (Lanczos, Hutchinson with the same ``seed``) stay in
  lockstep and agree.

  Raises:
    ValueError: no batches or an empty batch, non-finite params, a loss that is
      not a scalar, ``remat`` not a bool, with ``linearize=False``, or a loss that
      cannot be linearized under ``jax.checkpoint`` (checked abstractly, before any
      HVP); under ``jax.distributed``: processes with different numbers
      of batches, a mesh without some process's devices.

  Example:
    >>> import jax.numpy as jnp, numpy as np
    >>> loss = lambda p, b: jnp.mean(b["x"]) * jnp.sum(p ** 2)   # Hessian: 2 mean(x) I
    >>> op = DatasetHessian(loss, jnp.ones(2), [{"x": np.ones(3)}, {"x": np.zeros(1)}])
    >>> op.matvec(np.ones(2))    # 2 * (3 * 1 + 1 * 0) / 4
    array([1.5, 1.5], dtype=float32)
  """

  def __init__(self, loss_fn: LossFn, params: Any, batches: Any, *, linearize: bool | None = None,
               mesh: jax.sharding.Mesh | None = None, wrt: Wrt = None, remat: bool = False):
    if not isinstance(remat, bool):
      raise ValueError(f"remat must be True or False, got {remat!r}")
    if remat and linearize is False:
      raise ValueError("remat=True rematerializes the linearization, but linearize=False "
                       "keeps nothing between HVPs: use linearize=True (or None) with remat")
    self.loss_fn = loss_fn
    self.full_spec = FlatSpec.of(params)
    self._wrt = wrt
    selected, self._index = select(params, wrt)
    self.spec = self.full_spec if self._index is None else FlatSpec.of(selected)
    check_finite_params(params)
    batch_list = as_batch_list(batches)
    processes = jax.process_count()
    if processes > 1:
      counts = np.asarray(multihost_utils.process_allgather(np.int32(len(batch_list))))
      if np.any(counts != len(batch_list)):
        raise ValueError(f"batches: every process must pass the same number of batches "
                         f"under jax.distributed, got {counts.tolist()} (by process)")
    if not batch_list:
      raise ValueError("batches must hold at least one batch, got an empty dataset")
    local_sizes = [_batch_size(b, i) for i, b in enumerate(batch_list)]
    rows = (np.asarray(local_sizes)[None] if processes == 1 else  # (processes, batches)
            np.asarray(multihost_utils.process_allgather(np.asarray(local_sizes, np.int32))))
    self.sizes = [int(n) for n in rows.sum(0)]
    for i, size in enumerate(self.sizes):
      if size == 0:
        raise ValueError(f"batch {i} is empty (0 examples); every batch needs >= 1 example")
    self.total = sum(self.sizes)
    check_scalar_loss(loss_fn, params, batch_list[0])
    if mesh is None and jax.device_count() > 1:
      mesh = jax.make_mesh((jax.device_count(),), ("data",),
                           axis_types=(jax.sharding.AxisType.Auto,))
    if processes > 1 and {d.process_index for d in mesh.devices.flat} != set(range(processes)):
      raise ValueError(f"mesh must hold devices of every process under jax.distributed "
                       f"({processes} processes), got devices of processes "
                       f"{sorted({d.process_index for d in mesh.devices.flat})}")
    self.mesh = mesh
    self._params = self._place(params, shard=False)
    self._batches = ([self._place(b, shard=True) for b in batch_list] if processes == 1 else
                     [self._place_rows(b, rows[:, i]) for i, b in enumerate(batch_list)])
    self._batch_list = batch_list
    self._linear = None
    self._index_device = None
    self._remat = remat
    self._linearize = remat or (len(self._batches) == 1 if linearize is None
                                else bool(linearize))
    if remat:  # abstractly (no FLOPs, no memory): fail here, not at the first HVP under jit
      try:
        jax.eval_shape(lambda p, b: jax.linearize(_remat_gradient(loss_fn, b), p)[1](p),
                       self._params, self._batches[0])
      except Exception as error:  # noqa: BLE001 -- any tracing error, reported as the cause
        raise ValueError(f"remat=True: the loss cannot be linearized under jax.checkpoint "
                         f"(rematerialized): {type(error).__name__}: {error}") from error
    self.num_matvecs = 0

  @property
  def size(self) -> int:
    """The dimension ``n`` of the ``n x n`` Hessian."""
    return self.spec.size

  @property
  def dtype(self) -> np.dtype:
    """The dtype of flat vectors (the parameters' common float dtype)."""
    return self.spec.dtype

  def _place(self, tree: Any, shard: bool) -> Any:
    if self.mesh is None:
      return jax.device_put(tree)
    if jax.process_count() > 1:  # the same value on every process: each places its copy
      replicated = NamedSharding(self.mesh, P())
      def put(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
          return jax.device_put(x, replicated)  # already global (e.g. the training state)
        return jax.make_array_from_process_local_data(replicated, np.asarray(jnp.asarray(x)))
      return jax.tree.map(put, tree)
    devices = self.mesh.devices.size
    if shard and _batch_size(tree, 0) % devices == 0:
      return jax.device_put(tree, NamedSharding(self.mesh, P("data")))
    return jax.device_put(tree, NamedSharding(self.mesh, P()))

  def _place_rows(self, batch: Any, counts: np.ndarray) -> Any:
    """The global batch from this process's rows (``counts[p]`` rows on process ``p``)."""
    if len(set(counts.tolist())) == 1 and int(counts.sum()) % self.mesh.devices.size == 0:
      sharded = NamedSharding(self.mesh, P("data"))
      return jax.tree.map(
          lambda x: jax.make_array_from_process_local_data(sharded, np.asarray(x)), batch)
    return self._place(jax.tree.map(lambda x: _gather_rows(x, counts), batch), shard=False)

  def place_vector(self, v: Any) -> jax.Array:
    """A flat vector (host or device) placed where :meth:`device_matvec` takes it: on the
    device, or replicated over the mesh (under ``jax.distributed`` every process passes
    the same values)."""
    return self._place(jnp.asarray(v, self.dtype), shard=False)

  def device_matvec(self, v: jax.Array) -> jax.Array:
    """``H v`` for a flat vector placed by :meth:`place_vector`, placed the same way.

    What the eigensolvers call: nothing crosses to the host but one finiteness flag
    per batch. Under ``jax.distributed`` every process passes the same ``v``.

    Raises:
      ValueError: ``v`` has the wrong shape, or a batch's HVP is not finite (the
        error names the batch).
    """
    if v.shape != (self.size,):
      raise ValueError(f"v must have shape ({self.size},), got {v.shape}")
    if self._index is not None:  # the block: H [v; 0], then the selected rows
      v = _embed(self.full_spec.size, self.full_spec.dtype, self._index_placed(), v)
    acc = _zeros_like(v)
    self._linearized()
    flags = []
    for i, size in enumerate(self.sizes):
      weight = np.asarray(size, self.full_spec.dtype)
      if self._linear is not None:
        acc, ok = _accumulate_linear(self.full_spec, acc, self._linear[i], v, weight)
      else:
        acc, ok = _accumulate(self.loss_fn, self.full_spec, acc, self._params,
                              self._batches[i], v, weight)
      flags.append(ok)
    self._check_finite(flags)
    self.num_matvecs += 1
    out = _finish(acc, np.asarray(self.total, self.full_spec.dtype),
                  None if self._index is None else self._index_placed())
    return out if out.dtype == self.dtype else out.astype(self.dtype)

  def _linearized(self) -> None:
    """Makes each batch's linearization once, when ``linearize`` (under ``remat``: the
    checkpointed one)."""
    if self._linearize and self._linear is None:
      make = _linearize_remat if self._remat else _linearize
      self._linear = [make(self.loss_fn, self._params, b) for b in self._batches]

  def _check_finite(self, flags: list) -> None:
    finite = np.asarray(jax.device_get(flags))
    if not finite.all():
      bad = int(np.argmin(finite))
      raise ValueError(f"the Hessian-vector product of batch {bad} (of {len(self.sizes)}, "
                       f"{self.sizes[bad]} examples) is not finite (NaN or inf): check the "
                       f"loss on that batch")

  def batch_quadratic_forms(self, v: Any) -> np.ndarray:
    """``v' H_b v`` for every batch ``b`` (``H_b``: the Hessian of batch ``b``'s mean loss).

    One pass over the batches (counted as one dataset-level HVP): the full-data value
    is ``sum_b n_b (v' H_b v) / N``, and the value without batch ``b`` is the same sum
    without its term, which makes a delete-one-batch jackknife of Hutchinson's trace cost
    no HVPs beyond the estimate's own. Float64 on the host, ``(len(sizes),)``.

    Raises:
      ValueError: ``v`` has the wrong shape, or a batch's HVP is not finite.
    """
    v = self.place_vector(v)
    if v.shape != (self.size,):
      raise ValueError(f"v must have shape ({self.size},), got {v.shape}")
    if self._index is not None:
      v = _embed(self.full_spec.size, self.full_spec.dtype, self._index_placed(), v)
    self._linearized()
    out = [_quadratic_linear(self.full_spec, linear, v) for linear in self._linear] if (
        self._linear is not None) else [
            _quadratic(self.loss_fn, self.full_spec, self._params, b, v) for b in self._batches]
    self._check_finite([ok for _, ok in out])
    self.num_matvecs += 1
    return np.asarray(jax.device_get([value for value, _ in out]), np.float64)

  def leave_one_out(self, index: int) -> DatasetHessian:
    """The operator on every batch but ``index`` (same loss, point, mesh and ``wrt``).

    Shares this operator's placed batches (and linearizations, when made): nothing is
    copied to the devices again. Its :attr:`num_matvecs` starts at 0.

    Raises:
      ValueError: ``index`` is not in ``[0, number of batches)``, or there is one batch.
    """
    count = len(self.sizes)
    if count < 2:
      raise ValueError(f"leave_one_out needs at least 2 batches, got {count}")
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or not (
        0 <= index < count):
      raise ValueError(f"index must be an integer in [0, {count - 1}], got {index!r}")
    def drop(items: list) -> list:
      return [x for i, x in enumerate(items) if i != index]

    other = copy.copy(self)
    other.sizes = drop(self.sizes)
    other.total = sum(other.sizes)
    other._batches = drop(self._batches)
    other._batch_list = drop(self._batch_list)
    other._linear = None if self._linear is None else drop(self._linear)
    other.num_matvecs = 0
    return other

  def _index_placed(self) -> jax.Array:
    if self._index_device is None:
      self._index_device = self._place(jnp.asarray(self._index, jnp.int32), shard=False)
    return self._index_device

  def matvec(self, v: np.ndarray) -> np.ndarray:
    """``H v`` for a flat vector ``v`` of length :attr:`size` (host arrays in and out).

    Under ``jax.distributed`` every process passes the same ``v`` and gets the same result.

    Raises:
      ValueError: ``v`` has the wrong shape, or a batch's HVP is not finite (the
        error names the batch).
    """
    # device_matvec checks the shape; np.array: a writeable host copy.
    return np.array(self.device_matvec(self.place_vector(v)))

  def subsets(self, count: int) -> list[DatasetHessian]:
    """``count`` operators on disjoint, contiguous groups of the batches (same loss, point,
    mesh and ``wrt``): for the sampling spread of an estimate.

    Raises:
      ValueError: ``count`` is not an integer in ``[2, number of batches]``.
    """
    n = len(self._batch_list)
    if isinstance(count, bool) or not isinstance(count, int) or not 2 <= count <= n:
      raise ValueError(f"error_bars must be an integer in [2, {n}] (the number of batches: "
                       f"each subset needs at least one), got {count!r}")
    groups = np.array_split(np.arange(n), count)
    return [DatasetHessian(self.loss_fn, self._params, [self._batch_list[i] for i in group],
                           linearize=self._linearize, mesh=self.mesh, wrt=self._wrt,
                           remat=self._remat)
            for group in groups]

  def __call__(self, v: Any) -> Any:
    """``H v`` for a pytree ``v`` shaped like the parameters."""
    return self.unravel(self.device_matvec(self.place_vector(self.spec.ravel(v))))

  def unravel(self, flat: np.ndarray | jax.Array) -> Any:
    """The parameter pytree of a flat vector (one compiled program, not one op per leaf)."""
    return _unravel(self.spec, jnp.asarray(flat))
