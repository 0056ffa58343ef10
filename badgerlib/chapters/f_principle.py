"""F-principle measurements: when each frequency of a target is learned, and whether low
frequencies come first.

The per-frequency convergence ``c_k`` of a guess (:func:`~badgerlib.analysis.spectral.frequency_convergence`,
1.0 = learned) is read off a run's snapshots in two directions:

* over training (:func:`convergence_by_iteration`): ``c_k`` of the guess at one inner step
  (the last, by default), averaged over the probe tasks, at every snapshot;
* over the inner loop (:func:`convergence_by_step`): ``c_k`` at every inner step of one
  snapshot (the trained model, by default).

From the first, :func:`crossing_iterations` gives the iteration at which each frequency first
reaches a threshold, and :func:`rank_correlation` the Spearman correlation between frequency
and that iteration with an exact permutation p-value: positive and significant means low
frequencies are learned first (the F-principle holds). :func:`pooled_rank_test` pools seeds
(a stratified permutation test of the mean correlation), :func:`concordance` asks whether seeds
agree on an order at all (Kendall's W), :func:`crossing_spread` how far apart in training the
frequencies are learned, and :func:`converged_steps` how many final inner steps leave the guess
unchanged. :func:`analyse_run` and :func:`summarise` bundle all of it per run and per learner.

Everything here works on plain arrays (a run's ``snapshots`` mapping): nothing imports the
training code.

Example
-------
>>> import numpy as np
>>> its = np.array([0, 10, 20, 30])
>>> c = np.array([[0.0, 0.0, 0.0], [0.9, 0.2, 0.0], [1.0, 0.8, 0.3], [1.0, 1.0, 0.9]])
>>> crossing_iterations(its, c, threshold=0.5).tolist()      # frequency 1, 2, 3
[10.0, 20.0, 30.0]
>>> rank_correlation([1, 2, 3], [10, 20, 30]).rho
1.0
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from badgerlib.analysis.components import crossing_iterations, crossing_spread
from badgerlib.analysis.dynamics import converged_steps
from badgerlib.analysis.spectral import (
    convergence_by_iteration, convergence_by_step, frequency_error, snapshot_arrays, target_frequencies,
)
from badgerlib.analysis.stats import PooledRankTest, Concordance, RankTest, concordance, mean_sd, pooled_rank_test, rank_correlation

__all__ = [
    "RankTest", "PooledRankTest", "Concordance", "RunSpectrum", "LearnerSummary",
    "convergence_by_iteration", "convergence_by_step", "frequency_error", "crossing_iterations",
    "crossing_spread", "rank_correlation", "pooled_rank_test", "concordance", "converged_steps",
    "analyse_run", "summarise", "summary_table", "estimate_seconds", "representative", "plateau",
]


# ---------------------------------------------------------------------------------------------
# Per-frequency convergence read off snapshots
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# When is each frequency learned, and in which order
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# One run, one learner
# ---------------------------------------------------------------------------------------------

@dataclass
class RunSpectrum:
    """Everything the F-principle chapter measures on one run.

    frequencies (F,); iterations (K,) of the snapshots; by_iteration (K, F): c_k of the last
    guess over training; by_step (S+1, F): c_k over the inner loop of the trained model;
    crossings (F,): first iteration at the threshold (``inf``: never); rank: the rank
    correlation of frequency with crossing; spread: :func:`crossing_spread`; final (F,): c_k
    of the trained model's last guess; final_error (F,): its :func:`frequency_error`;
    converged (K,): :func:`converged_steps` at each snapshot; probe_loss (K,): feedback averaged
    over the inner steps and probe tasks at each snapshot; total_iterations: length of training;
    last_loss (K,): feedback of the followed guess (``step``), averaged over probe tasks.
    """

    frequencies: np.ndarray
    iterations: np.ndarray
    by_iteration: np.ndarray
    by_step: np.ndarray
    crossings: np.ndarray
    rank: RankTest
    spread: float
    final: np.ndarray
    final_error: np.ndarray
    converged: np.ndarray
    probe_loss: np.ndarray
    total_iterations: int
    threshold: float = 0.5
    relative: bool = True
    last_loss: np.ndarray | None = None


def analyse_run(snapshots: Mapping, frequencies=None, threshold: float = 0.5, relative: bool = True,
                step: int = -1, tol: float = 1e-3) -> RunSpectrum:
    """All F-principle measurements of one run from its snapshots (``run.snapshots``).

    ``threshold``/``relative``: see :func:`crossing_iterations`; ``step``: which inner step's
    guess is followed over training (the last by default); ``tol``: see :func:`converged_steps`.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 2, 3], m=11, phase=np.array([0.2]))           # one probe task
    >>> x = 2 * np.pi * np.arange(11) / 11
    >>> learned = [np.clip(np.array([0, 3, 6, 9]) / (3 * k), 0, 1) for k in (1, 2, 3)]  # slower for higher k
    >>> g = sum(a[:, None] * np.sin(k * x + 0.2) for a, k in zip(learned, (1, 2, 3)))
    >>> snaps = {"iterations": np.array([0, 3, 6, 9]), "targets": y,
    ...          "guesses": np.stack([np.zeros_like(g), g], axis=1)[:, None],  # (K, P, S+1, M)
    ...          "feedback": np.ones((4, 1, 2))}
    >>> r = analyse_run(snaps)
    >>> r.crossings.tolist(), r.rank.rho
    ([3.0, 3.0, 6.0], 0.866025403784)
    """
    guesses, targets = snapshot_arrays(snapshots, "analyse_run")
    ks = target_frequencies(targets, frequencies)
    its = np.asarray(snapshots["iterations"]) if "iterations" in snapshots else np.arange(guesses.shape[0])
    by_it = convergence_by_iteration(snapshots, ks, step)
    by_step = convergence_by_step(snapshots, ks, -1)
    cross = crossing_iterations(its, by_it, threshold, relative)
    total = int(its[-1]) if len(its) else 0
    final_err = frequency_error(guesses[-1, :, step, :], targets, ks).mean(axis=0)
    if "feedback" in snapshots:
        fb = np.asarray(snapshots["feedback"], dtype=np.float64)
        probe_loss = fb[..., 1:].mean(axis=(-2, -1))
        last_loss = fb[..., step].mean(axis=-1)
    else:
        probe_loss = last_loss = np.full(len(its), np.nan)
    return RunSpectrum(frequencies=ks, iterations=its, by_iteration=by_it, by_step=by_step, crossings=cross,
                       rank=rank_correlation(ks, cross), spread=crossing_spread(cross, max(total, 1)),
                       final=by_it[-1], final_error=final_err, converged=converged_steps(guesses, targets, tol),
                       probe_loss=probe_loss, total_iterations=total, threshold=threshold, relative=relative,
                       last_loss=last_loss)


@dataclass
class LearnerSummary:
    """One learner over its seeds.

    test: :func:`pooled_rank_test` of frequency against crossing iteration; order: whether the
    seeds agree on an order (:func:`concordance`); spread, spread_sd: mean and sd over seeds of
    :func:`crossing_spread`; error_test: :func:`pooled_rank_test` of frequency against the
    trained model's relative error per frequency (positive: low frequencies end with a smaller
    error); even_minus_odd, even_minus_odd_sd: mean and sd of (mean final c_k of even
    k) - (odd k); converged_loss: per seed, the rank correlation over snapshots between
    converged inner steps and probe loss, tested for ``"less"`` (negative: more converged steps
    as the loss falls; ``None`` for a seed whose count never changes); converged_loss_rho: the
    mean of their rho; final: mean final c_k per frequency over seeds; crossed: fraction of
    (seed, frequency) pairs that reached the threshold.
    """

    test: PooledRankTest
    order: Concordance
    spread: float
    spread_sd: float
    error_test: PooledRankTest
    even_minus_odd: float
    even_minus_odd_sd: float
    converged_loss: list
    converged_loss_rho: float
    final: np.ndarray
    crossed: float
    runs: list = field(default_factory=list, repr=False)


def summarise(runs: Sequence[RunSpectrum], alternative: str = "greater") -> LearnerSummary:
    """Pool the :class:`RunSpectrum` of one learner's seeds into a :class:`LearnerSummary`.

    Example
    -------
    >>> import numpy as np
    >>> def fake(cross):
    ...     ks = np.array([1, 2, 3])
    ...     return RunSpectrum(ks, np.arange(4), np.zeros((4, 3)), np.zeros((2, 3)), np.array(cross, float),
    ...                        rank_correlation(ks, cross), crossing_spread(cross, 3), np.ones(3),
    ...                        np.zeros(3), np.zeros(4), np.zeros(4), 3)
    >>> s = summarise([fake([1, 2, 3]), fake([1, 3, 2])])
    >>> round(s.test.mean, 3), round(s.spread, 3)
    (0.75, 0.667)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("summarise: runs is empty; pass one RunSpectrum per seed")
    ks = runs[0].frequencies
    test = pooled_rank_test(ks, [r.crossings for r in runs], alternative)
    order = concordance([r.crossings for r in runs]) if len(runs) > 1 else Concordance(float("nan"), 1.0)
    spread = mean_sd(r.spread for r in runs)
    error_test = pooled_rank_test(ks, [r.final_error for r in runs], alternative)
    even, odd = ks % 2 == 0, ks % 2 == 1
    gap = mean_sd((r.final[even].mean() - r.final[odd].mean()) if even.any() and odd.any() else np.nan
                   for r in runs)
    conv_tests = [rank_correlation(r.converged, r.probe_loss, "less")
                  if np.ptp(r.converged) > 0 and np.all(np.isfinite(r.probe_loss)) else None for r in runs]
    conv = mean_sd(t.rho if t is not None else np.nan for t in conv_tests)
    crossed = float(np.mean([np.isfinite(r.crossings).mean() for r in runs]))
    return LearnerSummary(test=test, order=order, spread=spread[0], spread_sd=spread[1],
                          error_test=error_test, even_minus_odd=gap[0], even_minus_odd_sd=gap[1],
                          converged_loss=conv_tests, converged_loss_rho=conv[0], final=np.mean([r.final for r in runs], axis=0),
                          crossed=crossed, runs=runs)


def summary_table(summaries: Mapping[str, LearnerSummary]):
    """One row per learner: the pooled F-principle test and the side measurements, as a pandas
    DataFrame (numbers rounded for display).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> summary_table({"toy": summarise([r, r])}).loc["toy", "seeds"]
    np.int64(2)
    """
    import pandas as pd

    rows = {}
    for name, s in summaries.items():
        rows[name] = {
            "seeds": s.test.n_seeds,
            "rho mean": s.test.mean,
            "rho sd": s.test.sd,
            "p (low first)": s.test.p_value,
            "Kendall W": s.order.w,
            "p (W)": s.order.p_value,
            "crossed": s.crossed,
            "spread": s.spread,
            "final c (mean)": float(np.mean(s.final)),
            "rho(k, final error)": s.error_test.mean,
            "p (error)": s.error_test.p_value,
            "even - odd c": s.even_minus_odd,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["seeds"] = table["seeds"].astype(np.int64)
    table = table.round(3)
    for column in ("p (low first)", "p (W)", "p (error)"):
        table[column] = [float(f"{p:.2g}") for p in (rows[name][column] for name in rows)]
    return table


def estimate_seconds(rates: Mapping[str, float], plan: Mapping[str, tuple[int, int]], workers: int = 2) -> float:
    """Wall time of a set of runs from measured speeds: ``rates[name]`` iterations per second of
    one run of learner ``name``, ``plan[name] = (iterations, seeds)``; the runs shared evenly by
    ``workers`` processes (one core each). A lower bound: it ignores snapshots and start-up.

    Example
    -------
    >>> estimate_seconds({"a": 100.0, "b": 10.0}, {"a": (1000, 4), "b": (100, 2)}, workers=2)
    30.0
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"estimate_seconds: workers = {workers!r}; must be an integer >= 1")
    missing = set(plan) - set(rates)
    if missing:
        raise ValueError(f"estimate_seconds: no measured rate for {sorted(missing)}; rates has {sorted(rates)}")
    total = sum(iterations * seeds / rates[name] for name, (iterations, seeds) in plan.items())
    return float(total / workers)


def representative(runs: Sequence[RunSpectrum], by: str = "rank") -> int:
    """Index of the run to show for a learner: ``by="rank"`` the run with the median rank
    correlation (the lower median for an even count; on ties the best-trained), so a figure
    shows a typical seed rather than the best; ``by="final"`` the best-trained run (highest
    final convergence averaged over frequencies).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> def fake(cross, final):
    ...     return RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array(cross, float),
    ...                        rank_correlation(ks, cross), 0.0, np.full(3, final), np.zeros(3),
    ...                        np.zeros(2), np.zeros(2), 1)
    >>> runs = [fake([1, 2, 3], 0.2), fake([3, 2, 1], 0.9), fake([1, 3, 2], 0.5)]
    >>> representative(runs), representative(runs, by="final")
    (2, 1)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("representative: runs is empty")
    if by == "rank":
        rhos = np.array([r.rank.rho for r in runs])
        target = np.sort(rhos)[(len(rhos) - 1) // 2]
        tied = np.flatnonzero(rhos == target)
        return int(tied[np.argmax([np.mean(runs[i].final) for i in tied])])
    if by == "final":
        return int(np.argmax([np.mean(r.final) for r in runs]))
    raise ValueError(f"representative: by = {by!r}; allowed are 'rank', 'final'")


def plateau(run: RunSpectrum, lo: float = 0.3, hi: float = 0.7) -> tuple[int, float, float]:
    """The intermediate plateau of a run: how many snapshots have a mean convergence (over
    frequencies) in ``[lo, hi]``, and the median convergence and median feedback of the followed
    guess over those snapshots (``nan`` when there are none).

    A learner that knows only the projection of the target on one direction sits at c = 1/2
    and feedback 1/2 (see the chapter on the F-principle).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.5, 0.5], [0.48, 0.52], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.arange(4), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0, c[-1],
    ...                 np.zeros(2), np.zeros(4), np.zeros(4), 3, last_loss=np.array([1.0, 0.5, 0.52, 0.0]))
    >>> plateau(r)
    (2, 0.5, 0.51)
    """
    mean_c = run.by_iteration.mean(axis=1)
    on = (mean_c >= lo) & (mean_c <= hi)
    if not on.any():
        return 0, float("nan"), float("nan")
    loss = run.last_loss if run.last_loss is not None else np.full(len(mean_c), np.nan)
    return int(on.sum()), round(float(np.median(mean_c[on])), 12), round(float(np.median(loss[on])), 12)
