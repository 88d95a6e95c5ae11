"""Full scale: PS10 at 32x32 with 10% noise on WRN-16-4, step decay (You et al. Sec. 5).

The full-scale counterpart of ``configs/ps10_step_decay.py`` (the README's main job and
experiment 1 run at CPU scale: an MLP on the 6 channel values, 8000 samples, 300 epochs): the
paper's 32x32 images (CIFAR-10's size), 50,000 training samples (10% noise), a wider
network and 90 epochs, 0.1 -> 0.01 -> 0.001 at epochs 30 and 60 (the paper's stage
lengths are not given; our choice). On a GPU/TPU::

  lrsched compare --config experiments/configs/full/ps10_step_decay.py \\
      --config experiments/configs/full/ps10_constant.py --workdir runs/full/ps10

Expected per the paper (Fig. 10): step decay memorizes less noise and learns more complex
patterns than the constant 0.001. Not run in this repository (no accelerator here); the
CPU-scale study, where this does not show, is experiment 1 of experiments/RESULTS.md.
"""

from lrsched.train import Config


def get_config() -> Config:
  return Config(
      data={"name": "ps10", "num_train": 50_000, "num_test": 10_000, "noise_fraction": 0.1,
            "image_size": 32, "seed": 0},
      eval_train=True,
      model={"name": "wide_resnet", "depth": 16, "widen_factor": 4},
      batch_size=128,
      epochs=90,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [30, 60],
                     "factor": 0.1, "unit": "epochs"},
      momentum=0.9,
      weight_decay=5e-4,
      augment=False,  # constant over space: crops and flips do nothing
      checkpoint_every=5,
  )
