"""Data parallelism: 8 host devices in one process, and 2 processes with jax.distributed."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.train.conftest import write_npz

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent


def _env(**extra):
  env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
  env.pop("XLA_FLAGS", None)
  env.update(extra)
  return env


def test_sharded_step_over_8_devices_equals_one_device():
  env = _env(XLA_FLAGS="--xla_force_host_platform_device_count=8")
  out = subprocess.run([sys.executable, str(HERE / "sharded_step_check.py")], env=env,
                       capture_output=True, text=True, timeout=600, check=True)
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["devices"] == 8
  assert result["worst_rel"] < 1e-5, result
  np.testing.assert_allclose(result["sharded_losses"], result["single_losses"], rtol=1e-5)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_one_process(tmp_path):
  data = write_npz(tmp_path / "data.npz", n_train=128, n_test=40)
  worker = str(HERE / "distributed_worker.py")
  port = _free_port()
  procs = [subprocess.Popen([sys.executable, worker, str(i), "2", str(port), data,
                             str(tmp_path / "two"), str(tmp_path / "two.npz")],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) for i in range(2)]
  logs = [p.communicate(timeout=600)[0] for p in procs]
  assert all(p.returncode == 0 for p in procs), "\n".join(logs)[-3000:]
  subprocess.run([sys.executable, worker, "0", "1", "0", data, str(tmp_path / "one"),
                  str(tmp_path / "one.npz")], env=_env(), check=True, timeout=600)
  two, one = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
  assert int(two["devices"]) == 2 and int(one["devices"]) == 1
  np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
  params = [k for k in one.files if k.startswith("p")]
  for key in params:
    np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-6)
