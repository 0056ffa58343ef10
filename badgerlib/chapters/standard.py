"""The standard Micro-Badger runs on the guessing game, which several chapters read.

Chapters 2 (plateaus) and 3 (ray interference) study the same training runs from two sides;
later chapters reuse them too. Building their configs here, from ``(n, seed, quick)`` only,
makes every chapter ask for *identical* configs, so a chapter finds the runs another one
trained in the run store (runs are keyed by config hash) instead of training them again.

Every hyperparameter below is an assumption: the study did not publish its own. They are named
in :data:`QUICK` and :data:`FULL` and shown in the chapters' setup sections.

The per-run tables that more than one chapter reads live here too (:func:`run_table`,
:func:`solve_table`).

Example
-------
>>> cfg = standard_run(6, seed=2)
>>> cfg.task.n, cfg.seed, cfg.iterations, cfg.lr
(6, 2, 3000, 0.003)
>>> standard_run(6, seed=2) == standard_runs([6], seeds=3)[2]      # the same run, whoever asks
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from badgerlib.analysis.components import concurrency, imbalance, solve_times, transition_intervals
from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.checks import FEATURES
from badgerlib.chapters.phases import (
    SAME, detect_plateaus, label_phases, phase_segments, plateau_summary, solved_steps,
)
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame


@dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (quick or full) of the standard experiments.

    Fields
    ------
    iterations: outer iterations of the Micro-Badger run for each N (others: ``per_n * N``).
    per_n: iterations per guessed number for an N not listed in ``iterations``.
    lr: Adam learning rate of Micro-Badger for N <= ``large_n``; ``lr_large`` above it.
    experts, hidden, links, inner_steps: the agent up to N = ``large_n`` (experts, hidden
        size, out-links per expert, inner steps).
    large_n: from which N on the larger agent (``experts_large``, ``hidden_large``, inner
        steps N + 4) is used.
    batch: tasks per outer iteration.
    snapshot_every: outer iterations between stored snapshots.
    record_states: whether Micro-Badger runs keep their experts' states in every snapshot
        (``RunConfig.record_states``). Full mode does not: no chapter reads them, and at N = 20
        they would take 13 GB per run; ``Run.states_at`` recomputes any snapshot's states.
    engine: ``RunConfig.engine`` of every run (:mod:`badgerlib.engine`). Full mode compiles:
        about twice as fast per iteration, after a one-off compile per agent shape that quick
        mode's short runs would not pay back.
    probe_series: ``RunConfig.probe_series`` of the standard runs up to N = ``large_n``
        (:func:`standard_run`): the error on that many fixed probe tasks after
        every update, the series without fresh sampling noise that chapter 2's memory test
        reads (about a fifth more time per update). The longer runs above ``large_n`` do not
        record it: their hashes, and the full-mode N = 20 runs in training, stay as they were.
    stop_window: ``RunConfig.stop_when_solved`` of the runs with N above ``large_n`` (0: they
        run to the end). Full mode stops those long runs once every dimension has stayed
        solved for this many iterations; the figures that read them (the staircase, plateau
        counts, phases) end at the last dimension solved plus this tail, and the converged
        plateau the Lyapunov test needs comes from N = 3 runs, which always run to the end.

    Example
    -------
    >>> QUICK.iterations[6], FULL.iterations[20], FULL.engine, FULL.stop_window
    (3000, 150000, 'compiled', 1000)
    """

    iterations: dict = field(default_factory=dict)
    per_n: int = 500
    lr: float = 3e-3
    lr_large: float = 1e-3
    large_n: int = 6
    experts: int = 8
    hidden: int = 32
    links: int = 3
    inner_steps: int = 10
    experts_large: int = 16
    hidden_large: int = 64
    batch: int = 32
    snapshot_every: int = 100
    record_states: bool = True
    engine: str = "eager"
    stop_window: int = 0
    probe_series: int = 16


#: Quick mode: sized so that chapters 2 and 3 together train in a few minutes on 2 cores.
#: At lr 3e-3 the N = 6 staircase shows in 3000 iterations (REFERENCES measured 4.4k-10k at
#: lr 1e-3); smaller N need fewer.
QUICK = Sizes(iterations={2: 600, 3: 1200, 4: 1500, 6: 3000})


#: Full mode: the study's scale (N up to 20), runs long enough for most seeds to finish.
FULL = Sizes(iterations={2: 2000, 3: 3000, 4: 5000, 6: 10000, 10: 40000, 20: 150000}, record_states=False,
             engine="compiled", stop_window=1000)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).record_states
    False
    """
    if not isinstance(quick, (bool, np.bool_)):
        raise ValueError(f"quick = {quick!r}: must be True or False")
    return QUICK if quick else FULL


#: The feature sets the experts may receive, from the feedback alone (name -> features).
FEATURE_SETS = {
    "error": ("error",),
    "error + log": ("error", "log_error"),
    "error + change": ("error", "delta_error"),
    "error + log + change": FEATURES,
}


def _iterations(n: int, size: Sizes) -> int:
    return int(size.iterations.get(n, size.per_n * n))


def standard_run(n: int, seed: int = 0, quick: bool = True, features: Sequence[str] = FEATURES,
                 iterations: int | None = None, probe_series: int | None = None) -> RunConfig:
    """The standard Micro-Badger run on the N-number guessing game.

    Up to N = ``large_n``: E = 8 experts, H = 32, 3 out-links each, 10 inner steps; above it
    E = 16, H = 64 and N + 4 inner steps (the agent needs N + 1 probes). Batches of 32 tasks,
    loss averaged over the inner steps, gradient clipped at norm 1, one snapshot every
    ``snapshot_every`` iterations. In full mode the runs are compiled and those above
    ``large_n`` stop when solved (:class:`Sizes`). ``probe_series``: its
    ``RunConfig.probe_series``; None, the default, is the standard one (:class:`Sizes`
    ``probe_series`` up to N = ``large_n``, 0 above).

    Example
    -------
    >>> cfg = standard_run(20, quick=False)
    >>> cfg.model.experts, cfg.model.hidden, cfg.inner_steps, cfg.lr, cfg.iterations
    (16, 64, 24, 0.001, 150000)
    >>> cfg.engine, cfg.stop_when_solved, standard_run(6, quick=False).stop_when_solved
    ('compiled', 1000, 0)
    >>> standard_run(3, features=("error",)).model.features
    ('error',)
    >>> standard_run(6).probe_series, standard_run(20, quick=False).probe_series, standard_run(6, probe_series=0).probe_series
    (16, 0, 0)
    """
    size = sizes(quick)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r}: must be an integer >= 1")
    n = int(n)
    large = n > size.large_n
    its = _iterations(n, size) if iterations is None else int(iterations)
    model = MicroBadgerConfig(
        experts=size.experts_large if large else size.experts,
        hidden=size.hidden_large if large else size.hidden,
        links=size.links, features=tuple(features))
    return RunConfig(
        task=GuessingGame(n=n), model=model,
        inner_steps=n + 4 if large else size.inner_steps,
        iterations=its, batch=size.batch, lr=size.lr_large if large else size.lr,
        seed=int(seed), snapshot_count=its // size.snapshot_every + 1, record_states=size.record_states,
        engine=size.engine, stop_when_solved=size.stop_window if large else 0,
        probe_series=(0 if large else size.probe_series) if probe_series is None else probe_series)


def standard_runs(ns: Sequence[int], seeds: int, quick: bool = True) -> list[RunConfig]:
    """The plateau experiment: the standard run for every N in ``ns`` and seeds 0..seeds-1
    (N-major order).

    Example
    -------
    >>> [(c.task.n, c.seed) for c in standard_runs([2, 3], seeds=2)]
    [(2, 0), (2, 1), (3, 0), (3, 1)]
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be an integer >= 1")
    return [standard_run(n, s, quick) for n in ns for s in range(seeds)]


def run_key(run) -> dict:
    """The columns that name a standard run in every table: ``n``, ``seed``, ``metric`` and the
    name of its ``features`` set.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run_key(SimpleNamespace(config=standard_run(3, seed=1)))
    {'n': 3, 'seed': 1, 'metric': 'mse', 'features': 'error + log + change'}
    """
    cfg = run.config
    features = getattr(cfg.model, "features", ())
    name = next((k for k, v in FEATURE_SETS.items() if tuple(v) == tuple(features)), "+".join(features))
    return {"n": cfg.task.n, "seed": cfg.seed, "metric": cfg.task.metric, "features": name}


def run_table(runs, horizon: int | None = None, **detect) -> pd.DataFrame:
    """One row per run: ``n``, ``seed``, ``metric``, ``features``, ``iterations``,
    ``plateaus`` (count), ``first_length`` (iterations on the first plateau, 0 if the run
    does not start on one), ``final_level`` (level of the plateau the run ends on, NaN if it
    ends in a transition), ``solved`` (dimensions solved at the end), ``converged`` (all
    solved), ``escape`` (:func:`badgerlib.analysis.dynamics.escape_iteration` of the zeros
    plateau within ``horizon``, NaN if not escaped), ``same_number`` (share of iterations
    labelled "same number"), ``first_phase`` (label of the first phase), ``solved_steps``
    (:func:`badgerlib.chapters.phases.solved_steps`), ``concurrency`` (dimensions in
    transition at once),
    ``max_imbalance`` (largest spread of the per-dimension errors across dimensions,
    :func:`badgerlib.analysis.components.imbalance`) and ``seconds`` (training time, when the
    run has it).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> row = run_table([SimpleNamespace(config=standard_run(2), history=h)]).iloc[0]
    >>> int(row.plateaus), int(row.escape), bool(row.converged), round(float(row.concurrency), 1)
    (3, 501, True, 1.0)
    """
    rows = []
    for run in runs:
        h, key = run.history, run_key(run)
        n, T, task = key["n"], len(h["last_error"]), run.config.task
        ps = detect_plateaus(h["last_error"], n, task.zeros_level, **detect)
        summary = plateau_summary(ps, n, T)
        labels = label_phases(h, n, metric=task.metric)
        esc = escape_iteration(h["last_error"], task.zeros_level, horizon=horizon)
        meta = getattr(run, "meta", {}) or {}
        rows.append({**key, "iterations": T, "plateaus": summary["count"], "first_length": summary["first_length"],
                     "final_level": ps[-1].level if ps and ps[-1].end == T - 1 else np.nan,
                     "solved": int(labels.solved[-1]), "converged": bool(labels.solved[-1] == n),
                     "escape": np.nan if esc is None else esc, "same_number": labels.fraction(SAME),
                     "first_phase": phase_segments(labels, 50)[0].label,
                     "solved_steps": solved_steps(labels, 50).tolist(),
                     "concurrency": concurrency(transition_intervals(h["dim_error"], task.dim_zeros_level)),
                     "max_imbalance": float(imbalance(h["dim_error"], task.dim_zeros_level).max()),
                     "seconds": meta.get("seconds", np.nan)})
    return pd.DataFrame(rows)


def solve_table(runs) -> pd.DataFrame:
    """One row per dimension of every run: ``n``, ``seed``, ``metric``, ``features``,
    ``dim``, ``solved_at`` (:func:`badgerlib.analysis.components.solve_times`, NaN if never),
    ``order`` (1 = solved first; NaN if never), ``started_at`` (start of its transition from
    untouched, :func:`badgerlib.analysis.components.transition_intervals`).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (1, 300), (2, 300)], n=2, seed=0)
    >>> solve_table([SimpleNamespace(config=standard_run(2), history=h)])[["dim", "order"]].values.tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """
    rows = []
    for run in runs:
        h, key = run.history, run_key(run)
        t = solve_times(h["dim_error"], run.config.task.dim_zeros_level)
        iv = transition_intervals(h["dim_error"], run.config.task.dim_zeros_level)
        order = np.full(len(t), np.nan)
        done = np.flatnonzero(~np.isnan(t))
        order[done[np.argsort(t[done], kind="stable")]] = np.arange(1, len(done) + 1)
        for d in range(len(t)):
            rows.append({**key, "dim": d, "solved_at": t[d], "order": order[d], "started_at": iv[d, 0]})
    return pd.DataFrame(rows)


def solve_iteration(run, level: float) -> float:
    """When the error of the last guess falls below ``level`` (zeros level = 1) for good
    (:func:`badgerlib.analysis.dynamics.escape_iteration`); NaN if never.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=standard_run(4), history={"last_error": np.r_[np.ones(300), np.full(500, 0.1)]})
    >>> solve_iteration(run, 0.25)
    308.0
    """
    zeros = run.config.task.zeros_level
    it = escape_iteration(np.asarray(run.history["last_error"]), zeros, drop=1.0 - level)
    return np.nan if it is None else float(it)


def final_error(run) -> float:
    """The error of the last guess over the last 5 % of the run, zeros level = 1.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=standard_run(4), history={"last_error": np.r_[np.ones(95), np.full(5, 0.5)]})
    >>> round(final_error(run), 3)
    0.5
    """
    err = np.asarray(run.history["last_error"])
    return float(err[-max(len(err) // 20, 1):].mean() / run.config.task.zeros_level)
