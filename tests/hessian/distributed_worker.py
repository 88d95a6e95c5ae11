"""One process of a multi-process DatasetHessian run on localhost (jax.distributed, gloo).

Usage: python distributed_worker.py PROCESS_ID NUM_PROCESSES PORT OUT.npz
With NUM_PROCESSES=1 it runs without jax.distributed, on one device, on the full
batches: the reference. Otherwise process ``i`` passes its rows of every batch
(``np.array_split`` of the rows: the batches of 8 are split 4/4 and sharded, the
batch of 7 is split 4/3 and gathered) and writes its own results to ``OUT.npz`` with
``.{i}`` before the suffix. Exits with :data:`SKIP_CODE` after a line ``SKIP: reason``
when gloo CPU collectives are unavailable.
"""

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

SKIP_CODE = 77
SIZES = (8, 8, 7)  # global batch sizes (two shapes: fewer compilations)


def local_rows(batch: dict, process_id: int, num_processes: int) -> dict:
  """This process's rows of a global batch (contiguous, in process order)."""
  rows = np.array_split(np.arange(len(batch["y" if "y" in batch else "label"])),
                        num_processes)[process_id]
  return {k: v[rows] for k, v in batch.items()}


def start(process_id: int, num_processes: int, port: int) -> None:
  """Joins the run (gloo collectives); exits with SKIP_CODE when gloo is unavailable."""
  try:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}",
                               num_processes=num_processes, process_id=process_id,
                               local_device_ids=[0])
    jax.devices()  # creates the backend (and its collectives)
  except Exception as error:  # noqa: BLE001 -- only a gloo failure is a skip
    if "gloo" not in str(error).lower():
      raise
    print(f"SKIP: gloo CPU collectives are unavailable: {error}", flush=True)
    sys.exit(SKIP_CODE)


def bn_mlp_loss(params: dict, batch: dict) -> jax.Array:
  """A tanh MLP with batch normalization (batch statistics) of its hidden layer."""
  hidden = batch["x"] @ params["w1"]
  mean, var = jnp.mean(hidden, 0), jnp.var(hidden, 0)
  hidden = jnp.tanh((hidden - mean) / jnp.sqrt(var + 1e-3) * params["gamma"] + params["beta"])
  logits = hidden @ params["w2"] + params["b2"]
  return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()


def bn_mlp_params(sizes: tuple[int, int, int] = (5, 7, 3)) -> dict:
  """Float32 parameters from NumPy (no jax.random: fewer compilations)."""
  rng = np.random.default_rng(0)
  normal = lambda *shape: rng.standard_normal(shape).astype(np.float32)
  return {"w1": normal(*sizes[:2]) / np.sqrt(sizes[0]), "gamma": 1 + 0.2 * normal(sizes[1]),
          "beta": 0.2 * normal(sizes[1]), "w2": normal(*sizes[1:]) / np.sqrt(sizes[1]),
          "b2": 0.1 * normal(sizes[2])}


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
  if num_processes > 1:
    start(process_id, num_processes, port)
  from flax import nnx

  from lrsched.hessian import DatasetHessian, hessian_trace, model_loss, top_eigenvalues
  from tests.hessian.conftest import SmallCNN, cnn_data, mlp_data, split_batches

  def local(data, sizes=SIZES):
    return [local_rows(b, process_id, num_processes) for b in split_batches(data, sizes)]

  results = {"devices": jax.device_count(), "processes": jax.process_count()}
  # An MLP with train-mode batch norm (float32; the statistics are the global batch's):
  # matvec, Lanczos, Hutchinson with per-batch subsets.
  params, batches = bn_mlp_params(), local(mlp_data(sum(SIZES), dtype=np.float32))
  op = DatasetHessian(bn_mlp_loss, params, batches)
  results["sizes"], results["total"] = np.array(op.sizes), op.total
  data_spec = jax.sharding.PartitionSpec("data")
  results["sharded"] = np.array([getattr(b["x"].sharding, "spec", None) == data_spec
                                 for b in op._batches])
  v = np.random.default_rng(0).standard_normal(op.size).astype(np.float32)
  results["mlp_matvec"] = op.matvec(v)
  # params that are global arrays already (as the training state is under jax.distributed)
  results["mlp_matvec_placed_params"] = DatasetHessian(bn_mlp_loss, op._params, batches).matvec(v)
  top = top_eigenvalues(op, k=3, tol=1e-4)
  results["mlp_eigenvalues"], results["mlp_converged"] = top.eigenvalues, top.converged
  trace = hessian_trace(op, num_probes=4, seed=3, error_bars=3)
  results["mlp_trace"], results["mlp_trace_samples"] = trace.trace, trace.samples
  results["mlp_trace_subsets"] = np.array(trace.sampling["values"])
  # A conv net through model_loss (train-mode BatchNorm), one batch of 8, so linearized
  # (jax.linearize's residuals are global arrays): its matvec.
  loss_fn, cnn_params = model_loss(SmallCNN(nnx.Rngs(0)), "train")
  cnn = DatasetHessian(loss_fn, cnn_params, local(cnn_data(8), (8,)))
  w = np.random.default_rng(1).standard_normal(cnn.size).astype(np.float32)
  results["cnn_matvec"] = cnn.matvec(w)
  results["cnn_linearized"] = cnn._linear is not None
  path = pathlib.Path(out)
  if num_processes > 1:
    path = path.with_suffix(f".{process_id}{path.suffix}")
  np.savez(path, **results)


if __name__ == "__main__":
  pid, count, port = (int(a) for a in sys.argv[1:4])
  main(pid, count, port, sys.argv[4])
