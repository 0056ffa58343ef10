"""Chapter 9, remedies: every fix the study proposes (and two it tried), on one benchmark,
against plain Adam.

The study ends with remedies it did not test: gradient surgery on the competing dimensions
(PCGrad, Yu et al. 2020), "saddle escaping" optimisation (approximate natural gradient, George
et al. 2018), an architecture whose gradients conflict less (Yu's multiplicative
interactions), a meta-learned loss (Bechtle et al. 2019), and it reports that transiently
chaotic cells (TCNN) were "very difficult to make converge in the end". Chapter 5 tried its
symmetry breakers on the first plateau only. This chapter puts them all on one benchmark:

* the benchmark: the standard Micro-Badger of chapters 2-3 on the guessing game
  (:func:`badgerlib.chapters.standard.standard_run`), the same seeds and the same budget of
  outer iterations for every arm; :data:`ARMS` (name -> what the arm changes in the standard
  config), :func:`sizes`, :func:`arm_config`, :func:`configs`;
* the learning-rate search every arm gets alike (:data:`Sizes.lr_factors` times the arm's
  base rate), read without selection bias by cross-fitting: a seed's outcome is read at the
  factor chosen on the *other* half of the seeds (:func:`chosen_factors`, :func:`outcomes`);
* outcomes, one row per run (:func:`run_table`): the escape from the zeros plateau, the
  iteration every dimension is solved (censored when never: survival curves, not dropped),
  the final error and the wall-clock per iteration;
* the ranking (:func:`ranking`): per arm the Kaplan-Meier medians and the speed-up over Adam
  in iterations and in wall-clock, each with a bootstrap interval
  (:func:`badgerlib.analysis.survival.median_ratio`), and which plateau the arm shortens;
* gradient conflict between dimensions under the multiplicative architecture
  (:func:`conflict_table`, :func:`badgerlib.analysis.interference.snapshot_interference`);
* the step's cost of every arm, measured (:func:`cost_table`), including the arms a mode
  does not train;
* :func:`findings`, :func:`verdict`, and the figures :func:`plot_survival`,
  :func:`plot_speedups`.

Example
-------
>>> size = sizes(quick=True)
>>> size.n, size.seeds, standard_config(quick=True).iterations, len(size.arms)
(3, 4, 1200, 10)
>>> cfg = arm_config("PCGrad", seed=1)
>>> cfg.gradient, cfg.task.n, cfg.seed, cfg.lr
('pcgrad', 3, 1, 0.003)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from badgerlib.analysis.components import solve_times
from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.interference import snapshot_interference
from badgerlib.analysis.stats import interval_text, median_difference
from badgerlib.analysis.survival import kaplan_meier, median_ratio
from badgerlib.chapters import standard
from badgerlib.chapters.standard import final_error
from badgerlib.checks import check_choice
from badgerlib.config import RunConfig
from badgerlib.learned_loss import LearnedLossConfig, lookahead_gain
from badgerlib.tcnn import ChaoticBadgerConfig

import badgerlib.remedies  # noqa: F401  (registers pcgrad, upgrad, gauss-newton, sgd, soap)


# ------------------------------------------------------------------------------------ arms
def _model(**changes) -> Callable[[RunConfig], RunConfig]:
    """An arm that changes fields of the standard Micro-Badger."""
    return lambda cfg: cfg.replace(model=dataclasses.replace(cfg.model, **changes))


def _tcnn(cfg: RunConfig) -> RunConfig:
    """Chen & Aihara's transiently chaotic neuron as the shared cell, on the standard agent's
    experts, graph and inputs (:mod:`badgerlib.tcnn`, its published constants)."""
    m = cfg.model
    return cfg.replace(model=ChaoticBadgerConfig(experts=m.experts, hidden=m.hidden, message=m.message,
                                                 topology=m.topology, links=m.links, features=m.features))


def _ml3(cfg: RunConfig, quick: bool) -> RunConfig:
    """Train on the loss meta-learned on the mode's smaller game (:func:`learned_loss_spec`)."""
    return cfg.replace(gradient="ml3", learned_loss=learned_loss_spec(quick))


@dataclass(frozen=True)
class Arm:
    """One remedy or control: ``kind`` (the family the ranking groups it in), ``change``
    (the standard config -> the arm's config, learning rate left alone; with ``by_mode`` it
    also takes ``quick``), ``lr_scale`` (its
    base learning rate over the standard Adam rate: the plain-SGD step of Gauss-Newton is not
    on Adam's scale) and ``source`` (what the study or the literature says of it)."""

    kind: str
    change: Callable[..., RunConfig]
    lr_scale: float = 1.0
    source: str = ""
    by_mode: bool = False     # ``change(cfg, quick)``: the change depends on the mode


#: Every arm of the benchmark, in the ranking's order of kinds. The learning rate each arm
#: starts its search from is the standard Adam rate times ``lr_scale``.
ARMS: dict[str, Arm] = {
    "Adam": Arm("baseline", lambda cfg: cfg, source="the standard run of chapters 2-3"),
    "PCGrad": Arm("gradient surgery", lambda cfg: cfg.replace(gradient="pcgrad"),
                  source="Yu et al. 2020, the study's first optimisation proposal"),
    "UPGrad": Arm("gradient surgery", lambda cfg: cfg.replace(gradient="upgrad"),
                  source="Quinton & Rey 2024, surgery without PCGrad's random order"),
    "Gauss-Newton": Arm("natural gradient", lambda cfg: cfg.replace(gradient="gauss-newton", optimizer="sgd"),
                        lr_scale=30.0, source="the exact damped Fisher step the study's EKFAC approximates"),
    "SOAP": Arm("natural gradient", lambda cfg: cfg.replace(optimizer="soap"),
                source="Vyas et al. 2024, a practical preconditioned optimiser"),
    "multiplicative": Arm("architecture", _model(multiplicative=True),
                          source="task-conditioned gating, the study's reading of Yu et al."),
    "learned loss": Arm("learned loss", _ml3, by_mode=True,
                        source="ML3, Bechtle et al. 2019: a loss meta-learned on a smaller game"),
    "TCNN": Arm("chaotic cell", _tcnn, source="Chen & Aihara 1995; the study: hard to converge"),
    "per-expert readout": Arm("symmetry breaker", _model(per_expert_readout=True), source="the study, chapter 5"),
    "exponential update": Arm("symmetry breaker", _model(exponential_update=True), source="the study, chapter 5"),
    "random IDs": Arm("symmetry breaker", _model(expert_ids=4), source="GoodAI's badger-2019 code, chapter 5"),
    "vector feedback": Arm("control", _model(vector_feedback=True),
                           source="every expert sees every number's error: the scalar bottleneck removed"),
    "last step only": Arm("control", lambda cfg: cfg.replace(loss_on="last"),
                          source="the outer loss on the last guess only (badger-2019)"),
    "batch x4": Arm("control", lambda cfg: cfg.replace(batch=4 * cfg.batch),
                    source="Kirsch et al. 2022: larger meta-batches shorten plateaus"),
}

#: The reference every speed-up is measured against.
REFERENCE = "Adam"


def _kind_colors() -> dict:
    from badgerlib.plots import PALETTE

    kinds = list(dict.fromkeys(a.kind for a in ARMS.values()))
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(kinds)}


#: One colour per kind of arm in the speed-up figure.
KIND_COLORS = _kind_colors()


# ------------------------------------------------------------------------------ sizes, runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 9 in one mode.

    Fields
    ------
    n: numbers guessed (the standard agent of chapters 2-3 for that N, its iterations and
        learning rate: :func:`badgerlib.chapters.standard.standard_run`).
    seeds: seeds per arm and learning rate (the same seeds for every arm).
    lr_factors: the learning-rate search every arm gets: these factors times its base rate.
        With one factor there is no search.
    arms: the names of :data:`ARMS` trained in this mode.
    conflict_arms: the arms whose gradient conflict between dimensions is measured at every
        snapshot (:func:`conflict_table`).
    cost_iterations: outer iterations each arm's step cost is measured over
        (:func:`cost_table`).
    stop_window: ``RunConfig.stop_when_solved`` of every run (None: the standard run's own,
        which stops the full-mode N = 20 runs 1000 iterations after they are solved).
    ml3_n: N of the smaller game the learned loss is meta-trained on (with the standard agent
        of that N), before the benchmark at ``n`` applies it.
    ml3_iterations: meta-training updates (:class:`badgerlib.learned_loss.LearnedLossConfig`).
    ml3_episode: Badger updates per meta-training episode (a fresh Badger after each).

    Example
    -------
    >>> FULL.n, FULL.seeds, FULL.lr_factors, len(FULL.arms), FULL.ml3_n
    (20, 10, (0.333, 1.0, 3.0), 14, 6)
    """

    n: int = 3
    seeds: int = 4
    lr_factors: tuple = (1.0,)
    arms: tuple = tuple(a for a in ARMS if a not in ("Gauss-Newton", "per-expert readout", "random IDs",
                                                     "batch x4"))
    conflict_arms: tuple = ("Adam", "multiplicative")
    cost_iterations: int = 30
    stop_window: int | None = 100
    ml3_n: int = 2
    ml3_iterations: int = 400
    ml3_episode: int = 200


#: Quick mode: N = 3 (the standard run solves every dimension at 530-630 of its 1200
#: iterations), 4 seeds, every arm but Gauss-Newton (one of its steps costs about fifteen of
#: Adam's: its cost is measured, its runs are full mode's) and two symmetry breakers that
#: chapter 5 tests (per-expert readout and random IDs: in an N = 4 pilot both solved at Adam's
#: pace, speed-up 0.96), no learning-rate search, every run stopping 100 iterations after it
#: is solved, and the learned loss meta-trained on N = 2: the test suite's budget. The
#: chapter's first quick mode ran at N = 4 (1500 iterations) and took 7 min in make test, over
#: its 6 (and the learned loss was still to come); 3 seeds instead of 4 would have saved a
#: quarter, but with 3 runs per arm the bootstrap intervals are the runs' range (an N = 4 pilot
#: on seeds 0-2 read the multiplicative arm as faster, which its fourth seed undid). The 4x
#: batch control left quick mode too (2026-12-07, for the suite's 25 minutes: its steps cost
#: four of Adam's; in quick mode it had read 1.63x fewer iterations, 0.75x in wall-clock).
QUICK = Sizes()

#: Full mode: the study's N = 20 (the standard agent of 16 experts, hidden 64, 24 inner steps,
#: 150 000 iterations that stop 1000 iterations after every dimension is solved), 10 seeds,
#: every arm, a learning-rate search of three factors for each, and the learned loss
#: meta-trained on N = 6 (the issue's transfer question: does a loss learned on N = 6 help at
#: N = 20?).
FULL = Sizes(n=20, seeds=10, lr_factors=(0.333, 1.0, 3.0), arms=tuple(ARMS), stop_window=None, ml3_n=6,
             ml3_iterations=5000, ml3_episode=2500)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).n
    20
    """
    standard.sizes(quick)            # the one check of ``quick``
    return QUICK if quick else FULL


def standard_config(quick: bool = True, seed: int = 0) -> RunConfig:
    """The standard run the arms change: chapters 2-3's at the mode's N, whose iterations are
    every arm's budget, without the probe series chapter 2's memory test reads (a fifth more
    time per update that no arm needs).

    Example
    -------
    >>> standard_config(True).iterations, standard_config(False).model.experts, standard_config(True).probe_series
    (1200, 16, 0)
    """
    return standard.standard_run(sizes(quick).n, seed, quick, probe_series=0)


def arm_config(arm: str, seed: int = 0, quick: bool = True, factor: float = 1.0) -> RunConfig:
    """The run of ``arm`` (a key of :data:`ARMS`) for ``seed`` at ``factor`` times its base
    learning rate, stopping as the mode's ``stop_window`` says. In full mode the Adam arm at
    factor 1 is the standard run itself (chapters 2-3 train it).

    Example
    -------
    >>> arm_config("Adam", seed=3) == standard.standard_run(3, 3, probe_series=0).replace(stop_when_solved=100)
    True
    >>> arm_config("Gauss-Newton", factor=3.0).lr, arm_config("batch x4").batch
    (0.27, 128)
    >>> arm_config("Lion")
    Traceback (most recent call last):
    ...
    ValueError: arm = 'Lion': must be one of ['Adam', 'PCGrad', 'UPGrad', 'Gauss-Newton', 'SOAP', 'multiplicative', 'learned loss', 'TCNN', 'per-expert readout', 'exponential update', 'random IDs', 'vector feedback', 'last step only', 'batch x4']
    """
    if arm not in ARMS:
        raise ValueError(f"arm = {arm!r}: must be one of {list(ARMS)}")
    base = standard_config(quick, seed)
    window = sizes(quick).stop_window
    if window is not None:
        base = base.replace(stop_when_solved=window)
    cfg = ARMS[arm].change(base, quick) if ARMS[arm].by_mode else ARMS[arm].change(base)
    lr = round(base.lr * ARMS[arm].lr_scale * factor, 6)
    if not 0 < lr <= 1:
        raise ValueError(f"factor = {factor!r}: makes the learning rate of {arm!r} {lr}; must be in (0, 1]")
    return cfg if lr == cfg.lr else cfg.replace(lr=lr)


def learned_loss_spec(quick: bool = True) -> LearnedLossConfig:
    """The recipe of the learned loss the ``"learned loss"`` arm trains on: meta-trained
    (:func:`badgerlib.learned_loss.meta_train`) with the standard agent of the mode's smaller
    game ``ml3_n`` (its inner steps, batch, Adam and learning rate), ``ml3_iterations`` updates
    in episodes of ``ml3_episode``, seed 0; the rest
    :class:`~badgerlib.learned_loss.LearnedLossConfig`'s defaults.

    Example
    -------
    >>> spec = learned_loss_spec(True)
    >>> spec.base.task.n, spec.base.model.experts, spec.meta_iterations
    (2, 8, 400)
    """
    size = sizes(quick)
    base = standard.standard_run(size.ml3_n, 0, quick, probe_series=0)
    return LearnedLossConfig(base=base, meta_iterations=size.ml3_iterations, episode=size.ml3_episode)


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the mode, by arm: each learning-rate factor x each seed (factor-major).

    Example
    -------
    >>> groups = configs(quick=True)
    >>> len(groups), len(groups["Adam"]), "Gauss-Newton" in groups
    (10, 4, False)
    """
    size = sizes(quick)
    return {arm: [arm_config(arm, s, quick, f) for f in size.lr_factors for s in range(size.seeds)]
            for arm in size.arms}


# ------------------------------------------------------------------------------- outcomes
def run_outcome(run) -> dict:
    """One run's numbers: ``escape`` (when the error of the last guess leaves the zeros
    plateau for good, :func:`badgerlib.analysis.dynamics.escape_iteration`), ``solved_at``
    (the last dimension's solve time, :func:`badgerlib.analysis.components.solve_times`),
    each with ``escaped`` / ``solved`` saying whether it happened (if not the duration is the
    run's length: censored there), ``dims_solved``, ``final_error`` (zeros level = 1) and
    ``ms_per_iteration`` (its training time over its iterations; NaN when unknown).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (1, 300), (2, 600)], n=2, seed=0)
    >>> run = SimpleNamespace(config=standard.standard_run(2), history=h, meta={"seconds": 6.0})
    >>> o = run_outcome(run)
    >>> o["escape"], o["escaped"], o["solved"], o["dims_solved"], o["ms_per_iteration"]
    (300, True, True, 2, 5.0)
    """
    h, task = run.history, run.config.task
    T = len(h["last_error"])
    esc = escape_iteration(h["last_error"], task.zeros_level)
    t = solve_times(h["dim_error"], task.dim_zeros_level)
    solved = bool(np.all(np.isfinite(t)))
    seconds = (getattr(run, "meta", None) or {}).get("seconds", np.nan)
    return {"escape": T if esc is None else int(esc), "escaped": esc is not None,
            "solved_at": int(np.max(t)) if solved else T, "solved": solved,
            "dims_solved": int(np.isfinite(t).sum()), "final_error": final_error(run),
            "ms_per_iteration": 1000.0 * seconds / T}


def run_table(runs_by_arm: dict) -> pd.DataFrame:
    """One row per run: ``arm``, ``kind``, ``seed``, ``lr``, ``factor`` (over the arm's base
    rate) and :func:`run_outcome`.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (1, 300), (2, 600)], n=2, seed=0)
    >>> run = SimpleNamespace(config=standard.standard_run(2).replace(lr=0.009), history=h, meta={})
    >>> run_table({"Adam": [run]})[["arm", "kind", "factor", "solved"]].values.tolist()
    [['Adam', 'baseline', 3.0, True]]
    """
    rows = []
    for arm, runs in runs_by_arm.items():
        for run in runs:
            base = standard.standard_run(run.config.task.n).lr      # the same in both modes
            factor = run.config.lr / (base * ARMS[arm].lr_scale)
            rows.append({"arm": arm, "kind": ARMS[arm].kind, "seed": run.config.seed, "lr": run.config.lr,
                         "factor": round(factor, 3), **run_outcome(run)})
    return pd.DataFrame(rows)


#: The outcome the learning-rate search minimises: iterations to solve every dimension
#: (censored runs count at the budget, so a factor that solves nothing ranks last).
SEARCH_ON = "solved_at"


def chosen_factors(table: pd.DataFrame) -> pd.DataFrame:
    """The learning-rate factor of each arm, chosen on each half of the seeds (even and odd
    seeds): the factor whose median :data:`SEARCH_ON` over that half is lowest (ties: the
    factor nearest 1). Rows ``arm``, ``half`` (0: even seeds, 1: odd), ``factor``.

    Example
    -------
    >>> t = pd.DataFrame({"arm": ["A"] * 4, "seed": [0, 1, 0, 1], "factor": [1.0, 1.0, 3.0, 3.0],
    ...                   "solved_at": [500, 700, 300, 900]})
    >>> chosen_factors(t)[["half", "factor"]].values.tolist()
    [[0.0, 3.0], [1.0, 1.0]]
    """
    rows = []
    for arm, g in table.groupby("arm", sort=False):
        for half in (0, 1):
            med = g[g.seed % 2 == half].groupby("factor")[SEARCH_ON].median()
            if med.empty:
                continue
            best = min(med.index, key=lambda f: (med[f], abs(np.log(f))))
            rows.append({"arm": arm, "half": half, "factor": best})
    return pd.DataFrame(rows, columns=["arm", "half", "factor"])


def outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """The runs the ranking reads, one per arm and seed: each seed's run at the factor chosen
    on the other half of the seeds (:func:`chosen_factors`), so that no seed's outcome chose
    its own learning rate. With a single factor: every run.

    Example
    -------
    >>> t = pd.DataFrame({"arm": ["A"] * 4, "seed": [0, 1, 0, 1], "factor": [1.0, 1.0, 3.0, 3.0],
    ...                   "solved_at": [500, 700, 300, 900]})
    >>> outcomes(t)[["seed", "factor"]].values.tolist()
    [[0.0, 1.0], [1.0, 3.0]]
    """
    if table.factor.nunique() <= 1:
        return table.reset_index(drop=True)
    chosen = chosen_factors(table).set_index(["arm", "half"]).factor
    keep = [chosen.get((r.arm, 1 - r.seed % 2)) == r.factor for r in table.itertuples()]
    return table[keep].sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------- ranking
def ranking(table: pd.DataFrame, reference: str = REFERENCE, n_boot: int = 2000) -> pd.DataFrame:
    """Per arm of :func:`outcomes` (in :data:`ARMS` order): ``kind``, ``runs``, ``solved``
    (runs that solved every dimension), the Kaplan-Meier medians ``escape`` and ``solve``
    (inf: more than half the runs never got there), the speed-up over ``reference`` in
    iterations to escape and to solve (``escape_x``, ``solve_x``: the reference's median over
    the arm's, with 95 % bootstrap bounds ``*_low``, ``*_high``;
    :func:`badgerlib.analysis.survival.median_ratio`), ``ms`` (median milliseconds per
    iteration), ``wall_x`` (the speed-up in wall-clock to solve: ``solve_x`` times the
    reference's ms over the arm's), ``final_error`` (median, zeros level = 1) and
    ``removes`` (:func:`what_it_shortens`).

    Example
    -------
    >>> t = pd.DataFrame({"arm": ["Adam"] * 4 + ["PCGrad"] * 4, "seed": [0, 1, 2, 3] * 2,
    ...                   "escape": [300, 320, 340, 360, 100, 110, 120, 130], "escaped": [True] * 8,
    ...                   "solved_at": [900, 1000, 1100, 1200, 450, 500, 550, 600], "solved": [True] * 8,
    ...                   "final_error": [0.05] * 8, "ms_per_iteration": [10.0] * 4 + [20.0] * 4})
    >>> r = ranking(t, n_boot=200)
    >>> float(r.loc["PCGrad", "solve_x"]), float(r.loc["PCGrad", "wall_x"]), r.loc["PCGrad", "removes"]
    (2.0, 1.0, 'shortens the zeros plateau and solves sooner')
    """
    ref = table[table.arm == reference]
    rows = {}
    for arm in [a for a in ARMS if a in set(table.arm)]:
        g = table[table.arm == arm]
        row = {"kind": ARMS[arm].kind, "runs": len(g), "solved": int(g.solved.sum()),
               "escape": kaplan_meier(g.escape, g.escaped.astype(int)).median,
               "solve": kaplan_meier(g.solved_at, g.solved.astype(int)).median,
               "ms": float(g.ms_per_iteration.median()), "final_error": float(g.final_error.median())}
        for what, duration, event in (("escape", "escape", "escaped"), ("solve", "solved_at", "solved")):
            r = median_ratio(ref[duration], ref[event].astype(int), g[duration], g[event].astype(int), n_boot=n_boot)
            row.update({f"{what}_x": r["ratio"], f"{what}_low": r["low"], f"{what}_high": r["high"]})
        ref_ms = float(ref.ms_per_iteration.median())
        row["wall_x"] = row["solve_x"] * ref_ms / row["ms"] if row["ms"] > 0 else np.nan
        row["removes"] = what_it_shortens(row) if arm != reference else "-"
        rows[arm] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def what_it_shortens(row: dict) -> str:
    """Which plateaus an arm shortens, from its speed-up intervals: the zeros plateau when
    the escape's speed-up interval lies above 1; the later plateaus when only the solve's
    does (it leaves the zeros plateau no sooner but solves sooner); "lengthens" when an
    interval lies below 1; "no difference established" otherwise.

    Example
    -------
    >>> what_it_shortens({"escape_low": 1.2, "escape_high": 3.0, "escape_x": 2.0,
    ...                   "solve_low": 0.8, "solve_high": 1.5, "solve_x": 1.1})
    'shortens the zeros plateau'
    >>> what_it_shortens({"escape_low": 0.5, "escape_high": 1.4, "escape_x": 0.9,
    ...                   "solve_low": 0.2, "solve_high": 0.6, "solve_x": 0.4})
    'lengthens the run to solve'
    """
    zeros, solve = row["escape_low"] > 1, row["solve_low"] > 1
    if zeros and solve:
        return "shortens the zeros plateau and solves sooner"
    if zeros:
        return "shortens the zeros plateau"
    if solve:
        return "shortens the later plateaus"
    if row["solve_high"] < 1:
        return "lengthens the run to solve"
    if row["escape_high"] < 1:
        return "lengthens the zeros plateau"
    return "no difference established"


def ranking_table(rank: pd.DataFrame) -> pd.DataFrame:
    """The chapter's summary table, as strings: per arm (fastest to solve first, by the
    speed-up's point estimate; the reference first), its kind, runs solved, the medians, the
    speed-ups with their intervals and the cost per iteration.

    Example
    -------
    >>> r = pd.DataFrame({"kind": ["baseline", "control"], "runs": [4, 4], "solved": [4, 4],
    ...                   "escape": [300.0, 100.0], "solve": [1000.0, np.inf], "escape_x": [1.0, 3.0],
    ...                   "escape_low": [0.8, 2.0], "escape_high": [1.2, 4.0], "solve_x": [1.0, 0.0],
    ...                   "solve_low": [0.9, 0.0], "solve_high": [1.1, 0.5], "ms": [10.0, 12.0], "wall_x": [1.0, 0.0],
    ...                   "final_error": [0.02, 0.5], "removes": ["-", "shortens the zeros plateau"]},
    ...                  index=["Adam", "vector feedback"])
    >>> ranking_table(r).iloc[1][["arm", "median solve", "solve speed-up"]].tolist()
    ['vector feedback', 'not reached', '0.00 (0.00 to 0.50)']
    """
    order = [REFERENCE] + [a for a in rank.sort_values("solve_x", ascending=False, kind="stable").index
                           if a != REFERENCE]
    rows = []
    for arm in [a for a in order if a in rank.index]:
        r = rank.loc[arm]
        iters = lambda v: "not reached" if not np.isfinite(v) else f"{v:.0f}"  # noqa: E731
        ratio = lambda k: (f"{r[k + '_x']:.2f} ({r[k + '_low']:.2f} to {r[k + '_high']:.2f})"  # noqa: E731
                           if np.isfinite(r[k + "_x"]) else "-")
        rows.append({"arm": arm, "kind": r.kind, "solved": f"{r.solved} of {r.runs}",
                     "median escape": iters(r.escape), "median solve": iters(r.solve),
                     "escape speed-up": ratio("escape"), "solve speed-up": ratio("solve"),
                     "ms per iteration": f"{r.ms:.1f}", "wall-clock speed-up": f"{r.wall_x:.2f}",
                     "final error": f"{r.final_error:.3f}", "what it does": r.removes})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ conflict, costs
def conflict_table(runs_by_arm: dict, device: str = "cpu") -> pd.DataFrame:
    """The gradient conflict between guessed dimensions at every snapshot of every run of the
    given arms: ``arm``, ``seed``, ``iteration``, ``conflict`` (share of pairs of dimensions
    whose gradients point against each other), ``mean_cosine`` and ``escaped`` (whether the
    run had left the zeros plateau by then) (:func:`badgerlib.analysis.interference.snapshot_interference`).
    One number per run follows from it in :func:`conflict_summary`.

    It rebuilds models from trained runs: the examples are in ``tests/``.
    """
    rows = []
    for arm, runs in runs_by_arm.items():
        for run in runs:
            res = snapshot_interference(run, device=device)
            esc = escape_iteration(run.history["last_error"], run.config.task.zeros_level)
            for i, it in enumerate(res["iterations"]):
                rows.append({"arm": arm, "seed": run.config.seed, "iteration": int(it),
                             "conflict": float(res["conflict"][i]), "mean_cosine": float(res["mean_cosine"][i]),
                             "escaped": esc is not None and it >= esc})
    return pd.DataFrame(rows)


def conflict_per_run(conflicts: pd.DataFrame) -> pd.DataFrame:
    """One number per run of :func:`conflict_table`: its mean conflict over the snapshots
    after it left the zeros plateau, where the dimensions compete (``arm``, ``seed``,
    ``conflict``; a run that never left it has none).

    Example
    -------
    >>> c = pd.DataFrame({"arm": ["Adam"] * 3, "seed": [0, 0, 0], "conflict": [0.9, 0.5, 0.7],
    ...                   "escaped": [False, True, True]})
    >>> conflict_per_run(c).conflict.round(2).tolist()
    [0.6]
    """
    return conflicts[conflicts.escaped].groupby(["arm", "seed"], sort=False).conflict.mean().reset_index()


def conflict_summary(conflicts: pd.DataFrame, arm: str = "multiplicative", reference: str = REFERENCE) -> dict:
    """The arm's median of :func:`conflict_per_run` minus the reference's, with a bootstrap
    interval (:func:`badgerlib.analysis.stats.median_difference`).

    Example
    -------
    >>> c = pd.DataFrame({"arm": ["Adam"] * 4 + ["multiplicative"] * 4, "seed": [0, 0, 1, 1] * 2,
    ...                   "conflict": [0.5, 0.7, 0.6, 0.6, 0.2, 0.2, 0.3, 0.1], "escaped": [True] * 8})
    >>> d = conflict_summary(c)
    >>> round(d["difference"], 2), d["n_a"]
    (-0.4, 2)
    """
    per_run = conflict_per_run(conflicts)
    return median_difference(per_run[per_run.arm == arm].conflict, per_run[per_run.arm == reference].conflict)


def cost_table(quick: bool = True, measure: Callable[[RunConfig], float] | None = None) -> pd.DataFrame:
    """Milliseconds per outer iteration of every arm of :data:`ARMS` at this mode's N,
    measured on a short uncached run of each (one torch thread, the eager engine:
    :func:`badgerlib.sweep.measure_speed`), and their ratio to Adam's. Arms the mode does not
    train are measured too, so the table says what they would cost.

    Example
    -------
    >>> t = cost_table(True, measure=lambda cfg: 50.0 if cfg.gradient == "objective" else 10.0)
    >>> t.set_index("arm").loc["PCGrad", ["ms per iteration", "times Adam"]].tolist()
    [100.0, 5.0]
    """
    from badgerlib.sweep import measure_speed

    size = sizes(quick)
    if measure is None:
        measure = lambda cfg: measure_speed(cfg, iterations=size.cost_iterations, engine="eager")  # noqa: E731
    ms = {arm: 1000.0 / measure(arm_config(arm, 0, quick)) for arm in ARMS}
    return pd.DataFrame([{"arm": arm, "trained in this mode": arm in size.arms, "ms per iteration": round(v, 1),
                          "times Adam": round(v / ms[REFERENCE], 2)} for arm, v in ms.items()])


#: Chapter 2's measured pace of the standard N = 20 run (REFERENCES and the README: about 23
#: iterations per second on one core, about 100 000 iterations to solve), which the full-mode
#: estimate scales by each arm's measured cost relative to Adam's.
N20_ITERATIONS_PER_SECOND = 23.0
N20_ITERATIONS_PER_RUN = 100_000


def full_mode_core_hours(costs: pd.DataFrame) -> float:
    """Core-hours to train every full-mode run: each run as long as chapter 2's N = 20 run
    (:data:`N20_ITERATIONS_PER_RUN` at :data:`N20_ITERATIONS_PER_SECOND`), times its arm's
    cost relative to Adam (``costs`` as :func:`cost_table` returns). A rough figure: runs that
    stop early or never solve differ, and the relative costs are measured at the mode's N.

    Example
    -------
    >>> costs = pd.DataFrame({"arm": list(ARMS), "times Adam": [1.0] * len(ARMS)})
    >>> round(full_mode_core_hours(costs))
    507
    """
    ratio = costs.set_index("arm")["times Adam"]
    runs = sum(ratio[arm] * len(cfgs) for arm, cfgs in configs(quick=False).items())
    return runs * N20_ITERATIONS_PER_RUN / N20_ITERATIONS_PER_SECOND / 3600


# --------------------------------------------------------------------------------- findings
def findings(rank: pd.DataFrame, conflict: dict, meta: dict | None = None) -> dict:
    """What the chapter's checks and verdict read: ``control`` (the vector-feedback control's
    solve speed-up and its interval), ``faster`` / ``slower`` (arms whose solve speed-up
    interval lies above / below 1), ``tcnn_solved`` (TCNN runs that solved every dimension, of
    ``tcnn_runs``), ``adam_solved`` of ``adam_runs``, ``conflict`` (the multiplicative
    arm's conflict minus Adam's), ``learned`` (the learned-loss arm's solve speed-up and its
    interval, None when not trained) and ``meta`` (its meta-training's lookahead gain,
    :func:`badgerlib.learned_loss.lookahead_gain`, as given).

    Example
    -------
    >>> r = pd.DataFrame({"solve_x": [1.0, 1.8, 0.4], "solve_low": [0.8, 1.3, 0.2], "solve_high": [1.2, 2.5, 0.7],
    ...                   "solved": [4, 4, 0], "runs": [4, 4, 4]}, index=["Adam", "vector feedback", "TCNN"])
    >>> f = findings(r, {"difference": -0.1, "low": -0.2, "high": 0.0})
    >>> f["faster"], f["slower"], f["tcnn_solved"]
    (['vector feedback'], ['TCNN'], 0)
    """
    others = [a for a in rank.index if a != REFERENCE]
    pick = lambda a: rank.loc[a] if a in rank.index else None  # noqa: E731
    control, tcnn, learned = pick("vector feedback"), pick("TCNN"), pick("learned loss")
    speedup = lambda r: None if r is None else {k: float(r[f"solve{s}"]) for k, s in  # noqa: E731
                                                (("ratio", "_x"), ("low", "_low"), ("high", "_high"))}
    return {
        "control": speedup(control), "learned": speedup(learned), "meta": meta,
        "faster": [a for a in others if rank.loc[a, "solve_low"] > 1],
        "slower": [a for a in others if rank.loc[a, "solve_high"] < 1],
        "tcnn_solved": None if tcnn is None else int(tcnn.solved),
        "tcnn_runs": None if tcnn is None else int(tcnn.runs),
        "adam_solved": int(rank.loc[REFERENCE, "solved"]), "adam_runs": int(rank.loc[REFERENCE, "runs"]),
        "conflict": conflict,
    }


def verdict(found: dict, size: Sizes, quick: bool) -> dict[str, str]:
    """The chapter's verdict in one sentence and the scale it was measured at (glue names
    ``verdict`` and ``scale`` of the landing page's findings table); each clause follows from
    an interval, so the sentence changes with the data.

    Example
    -------
    >>> found = {"control": {"ratio": 1.2, "low": 0.0, "high": 1.7}, "faster": ["SOAP", "last step only"],
    ...          "slower": ["PCGrad", "TCNN"], "tcnn_solved": 0, "tcnn_runs": 4, "adam_solved": 4, "adam_runs": 4,
    ...          "conflict": {"difference": -0.05, "low": -0.2, "high": 0.1}}
    >>> v = verdict(found, QUICK, True)
    >>> print(v["verdict"])
    Partly. Faster than Adam to solve every dimension: SOAP (and the controls last step only); slower: PCGrad, TCNN; TCNN solved 0 of 4 runs (Adam 4 of 4): hard to converge, as the study says; vector feedback (the scalar bottleneck removed): speed-up 1.20 (95 % interval 0.00 to 1.70); multiplicative gating changes the gradient conflict by -0.05, 95 % interval -0.20 to 0.10.
    >>> v["scale"]
    'quick mode: N = 3, 10 arms x 4 seeds x 1200 iterations, no learning-rate search'
    """
    remedies = [a for a in found["faster"] if ARMS[a].kind != "control"]
    controls = [a for a in found["faster"] if ARMS[a].kind == "control"]
    tcnn = found.get("tcnn_solved")
    hard = tcnn is not None and tcnn < 0.5 * found["tcnn_runs"] and found["adam_solved"] >= 0.5 * found["adam_runs"]
    faster = ", ".join(remedies) if remedies else "none established"
    parts = [f"Faster than Adam to solve every dimension: {faster}"
             + (f" (and the controls {', '.join(controls)})" if controls else "")]
    if found["slower"]:
        parts.append("slower: " + ", ".join(found["slower"]))
    if tcnn is not None:
        reading = "hard to converge, as the study says" if hard else "not harder to converge than Adam"
        parts.append(f"TCNN solved {tcnn} of {found['tcnn_runs']} runs (Adam {found['adam_solved']} of "
                     f"{found['adam_runs']}): {reading}")
    if found.get("control") is not None:
        c = found["control"]
        parts.append(f"vector feedback (the scalar bottleneck removed): speed-up "
                     f"{interval_text({'median': c['ratio'], 'low': c['low'], 'high': c['high']}, 2)}")
    if found.get("learned") is not None:
        c, m = found["learned"], found.get("meta") or {}
        gain = (f" (meta-training: its lookahead step lowered the objective {m['gain']:.2f}x as much as the "
                f"objective's own)") if np.isfinite(m.get("gain", np.nan)) else ""
        parts.append(f"the learned loss (ML3){gain}: speed-up "
                     f"{interval_text({'median': c['ratio'], 'low': c['low'], 'high': c['high']}, 2)}")
    c = found.get("conflict") or {}
    if np.isfinite(c.get("difference", np.nan)):
        parts.append(f"multiplicative gating changes the gradient conflict by {interval_text(c, 2, brackets=False)}")
    head = "Partly" if remedies or hard else "Not reproduced"
    search = ("no learning-rate search" if len(size.lr_factors) == 1
              else f"learning rates x{'/'.join(f'{f:g}' for f in size.lr_factors)} cross-fitted")
    return {"verdict": f"{head}. " + "; ".join(parts) + ".",
            "scale": f"{'quick' if quick else 'full'} mode: N = {size.n}, {len(size.arms)} arms x {size.seeds} seeds "
                     f"x {standard_config(quick).iterations} iterations, {search}"}


def setup_values(quick: bool = True) -> dict[str, str]:
    """The numbers the chapter's setup section cites (glue name -> text).

    Example
    -------
    >>> v = setup_values(True)
    >>> v["n"], v["seeds"], v["iterations"], v["experts"]
    ('3', '4', '1200', '8')
    """
    size = sizes(quick)
    cfg = standard_config(quick)
    return {"n": str(size.n), "seeds": str(size.seeds), "iterations": str(cfg.iterations),
            "experts": str(cfg.model.experts), "hidden": str(cfg.model.hidden), "links": str(cfg.model.links),
            "inner_steps": str(cfg.inner_steps), "batch": str(cfg.batch), "lr": f"{cfg.lr:g}",
            "arms": str(len(size.arms)), "factors": ", ".join(f"{f:g}" for f in size.lr_factors),
            "not_trained": ", ".join(a for a in ARMS if a not in size.arms) or "none"}


def arm_table(quick: bool = True) -> pd.DataFrame:
    """Every arm: its kind, what it changes, its base learning rate and whether this mode
    trains it.

    Example
    -------
    >>> arm_table(True).set_index("arm").loc["Gauss-Newton", "base learning rate"]
    '0.09'
    """
    size = sizes(quick)
    rows = []
    for arm, spec in ARMS.items():
        rows.append({"arm": arm, "kind": spec.kind, "source": spec.source,
                     "base learning rate": f"{arm_config(arm, 0, quick).lr:g}", "trained": arm in size.arms})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- learned loss
def meta_summary(result) -> dict:
    """What the chapter says of the learned loss's meta-training (a
    :class:`badgerlib.learned_loss.MetaResult`): :func:`~badgerlib.learned_loss.lookahead_gain`
    over its second half, its seconds, updates and the pretraining misfit.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> h = {"iteration": np.arange(4.0), "learned": np.array([0.9, 0.9, 0.8, 0.8]),
    ...      "plain": np.array([0.9, 0.9, 0.9, 0.9]), "before": np.ones(4)}
    >>> r = SimpleNamespace(history=h, meta={"seconds": 12.0, "pretrain_misfit": 0.001},
    ...                     spec=learned_loss_spec(True))
    >>> m = meta_summary(r)
    >>> round(m["gain"], 2), m["iterations"], m["n"]
    (2.0, 400, 2)
    """
    gain = lookahead_gain(result.history)
    return {**gain, "seconds": float(result.meta["seconds"]), "misfit": float(result.meta["pretrain_misfit"]),
            "iterations": result.spec.meta_iterations, "n": result.spec.base.task.n}


def plot_meta_training(history: dict, ax=None, window: int = 10):
    """The learned loss's meta-training: at each measurement, how much one lookahead step
    lowered the task's objective on a fresh batch, along the learned loss's gradient and along
    the objective's own (a running mean over ``window`` measurements; above the other line:
    the better step). Returns the axes.

    Example
    -------
    >>> h = {"iteration": np.arange(0.0, 50, 5), "learned": np.full(10, 0.9), "plain": np.full(10, 0.95),
    ...      "before": np.ones(10)}
    >>> len(plot_meta_training(h, window=3).get_lines())
    3
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.0)
    it = np.asarray(history["iteration"])
    smooth = lambda x: pd.Series(x).rolling(window, min_periods=1).mean().to_numpy()  # noqa: E731
    for key, label, color in (("learned", "learned loss", plots.PALETTE[0]),
                              ("plain", "the objective itself", plots.PALETTE[1])):
        ax.plot(it, smooth(history["before"] - history[key]), color=color, label=label)
    ax.axhline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("meta-training update")
    ax.set_ylabel("objective lowered by\none lookahead step")
    ax.legend(fontsize=8)
    return ax


# ---------------------------------------------------------------------------------- figures
def plot_survival(table: pd.DataFrame, axes, event: str = "solved") -> None:
    """Kaplan-Meier curves of every arm in two panels (the proposed remedies; the symmetry
    breakers, controls and TCNN), Adam in both: the share of runs that have not yet solved
    every dimension (``event="solved"``) or left the zeros plateau (``"escaped"``) at each
    outer iteration; ticks are censored runs.

    Example
    -------
    >>> import matplotlib.pyplot as plt
    >>> t = pd.DataFrame({"arm": ["Adam", "Adam", "TCNN"], "seed": [0, 1, 0], "solved_at": [900, 1500, 1500],
    ...                   "solved": [True, False, False], "escape": [300, 400, 1500], "escaped": [True, True, False]})
    >>> _, axes = plt.subplots(1, 2)
    >>> plot_survival(t, axes)
    >>> [len(ax.get_lines()) > 0 for ax in axes]
    [True, True]
    """
    from badgerlib import plots

    check_choice("plot_survival", "event", event, ("solved", "escaped"))
    duration = "solved_at" if event == "solved" else "escape"
    first = {"baseline", "gradient surgery", "natural gradient", "architecture", "learned loss"}
    present = [a for a in ARMS if a in set(table.arm)]
    panels = ([a for a in present if ARMS[a].kind in first],
              [REFERENCE] + [a for a in present if ARMS[a].kind not in first])
    for ax, arms, title in zip(axes, panels, ("proposed remedies", "symmetry breakers, TCNN, controls")):
        groups = {a: (table[table.arm == a][duration], table[table.arm == a][event]) for a in arms if a in present}
        plots.survival_curves(groups, ax=ax)         # Adam first, in the same colour in both
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("share of runs not yet\n" + ("solved" if event == "solved" else "off the zeros plateau"))


def plot_speedups(rank: pd.DataFrame, ax=None):
    """The speed-up over Adam of every arm, in iterations to solve every dimension (dot) with
    its 95 % interval (bar), on a log axis; 1 is Adam. An arm whose median is not reached
    within the budget sits at the axis' left edge. Returns the axes.

    Example
    -------
    >>> r = pd.DataFrame({"solve_x": [1.0, 1.8, 0.0], "solve_low": [0.8, 1.3, 0.0], "solve_high": [1.2, 2.5, 0.6],
    ...                   "kind": ["baseline", "control", "chaotic cell"]}, index=["Adam", "vector feedback", "TCNN"])
    >>> len(plot_speedups(r).get_yticklabels())
    3
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.6)
    order = rank.sort_values("solve_x", kind="stable").index.tolist()
    floor = 0.1
    for i, arm in enumerate(order):
        r = rank.loc[arm]
        lo, mid, hi = (max(float(r[k]), floor) if np.isfinite(r[k]) else floor for k in ("solve_low", "solve_x",
                                                                                         "solve_high"))
        color = KIND_COLORS.get(r.kind, "k")
        ax.plot([lo, hi], [i, i], color=color, lw=2.0, alpha=0.7)
        ax.plot([mid], [i], "o", color=color, ms=6)
    ax.axvline(1.0, color="0.4", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_xlim(floor * 0.9, None)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    ax.set_xlabel("speed-up over Adam in iterations to solve every dimension\n(Adam's median / the arm's)")
    return ax
