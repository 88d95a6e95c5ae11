"""Full scale: WRN-28-10 on CIFAR-10, SGD with step decay (Zagoruyko & Komodakis; You et al.).

The full-scale counterpart of ``configs/cifar16_step_decay.py`` (experiments 2, 4, 6, 7 of
experiments/RESULTS.md ran at CPU scale): CIFAR-10 through tfds (downloaded on first
use), 32x32 with pad-4 crop + flip, batch 128, Nesterov momentum 0.9, weight decay 5e-4,
learning rate 0.1 multiplied by 0.2 at epochs 60, 120 and 160 of 200. On a GPU/TPU
(Colab: ``colab/02_train_wideresnet.ipynb``)::

  lrsched train --config experiments/configs/full/cifar10_wrn28_10_step_decay.py \\
      --workdir runs/full/wrn28_10 [--resume]

Variants through overrides, e.g. the constant-rate baseline of Fig. 7
(``learning_rate=0.1``), AutoDecay (``learning_rate=0.1 autodecay={'window':5,'tolerance':0.03}``),
GD (``full_batch=True augment=False epochs=3000 learning_rate.boundaries=[1000]
learning_rate.factor=0.1 batch_size=1000``), 1cycle (``epochs=30
learning_rate={'name':'one_cycle','total_steps':30,'peak_value':1.0,'unit':'epochs'}``).

Expected (published for WRN-28-10): ~96% test accuracy (3.9-4.0% error). Not run in this
repository (no accelerator here); the CPU-scale results are in experiments/RESULTS.md.

The top-10 Hessian spectrum of the trained run (You et al. Fig. 5) on the accelerator, with
delete-one-batch jackknife error bars over 10 batches of 500 training images::

  lrsched hessian runs/full/wrn28_10 --split train --num-batches 10 --batch-size 500 \\
      --k 10 --mode train --max-basis 13 --jackknife --out runs/full/wrn28_10/hessian

A Lanczos vector of WRN-28-10 (36.5M parameters, float32) is 146 MB: ``--max-basis 13``
(thick restart) holds the basis under 2 GB beside the model and its linearization;
``--max-basis auto`` (2k + 10 = 30 vectors) needs 4.4 GB, the unrestarted method one vector
per HVP. Not run here (no accelerator); the memory figures are that arithmetic, not a
measurement.
"""

from lrsched.train import Config


def get_config() -> Config:
  return Config(
      data={"name": "cifar10", "download": True},
      model={"name": "wide_resnet", "depth": 28, "widen_factor": 10},
      batch_size=128,
      epochs=200,
      learning_rate={"name": "step_decay", "init_value": 0.1, "boundaries": [60, 120, 160],
                     "factor": 0.2, "unit": "epochs"},
      momentum=0.9,
      nesterov=True,
      weight_decay=5e-4,
      augment=True,
      checkpoint_every=5,
  )
