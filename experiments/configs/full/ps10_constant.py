"""Full scale: PS10 (32x32, 10% noise, WRN-16-4) at the constant small rate 0.001.

The baseline of ``full/ps10_step_decay.py`` (You et al. Fig. 10); the command and the
expected result are in that file's docstring. Not run in this repository.
"""

import dataclasses
import pathlib
import runpy

_step_decay = runpy.run_path(str(pathlib.Path(__file__).with_name("ps10_step_decay.py")))


def get_config():
  return dataclasses.replace(_step_decay["get_config"](), learning_rate=0.001)
