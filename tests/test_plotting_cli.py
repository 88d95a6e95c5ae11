"""The gallery, plot_schedules and the lrsched CLI write real PNGs."""

import json
import subprocess
import sys

import numpy as np
import optax
import pytest
from matplotlib.image import imread

import lrsched
from lrsched import cli, plotting


def assert_png(path):
  image = imread(path)
  assert image.shape[0] > 200 and image.shape[1] > 400
  assert np.ptp(image[..., :3]) > 0.5  # something is drawn on the white canvas


def test_gallery_cli_writes_png_and_says_where(tmp_path, capsys):
  out = tmp_path / "sub" / "gallery.png"
  assert cli.main(["gallery", "--out", str(out)]) == 0
  assert str(out.resolve()) in capsys.readouterr().out
  assert_png(out)


def test_plot_schedules_draws_given_values(tmp_path):
  fig = plotting.plot_schedules(
      {"sgdr": lrsched.sgdr(0.1, 50), "rex": {"name": "rex", "init_value": 0.1,
                                              "total_steps": 200}},
      200, tmp_path / "p.png",
      momentum={"m": {"name": "one_cycle_momentum", "total_steps": 200}},
  )
  assert_png(tmp_path / "p.png")
  lr_axis, momentum_axis = fig.axes
  sgdr_line = lr_axis.lines[0].get_ydata()
  np.testing.assert_allclose(sgdr_line, lrsched.sgdr(0.1, 50)(np.arange(200)), rtol=1e-6)
  assert momentum_axis.lines[0].get_ydata()[0] == pytest.approx(0.95)


def test_plot_cli_with_momentum_epochs_and_file_spec(tmp_path, capsys):
  spec_file = tmp_path / "spec.json"
  spec_file.write_text(json.dumps({"name": "step_decay", "init_value": 0.1,
                                   "boundaries": [3, 6], "unit": "epochs",
                                   "label": "decay at 3, 6"}))
  out = tmp_path / "plot.png"
  code = cli.main([
      "plot", f"@{spec_file}",
      '{"name": "cyclic", "init_value": 0.01, "peak_value": 0.1, "step_size_up": 1,'
      ' "unit": "epochs"}',
      "--momentum", '{"name": "cyclic_momentum", "step_size_up": 1, "unit": "epochs"}',
      "--steps", "800", "--steps-per-epoch", "100", "--log", "--out", str(out),
  ])
  assert code == 0, capsys.readouterr().err
  assert_png(out)


def test_plot_cli_reports_bad_spec(tmp_path, capsys):
  code = cli.main(["plot", '{"name": "sgdr", "peak_value": 0.1, "first_period": 0}',
                   "--steps", "10", "--out", str(tmp_path / "x.png")])
  assert code == 2
  assert "first_period must be an integer in [1, 2147483647], got 0" in capsys.readouterr().err
  assert not (tmp_path / "x.png").exists()
  assert cli.main(["plot", "{not json", "--steps", "10"]) == 2


def test_console_script_entry_point_runs(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "lrsched.cli", "list"], capture_output=True, text=True,
      check=True,
  )
  lines = result.stdout.splitlines()
  # Each name with its signature, then the first line of its docstring, indented.
  assert ("one_cycle(total_steps, peak_value, pct_start=0.3, div_factor=25.0, "
          "final_div_factor=10000.0, anneal='cos', three_phase=False)") in lines
  index = lines.index("warmup(schedule, warmup_steps, init_value=0.0, prefix=True)")
  assert lines[index + 1] == "    A linear warmup in front of any schedule."
  names = [line.split("(")[0] for line in lines if not line.startswith(" ")]
  # (Other tests register test_* schedules in this process, not in the subprocess.)
  assert names == [n for n in lrsched.registered_names() if not n.startswith("test_")]
  assert {"warmup_cosine_decay_schedule", "polynomial_schedule", "join", "stretch",
          "inverse_sqrt", "sgdr_schedule"} <= set(names)


def test_plot_of_a_constant_schedule(tmp_path, capsys):
  # optax.constant_schedule returns a scalar for a vector of counts: it used to fail.
  out = tmp_path / "constant.png"
  code = cli.main(["plot", '{"name": "constant", "value": 0.1}',
                   '{"name": "constant_schedule", "value": 0.05}', "--steps", "100",
                   "--out", str(out)])
  assert code == 0, capsys.readouterr().err
  assert_png(out)
  fig = plotting.plot_schedules({"c": optax.constant_schedule(0.2)}, 50)
  np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), 0.2)


def test_plot_of_huge_step_counts_is_fast_or_a_clear_error(tmp_path, capsys):
  code = cli.main(["plot", '{"name": "rex", "init_value": 0.1, "total_steps": 1000}',
                   "--steps", "3000000000", "--out", str(tmp_path / "x.png")])
  assert code == 2
  assert "--steps must be in [1, 2147483647]" in capsys.readouterr().err
  out = tmp_path / "huge.png"
  code = cli.main(["plot", '{"name": "rex", "init_value": 0.1, "total_steps": 2000000000}',
                   "--steps", "2147483647", "--out", str(out)])
  assert code == 0, capsys.readouterr().err
  fig = plotting.plot_schedules({"rex": lrsched.rex(0.1, 2_000_000_000)}, 2**31 - 1)
  x = fig.axes[0].lines[0].get_xdata()
  assert len(x) == plotting.MAX_PLOT_POINTS and x[0] == 0 and x[-1] == 2**31 - 2
  with pytest.raises(ValueError, match=r"num_steps must be an integer in \[1, 2147483647\]"):
    plotting.plot_schedules({"rex": lrsched.rex(0.1, 10)}, 2**31)


def test_gallery_help_describes_it_and_shows_the_default():
  commands = cli.build_parser()._subparsers._group_actions[0].choices
  text = " ".join(commands["gallery"].format_help().split())
  assert (f"Draws every schedule family over {plotting.GALLERY_STEPS} steps into one PNG of "
          f"{len(plotting.GALLERY)} panels") in text
  assert "(default: gallery/schedules.png)" in text


def test_plot_in_epochs_without_steps_per_epoch_names_the_option(tmp_path, capsys):
  spec = '{"name": "step_decay", "init_value": 0.1, "boundaries": [3], "unit": "epochs"}'
  assert cli.main(["plot", spec, "--steps", "10", "--out", str(tmp_path / "x.png")]) == 2
  err = capsys.readouterr().err
  assert "spec for 'step_decay' is in epochs: pass --steps-per-epoch N" in err
  assert "pass steps_per_epoch" not in err and not (tmp_path / "x.png").exists()
  assert cli.main(["plot", spec, "--steps", "10", "--steps-per-epoch", "0"]) == 2
  assert "--steps-per-epoch must be a positive integer, got 0" in capsys.readouterr().err


def test_mean_curve_holds_a_stopped_seed_at_its_last_value():
  """AutoDecay stops seeds early: by default the mean keeps every seed (a stopped run's last
  value carries on) instead of averaging only the survivors."""
  from matplotlib.figure import Figure

  histories = [[{"epoch": e, "acc": 0.5} for e in (1, 2)],  # stops after epoch 2
               [{"epoch": e, "acc": v} for e, v in ((1, 0.7), (2, 0.7), (3, 0.9), (4, 0.9))]]
  ax = Figure().subplots()
  plotting.plot_mean_curve(ax, histories, "acc", scale=100)
  line, stops = ax.get_lines()
  np.testing.assert_allclose(line.get_xdata(), [1, 2, 3, 4])
  np.testing.assert_allclose(line.get_ydata(), [60, 60, 70, 70])
  np.testing.assert_allclose(stops.get_xydata(), [[2, 60]])  # the stop is marked
  ax = Figure().subplots()
  plotting.plot_mean_curve(ax, histories, "acc", scale=100, after_stop="drop")
  np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [60, 60, 90, 90])
  with pytest.raises(ValueError, match="after_stop must be 'hold' or 'drop', got 'mean'"):
    plotting.plot_mean_curve(ax, histories, "acc", after_stop="mean")
