"""PS10 (clean labels), an MLP, SGD with step decay (You et al. 2019, Sec. 5, Fig. 9).

The README's main job runs it beside the best constant rate::

  lrsched compare --config experiments/configs/ps10_step_decay.py \\
      --config experiments/configs/ps10_constant.py --workdir runs/ps10

or alone: ``lrsched train --config experiments/configs/ps10_step_decay.py``.

Learning rate 0.1, divided by 10 at epochs 75 and 225 of 300 (the paper's three stages);
8000 clean training samples, 2000 test samples. PS10's images are constant over space, so
the network is an MLP on the 6 channel values (3 hidden layers of 512 units with BatchNorm,
:class:`lrsched.models.MLP`): on these images a WideResNet computes the same kind of
function at ~20x the cost per step, and needs far more steps than a CPU affords to learn the
100 complex patterns per class (the first CPU-scale runs, WRN-10-1 for 30 epochs, learned
29%). 1-nearest-neighbour on the raw inputs is the reference of what is learnable: it
classifies ~94% of complex test samples. experiments/ps10_patterns.py adds the noisy
variants (``noise_fraction``, ``noise="label_flip"``, ``noise_jitter``) and the seeds.

Expected (seed 0; 300 epochs, 7 minutes on 2 cores shared with three other runs): simple
patterns 100% test; complex patterns plateau near 45% test in the 0.1 stage, jump at each
decay (+12 points within one epoch of the first) and end at 96.6% train / 88.2% test.
Against ``ps10_constant.py`` (0.01 throughout; 78.6% complex test) step decay ends 9.6
points higher. The three-seed verdicts are in experiments/RESULTS.md (section 1).
"""

from lrsched.train import Config

EPOCHS = 300
BOUNDARIES = [75, 225]


def get_config() -> Config:
  return Config(
      data={"name": "ps10", "num_train": 8000, "num_test": 2000, "noise_fraction": 0.0,
            "image_size": 1, "seed": 0},
      eval_train=True,
      model={"name": "mlp", "width": 512, "depth": 3},
      batch_size=128,
      epochs=EPOCHS,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": BOUNDARIES,
                     "factor": 0.1, "unit": "epochs"},
      momentum=0.9,
      weight_decay=5e-4,
      augment=False,  # PS10 images are constant over space: crops and flips do nothing
      checkpoint_every=100,
  )
