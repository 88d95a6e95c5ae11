"""PS10 with 10% noise, trained at the small constant rate that step decay ends at (0.001).

The baseline of ``ps10_step_decay.py`` (You et al. 2019, Fig. 10: lrDecay vs a constant
small learning rate); everything else is identical. Run::

  lrsched compare --config experiments/configs/ps10_step_decay.py \
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

Expected (2 CPU cores, about a minute; seed 0): simple patterns learned more slowly
than with step decay (~98% test at the end); complex patterns ~32% test, noisy training
samples memorized to ~17% -- within a few points of step decay at this scale (see
``ps10_step_decay.py``).
"""

import dataclasses
import pathlib
import runpy

_step_decay = runpy.run_path(str(pathlib.Path(__file__).with_name("ps10_step_decay.py")))


def get_config():
  return dataclasses.replace(_step_decay["get_config"](), learning_rate=0.001)
