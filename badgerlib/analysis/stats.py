"""Rank statistics with exact or sampled permutation nulls, for one run and pooled over runs.

* :func:`rank_correlation` - Spearman correlation of two sequences with an exact permutation
  p-value up to :data:`EXACT_MAX` items (sampled above), ties handled by mid-ranks;
* :func:`pooled_rank_test` - the mean of per-run rank correlations, tested against the
  stratified permutation null (each run permuted within itself): one number per run first,
  then the test across runs;
* :func:`concordance` - Kendall's W: do the runs agree on an order at all?
* :func:`median_interval` - the median of one number per run with a bootstrap interval;
  :func:`median_difference` - the difference of two groups' medians with a bootstrap interval;
  :func:`correlation_interval` - a rank correlation across runs with a bootstrap interval.

Only numpy; nothing here imports torch or the training code.

Example
-------
>>> rank_correlation([1, 2, 3], [10, 20, 30]).rho
1.0
>>> round(pooled_rank_test([1, 2, 3], [[10, 20, 30], [10, 30, 20]]).mean, 2)
0.75
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np


#: Up to this many items the permutation null of a rank correlation is enumerated exactly
#: (8! = 40 320 orderings); above it, it is sampled.
EXACT_MAX = 8


#: The pooled null of :func:`pooled_rank_test` is enumerated exactly while it has at most this
#: many distinct sums; beyond it (many seeds with tied crossings give incommensurable
#: correlations, and the support grows as the product of the seeds') it is sampled.
POOLED_SUPPORT_MAX = 200_000


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank); ``inf`` ranks last, tied with other ``inf``."""
    from scipy.stats import rankdata

    return rankdata(values, method="average")


def _corr(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``rx`` (n,) with each row of ``ry`` (..., n); 0 for a constant row."""
    dx = rx - rx.mean()
    dy = ry - ry.mean(axis=-1, keepdims=True)
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum(axis=-1))
    num = (dy * dx).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, num / np.where(den > 0, den, 1.0), 0.0)


def _null(ry: np.ndarray, rx: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Spearman correlations of ``rx`` with every ordering of ``ry`` (exact up to EXACT_MAX items,
    else ``n_resamples`` random orderings)."""
    n = len(ry)
    if n <= EXACT_MAX:
        perms = np.array(list(itertools.permutations(range(n))))
    else:
        rng = np.random.default_rng(seed)
        perms = np.argsort(rng.random((n_resamples, n)), axis=1)
    return _corr(rx, ry[perms])


@dataclass(frozen=True)
class RankTest:
    """A Spearman rank correlation and its permutation p-value.

    rho: the correlation (0 when either variable is constant: no ordering to correlate);
    p_value: probability under random orderings of a correlation at least as extreme (in the
    direction of ``alternative``); n: number of pairs; exact: whether every ordering was
    enumerated (n <= EXACT_MAX) or they were sampled.
    """

    rho: float
    p_value: float
    n: int
    exact: bool
    alternative: str


def _check_alternative(fn: str, alternative: str) -> None:
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"{fn}: alternative = {alternative!r}; allowed are 'greater', 'less', 'two-sided'")


def _tail(null: np.ndarray, observed: float, alternative: str, weights: np.ndarray | None = None) -> float:
    tol = 1e-9
    if alternative == "greater":
        hit = null >= observed - tol
    elif alternative == "less":
        hit = null <= observed + tol
    else:
        hit = np.abs(null) >= abs(observed) - tol
    if weights is None:
        return float(hit.mean())
    return float(min(1.0, weights[hit].sum()))


def rank_correlation(x, y, alternative: str = "greater", n_resamples: int = 20000, seed: int = 0) -> RankTest:
    """Spearman's rank correlation between ``x`` and ``y`` with a permutation p-value.

    ``y`` may hold ``inf`` (ranked after every finite value: a frequency that never crossed
    the threshold comes after every one that did). Ties get average ranks. The p-value is exact (all orderings of ``y``) for up to
    :data:`EXACT_MAX` pairs and sampled (``n_resamples`` orderings, seeded) above. For the
    F-principle, ``x`` is the frequency and ``y`` the crossing iteration, and
    ``alternative="greater"`` asks whether low frequencies come first.

    Example
    -------
    >>> t = rank_correlation([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    >>> t.rho, round(t.p_value, 4)                 # 1 ordering in 5! = 120
    (1.0, 0.0083)
    >>> rank_correlation([1, 2, 3], [7, 7, 7]).rho  # all tied: no ordering
    0.0
    >>> round(rank_correlation([1, 2, 3, 4], [1, float("inf"), 2, float("inf")]).rho, 3)
    0.632
    """
    _check_alternative("rank_correlation", alternative)
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xa.ndim != 1 or xa.shape != ya.shape or xa.size < 2:
        raise ValueError(f"rank_correlation: x has shape {xa.shape} and y {ya.shape}; "
                         f"expected two 1-D arrays of the same length >= 2")
    if np.isnan(xa).any() or np.isnan(ya).any():
        raise ValueError("rank_correlation: x or y contains NaN; use inf for 'never crossed'")
    rx, ry = _ranks(xa), _ranks(ya)
    rho = float(_corr(rx, ry[None])[0])
    null = _null(ry, rx, n_resamples, seed)
    exact = xa.size <= EXACT_MAX
    p = _tail(null, rho, alternative)
    if not exact:  # a sampled null never gives p = 0
        p = (p * len(null) + 1) / (len(null) + 1)
    return RankTest(rho=round(rho, 12), p_value=p, n=int(xa.size), exact=exact, alternative=alternative)


@dataclass(frozen=True)
class PooledRankTest:
    """Rank correlations of the same ``x`` with one ``y`` per seed (run), pooled over seeds.
    In the F-principle chapter ``x`` is the frequency and ``y`` the iteration at which it is
    learned.

    rhos: one correlation per seed; mean, sd: their mean and standard deviation (ddof 1);
    p_value: stratified permutation test of the mean (each seed's ``y`` reordered
    independently); per_seed_p: each seed's own p-value; alternative: the direction tested;
    exact: whether the pooled null was enumerated (else sampled, see :data:`POOLED_SUPPORT_MAX`).
    """

    rhos: np.ndarray
    mean: float
    sd: float
    p_value: float
    per_seed_p: np.ndarray
    alternative: str
    exact: bool = True

    @property
    def n_seeds(self) -> int:
        """How many seeds were pooled."""
        return len(self.rhos)


def pooled_rank_test(frequencies, crossings: Sequence, alternative: str = "greater",
                    n_resamples: int = 20000, seed: int = 0) -> PooledRankTest:
    """Pool the rank correlations of ``frequencies`` (the shared ``x``) with each seed's
    ``crossings`` (its ``y``) over several seeds.

    ``crossings``: one array per seed, as long as ``frequencies`` (in the F-principle chapter
    the crossing iterations of :func:`~badgerlib.analysis.components.crossing_iterations`). The p-value of the mean correlation is exact while the pooled
    null stays small: each seed's null distribution (all orderings of its crossings) is
    convolved with the others'. When the next convolution could give it more than
    :data:`POOLED_SUPPORT_MAX` distinct values it is sampled instead: ``n_resamples`` draws of
    one ordering per seed (seeded; ``exact`` is then False and p is never 0). With
    ``alternative="greater"`` a small p-value means ``y`` grows with ``x`` consistently
    across seeds (for frequencies and crossings: low frequencies first, the F-principle).

    Example
    -------
    >>> t = pooled_rank_test([1, 2, 3, 4, 5], [[1, 2, 3, 4, 5], [1, 3, 2, 4, 5], [2, 1, 3, 5, 4]])
    >>> t.rhos.tolist(), round(t.mean, 3), t.p_value < 0.001
    ([1.0, 0.9, 0.8], 0.9, True)
    >>> pooled_rank_test([1, 2, 3], [[5, 5, 5], [5, 5, 5]]).p_value   # nothing to order
    1.0
    """
    _check_alternative("pooled_rank_test", alternative)
    ks = np.asarray(frequencies, dtype=np.float64)
    runs = [np.asarray(c, dtype=np.float64) for c in crossings]
    if not runs:
        raise ValueError("pooled_rank_test: crossings is empty; pass one array per seed")
    tests = [rank_correlation(ks, c, alternative, n_resamples, seed + i) for i, c in enumerate(runs)]
    rhos = np.array([t.rho for t in tests])
    # Null distribution of the sum of correlations: each seed's null as distinct values with
    # probabilities, then convolved (exact) or sampled (when the support would grow too large).
    rx = _ranks(ks)
    nulls = []
    for i, c in enumerate(runs):
        values, counts = np.unique(np.round(_null(_ranks(c), rx, n_resamples, seed + i), 9), return_counts=True)
        nulls.append((values, counts / counts.sum()))
    observed = float(rhos.sum())
    dist: dict[float, float] | None = {0.0: 1.0}
    for values, probs in nulls:
        if len(dist) * len(values) > POOLED_SUPPORT_MAX:
            dist = None
            break
        new: dict[float, float] = {}
        for s, ps in dist.items():
            for v, pv in zip(values, probs):
                key = round(s + float(v), 9)
                new[key] = new.get(key, 0.0) + ps * pv
        dist = new
    if dist is not None:
        p = _tail(np.array(list(dist)), observed, alternative, np.array(list(dist.values())))
    else:
        rng = np.random.default_rng(seed)
        sums = sum(rng.choice(values, size=n_resamples, p=probs) for values, probs in nulls)
        p = (_tail(sums, observed, alternative) * n_resamples + 1) / (n_resamples + 1)
    sd = float(rhos.std(ddof=1)) if len(rhos) > 1 else float("nan")
    return PooledRankTest(rhos=rhos, mean=float(rhos.mean()), sd=sd, p_value=p,
                          per_seed_p=np.array([t.p_value for t in tests]), alternative=alternative,
                          exact=dist is not None)


@dataclass(frozen=True)
class Concordance:
    """Kendall's W: do the seeds (runs) agree on an order of the items (for example, the
    order in which frequencies are learned)?

    w: 0 (no agreement) to 1 (identical orders), ``nan`` when every seed has all frequencies
    tied; p_value: probability of a W at least this large when each seed's order is random
    (sampled permutations).
    """

    w: float
    p_value: float


def concordance(crossings: Sequence, n_resamples: int = 5000, seed: int = 0) -> Concordance:
    """Kendall's coefficient of concordance of the orders the seeds give to the same items,
    with tie correction and a permutation p-value. ``crossings``: one array (items,) per seed,
    ordered by value (such as crossing iterations per frequency); ``inf`` ranks last.

    Example
    -------
    >>> concordance([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]).w
    1.0
    >>> round(concordance([[1, 2, 3, 4], [4, 3, 2, 1]]).w, 3)    # opposite orders
    0.0
    """
    R = np.array([_ranks(np.asarray(c, dtype=np.float64)) for c in crossings])
    if R.ndim != 2 or R.shape[0] < 2 or R.shape[1] < 2:
        raise ValueError(f"concordance: crossings have shape {R.shape}; need >= 2 seeds x >= 2 frequencies")

    def kendall_w(ranks: np.ndarray) -> np.ndarray:  # ranks (..., m, n)
        m, n = ranks.shape[-2:]
        totals = ranks.sum(axis=-2)
        s = ((totals - totals.mean(axis=-1, keepdims=True)) ** 2).sum(axis=-1)
        return s

    m, n = R.shape
    ties = 0.0
    for row in R:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts ** 3 - counts).sum())
    denominator = m * m * (n ** 3 - n) - m * ties
    if denominator <= 0:
        return Concordance(w=float("nan"), p_value=1.0)
    s_obs = float(kendall_w(R))
    w = 12.0 * s_obs / denominator
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_resamples, m, n)), axis=-1)
    shuffled = np.take_along_axis(np.broadcast_to(R, (n_resamples, m, n)), perms, axis=-1)
    s_null = kendall_w(shuffled)
    p = (float((s_null >= s_obs - 1e-9).sum()) + 1.0) / (n_resamples + 1.0)
    return Concordance(w=round(float(w), 12), p_value=p)


def mean_sd(values) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1) of the finite ``values`` (NaN and inf left out):
    one number per run first, then their spread. ``nan`` where too few values remain.

    Example
    -------
    >>> mean, sd = mean_sd([1.0, float("nan"), 3.0])
    >>> mean, round(sd, 3)
    (2.0, 1.414)
    >>> mean_sd([4.0])
    (4.0, nan)
    """
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


def median_interval(values, n_boot: int = 10_000, seed: int = 0) -> dict:
    """One number per run in (NaN and inf dropped: a run without the event has none), the median
    over runs out: ``n``, ``median``, a 95 % percentile bootstrap interval of it (``low``,
    ``high``) and ``share_positive`` (runs above 0).

    Example
    -------
    >>> s = median_interval([100, 150, 200, 250, float("nan")])
    >>> s["n"], s["median"], s["share_positive"], s["low"] <= 175 <= s["high"]
    (4, 175.0, 1.0, True)
    >>> median_interval([])["n"]
    0
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"n": 0, "median": np.nan, "low": np.nan, "high": np.nan, "share_positive": np.nan}
    boots = np.median(np.random.default_rng(seed).choice(x, size=(n_boot, len(x))), axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"n": int(len(x)), "median": float(np.median(x)), "low": float(low), "high": float(high),
            "share_positive": float((x > 0).mean())}


def sign_interval(values, level: float = 0.95) -> dict:
    """The distribution-free interval of a median from the order statistics (the sign test's
    interval): with ``n`` values, ``[x_(k), x_(n+1-k)]`` for the largest ``k`` whose coverage
    ``1 - 2 P(Binomial(n, 1/2) < k)`` is at least ``level``. Exact for any continuous
    distribution, so it suits a handful of replicates, where a bootstrap interval is too
    narrow (with 3 values the bootstrap's 95 % interval is their range, which covers the
    median only 75 % of the time). Below 6 values no such interval reaches 95 %: ``low`` and
    ``high`` are then -inf and inf. NaN dropped; returns ``n``, ``median``, ``low``,
    ``high``, ``coverage`` and ``share_positive``.

    Example
    -------
    >>> s = sign_interval(np.arange(1.0, 11.0))        # 10 values: x_(2) to x_(9)
    >>> s["low"], s["high"], round(s["coverage"], 3)
    (2.0, 9.0, 0.979)
    >>> sign_interval([1.0, 2.0, 3.0])["low"]
    -inf
    """
    from scipy.stats import binom

    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[~np.isnan(x)]
    n = len(x)
    out = {"n": n, "median": float(np.median(x)) if n else np.nan, "low": -np.inf, "high": np.inf,
           "coverage": 1.0, "share_positive": float((x > 0).mean()) if n else np.nan}
    for k in range(n // 2, 0, -1):
        coverage = 1.0 - 2.0 * binom.cdf(k - 1, n, 0.5)
        if coverage >= level:
            out.update(low=float(x[k - 1]), high=float(x[n - k]), coverage=float(coverage))
            break
    return out


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (Holm 1979): the k-th smallest is
    multiplied by ``m - k + 1``, made monotone and capped at 1. Rejecting where the adjusted
    p is at most alpha controls the chance of any false rejection in the family at alpha,
    whatever the dependence between the tests. NaN stays NaN and does not count.

    Example
    -------
    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    >>> holm([0.02, float("nan")]).tolist()
    [0.02, nan]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order])) if m else []
    out[order] = adjusted
    return np.round(out, 12)


def holm_family(pvalues, alpha: float = 0.05) -> dict[str, dict]:
    """A chapter's family of significance tests, name -> p (a mapping), adjusted together by
    :func:`holm`: name -> ``{"p": raw, "p_holm": adjusted, "rejected": adjusted <= alpha}``,
    in the order given. A finding check that asserts an effect reads ``p_holm``, so that the
    chance of any false finding in the chapter stays at ``alpha``.

    Example
    -------
    >>> family = holm_family({"levels": 0.01, "memory": 0.04, "stability": 0.03})
    >>> [(name, f["p_holm"], f["rejected"]) for name, f in family.items()]
    [('levels', 0.03, True), ('memory', 0.06, False), ('stability', 0.06, False)]
    """
    names = list(pvalues)
    if not 0 < alpha < 1:
        raise ValueError(f"holm_family: alpha = {alpha!r}; must be in (0, 1)")
    raw = np.array([float(pvalues[n]) for n in names], dtype=np.float64)
    adjusted = holm(raw)
    return {n: {"p": float(raw[i]), "p_holm": float(adjusted[i]), "rejected": bool(adjusted[i] <= alpha)}
            for i, n in enumerate(names)}


def median_difference(a, b, n_boot: int = 10_000, seed: int = 0) -> dict:
    """Two groups of runs, one number per run each (NaN and inf dropped): the difference of
    their medians ``median(a) - median(b)`` (``difference``) with a 95 % percentile bootstrap
    interval (``low``, ``high``; each group resampled on its own), and the group sizes
    ``n_a``, ``n_b``. An interval that excludes 0 says the groups differ; one inside a
    margin says they are equivalent to within it.

    Example
    -------
    >>> d = median_difference([5, 6, 7, 8, 9], [0, 1, 2, 3, 4])
    >>> d["difference"], d["low"] > 0, (d["n_a"], d["n_b"])
    (5.0, True, (5, 5))
    """
    xa, xb = (np.asarray(v, dtype=np.float64) for v in (a, b))
    xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
    if not len(xa) or not len(xb):
        return {"difference": np.nan, "low": np.nan, "high": np.nan, "n_a": int(len(xa)), "n_b": int(len(xb))}
    rng = np.random.default_rng(seed)
    boots = (np.median(rng.choice(xa, size=(n_boot, len(xa))), axis=1)
             - np.median(rng.choice(xb, size=(n_boot, len(xb))), axis=1))
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"difference": float(np.median(xa) - np.median(xb)), "low": float(low), "high": float(high),
            "n_a": int(len(xa)), "n_b": int(len(xb))}


def correlation_interval(x, y, n_boot: int = 5_000, seed: int = 0) -> dict:
    """Spearman's correlation between two numbers per run (pairs with a NaN or inf dropped):
    ``rho`` and its two-sided permutation ``p`` (:func:`rank_correlation`), ``n``, and a 95 %
    percentile bootstrap interval over runs (``low``, ``high``; resamples whose ranks are all
    tied are skipped).

    Example
    -------
    >>> r = correlation_interval([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(r["rho"], 2), r["n"], r["low"] < r["rho"] <= r["high"]
    (0.83, 6, True)
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[keep], ya[keep]
    test = rank_correlation(xa, ya, alternative="two-sided", seed=seed)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(xa), size=(n_boot, len(xa)))
    from scipy.stats import rankdata

    rx, ry = rankdata(xa[idx], method="average", axis=1), rankdata(ya[idx], method="average", axis=1)
    ok = (np.ptp(rx, axis=1) > 0) & (np.ptp(ry, axis=1) > 0)
    rx, ry = rx[ok] - rx[ok].mean(axis=1, keepdims=True), ry[ok] - ry[ok].mean(axis=1, keepdims=True)
    boots = (rx * ry).sum(axis=1) / np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    low, high = np.percentile(boots, [2.5, 97.5]) if len(boots) else (np.nan, np.nan)
    return {"rho": test.rho, "p": test.p_value, "n": test.n, "low": float(low), "high": float(high)}


def interval_text(s: dict, digits: int = 1, brackets: bool = True) -> str:
    """A median, difference or correlation with its interval as the text says it.

    Example
    -------
    >>> interval_text({"median": 5.29, "low": 2.57, "high": 10.8})
    '5.3 (95 % interval 2.6 to 10.8)'
    >>> interval_text({"rho": -0.5, "low": -0.9, "high": 0.3}, 2, brackets=False)
    '-0.50, 95 % interval -0.90 to 0.30'
    >>> interval_text({"median": 2.0, "low": -np.inf, "high": np.inf, "n": 3})
    '2.0 (too few replicates (3) for a 95 % interval)'
    """
    centre = next(s[k] for k in ("median", "difference", "rho") if k in s)
    interval = f"95 % interval {s['low']:.{digits}f} to {s['high']:.{digits}f}"
    if np.isinf(s["low"]) and np.isinf(s["high"]):
        interval = f"too few replicates ({s.get('n', '?')}) for a 95 % interval"
    return f"{centre:.{digits}f} ({interval})" if brackets else f"{centre:.{digits}f}, {interval}"
