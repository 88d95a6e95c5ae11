"""PS10: what step decay does to simple, complex and noisy samples (You et al. 2019, Fig. 9, 10).

The README's main job (``configs/ps10_step_decay.py``: an MLP with 3 hidden layers of 512
units on PS10's 6 channel values, 8000 training samples, 300 epochs, momentum 0.9, weight
decay 5e-4, step decay 0.1 -> 0.01 -> 0.001 at epochs 75 and 225), over three seeds; each
seed draws its own PS10 (patterns and samples: ``data.seed`` = the training seed), so the
intervals cover the dataset's draw as well as the initialization and the batch order.

* Fig. 9 (no noise): step decay against a constant rate equal to each stage's rate, at the
  budget. The smallest, 0.001, also trains *to convergence*: in chunks of one budget while
  its complex-pattern training accuracy still rises (:func:`still_rising`: the mean of the
  chunk's last sixth of epochs at least 1 point above the mean of the sixth that ended half
  a budget earlier), at most 5 budgets. Sec. 5.3 of the paper rests on Fig. 9's fourth
  plot: on clean data a small constant rate, trained long enough, learns the complex
  patterns as well as step decay.
* Step decay against the *best* constant rate at the budget, 0.01: chosen before these runs,
  from the earlier committed three-seed run (600 epochs; 0.01 78.7% complex test accuracy,
  0.001 74.9%, 0.1 54.0%), not from these.
* Fig. 10 (10% noise): ``label_flip`` (``lrsched.data.make_ps10``) with ``noise_jitter``
  0.03: pattern samples with another class's label, drawn three times as far from their
  pattern as its clean samples (~0.05 from them, about as far as a random point lies from
  the nearest complex pattern), so that a network can memorize them. At the pattern's own
  jitter, 0.01, every schedule reproduced only ~5% of them; at 0.02 step decay reproduced
  10.5% (one seed), barely above the 7.5% a half-trained network hits by chance. Step decay
  against the constant small rate 0.001. The first version's ``random_point`` noise (random
  points with random labels) is not run again: these flips are as isolated and still drawn
  from a pattern (its finding, that step decay memorizes more random points, 84% against
  47%, is in that version's record in the git history). *The* Fig. 10 test is the
  noise x schedule interaction: per seed, step decay's lead over the constant rate with
  noise minus its lead on the same seed's clean data. Decay's faster learning of the
  complex patterns (which the clean lead measures) cancels in it; what remains is what the
  noise adds.
* Memorization (training accuracy on the noise samples: 0% is no memorization, a model
  that ignores the noise; 100% all) at the final epoch and at *equal clean-train accuracy*:
  step decay at the first epoch its complex-pattern training accuracy reaches the constant
  rate's final one.

A 1-nearest-neighbour classifier on the raw 6-dimensional inputs is the reference of what is
learnable from each training set, and a model that memorizes every noise sample: its test
accuracy with noise against without says what memorizing the noise costs the patterns.

Run (three seeds, each 5 runs of 300 epochs and the long run of up to 1500, which ran to
1500 in every seed: 9000 epochs, about 2 hours of 2 CPU cores, measured 2026-12-02; two
processes with different ``--seeds`` can share the work, then one run with every seed reads
them back and writes the record)::

  python experiments/ps10_patterns.py --workdir runs/ps10_patterns

It writes ``experiments/results/ps10_patterns.json`` (per-seed final metrics, the long
run's length, and the claims with their verdicts, see experiments/RESULTS.md) and the
figures ``experiments/figures/ps10_fig9.png`` and ``ps10_fig10.png`` (mean of seeds, +-1 std
band, decays marked).

Expected (three seeds, experiments/RESULTS.md section 1): step decay beats the best constant
rate at the budget by ~12 points of complex test accuracy (87.5% against 75.0%), but the
constant 0.001 at 5x the epochs matches it within 2 points (87.0%); the noise x schedule
interaction is ~+2 points, not resolved; step decay memorizes ~20% of the flipped labels,
the constant 0.001 ~8% (its chance level on patterns it has not learned).
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import runpy

import numpy as np
from matplotlib.figure import Figure

from lrsched import data as datalib
from lrsched.plotting import plot_mean_curve, save_figure
from lrsched.train import Config, run_seeds, train
from lrsched.train.loop import read_history
from lrsched.train.run_model import read_run_config
from lrsched.train.sweep import results_record, write_results
from lrsched.train.verdicts import claim, same_claim

HERE = pathlib.Path(__file__).resolve().parent
NOISES = ("label_flip",)
NOISE_JITTER = 0.03
"""The flipped samples' jitter (the patterns': 0.01), see the module docstring."""
BEST_CONSTANT = 0.01
"""The best constant rate of the earlier run, fixed before these runs."""
LONG_BUDGETS = 5
"""The constant 0.001 trains for at most this many budgets (to convergence)."""
RISE = 0.01
"""Still rising: complex train accuracy up by at least this (1 point) in half a budget."""
SAME_MARGIN = 0.02
"""'As well as step decay': within 2 points of complex test accuracy (TOST)."""
LONG = "clean/constant 0.001, to convergence"
AT_BUDGET = "clean/constant 0.001"
"""Not trained on its own: the first budget of :data:`LONG` (the same training)."""
METRICS = ["test_accuracy", "test_accuracy_simple", "test_accuracy_complex",
           "train_eval_accuracy_simple", "train_eval_accuracy_complex",
           "train_eval_accuracy_noise"]
COMPLEX_TEST, COMPLEX_TRAIN, NOISE = ("test_accuracy_complex", "train_eval_accuracy_complex",
                                      "train_eval_accuracy_noise")


def base_config() -> Config:
  return runpy.run_path(str(HERE / "configs/ps10_step_decay.py"))["get_config"]()


def configs(epochs: int | None = None) -> dict[str, Config]:
  """``{run name: config}``: ``clean/...`` (Fig. 9) and ``<noise model>/...`` (Fig. 10).

  The data seed of every config is replaced by the training seed when it trains
  (:func:`for_seed`); :data:`LONG` is the constant 0.001 at its cap (:data:`LONG_BUDGETS`
  budgets), trained by :func:`train_long`.
  """
  base = base_config()
  decay = dict(base.learning_rate)
  if epochs is not None:  # a shorter run for tests: the stages keep their proportions
    decay["boundaries"] = [round(b * epochs / base.epochs) for b in decay["boundaries"]]
    base = dataclasses.replace(base, epochs=epochs)
  base = dataclasses.replace(base, checkpoint_every=0, progress=False, learning_rate=decay)
  clean = dict(base.data, noise_fraction=0.0)
  runs = {}
  for label, lr in {"step decay": decay, "constant 0.1": 0.1, "constant 0.01": 0.01,
                    "constant 0.001": 0.001}.items():
    runs[f"clean/{label}"] = dataclasses.replace(base, data=clean, learning_rate=lr)
  runs[LONG] = dataclasses.replace(runs["clean/constant 0.001"],
                                   epochs=LONG_BUDGETS * base.epochs)
  for noise in NOISES:
    data = dict(base.data, noise_fraction=0.1, noise=noise)
    if noise == "label_flip":
      data["noise_jitter"] = NOISE_JITTER
    for label, lr in {"step decay": decay, "constant 0.001": 0.001}.items():
      runs[f"{noise}/{label}"] = dataclasses.replace(base, data=data, learning_rate=lr)
  return runs


def for_seed(config: Config, seed: int) -> Config:
  """``config`` with its data drawn from ``seed`` (and trained with it)."""
  return dataclasses.replace(config, seed=seed, data=dict(config.data, seed=seed))


def still_rising(history: list[dict], budget: int) -> bool:
  """Whether complex train accuracy rose by :data:`RISE` over the last half budget."""
  window = max(1, budget // 6)
  values = np.array([r[COMPLEX_TRAIN] for r in history])
  late, early = values[-window:], values[-window - budget // 2:len(values) - budget // 2]
  return bool(late.mean() - early.mean() >= RISE)


def train_long(config: Config, budget: int, run_dir: pathlib.Path) -> list[dict]:
  """:data:`LONG` in chunks of ``budget`` epochs while :func:`still_rising`, up to its cap.

  Resumable: each chunk ends at a checkpoint, and a finished chunk is read back.
  """
  epochs = budget
  if (run_dir / "config.json").is_file():
    epochs = read_run_config(run_dir).epochs
  while True:
    chunk = dataclasses.replace(config, epochs=epochs, checkpoint_every=budget)
    history = read_history(run_dir / "metrics.jsonl", epochs)
    if len(history) < epochs:
      history = train(chunk, run_dir, resume=True).history
    if epochs >= config.epochs or not still_rising(history, budget):
      return history
    epochs += budget


def train_all(runs: dict[str, Config], seeds: list[int], workdir: str | pathlib.Path
              ) -> dict[str, list[list[dict]]]:
  """Every run for every seed, seed by seed (what exists is read back or resumed);
  :data:`AT_BUDGET` is left to the caller (the first budget of :data:`LONG`)."""
  workdir = pathlib.Path(workdir)
  budget = runs["clean/step decay"].epochs
  histories: dict[str, list[list[dict]]] = {name: [] for name in runs if name != AT_BUDGET}
  for seed in seeds:
    # The long run last: the short ones answer first whether the design can (memorization).
    for name, config in sorted(runs.items(), key=lambda item: item[0] == LONG):
      config = for_seed(config, seed)
      if name == AT_BUDGET:
        continue
      if name == LONG:
        history = train_long(config, budget, workdir / name / f"seed{seed}")
      else:
        history = run_seeds({name: config}, [seed], workdir)[name][0]
      histories[name].append(history)
  return histories


def nearest_neighbour(config: Config) -> dict[str, float]:
  """1-NN on the raw channel values: test accuracy per kind (what the data let one learn)."""
  kwargs = dict(config.data)
  name = kwargs.pop("name")
  train_ds = datalib.load_dataset(name, "train", **kwargs)
  test = datalib.load_dataset(name, "test", **kwargs)
  x, y = train_ds.images.mean(axis=(1, 2)), train_ds.labels
  out = {}
  predicted = np.empty(len(test), np.int32)
  for start in range(0, len(test), 500):
    q = test.images[start:start + 500].mean(axis=(1, 2))
    distances = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    predicted[start:start + 500] = y[np.argmin(distances, axis=1)]
  correct = predicted == test.labels
  out["test_accuracy"] = float(correct.mean())
  for kind, kind_name in enumerate(datalib.KIND_NAMES[:2]):
    out[f"test_accuracy_{kind_name}"] = float(correct[test.kinds == kind].mean())
  return out


def decay_epochs(config: Config) -> list[int]:
  lr = config.learning_rate
  return list(lr["boundaries"]) if isinstance(lr, dict) else []


def at_equal_training_accuracy(decay: list[dict], level: float) -> dict:
  """``decay``'s record at the first epoch its complex train accuracy reaches ``level``
  (its last epoch where it never does)."""
  return next((r for r in decay if r[COMPLEX_TRAIN] >= level), decay[-1])


def equal_accuracy_records(histories: dict[str, list[list[dict]]], noise: str) -> list[dict]:
  """Per seed, ``noise``'s step decay at the constant 0.001's final complex train accuracy."""
  return [at_equal_training_accuracy(decay, small[-1][COMPLEX_TRAIN])
          for decay, small in zip(histories[f"{noise}/step decay"],
                                  histories[f"{noise}/constant 0.001"], strict=True)]


def claims(histories: dict[str, list[list[dict]]], decays: list[int],
           nn: dict[str, list[dict]]) -> list[dict]:
  """The claims, each with the test stated in the module docstring and RESULTS.md."""
  def final(run: str, key: str = COMPLEX_TEST) -> list[float]:
    return [h[-1][key] for h in histories[run]]

  def at(run: str, key: str, epoch: int) -> list[float]:
    return [h[epoch - 1][key] for h in histories[run]]

  def gap(prefix: str) -> list[float]:
    return list(np.subtract(final(f"{prefix}/step decay"), final(f"{prefix}/constant 0.001")))

  first = decays[0]
  after = min(first + 10, decays[1] if len(decays) > 1 else first + 10)
  best = f"clean/constant {BEST_CONSTANT:g}"
  out = [
      claim(f"a decay lifts complex-pattern accuracy at once (epoch {after} vs {first}, "
            f"the first decay)", COMPLEX_TEST, f"clean/step decay @{after}",
            f"clean/step decay @{first}", at("clean/step decay", COMPLEX_TEST, after),
            at("clean/step decay", COMPLEX_TEST, first), ">"),
      claim("step decay learns more complex patterns than the constant large rate",
            COMPLEX_TEST, "clean/step decay", "clean/constant 0.1", final("clean/step decay"),
            final("clean/constant 0.1"), ">"),
      claim("a smaller constant rate learns more complex patterns (0.01 vs 0.1)", COMPLEX_TEST,
            "clean/constant 0.01", "clean/constant 0.1", final("clean/constant 0.01"),
            final("clean/constant 0.1"), ">"),
      claim("a smaller constant rate learns more complex patterns (0.001 vs 0.01)",
            COMPLEX_TEST, "clean/constant 0.001", "clean/constant 0.01",
            final("clean/constant 0.001"), final("clean/constant 0.01"), ">"),
      claim(f"step decay beats the best constant rate ({BEST_CONSTANT:g}, fixed beforehand) "
            f"at equal budget", COMPLEX_TEST, "clean/step decay", best,
            final("clean/step decay"), final(best), ">"),
      same_claim(f"on clean data the constant 0.001, trained until it stops rising (at most "
                 f"{LONG_BUDGETS}x the budget), learns the complex patterns as well as step "
                 f"decay (Fig. 9, fourth plot; within {100 * SAME_MARGIN:g} points)",
                 COMPLEX_TEST, LONG, "clean/step decay", final(LONG), final("clean/step decay"),
                 SAME_MARGIN),
  ]
  for noise in NOISES:
    decay, small = f"{noise}/step decay", f"{noise}/constant 0.001"
    out.append(claim(f"with {noise} noise, step decay learns more complex patterns than the "
                     f"constant small rate", COMPLEX_TEST, decay, small, final(decay),
                     final(small), ">"))
    out.append(claim(f"with {noise} noise, the noise widens step decay's lead (noise x "
                     f"schedule interaction: the Fig. 10 test)", COMPLEX_TEST,
                     f"{noise}: step decay - constant 0.001",
                     "clean: step decay - constant 0.001", gap(noise), gap("clean"), ">"))
    out.append(claim(f"with {noise} noise, the large initial rate suppresses memorizing the "
                     f"noise (final)", NOISE, decay, small, final(decay, NOISE),
                     final(small, NOISE), "<"))
    equal = equal_accuracy_records(histories, noise)
    out.append(claim(f"with {noise} noise, the large initial rate suppresses memorizing the "
                     f"noise (at equal complex-train accuracy)", NOISE,
                     f"{decay} @ the constant's final complex train accuracy", small,
                     [r[NOISE] for r in equal], final(small, NOISE), "<"))
    out.append(claim(f"memorizing the {noise} noise costs the complex patterns (1-NN, which "
                     f"memorizes every sample: clean vs noisy training set)", COMPLEX_TEST,
                     "clean/1-NN on raw inputs", f"{noise}/1-NN on raw inputs",
                     [r[COMPLEX_TEST] for r in nn["clean"]],
                     [r[COMPLEX_TEST] for r in nn[noise]], ">"))
  return out


def per_seed_table(histories: dict[str, list[list[dict]]], seeds: list[int]) -> str:
  """The long run and the equal-accuracy memorization, per seed (markdown with caption)."""
  budget = len(histories["clean/step decay"][0])
  equal_at = [equal_accuracy_records(histories, noise) for noise in NOISES]
  lines = ["| seed | constant 0.001: epochs | stopped by | complex train at "
           f"{budget} / final (%) | complex test at {budget} / final (%) | step decay: "
           "complex test (%) |" + "".join(
               f" {noise}: step decay's epoch at the constant's complex train accuracy | "
               f"{noise}: memorized there / step decay final / constant final (%) |"
               for noise in NOISES),
           "|---" * (6 + 2 * len(NOISES)) + "|"]
  for i, seed in enumerate(seeds):
    long, decay = histories[LONG][i], histories["clean/step decay"][i]
    rule = ("the rule" if len(long) < LONG_BUDGETS * budget else
            "the cap, still rising" if still_rising(long, budget) else
            "the cap, where it also stopped rising")
    cells = [str(seed), str(len(long)), rule,
             f"{100 * long[budget - 1][COMPLEX_TRAIN]:.1f} / {100 * long[-1][COMPLEX_TRAIN]:.1f}",
             f"{100 * long[budget - 1][COMPLEX_TEST]:.1f} / {100 * long[-1][COMPLEX_TEST]:.1f}",
             f"{100 * decay[-1][COMPLEX_TEST]:.1f}"]
    for noise, equal in zip(NOISES, equal_at, strict=True):
      noisy, small = histories[f"{noise}/step decay"][i], histories[f"{noise}/constant 0.001"][i]
      cells += [str(equal[i]["epoch"]), f"{100 * equal[i][NOISE]:.1f} / "
                f"{100 * noisy[-1][NOISE]:.1f} / {100 * small[-1][NOISE]:.1f}"]
    lines.append("| " + " | ".join(cells) + " |")
  lines += ["", f"Per seed: the clean constant 0.001's training to convergence (chunks of "
            f"{budget} epochs while still rising, at most {LONG_BUDGETS * budget}), and "
            f"memorization (training accuracy on the noise samples) at equal complex-train "
            f"accuracy."]
  return "\n".join(lines)


def plot(histories: dict[str, list[list[dict]]], decays: list[int], figures: pathlib.Path
         ) -> None:
  """Fig. 9 (clean) and Fig. 10 (both noise models): mean of seeds, +-1 std band."""
  panels = [("test, simple", "test_accuracy_simple"), ("test, complex", COMPLEX_TEST),
            ("train, complex", COMPLEX_TRAIN)]

  def mark(ax, noise_panel: bool = False) -> None:
    for epoch in decays:
      ax.axvline(epoch, color="0.6", linewidth=0.8, linestyle="--")
    if noise_panel:
      ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle=":",
                 label="no memorization (0%: ignores the noise)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")

  clean = [n for n in histories if n.startswith("clean/") and n != AT_BUDGET]
  fig = Figure(figsize=(13, 3.6), layout="constrained")
  for ax, (title, key) in zip(fig.subplots(1, 3, sharey=True), panels, strict=True):
    for name in clean:
      plot_mean_curve(ax, histories[name], key, scale=100, label=name.removeprefix("clean/"))
    mark(ax)
    ax.set_title(title)
  fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside right center",
             fontsize="small")
  fig.suptitle(f"PS10 without noise (You et al. Fig. 9): mean of {len(histories[clean[0]])} "
               f"seeds ±1 std; dashed: step decay's decays")
  save_figure(fig, figures / "ps10_fig9.png")

  fig = Figure(figsize=(13, 0.5 + 3.1 * len(NOISES)), layout="constrained")
  grid = np.atleast_2d(fig.subplots(len(NOISES), 4))
  noise_panels = [*panels, ("train, noise (memorized)", NOISE)]
  for row, noise in zip(grid, NOISES, strict=True):
    for ax, (title, key) in zip(row, noise_panels, strict=True):
      for name in (f"{noise}/step decay", f"{noise}/constant 0.001"):
        plot_mean_curve(ax, histories[name], key, scale=100, label=name.split("/")[1])
      mark(ax, noise_panel=key == NOISE)
      ax.set_title(f"{noise}: {title}", fontsize="medium")
  handles = {}
  for ax in fig.axes:
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
      handles.setdefault(label, handle)
  fig.legend(handles.values(), handles.keys(), loc="outside right center", fontsize="small")
  fig.suptitle(f"PS10 with 10% noise (You et al. Fig. 10): mean of "
               f"{len(histories[f'{NOISES[0]}/step decay'])} seeds ±1 std; dashed: decays")
  save_figure(fig, figures / "ps10_fig10.png")


def main(argv: list[str] | None = None) -> dict:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/ps10_patterns", help="run directories")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--epochs", type=int, default=None, help="shorter runs (tests only)")
  parser.add_argument("--results", default=str(HERE / "results/ps10_patterns.json"),
                      help="where the raw results go")
  parser.add_argument("--figures", default=str(HERE / "figures"))
  args = parser.parse_args(argv)
  runs = configs(args.epochs)
  histories = train_all(runs, args.seeds, args.workdir)
  budget = runs["clean/step decay"].epochs
  histories[AT_BUDGET] = [h[:budget] for h in histories[LONG]]
  decays = decay_epochs(runs["clean/step decay"])
  nn = {name: [nearest_neighbour(for_seed(runs[f"{name}/step decay"], seed))
               for seed in args.seeds] for name in ("clean", *NOISES)}
  record = results_record("ps10_patterns", claims(histories, decays, nn), histories, runs,
                          args.seeds, METRICS)
  record["tables"] = [per_seed_table(histories, args.seeds)]
  for name, values in nn.items():  # the non-neural reference, one per data seed
    record["runs"][f"{name}/1-NN on raw inputs"] = {
        "seeds": list(args.seeds), "epochs": [0] * len(values),
        "final": {k: [v[k] for v in values] for k in values[0]},
        "config": {"method": "1-nearest-neighbour",
                   "data": dict(runs[f"{name}/step decay"].data, seed="the run's seed")}}
  write_results(args.results, record)
  plot(histories, decays, pathlib.Path(args.figures))
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']}")
  return record


if __name__ == "__main__":
  main()
