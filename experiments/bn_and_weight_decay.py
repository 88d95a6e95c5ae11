"""BatchNorm and weight decay: each alone reaches the minimum, together GD never converges.

Li & Arora (2020) state, with a worked toy example, that "using either weight decay or BN
alone reaches global minimum, but convergence fails when both are used". The seed holds
only their abstract (``../shared/seeds/000_*.txt``), not the example, so this toy is
built here from the argument behind it: a loss made scale-invariant by normalization has
``<grad L(w), w> = 0``, so a fixed point of GD with weight decay, ``grad L(w) + lam w = 0``,
would need ``lam |w|^2 = 0``: there is none. Weight decay shrinks ``|w|``, the effective
rate ``eta / |w|^2`` grows, and the minimum, stable while it is small, is left once
``eta (lambda_1 + lam) / 2`` -- the GD map's edge of stability (Cohen et al. 2021), with
``lambda_1`` the training loss's top Hessian eigenvalue at ``w`` -- passes 1; the weights
grow again and the cycle repeats.

The toy, per seed (the seed draws the data and the initial weights; float64, full-batch GD
without momentum, ``eta = 0.5``, ``lam = 5e-3``, 20000 steps):

* data: 128 points in R^2, labels +-1 with probability 1/2 each, ``x = N(0, I) + y (1,
  0.5)`` (the classes overlap: the logistic loss has a finite minimum);
* ``wd`` -- no normalization, weight decay: the logistic loss of ``w . x + b`` plus
  ``lam/2 |(w, b)|^2`` (``optax.add_decayed_weights`` before ``optax.sgd``), strictly
  convex; its minimum by Newton's method;
* ``bn`` -- normalization, no weight decay: ``f(x) = 2 BN(w . x)`` (batch statistics of
  the whole set, no epsilon, so the loss is exactly scale-invariant; the scale 2 is fixed,
  as Li & Arora freeze BN's affine parameters); the loss depends on the direction of
  ``w`` only, its minimum over the angle by a grid of 3600 and a bounded scalar search;
* ``bn+wd`` -- both;
* ``bn, exp lr`` -- normalization, no weight decay, ``lrsched.schedules.exp_lr(eta, lam,
  0)``: the rate ``eta alpha^(-2t-1)``, ``alpha = 1 - lam eta``, which Li & Arora prove
  equivalent to ``bn+wd`` (weights ``w_t / alpha^t``, the same directions).

Criteria, fixed before the runs (designed on seed 100, which is not a test seed):
*reaches the minimum* -- the excess of the training objective over its minimum (``wd``:
the regularized objective; the ``bn`` arms: the loss minus its minimum over directions)
is below ``1e-9`` at every one of the last 10% of the steps. For ``bn+wd`` the objective
``L + lam/2 |w|^2`` has no minimum (its infimum, the loss's minimum, is approached only as
``w -> 0``), so the criterion asks only that the *loss* reach its minimum -- the most
generous reading, so that a failure is not an artifact of it. A *departure* is a step
where the excess rises above ``1e-6`` after the run first reached ``1e-9``.

Claims, each an exact binomial count over the 8 seeds 0-7 (``P > 1/2``; 6 runs are the
fewest that can resolve): weight decay alone reaches the minimum; BatchNorm alone reaches
the minimum; both together do not; the exponential-rate twin is the same run as ``bn+wd``
(``1 - cos < 1e-12`` between their weights at every step while the GD map is stable: up to
the step where ``bn+wd``'s ratio first passes 1 after it reached the minimum -- past the
edge the instability amplifies rounding differences as it amplifies the deviation from the
minimum, so two float64 runs of one map part there, see RESULTS.md) and does not reach the
minimum either; every departure starts past the edge (``eta (lambda_1 + lam)/2 > 1`` at the
step before it).

Run (8 seeds x 4 arms, about 2 minutes on 2 shared CPU cores; ``--seeds`` to change them)::

  python experiments/bn_and_weight_decay.py

It writes ``experiments/results/bn_and_weight_decay.json`` (per seed: the largest excess
over the last 10% of the steps, the number of departures, the rate ratio at each
departure, the weights' norm range, the twin's ``1 - cos``) and
``experiments/figures/bn_and_weight_decay.png`` (seed 0, its first 3000 steps: the excess per
step of the four arms, the weight norm, and ``eta (lambda_1 + lam) / 2`` with its departures).

Expected (seed 100, the design seed): ``wd`` and ``bn`` at the minimum to rounding within
~1000 steps; ``bn+wd`` at the minimum by step ~500, then departures every ~195 steps,
excess up to ~0.02 nats, each ~80 steps after the ratio crossed 1 (at ratio ~1.5); the
twin equal to ``1 - cos ~ 1e-16`` up to the first departure.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.optimize
from matplotlib.figure import Figure

from lrsched.plotting import save_figure
from lrsched.schedules import exp_lr
from lrsched.train.sweep import add_results_arguments, redecide, write_results
from lrsched.train.verdicts import count_claim

HERE = pathlib.Path(__file__).resolve().parent
EXPERIMENT = "bn_and_weight_decay"
ARMS = ("wd", "bn", "bn+wd", "bn, exp lr")
AT_MINIMUM = 1e-9   # "reaches the minimum": excess below this over the last tenth
DEPARTED = 1e-6     # a departure: the excess rises above this after reaching AT_MINIMUM
SHOWN = 3000       # the figure's steps (the cycle repeats to the end)
SAME_RUN = 1e-12    # the twin: 1 - cos below this while bn+wd's GD map is stable


@dataclasses.dataclass(frozen=True)
class Setup:
  """The toy's fixed settings (the module doc gives their reasons)."""
  num_points: int = 128
  learning_rate: float = 0.5
  weight_decay: float = 5e-3
  steps: int = 20000
  bn_scale: float = 2.0
  shift: tuple[float, float] = (1.0, 0.5)


def make_data(seed: int, setup: Setup) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The seed's points ``x`` (n, 2), labels ``y`` (+-1) and initial weights (2,)."""
  rng = np.random.default_rng(seed)
  y = np.where(rng.random(setup.num_points) < 0.5, 1.0, -1.0)
  x = rng.normal(size=(setup.num_points, 2)) + y[:, None] * np.asarray(setup.shift)
  w0 = rng.normal(size=2)
  return jnp.asarray(x), jnp.asarray(y), jnp.asarray(w0)


def bn_loss(w: jax.Array, x: jax.Array, y: jax.Array, scale: float) -> jax.Array:
  """Logistic loss of ``scale * BN(x @ w)``: batch statistics, no epsilon (scale-invariant)."""
  z = x @ w
  z = (z - z.mean()) / jnp.sqrt(z.var())
  return jnp.mean(jnp.logaddexp(0.0, -y * scale * z))


def linear_objective(p: jax.Array, x: jax.Array, y: jax.Array, lam: float) -> jax.Array:
  """Logistic loss of ``x @ w + b`` plus ``lam/2 |(w, b)|^2`` (``p = (w, b)``)."""
  return jnp.mean(jnp.logaddexp(0.0, -y * (x @ p[:2] + p[2]))) + 0.5 * lam * p @ p


def linear_minimum(x: jax.Array, y: jax.Array, lam: float) -> float:
  """The regularized objective's minimum, by Newton's method (strictly convex)."""
  p = jnp.zeros(3)
  grad, hess = jax.grad(linear_objective), jax.hessian(linear_objective)
  for _ in range(50):
    p = p - jnp.linalg.solve(hess(p, x, y, lam), grad(p, x, y, lam))
  return float(linear_objective(p, x, y, lam))


def bn_minimum(x: jax.Array, y: jax.Array, scale: float) -> float:
  """The scale-invariant loss's minimum over directions: a grid of 3600 angles, refined."""
  def at(theta: float) -> float:
    return float(bn_loss(jnp.array([np.cos(theta), np.sin(theta)]), x, y, scale))
  grid = np.linspace(0.0, 2 * np.pi, 3600, endpoint=False)
  values = jax.vmap(lambda t: bn_loss(jnp.stack([jnp.cos(t), jnp.sin(t)]), x, y, scale))(
      jnp.asarray(grid))
  best = float(grid[int(jnp.argmin(values))])
  step = grid[1] - grid[0]
  found = scipy.optimize.minimize_scalar(at, bounds=(best - step, best + step),
                                         method="bounded", options={"xatol": 1e-13})
  return min(float(found.fun), float(jnp.min(values)))


def gd(objective, params: jax.Array, optimizer: optax.GradientTransformation, steps: int,
       probe) -> dict[str, np.ndarray]:
  """``steps`` full-batch updates of ``optimizer`` on ``objective``; ``probe(params)``
  after each (a dict of scalars and arrays), stacked over steps."""
  grad = jax.grad(objective)

  def step(carry, _):
    p, state = carry
    updates, state = optimizer.update(grad(p), state, p)
    p = optax.apply_updates(p, updates)
    return (p, state), {"params": p, **probe(p)}

  _, out = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
  return {k: np.asarray(v) for k, v in out.items()}


def simulate(seed: int, setup: Setup) -> dict[str, dict[str, np.ndarray]]:
  """The four arms' per-step traces for one seed (``excess``: objective minus minimum)."""
  x, y, w0 = make_data(seed, setup)
  eta, lam, scale = setup.learning_rate, setup.weight_decay, setup.bn_scale
  loss = lambda w: bn_loss(w, x, y, scale)  # noqa: E731
  objective = lambda p: linear_objective(p, x, y, 0.0)  # noqa: E731 (wd is the optimizer's)
  bn_star, lin_star = bn_minimum(x, y, scale), linear_minimum(x, y, lam)
  decayed = optax.chain(optax.add_decayed_weights(lam), optax.sgd(eta))
  traces = {
      "wd": gd(objective, jnp.concatenate([w0, jnp.zeros(1)]), decayed, setup.steps,
               lambda p: {"excess": linear_objective(p, x, y, lam) - lin_star}),
      "bn": gd(loss, w0, optax.sgd(eta), setup.steps,
               lambda w: {"excess": loss(w) - bn_star}),
      "bn+wd": gd(loss, w0, decayed, setup.steps, lambda w: {
          "excess": loss(w) - bn_star,
          "edge_ratio": eta * (jnp.linalg.eigvalsh(jax.hessian(loss)(w))[-1] + lam) / 2}),
      "bn, exp lr": gd(loss, w0, optax.sgd(exp_lr(eta, lam, 0.0)), setup.steps,
                       lambda w: {"excess": loss(w) - bn_star}),
  }
  for trace in traces.values():
    w = trace["params"][:, :2]
    trace["norm"] = np.linalg.norm(w, axis=1)
  return traces


def first_reached(excess: np.ndarray) -> int | None:
  """The first step (0-based) whose excess is below AT_MINIMUM, or None."""
  reached = np.flatnonzero(excess < AT_MINIMUM)
  return int(reached[0]) if reached.size else None


def departures(excess: np.ndarray) -> list[int]:
  """Steps (0-based) where the excess rises above DEPARTED after first reaching AT_MINIMUM."""
  start = first_reached(excess)
  if start is None:
    return []
  above = excess > DEPARTED
  return [t for t in range(start + 1, len(excess)) if above[t] and not above[t - 1]]


def summarize(traces: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, object]]:
  """Per arm, the seed's numbers the claims are decided from."""
  out = {}
  for arm, trace in traces.items():
    excess = trace["excess"]
    last = -(len(excess) // 10)  # the last tenth of the steps
    gone = departures(excess)
    out[arm] = {"max_excess_last_tenth": float(excess[last:].max()),
                "min_excess": float(excess.min()),  # >= -rounding: the minimum is right
                "final_excess": float(excess[-1]),
                "reached_minimum": bool(excess[last:].max() < AT_MINIMUM),
                "departures": len(gone),
                "norm_last_tenth_min": float(trace["norm"][last:].min()),
                "norm_last_tenth_max": float(trace["norm"][last:].max())}
    if arm == "bn+wd":
      ratio = trace["edge_ratio"]
      out[arm]["first_departure"] = gone[0] if gone else None
      start = first_reached(excess)
      past = np.flatnonzero(ratio[start:] > 1.0) + start if start is not None else []
      out[arm]["first_edge_crossing"] = int(past[0]) if len(past) else None
      out[arm]["first_departure_lag"] = (gone[0] - int(past[0]) if gone and len(past)
                                         else None)
      out[arm]["edge_ratio_before_departures"] = [float(ratio[t - 1]) for t in gone]
      out[arm]["edge_ratio_min_after_first_departure"] = (float(ratio[gone[0]:].min())
                                                          if gone else None)
      out[arm]["median_period"] = float(np.median(np.diff(gone))) if len(gone) > 1 else None
  a, b = traces["bn+wd"]["params"], traces["bn, exp lr"]["params"]
  one_minus_cos = 1.0 - np.sum(a * b, 1) / (np.linalg.norm(a, axis=1)
                                            * np.linalg.norm(b, axis=1))
  first = out["bn+wd"]["first_edge_crossing"]
  stable = one_minus_cos[:first] if first is not None else one_minus_cos
  out["bn, exp lr"]["one_minus_cos_while_stable"] = float(np.max(stable))
  first = out["bn+wd"]["first_departure"]
  before = one_minus_cos[:first] if first is not None else one_minus_cos
  out["bn, exp lr"]["one_minus_cos_before_first_departure"] = float(np.max(before))
  out["bn, exp lr"]["one_minus_cos_max"] = float(np.max(one_minus_cos))
  return out


def decide(record: dict) -> list[dict]:
  """The claims (exact binomial counts over seeds) from the record's per-seed values."""
  final = {arm: run["final"] for arm, run in record["runs"].items()}
  reached = {arm: final[arm]["reached_minimum"] for arm in ARMS}
  return [
      count_claim("weight decay alone (no normalization) reaches the global minimum",
                  "wd: excess below 1e-9 over the last 10% of steps", reached["wd"]),
      count_claim("BatchNorm alone (no weight decay) reaches the global minimum",
                  "bn: excess below 1e-9 over the last 10% of steps", reached["bn"]),
      count_claim("BatchNorm and weight decay together: GD does not converge (the loss "
                  "does not stay at its minimum)",
                  "bn+wd: excess above 1e-9 somewhere in the last 10% of steps",
                  [not r for r in reached["bn+wd"]]),
      count_claim("the exponential-rate twin (BatchNorm, no weight decay, exp_lr) is the "
                  "same run as BatchNorm + weight decay while the GD map is stable",
                  "1 - cos < 1e-12 at every step before bn+wd's ratio first passes 1",
                  [v < SAME_RUN for v in final["bn, exp lr"]["one_minus_cos_while_stable"]]),
      count_claim("the exponential-rate twin does not converge either",
                  "bn, exp lr: excess above 1e-9 somewhere in the last 10% of steps",
                  [not r for r in reached["bn, exp lr"]]),
      count_claim("every departure from the minimum starts past the edge of stability "
                  "of the GD map: eta (lambda_1 + lam) / 2 > 1 at the step before it",
                  "bn+wd: at least one departure, all with the ratio above 1",
                  [bool(r) and min(r) > 1.0 for r in final["bn+wd"][
                      "edge_ratio_before_departures"]]),
  ]


def plot(traces: dict[str, dict[str, np.ndarray]], seed: int, setup: Setup,
         path: pathlib.Path) -> None:
  """The figure: one seed's excess, weight norm and edge ratio over the first steps."""
  fig = Figure(figsize=(14, 4), layout="constrained")
  axes = fig.subplots(1, 3)
  steps = np.arange(1, setup.steps + 1)
  for arm in ARMS:
    style = {"label": arm, "linestyle": "--" if arm == "bn, exp lr" else "-", "lw": 0.8}
    axes[0].semilogy(steps, np.maximum(traces[arm]["excess"], 1e-17), **style)
  alpha = 1.0 - setup.learning_rate * setup.weight_decay
  for arm in ("bn", "bn+wd", "bn, exp lr"):
    norm = traces[arm]["norm"] * (alpha ** steps if arm == "bn, exp lr" else 1.0)
    axes[1].plot(steps, norm, lw=0.8, linestyle="--" if arm == "bn, exp lr" else "-",
                 label=arm if arm != "bn, exp lr" else "bn, exp lr (x alpha^t)")
  ratio = traces["bn+wd"]["edge_ratio"]
  axes[2].plot(steps, ratio, lw=0.8, label="bn+wd")
  axes[2].axhline(1.0, color="k", lw=0.6, linestyle=":", label="edge (1)")
  gone = departures(traces["bn+wd"]["excess"])
  axes[2].plot(np.asarray(gone), ratio[np.asarray(gone, int) - 1], "rv", ms=3,
               label="departures")  # at x = t, the step before departure t + 1 (1-based)
  titles = ("excess over the minimum (log)", "weight norm |w|",
            "eta (lambda_1 + lam) / 2 (bn+wd)")
  for ax, title in zip(axes, titles, strict=True):
    ax.set_title(title)
    ax.set_xlabel(f"step (the first {SHOWN} of {setup.steps})")
    ax.set_xlim(0, min(SHOWN, setup.steps))
    ax.legend(fontsize="x-small")
  axes[2].set_yscale("log")
  fig.suptitle(f"Li & Arora's toy: BatchNorm, weight decay, both (seed {seed})")
  save_figure(fig, path)


def main(argv: list[str] | None = None) -> dict:
  """Runs the toy over the seeds, writes the results file and the figure; returns the record."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
  parser.add_argument("--steps", type=int, default=Setup.steps)
  add_results_arguments(parser, HERE / f"results/{EXPERIMENT}.json", HERE / "figures")
  args = parser.parse_args(argv)
  if args.decide_only:
    return redecide(args.results, decide)
  if len(args.seeds) != len(set(args.seeds)) or not args.seeds:
    raise ValueError(f"--seeds must be distinct seeds, got {args.seeds}")
  if args.steps < 100:
    raise ValueError(f"--steps must be >= 100, got {args.steps}")
  setup = Setup(steps=args.steps)
  per_seed = []
  x64 = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)  # float64 here, restored after (main is imported)
  try:
    for seed in args.seeds:
      traces = simulate(seed, setup)
      per_seed.append(summarize(traces))
      if seed == args.seeds[0]:
        plot(traces, seed, setup, pathlib.Path(args.figures) / f"{EXPERIMENT}.png")
  finally:
    jax.config.update("jax_enable_x64", x64)
  runs = {arm: {"seeds": list(args.seeds),
                "final": {key: [s[arm][key] for s in per_seed] for key in per_seed[0][arm]},
                "config": {**dataclasses.asdict(setup), "arm": arm}}
          for arm in ARMS}
  record = {"experiment": EXPERIMENT, "claims": [], "runs": runs}
  record["claims"] = decide(record)
  write_results(args.results, record)
  for item in record["claims"]:
    print(f"{item['verdict']:>13}: {item['claim']} ({item['count']}/{item['n']})")
  return record


if __name__ == "__main__":
  main()
