"""Chapter 8, the landscape: are Badger's plateaus saddles made by symmetry?

The study explains its plateaus by the loss landscape: they are saddles, more of them as N
grows, tied to the experts being identical, and "Badger moves randomly around the
plateau/saddle until it escapes"; Dynamic Mode Decomposition of the inner loop "found no useful
modes". None of it was measured. This chapter measures each piece on Micro-Badger runs that
keep a snapshot of their weights every few iterations (:func:`fine_run`):

* runs: :func:`sizes`, :func:`fine_run`, :func:`scale_run`, :func:`small_run`, :func:`configs`;
* where each snapshot sits: :func:`snapshot_phases` (on a plateau, which one and how many
  dimensions are unsolved there, or in a transition), :func:`curvature_points`;
* curvature: :func:`curvature_table` (the smallest and largest eigenvalues of the Hessian of
  the training objective on a fixed batch, by Lanczos, and how much the most negative
  direction makes the experts' states differ, :func:`expert_asymmetry`); on a small agent the
  whole spectrum, exactly (:func:`spectrum_table`), and the escape directions counted on each
  plateau against the dimensions still unsolved (:func:`escape_counts`);
* initial scale: :func:`scale_table`, :func:`scale_slopes` (zeros-plateau length against
  ``ln(1/scale)`` per seed);
* the walk: :func:`weight_trajectory`, :func:`walk_table` (the diffusion exponent of the
  weights and of the probe error over each plateau, beside the same increments shuffled);
* DMD: :func:`dmd_table` (forecast of a trained agent's inner loop against persistence, and
  of a linear system of as many modes, the positive control);
* landscape metrics: :func:`metric_table` (random-walk autocorrelation of the loss and
  fitness-distance correlation around snapshots);
* :func:`findings`, :func:`verdict` and the figures.

Example
-------
>>> size = sizes(quick=True)
>>> size.n, size.fine_seeds, size.fine_every, size.scale_n
(4, 1, 5, 2)
>>> [c.model.init_scale for c in configs(quick=True)["scale"]][:3]
[0.1, 0.1, 0.3]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from badgerlib.analysis.dynamics import hurst_exponent
from badgerlib.analysis.landscape import (autocorrelation, correlation_length, diffusion_exponent,
                                          fitness_distance_correlation, hessian_extremes,
                                          random_walk_losses)
from badgerlib.analysis.modes import dmd_forecast
from badgerlib.analysis.stats import sign_interval
from badgerlib.chapters import standard
from badgerlib.chapters.phases import detect_plateaus
from badgerlib.chapters.standard import solve_iteration
from badgerlib.checks import check_int
from badgerlib.config import RunConfig
from badgerlib.objective import flat_objective, flatten, unflatten
from badgerlib.run import build_model

#: Seed offset of the fixed batch the Hessians and landscape metrics are computed on (apart
#: from the training and probe streams).
BATCH_SEED = 8_000_000


# ------------------------------------------------------------------------------ sizes, runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 8 in one mode.

    Fields
    ------
    n: N of the fine runs (the standard run of chapter 2 at that N, snapshots every
        ``fine_every`` iterations, states not recorded).
    fine_seeds: seeds of the fine runs; ``hessian_runs`` of them get Hessians.
    hessian_tasks: tasks in the fixed batch whose objective's Hessian is taken.
    k: eigenvalues computed at each end of the spectrum; ``tol``: Lanczos' relative tolerance.
    scale_n, scale_seeds, scales, noises: the initial-scale sweep: N, seeds, the scales of the
        initial weights (at the default state noise) and of the initial-state noise (at weight
        scale 1).
    walk_steps, fdc_points: points of the random walk and of the fitness-distance sample at
        each measured snapshot.
    dmd_steps, dmd_tasks, dmd_rank: the inner loop run for ``dmd_steps`` steps on
        ``dmd_tasks`` probe tasks; DMD fitted on the first half with ``dmd_rank`` modes.
    plateau_window: the plateau detector's window in iterations (chapter 2's default is a
        fiftieth of the run: 30 at quick mode's 1500 iterations, but 200 at full mode's 10000,
        which misses plateaus shorter than 800 iterations; full mode fixes it at 50).
    small_n, small_experts, small_hidden, small_links, small_seeds, small_its, small_every:
        the small agent whose whole Hessian is computed (:func:`small_run`: chapter 2's run at
        N = ``small_n`` with that many experts, hidden units and out-links, a few hundred
        weights), its seeds, length and snapshot spacing; ``small_tasks``: its fixed batch.
    negative_level: an eigenvalue counts as an escape direction of the small agent below
        ``-negative_level`` times the largest (decided before the full-scale runs, from the
        quick runs' spectra: at 1e-3 hundreds of eigenvalues near 0 of either sign are counted
        wherever the largest is small).

    Example
    -------
    >>> FULL.n, FULL.fine_seeds, FULL.scales
    (6, 5, (0.03, 0.1, 0.3, 1.0))
    """

    n: int = 4
    fine_seeds: int = 1
    fine_every: int = 5
    hessian_runs: int = 1
    hessian_tasks: int = 8
    k: int = 2
    tol: float = 1e-2
    scale_n: int = 2
    scale_seeds: int = 2
    scales: tuple = (0.1, 0.3, 1.0)
    noises: tuple = (0.01, 0.1)
    walk_steps: int = 60
    fdc_points: int = 60
    dmd_steps: int = 40
    dmd_tasks: int = 8
    dmd_rank: int = 8
    plateau_window: int = 30
    small_n: int = 3
    small_experts: int = 4
    small_hidden: int = 8
    small_links: int = 2
    small_seeds: int = 2
    small_its: int = 3000
    small_every: int = 20
    small_tasks: int = 32
    negative_level: float = 1e-2


#: Quick mode: one N = 4 run of chapter 2's quick length with a snapshot every 5 iterations,
#: the initial-scale sweep at N = 2 over two seeds (the test suite's 25 minutes allow no more).
QUICK = Sizes()

#: Full mode: N = 6 at chapter 2's full length over 5 seeds, all with Hessians on a larger
#: batch (4 eigenvalues at each end: about 100 Hessian-vector products of a few tenths of a
#: second per point), and the sweep over a decade and a half at N = 3, 10 seeds.
FULL = Sizes(n=6, fine_seeds=5, fine_every=10, hessian_runs=5, hessian_tasks=32, k=4, tol=1e-2, scale_n=3,
             scale_seeds=10, scales=(0.03, 0.1, 0.3, 1.0), noises=(0.001, 0.01, 0.1), walk_steps=200,
             fdc_points=200, dmd_tasks=32, plateau_window=50, small_seeds=10, small_its=4000)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).hessian_tasks
    32
    """
    standard.sizes(quick)            # the one check of ``quick``
    return QUICK if quick else FULL


def fine_run(seed: int = 0, quick: bool = True) -> RunConfig:
    """Chapter 2's standard run at N = ``n`` with a snapshot of the weights every
    ``fine_every`` iterations (the same training: snapshots draw nothing from its streams).

    Example
    -------
    >>> cfg = fine_run(0)
    >>> cfg.task.n, cfg.iterations, cfg.snapshot_count, cfg.record_states
    (4, 1500, 301, False)
    """
    size = sizes(quick)
    cfg = standard.standard_run(size.n, seed, quick, probe_series=0)     # no chapter reads its probe series
    return cfg.replace(snapshot_count=cfg.iterations // size.fine_every + 1, record_states=False)


def scale_run(seed: int, scale: float = 1.0, noise: float | None = None, quick: bool = True) -> RunConfig:
    """Chapter 2's standard run at N = ``scale_n`` with the initial weights drawn ``scale``
    times as wide and the initial-state noise ``noise`` (None: the default). At scale 1 and
    the default noise it is chapter 2's run itself.

    Example
    -------
    >>> scale_run(0) == standard.standard_run(2, 0)
    True
    >>> scale_run(0, 0.1).model.init_scale
    0.1
    """
    size = sizes(quick)
    default = float(scale) == 1.0 and noise is None
    # chapter 2's own run at the defaults (stored by then); the others skip its probe series
    cfg = standard.standard_run(size.scale_n, seed, quick, probe_series=None if default else 0)
    changes = {"init_scale": float(scale)}
    if noise is not None:
        changes["init_noise"] = float(noise)
    return cfg.replace(model=dataclasses.replace(cfg.model, **changes))


def small_run(seed: int = 0, quick: bool = True) -> RunConfig:
    """Chapter 2's standard run at N = ``small_n`` with a small agent (``small_experts``
    experts, ``small_hidden`` hidden units, ``small_links`` out-links: a few hundred weights, so
    that the whole Hessian can be computed and diagonalised), ``small_its`` iterations, a
    snapshot of the weights every ``small_every``.

    Example
    -------
    >>> cfg = small_run(0)
    >>> cfg.task.n, cfg.model.experts, cfg.model.hidden, cfg.iterations, cfg.snapshot_count
    (3, 4, 8, 3000, 151)
    >>> sum(p.numel() for p in build_model(cfg).parameters())
    683
    """
    size = sizes(quick)
    cfg = standard.standard_run(size.small_n, seed, quick, probe_series=0)
    model = dataclasses.replace(cfg.model, experts=size.small_experts, hidden=size.small_hidden,
                                links=size.small_links)
    return cfg.replace(model=model, iterations=size.small_its, snapshot_count=size.small_its // size.small_every + 1,
                       record_states=False)


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the chapter: ``"fine"`` (:func:`fine_run` for each seed), ``"scale"``
    (:func:`scale_run` for each weight scale at the default noise, then each noise at weight
    scale 1, seed by seed; the default pair once) and ``"small"`` (:func:`small_run` for each
    seed).

    Example
    -------
    >>> g = configs(quick=True)
    >>> len(g["fine"]), len(g["scale"]), len(g["small"])
    (1, 8, 2)
    """
    size = sizes(quick)
    default_noise = standard.standard_run(size.scale_n, 0, quick).model.init_noise
    pairs = [(s, default_noise) for s in size.scales] + [(1.0, z) for z in size.noises if z != default_noise]
    return {"fine": [fine_run(s, quick) for s in range(size.fine_seeds)],
            "scale": [scale_run(seed, s, z, quick) for s, z in pairs for seed in range(size.scale_seeds)],
            "small": [small_run(s, quick) for s in range(size.small_seeds)]}


def setup_values(quick: bool = True) -> dict:
    """The setup table's numbers (glued into the chapter).

    Example
    -------
    >>> setup_values()["fine_its"]
    1500
    """
    size = sizes(quick)
    cfg = fine_run(0, quick)
    return {"n": size.n, "fine_seeds": size.fine_seeds, "fine_every": size.fine_every, "fine_its": cfg.iterations,
            "experts": cfg.model.experts, "hidden": cfg.model.hidden, "hessian_runs": size.hessian_runs,
            "hessian_tasks": size.hessian_tasks, "k": size.k, "tol": f"{size.tol:g}", "scale_n": size.scale_n,
            "scale_seeds": size.scale_seeds, "scales": ", ".join(f"{s:g}" for s in size.scales),
            "noises": ", ".join(f"{s:g}" for s in size.noises),
            "scale_its": standard.standard_run(size.scale_n, 0, quick).iterations,
            "weights": sum(p.numel() for p in build_model(cfg).parameters()), "dmd_steps": size.dmd_steps,
            "dmd_tasks": size.dmd_tasks, "dmd_rank": size.dmd_rank, "plateau_window": size.plateau_window,
            "small_n": size.small_n, "small_experts": size.small_experts, "small_hidden": size.small_hidden,
            "small_links": size.small_links, "small_seeds": size.small_seeds, "small_its": size.small_its,
            "small_every": size.small_every, "small_tasks": size.small_tasks,
            "small_weights": sum(p.numel() for p in build_model(small_run(0, quick)).parameters()),
            "negative_level": f"{size.negative_level:g}"}


# ------------------------------------------------------------------ where each snapshot sits
def snapshot_phases(run, window: int | None = None) -> pd.DataFrame:
    """One row per snapshot of ``run``: ``snapshot``, ``iteration``, ``phase`` ("plateau" or
    "transition"), ``plateau`` (its index on the plateau, else -1), ``unsolved`` (dimensions
    unsolved: the plateau's level x N on a plateau, NaN in a transition), ``final`` (on the
    plateau the run ends on) and ``probe_error`` (the error of the last guess on the fixed
    probe tasks, zeros level = 1: a measure of the weights free of batch noise). Plateaus are
    chapter 2's (:func:`badgerlib.chapters.phases.detect_plateaus` on the history, with its
    ``window`` in iterations; None: its default).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 400), (1, 400), (2, 400)], n=2, seed=0)
    >>> snaps = {"iterations": np.array([0, 200, 410, 600, 1200]), "feedback": np.ones((5, 3, 11))}
    >>> t = snapshot_phases(SimpleNamespace(config=standard.standard_run(2), history=h, snapshots=snaps))
    >>> t[["phase", "plateau", "unsolved"]].values.tolist()
    [['plateau', 0, 2.0], ['plateau', 0, 2.0], ['transition', -1, nan], ['plateau', 1, 1.0], ['plateau', 2, 0.0]]
    """
    cfg, h = run.config, run.history
    n, T = cfg.task.n, len(h["last_error"])
    plateaus = detect_plateaus(h["last_error"], n, cfg.task.zeros_level, window=window)
    its = np.asarray(run.snapshots["iterations"])
    probe = np.asarray(run.snapshots["feedback"])[:, :, -1].mean(axis=1) / cfg.task.zeros_level
    rows = []
    for i, it in enumerate(its):
        t = min(int(it), T - 1)
        hit = [j for j, p in enumerate(plateaus) if p.start <= t <= p.end]
        j = hit[0] if hit else -1
        rows.append({"snapshot": i, "iteration": int(it), "phase": "plateau" if hit else "transition",
                     "plateau": j, "unsolved": float(round(plateaus[j].level * n)) if hit else np.nan,
                     "final": bool(hit) and plateaus[j].end == T - 1, "probe_error": float(probe[i])})
    return pd.DataFrame(rows)


def curvature_points(phases: pd.DataFrame) -> pd.DataFrame:
    """The snapshots whose curvature is measured: the middle snapshot of every plateau and of
    every transition between two plateaus, and the last snapshot (the end of training), with
    ``point`` ("plateau k", "transition k" (into plateau k) or "end").

    Example
    -------
    >>> ph = pd.DataFrame({"snapshot": range(7), "phase": ["plateau"] * 3 + ["transition"] * 2 + ["plateau"] * 2,
    ...                    "plateau": [0, 0, 0, -1, -1, 1, 1]})
    >>> curvature_points(ph)[["snapshot", "point"]].values.tolist()
    [[1, 'plateau 0'], [4, 'transition 1'], [6, 'plateau 1'], [6, 'end']]
    """
    rows = []
    runs = (phases.phase != phases.phase.shift()).cumsum()
    for _, seg in phases.groupby(runs, sort=True):
        first = seg.iloc[0]
        mid = seg.iloc[len(seg) // 2]
        if first.phase == "plateau":
            rows.append({**mid.to_dict(), "point": f"plateau {int(first.plateau)}"})
        else:
            after = phases[(phases.snapshot > seg.snapshot.max()) & (phases.phase == "plateau")]
            if len(after) and seg.snapshot.min() > phases.snapshot.min():
                rows.append({**mid.to_dict(), "point": f"transition {int(after.plateau.iloc[0])}"})
    rows.append({**phases.iloc[-1].to_dict(), "point": "end"})
    return pd.DataFrame(rows).reset_index(drop=True)


# -------------------------------------------------------------------------------- curvature
def fixed_batch(config: RunConfig, tasks: int, model=None, dtype=torch.float64):
    """The fixed batch (targets, initial-state noise) a run's Hessians and landscape metrics
    are computed on: the same at every snapshot, drawn from its own seeded stream.

    Example
    -------
    >>> t, z = fixed_batch(fine_run(0), 4)
    >>> t.shape, z.shape, t.dtype
    (torch.Size([4, 4]), torch.Size([4, 8, 32]), torch.float64)
    """
    tasks = check_int("fixed_batch", "tasks", tasks, 1)
    model = build_model(config) if model is None else model
    gen = torch.Generator().manual_seed(BATCH_SEED + config.seed)
    targets = config.task.sample_targets(tasks, gen).to(dtype)
    noise = model.initial_noise(tasks, gen).to(dtype)
    return targets, noise


class _States(torch.nn.Module):
    """The experts' states over the inner loop as the output of ``forward`` (what
    ``torch.func.functional_call`` calls), for their derivative along a weight direction."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, task, targets, steps, noise):
        h0 = self.m.initial_state(targets.shape[0], noise=noise)
        return self.m.rollout(task, targets, steps, h_init=h0, record=True).hidden


def expert_asymmetry(model, task, targets: torch.Tensor, noise: torch.Tensor, steps: int,
                     direction: torch.Tensor) -> float:
    """How much a move of the weights along ``direction`` (flat, in ``named_parameters``
    order) makes the experts differ: the derivative of every expert's state over the inner
    loop along it (forward mode), split into the part every expert shares (the mean over
    experts) and the rest; returns the rest's share of the squared norm, in [0, 1]. The
    experts share every weight, so a direction cannot break their symmetry in weight space;
    this asks whether it does so in what they compute. A random direction gives the
    baseline.

    Example
    -------
    >>> from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
    >>> m = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, init_noise=0.0, topology="complete"), dims=2).double()
    >>> t = torch.zeros(2, 2, dtype=torch.float64)
    >>> d = torch.ones(sum(p.numel() for p in m.parameters()), dtype=torch.float64)
    >>> expert_asymmetry(m, GuessingGame(n=2), t, m.initial_noise(2).double(), 3, d) < 1e-12   # identical experts
    True
    """
    from torch.func import functional_call, jvp

    wrapper = _States(model)
    flat = flatten(model)

    def states(x):
        return functional_call(wrapper, unflatten(model, x, prefix="m."), (task, targets, steps, noise))

    _, dh = jvp(states, (flat,), (direction.to(flat),))
    total = float((dh ** 2).sum())
    if total == 0.0:
        return float("nan")
    return float(((dh - dh.mean(dim=2, keepdim=True)) ** 2).sum() / total)


def curvature_table(run, points: pd.DataFrame, size: Sizes, seed: int = 0) -> pd.DataFrame:
    """The Hessian at each of ``points`` (:func:`curvature_points`) of ``run``: the training
    objective on a :func:`fixed_batch` of ``hessian_tasks`` tasks, in float64, as a function
    of the flat weights; its ``k`` smallest and largest eigenvalues by Lanczos
    (:func:`badgerlib.analysis.landscape.hessian_extremes`). Columns: those of ``points``,
    ``lam_min``, ``lam_max``, ``ratio`` (``lam_min / lam_max``), ``negatives`` (of the k
    smallest, how many lie below ``-1e-3 lam_max``), ``smallest`` (the k, a list),
    ``asym_negative``, ``asym_top``, ``asym_random`` (:func:`expert_asymmetry` of the most
    negative and the top eigenvector and of a random direction), ``products``. (Computes:
    examples in ``tests/test_chapter_landscape.py``.)"""
    cfg = run.config
    targets, noise = fixed_batch(cfg, size.hessian_tasks)
    rng = torch.Generator().manual_seed(seed)
    rows = []
    for _, p in points.iterrows():
        model = run.model_at(int(p.snapshot)).double()
        loss, flat = flat_objective(model, cfg.task, targets, noise, cfg.inner_steps)
        ext = hessian_extremes(loss, flat, k=size.k, tol=size.tol, seed=seed)
        lam_min, lam_max = float(ext["smallest"][0]), float(ext["largest"][-1])
        v_neg = torch.from_numpy(ext["smallest_vectors"][:, 0].copy())
        v_top = torch.from_numpy(ext["largest_vectors"][:, -1].copy())
        v_rand = torch.randn(flat.shape, generator=rng, dtype=torch.float64)
        asym = [expert_asymmetry(model, cfg.task, targets, noise, cfg.inner_steps, v) for v in (v_neg, v_top, v_rand)]
        rows.append({"seed": cfg.seed, **p.to_dict(), "lam_min": lam_min, "lam_max": lam_max, "ratio": lam_min / lam_max,
                     "negatives": int((ext["smallest"] < -1e-3 * lam_max).sum()),
                     "smallest": [float(v) for v in ext["smallest"]],
                     "asym_negative": asym[0], "asym_top": asym[1], "asym_random": asym[2],
                     "products": int(ext["products"])})
    return pd.DataFrame(rows)


def spectrum_table(run, points: pd.DataFrame, size: Sizes) -> pd.DataFrame:
    """The whole Hessian spectrum at each of ``points`` of a small ``run`` (:func:`small_run`):
    the dense Hessian of the objective on a :func:`fixed_batch` of ``small_tasks`` tasks, in
    float64 (:func:`badgerlib.analysis.landscape.dense_hessian`), diagonalised exactly.
    Columns: those of ``points``, ``seed``, ``lam_min``, ``lam_max``, ``negatives`` (below
    ``-negative_level`` times the largest), ``negatives_1e-3`` (below -0.001 times it, the
    count the Lanczos table uses), ``negative_mass`` (the share of the spectrum's absolute
    sum that is negative: a count-free measure), ``eigenvalues`` (all, ascending).
    (Computes: examples in ``tests/test_chapter_landscape.py``.)"""
    from badgerlib.analysis.landscape import dense_hessian

    cfg = run.config
    targets, noise = fixed_batch(cfg, size.small_tasks)
    rows = []
    for _, p in points.iterrows():
        model = run.model_at(int(p.snapshot)).double()
        loss, flat = flat_objective(model, cfg.task, targets, noise, cfg.inner_steps)
        hess = dense_hessian(loss, flat)
        eig = np.linalg.eigvalsh(0.5 * (hess + hess.T))
        top = float(eig[-1])
        rows.append({"seed": cfg.seed, **p.to_dict(), "lam_min": float(eig[0]), "lam_max": top,
                     "negatives": int((eig < -size.negative_level * top).sum()),
                     "negatives_1e-3": int((eig < -1e-3 * top).sum()),
                     "negative_mass": float(np.abs(eig[eig < 0]).sum() / np.abs(eig).sum()),
                     "eigenvalues": eig})
    return pd.DataFrame(rows)


def escape_counts(spectra: pd.DataFrame, column: str = "negatives") -> pd.DataFrame:
    """One row per run of a :func:`spectrum_table`: ``plateaus`` (plateau points in it),
    ``first`` and ``last`` (the count on its first and its last plateau) and ``rho``, Spearman's
    rank correlation of the count ``column`` and the dimensions unsolved over its plateau
    points: positive when escape directions fall as dimensions are solved. NaN (the run says
    nothing) with fewer than 3 plateaus, or where the count or the unsolved dimensions never
    change.

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0, 0, 0, 1, 1], "point": ["plateau 0", "plateau 1", "plateau 2", "plateau 0", "end"],
    ...                   "unsolved": [3.0, 1.0, 0.0, 3.0, 0.0], "negatives": [20, 4, 0, 9, 2]})
    >>> escape_counts(t).to_dict("records")[0]
    {'seed': 0, 'plateaus': 3, 'first': 20, 'last': 0, 'rho': 1.0}
    >>> bool(np.isnan(escape_counts(t).rho.iloc[1]))
    True
    """
    rows = []
    for seed, g in spectra.groupby("seed"):
        g = g[g.point.str.startswith("plateau")]
        rho = np.nan
        if len(g) >= 3 and g.unsolved.nunique() > 1 and g[column].nunique() > 1:
            rho = float(g[[column, "unsolved"]].corr(method="spearman").iloc[0, 1])
        rows.append({"seed": seed, "plateaus": len(g), "first": int(g[column].iloc[0]) if len(g) else -1,
                     "last": int(g[column].iloc[-1]) if len(g) else -1, "rho": rho})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- initial scale
def scale_table(runs) -> pd.DataFrame:
    """One row per run of the initial-scale sweep: ``seed``, ``scale`` (of the initial
    weights), ``noise`` (of the initial states), ``escape`` (when the error of the last guess
    leaves the zeros plateau for good, 10 % below it, :func:`standard.solve_iteration`; the
    run's length when it never does) and ``censored`` (never did).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=scale_run(0, 0.1), history={"last_error": np.r_[np.ones(300), np.full(300, 0.3)]})
    >>> scale_table([run])[["scale", "escape", "censored"]].values.tolist()
    [[0.1, 291.0, False]]
    """
    rows = []
    for run in runs:
        cfg = run.config
        esc = solve_iteration(run, 0.9)
        rows.append({"seed": cfg.seed, "scale": cfg.model.init_scale, "noise": cfg.model.init_noise,
                     "escape": float(len(run.history["last_error"])) if np.isnan(esc) else esc,
                     "censored": bool(np.isnan(esc))})
    return pd.DataFrame(rows)


def scale_slopes(table: pd.DataFrame, column: str = "scale", fixed: dict | None = None) -> pd.DataFrame:
    """Per seed, the least-squares slope of the zeros-plateau length against ``ln(1/x)`` for
    ``x`` = ``column`` ("scale" or "noise"), over the rows matching ``fixed`` (e.g. the default
    noise): saddle-to-saddle theory predicts a straight line of positive slope in the scale of
    the weights. Columns ``seed``, ``slope`` (iterations per e-fold), ``points``, ``censored``
    (points that never escaped, counted at the run's length: the slope is then a lower bound).

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0] * 3, "scale": [0.1, 0.3, 1.0], "noise": 0.1,
    ...                   "escape": [100 + 50 * np.log(1 / s) for s in (0.1, 0.3, 1.0)], "censored": False})
    >>> round(float(scale_slopes(t).slope[0]), 6)
    50.0
    """
    t = table
    for k, v in (fixed or {}).items():
        t = t[np.isclose(t[k], v)]
    rows = []
    for seed, g in t.groupby("seed"):
        x = np.log(1.0 / g[column].to_numpy(dtype=float))
        if len(np.unique(x)) < 2:
            continue
        rows.append({"seed": int(seed), "slope": float(np.polyfit(x, g.escape.to_numpy(dtype=float), 1)[0]),
                     "points": len(g), "censored": int(g.censored.sum())})
    return pd.DataFrame(rows, columns=["seed", "slope", "points", "censored"])


# --------------------------------------------------------------------------------- the walk
def weight_trajectory(run) -> np.ndarray:
    """The weights at every snapshot, ``(snapshots, weights)``, flattened in
    ``named_parameters`` order.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> snaps = {"param.a": np.zeros((3, 2, 2)), "param.b": np.ones((3, 4)), "feedback": np.zeros((3, 1, 1))}
    >>> weight_trajectory(SimpleNamespace(snapshots=snaps)).shape
    (3, 8)
    """
    keys = [k for k in run.snapshots if k.startswith("param.")]
    return np.concatenate([np.asarray(run.snapshots[k]).reshape(len(run.snapshots[k]), -1) for k in keys], axis=1)


def shuffled_walk(trajectory, seed: int = 0) -> np.ndarray:
    """The same steps with random signs, in random order, summed again from the same start: a
    random walk with exactly the data's step sizes (drift and any correlation in time
    removed), so its diffusion exponent should read 1 whatever the original's: the control
    that the estimator reads the data's own steps right.

    Example
    -------
    >>> x = np.arange(10.0)[:, None] * [1.0, 2.0]
    >>> s = shuffled_walk(x)
    >>> s.shape, np.allclose(np.abs(np.diff(s, axis=0)), [1.0, 2.0])
    ((10, 2), True)
    """
    x = np.asarray(trajectory, dtype=np.float64)
    x = x.reshape(len(x), -1)
    rng = np.random.default_rng(seed)
    steps = np.diff(x, axis=0)
    steps = steps[rng.permutation(len(steps))] * rng.choice([-1.0, 1.0], size=(len(steps), 1))
    return np.vstack([x[:1], x[:1] + np.cumsum(steps, axis=0)])


def walk_table(run, phases: pd.DataFrame, min_points: int = 30, rank: int = 8) -> pd.DataFrame:
    """The walk over each plateau of ``run`` with at least ``min_points`` snapshots: the
    diffusion exponent alpha of the weights (:func:`diffusion_exponent`: 1 a random walk, 2
    a directed drift, below 1 held in place), of the random walk with the same steps
    (:func:`shuffled_walk`, the control: 1), and of the probe error (a measure free of
    batch noise; alpha / 2 is its Hurst exponent), and the Hurst exponent of the probe error's
    steps by R/S analysis where the plateau has over 100 snapshots (NaN otherwise): 0.5 when
    the error walks at random, above when its steps persist, below when they revert. Columns
    ``seed``, ``plateau``, ``unsolved``, ``final``, ``points``, ``start``, ``end``,
    ``alpha_weights``, ``alpha_shuffled``, ``alpha_error``, ``hurst_error``, ``straightness``
    (net displacement over path length: 1 a straight line, about ``1 / sqrt(points)`` a random
    walk), ``dmd_weights`` (DMD of the weights over the plateau, ``rank`` modes fitted on its
    first half: the second half's forecast error over persistence's; below 1 the modes
    predict where the weights go).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> ph = pd.DataFrame({"snapshot": range(40), "iteration": range(0, 400, 10), "phase": "plateau",
    ...                    "plateau": 0, "unsolved": 2.0, "final": False, "probe_error": np.linspace(1, 0.9, 40)})
    >>> snaps = {"param.w": np.cumsum(np.random.default_rng(0).normal(size=(40, 50)), axis=0)}
    >>> t = walk_table(SimpleNamespace(config=standard.standard_run(2), snapshots=snaps), ph)
    >>> int(t.points[0]), bool(0.6 < t.alpha_weights[0] < 1.4)
    (40, True)
    """
    W = weight_trajectory(run)
    rows = []
    for j, seg in phases[phases.phase == "plateau"].groupby("plateau"):
        idx = seg.snapshot.to_numpy()
        if len(idx) < min_points:
            continue
        w = W[idx]
        err = seg.probe_error.to_numpy()
        path = float(np.linalg.norm(np.diff(w, axis=0), axis=1).sum())
        rows.append({"seed": run.config.seed, "plateau": int(j), "unsolved": seg.unsolved.iloc[0],
                     "final": bool(seg.final.iloc[0]), "points": len(idx), "start": int(seg.iteration.min()),
                     "end": int(seg.iteration.max()), "alpha_weights": diffusion_exponent(w),
                     "alpha_shuffled": diffusion_exponent(shuffled_walk(w, seed=int(j))),
                     "alpha_error": diffusion_exponent(err) if np.ptp(err) > 0 else np.nan,
                     "hurst_error": hurst_exponent(np.diff(err)) if len(err) > 100 else np.nan,
                     "straightness": float(np.linalg.norm(w[-1] - w[0]) / path) if path > 0 else np.nan,
                     "dmd_weights": _forecast_ratio(w, rank)})
    return pd.DataFrame(rows)


def _forecast_ratio(x: np.ndarray, rank: int) -> float:
    out = dmd_forecast(x, fit=len(x) // 2, rank=rank)
    return out["forecast_error"] / out["persistence_error"] if out["persistence_error"] > 0 else np.nan


# ---------------------------------------------------------------------------------------- DMD
def linear_trajectory(width: int, steps: int, modes: int = 8, seed: int = 0) -> np.ndarray:
    """A linear system of ``modes`` modes (pairs of slowly decaying rotations, ``|eig|`` =
    0.97, angles from 0.1 to 1 radian per step) seen through a random ``width``-dimensional
    projection: ``(steps + 1, width)``. Its second half keeps moving, so persistence forecasts
    it badly, while DMD with ``modes`` modes must forecast it to rounding: the positive
    control for the inner loop (give it the inner loop's width and DMD rank).

    Example
    -------
    >>> x = linear_trajectory(6, 10, modes=2)
    >>> x.shape
    (11, 6)
    """
    modes = check_int("linear_trajectory", "modes", modes, 2)
    rng = np.random.default_rng(seed)
    pairs = modes // 2
    angles = np.linspace(0.1, 1.0, pairs)
    blocks = [0.97 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in angles]
    A = np.zeros((2 * pairs, 2 * pairs))
    for k, b in enumerate(blocks):
        A[2 * k:2 * k + 2, 2 * k:2 * k + 2] = b
    z = rng.normal(size=2 * pairs)
    out = []
    for _ in range(steps + 1):
        out.append(z)
        z = A @ z
    return np.asarray(out) @ rng.normal(size=(2 * pairs, width))


def dmd_table(run, size: Sizes, snapshot: int = -1) -> pd.DataFrame:
    """DMD (:func:`badgerlib.analysis.modes.dmd_forecast`, ``dmd_rank`` modes, fitted on the
    first half) of the inner loop of ``run`` at ``snapshot`` run for ``dmd_steps`` steps on
    ``dmd_tasks`` probe tasks, one row per task (``system`` "inner loop"), and of as many
    draws of a linear system of ``dmd_rank`` modes of the same width
    (:func:`linear_trajectory`, ``system`` "linear system", the positive control). Columns
    ``seed``, ``system``, ``task``, ``reconstruction``, ``forecast``, ``persistence``,
    ``max_abs_eig``, ``eigs`` (the DMD eigenvalues, an array). (Computes: examples in
    ``tests/test_chapter_landscape.py``.)"""
    cfg = run.config
    hidden = run.states_at(snapshot, batch=size.dmd_tasks, steps=size.dmd_steps).hidden.double().numpy()
    width = hidden.shape[2] * hidden.shape[3]
    fit = size.dmd_steps // 2
    rows = []
    for b in range(size.dmd_tasks):
        for system, traj in (("inner loop", hidden[b].reshape(hidden.shape[1], -1)),
                             ("linear system", linear_trajectory(width, size.dmd_steps, size.dmd_rank, seed=b))):
            out = dmd_forecast(traj, fit=fit, rank=size.dmd_rank)
            rows.append({"seed": cfg.seed, "system": system, "task": b, "reconstruction": out["reconstruction_error"],
                         "forecast": out["forecast_error"], "persistence": out["persistence_error"],
                         "max_abs_eig": float(np.abs(out["eigs"]).max()), "eigs": out["eigs"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- landscape metrics
def metric_table(run, points: pd.DataFrame, size: Sizes, seed: int = 0) -> pd.DataFrame:
    """Landscape metrics at each of ``points`` of ``run`` on its :func:`fixed_batch`
    (float32): along a random walk of ``walk_steps`` steps, each 1 % of the weights' norm
    (:func:`badgerlib.analysis.landscape.random_walk_losses`), the lag-1 autocorrelation of
    the loss and the correlation length; and the fitness-distance correlation of
    ``fdc_points`` points drawn around the snapshot (random directions, radii uniform up to
    the distance to the end of training) against their distance to the end of training.
    Columns: those of ``points``, ``autocorr``, ``corr_length``, ``fdc``, ``distance_to_end``.
    (Computes: examples in ``tests/test_chapter_landscape.py``.)"""
    cfg = run.config
    targets, noise = fixed_batch(cfg, size.hessian_tasks, dtype=torch.float32)
    end = torch.from_numpy(weight_trajectory(run)[-1]).float()
    rng = np.random.default_rng(seed)
    rows = []
    for _, p in points.iterrows():
        model = run.model_at(int(p.snapshot))
        loss, flat = flat_objective(model, cfg.task, targets, noise, cfg.inner_steps)
        walk = random_walk_losses(loss, flat, size.walk_steps, 0.01 * float(flat.norm()), seed=seed)
        reach = float((flat - end).norm())
        losses, dist = [], []
        with torch.no_grad():
            for _ in range(size.fdc_points):
                u = torch.from_numpy(rng.normal(size=flat.numel())).float()
                x = flat + rng.uniform(0, max(reach, 1e-3)) * u / u.norm()
                losses.append(float(loss(x)))
                dist.append(float((x - end).norm()))
        rows.append({"seed": cfg.seed, **p.to_dict(), "autocorr": autocorrelation(walk, 1), "corr_length": correlation_length(walk),
                     "fdc": fitness_distance_correlation(losses, dist), "distance_to_end": reach})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the findings
def findings(curv: pd.DataFrame, walks: pd.DataFrame, scales: pd.DataFrame, dmd: pd.DataFrame,
             metrics: pd.DataFrame, spectra: pd.DataFrame | None = None) -> dict:
    """The chapter's numbers, one per run before any summary across runs:

    * ``saddle_share``: the share of plateaus before the last (one point each) whose smallest
      eigenvalue lies below ``-1e-3`` times the largest; ``end_negative``: the same at the
      end of training (a minimum would have none); ``ratio_plateau``, ``ratio_transition``,
      ``ratio_end``: median ``lam_min / lam_max`` of each kind of point;
    * ``neg_unsolved``: Spearman's rho of the negative eigenvalues counted (of the k smallest)
      and the dimensions unsolved, over the plateau points of each run (median over runs);
    * ``asym``: the asymmetry of the most negative direction minus that of a random one,
      median over each run's points, then over runs (above 0: escape directions make the
      experts differ more); ``asym_runs``: :func:`sign_interval` of the per-run medians;
    * ``weight_slopes``, ``noise_slopes``: :func:`scale_slopes` per seed with
      :func:`sign_interval` of their median; ``default_escape``: the median zeros-plateau
      length at the default scales; ``slope_large``, ``slope_small``: median per-seed slope
      over the scales from ``middle_scale`` (the sweep's middle one) up, and down;
    * ``alpha``, ``alpha_control``, ``straightness``: median over the plateaus before the last
      of the weights' diffusion exponent, of the control's, of the straightness;
      ``straightness_rw``: what a random walk of as many steps would have (about
      ``1 / sqrt(steps)``);
    * ``dmd_ratio``: median over tasks of forecast error / persistence error of the inner
      loop (below 1: the modes predict); ``dmd_control``: the control's largest forecast error;
      ``dmd_weights``: the same ratio for the weights over the plateaus before the last;
    * ``autocorr``, ``fdc``: median landscape metrics by kind of point;
    * with the small agent's ``spectra`` (:func:`spectrum_table`): ``escape_rho``, the
      :func:`sign_interval` of the per-run rank correlations of escape directions and unsolved
      dimensions (:func:`escape_counts`; runs that say nothing left out and counted in
      ``escape_silent``); ``escape_first``, ``escape_last``: the median count on the first
      (zeros) and the last plateau; ``escape_end_min``: the share of runs whose last
      plateau, with every dimension solved, has no escape direction (a minimum).

    Example
    -------
    >>> curv = pd.DataFrame({"seed": 0, "point": ["plateau 0", "transition 1", "plateau 1", "end"],
    ...                      "final": [False, False, True, True], "unsolved": [2.0, np.nan, 0.0, 0.0],
    ...                      "lam_min": [-1.0, -2.0, -0.5, -0.5], "lam_max": 10.0, "negatives": [3, 3, 1, 1],
    ...                      "asym_negative": 0.5, "asym_random": 0.4})
    >>> curv["ratio"] = curv.lam_min / curv.lam_max
    >>> walks = pd.DataFrame({"alpha_weights": [1.8], "alpha_shuffled": [1.0], "straightness": [0.5], "final": [False]})
    >>> scales = pd.DataFrame({"seed": [0, 0], "scale": [0.1, 1.0], "noise": 0.1, "escape": [300.0, 100.0], "censored": False})
    >>> dmd = pd.DataFrame({"system": ["inner loop", "linear system"], "forecast": [0.5, 1e-9], "persistence": [0.25, 1.0]})
    >>> metrics = pd.DataFrame({"point": ["plateau 0", "transition 1"], "autocorr": [0.9, 0.8], "fdc": [0.1, 0.3]})
    >>> f = findings(curv, walks, scales, dmd, metrics)
    >>> f["saddle_share"], f["end_negative"], f["dmd_ratio"], round(f["weight_slopes"]["median"], 1)
    (1.0, 1.0, 2.0, 86.9)
    """
    kind = curv.point.str.split().str[0]
    before_last = curv[(kind == "plateau") & ~curv.final.astype(bool)]
    end = curv[kind == "end"]
    neg = lambda t: float((t.lam_min < -1e-3 * t.lam_max).mean()) if len(t) else np.nan
    rhos = []
    for _, g in curv[kind == "plateau"].groupby("seed"):
        # a count that never varies (every computed eigenvalue negative everywhere) has no
        # rank correlation: the run says nothing about the prediction
        if g.unsolved.nunique() > 1 and g.negatives.nunique() > 1:
            rhos.append(float(g[["negatives", "unsolved"]].corr(method="spearman").iloc[0, 1]))
    default_noise = scales.noise.mode().iloc[0] if len(scales) else np.nan
    ws = scale_slopes(scales, "scale", {"noise": default_noise}) if len(scales) else pd.DataFrame(columns=["slope"])
    ns = scale_slopes(scales, "noise", {"scale": 1.0}) if len(scales) else pd.DataFrame(columns=["slope"])
    inner = dmd[dmd.system == "inner loop"]
    walks = walks[~walks.final.astype(bool)]
    default = (scales[np.isclose(scales.scale, 1.0) & np.isclose(scales.noise, default_noise)]
               if len(scales) else scales)
    mkind = metrics.point.str.split().str[0]
    escape = {}
    if spectra is not None and len(spectra):
        counts = escape_counts(spectra)
        plateaus = spectra[spectra.point.str.startswith("plateau")]
        solved_last = [bool(len(g) and g.unsolved.iloc[-1] == 0)
                       for _, g in plateaus.groupby("seed")]
        ends = counts[solved_last]
        escape = {"escape_rho": sign_interval(counts.rho.to_numpy(dtype=float)), "escape_values": counts,
                  "escape_silent": int(counts.rho.isna().sum()), "escape_first": float(counts["first"].median()),
                  "escape_last": float(counts["last"].median()),
                  "escape_end_min": float((ends["last"] == 0).mean()) if len(ends) else np.nan,
                  "escape_end_runs": len(ends)}
    return {
        **escape,
        "saddle_share": neg(before_last), "end_negative": neg(end), "plateaus_tested": len(before_last),
        "ratio_plateau": float(before_last.ratio.median()), "ratio_transition": float(curv[kind == "transition"].ratio.median()),
        "ratio_end": float(end.ratio.median()),
        "neg_unsolved": float(np.median(rhos)) if rhos else np.nan,
        # one number per run (its median over points) before the summary across runs
        "asym_runs": sign_interval((curv.asym_negative - curv.asym_random).groupby(curv.seed).median().to_numpy()),
        "asym": float((curv.asym_negative - curv.asym_random).groupby(curv.seed).median().median()),
        "weight_slopes": sign_interval(ws.slope.to_numpy(dtype=float)), "weight_slope_values": ws,
        "noise_slopes": sign_interval(ns.slope.to_numpy(dtype=float)), "noise_slope_values": ns,
        "default_escape": float(default.escape.median()) if len(default) else np.nan,
        # the slope above and below the middle scale of the sweep: a straight line in
        # ln(1/scale) has the same slope on both sides
        **_half_slopes(scales, default_noise),
        "alpha": float(walks.alpha_weights.median()), "alpha_control": float(walks.alpha_shuffled.median()),
        "straightness": float(walks.straightness.median()),
        "straightness_rw": float((1.0 / np.sqrt(walks.points - 1.0)).median()) if "points" in walks else np.nan,
        "dmd_weights": float(walks.dmd_weights.median()) if "dmd_weights" in walks else np.nan,
        "dmd_ratio": float((inner.forecast / inner.persistence).median()),
        "dmd_control": float(dmd[dmd.system != "inner loop"].forecast.max()),
        "autocorr": metrics.groupby(mkind).autocorr.median().to_dict(),
        "fdc": metrics.groupby(mkind).fdc.median().to_dict(),
    }


def _half_slopes(scales: pd.DataFrame, noise: float) -> dict:
    if not len(scales):
        return {"slope_large": np.nan, "slope_small": np.nan, "middle_scale": np.nan}
    grid = np.sort(scales.scale.unique())
    middle = float(grid[len(grid) // 2])
    t = scales[np.isclose(scales.noise, noise)]
    large = scale_slopes(t[t.scale >= middle]).slope
    small = scale_slopes(t[t.scale <= middle]).slope
    return {"slope_large": float(large.median()) if len(large) else np.nan,
            "slope_small": float(small.median()) if len(small) else np.nan, "middle_scale": middle}


def finding_numbers(found: dict) -> dict[str, str]:
    """The findings as the chapter's text shows them (glued).

    Example
    -------
    >>> f = {"saddle_share": 1.0, "end_negative": 1.0, "plateaus_tested": 4, "ratio_plateau": -0.02,
    ...      "ratio_transition": -0.03, "ratio_end": -0.01, "neg_unsolved": 0.5, "asym": 0.1,
    ...      "weight_slopes": {"median": 80.0, "low": -np.inf, "high": np.inf, "n": 2},
    ...      "noise_slopes": {"median": 1.0, "low": -np.inf, "high": np.inf, "n": 2},
    ...      "alpha": 1.8, "alpha_control": 1.0, "straightness": 0.4, "dmd_ratio": 2.0, "dmd_control": 1e-9,
    ...      "autocorr": {"plateau": 0.9}, "fdc": {"plateau": 0.2}}
    >>> finding_numbers(f)["saddles"]
    '4 of 4'
    """
    from badgerlib.analysis.stats import interval_text

    g = lambda d, k: d.get(k, np.nan)
    return {
        "saddles": f"{round(found['saddle_share'] * found['plateaus_tested'])} of {found['plateaus_tested']}",
        "end_negative": "yes" if found["end_negative"] == 1 else "no",
        "ratio_plateau": f"{found['ratio_plateau']:.3f}", "ratio_transition": f"{found['ratio_transition']:.3f}",
        "ratio_end": f"{found['ratio_end']:.3f}",
        "neg_unsolved": ("none: the count never varied" if np.isnan(found["neg_unsolved"])
                         else f"{found['neg_unsolved']:.2f}"),
        "asym": f"{found['asym']:+.3f}",
        "weight_slope": interval_text(found["weight_slopes"], 0), "noise_slope": interval_text(found["noise_slopes"], 0),
        "slope_large": f"{found.get('slope_large', np.nan):.0f}", "slope_small": f"{found.get('slope_small', np.nan):.0f}",
        "middle_scale": f"{found.get('middle_scale', np.nan):g}",
        "alpha": f"{found['alpha']:.2f}", "alpha_control": f"{found['alpha_control']:.2f}",
        "straightness": f"{found['straightness']:.2f}",
        "straightness_rw": f"{found.get('straightness_rw', np.nan):.2f}",
        "dmd_ratio": f"{found['dmd_ratio']:.2f}", "dmd_control": f"{found['dmd_control']:.1e}",
        "dmd_weights": f"{found.get('dmd_weights', np.nan):.2f}",
        "autocorr_plateau": f"{g(found['autocorr'], 'plateau'):.3f}",
        "autocorr_transition": f"{g(found['autocorr'], 'transition'):.3f}",
        "fdc_plateau": f"{g(found['fdc'], 'plateau'):.2f}", "fdc_transition": f"{g(found['fdc'], 'transition'):.2f}",
        **({} if "escape_rho" not in found else {
            "escape_rho": interval_text(found["escape_rho"], 2), "escape_silent": str(found["escape_silent"]),
            "escape_first": f"{found['escape_first']:.0f}", "escape_last": f"{found['escape_last']:.0f}",
            "escape_end_min": (f"{round(found['escape_end_min'] * found['escape_end_runs'])} of "
                               f"{found['escape_end_runs']}")}),
    }


def settled(summary: dict, unit: str = "run") -> tuple[bool, str]:
    """Whether a :func:`sign_interval` summary of one number per run settles its sign, and
    how the text says so: below 6 values there is no 95 % interval, so only every value
    having one sign settles it ("in every run"); from 6 on, an interval that excludes 0
    ("established").

    Example
    -------
    >>> settled(sign_interval([1.0, 2.0]), "seed"), settled(sign_interval(np.arange(-3.0, 7.0)))
    ((True, 'in every seed'), (False, 'not established'))
    """
    if summary.get("n", 0) < 2:
        return False, f"one {unit}: nothing to compare"
    if np.isinf(summary["low"]):
        agree = summary.get("share_positive") in (0.0, 1.0)
        return agree, f"in every {unit}" if agree else f"not in every {unit}"
    agree = summary["low"] > 0 or summary["high"] < 0
    return agree, "established" if agree else "not established"


def walk_kind(found: dict) -> str:
    """What the weights' walk on the plateaus is, from the diffusion exponent ``alpha`` (0.7
    to 1.3 is diffusion, decided before the runs) and the straightness against a random
    walk's (above twice it, a drift rides on the diffusion; added after the full-scale result
    read 1.25 with straightness 0.35, and the chapter says so): "held", "random",
    "random with a drift" or "drift".

    Example
    -------
    >>> walk_kind({"alpha": 1.25, "straightness": 0.35, "straightness_rw": 0.14})
    'random with a drift'
    """
    a = found["alpha"]
    if a > 1.3:
        return "drift"
    if a < 0.7:
        return "held"
    drifting = found.get("straightness", 0.0) > 2 * found.get("straightness_rw", np.inf)
    return "random with a drift" if drifting else "random"


def readings(found: dict) -> dict[str, str]:
    """The sentences that open the chapter's paragraphs on each measurement, each read off
    the numbers (so the text changes with the data).

    Example
    -------
    >>> f = {"saddle_share": 1.0, "end_negative": 1.0, "asym": -0.001, "alpha": 1.5, "alpha_control": 1.0,
    ...      "default_escape": 110.0,
    ...      "noise_slopes": {"median": -1.0, "low": -np.inf, "high": np.inf, "n": 2, "share_positive": 0.5},
    ...      "weight_slopes": {"median": 86.0, "low": -np.inf, "high": np.inf, "n": 2, "share_positive": 1.0},
    ...      "fdc": {"plateau": 0.7, "transition": 0.6}, "autocorr": {"plateau": 0.98}}
    >>> r = readings(f)
    >>> r["curv_reading"]
    'Every plateau before the last has negative curvature, and so does the end of training.'
    >>> r["walk_reading"]
    'The weights drift; they do not walk at random.'
    >>> r["scale_reading"].split("; ")[1][-45:]
    '(a tenth of the default plateau): negligibly.'
    """
    saddles, end = found["saddle_share"] == 1.0, found["end_negative"] == 1.0
    curv = ("Every plateau before the last has negative curvature" if saddles
            else "Not every plateau before the last has negative curvature")
    curv += ", and so does the end of training." if end else "; the end of training has none."
    agree, where = settled(found.get("asym_runs", {"n": 0}))
    if agree:
        more = "more" if found["asym"] > 0 else "less"
        asym = f"Escape directions make the experts differ {more} than a random direction does ({where})."
    else:
        asym = f"Escape directions make the experts differ no more than a random direction does ({where})."
    walk = {"drift": "The weights drift; they do not walk at random.",
            "random with a drift": "The weights walk nearly at random, with a drift.",
            "random": "The weights walk at random.",
            "held": "The weights are held in place; they do not walk at random."}[walk_kind(found)]
    w, z = found["weight_slopes"], found["noise_slopes"]
    # a slope under a tenth of the default plateau per e-fold is negligible (decided with the
    # chapter, before its full-scale runs): ten times less noise then moves the plateau by
    # under a quarter of its length
    margin = 0.1 * found.get("default_escape", np.nan)
    values = found.get("noise_slope_values")
    values = values.slope.to_numpy(dtype=float) if values is not None and len(values) else np.array([z["median"]])
    small = (bool(np.all(np.abs(values) < margin)) if np.isinf(z["low"])
             else bool(-margin < z["low"] and z["high"] < margin))
    w_sign = "longer" if w["median"] > 0 else "shorter"
    w_settled, w_where = settled(w, "seed")
    weights = (f"Smaller initial weights make the zeros plateau {w_sign} ({w_where})" if w_settled
               else "The initial weights' scale has no settled effect on the zeros plateau")
    noise = "the initial-state noise, which makes the experts' states differ at the start, changes it "
    if small:
        noise += f"by less than {margin:.0f} iterations per e-fold (a tenth of the default plateau): negligibly"
    else:
        noise += "consistently" if settled(z, "seed")[0] else "by no settled amount"
    fdc, ac = found["fdc"].get("plateau", np.nan), found["autocorr"].get("plateau", np.nan)
    land = ("the loss falls towards the solution around every plateau" if fdc > 0.3
            else "distance to the solution says little about the loss around a plateau")
    land += " and is smooth at this step size" if ac > 0.9 else " and is rugged at this step size"
    out = {"curv_reading": curv, "asym_reading": asym, "walk_reading": walk,
           "scale_reading": f"{weights}; {noise}.", "land_reading": land[0].upper() + land[1:] + "."}
    if "escape_rho" in found:
        out["escape_reading"] = escape_reading(found)
    return out


def escape_reading(found: dict) -> str:
    """The sentence on the small agent's escape directions, read off ``escape_rho`` (one rank
    correlation per run; :func:`settled` decides whether its sign is).

    Example
    -------
    >>> escape_reading({"escape_rho": sign_interval([0.9, 1.0, 0.8])})
    'Escape directions fall as dimensions are solved (in every run).'
    >>> escape_reading({"escape_rho": sign_interval([0.9, -1.0, 0.8])})
    'Escape directions do not fall consistently as dimensions are solved (not in every run).'
    """
    rho = found["escape_rho"]
    agree, where = settled(rho)
    if agree and rho["median"] > 0:
        return f"Escape directions fall as dimensions are solved ({where})."
    if agree:
        return f"Escape directions grow as dimensions are solved ({where})."
    return f"Escape directions do not fall consistently as dimensions are solved ({where})."


def verdict(found: dict, size: Sizes, quick: bool) -> dict[str, str]:
    """The verdict box's text and the landing page's row (``verdict``, ``scale``), each
    clause read off a number, so that it changes with the data.

    Example
    -------
    >>> f = {"saddle_share": 1.0, "end_negative": 1.0, "asym": 0.1, "alpha": 1.9, "dmd_ratio": 2.0,
    ...      "weight_slopes": {"median": 80.0, "low": 10.0, "high": 150.0, "n": 10, "share_positive": 1.0},
    ...      "noise_slopes": {"median": 1.0, "low": -5.0, "high": 6.0, "n": 10, "share_positive": 0.5}}
    >>> v = verdict(f, FULL, False)
    >>> v["verdict"].split(" but ")[0]
    'Partly reproduced. Every plateau before the last is a saddle'
    >>> v["scale"]
    'full mode: N = 6, 5 runs with a snapshot every 10 iterations; scale sweep at N = 3 over 10 seeds'
    """
    saddles = found["saddle_share"] == 1.0
    slopes = found["weight_slopes"]
    lengthens, slope_word = settled(slopes, "seed")
    lengthens = lengthens and slopes["median"] > 0
    walk = found["alpha"]
    kind = walk_kind(found)
    random_walk = kind == "random"
    walk_word = {"random": "a random walk", "random with a drift": "a random walk with a drift",
                 "drift": "a directed drift, not a random walk", "held": "held in place, not a random walk"}[kind]
    parts = [
        ("every plateau before the last is a saddle" if saddles else "not every plateau is a saddle")
        + (" but the end of training has negative curvature too (a finite batch's objective)" if found["end_negative"] == 1
           else ", and the end of training has none"),
        f"small initial weights lengthen the first plateau ({slope_word})",
        f"the weights on a plateau move as {walk_word} (diffusion exponent {walk:.2f})",
        ("the inner loop's DMD modes forecast it better than persistence" if found["dmd_ratio"] < 1
         else "the inner loop's DMD modes forecast it worse than persistence: no useful modes"),
    ]
    if "escape_rho" in found:
        # not one of the study's claims (the agreement below stays over those): theory's
        # prediction, read off the small agent's exact spectra
        parts.insert(1, escape_reading(found).rstrip(".").replace("Escape directions", "on a small agent the escape "
                                                                  "directions (exact spectra)", 1))
    agree = [saddles, lengthens, random_walk, found["dmd_ratio"] >= 1]
    head = "Reproduced" if all(agree) else "Not reproduced" if not any(agree) else "Partly reproduced"
    mode = "quick" if quick else "full"
    runs = f"{size.fine_seeds} run" + ("s" if size.fine_seeds > 1 else "")
    scale = (f"{mode} mode: N = {size.n}, {runs} with a snapshot every {size.fine_every} iterations; "
             f"scale sweep at N = {size.scale_n} over {size.scale_seeds} seeds")
    text = "; ".join(parts)
    return {"verdict": f"{head}. {text[0].upper()}{text[1:]}.", "scale": scale}


# ------------------------------------------------------------------------------------ figures
def plot_curvature(curv: pd.DataFrame, phases: pd.DataFrame, axes=None):
    """The probe error of one run over training (left axis) with the smallest and largest
    Hessian eigenvalues at its curvature points (right panel, symmetric log scale).

    Example
    -------
    >>> ph = pd.DataFrame({"iteration": [0, 100, 200], "probe_error": [1.0, 0.5, 0.1]})
    >>> cv = pd.DataFrame({"iteration": [0, 200], "lam_min": [-1.0, -0.1], "lam_max": [5.0, 20.0],
    ...                    "point": ["plateau 0", "end"]})
    >>> len(plot_curvature(cv, ph))
    2
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    a, b = axes
    a.plot(phases.iteration, phases.probe_error, color="0.3", lw=1)
    for _, p in curv.iterrows():
        colour = plots.PALETTE[0] if p.point.startswith("plateau") else plots.PALETTE[3] if p.point.startswith("trans") else "k"
        a.axvline(p.iteration, color=colour, lw=0.8, alpha=0.6)
    a.set(xlabel="outer iteration", ylabel="probe error (zeros level = 1)", title="where the Hessian is taken")
    kinds = curv.point.str.split().str[0]
    for kind, colour, marker in (("plateau", plots.PALETTE[0], "o"), ("transition", plots.PALETTE[3], "s"), ("end", "k", "D")):
        t = curv[kinds == kind]
        b.scatter(t.iteration, t.lam_min, color=colour, marker=marker, label=f"{kind}: smallest")
        b.scatter(t.iteration, t.lam_max, facecolor="none", edgecolor=colour, marker=marker, label=f"{kind}: largest")
    b.axhline(0, color="0.5", lw=0.8)
    b.set_yscale("symlog", linthresh=1e-2)
    b.set(xlabel="outer iteration", ylabel="Hessian eigenvalue", title="extreme eigenvalues")
    b.legend(fontsize=7, ncol=2)
    return axes


def plot_negatives(curv: pd.DataFrame, k: int, ax=None):
    """The negative eigenvalues counted (of the ``k`` smallest, below -0.001 times the largest)
    at each plateau point against the dimensions still unsolved there, one marker per run
    (jittered); the dashed line is ``k``, the most that can be counted. The prediction: one
    escape direction per unsolved dimension, so the count falls as dimensions are solved.

    Example
    -------
    >>> c = pd.DataFrame({"seed": [0, 0], "point": ["plateau 0", "plateau 1"], "unsolved": [2.0, 1.0],
    ...                   "negatives": [2, 1]})
    >>> plot_negatives(c, 2) is not None
    True
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    t = curv[curv.point.str.startswith("plateau")]
    rng = np.random.default_rng(0)
    for i, (seed, g) in enumerate(t.groupby("seed")):
        ax.scatter(g.unsolved + rng.uniform(-0.12, 0.12, len(g)), g.negatives, color=plots.PALETTE[i % 10],
                   label=f"seed {seed}")
    top = max(float(t.unsolved.max()) if len(t) else 1.0, 1.0)
    ax.plot([0, top], [0, top], color="0.5", lw=0.8, label="one per unsolved dimension")
    ax.axhline(k, color="k", ls="--", lw=0.8, label=f"k = {k} (the most counted)")
    ax.set(xlabel="dimensions unsolved on the plateau", ylabel="negative eigenvalues counted")
    ax.legend(fontsize=7)
    return ax


def plot_escape(spectra: pd.DataFrame, level: float, axes=None):
    """The small agent's exact spectra: escape directions counted (eigenvalues below
    ``-level`` times the largest) on each plateau against the dimensions unsolved there, one
    line per run (left); the whole spectrum of the first run on its first and its last plateau,
    sorted, on a symmetric log scale (right).

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0, 0], "point": ["plateau 0", "plateau 1"], "unsolved": [2.0, 0.0],
    ...                   "negatives": [5, 0], "eigenvalues": [np.array([-1.0, 2.0]), np.array([0.5, 3.0])]})
    >>> len(plot_escape(t, 1e-2))
    2
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    a, b = axes
    t = spectra[spectra.point.str.startswith("plateau")]
    for i, (seed, g) in enumerate(t.groupby("seed")):
        a.plot(g.unsolved, g.negatives, marker="o", color=plots.PALETTE[i % len(plots.PALETTE)], alpha=0.8, lw=1)
    a.set(xlabel="dimensions unsolved on the plateau", ylabel=f"eigenvalues below -{level:g} x largest",
          title="escape directions, one line per run")
    first = t[t.seed == t.seed.min()]
    for j, (label, row) in enumerate((("first plateau", first.iloc[0]), ("last plateau", first.iloc[-1]))):
        eig = np.asarray(row.eigenvalues)
        b.plot(np.arange(len(eig)), eig, color=plots.PALETTE[j], label=f"{label} ({int(row.unsolved)} unsolved)")
    b.axhline(0, color="0.5", lw=0.8)
    b.set_yscale("symlog", linthresh=1e-3)
    b.set(xlabel="eigenvalue rank", ylabel="Hessian eigenvalue", title=f"whole spectrum, seed {int(t.seed.min())}")
    b.legend(fontsize=8)
    return axes


def plot_scale(scales: pd.DataFrame, axes=None):
    """Zeros-plateau length against ``ln(1/scale)``, one line per seed: the initial weights'
    scale (left) and the initial-state noise (right); hollow markers never escaped.

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0, 0], "scale": [0.1, 1.0], "noise": 0.1, "escape": [300.0, 100.0], "censored": False})
    >>> len(plot_scale(t))
    2
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    default_noise = scales.noise.mode().iloc[0]
    for ax, column, fixed, label in ((axes[0], "scale", ("noise", default_noise), "initial weights' scale"),
                                     (axes[1], "noise", ("scale", 1.0), "initial-state noise")):
        t = scales[np.isclose(scales[fixed[0]], fixed[1])]
        for i, (seed, g) in enumerate(t.sort_values(column).groupby("seed")):
            x = np.log(1.0 / g[column].to_numpy(dtype=float))
            colour = plots.PALETTE[i % len(plots.PALETTE)]
            ax.plot(x, g.escape, color=colour, lw=1, alpha=0.8)
            ax.scatter(x, g.escape, color=[colour if not c else "white" for c in g.censored], edgecolor=colour, zorder=3)
        ax.set(xlabel=f"ln(1 / {label})", title=label)
    axes[0].set_ylabel("iterations on the zeros plateau")
    return axes


def plot_walks(run, phases: pd.DataFrame, ax=None, min_points: int = 30):
    """Mean squared displacement of the weights against the lag on each plateau of ``run``
    (solid) and of its random-walk control (dashed), log-log, with slope-1 and slope-2 guides.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> ph = pd.DataFrame({"snapshot": range(40), "phase": "plateau", "plateau": 0, "unsolved": 1.0})
    >>> r = SimpleNamespace(snapshots={"param.w": np.cumsum(np.ones((40, 3)), axis=0)})
    >>> plot_walks(r, ph) is not None
    True
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots
    from badgerlib.analysis.landscape import mean_squared_displacement

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    W = weight_trajectory(run)
    for i, (j, seg) in enumerate(phases[phases.phase == "plateau"].groupby("plateau")):
        idx = seg.snapshot.to_numpy()
        if len(idx) < min_points:
            continue
        lags = np.unique(np.geomspace(1, len(idx) // 3, 12).astype(int))
        colour = plots.PALETTE[i % len(plots.PALETTE)]
        ax.loglog(lags, mean_squared_displacement(W[idx], lags), color=colour,
                  label=f"plateau {j} ({int(seg.unsolved.iloc[0])} unsolved)")
        ax.loglog(lags, mean_squared_displacement(shuffled_walk(W[idx], seed=int(j)), lags), color=colour, ls="--", lw=0.8)
    ax.set(xlabel="lag (snapshots)", ylabel="mean squared displacement of the weights",
           title="solid: the weights; dashed: the same steps as a random walk")
    ax.legend(fontsize=7)
    return ax


def plot_dmd(dmd: pd.DataFrame, axes=None):
    """DMD eigenvalues in the complex plane (the unit circle: neither growing nor decaying)
    for the first task of the inner loop and of the linear control in a :func:`dmd_table`
    (left), and each task's forecast error against persistence's (right).

    Example
    -------
    >>> d = pd.DataFrame({"system": ["inner loop", "linear system"], "forecast": [0.5, 1e-9],
    ...                   "persistence": [0.3, 1.0], "eigs": [np.array([0.9 + 0.1j]), np.array([1.0, 0.5])]})
    >>> len(plot_dmd(d))
    2
    """
    import matplotlib.pyplot as plt

    from badgerlib import plots

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    a, b = axes
    t = np.linspace(0, 2 * np.pi, 200)
    a.plot(np.cos(t), np.sin(t), color="0.6", lw=0.8)
    for i, (name, g) in enumerate(dmd.groupby("system", sort=False)):
        eigs = g.eigs.iloc[0]
        a.scatter(np.real(eigs), np.imag(eigs), color=plots.PALETTE[i], label=name, s=25)
    a.set(xlabel="real part", ylabel="imaginary part", aspect="equal", title="DMD eigenvalues")
    a.legend(fontsize=8)
    for i, (name, g) in enumerate(dmd.groupby("system", sort=False)):
        b.scatter(g.persistence, np.maximum(g.forecast, 1e-12), color=plots.PALETTE[i], label=name)
    lim = [1e-12, 10]
    b.plot(lim, lim, color="0.5", lw=0.8)
    b.set(xscale="log", yscale="log", xlabel="persistence's forecast error", ylabel="DMD's forecast error",
          title="below the line: the modes predict")
    b.legend(fontsize=8)
    return axes
