"""PS10: the pattern-separation dataset of You et al. (2019), sec. 5.1, generated offline.

Ten classes. Every class owns 10 *simple* patterns and 100 *complex* patterns,
points in ``R^3`` drawn uniformly from ``[0, 1]^3`` (the paper draws them as
colours; the expected class-conditional entropy is ``log2 10`` for the simple
sub-dataset and ``log2 100`` for the complex one). A sample picks its class, then
one of that class's patterns, adds a small Gaussian jitter (``jitter``, so that
test samples are new points near the training patterns) and writes the point into
an image that is constant over height and width:

* channels 0-2 hold the point of a *simple* sample (channels 3-5 are 0),
* channels 3-5 hold the point of a *complex* sample (channels 0-2 are 0),

so the two pattern families reach the network through different channels, as in
the paper's Fig. 8(c). Half the clean samples are simple, half complex (the
paper's composition); classes are balanced (every class has the same number of
samples of each kind, up to one).

Noise (``noise_fraction``, 10% in the paper's Fig. 10) comes in two models, ``noise``
(the paper does not specify its own):

* ``"label_flip"``: that fraction of the *training* samples keep their pattern and get a
  different, uniformly random label. Memorizing them contradicts the clean samples of the
  same pattern, so it costs accuracy on the patterns themselves (the mechanism of the
  paper's Fig. 10); half of them are simple and half complex samples, as the clean data.
  A flipped sample is drawn with the pattern's jitter, so it lies among clean samples of
  its pattern (about 4 for a complex pattern, 40 for a simple one at 8000 samples): at
  ``jitter=0.01`` an MLP reproduces ~5% of them, under any schedule. ``noise_jitter``
  redraws the flipped samples' offsets with a larger deviation, which sets them apart from
  their pattern's clean samples (easier to memorize) and out of the way of its test samples
  (memorizing them costs the patterns less): at 0.03, a 1-nearest-neighbour classifier,
  which memorizes every sample, loses ~3 points of complex test accuracy to them, against
  ~10 at 0.01 and ~2 for ``random_point`` noise (8000 samples, three draws).
* ``"random_point"``: that fraction of the *training* samples are replaced by a uniform
  random point of
``[0, 1]^3`` in the simple or the complex channels (at random) with a uniformly
random label. Nothing about them can be learned; a network fits them only by
memorization, so the training accuracy on them measures memorization. The
memorizing them barely touches the patterns (they are points between the patterns), so
this model cannot show Fig. 10's mechanism. Test sets never hold noise.

Every sample carries its kind (``0`` simple, ``1`` complex, ``2`` noise) so that
accuracy is reported per kind. The patterns depend only on ``seed``: the train
and test splits of one seed share them.
"""

from __future__ import annotations

import numpy as np

from lrsched.data.dataset import ArrayDataset

NUM_CLASSES = 10
SIMPLE_PER_CLASS = 10
COMPLEX_PER_CLASS = 100
CHANNELS = 6
NOISE_MODELS = ("random_point", "label_flip")

_SPLIT_STREAMS = {"train": 1, "test": 2}


def _check(name: str, value, low: float, high: float | None = None, integer: bool = False):
  bad = isinstance(value, bool) or (integer and not isinstance(value, (int, np.integer)))
  if not bad:
    bad = not (value >= low and (high is None or value <= high))
  if bad:
    allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
    kind = "an integer " if integer else ""
    raise ValueError(f"{name} must be {kind}in {allowed}, got {value!r}")


def ps10_patterns(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """The pattern points: ``simple (10, 10, 3)`` and ``complex (10, 100, 3)`` (class, index, xyz)."""
  rng = np.random.default_rng([seed, 0])
  simple = rng.uniform(size=(NUM_CLASSES, SIMPLE_PER_CLASS, 3))
  complex_ = rng.uniform(size=(NUM_CLASSES, COMPLEX_PER_CLASS, 3))
  return simple, complex_


def _place(vectors: np.ndarray, rows: np.ndarray, in_complex: np.ndarray,
           points: np.ndarray) -> None:
  """Writes ``points[i]`` into row ``rows[i]`` of ``vectors``: its complex channels (3-5)
  where ``in_complex[i]``, else its simple ones (0-2)."""
  for offset, where in ((0, ~in_complex), (3, in_complex)):
    vectors[rows[where], offset:offset + 3] = points[where]


def make_ps10(split: str = "train", *, num_train: int = 10_000, num_test: int = 2_000,
              noise_fraction: float = 0.0, noise: str = "random_point",
              image_size: int = 32, jitter: float = 0.01, noise_jitter: float | None = None,
              seed: int = 0) -> ArrayDataset:
  """Generates split ``split`` of PS10 (see the module docstring for the construction).

  Args:
    split: ``"train"`` or ``"test"``.
    num_train: training samples (noise included).
    num_test: test samples (no noise).
    noise_fraction: fraction of the training samples that are noise, in [0, 1).
    noise: ``"random_point"`` (random points with random labels) or ``"label_flip"``
      (pattern samples with a different random label); see the module docstring.
    image_size: height and width of the images (32 in the paper, CIFAR's size; the
      content is constant over space, so small sizes train faster and lose nothing).
    jitter: standard deviation of the Gaussian jitter added to each pattern point.
    noise_jitter: ``noise="label_flip"`` only: the jitter of the flipped samples, redrawn
      around their pattern point (``None``: ``jitter``, the samples as drawn). The other
      samples, the choice of the flipped ones and their labels do not change.
    seed: seeds the patterns and the samples of both splits.

  Returns:
    An :class:`~lrsched.data.ArrayDataset` of float32 ``(N, size, size, 6)`` images with
    ``kinds``.

  Example:
    >>> ds = make_ps10("test", num_test=100, image_size=4)
    >>> ds.images.shape, ds.num_classes, sorted(set(ds.kinds.tolist()))
    ((100, 4, 4, 6), 10, [0, 1])
  """
  if split not in _SPLIT_STREAMS:
    raise ValueError(f"PS10 split must be one of {sorted(_SPLIT_STREAMS)}, got {split!r}")
  _check("num_train", num_train, 1, integer=True)
  _check("num_test", num_test, 1, integer=True)
  _check("image_size", image_size, 1, integer=True)
  _check("jitter", jitter, 0.0)
  if noise_jitter is not None:
    _check("noise_jitter", noise_jitter, 0.0)
    if noise != "label_flip":
      raise ValueError(f"noise_jitter applies to noise='label_flip' only, got noise={noise!r}")
  if not 0.0 <= noise_fraction < 1.0:
    raise ValueError(f"noise_fraction must be in [0, 1), got {noise_fraction!r}")
  if noise not in NOISE_MODELS:
    raise ValueError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
  simple, complex_ = ps10_patterns(seed)
  rng = np.random.default_rng([seed, _SPLIT_STREAMS[split]])
  n = num_train if split == "train" else num_test
  num_noise = int(round(noise_fraction * n)) if split == "train" else 0
  num_clean = n - num_noise if noise == "random_point" else n

  # Balanced classes and kinds: the clean samples cycle through (class, kind) pairs.
  cells = np.arange(num_clean) % (2 * NUM_CLASSES)
  labels, kinds = cells % NUM_CLASSES, cells // NUM_CLASSES
  centres = np.empty((num_clean, 3))
  is_simple = kinds == 0
  centres[is_simple] = simple[labels[is_simple],
                              rng.integers(0, SIMPLE_PER_CLASS, is_simple.sum())]
  centres[~is_simple] = complex_[labels[~is_simple],
                                 rng.integers(0, COMPLEX_PER_CLASS, (~is_simple).sum())]
  points = centres + rng.normal(scale=jitter, size=centres.shape)

  vectors = np.zeros((n, CHANNELS), np.float32)
  _place(vectors, np.arange(num_clean), ~is_simple, points)
  if noise == "label_flip":
    # Half of the flipped samples simple, half complex; each gets another class's label.
    simple_rows, complex_rows = np.flatnonzero(is_simple), np.flatnonzero(~is_simple)
    flip = np.concatenate([rng.choice(simple_rows, num_noise // 2, replace=False),
                           rng.choice(complex_rows, num_noise - num_noise // 2, replace=False)])
    all_labels, all_kinds = labels.copy(), kinds.copy()
    all_labels[flip] = (labels[flip] + rng.integers(1, NUM_CLASSES, num_noise)) % NUM_CLASSES
    all_kinds[flip] = 2
  else:
    noise_points = rng.uniform(size=(num_noise, 3))
    noise_in_complex = rng.integers(0, 2, num_noise)
    noise_labels = rng.integers(0, NUM_CLASSES, num_noise)
    _place(vectors, np.arange(num_clean, n), noise_in_complex == 1, noise_points)
    all_labels = np.concatenate([labels, noise_labels])
    all_kinds = np.concatenate([kinds, np.full(num_noise, 2)])

  order = rng.permutation(n)  # interleave kinds and classes
  if noise == "label_flip" and noise_jitter is not None and num_noise:
    # Drawn last, so that everything else is the sample set drawn without noise_jitter.
    moved = centres[flip] + rng.normal(scale=noise_jitter, size=(num_noise, 3))
    _place(vectors, flip, ~is_simple[flip], moved)
  images = np.broadcast_to(vectors[order, None, None, :], (n, image_size, image_size, CHANNELS))
  return ArrayDataset(np.ascontiguousarray(images), all_labels[order], NUM_CLASSES,
                      all_kinds[order], name=f"ps10:{split}")
