"""Time-to-event statistics for runs that may never reach the event: Kaplan-Meier survival
curves and the log-rank test.

A run that ends before it leaves a plateau is *censored* at its last iteration: it says "not
yet at T", which is information, so it stays in the risk set up to T instead of being dropped
(dropping it would make the escape look earlier than it is) or counted as escaping at T.

Validated against the Freireich et al. (1963) leukaemia trial as analysed by Gehan (1965), the
textbook example with censoring (``tests/test_analysis_survival.py``): its Kaplan-Meier curve
and its log-rank chi-square of 16.79. (``lifelines`` would be the usual library; its 0.30
release requires pandas < 3, which this project does not use.)

Only numpy and scipy.

Example
-------
>>> curve = kaplan_meier([2, 3, 3, 5, 8], observed=[1, 1, 0, 1, 0])
>>> curve.times.tolist(), curve.survival.round(3).tolist()
([2.0, 3.0, 5.0], [0.8, 0.6, 0.3])
>>> curve.median
5.0
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from badgerlib.checks import check_array


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier estimate: at each distinct event time ``times[i]``, the number at risk
    just before it, the events at it and the survival just after it. ``median`` is the first
    time the survival falls to 0.5 or below (``inf`` when it never does: more than half the
    runs never reached the event)."""

    times: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    median: float

    def at(self, t) -> np.ndarray:
        """The survival at time(s) ``t`` (1 before the first event; a step function).

        Example
        -------
        >>> kaplan_meier([1, 2], [1, 1]).at([0, 1, 1.5, 2]).tolist()
        [1.0, 0.5, 0.5, 0.0]
        """
        idx = np.searchsorted(self.times, np.asarray(t, dtype=float), side="right")
        return np.concatenate([[1.0], self.survival])[idx]


def _durations(durations, observed, fn: str) -> tuple[np.ndarray, np.ndarray]:
    d = check_array(durations, fn, "durations", ndim=1)
    o = check_array(observed, fn, "observed", ndim=1)
    if o.shape != d.shape:
        raise ValueError(f"{fn}: observed has {len(o)} entries for {len(d)} durations; give one per run")
    if np.any(d < 0):
        raise ValueError(f"{fn}: durations = {float(d[d < 0][0])!r} is negative; times count from 0")
    if not np.all(np.isin(o, (0, 1))):
        raise ValueError(f"{fn}: observed = {float(o[~np.isin(o, (0, 1))][0])!r}: must be 1 (event seen) or 0 (censored)")
    return d.astype(float), o.astype(bool)


def kaplan_meier(durations, observed) -> SurvivalCurve:
    """The Kaplan-Meier curve of ``durations`` (time of the event, or of the end of follow-up)
    with ``observed`` 1 where the event was seen and 0 where the run was censored.

    Example: see the module docstring.
    """
    d, o = _durations(durations, observed, "kaplan_meier")
    times = np.unique(d[o])
    at_risk = np.array([(d >= t).sum() for t in times], dtype=int)
    events = np.array([((d == t) & o).sum() for t in times], dtype=int)
    survival = np.cumprod(1.0 - events / at_risk) if len(times) else np.array([])
    below = np.flatnonzero(survival <= 0.5)
    median = float(times[below[0]]) if len(below) else float("inf")
    return SurvivalCurve(times, survival, at_risk, events, median)


@dataclass(frozen=True)
class LogRank:
    """The log-rank test of two groups: ``statistic`` (chi-square, 1 degree of freedom),
    ``pvalue``, and per group the ``observed`` and ``expected`` event counts under the null
    of one common hazard."""

    statistic: float
    pvalue: float
    observed: tuple[int, int]
    expected: tuple[float, float]


def logrank_test(durations_a, observed_a, durations_b, observed_b) -> LogRank:
    """Whether groups a and b reach the event at different rates (Mantel's log-rank test,
    hypergeometric variance); censored runs count in the risk sets until they end.

    Example
    -------
    >>> r = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [5, 6, 7, 8], [1, 1, 1, 0])
    >>> r.observed, round(r.statistic, 2), r.pvalue < 0.05
    ((4, 3), 7.34, True)
    """
    da, oa = _durations(durations_a, observed_a, "logrank_test")
    db, ob = _durations(durations_b, observed_b, "logrank_test")
    times = np.unique(np.concatenate([da[oa], db[ob]]))
    expected_a = variance = 0.0
    for t in times:
        na, nb = (da >= t).sum(), (db >= t).sum()
        n, events = na + nb, ((da == t) & oa).sum() + ((db == t) & ob).sum()
        expected_a += events * na / n
        if n > 1:
            variance += events * (na / n) * (nb / n) * (n - events) / (n - 1)
    seen_a, seen_b = int(oa.sum()), int(ob.sum())
    expected_b = seen_a + seen_b - expected_a
    statistic = (seen_a - expected_a) ** 2 / variance if variance > 0 else 0.0
    return LogRank(float(statistic), float(stats.chi2.sf(statistic, 1)), (seen_a, seen_b),
                   (float(expected_a), float(expected_b)))


def median_ratio(durations_a, observed_a, durations_b, observed_b, n_boot: int = 2000, seed: int = 0) -> dict:
    """How many times sooner group b reaches the event than group a: the ratio of their
    Kaplan-Meier medians ``median_a / median_b`` (``ratio``; above 1: b is faster), with a
    95 % percentile bootstrap interval (``low``, ``high``: runs resampled within each group,
    the medians recomputed with their censoring). A group whose median is never reached (more
    than half its runs censored) has an infinite median: the ratio is then 0 (b never gets
    there) or inf (a never does), and so are the bootstrap draws that meet it, so the
    interval stays honest about runs that did not finish. ``n_a``, ``n_b``: group sizes.

    Example
    -------
    >>> r = median_ratio([800, 900, 1000, 1100, 1200], [1] * 5, [400, 450, 500, 550, 600], [1] * 5)
    >>> r["ratio"], r["low"] > 1
    (2.0, True)
    >>> median_ratio([500] * 4, [1] * 4, [1500] * 4, [0] * 4, n_boot=100)["ratio"]
    0.0
    """
    da, oa = _durations(durations_a, observed_a, "median_ratio")
    db, ob = _durations(durations_b, observed_b, "median_ratio")
    if not len(da) or not len(db):
        return {"ratio": np.nan, "low": np.nan, "high": np.nan, "n_a": len(da), "n_b": len(db)}

    def ratio(ma: float, mb: float) -> float:
        if np.isinf(ma) and np.isinf(mb):
            return np.nan                                     # neither reached: no ratio
        if np.isinf(mb):
            return 0.0
        return np.inf if np.isinf(ma) else ma / max(mb, 1e-12)

    point = ratio(kaplan_meier(da, oa).median, kaplan_meier(db, ob).median)
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for i in range(n_boot):
        ia, ib = rng.integers(0, len(da), len(da)), rng.integers(0, len(db), len(db))
        boots[i] = ratio(kaplan_meier(da[ia], oa[ia]).median, kaplan_meier(db[ib], ob[ib]).median)
    boots = boots[~np.isnan(boots)]
    # order statistics, not interpolation: draws may be 0 or inf
    low, high = np.quantile(boots, [0.025, 0.975], method="inverted_cdf") if len(boots) else (np.nan, np.nan)
    return {"ratio": float(point), "low": float(low), "high": float(high), "n_a": len(da), "n_b": len(db)}
