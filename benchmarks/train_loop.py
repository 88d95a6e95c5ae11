"""The callback training loop against an earlier loop: seconds per epoch, interleaved.

Trains the same small config (WRN-10-1 on 1024 random 16x16 images, batch 128, eval on
256, sharpness tracking off, checkpoints every epoch) with this checkout's ``lrsched`` and
with another checkout's (``--baseline``, e.g. a git worktree of the commit before the
callback loop), alternating the two in separate processes ``--rounds`` times; each round
trains ``--epochs`` epochs and reports the median wall time of its epochs after the first
(compilation). Prints each round's ratio (this / baseline) and the median and minimum over
rounds. Run::

  git worktree add /tmp/pre <commit before the callback loop>
  python benchmarks/train_loop.py --baseline /tmp/pre --rounds 6 --epochs 6
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parents[1]

CHILD = r"""
import json, pathlib, statistics, sys, tempfile
import numpy as np
from lrsched.train import Config, train
work = pathlib.Path(tempfile.mkdtemp())
rng = np.random.default_rng(0)
np.savez(work / "d.npz", x_train=rng.random((1024, 16, 16, 3), np.float32),
         y_train=rng.integers(0, 10, 1024), x_test=rng.random((256, 16, 16, 3), np.float32),
         y_test=rng.integers(0, 10, 256))
config = Config(data={"name": str(work / "d.npz")}, batch_size=128, epochs=int(sys.argv[1]),
                learning_rate=0.05, augment=True, progress=False, checkpoint_every=1)
history = train(config, work / "run").history
print(json.dumps(statistics.median(r["seconds"] for r in history[1:])))
"""


def one_round(root: pathlib.Path, epochs: int) -> float:
  env = dict(os.environ, PYTHONPATH=str(root))
  out = subprocess.run([sys.executable, "-c", CHILD, str(epochs)], env=env, check=True,
                       capture_output=True, text=True, cwd=tempfile.gettempdir())
  return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--baseline", required=True, help="another checkout's root directory")
  parser.add_argument("--rounds", type=int, default=6)
  parser.add_argument("--epochs", type=int, default=6)
  args = parser.parse_args(argv)
  ratios = []
  for i in range(args.rounds):
    order = [("baseline", pathlib.Path(args.baseline)), ("this", HERE)]
    if i % 2:
      order.reverse()
    seconds = {name: one_round(root, args.epochs) for name, root in order}
    ratios.append(seconds["this"] / seconds["baseline"])
    print(f"round {i + 1}: this {seconds['this']:.3f} s/epoch, baseline "
          f"{seconds['baseline']:.3f} s/epoch, ratio {ratios[-1]:.3f}", flush=True)
  ratios.sort()
  print(f"median ratio {ratios[len(ratios) // 2]:.3f}, min {ratios[0]:.3f}, "
        f"max {ratios[-1]:.3f} over {len(ratios)} rounds")


if __name__ == "__main__":
  main()
