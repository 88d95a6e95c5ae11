"""lrsched: learning-rate schedules and loss-curvature analysis for JAX/Optax.

A map of the API (each name has a docstring with its formula and an example):

Schedules (optax.Schedule functions of the step count; use them wherever optax takes
a learning rate):
  step_decay, cyclic, cyclic_momentum, one_cycle, one_cycle_momentum, sgdr, tanh_decay, rex,
  budgeted, wsd, wsd_s, inverse_sqrt   the families
  warmup, join, stretch, per_epoch  composition: warmup in front, pieces, a new budget
  timm_noise                        timm's seeded learning-rate noise on any schedule
  exp_lr, texp                      Li & Arora: weight decay == an exponential rate
  exp_lr_momentum_init, with_momentum_buffer   exp_lr's initial momentum buffer
  from_spec, register, registered_names   schedules from JSON-like specs (configs, CLI)
Loss-driven and diagnostics:
  reduce_on_plateau, autodecay      loss-driven optax transformations (lrsched.adaptive)
  AutoDecay, AutoDecayState         autodecay's rule and its state
  effective_learning_rate           a schedule's value times their scales
  lr_range_test, plot_range_test    the learning-rate range test
  suggest_learning_rate             valley / steepest / minimum from a range-test curve
  scale_invariance                  renormalized SGD, scale-invariance checks:
  renormalized_sgd, check_scale_invariance, scale_invariant_mask
Subpackages:
  lrsched.schedules  describe, resolve_spec (and every schedule above)
  lrsched.adaptive   reduce_on_plateau, autodecay, observe, effective_learning_rate
  lrsched.train      Config, train, load_config, apply_overrides, run_seeds, load_run_model,
                     Callback, make_optimizer: training runs with checkpoints
  lrsched.hessian    top_eigenvalues, hessian_trace, spectral_density, per_layer,
                     loss_landscape, convergence_intervals (2/lambda), DatasetHessian, hvp,
                     thick_restart_lanczos, jackknife (max_basis=, jackknife=)
  lrsched.data       load_dataset (tfds, .npz, PS10), make_ps10, iterate_batches, augment
  lrsched.models     MLP, FullyConnected, WideResNet, PreResNet, build_model, model_names,
                     check_model_spec, PreActBlock, Fixed, FixedLinear (Flax NNX models
                     and their blocks)
  lrsched.plotting   plot_schedules, plot_gallery, plot_training_curves
  lrsched.losses     cross_entropy, mse, mean_loss, per_example_loss: Config.loss's losses
  lrsched.names      did_you_mean, did_you_mean_each, unknown_name_error: "did you mean"
  lrsched.loss_law   annealing_areas, fit, predict, plot_fit, LawParams: a schedule's loss
                     curve from its areas (Tissue et al.'s annealing law)
Command line: ``lrsched --help``.
"""

from lrsched import scale_invariance
from lrsched.adaptive import (
    AutoDecay,
    AutoDecayState,
    autodecay,
    effective_learning_rate,
    reduce_on_plateau,
)
from lrsched.range_test import lr_range_test, plot_range_test, suggest_learning_rate
from lrsched.scale_invariance import check_scale_invariance, renormalized_sgd, scale_invariant_mask
from lrsched.schedules import (
    budgeted,
    cyclic,
    cyclic_momentum,
    exp_lr,
    exp_lr_momentum_init,
    from_spec,
    inverse_sqrt,
    join,
    one_cycle,
    one_cycle_momentum,
    per_epoch,
    register,
    registered_names,
    rex,
    sgdr,
    step_decay,
    stretch,
    tanh_decay,
    texp,
    timm_noise,
    warmup,
    with_momentum_buffer,
    wsd,
    wsd_s,
)

__version__ = "0.1.0"

__all__ = [
    "AutoDecay",
    "AutoDecayState",
    "autodecay",
    "effective_learning_rate",
    "reduce_on_plateau",
    "lr_range_test",
    "plot_range_test",
    "suggest_learning_rate",
    "budgeted",
    "check_scale_invariance",
    "cyclic",
    "cyclic_momentum",
    "exp_lr",
    "exp_lr_momentum_init",
    "from_spec",
    "inverse_sqrt",
    "join",
    "one_cycle",
    "one_cycle_momentum",
    "per_epoch",
    "register",
    "registered_names",
    "renormalized_sgd",
    "rex",
    "scale_invariance",
    "scale_invariant_mask",
    "sgdr",
    "step_decay",
    "stretch",
    "tanh_decay",
    "texp",
    "warmup",
    "with_momentum_buffer",
    "wsd",
    "wsd_s",
    "timm_noise",
]
