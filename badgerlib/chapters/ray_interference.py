"""Chapter 3, ray interference: the two-component toy, Micro-Badger solving one dimension at a
time, gradient conflict between dimensions at the stored snapshots, and L1 against MSE for the
LSTM meta-learner.

Its Micro-Badger runs are the standard ones (:func:`badgerlib.chapters.standard.standard_runs`,
shared with chapter 2); the LSTM runs of the metric comparison are built here
(:func:`lstm_metric_configs`). :func:`configs` lists them all.

Example
-------
>>> {name: len(cfgs) for name, cfgs in configs(quick=True).items()}
{'standard': 5, 'lstm': 10}
>>> sizes(False).n, sizes(False).seeds, sizes(False).lstm_seeds, sizes(False).lstm_iterations
(20, 10, 20, 5000)
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from scipy import stats

from badgerlib import plots
from badgerlib.analysis.components import solve_times
from badgerlib.analysis.dynamics import first_below
from badgerlib.analysis.interference import ray_flow, ray_interference, snapshot_interference, start_grid
from badgerlib.baselines import LSTMMetaLearnerConfig
from badgerlib.chapters import standard
from badgerlib.chapters.phases import detect_plateaus, plateau_membership
from badgerlib.checks import check_choice, check_int
from badgerlib.config import RunConfig
from badgerlib.tasks import GuessingGame


# ------------------------------------------------------------------------------ sizes and runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (quick or full) of chapter 3.

    Fields
    ------
    seeds: seeds of the Micro-Badger runs.
    n: numbers guessed by the Micro-Badger runs (chapter 2's standard runs of this N).
    interference_snapshots: the most snapshots per Micro-Badger run whose gradient
        interference is measured, evenly spaced over the run (0: every snapshot). One snapshot
        costs about a second at N = 20 (20 gradients through 24 inner steps).
    grid: starts per axis of the toy's basin map.
    toy_time: time to which the toy's flows are integrated.
    lstm_n: numbers guessed by the LSTM meta-learner runs of the L1-against-MSE comparison.
    lstm_seeds: seeds per metric of those runs.
    lstm_hidden, lstm_iterations, lstm_lr, lstm_inner_steps, lstm_batch: the LSTM
        meta-learner's hidden size, outer iterations, Adam learning rate, inner steps and batch.
    lstm_snapshot_every: outer iterations between the LSTM runs' snapshots.

    Example
    -------
    >>> QUICK.grid, FULL.grid
    (41, 101)
    """

    seeds: int = 5
    n: int = 6
    interference_snapshots: int = 0
    grid: int = 41
    toy_time: float = 400.0
    lstm_n: int = 3
    lstm_seeds: int = 5
    lstm_hidden: int = 64
    lstm_iterations: int = 1200
    lstm_lr: float = 3e-3
    lstm_inner_steps: int = 10
    lstm_batch: int = 32
    lstm_snapshot_every: int = 50


#: Quick mode: five seeds, chapter 2's N = 6 runs, a coarse basin map.
QUICK = Sizes()

#: Full mode: the study's N = 20, chapter 2's ten seeds of it (one snapshot every 100
#: iterations, interference at up to 250 of them per run: one every 500-600 iterations, some
#: 25 in a transition of a median 13 000 iterations); the study's 20 seeds of the LSTM runs,
#: longer; a finer basin map. Until 2026-12-08 full mode used chapter 2's N = 6 runs (20
#: seeds), below the study's scale.
FULL = Sizes(seeds=10, n=20, interference_snapshots=250, grid=101, lstm_seeds=20, lstm_iterations=5000)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(True).seeds
    5
    """
    if not isinstance(quick, (bool, np.bool_)):
        raise ValueError(f"quick = {quick!r}: must be True or False")
    return QUICK if quick else FULL


def lstm_metric(metric: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The LSTM meta-learner (hidden 64, features error, log, change) on the guessing game
    with feedback metric ``"mse"`` or ``"l1"`` (both scaled so that guessing zeros scores 1).

    Example
    -------
    >>> cfg = lstm_metric("l1", seed=1)
    >>> cfg.task.metric, cfg.model.hidden, cfg.iterations, cfg.snapshot_count
    ('l1', 64, 1200, 25)
    """
    size = sizes(quick)
    return RunConfig(task=GuessingGame(n=size.lstm_n, metric=metric), model=LSTMMetaLearnerConfig(hidden=size.lstm_hidden),
                     inner_steps=size.lstm_inner_steps, iterations=size.lstm_iterations, batch=size.lstm_batch,
                     lr=size.lstm_lr, seed=int(seed), snapshot_count=size.lstm_iterations // size.lstm_snapshot_every + 1)


def lstm_metric_configs(seeds: int, quick: bool = True) -> dict[str, list[RunConfig]]:
    """``{"mse": [...], "l1": [...]}``: the LSTM meta-learner runs for seeds 0..seeds-1.

    Example
    -------
    >>> {k: len(v) for k, v in lstm_metric_configs(3).items()}
    {'mse': 3, 'l1': 3}
    """
    check_int("lstm_metric_configs", "seeds", seeds, 1)
    return {m: [lstm_metric(m, s, quick) for s in range(seeds)] for m in ("mse", "l1")}


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the chapter: ``"standard"``, the standard Micro-Badger runs of N =
    ``sizes(quick).n`` (shared with chapter 2), and ``"lstm"``, the LSTM meta-learner trained
    on MSE (seeds 0..lstm_seeds-1) then on L1 (the same seeds).

    Example
    -------
    >>> cfgs = configs(quick=True)
    >>> cfgs["standard"] == standard.standard_runs([6], seeds=5)
    True
    >>> [(c.task.metric, c.seed) for c in cfgs["lstm"][4:6]]
    [('mse', 4), ('l1', 0)]
    """
    size = sizes(quick)
    lstm = lstm_metric_configs(size.lstm_seeds, quick)
    return {"standard": standard.standard_runs([size.n], size.seeds, quick), "lstm": lstm["mse"] + lstm["l1"]}


# ---------------------------------------------------------------------------- the toy
#: Starts near [0, 0] (J1, J2) whose trajectories Figure 3.1 draws.
NEAR_ZERO = np.array([[0.02, 0.03], [0.03, 0.02], [0.015, 0.05], [0.05, 0.015], [0.02, 0.021]])

#: Basin codes of :func:`badgerlib.analysis.interference.ray_interference` and their colours.
BASIN_COLORS = {0: plots.PALETTE[0], 1: plots.PALETTE[1], 2: "0.85", -1: "k"}


@dataclass(frozen=True)
class RayToy:
    """The two-component toy under both learning rules: ``basins[kind]`` from a grid x grid
    map of starts in [0.01, 0.99]^2, ``near_zero[kind]`` from :data:`NEAR_ZERO`
    (:class:`badgerlib.analysis.interference.RayResult`, kind ``"supervised"`` or ``"rl"``).

    ``together_share[kind]``: share of the grid whose basin is "both together";
    ``both_time[kind]``: mean time until both components are solved from near zero;
    ``saddle_time[kind]``: mean time spent near [1, 0] or [0, 1] from near zero;
    ``one_first[kind]``: starts near zero from which one component is solved first.
    """

    rho: float
    grid: int
    basins: dict
    near_zero: dict

    @property
    def together_share(self) -> dict:
        return {k: float(np.mean(r.basin == 2)) for k, r in self.basins.items()}

    @property
    def both_time(self) -> dict:
        return {k: float(np.mean(np.max(r.solve_times, axis=1))) for k, r in self.near_zero.items()}

    @property
    def saddle_time(self) -> dict:
        return {k: float(np.mean(r.saddle_time)) for k, r in self.near_zero.items()}

    @property
    def one_first(self) -> dict:
        return {k: int(np.sum(r.basin != 2)) for k, r in self.near_zero.items()}


def ray_toy(rho: float = 0.0, grid: int = 41, t_max: float = 400.0) -> RayToy:
    """Integrate the toy's supervised and RL flows (overlap ``rho`` = phi_1 . phi_2) from a
    ``grid`` x ``grid`` map of starts and from :data:`NEAR_ZERO`, to time ``t_max``.

    Example
    -------
    >>> toy = ray_toy(0.0, grid=3, t_max=100.0)
    >>> toy.one_first, toy.saddle_time["supervised"], round(toy.both_time["rl"])
    ({'supervised': 0, 'rl': 4}, 0.0, 77)
    """
    check_int("ray_toy", "grid", grid, 1)
    starts = start_grid(grid, 0.01, 0.99)
    run = lambda s, kind: ray_interference(s, rho=rho, kind=kind, t_max=t_max)  # noqa: E731
    return RayToy(float(rho), int(grid), {k: run(starts, k) for k in ("supervised", "rl")},
                  {k: run(NEAR_ZERO, k) for k in ("supervised", "rl")})


def toy_numbers(toy: RayToy) -> dict:
    """The toy's numbers as the chapter's text cites them (glue name -> value).

    Example
    -------
    >>> nums = toy_numbers(ray_toy(0.0, grid=3, t_max=100.0))
    >>> nums["rl_onefirst"], nums["n_near"], nums["sup_together"], nums["rl_saddle"]
    (4, 5, '33', '16')
    """
    return {"rho": toy.rho, "grid": toy.grid,
            "sup_together": f"{100 * toy.together_share['supervised']:.0f}",
            "rl_together": f"{100 * toy.together_share['rl']:.0f}",
            "sup_time": f"{toy.both_time['supervised']:.0f}", "rl_time": f"{toy.both_time['rl']:.0f}",
            "sup_saddle": f"{toy.saddle_time['supervised']:.0f}", "rl_saddle": f"{toy.saddle_time['rl']:.0f}",
            "rl_onefirst": toy.one_first["rl"], "n_near": len(NEAR_ZERO)}


#: The overlaps of the interference sweep: independent components and three negative
#: interferences (Schaul et al.'s ray interference needs rho < 0).
SWEEP_RHOS = (0.0, -0.2, -0.5, -0.8)


def interference_sweep(rhos=SWEEP_RHOS, t_max: float = 400.0) -> pd.DataFrame:
    """The toy from :data:`NEAR_ZERO` under every overlap ``rho`` of ``rhos`` and both
    learning rules, with (``"rl"``: each component's gradient scaled by how well it is
    done) and without (``"supervised"``) the on-policy coupling: one row per (kind, rho) with
    ``saddle_time`` (mean time near [1, 0] or [0, 1]), ``both_time`` (mean time until both
    are solved; inf when a start never solves both by ``t_max``), ``unsolved`` (starts that
    never do) and ``one_first`` (starts that solve one component first). Schaul et al.: the
    plateau needs both the negative interference and the coupling.

    Example
    -------
    >>> t = interference_sweep((0.0, -0.5), t_max=100.0)
    >>> float(t.set_index(["kind", "rho"]).loc[("supervised", -0.5), "saddle_time"])
    0.0
    """
    rows = []
    for kind in ("supervised", "rl"):
        for rho in rhos:
            r = ray_interference(NEAR_ZERO, rho=float(rho), kind=kind, t_max=t_max)
            both = np.max(r.solve_times, axis=1)
            rows.append({"kind": kind, "rho": float(rho), "saddle_time": float(np.mean(r.saddle_time)),
                         "both_time": float(np.mean(both)), "unsolved": int(np.sum(~np.isfinite(both))),
                         "one_first": int(np.sum(r.basin != 2))})
    return pd.DataFrame(rows)


def sweep_numbers(sweep: pd.DataFrame, t_max: float) -> dict:
    """The sweep's numbers as the text cites them (glue name -> text): the stall near the
    saddle with the coupling at rho = 0 and at the most negative rho, the largest stall
    without it, and how many starts the coupled flow leaves unsolved at that rho.

    Example
    -------
    >>> t = pd.DataFrame({"kind": ["supervised"] * 2 + ["rl"] * 2, "rho": [0.0, -0.5] * 2,
    ...                   "saddle_time": [0.0, 0.0, 16.0, 347.0], "both_time": [15.0, 30.0, 77.0, np.inf],
    ...                   "unsolved": [0, 0, 0, 2], "one_first": [0, 0, 5, 5]})
    >>> v = sweep_numbers(t, 400.0)
    >>> v["sw_rl_zero"], v["sw_rl_neg"], v["sw_sup_max"], v["sw_unsolved"]
    ('16', '347', '0', '2 of 5')
    """
    rl, sup = sweep[sweep.kind == "rl"].set_index("rho"), sweep[sweep.kind == "supervised"]
    neg = float(sweep.rho.min())
    return {"sw_rl_zero": f"{rl.loc[0.0, 'saddle_time']:.0f}", "sw_rl_neg": f"{rl.loc[neg, 'saddle_time']:.0f}",
            "sw_neg_rho": f"{neg:g}", "sw_sup_max": f"{sup.saddle_time.max():.0f}",
            "sw_sup_both_max": f"{sup.both_time.max():.0f}",
            "sw_unsolved": f"{int(rl.loc[neg, 'unsolved'])} of {len(NEAR_ZERO)}", "sw_t_max": f"{t_max:g}"}


def plot_interference_sweep(sweep: pd.DataFrame, ax=None):
    """Mean time near a saddle from near [0, 0] against the overlap rho, with the on-policy
    coupling (RL) and without it (supervised); a marker ringed in black: some starts never
    solved both components. Returns the axes.

    Example
    -------
    >>> t = interference_sweep((0.0, -0.5), t_max=50.0)
    >>> len(plot_interference_sweep(t).get_lines()) >= 2
    True
    """
    if ax is None:
        _, ax = plots.figure(height=3.0)
    for i, kind in enumerate(("supervised", "rl")):
        g = sweep[sweep.kind == kind].sort_values("rho")
        label = "supervised (no coupling)" if kind == "supervised" else "RL (on-policy coupling)"
        ax.plot(g.rho, g.saddle_time, "o-", color=plots.PALETTE[i], label=label)
        stuck = g[g.unsolved > 0]
        ax.plot(stuck.rho, stuck.saddle_time, "o", mfc="none", mec="k", ms=10)
    ax.set_xlabel(r"overlap $\rho = \phi_1 \cdot \phi_2$ (negative: interference)")
    ax.set_ylabel("time near a saddle\n(mean over starts near [0, 0])")
    ax.legend(fontsize=8)
    return ax


def plot_toy(toy: RayToy, axes) -> None:
    """Figure 3.1: per learning rule (supervised left, RL right) the basin of every start of
    the map (by which component reaches 0.9 first), the flow, and the trajectories from near
    [0, 0].

    Example
    -------
    >>> fig, axes = plots.figure(ncols=2)
    >>> plot_toy(ray_toy(0.0, grid=3, t_max=20.0), axes)
    """
    cmap = ListedColormap([BASIN_COLORS[c] for c in (-1, 0, 1, 2)])
    g = np.linspace(0.005, 0.995, 40)
    J1, J2 = np.meshgrid(g, g)
    for ax, kind, title in zip(axes, ("supervised", "rl"), ("supervised learning", "RL-style learning")):
        img = toy.basins[kind].basin.reshape(toy.grid, toy.grid).T          # rows: J2, columns: J1
        ax.imshow(img + 1, origin="lower", extent=[0, 1, 0, 1], cmap=cmap, vmin=-0.5, vmax=3.5, alpha=0.35,
                  interpolation="nearest", aspect="equal")
        flow = ray_flow(np.stack([J1, J2], axis=-1), rho=toy.rho, kind=kind)
        ax.streamplot(J1, J2, flow[..., 0], flow[..., 1], color="0.55", density=0.8, linewidth=0.6, arrowsize=0.7)
        for tr in toy.near_zero[kind].trajectories:
            ax.plot(tr[:, 0], tr[:, 1], color=plots.PALETTE[3], lw=1.6)
            ax.plot(tr[0, 0], tr[0, 1], "o", color=plots.PALETTE[3], ms=3)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$J_1$ (performance of component 1)", ylabel="$J_2$", title=title)
    axes[0].figure.legend(handles=[Patch(color=BASIN_COLORS[c], alpha=0.5, label=label) for c, label in
                                   ((0, "$J_1$ reaches 0.9 first"), (1, "$J_2$ first"), (2, "both together"))],
                          loc="outside lower center", ncol=3, fontsize=9)


# ------------------------------------------------------------ one dimension at a time
@dataclass(frozen=True)
class SolveOrder:
    """In which order the dimensions of each run were solved, from a
    :func:`badgerlib.chapters.standard.solve_table`.

    ``orders``: seed -> the dimensions solved within the run, first solved first;
    ``gaps``: iterations between consecutive solves, pooled over seeds;
    ``solved_share``: share of all dimensions solved within the runs.
    """

    orders: dict
    gaps: np.ndarray
    solved_share: float

    @property
    def first_dims(self) -> list:
        """The first dimension solved, per seed that solved any."""
        return [o[0] for o in self.orders.values() if o]


def solve_order(solve: pd.DataFrame) -> SolveOrder:
    """The :class:`SolveOrder` of a solve table (columns ``seed``, ``dim``, ``solved_at``).

    Example
    -------
    >>> solve = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "dim": [0, 1, 2, 0, 1, 2],
    ...                       "solved_at": [300.0, 100.0, np.nan, 50.0, 400.0, 200.0]})
    >>> order = solve_order(solve)
    >>> order.orders, order.gaps.tolist(), round(order.solved_share, 2), order.first_dims
    ({0: (1, 0), 1: (0, 2, 1)}, [200.0, 150.0, 200.0], 0.83, [1, 0])
    """
    solved = solve.dropna(subset=["solved_at"])
    gaps = solved.sort_values(["seed", "solved_at"]).groupby("seed").solved_at.diff().dropna()
    # sorted before dropping the unsolved, as chapter 2's tables do, so that ties keep one order
    orders = {int(s): tuple(int(d) for d in solve[solve.seed == s].sort_values("solved_at").dropna(subset=["solved_at"]).dim)
              for s in sorted(solve.seed.unique())}
    return SolveOrder(orders, gaps.to_numpy(dtype=float), len(solved) / len(solve))


#: The smoothing window (outer iterations) of the solve times the order is read from
#: (:func:`badgerlib.analysis.components.solve_times`, through chapter 2's solve table):
#: gaps between solves shorter than about this are not resolved.
SOLVE_WINDOW = int(inspect.signature(solve_times).parameters["window"].default)


def first_dimension_values(test: dict) -> dict:
    """The first-dimension test's numbers as the text cites them (glue name -> text).

    Example
    -------
    >>> v = first_dimension_values({"counts": [2, 0, 1], "runs": 3, "p": 0.55, "max_share_high": 0.99})
    >>> v["fd_counts"], v["fd_p"], v["fd_high"]
    ('2, 0, 1', '0.55', '99')
    """
    return {"fd_counts": ", ".join(map(str, test["counts"])), "fd_p": f"{test['p']:.2g}",
            "fd_high": f"{100 * test['max_share_high']:.0f}", "fd_runs": str(test["runs"])}


def first_dimension_test(first_dims, n: int, level: float = 0.95, draws: int = 200_000, seed: int = 0) -> dict:
    """Is the dimension a run solves first drawn uniformly from the ``n``? An exact
    goodness-of-fit test of ``first_dims`` (one per run) against the uniform multinomial:
    ``p``, the probability under uniformity of counts at most as likely as the observed ones
    (exact enumeration over every way to spread the runs when that is small, else
    ``draws`` Monte Carlo draws with ``seed``); ``counts``; ``runs``; and ``max_share_high``,
    an upper ``level`` bound on the chance that the most frequent first dimension comes
    first (Clopper-Pearson, Bonferroni over the ``n`` dimensions): what the runs rule out.
    A small ``p`` says some dimension is special; a large one does not say none is, which
    is why the bound is reported with it.

    Example
    -------
    >>> t = first_dimension_test([0, 0, 0, 0, 0, 0, 0, 0, 1, 2], n=6)
    >>> t["counts"], t["p"] < 0.01
    ([8, 1, 1, 0, 0, 0], True)
    >>> round(first_dimension_test(list(range(6)) * 2, n=6)["p"], 3)
    1.0
    """
    from itertools import combinations

    from scipy.stats import beta, multinomial

    dims = np.asarray(first_dims, dtype=int)
    runs = len(dims)
    counts = np.bincount(dims, minlength=n)[:n]
    observed = multinomial.pmf(counts, runs, np.full(n, 1.0 / n))
    compositions = math.comb(runs + n - 1, n - 1) if runs else 1
    if compositions <= 300_000:            # stars and bars: every way to spread the runs
        bars = np.array(list(combinations(range(runs + n - 1), n - 1)), dtype=int).reshape(-1, n - 1)
        edges = np.hstack([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), runs + n - 1)])
        pmf = multinomial.pmf(np.diff(edges, axis=1) - 1, runs, np.full(n, 1.0 / n))
        p = min(1.0, float(pmf[pmf <= observed * (1 + 1e-9)].sum()))
    else:
        rng = np.random.default_rng(seed)
        sims = rng.multinomial(runs, np.full(n, 1.0 / n), size=draws)
        p = float(np.mean(multinomial.pmf(sims, runs, np.full(n, 1.0 / n)) <= observed * (1 + 1e-9)))
    k = int(counts.max()) if runs else 0
    alpha = (1 - level) / n
    high = 1.0 if k == runs else float(beta.ppf(1 - alpha, k + 1, runs - k))
    return {"counts": counts.tolist(), "runs": runs, "p": float(p), "max_share_high": high}


def solve_numbers(order: SolveOrder, runs: pd.DataFrame) -> dict:
    """The numbers of "one dimension at a time" as the text cites them (glue name -> value),
    from a :class:`SolveOrder` and a :func:`badgerlib.chapters.standard.run_table`.

    Example
    -------
    >>> order = SolveOrder({0: (1, 0), 1: (0, 1)}, np.array([100.0, 300.0]), 1.0)
    >>> solve_numbers(order, pd.DataFrame({"concurrency": [1.2, 1.6]}))["orders"]
    'seed 0: 1, 0; seed 1: 0, 1'
    """
    conc = runs.concurrency
    return {"orders": "; ".join(f"seed {s}: " + ", ".join(map(str, o)) for s, o in order.orders.items()),
            "n_distinct_first": len(set(order.first_dims)), "solved_share": f"{100 * order.solved_share:.0f}",
            "gap_median": f"{np.median(order.gaps):.0f}", "concurrency": f"{conc.mean():.1f}",
            "concurrency_range": f"{conc.min():.1f}-{conc.max():.1f}"}


def plot_solve_order(solve: pd.DataFrame, ax, iterations: int) -> None:
    """Figure 3.3: per seed (rows), a bar per solved dimension from the start of its transition
    (``started_at``) to the iteration from which it stays solved (dot, labelled with the
    dimension).

    Example
    -------
    >>> solve = pd.DataFrame({"seed": [0, 0], "dim": [0, 1], "started_at": [10.0, 50.0],
    ...                       "solved_at": [80.0, np.nan]})
    >>> plot_solve_order(solve, plots.figure()[1], iterations=100)
    """
    seeds = sorted(solve.seed.unique())
    for s in seeds:
        last_label, above = -np.inf, True
        for row in solve[solve.seed == s].sort_values("solved_at").itertuples():
            if np.isnan(row.solved_at):
                continue
            color = plots.PALETTE[int(row.dim) % len(plots.PALETTE)]
            ax.plot([row.started_at, row.solved_at], [s, s], color=color, lw=4, alpha=0.5, solid_capstyle="butt")
            ax.plot(row.solved_at, s, "o", color=color, ms=6, mec="k", mew=0.5)
            # two solves close together: the second label goes below its dot, not onto the first
            above = not above if row.solved_at - last_label < 0.03 * iterations else True
            last_label = row.solved_at
            ax.annotate(str(int(row.dim)), (row.solved_at, s), xytext=(0, 6 if above else -6),
                        textcoords="offset points", ha="center", va="bottom" if above else "top",
                        fontsize=8)
    ax.set_yticks(seeds)
    ax.set_ylim(min(seeds) - 0.7, max(seeds) + 0.7)
    ax.invert_yaxis()
    ax.set(xlabel="outer iteration", ylabel="seed", xlim=(0, iterations))


# ---------------------------------------------------------------- gradient interference
#: Where a snapshot can fall (:func:`badgerlib.chapters.phases.plateau_membership`), in the
#: order of the chapter's table and figure.
WHERE = ("zeros plateau", "plateau", "transition", "final plateau")

#: The interference measures of :func:`interference_table`.
MEASURES = ("mean_cosine", "conflict", "cancellation", "grad_norm")


def spread_snapshots(count: int, most: int = 0) -> list[int] | None:
    """Indices of at most ``most`` of ``count`` snapshots, evenly spaced from the first to the
    last; None (every snapshot) when ``most`` is 0 or at least ``count``.

    Example
    -------
    >>> spread_snapshots(11, 3), spread_snapshots(11, 0), spread_snapshots(2, 5)
    ([0, 5, 10], None, None)
    """
    check_int("spread_snapshots", "count", count, 0)
    check_int("spread_snapshots", "most", most, 0)
    if most == 0 or most >= count:
        return None
    return np.unique(np.round(np.linspace(0, count - 1, most)).astype(int)).tolist()


def interference_table(runs, device: str = "cpu", snapshots: int = 0) -> pd.DataFrame:
    """One row per measured snapshot of every run: ``seed``, ``iteration``, ``where`` (zeros
    plateau, plateau, transition or final plateau, by chapter 2's plateau detector on the
    run's ``last_error``), and the :func:`snapshot_interference` measures ``mean_cosine``,
    ``conflict``, ``cancellation``, ``grad_norm``. ``snapshots``: measure at most that many
    per run, evenly spaced (:func:`spread_snapshots`; 0: all; Sizes
    ``interference_snapshots``).

    It rebuilds models from trained runs: the examples are in ``tests/``.
    """
    rows = []
    for run in runs:
        chosen = spread_snapshots(len(run.snapshots["iterations"]), snapshots)
        res = snapshot_interference(run, snapshots=chosen, device=device)
        last_error, n = run.history["last_error"], run.config.task.n
        where = plateau_membership(res["iterations"], detect_plateaus(last_error, n, run.config.task.zeros_level),
                                   len(last_error), n)
        for i, it in enumerate(res["iterations"]):
            rows.append({"seed": run.config.seed, "iteration": it, "where": where[i],
                         **{m: res[m][i] for m in MEASURES}})
    return pd.DataFrame(rows)


def interference_medians(table: pd.DataFrame) -> pd.DataFrame:
    """Median of each interference measure per ``where`` group (Table 3.1), one row for each
    of :data:`WHERE` (NaN where no snapshot falls: a check on it then fails, naming the
    table, instead of stopping at a missing row).

    Example
    -------
    >>> t = pd.DataFrame({"where": ["plateau", "plateau", "transition"], "mean_cosine": [-0.2, -0.4, 0.1],
    ...                   "conflict": [0.5, 0.7, 0.2], "cancellation": [0.3, 0.5, 0.9], "grad_norm": [1.0, 2.0, 3.0]})
    >>> med = interference_medians(t)
    >>> med.loc["plateau"].round(2).tolist(), bool(med.loc["zeros plateau"].isna().all())
    ([-0.3, 0.6, 0.4, 1.5], True)
    """
    return table.groupby("where")[list(MEASURES)].median().reindex(list(WHERE))


#: The margin of the plateau/transition comparison, in units of the cancellation ratio (1:
#: orthogonal per-dimension gradients): a fifth of the orthogonal value, a third of the
#: drop from the zeros plateau to the later ones in the quick pilot (0.97 to 0.41).
EQUIVALENCE_MARGIN = 0.2


def plateau_transition_difference(table: pd.DataFrame, margin: float = EQUIVALENCE_MARGIN) -> dict:
    """Are later plateaus more conflicted than transitions? One number per run: its median
    cancellation ratio on plateau snapshots minus that on transition snapshots (runs with
    both; ``per_run``). Across runs: ``mean``, its 90 % t-interval ``low`` / ``high`` (the two
    one-sided 95 % bounds of an equivalence test), ``p_lower`` (one-sided t-test of
    H0: difference <= -margin, i.e. plateaus cancel more by at least the margin),
    ``p_upper`` (H0: difference >= margin), ``equivalent`` (both rejected at 0.05: the two
    one-sided tests), ``runs``, and ``transition_snapshots`` (per run, how many of its
    snapshots fall in transitions: how densely the transitions are sampled). Negative
    differences mean more cancellation (more conflict) on plateaus.

    Example
    -------
    >>> t = pd.DataFrame({"seed": np.repeat(range(6), 2), "where": ["plateau", "transition"] * 6,
    ...                   "cancellation": [0.40, 0.42, 0.50, 0.45, 0.30, 0.33, 0.60, 0.61, 0.45, 0.40, 0.38, 0.41]})
    >>> d = plateau_transition_difference(t)
    >>> d["runs"], round(d["mean"], 3), d["equivalent"], d["transition_snapshots"].tolist()
    (6, 0.002, True, [1, 1, 1, 1, 1, 1])
    """
    med = table[table["where"].isin(("plateau", "transition"))].groupby(["seed", "where"]).cancellation.median()
    wide = med.unstack().dropna()
    diff = (wide["plateau"] - wide["transition"]) if len(wide) else pd.Series(dtype=float)
    density = table[table["where"] == "transition"].groupby("seed").size().reindex(diff.index, fill_value=0)
    n = len(diff)
    if n < 2:
        return {"per_run": diff, "runs": n, "mean": np.nan, "low": np.nan, "high": np.nan, "p_lower": np.nan,
                "p_upper": np.nan, "equivalent": False, "margin": margin, "transition_snapshots": density}
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(n))
    t = stats.t(df=n - 1)
    if se > 0:
        p_lower, p_upper = float(t.sf((mean + margin) / se)), float(t.cdf((mean - margin) / se))
    else:                               # every run the same difference: decided outright
        p_lower, p_upper = float(mean <= -margin), float(mean >= margin)
    q = t.ppf(0.95)
    return {"per_run": diff, "runs": n, "mean": mean, "low": mean - q * se, "high": mean + q * se,
            "p_lower": p_lower, "p_upper": p_upper, "equivalent": bool(max(p_lower, p_upper) <= 0.05),
            "margin": margin, "transition_snapshots": density}


def difference_values(d: dict) -> dict:
    """:func:`plateau_transition_difference` as the text cites it (glue name -> text).

    Example
    -------
    >>> v = difference_values({"runs": 5, "mean": -0.004, "low": -0.18, "high": 0.17, "p_lower": 0.04,
    ...                        "p_upper": 0.03, "equivalent": True, "margin": 0.2})
    >>> v["pt_diff"], v["pt_reading"], v["pt_trans_snaps"]
    ('-0.00 (90 % interval -0.18 to 0.17)', 'equivalent within ±0.2 (two one-sided tests, p = 0.04)', '-')
    """
    if d["equivalent"]:
        reading = f"equivalent within ±{d['margin']:g} (two one-sided tests, p = {max(d['p_lower'], d['p_upper']):.2g})"
    else:
        reading = (f"not shown equivalent within ±{d['margin']:g} (two one-sided tests, p = "
                   f"{max(d['p_lower'], d['p_upper']):.2g}); more cancellation on plateaus by {d['margin']:g} or more "
                   + ("ruled out" if d["p_lower"] <= 0.05 else "not ruled out") + f" (p = {d['p_lower']:.2g})")
    density = d.get("transition_snapshots")
    snaps = (f"{np.median(density):.0f} ({density.min():.0f} to {density.max():.0f})"
             if density is not None and len(density) else "-")
    return {"pt_diff": f"{d['mean']:.2f} (90 % interval {d['low']:.2f} to {d['high']:.2f})",
            "pt_runs": str(d["runs"]), "pt_reading": reading, "pt_margin": f"{d['margin']:g}",
            "pt_trans_snaps": snaps}


def interference_numbers(table: pd.DataFrame, n: int) -> dict:
    """Table 3.1 and the numbers around it as the text cites them (glue name -> value):
    ``<group>_<measure>`` for the groups zeros, plateau, trans, final ("-" when no snapshot
    falls there) and ``min_cos`` (-1/(N-1)).

    Example
    -------
    >>> t = pd.DataFrame({"where": ["plateau"] * 2 + ["transition"] * 2, "mean_cosine": [-0.2, -0.4, 0.0, 0.2],
    ...                   "conflict": [0.5, 0.7, 0.2, 0.4], "cancellation": [0.3, 0.5, 0.9, 0.7], "grad_norm": [1, 2, 3, 4]})
    >>> nums = interference_numbers(t, n=6)
    >>> nums["plateau_mean_cosine"], nums["zeros_conflict"], nums["min_cos"]
    ('-0.30', '-', '-0.20')
    """
    med = interference_medians(table)
    out = {}
    for where, key in zip(WHERE, ("zeros", "plateau", "trans", "final")):
        for m in MEASURES:
            out[f"{key}_{m}"] = f"{med.loc[where, m]:.2f}" if pd.notna(med.loc[where, m]) else "-"
    out["min_cos"] = f"{-1 / (n - 1):.2f}"
    return out


#: How the chapter's table names the groups of :data:`WHERE`.
WHERE_NAMES = {"zeros plateau": "zeros plateau", "plateau": "later plateaus",
               "transition": "transitions", "final plateau": "final plateau"}


def interference_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table of gradient interference: per group of :data:`WHERE` (in that
    order) the number of snapshots and the median of each measure, as strings ("-" for a
    group no snapshot falls in).

    Example
    -------
    >>> t = pd.DataFrame({"where": ["plateau", "plateau", "transition"], "mean_cosine": [-0.2, -0.4, 0.1],
    ...                   "conflict": [0.5, 0.7, 0.2], "cancellation": [0.3, 0.5, 0.9], "grad_norm": [1.0, 2.0, 3.0]})
    >>> summary = interference_summary(t)
    >>> summary.iloc[1].astype(str).tolist(), summary.iloc[0].astype(str).tolist()
    (['later plateaus', '2', '-0.30', '0.60', '0.40', '1.50'], ['zeros plateau', '0', '-', '-', '-', '-'])
    """
    med = interference_medians(table)
    counts = table["where"].value_counts()
    rows = []
    for where in WHERE:
        have = counts.get(where, 0) > 0
        cell = lambda m: f"{round(med.loc[where, m], 2) + 0.0:.2f}" if have else "-"  # noqa: E731 (no -0.00)
        rows.append({"snapshots in": WHERE_NAMES[where], "snapshots": int(counts.get(where, 0)),
                     "mean cosine": cell("mean_cosine"), "conflicting pairs (share)": cell("conflict"),
                     "cancellation ratio": cell("cancellation"), "gradient norm": cell("grad_norm")})
    return pd.DataFrame(rows)


def plot_interference(table: pd.DataFrame, axes, n: int, seed: int = 0) -> None:
    """Figure 3.4 on a 2 x 2 grid of axes: the cancellation ratio over training per seed (top
    left); cancellation, mean cosine and conflict fraction by where the snapshot falls (strip
    plots with medians, :func:`badgerlib.plots.strip_plot`, jittered by ``seed``; the count of
    snapshots under each group's name).

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0, 0], "iteration": [0, 100], "where": ["zeros plateau", "plateau"],
    ...                   "mean_cosine": [0.0, -0.2], "conflict": [0.3, 0.6], "cancellation": [1.0, 0.4],
    ...                   "grad_norm": [0.1, 0.5]})
    >>> plot_interference(t, plots.figure(ncols=2, nrows=2)[1], n=3)
    """
    ax = axes[0, 0]
    for s in sorted(table.seed.unique()):
        sub = table[table.seed == s]
        ax.plot(sub.iteration, sub.cancellation, "o-", ms=2.5, lw=1, color=plots.PALETTE[s % len(plots.PALETTE)],
                label=f"seed {s}")
    ax.axhline(1, color="0.4", ls="--", lw=0.8)
    ax.set(xlabel="outer iteration", ylabel="cancellation ratio")
    seeds = table.seed.nunique()
    if seeds <= 8:     # above the panel, where it hides no data (more seeds: the caption says)
        ax.legend(fontsize=7, ncol=min(seeds, 5), loc="lower left", bbox_to_anchor=(0, 1.01),
                  borderaxespad=0, handlelength=1.0, handletextpad=0.4, columnspacing=0.7)
    names = [f"{w.replace(' ', chr(10))}\n({(table['where'] == w).sum()})" for w in WHERE]
    for ax, col, label in ((axes[0, 1], "cancellation", "cancellation ratio"),
                           (axes[1, 0], "mean_cosine", "mean cosine between\ndimensions' gradients"),
                           (axes[1, 1], "conflict", "share of conflicting pairs")):
        groups = {name: table[table["where"] == w][col].to_numpy() for name, w in zip(names, WHERE)}
        plots.strip_plot(groups, ax, size=10, alpha=0.5, seed=seed)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylabel(label)
    axes[0, 1].axhline(1, color="0.4", ls="--", lw=0.8)
    # the exact-cancellation line -1/(N-1) inside the frame, never on it
    floor = -1 / (n - 1)
    cos = table.mean_cosine.to_numpy(dtype=float)
    low, high = min(floor, np.nanmin(cos, initial=0.0)), max(0.0, np.nanmax(cos, initial=0.0))
    pad = 0.08 * (high - low)
    axes[1, 0].set_ylim(low - pad, high + pad)
    axes[1, 0].axhline(floor, color="0.4", ls=":", lw=1.0)
    axes[1, 0].axhline(0, color="0.4", ls="--", lw=0.8)


# -------------------------------------------------------------------------- L1 against MSE
def snapshot_error(run, metric: str = "mse") -> tuple[np.ndarray, np.ndarray]:
    """The error of the last guess on the run's fixed probe tasks at every snapshot, in one
    metric for all runs: ``"mse"`` gives 3 x mean squared error, ``"l1"`` 2 x mean absolute
    error (both 1.0 for the all-zeros guess). Lets runs trained on different feedback
    metrics be compared on the same scale. Returns ``(iterations, error)``.

    It reads a trained run's snapshots: the examples are in ``tests/``.
    """
    check_choice("snapshot_error", "metric", metric, ("mse", "l1"))
    guesses = np.asarray(run.snapshots["guesses"], dtype=np.float64)[:, :, -1]     # (K, P, N)
    targets = np.asarray(run.snapshots["targets"], dtype=np.float64)[None]           # (1, P, N)
    diff = guesses - targets
    err = 3.0 * (diff ** 2).mean(axis=(1, 2)) if metric == "mse" else 2.0 * np.abs(diff).mean(axis=(1, 2))
    return np.asarray(run.snapshots["iterations"]), err


#: Colours of the runs trained on each feedback metric.
METRIC_COLORS = {"mse": plots.PALETTE[0], "l1": plots.PALETTE[1]}


def lstm_table(runs, threshold: float) -> pd.DataFrame:
    """One row per LSTM meta-learner run: ``metric`` (trained on), ``seed``, ``to_threshold``
    (first snapshot iteration with the MSE-scored error below ``threshold``, NaN if never),
    ``final_mse`` and ``final_l1`` (:func:`snapshot_error` at the last snapshot), and
    ``max_imbalance``, ``same_number``, ``concurrency`` from
    :func:`badgerlib.chapters.standard.run_table`.

    It reads trained runs: the examples are in ``tests/``.
    """
    rows = []
    for run in runs:
        it, e_mse = snapshot_error(run, "mse")
        _, e_l1 = snapshot_error(run, "l1")
        rows.append({"metric": run.config.task.metric, "seed": run.config.seed,
                     "to_threshold": first_below(it, e_mse, threshold), "final_mse": e_mse[-1], "final_l1": e_l1[-1]})
    table = standard.run_table(runs)[["metric", "seed", "max_imbalance", "same_number", "concurrency"]]
    return pd.DataFrame(rows).merge(table, on=["metric", "seed"])


def lstm_numbers(table: pd.DataFrame, size: Sizes, threshold: float) -> dict:
    """Table 3.2 and the LSTM setup as the text cites them (glue name -> value), from an
    :func:`lstm_table`: per metric m ``m_reached`` (runs below the threshold), ``m_to``
    (median iterations to it, "-" if none), ``m_final_mse``, ``m_final_l1``, ``m_imbalance``
    (medians), ``m_same`` (runs with over 5 % "same number" iterations); ``imbalance_one``
    (the spread when one dimension is solved and the others untouched); the sizes.

    Example
    -------
    >>> t = pd.DataFrame({"metric": ["mse", "mse", "l1", "l1"], "seed": [0, 1, 0, 1],
    ...                   "to_threshold": [300.0, np.nan, np.nan, np.nan], "final_mse": [0.05, 0.2, 0.3, 0.4],
    ...                   "final_l1": [0.1, 0.3, 0.4, 0.5], "max_imbalance": [0.5, 0.4, 0.1, 0.2],
    ...                   "same_number": [0.0, 0.0, 0.3, 0.01]})
    >>> nums = lstm_numbers(t, QUICK, threshold=0.1)
    >>> nums["mse_reached"], nums["mse_to"], nums["l1_to"], nums["l1_same"], nums["imbalance_one"]
    (1, '300', '-', 1, '0.47')
    """
    out = {"lstm_hidden": size.lstm_hidden, "lstm_n": size.lstm_n, "lstm_iterations": size.lstm_iterations,
           "lstm_lr": size.lstm_lr, "lstm_every": size.lstm_snapshot_every, "threshold": threshold,
           "imbalance_one": f"{np.sqrt(1 * (size.lstm_n - 1)) / size.lstm_n:.2f}"}
    for m in ("mse", "l1"):
        sub = table[table.metric == m]
        out[f"{m}_reached"] = int(sub.to_threshold.notna().sum())
        out[f"{m}_to"] = "-" if sub.to_threshold.isna().all() else f"{sub.to_threshold.median():.0f}"
        out[f"{m}_final_mse"] = f"{sub.final_mse.median():.3f}"
        out[f"{m}_final_l1"] = f"{sub.final_l1.median():.3f}"
        out[f"{m}_imbalance"] = f"{sub.max_imbalance.median():.2f}"
        out[f"{m}_same"] = int((sub.same_number > 0.05).sum())
    return out


def lstm_summary(table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The chapter's table of L1 against MSE, from an :func:`lstm_table`: per training metric
    the runs below ``threshold`` (MSE-scored), the median iterations to it ("-" if none), the
    medians of the final errors in both metrics and of the largest per-dimension spread, and
    the runs with a "same number" phase (over 5 % of iterations), as strings.

    Example
    -------
    >>> t = pd.DataFrame({"metric": ["mse", "mse", "l1", "l1"], "seed": [0, 1, 0, 1],
    ...                   "to_threshold": [300.0, np.nan, np.nan, np.nan], "final_mse": [0.05, 0.2, 0.3, 0.4],
    ...                   "final_l1": [0.1, 0.3, 0.4, 0.5], "max_imbalance": [0.5, 0.4, 0.1, 0.2],
    ...                   "same_number": [0.0, 0.0, 0.3, 0.01]})
    >>> lstm_summary(t, 0.1).iloc[:, :3].values.tolist()
    [['MSE', '1 of 2', '300'], ['L1', '0 of 2', '-']]
    """
    rows = []
    for m in ("mse", "l1"):
        sub = table[table.metric == m]
        to = sub.to_threshold
        rows.append({"trained on": m.upper(),
                     f"runs below {threshold}": f"{int(to.notna().sum())} of {len(sub)}",
                     "median iterations to it": "-" if to.isna().all() else f"{to.median():.0f}",
                     "final error, MSE-scored": f"{sub.final_mse.median():.3f}",
                     "final error, L1-scored": f"{sub.final_l1.median():.3f}",
                     "largest per-dimension spread": f"{sub.max_imbalance.median():.2f}",
                     '"same number" phase (runs)': f"{int((sub.same_number > 0.05).sum())} of {len(sub)}"})
    return pd.DataFrame(rows)


def plot_lstm_errors(runs, axes, threshold: float) -> None:
    """Figure 3.5: the error of the last guess at every snapshot of each LSTM run, coloured by
    the metric it was trained on, scored in MSE (left axes) and in L1 (right axes).

    It reads trained runs: the examples are in ``tests/``.
    """
    for ax, score in zip(axes, ("mse", "l1")):
        for run in runs:
            it, err = snapshot_error(run, score)
            ax.semilogy(it, err, "-", lw=1.1, alpha=0.8, color=METRIC_COLORS[run.config.task.metric])
        ax.axhline(threshold, color="0.4", ls="--", lw=0.8)
        ax.set_xlabel("outer iteration")
        ax.set_title(f"scored in {score.upper()}", fontsize=10)
    axes[0].set_ylabel("error of the last guess\n(zeros level = 1)")
    axes[1].legend(handles=[Patch(color=c, label=f"trained on {m.upper()}") for m, c in METRIC_COLORS.items()],
                   loc="lower left")


def plot_lstm_summary(table: pd.DataFrame, axes, threshold: float, iterations: int, seed: int = 0) -> None:
    """Figure 3.6: per run (dots, jittered within the metric's row by ``seed``:
    :func:`badgerlib.plots.strip_plot`), the iterations until the
    MSE-scored error falls below ``threshold`` (left; open circles at ``iterations``: never)
    and the largest spread of the per-dimension errors (right).

    Example
    -------
    >>> t = pd.DataFrame({"metric": ["mse", "l1"], "to_threshold": [300.0, np.nan], "max_imbalance": [0.5, 0.1]})
    >>> plot_lstm_summary(t, plots.figure(ncols=2)[1], threshold=0.1, iterations=1200)
    """
    for i, (ax, col, label) in enumerate(((axes[0], "to_threshold", f"iterations until MSE < {threshold}"),
                                          (axes[1], "max_imbalance", "largest spread of the\nper-dimension errors"))):
        groups = {m.upper(): table[table.metric == m][col].to_numpy(dtype=float) for m in ("mse", "l1")}
        plots.strip_plot(groups, ax, horizontal=True, center=None, colors=list(METRIC_COLORS.values()), size=30,
                         alpha=1.0, censored_at=iterations if col == "to_threshold" else None, seed=seed + i)
        ax.set_ylim(-0.6, 1.6)
        ax.set_xlabel(label)
    axes[0].axvline(iterations, color="0.4", ls="--", lw=0.8)
    axes[0].set_xlim(0, iterations * 1.08)


# ------------------------------------------------------------------------------ full scale
#: How the speed table names the model configurations.
MODEL_NAMES = {"MicroBadgerConfig": "Micro-Badger", "LSTMMetaLearnerConfig": "LSTM meta-learner"}


def speed_table(speeds: dict) -> pd.DataFrame:
    """The measured training speeds (config -> iterations per second, as
    :func:`badgerlib.sweep.measure_speeds` returns them) as a table: one row per model and
    feedback metric.

    Example
    -------
    >>> cfgs = configs(quick=True)
    >>> speeds = {c: 60.0 for c in cfgs["standard"]} | {c: 140.0 for c in cfgs["lstm"]}
    >>> speed_table(speeds).values.tolist()
    [['Micro-Badger', 'MSE', '60'], ['LSTM meta-learner', 'MSE', '140'], ['LSTM meta-learner', 'L1', '140']]
    """
    rows = [{"model": MODEL_NAMES.get(type(c.model).__name__, type(c.model).__name__),
             "feedback": c.task.metric.upper(), "iterations per second": f"{v:.0f}"}
            for c, v in speeds.items()]
    return pd.DataFrame(rows).drop_duplicates(subset=["model", "feedback"]).reset_index(drop=True)
