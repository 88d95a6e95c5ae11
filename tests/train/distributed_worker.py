"""One process of a multi-process run on localhost (jax.distributed, gloo collectives).

Usage: python distributed_worker.py PROCESS_ID NUM_PROCESSES PORT DATA.npz WORKDIR OUT.npz
With NUM_PROCESSES=1 it runs without jax.distributed, on one device: the reference.
"""

import sys

import jax
import numpy as np


def main(process_id: int, num_processes: int, port: int, data: str, workdir: str, out: str):
  if num_processes > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"localhost:{port}",
                               num_processes=num_processes, process_id=process_id,
                               local_device_ids=[0])
  from lrsched.train import Config, train

  config = Config(data={"name": data}, model={"name": "wide_resnet", "depth": 10,
                                              "widen_factor": 1},
                  batch_size=32, epochs=2, learning_rate=0.05, augment=True,
                  checkpoint_every=0, progress=False)
  result = train(config, workdir)
  leaves = [np.asarray(x.addressable_data(0)) for x in jax.tree.leaves(result.state.params)]
  if jax.process_index() == 0:
    losses = [r["train_loss"] for r in result.history]
    np.savez(out, losses=np.array(losses), devices=jax.device_count(),
             **{f"p{i}": x for i, x in enumerate(leaves)})


if __name__ == "__main__":
  pid, count, port = (int(a) for a in sys.argv[1:4])
  main(pid, count, port, *sys.argv[4:7])
