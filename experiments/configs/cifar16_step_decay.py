"""WRN-10-1 on the real CIFAR-10 subset at 16x16, SGD with step decay: the CPU-scale baseline.

The shared baseline of ``experiments/autodecay_vs_step.py``,
``experiments/snapshot_ensembles.py``, ``experiments/gd_vs_sgd.py`` (on 1024 images),
``experiments/budgeted_training.py`` (on 2560) and ``experiments/transferability.py``.
The 5085 training and 1017 test images of ``../shared/data/cifar10_subset.npz``,
average-pooled to 16x16 (a quarter of the cost; training fails naming that path when
the file is absent); pad-4 crop + flip; batch 128; momentum 0.9, weight decay 5e-4;
learning rate 0.1, divided by 10 at epochs 15 and 23 of 30. Run alone::

  lrsched train --config experiments/configs/cifar16_step_decay.py --workdir runs/cifar16

Expected (2 CPU cores, about 1.5 minutes; seed 0): test accuracy ~54% at the end
(five-seed numbers in experiments/RESULTS.md, section 4).
"""

import pathlib

from lrsched.train import Config

SUBSET = pathlib.Path(__file__).resolve().parents[3] / "shared/data/cifar10_subset.npz"
EPOCHS = 30


def data_spec() -> dict:
  """The CIFAR-10 subset at 16x16 (loading it fails with this path if it is absent)."""
  return {"name": str(SUBSET), "image_size": 16}


def get_config() -> Config:
  return Config(
      data=data_spec(),
      model={"name": "wide_resnet", "depth": 10, "widen_factor": 1},
      batch_size=128,
      epochs=EPOCHS,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [15, 23],
                     "factor": 0.1, "unit": "epochs"},
      momentum=0.9,
      weight_decay=5e-4,
      augment=True,
      checkpoint_every=0,
      progress=False,
  )
