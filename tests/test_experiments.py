"""The experiment scripts' configs: every run they would start is a valid config whose
learning-rate and momentum specs build (no training here; the scripts' results are in
experiments/RESULTS.md)."""

import json
import pathlib
import runpy

import numpy as np
import pytest

from lrsched.train import Config, make_optimizer

EXPERIMENTS = pathlib.Path(__file__).resolve().parents[1] / "experiments"
SCRIPTS = ["ps10_patterns", "gd_vs_sgd", "autodecay_vs_step", "budgeted_training",
           "plateau_vs_autodecay",
           "snapshot_ensembles", "exp_lr_equivalence"]


def _check(config: Config) -> None:
  config.validate()
  tx = make_optimizer(config, steps_per_epoch=20)
  assert tx is not None
  lr = config.learning_rate
  if isinstance(lr, dict) and lr["name"] not in ("texp", "exp_lr"):
    from lrsched.schedules import from_spec
    values = np.array([from_spec(dict(lr), 20)(t) for t in range(0, 20 * config.epochs, 7)])
    assert np.all(np.isfinite(values)) and values.max() <= 1.0 and values.min() >= 0.0


@pytest.mark.parametrize("name", SCRIPTS)
def test_experiment_configs_build(name):
  module = runpy.run_path(str(EXPERIMENTS / f"{name}.py"))
  runs = module["configs"]()
  assert runs
  for config in runs.values():
    _check(config)


def test_budgeted_training_fits_every_schedule_to_the_budget():
  module = runpy.run_path(str(EXPERIMENTS / "budgeted_training.py"))
  from lrsched.schedules import from_spec
  for total in (60, 120, 240):
    for name, (spec, _) in module["schedules"](total).items():
      schedule = from_spec(dict(spec))
      assert float(schedule(0)) <= 0.1 + 1e-7, name
      assert max(float(schedule(t)) for t in range(total)) == pytest.approx(0.1, rel=0.05), name
      # Every schedule anneals by the end of the budget (CLR to its base, 0.01, which
      # its last cycle reaches at step `total`; SGDR would restart there).
      end = float(schedule(total if name == "clr" else total - 1))
      assert end <= 0.0100001, (name, end)


def test_transferability_configs_build(tmp_path):
  module = runpy.run_path(str(EXPERIMENTS / "transferability.py"))
  source = module["source_config"]()
  assert module["stage_ends"](source) == [15, 23, 30]
  assert source.data["classes"] == [0, 1, 2, 3, 4]
  tuned = module["finetune_config"](source, tmp_path, 15, 10)
  assert tuned.data["classes"] == [5, 6, 7, 8, 9] and tuned.init_from["skip"] == ["head"]
  for config in (source, tuned):
    _check(config)


@pytest.mark.parametrize("path", sorted((EXPERIMENTS / "configs").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(EXPERIMENTS / "configs")))
def test_config_files_load_and_build(path):
  """Every config file (CPU scale and full scale) loads through load_config and builds."""
  from lrsched.train import load_config
  _check(load_config(path))


@pytest.mark.slow
@pytest.mark.manual
def test_ps10_patterns_writes_results_the_report_can_read(tmp_path):
  """A 4-epoch, 2-seed pass: every run trains (the long one in chunks), every claim's verdict
  follows from its values, and a second pass reads everything back unchanged."""
  import importlib.util

  module = runpy.run_path(str(EXPERIMENTS / "ps10_patterns.py"))
  argv = ["--workdir", str(tmp_path / "runs"), "--seeds", "0", "1", "--epochs", "4",
          "--results", str(tmp_path / "r.json"), "--figures", str(tmp_path / "fig")]
  record = module["main"](argv)
  assert (tmp_path / "r.json").is_file() and (tmp_path / "fig/ps10_fig10.png").is_file()
  assert len(record["runs"]["label_flip/1-NN on raw inputs"]["final"]["test_accuracy"]) == 2
  long = record["runs"][module["LONG"]]
  assert all(4 <= e <= 20 and e % 4 == 0 for e in long["epochs"])
  assert record["runs"]["clean/constant 0.001"]["epochs"] == [4, 4]
  assert {c["test"] for c in record["claims"]} == {"paired_t", "equivalence"}
  _check_record(record)
  first = (tmp_path / "r.json").read_text()
  module["main"](argv)
  assert (tmp_path / "r.json").read_text() == first
  spec = importlib.util.spec_from_file_location("report", EXPERIMENTS / "report.py")
  report = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(report)
  assert "ps10_patterns" in report.verdict_table([record])


def test_ps10_still_rising_and_equal_training_accuracy():
  """The long run's stopping rule and the epoch of equal complex-train accuracy."""
  module = runpy.run_path(str(EXPERIMENTS / "ps10_patterns.py"))
  key = module["COMPLEX_TRAIN"]

  def history(values):
    return [{key: v, "epoch": i + 1} for i, v in enumerate(values)]

  climbing = history(np.linspace(0.5, 0.9, 300))  # +0.2 per half budget
  flat = history(np.r_[np.linspace(0.5, 0.9, 90), np.full(210, 0.9)])  # flat for 200+
  assert module["still_rising"](climbing, 300) and not module["still_rising"](flat, 300)
  slow = history(np.linspace(0.5, 0.5 + 0.019, 300))  # +0.0095 per half budget: stopped
  assert not module["still_rising"](slow, 300)
  decay = history([0.2, 0.5, 0.7, 0.95])
  assert module["at_equal_training_accuracy"](decay, 0.6)["epoch"] == 3
  assert module["at_equal_training_accuracy"](decay, 0.99)["epoch"] == 4  # never: the last


def _check_record(record: dict, seeds: int = 2) -> None:
  """Every tested claim has one value per seed and the verdict its values give."""
  from lrsched.train.verdicts import claim_kind, recompute_verdict

  for item in record["claims"]:
    kind = claim_kind(item)
    if kind != "not tested":
      values = (item["scores"][item["subject"]] if kind == "rank" else
                item["outcomes"] if kind == "binomial" else
                item["values"] if kind == "equivalence" else item["a_values"])
      assert len(values) % seeds == 0, item  # pooled counts: several runs a seed
      assert recompute_verdict(item)["verdict"] == item["verdict"]


@pytest.mark.slow
@pytest.mark.manual
def test_gd_vs_sgd_then_convergence_intervals_write_results(tmp_path):
  """Tiny passes of experiments 2 and 3: GD checkpoints feed the spectra and the App. A.2
  continuations; both write results files whose verdicts follow from their values."""
  runs, out = tmp_path / "runs", tmp_path / "out"
  gd = runpy.run_path(str(EXPERIMENTS / "gd_vs_sgd.py"))["main"]([
      "--workdir", str(runs), "--seeds", "0", "1", "--gd-steps", "8", "--sgd-epochs", "4",
      "--num-train", "128", "--results", str(out / "gd.json"), "--figures", str(out)])
  assert set(gd["runs"]) == {"GD/decay 2", "GD/decay 4", "GD/no decay", "SGD/decay 1",
                             "SGD/decay 2", "SGD/no decay"}
  _check_record(gd)
  ci = runpy.run_path(str(EXPERIMENTS / "convergence_intervals.py"))["main"]([
      "--runs", str(runs), "--run", "GD/decay 2", "--seeds", "0", "1", "--continue-steps",
      "10", "--out", str(tmp_path / "ci"), "--results", str(out / "ci.json"),
      "--figures", str(out)])
  _check_record(ci)
  steps = ci["runs"]["GD x1 from step 2"]["final"]["steps_before_divergence"]
  assert all(0 <= s <= 10 for s in steps)
  assert len(ci["runs"]["step 2 (end of lr 0.1)"]["config"]["eigenvalues"][0]) == 10
  assert (out / "convergence_intervals.png").is_file() and (out / "gd_vs_sgd.png").is_file()


@pytest.mark.slow
@pytest.mark.manual
def test_budgeted_training_takes_1cycle_peak_from_the_range_test(tmp_path):
  record = runpy.run_path(str(EXPERIMENTS / "budgeted_training.py"))["main"]([
      "--workdir", str(tmp_path / "runs"), "--seeds", "0", "1", "--budgets", "3",
      "--num-train", "512", "--no-extra", "--results", str(tmp_path / "b.json"),
      "--figures", str(tmp_path)])
  _check_record(record)
  peak = record["range_test"]["minimum/10"]
  assert record["runs"]["3 epochs/1cycle"]["config"]["learning_rate"]["peak_value"] == peak
  # ranks (top 1, top 3), step vs linear, the unbudgeted arm (not tested), 1cycle vs step
  assert [c.get("test") for c in record["claims"]] == ["rank", "rank", "paired_t", None,
                                                        "paired_t"]


def test_budgeted_training_staircases_long_budget_and_their_claims():
  """The extra arms build as specified, and claims() gives each its test (on made-up
  per-seed values: the decisions themselves are tests/test_results.py's)."""
  module = runpy.run_path(str(EXPERIMENTS / "budgeted_training.py"))
  from lrsched.schedules import from_spec
  runs = module["configs"]()
  for budget in (3, 12):
    total = budget * 20
    for profile in ("linear", "rex", "exponential"):
      spec = runs[f"{budget} epochs/{profile}, 4 levels"].learning_rate
      values = {round(float(from_spec(dict(spec))(t)), 7) for t in range(total)}
      assert len(values) == 4 and max(values) == pytest.approx(0.1), (budget, profile)
    exponential = from_spec(dict(runs[f"{budget} epochs/exponential, every step"].learning_rate))
    assert float(exponential(total)) == pytest.approx(1e-3)
  assert runs["48 epochs/step"].epochs == 48 and "48 epochs/cosine" not in runs
  rng = np.random.default_rng(0)
  res = {b: {n: list(rng.uniform(0.3, 0.5, 5)) for n in module["schedules"](1)}
         for b in (3, 6, 12)}
  for budget in (3, 12):
    res[budget].update({f"{p}, 4 levels": list(rng.uniform(0.3, 0.5, 5))
                        for p in ("linear", "rex", "exponential")})
    res[budget]["exponential, every step"] = list(rng.uniform(0.3, 0.5, 5))
  res[48] = {"step": list(rng.uniform(0.5, 0.6, 5)), "linear": list(rng.uniform(0.5, 0.6, 5))}
  made = module["claims"](res, {12: res[12]})
  tests = [c.get("test") for c in made]
  assert tests.count("equivalence") == 1 and None not in tests  # the long arm is tested
  assert sum("sampling rate" in c["claim"] for c in made) == 6
  assert [c["claim"].split()[0] for c in made[-2:]] == ["CLR", "SGDR"]
  assert made[0]["test"] == "rank" and "4 levels" not in json.dumps(made[0])  # ranks: 8 only


def test_transferability_targets():
  """The grayscale target is the luma; the sketch target is an edge map (zero on flat
  regions, largest on the edge); the committed results decide as before."""
  module = runpy.run_path(str(EXPERIMENTS / "transferability.py"))
  images = np.zeros((2, 8, 8, 3), np.uint8)
  images[:, :, 4:] = (200, 100, 50)  # a vertical edge between columns 3 and 4
  gray = module["target_images"](images, "grayscale")
  assert gray.shape == images.shape and np.all(gray[..., 0] == gray[..., 2])
  assert gray[0, 0, 7, 0] == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
  sketch = module["target_images"](images, "sketch")[0, :, :, 0]
  # Flat regions are 0; the edge's gradient is 4 x 0.299*200+0.587*100+0.114*50 = 4 x 124.2
  # in x (out of 4 x 255), so it maps to 124.2 / 255 * 255 = 124.
  assert np.all(sketch[:, [0, 1, 6, 7]] == 0) and np.all(sketch[:, 3:5] == 124)
  assert module["target_images"](images, "natural") is images
  with pytest.raises(ValueError, match="target must be one of"):
    module["target_images"](images, "cartoon")
  record = json.loads((EXPERIMENTS / "results/transferability.json").read_text())
  again = module["decide"](record)
  assert [(c["claim"], c["verdict"]) for c in again] == [
      (c["claim"], c["verdict"]) for c in record["claims"]]


def test_snapshot_ensembles_refuses_unequal_budgets_and_shared_members(tmp_path):
  main = runpy.run_path(str(EXPERIMENTS / "snapshot_ensembles.py"))["main"]
  common = ["--workdir", str(tmp_path), "--results", str(tmp_path / "r.json")]
  with pytest.raises(ValueError, match="--cycle x --cycles must be step decay's 30 epochs"):
    main([*common, "--cycle", "5", "--cycles", "5"])
  with pytest.raises(ValueError, match="would share independent members"):
    main([*common, "--seeds", "0", "100"])
  assert not any(tmp_path.iterdir())  # refused before training anything


def test_exp_lr_equivalence_block_renders_every_normalization():
  block = runpy.run_path(str(EXPERIMENTS / "report.py"))["exp_lr_equivalence_block"]
  row = {"run": "(a) step decay + wd", "test_accuracy": 0.3943, "train_loss": 1.67,
         "final_lr": 0.001, "weight_norm": 20.3, "max_abs_acc_diff_vs_a": 0.0,
         "max_rel_train_loss_diff_vs_a": 0.0, "epochs_with_equal_test_accuracy": 10,
         "worst_1_minus_cos_vs_a": 1e-16}
  record = {"experiment": "exp_lr_equivalence", "claims": [],
            "setup": {"epochs": 10, "depth": 8, "seed": 0, "dtype": "float64",
                      "data": "cifar10_subset"},
            "norms": {n: {"rows": {"a": row}, "curves": {}} for n in ("batch", "group")}}
  text = block(record)
  assert "**batch norm**" in text and "**group norm**" in text
  assert "| (a) step decay + wd | 39.43 |" in text and "10 of 10" in text


def test_wide_spectrum_small_writes_results_the_report_renders(tmp_path):
  """The whole pipeline at a tiny size: a GD run, lrsched hessian with the jackknife at
  both checkpoints, the JSON, the figure and RESULTS.md's block."""
  subset = EXPERIMENTS.parents[1] / "shared/data/cifar10_subset.npz"
  if not subset.exists():
    pytest.skip(f"{subset} is absent")
  main = runpy.run_path(str(EXPERIMENTS / "wide_spectrum.py"))["main"]
  record = main(["--small", "--workdir", str(tmp_path / "runs"), "--results",
                 str(tmp_path / "wide_spectrum.json"), "--figures", str(tmp_path)])
  stages = list(record["stages"].values())
  assert len(stages) == 2 and [s["learning_rate"] for s in stages] == [0.1, 0.1 * 0.1]
  for s in stages:
    jack = s["jackknife"]
    assert len(s["eigenvalues"]) == 4 and jack["dof"] == 2
    assert all(lo <= est <= hi for lo, est, hi in zip(jack["ci_low"], jack["estimate"],
                                                        jack["ci_high"], strict=True))
  assert (tmp_path / "wide_spectrum.png").stat().st_size > 1000
  block = runpy.run_path(str(EXPERIMENTS / "report.py"))["wide_spectrum_block"](record)
  assert "jackknife" in block and "WRN-10-1" in block
