"""Chapter 2, plateaus: the staircase, its phases, Hurst and Lyapunov exponents, plateau counts
over N, and which feedback features let learning start.

Its runs are the standard ones (:mod:`badgerlib.chapters.standard`) plus the feature
experiment (:func:`feature_configs`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from badgerlib.analysis.components import learned_directions
from badgerlib.analysis.dynamics import (
    hurst_exponent, lyapunov_exponent, segment_statistic, surrogate_test, transition_windows,
)
from badgerlib.chapters.phases import detect_plateaus
from badgerlib.chapters.standard import FEATURE_SETS, run_key, sizes, standard_run
from badgerlib.checks import FEATURES
from badgerlib.config import RunConfig


def feature_configs(seeds: int, quick: bool = True, sets: Sequence[str] | None = None) -> dict[str, list[RunConfig]]:
    """The feature experiment: for each named feature set, one run per seed on N =
    ``feature_n``. The full set is the standard run (shared with the plateau experiment,
    which lasts at least ``feature_horizon``); the others last ``feature_horizon``
    iterations and keep only their first and last snapshot. Compare them on their first
    ``feature_horizon`` iterations.

    Example
    -------
    >>> cfgs = feature_configs(2)
    >>> list(cfgs)
    ['error', 'error + log', 'error + change', 'error + log + change']
    >>> cfgs["error"][1].iterations, cfgs["error + log + change"][0] == standard_run(3, 0)
    (600, True)
    """
    size = sizes(quick)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be an integer >= 1")
    names = list(FEATURE_SETS) if sets is None else list(sets)
    out = {}
    for name in names:
        if name not in FEATURE_SETS:
            raise ValueError(f"feature set = {name!r}: must be one of {list(FEATURE_SETS)}")
        feats = FEATURE_SETS[name]
        standard = tuple(feats) == tuple(FEATURES)
        cfgs = [standard_run(size.feature_n, s, quick, feats, iterations=None if standard else size.feature_horizon)
                for s in range(seeds)]
        # only the history is analysed: keep the first and last snapshot, not the whole film
        out[name] = cfgs if standard else [c.replace(snapshots=2) for c in cfgs]
    return out


def plateau_table(runs, **detect) -> pd.DataFrame:
    """One row per plateau of every run (:func:`badgerlib.chapters.phases.detect_plateaus`
    on the error of the last guess; keyword arguments go to it): ``n``, ``seed``,
    ``metric``, ``features``, ``index`` (0 = first), ``start``, ``end``, ``length``,
    ``level`` (zeros-level units), ``unsolved`` (level x N, rounded), ``final`` (the
    plateau the run ends on), ``hurst`` (Hurst exponent of the error on the plateau, NaN
    under 100 points) and ``grad_norm`` (mean gradient norm on it).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> t = plateau_table([SimpleNamespace(config=standard_run(2), history=h)])
    >>> t[["index", "unsolved", "final"]].values.tolist()
    [[0, 2, False], [1, 1, False], [2, 0, True]]
    """


    rows = []
    for run in runs:
        h, key = run.history, run_key(run)
        n, T = key["n"], len(run.history["last_error"])
        ps = detect_plateaus(h["last_error"], n, run.config.task.zeros_level, **detect)
        hurst = segment_statistic(h["last_error"], ps, hurst_exponent, min_points=100)
        grad = segment_statistic(h["grad_norm"], ps, np.mean)
        for i, p in enumerate(ps):
            rows.append({**key, "index": i, "start": p.start, "end": p.end, "length": p.length,
                         "level": p.level, "unsolved": int(round(p.level * n)), "final": p.end == T - 1,
                         "hurst": hurst[i], "grad_norm": grad[i]})
    columns = ["n", "seed", "metric", "features", "index", "start", "end", "length", "level", "unsolved",
               "final", "hurst", "grad_norm"]
    return pd.DataFrame(rows, columns=columns)


def transition_table(runs, min_points: int = 100, **detect) -> pd.DataFrame:
    """One row per transition between consecutive plateaus of every run: the stretch from
    one plateau's end to the next one's start, widened to ``min_points`` iterations
    (:func:`badgerlib.analysis.dynamics.transition_windows`) so that a Hurst exponent can be
    fitted. Columns: ``n``, ``seed``, ``metric``, ``features``, ``index`` (the transition
    after plateau ``index``), ``start``, ``end``, ``gap`` (iterations strictly between the
    plateaus), ``hurst``, ``grad_norm`` (mean over the window) and ``grad_norm_before``
    (mean over the plateau it leaves).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> transition_table([SimpleNamespace(config=standard_run(2), history=h)])[["index", "start", "end"]].values.tolist()
    [[0, 459, 558], [1, 960, 1059]]
    """


    rows = []
    for run in runs:
        h, key = run.history, run_key(run)
        ps = detect_plateaus(h["last_error"], key["n"], run.config.task.zeros_level, **detect)
        windows = transition_windows(ps, len(h["last_error"]), min_points)
        hurst = segment_statistic(h["last_error"], windows, hurst_exponent, min_points=100)
        grad = segment_statistic(h["grad_norm"], windows, np.mean)
        before = segment_statistic(h["grad_norm"], ps, np.mean)
        for i, (a, b) in enumerate(windows):
            rows.append({**key, "index": i, "start": a, "end": b, "gap": ps[i + 1].start - ps[i].end - 1,
                         "hurst": hurst[i], "grad_norm": grad[i], "grad_norm_before": before[i]})
    columns = ["n", "seed", "metric", "features", "index", "start", "end", "gap", "hurst", "grad_norm",
               "grad_norm_before"]
    return pd.DataFrame(rows, columns=columns)


def final_plateau_lyapunov(run, n_surrogates: int = 39, min_length: int = 200, seed: int | None = None):
    """The largest Lyapunov exponent of the error on the plateau a run ends on (its converged
    solution), tested against shuffled surrogates
    (:func:`badgerlib.analysis.dynamics.surrogate_test` of
    :func:`~badgerlib.analysis.dynamics.lyapunov_exponent`). Returns ``(plateau, result)``,
    or None when the run does not end on a plateau of at least ``min_length`` iterations.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (2, 700)], n=2, seed=0)
    >>> plateau, res = final_plateau_lyapunov(SimpleNamespace(config=standard_run(2), history=h), n_surrogates=9)
    >>> plateau.end, res.significant()
    (999, False)
    """

    e = np.asarray(run.history["last_error"], dtype=np.float64)
    ps = detect_plateaus(e, run.config.task.n, run.config.task.zeros_level)
    if not ps or ps[-1].end != len(e) - 1 or ps[-1].length < min_length:
        return None
    final = ps[-1]
    res = surrogate_test(e[final.start:final.end + 1], lyapunov_exponent, n_surrogates=n_surrogates,
                         seed=run.config.seed if seed is None else seed)
    return final, res


def snapshot_directions(run, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """The directions of target space the run's agent has learned, at every snapshot
    (:func:`badgerlib.analysis.components.learned_directions` of the last guesses on the probe
    tasks). Returns ``iterations`` (K,), ``eigenvalues`` (K, N, descending), ``learned``
    (K,): eigenvalues above ``threshold``, ``remaining`` (K,): N x the error of the last
    guess on the probe tasks (zeros level = N), and, at the first snapshot with exactly one
    direction learned, that direction's alignment with the mean direction (1, ..., 1)/sqrt(N)
    (``mean_alignment``: 1 for "the same number everywhere") and with the nearest coordinate
    axis (``axis_alignment``: 1 for "one dimension solved"), NaN if there is no such snapshot.


    It rebuilds models from a trained run: the examples are in ``tests/``.
    """

    snaps = run.snapshots
    targets = np.asarray(snaps["targets"], dtype=np.float64)
    n = targets.shape[1]
    eig, first = [], None
    for k in range(len(snaps["iterations"])):
        ev, vec = learned_directions(np.asarray(snaps["guesses"][k][:, -1], dtype=np.float64), targets)
        eig.append(ev)
        if first is None and int((ev > threshold).sum()) == 1:
            first = vec[:, 0]
    eig = np.asarray(eig)
    fb = np.asarray(snaps["feedback"], dtype=np.float64)[:, :, -1].mean(axis=1)
    out = {"iterations": np.asarray(snaps["iterations"]), "eigenvalues": eig,
           "learned": (eig > threshold).sum(axis=1), "remaining": n * fb / run.config.task.zeros_level,
           "mean_alignment": np.nan, "axis_alignment": np.nan}
    if first is not None:
        out["mean_alignment"] = float(abs(first.sum()) / np.sqrt(n))
        out["axis_alignment"] = float(np.abs(first).max())
    return out


def direction_table(runs, threshold: float = 0.5) -> pd.DataFrame:
    """One row per snapshot of every run: ``n``, ``seed``, ``metric``, ``features``,
    ``iteration``, ``learned`` (directions with eigenvalue above ``threshold``),
    ``remaining`` (N x error on the probe tasks) and the run's first-direction
    ``mean_alignment`` and ``axis_alignment`` (:func:`snapshot_directions`).


    It rebuilds models from a trained run: the examples are in ``tests/``.
    """

    rows = []
    for run in runs:
        d, key = snapshot_directions(run, threshold), run_key(run)
        for i, it in enumerate(d["iterations"]):
            rows.append({**key, "iteration": int(it), "learned": int(d["learned"][i]), "remaining": d["remaining"][i],
                         "mean_alignment": d["mean_alignment"], "axis_alignment": d["axis_alignment"]})
    return pd.DataFrame(rows)
