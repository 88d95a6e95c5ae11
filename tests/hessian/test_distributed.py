"""DatasetHessian under jax.distributed: 2 processes (one CPU device each) equal 1 process.

Each process passes its rows of every batch (``distributed_worker.py``); the matvec,
the Lanczos eigenvalues and the Hutchinson trace (with per-subset estimates) must be
the same on both processes and equal the one-process result on the full batches, to
1e-5 relative (to the largest magnitude). The results are float32 and the sharded
batches' reductions run in another order (partial sums per device, then an
all-reduce), which moves them by a few ulps: observed at most ~6e-7.
"""

import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.hessian.distributed_worker import SKIP_CODE

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent
FLOAT_KEYS = ("mlp_matvec", "mlp_matvec_placed_params", "mlp_eigenvalues", "mlp_trace",
              "mlp_trace_samples", "mlp_trace_subsets", "cnn_matvec")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _relative(a: np.ndarray, b: np.ndarray) -> float:
  """The largest difference relative to the largest magnitude of the reference ``b``."""
  return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.slow  # ~22 s of CPU in 3 processes: 35-40 s on a busy 2-core machine
def test_two_processes_equal_one_process(tmp_path):
  env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)  # one CPU device per process
  worker, port = str(HERE / "distributed_worker.py"), _free_port()
  # the reference runs alongside the two workers (the wall time is mostly compilation)
  commands = [[sys.executable, worker, str(i), "2", str(port), str(tmp_path / "two.npz")]
              for i in range(2)]
  commands.append([sys.executable, worker, "0", "1", "0", str(tmp_path / "one.npz")])
  procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) for c in commands]
  try:
    logs = [p.communicate(timeout=240)[0] for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  if any(p.returncode == SKIP_CODE for p in procs[:2]):
    reason = next(line for log in logs for line in log.splitlines() if line.startswith("SKIP:"))
    pytest.skip(reason)
  assert all(p.returncode == 0 for p in procs), "\n".join(logs)[-4000:]

  one = np.load(tmp_path / "one.npz")
  two = [np.load(tmp_path / f"two.{i}.npz") for i in range(2)]
  assert int(one["devices"]) == 1 and int(one["processes"]) == 1
  for result in two:
    assert int(result["devices"]) == 2 and int(result["processes"]) == 2
    np.testing.assert_array_equal(result["sizes"], one["sizes"])  # global sizes
    assert int(result["total"]) == int(one["total"]) == 23
    # both placements: the batches of 8 (4 + 4 rows) sharded, that of 7 (4 + 3) gathered
    np.testing.assert_array_equal(result["sharded"], [True, True, False])
    assert result["mlp_converged"].all() and bool(result["cnn_linearized"])
  for key in FLOAT_KEYS:
    np.testing.assert_array_equal(two[0][key], two[1][key], err_msg=key)  # every process
  np.testing.assert_array_equal(two[0]["mlp_matvec_placed_params"], two[0]["mlp_matvec"])
  worst = {key: _relative(two[0][key], one[key]) for key in FLOAT_KEYS}
  print("max relative differences, 2 processes vs 1:", worst)
  assert max(worst.values()) < 1e-5, worst
