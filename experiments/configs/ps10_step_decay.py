"""PS10 with 10% noisy samples, WRN-10-1, SGD with step decay (You et al. 2019, Sec. 5).

Run (with the constant-rate baseline, as the README's main job does)::

  lrsched compare --config experiments/configs/ps10_step_decay.py \
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

or alone: ``lrsched train --config experiments/configs/ps10_step_decay.py``.

Expected (2 CPU cores, about 2 minutes per run; numbers of the committed run in
experiments/RESULTS.md): simple patterns are learned first; after the decays the
accuracy on complex patterns rises, and the large initial rate keeps the
memorization of the noisy training samples low.
"""

from lrsched.train import Config

EPOCHS = 12


def get_config() -> Config:
  return Config(
      data={"name": "ps10", "num_train": 6000, "num_test": 2000, "noise_fraction": 0.1,
            "image_size": 8, "seed": 0},
      eval_train=True,
      model={"name": "wide_resnet", "depth": 10, "widen_factor": 1},
      batch_size=128,
      epochs=EPOCHS,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [6, 9],
                     "factor": 0.1, "unit": "epochs"},
      momentum=0.9,
      weight_decay=5e-4,
      augment=False,  # PS10 images are constant over space: crops and flips do nothing
      checkpoint_every=4,
  )
