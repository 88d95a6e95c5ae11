"""timm_noise: PyTorch's generator reproduced, per-epoch noise, bad input (the values
against timm itself: tests/schedules/test_reference_tables.py)."""

import numpy as np
import pytest

import lrsched
from lrsched.schedules.noise import torch_rand, torch_randn

# torch 2.13.0 (CPU): torch.Generator().manual_seed(s); torch.rand(1) / torch.randn(1) x3
TORCH_RAND = {42: 0.8822692632675171, 43: 0.4539682865142822, 100: 0.1116642951965332}
TORCH_RANDN = {42: [0.33669036626815796, 0.12880940735340118, 0.23446236550807953],
               43: [-0.6484010815620422, -0.7058414220809937, 0.6432183980941772]}


def test_pytorch_generator_values():
  for seed, value in TORCH_RAND.items():
    assert torch_rand(seed) == value
  for seed, values in TORCH_RANDN.items():
    assert torch_randn(seed, 3) == values


def test_per_epoch_noise_holds_through_an_epoch_and_follows_the_epoch_index():
  per_step = lrsched.timm_noise(0.1, [2, 6], noise_pct=0.5, noise_seed=3)
  spec = {"name": "timm_noise", "schedule": 0.1, "noise_range": [2, 6], "noise_pct": 0.5,
          "noise_seed": 3, "unit": "epochs"}
  per_epoch = lrsched.from_spec(spec, steps_per_epoch=10)
  values = np.array([float(per_epoch(t)) for t in range(80)]).reshape(8, 10)
  assert np.all(values == values[:, :1])  # constant within each epoch
  np.testing.assert_array_equal(values[:, 0], [float(per_step(e)) for e in range(8)])
  assert values[0, 0] == values[7, 0] == pytest.approx(0.1)  # outside [2, 6): no noise
  assert len(set(values[2:6, 0])) == 4 and np.all(np.abs(values[2:6, 0] / 0.1 - 1) < 0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise_range=[5, 5]), r"noise_range must be \[start, end\) with integers"),
    (dict(noise_range=10), r"noise_range must be \[start, end\)"),
    (dict(noise_range=[-1, 4]), r"noise_range must be"),
    (dict(noise_range=[0, 4], noise_pct=1.5), r"noise_pct must be in \(0, 1\] for noise_type "
                                              r"'normal', got 1.5"),
    (dict(noise_range=[0, 4], noise_pct=0.0), r"noise_pct must be in \(0, 1\]"),
    (dict(noise_range=[0, 4], noise_pct=-0.1, noise_type="uniform"),
     r"noise_pct must be in \[0, 1\] for noise_type 'uniform'"),
    (dict(noise_range=[0, 4], noise_type="gauss"), "noise_type must be one of"),
    (dict(noise_range=[0, 4], noise_std=0), "noise_std must be a finite number > 0"),
    (dict(noise_range=[0, 4], noise_seed=-3), "noise_seed must be an integer"),
    (dict(noise_range=[0, 4], noise_every=0), "noise_every must be an integer"),
    (dict(noise_range=[0, 20_000_001]), "more than 10000000"),
])
def test_bad_input(kwargs, match):
  with pytest.raises(ValueError, match=match):
    lrsched.timm_noise(0.1, **kwargs)
