"""PS10 with 10% noisy samples, WRN-10-1, SGD with step decay (You et al. 2019, Sec. 5).

The README's main job runs it beside its constant-rate baseline::

  lrsched compare --config experiments/configs/ps10_step_decay.py \
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

or alone: ``lrsched train --config experiments/configs/ps10_step_decay.py``.

Learning rate 0.1, divided by 10 at epochs 15 and 23 of 30 (the paper's three
stages at CPU scale); 8000 training samples (10% noise), 4x4 images (PS10 images
are constant over space, so the size changes nothing but the cost).

Expected (2 CPU cores, about a minute per run; seed 0): simple patterns are
learned within a few epochs (test accuracy on simple patterns ~99.7%); complex
patterns stay hard at this scale (~29% test, ~34% train) and the noisy training
samples are memorized to ~18%. Against ``ps10_constant.py`` (0.001 throughout)
the final complex-pattern and noise accuracies are within a few points: the
paper's Fig. 10 gap does not show at this size in one seed; the multi-seed study
is experiment 1 of experiments/RESULTS.md.
"""

from lrsched.train import Config

EPOCHS = 30
BOUNDARIES = [15, 23]


def get_config() -> Config:
  return Config(
      data={"name": "ps10", "num_train": 8000, "num_test": 2000, "noise_fraction": 0.1,
            "image_size": 4, "seed": 0},
      eval_train=True,
      model={"name": "wide_resnet", "depth": 10, "widen_factor": 1},
      batch_size=128,
      epochs=EPOCHS,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": BOUNDARIES,
                     "factor": 0.1, "unit": "epochs"},
      momentum=0.9,
      weight_decay=5e-4,
      augment=False,  # PS10 images are constant over space: crops and flips do nothing
      checkpoint_every=10,
  )
