"""Plots: schedules, the gallery of every family, and training curves."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure

from lrsched.schedules import from_spec

ScheduleLike = optax.Schedule | Mapping[str, object]

# Every family, on a 1000-step budget: (panel title, {label: lr spec}, momentum specs).
GALLERY_STEPS = 1000
GALLERY: list[tuple[str, dict[str, dict], dict[str, dict]]] = [
    ("step_decay (MultiStepLR)",
     {"boundaries 500, 750": {"name": "step_decay", "init_value": 0.1,
                              "boundaries": [500, 750]}}, {}),
    ("cyclic (CyclicLR)",
     {mode: {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 100,
             "step_size_down": 150, "mode": mode, "gamma": 0.998}
      for mode in ("triangular", "triangular2", "exp_range")},
     {"momentum (triangular)": {"name": "cyclic_momentum", "base_momentum": 0.8,
                                "max_momentum": 0.9, "step_size_up": 100,
                                "step_size_down": 150}}),
    ("one_cycle (OneCycleLR)",
     {"two-phase cos": {"name": "one_cycle", "total_steps": 1000, "max_value": 0.1},
      "three-phase linear": {"name": "one_cycle", "total_steps": 1000, "max_value": 0.1,
                             "anneal": "linear", "three_phase": True}},
     {"momentum (two-phase)": {"name": "one_cycle_momentum", "total_steps": 1000}}),
    ("sgdr (CosineAnnealingWarmRestarts)",
     {"period 200": {"name": "sgdr", "max_value": 0.1, "first_period": 200},
      "period 50, x2": {"name": "sgdr", "max_value": 0.1, "first_period": 50,
                        "period_mult": 2, "min_value": 0.005}}, {}),
    ("rex",
     {f"beta {beta}": {"name": "rex", "init_value": 0.1, "total_steps": 1000, "beta": beta}
      for beta in (0.0, 0.5, 0.9)}, {}),
    ("budgeted (profile x sampling every 100)",
     {profile: {"name": "budgeted", "profile": profile, "init_value": 0.1,
                "total_steps": 1000, "end_value": 1e-3, "sample_every": 100}
      for profile in ("linear", "cosine", "exponential", "rex", "step")}, {}),
    ("wsd",
     {decay: {"name": "wsd", "peak_value": 0.1, "total_steps": 1000, "warmup_steps": 100,
              "decay_steps": 200, "decay": decay}
      for decay in ("linear", "cosine", "sqrt")}, {}),
    ("weight decay 1e-3 as an exponential rate (Li & Arora)",
     {"texp of step decay 0.1 @500,750": {
         "name": "texp", "weight_decay": 1e-3, "momentum": 0.9, "num_steps": 1000,
         "schedule": {"name": "step_decay", "init_value": 0.1, "boundaries": [500, 750]}},
      "exp_lr 0.1": {"name": "exp_lr", "init_value": 0.1, "weight_decay": 1e-3,
                     "momentum": 0.9}}, {}),
    ("optax: cosine_decay, warmup_cosine_decay",
     {"cosine_decay": {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 1000},
      "warmup_cosine_decay": {"name": "warmup_cosine_decay", "init_value": 0.0,
                              "peak_value": 0.1, "warmup_steps": 100,
                              "decay_steps": 1000}}, {}),
]


def _values(schedule: ScheduleLike, num_steps: int, steps_per_epoch: int | None) -> np.ndarray:
  if isinstance(schedule, Mapping):
    schedule = from_spec(schedule, steps_per_epoch)
  return np.asarray(schedule(jnp.arange(num_steps, dtype=jnp.int32)), np.float64)


def _draw(ax, curves: Mapping[str, ScheduleLike], num_steps: int,
          steps_per_epoch: int | None, **style) -> None:
  steps = np.arange(num_steps)
  for label, schedule in curves.items():
    ax.plot(steps, _values(schedule, num_steps, steps_per_epoch), label=label, **style)


def plot_schedules(
    schedules: Mapping[str, ScheduleLike],
    num_steps: int,
    path: str | pathlib.Path | None = None,
    *,
    momentum: Mapping[str, ScheduleLike] | None = None,
    steps_per_epoch: int | None = None,
    log_scale: bool = False,
    title: str | None = None,
) -> Figure:
  """Draws schedules (and momentum partners below them) over ``num_steps`` steps.

  Args:
    schedules: ``{label: schedule}``; a schedule may be an ``optax.Schedule`` or
      a spec dict for :func:`lrsched.from_spec`.
    num_steps: steps to draw, >= 1.
    path: where to write the PNG (parent folders are created); ``None`` to only
      return the figure (e.g. to show it in a notebook).
    momentum: ``{label: schedule}`` drawn in a second panel.
    steps_per_epoch: passed to :func:`lrsched.from_spec` for specs in epochs.
    log_scale: logarithmic y axis for the learning rates.
    title: figure title.

  Returns:
    The matplotlib ``Figure``.
  """
  if not schedules:
    raise ValueError("schedules must name at least one schedule, got an empty mapping")
  if num_steps < 1:
    raise ValueError(f"num_steps must be >= 1, got {num_steps}")
  rows = 2 if momentum else 1
  fig = Figure(figsize=(8, 3.2 * rows), layout="constrained")
  axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
  _draw(axes[0], schedules, num_steps, steps_per_epoch)
  axes[0].set_ylabel("learning rate")
  if log_scale:
    axes[0].set_yscale("log")
  axes[0].legend(fontsize="small")
  if momentum:
    _draw(axes[1], momentum, num_steps, steps_per_epoch)
    axes[1].set_ylabel("momentum")
    axes[1].legend(fontsize="small")
  axes[-1].set_xlabel("step")
  if title:
    fig.suptitle(title)
  if path is not None:
    save_figure(fig, path)
  return fig


def plot_gallery(path: str | pathlib.Path) -> pathlib.Path:
  """Writes a PNG with one panel per schedule family (momentum dashed, right axis).

  Args:
    path: the PNG to write; parent folders are created.

  Returns:
    The path written.
  """
  cols = 2
  rows = -(-len(GALLERY) // cols)
  fig = Figure(figsize=(6.5 * cols, 3.0 * rows), layout="constrained")
  axes = fig.subplots(rows, cols, squeeze=False).ravel()
  for ax, (title, lrs, momenta) in zip(axes, GALLERY, strict=False):
    _draw(ax, lrs, GALLERY_STEPS, None)
    ax.set_title(title, fontsize="medium")
    ax.set_ylabel("learning rate")
    handles, labels = ax.get_legend_handles_labels()
    if momenta:
      twin = ax.twinx()
      _draw(twin, momenta, GALLERY_STEPS, None, linestyle="--", color="gray")
      twin.set_ylabel("momentum")
      more_handles, more_labels = twin.get_legend_handles_labels()
      handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize="x-small", loc="best")
  for ax in axes[len(GALLERY):]:
    ax.set_visible(False)
  for ax in axes[-cols:]:
    ax.set_xlabel("step")
  fig.suptitle(f"lrsched schedule gallery ({GALLERY_STEPS} steps)")
  return save_figure(fig, path)


def plot_training_curves(history: Sequence[Mapping[str, float]],
                         path: str | pathlib.Path | None = None,
                         runs: Mapping[str, Sequence[Mapping[str, float]]] | None = None) -> Figure:
  """Draws per-epoch training records: losses, accuracies, learning rate, weight norm.

  Args:
    history: the records of one run (as in ``metrics.jsonl``): ``epoch`` plus any of
      ``*_loss``, ``*_accuracy*`` (per-kind accuracies too), ``learning_rate``,
      ``momentum``, ``weight_norm``.
    path: where to write the PNG; ``None`` to only return the figure.
    runs: instead of one history, ``{label: history}`` of several runs drawn in the
      same panels (``history`` is then ignored and may be empty).

  Returns:
    The matplotlib ``Figure``.
  """
  runs = dict(runs) if runs else {"": history}
  if not any(runs.values()):
    raise ValueError("history must hold at least one epoch record")
  panels = [("loss", lambda k: k.endswith("_loss")),
            ("accuracy", lambda k: "_accuracy" in k),
            ("learning rate", lambda k: k == "learning_rate"),
            ("weight norm", lambda k: k == "weight_norm")]
  fig = Figure(figsize=(12, 7), layout="constrained")
  axes = fig.subplots(2, 2).ravel()
  for ax, (ylabel, wanted) in zip(axes, panels, strict=True):
    for run_label, records in runs.items():
      keys = sorted({k for r in records for k in r if wanted(k)})
      for key in keys:
        points = [(r["epoch"], r[key]) for r in records if key in r]
        label = f"{run_label} {key}".strip()
        ax.plot(*zip(*points, strict=True), marker=".", label=label)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("epoch")
    if ylabel == "learning rate":
      ax.set_yscale("log")
    if ax.lines:
      ax.legend(fontsize="x-small")
  if path is not None:
    save_figure(fig, path)
  return fig


def plot_mean_curve(ax, histories: Sequence[Sequence[Mapping[str, float]]], key: str, *,
                    scale: float = 1.0, **style) -> None:
  """Draws the mean over seeds of metric ``key`` per epoch, with a +-1 std band.

  Args:
    ax: a matplotlib axes.
    histories: one history (list of epoch records) per seed; epochs missing from
      some seeds (e.g. AutoDecay stopping early) are averaged over the seeds that have them.
    key: the metric.
    scale: multiplies the values (``100`` for accuracies in %).
    **style: passed to ``ax.plot`` (``label``, ``color``, ``linestyle``...).
  """
  by_epoch: dict[int, list[float]] = {}
  for history in histories:
    for record in history:
      if key in record:
        by_epoch.setdefault(int(record["epoch"]), []).append(scale * float(record[key]))
  epochs = np.array(sorted(by_epoch))
  mean = np.array([np.mean(by_epoch[e]) for e in epochs])
  std = np.array([np.std(by_epoch[e], ddof=1) if len(by_epoch[e]) > 1 else 0.0
                  for e in epochs])
  (line,) = ax.plot(epochs, mean, **style)
  ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2,
                  linewidth=0)


def save_figure(fig: Figure, path: str | pathlib.Path) -> pathlib.Path:
  """Writes ``fig`` as a PNG (110 dpi), creating the parent directory; returns the path."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  return path
