"""PS10 with 10% flipped labels, trained at the small constant rate step decay ends at (0.001).

The baseline of ``ps10_step_decay.py`` (You et al. 2019, Fig. 10: lrDecay vs a constant
small learning rate); everything else is identical. Run::

  lrsched compare --config experiments/configs/ps10_step_decay.py \\
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

Expected (2 CPU cores, about 2.5 minutes; seed 0): simple patterns 99.9% test; complex
patterns learned slowly and steadily, ending at 80.2% train / 68.6% test, 18.0 points
below step decay on the test set; 5.1% of the flipped labels reproduced (step decay: 6.5%).
"""

import dataclasses
import pathlib
import runpy

_step_decay = runpy.run_path(str(pathlib.Path(__file__).with_name("ps10_step_decay.py")))


def get_config():
  return dataclasses.replace(_step_decay["get_config"](), learning_rate=0.01)
