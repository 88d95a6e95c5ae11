"""Cohen et al.'s fc-tanh at the edge of stability: full-batch GD on 1000 CIFAR-10 images.

The setting of Cohen et al. (ICLR 2021) Fig. 1 at CPU scale (``../shared/reference.md``
sec. 5): a fully connected tanh network 768-200-200-10 (``"fc"``,
:class:`lrsched.models.FullyConnected`, LeCun-normal init: standard deviation
``1/sqrt(fan_in)``, zero biases, the reference's "1/sqrt(fan_in) init"; ``model.init=
"pytorch"`` gives PyTorch's uniform default, whose initial sharpness is 3.4x lower) on the
first 1000 training images of ``../shared/data/cifar10_subset.npz``, average-pooled to
16x16 and standardized per channel; the square loss ``0.5 * mean_i ||f(x_i) -
onehot(y_i)||^2`` (``loss="mse"``); full-batch gradient descent (one step per epoch),
momentum 0, no weight decay, no augmentation, a constant learning rate; the sharpness (top
Hessian eigenvalue of the training loss) tracked on the whole training set every
``sharpness_every`` steps (``sharpness.jsonl``, ``sharpness.png`` with ``2/lr``). Run::

  lrsched train --config experiments/configs/eos_fc_tanh.py --workdir runs/eos \\
      learning_rate=0.04 epochs=1500 sharpness_every=50

Expected (seed 0, measured 2026-12-02 on 2 CPU cores shared with other jobs; 0.06-0.25 s a
step depending on the load): lambda_1 is ~90 at initialization, above ``2/lr = 50``: the
first steps push it down to ~45, then it rises again (progressive sharpening) and from
step ~200 hovers at the edge: ``lr * lambda_1 / 2`` (``lr_sharpness_half``) averaged 1.08
(range 1.05-1.11) over steps 501-1000 of lr 0.04 (``experiments/edge_of_stability.py``'s
seed-0 run, 1000 steps, sharpness every 20); the training loss falls non-monotonically
(1.61 at step 1, 0.150 at 500, 0.087 at 1000). The eight seeds' averages: 1.067-1.085. At
``learning_rate=0.02 epochs=2000`` (the same ``lr * steps``) the sharpening is slower
(0.90 at step 920) and ``lr * lambda_1 / 2`` averaged 0.987-1.006 over steps 1001-2000 in
eight seeds. The command above (seed 0, 1500 steps, an estimate every 50; 2 minutes
on 2 shared cores) gave 1.09 (1.07-1.10) over steps 751-1500, 1.08 over 501-1500 (measured
2026-12-02); with ``model.init="pytorch"`` it gave 1.11 over steps 750-1500.
``experiments/edge_of_stability.py`` runs the seeded experiments on this config.
"""

import pathlib

from lrsched.train import Config

SUBSET = pathlib.Path(__file__).resolve().parents[3] / "shared/data/cifar10_subset.npz"
NUM_TRAIN = 1000


def get_config() -> Config:
  return Config(
      data={"name": str(SUBSET), "image_size": 16},
      train_subset=NUM_TRAIN,
      model={"name": "fc", "widths": [200, 200], "activation": "tanh", "image_size": 16,
             "init": "lecun_normal"},
      loss="mse",
      full_batch=True,
      batch_size=NUM_TRAIN,  # one chunk: the gradient of all 1000 images at once
      epochs=1500,  # = steps
      learning_rate=0.04,
      momentum=0.0,
      weight_decay=0.0,
      augment=False,
      sharpness_every=10,
      sharpness_batch_size=NUM_TRAIN,  # the whole training set
      checkpoint_every=0,
      progress=False,
  )
