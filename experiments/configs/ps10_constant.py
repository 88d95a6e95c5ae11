"""PS10 with 10% noise, trained with the small constant rate step decay ends at.

The baseline of ``ps10_step_decay.py`` (the comparison of You et al. 2019, Fig. 10:
lrDecay vs a constant small learning rate). Run::

  lrsched compare --config experiments/configs/ps10_step_decay.py \
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

Expected: the small constant rate fits the noisy training samples more and does not
beat step decay on complex patterns.
"""

import dataclasses
import pathlib
import runpy

_step_decay = runpy.run_path(str(pathlib.Path(__file__).with_name("ps10_step_decay.py")))


def get_config():
  return dataclasses.replace(_step_decay["get_config"](), learning_rate=0.001)
