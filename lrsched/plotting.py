"""Plots: schedules, the gallery of every family, and training curves."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import jax.numpy as jnp
import matplotlib
import numpy as np
import optax
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lrsched.schedules import from_spec

ScheduleLike = optax.Schedule | Mapping[str, object]

# Every family, on a 1000-step budget: (panel title, {label: lr spec}, momentum specs).
GALLERY_STEPS = 1000
GALLERY: list[tuple[str, dict[str, dict], dict[str, dict]]] = [
    ("step_decay (MultiStepLR)",
     {"boundaries 500, 750": {"name": "step_decay", "init_value": 0.1,
                              "boundaries": [500, 750]}}, {}),
    ("cyclic (CyclicLR)",
     {mode: {"name": "cyclic", "init_value": 0.01, "peak_value": 0.1, "step_size_up": 100,
             "step_size_down": 150, "mode": mode, "gamma": 0.998}
      for mode in ("triangular", "triangular2", "exp_range")},
     {"momentum (triangular)": {"name": "cyclic_momentum", "base_momentum": 0.8,
                                "max_momentum": 0.9, "step_size_up": 100,
                                "step_size_down": 150}}),
    ("one_cycle (OneCycleLR)",
     {"two-phase cos": {"name": "one_cycle", "total_steps": 1000, "peak_value": 0.1},
      "three-phase linear": {"name": "one_cycle", "total_steps": 1000, "peak_value": 0.1,
                             "anneal": "linear", "three_phase": True}},
     {"momentum (two-phase)": {"name": "one_cycle_momentum", "total_steps": 1000}}),
    ("sgdr (CosineAnnealingWarmRestarts, timm CosineLRScheduler)",
     {"period 200": {"name": "sgdr", "peak_value": 0.1, "first_period": 200},
      "period 50, x2": {"name": "sgdr", "peak_value": 0.1, "first_period": 50,
                        "period_mult": 2, "end_value": 0.005},
      "period 100, x1.5, decay 0.6, k 2": {"name": "sgdr", "peak_value": 0.1,
                                           "first_period": 100, "period_mult": 1.5,
                                           "cycle_decay": 0.6, "k_decay": 2.0}}, {}),
    ("tanh_decay (timm TanhLRScheduler)",
     {"one cycle of 1000": {"name": "tanh_decay", "peak_value": 0.1, "first_period": 1000},
      "period 200, x1.5, decay 0.7": {"name": "tanh_decay", "peak_value": 0.1,
                                      "first_period": 200, "period_mult": 1.5,
                                      "cycle_decay": 0.7, "cycle_limit": None}}, {}),
    ("rex",
     {f"beta {beta}": {"name": "rex", "init_value": 0.1, "total_steps": 1000, "beta": beta}
      for beta in (0.0, 0.5, 0.9)}, {}),
    ("budgeted (profile x sampling every 100)",
     {profile: {"name": "budgeted", "profile": profile, "init_value": 0.1,
                "total_steps": 1000, "end_value": 1e-3, "sample_every": 100}
      for profile in ("linear", "cosine", "exponential", "rex", "step")}, {}),
    ("wsd (HF get_wsd_schedule), wsd_s, inverse_sqrt",
     {**{shape: {"name": "wsd", "peak_value": 0.1, "total_steps": 1000, "warmup_steps": 100,
                 "cooldown_steps": 200, "warmup_shape": shape, "cooldown_shape": shape,
                 "end_value": 0.01}
         for shape in ("linear", "cosine", "1-sqrt")},
      "inverse_sqrt": {"name": "inverse_sqrt", "peak_value": 0.1, "warmup_steps": 100},
      "wsd_s (budgets 400, 700, 1000)": {"name": "wsd_s", "peak_value": 0.1,
                                         "boundaries": [400, 700, 1000], "cooldown_steps": 80,
                                         "warmup_steps": 50, "end_value": 0.01}}, {}),
    ("timm_noise on sgdr (normal 0.67, uniform 0.3)",
     {kind: {"name": "timm_noise", "noise_range": [200, 1000], "noise_type": kind,
             "noise_pct": pct, "schedule": {"name": "sgdr", "peak_value": 0.1,
                                            "first_period": 1000}}
      for kind, pct in (("normal", 0.67), ("uniform", 0.3))}, {}),
    ("warmup, join, stretch",
     {"warmup 100 + sgdr": {"name": "warmup", "warmup_steps": 100, "init_value": 0.01,
                            "schedule": {"name": "sgdr", "peak_value": 0.1,
                                         "first_period": 300}},
      "join: constant, linear, rex": {
          "name": "join", "boundaries": [200, 400],
          "schedules": [0.05, {"name": "linear", "init_value": 0.05, "end_value": 0.1,
                               "transition_steps": 200},
                        {"name": "rex", "init_value": 0.1, "total_steps": 600}]},
      "cosine 600 stretched to 1000 at 300": {
          "name": "stretch", "from_step": 300, "old_total": 600, "new_total": 1000,
          "schedule": {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 600}}}, {}),
    ("weight decay 1e-3 as an exponential rate (Li & Arora)",
     {"texp of step decay 0.1 @500,750": {
         "name": "texp", "weight_decay": 1e-3, "momentum": 0.9, "num_steps": 1000,
         "schedule": {"name": "step_decay", "init_value": 0.1, "boundaries": [500, 750]}},
      "exp_lr 0.1": {"name": "exp_lr", "init_value": 0.1, "weight_decay": 1e-3,
                     "momentum": 0.9}}, {}),
    ("optax, by optax's names",
     {"warmup_cosine_decay_schedule": {"name": "warmup_cosine_decay_schedule",
                                       "init_value": 0.0, "peak_value": 0.1,
                                       "warmup_steps": 100, "decay_steps": 1000},
      "polynomial_schedule (power 2)": {"name": "polynomial_schedule", "init_value": 0.1,
                                        "end_value": 0.0, "power": 2.0,
                                        "transition_steps": 1000},
      "linear_onecycle_schedule": {"name": "linear_onecycle_schedule",
                                   "transition_steps": 1000, "peak_value": 0.1},
      "exponential_decay (staircase)": {"name": "exponential_decay", "init_value": 0.1,
                                        "transition_steps": 250, "decay_rate": 0.5,
                                        "staircase": True},
      "constant_schedule": {"name": "constant_schedule", "value": 0.02}}, {}),
]
MAX_PLOT_POINTS = 100_001
"""Most counts a plot evaluates: longer spans are drawn at evenly spaced counts."""


def _counts(num_steps: int) -> np.ndarray:
  """The counts drawn: all of ``0 .. num_steps - 1``, or ``MAX_PLOT_POINTS`` spread over them."""
  if num_steps <= MAX_PLOT_POINTS:
    return np.arange(num_steps)
  return np.unique(np.linspace(0, num_steps - 1, MAX_PLOT_POINTS).round().astype(np.int64))


def _values(schedule: ScheduleLike, counts: np.ndarray,
            steps_per_epoch: int | None) -> np.ndarray:
  if isinstance(schedule, Mapping):
    schedule = from_spec(schedule, steps_per_epoch)
  values = np.asarray(schedule(jnp.asarray(counts, dtype=jnp.int32)), np.float64)
  return np.broadcast_to(values, counts.shape)  # optax.constant_schedule gives a scalar


def _draw(ax, curves: Mapping[str, ScheduleLike], num_steps: int,
          steps_per_epoch: int | None, **style) -> None:
  steps = _counts(num_steps)
  for label, schedule in curves.items():
    ax.plot(steps, _values(schedule, steps, steps_per_epoch), label=label, **style)


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
    num_steps: steps to draw, in [1, 2**31 - 1]; beyond ``MAX_PLOT_POINTS``
      steps the curves are drawn through that many evenly spaced counts.
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
  if isinstance(num_steps, bool) or not isinstance(num_steps, int) or not (
      1 <= num_steps <= 2**31 - 1):
    raise ValueError(f"num_steps must be an integer in [1, 2147483647], got {num_steps!r}")
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
  several = len(runs) > 1
  colors = matplotlib.colormaps["tab10" if len(runs) <= 10 else "tab20"].colors
  fig = Figure(figsize=(14 if several else 13, 7), layout="constrained")
  axes = fig.subplots(2, 2).ravel()
  for ax, (ylabel, wanted) in zip(axes, panels, strict=True):
    keys = sorted({k for records in runs.values() for r in records for k in r if wanted(k)})
    for run_index, records in enumerate(runs.values()):
      for key_index, key in enumerate(keys):
        points = [(r["epoch"], r[key]) for r in records if key in r]
        if not points:
          continue
        linestyle, marker = _LINE_STYLES[key_index % len(_LINE_STYLES)]
        # Several runs: colour = run, line style = metric. One run: colour = metric.
        color = colors[(run_index if several else key_index) % len(colors)]
        ax.plot(*zip(*points, strict=True), color=color, linestyle=linestyle, marker=marker,
                markersize=4, markevery=max(1, len(points) // 12), label=key)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("epoch")
    if ylabel == "learning rate":
      ax.set_yscale("log")
    if ax.lines:  # the metrics of this panel, outside the axes
      handles = [Line2D([], [], color="0.3" if several else colors[i % len(colors)],
                        linestyle=_LINE_STYLES[i % len(_LINE_STYLES)][0],
                        marker=_LINE_STYLES[i % len(_LINE_STYLES)][1], markersize=4,
                        label=key)
                 for i, key in enumerate(keys)]
      ax.legend(handles=handles, fontsize="x-small", loc="upper left", handlelength=3,
                bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
  if several:  # the runs' colours, above the panels
    fig.legend(handles=[Line2D([], [], color=colors[i % len(colors)], linewidth=3, label=label)
                        for i, label in enumerate(runs)],
               loc="outside upper center", ncols=min(len(runs), 6), fontsize="small")
  if path is not None:
    save_figure(fig, path)
  return fig


# Line styles of the metrics in one panel (cycled beyond ten).
_LINE_STYLES = [("-", None), ("--", None), (":", None), ("-.", None), ("-", "o"),
                ("--", "s"), (":", "^"), ("-.", "v"), ("-", "x"), ("--", "d")]


def plot_mean_curve(ax, histories: Sequence[Sequence[Mapping[str, float]]], key: str, *,
                    scale: float = 1.0, after_stop: str = "hold", **style) -> None:
  """Draws the mean over seeds of metric ``key`` per epoch, with a +-1 std band.

  Args:
    ax: a matplotlib axes.
    histories: one history (list of epoch records) per seed. Seeds may stop early
      (AutoDecay's rule): see ``after_stop``.
    key: the metric.
    scale: multiplies the values (``100`` for accuracies in %).
    after_stop: ``"hold"`` (default): a seed that stopped keeps its last value at the later
      epochs -- its final model is what it delivers --, so every epoch averages all seeds,
      and each stop is marked with an ``x`` on the mean curve; ``"drop"``: later epochs
      average only the seeds still running (the mean then jumps when a seed stops, as a
      survivor average does).
    **style: passed to ``ax.plot`` (``label``, ``color``, ``linestyle``...).

  Raises:
    ValueError: an unknown ``after_stop``.
  """
  if after_stop not in ("hold", "drop"):
    raise ValueError(f"after_stop must be 'hold' or 'drop', got {after_stop!r}")
  per_seed = [{int(r["epoch"]): scale * float(r[key]) for r in history if key in r}
              for history in histories]
  per_seed = [values for values in per_seed if values]
  epochs = np.array(sorted({e for values in per_seed for e in values}))
  stops = [max(values) for values in per_seed if max(values) < epochs[-1]]
  by_epoch: dict[int, list[float]] = {}
  for values in per_seed:
    last = max(values)
    for e in epochs:
      if e in values:
        by_epoch.setdefault(int(e), []).append(values[e])
      elif e > last and after_stop == "hold":
        by_epoch.setdefault(int(e), []).append(values[last])
  mean = np.array([np.mean(by_epoch[e]) for e in epochs])
  std = np.array([np.std(by_epoch[e], ddof=1) if len(by_epoch[e]) > 1 else 0.0
                  for e in epochs])
  (line,) = ax.plot(epochs, mean, **style)
  ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2,
                  linewidth=0)
  if stops and after_stop == "hold":
    index = np.searchsorted(epochs, stops)
    ax.plot(epochs[index], mean[index], "x", color=line.get_color(), markersize=6,
            linestyle="none")


def decay_epochs(history: Sequence[Mapping[str, float]]) -> list[int]:
  """Epochs whose logged learning rate is below the previous epoch's (a warmup's rise is not
  a decay)."""
  return [b["epoch"] for a, b in zip(history, history[1:], strict=False)
          if b["learning_rate"] < 0.99 * a["learning_rate"]]


def plot_accuracy_and_rate(histories: Mapping[str, Sequence[Sequence[Mapping[str, float]]]],
                           path: str | pathlib.Path, marks: Sequence[int] = (),
                           marks_label: str = "") -> pathlib.Path:
  """Test accuracy (mean of seeds, +-1 std) and every seed's learning rate, per run.

  Args:
    histories: ``{run name: [history per seed]}``.
    path: the PNG to write.
    marks: epochs to mark with dashed lines on the accuracy panel (e.g. fixed decays).
    marks_label: their legend entry.
  """
  fig = Figure(figsize=(12, 4), layout="constrained")
  acc, lr = fig.subplots(1, 2)
  for i, (name, seeds) in enumerate(histories.items()):
    plot_mean_curve(acc, seeds, "test_accuracy", scale=100, label=name, color=f"C{i}")
    for history in seeds:
      lr.plot([r["epoch"] for r in history], [r["learning_rate"] for r in history],
              color=f"C{i}", alpha=0.6, linewidth=1)
  for k, epoch in enumerate(marks):
    acc.axvline(epoch - 0.5, color="0.6", linewidth=0.8, linestyle="--",
                label=marks_label if k == 0 else None)
  n = len(next(iter(histories.values())))
  acc.set_title(f"test accuracy, mean of {n} seeds ± 1 std", fontsize="medium")
  acc.set_ylabel("test accuracy (%)")
  acc.legend(fontsize="small", loc="lower right")
  lr.set_title("learning rate at each epoch's end, one line per seed", fontsize="medium")
  lr.set_ylabel("learning rate")
  lr.set_yscale("log")
  for ax in (acc, lr):
    ax.set_xlabel("epoch")
  return save_figure(fig, path)


def save_figure(fig: Figure, path: str | pathlib.Path) -> pathlib.Path:
  """Writes ``fig`` as a PNG (110 dpi), creating the parent directory; returns the path."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, dpi=110)
  return path
