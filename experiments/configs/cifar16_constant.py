"""WRN-10-1 on the CIFAR-10 subset at 16x16 at a constant rate, every checkpoint kept: the
stable run that cooldown branches start from ("train once, pick the budget later").

``cifar16_step_decay.py`` with the learning rate held at 0.1 for all 30 epochs and a
checkpoint at every epoch (30 kept, ~1 MB each), so that ``lrsched cooldown`` can branch
from any of them (Hägele et al. 2024: a constant rate plus a 20% ``1-sqrt`` cooldown
matches a cosine schedule of the same length). Run, then branch the 30-epoch budget::

  lrsched train --config experiments/configs/cifar16_constant.py --workdir runs/constant
  lrsched cooldown runs/constant --from-epoch 24 --epochs 6 --shape 1-sqrt

Expected (2 CPU cores, about 1.5 minutes for the run and 20 s for the branch; seed 0):
see the README's "Train once, pick the budget later" for the measured accuracies.
"""

import dataclasses
import pathlib
import runpy

from lrsched.train import Config

HERE = pathlib.Path(__file__).resolve().parent


def get_config() -> Config:
  base = runpy.run_path(str(HERE / "cifar16_step_decay.py"))["get_config"]()
  return dataclasses.replace(base, learning_rate=0.1, checkpoint_every=1,
                             keep_checkpoints=base.epochs)
