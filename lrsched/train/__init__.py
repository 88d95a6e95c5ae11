"""Training: configs, the optimizer, sharded jitted steps, checkpoints and the loop."""

from lrsched.train.callbacks import Callback, Run
from lrsched.train.checkpoints import Checkpoints
from lrsched.train.config import Config, apply_overrides, load_config
from lrsched.train.evaluation import evaluate
from lrsched.train.loop import NonFiniteLossError, RunResult, train
from lrsched.train.optimizer import make_optimizer, sgd_with_weight_decay
from lrsched.train.run_model import load_data, load_run_model
from lrsched.train.snapshots import cycle_ends, ensemble_predict, load_snapshot_models
from lrsched.train.steps import TrainState, make_eval_step, make_train_step
from lrsched.train.sweep import format_mean_std, markdown_table, mean_std, per_seed, run_seeds
from lrsched.train.transfer import (
    copy_matching_weights,
    extract_features,
    linear_probe,
    transferability,
)

__all__ = [
    "Callback",
    "Checkpoints",
    "Config",
    "NonFiniteLossError",
    "Run",
    "RunResult",
    "TrainState",
    "apply_overrides",
    "copy_matching_weights",
    "cycle_ends",
    "ensemble_predict",
    "evaluate",
    "extract_features",
    "format_mean_std",
    "load_config",
    "linear_probe",
    "load_data",
    "load_run_model",
    "load_snapshot_models",
    "make_eval_step",
    "make_optimizer",
    "make_train_step",
    "markdown_table",
    "mean_std",
    "per_seed",
    "run_seeds",
    "sgd_with_weight_decay",
    "train",
    "transferability",
]
