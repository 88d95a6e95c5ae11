"""PS10 (clean labels) at the best constant rate, 0.01: the baseline of the README's main job.

The baseline of ``ps10_step_decay.py``; everything else is identical. The rate is the best
of 0.1, 0.01 and 0.001 in the first, separate PS10 experiment (600 epochs: 54.0%, 78.7%,
74.9% complex test accuracy over three seeds), fixed before the runs it is compared in.
Run::

  lrsched compare --config experiments/configs/ps10_step_decay.py \\
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

Expected (seed 0; 300 epochs, 4.5 minutes on 2 cores shared with three other runs):
simple patterns 99.7% test; complex patterns learned steadily, ending at 88.0% train /
78.6% test, 9.6 points below step decay on the test set.
"""

import dataclasses
import pathlib
import runpy

_step_decay = runpy.run_path(str(pathlib.Path(__file__).with_name("ps10_step_decay.py")))


def get_config():
  return dataclasses.replace(_step_decay["get_config"](), learning_rate=0.01)
