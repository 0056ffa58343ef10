"""Dynamics of training curves: plateaus, Hurst and Lyapunov exponents, surrogate tests.

The study reads three things off a loss curve: where it is flat (plateaus and their escape),
whether its wandering on a plateau is memoryless (Hurst exponent ~0.5), and whether the
converged solution is stable (sign of the largest Lyapunov exponent). The exponents come from
``nolds`` with a deterministic least-squares fit; because both can read "interesting" values
on plain noise, :func:`surrogate_test` compares any statistic with the same statistic on
surrogate series that keep the values (shuffle) or the power spectrum (phase) but destroy the
dynamics.

The reference series with known answers used to validate all of this live here too:
:func:`logistic_map` (largest exponent ln 2 at r = 4), :func:`henon_map` (0.419),
:func:`damped_oscillation` (a stable
linear system, exponent -decay), :func:`fractional_gaussian_noise` (Hurst exponent given) and
:func:`step_curve` (a noisy staircase with known plateaus).

Example
-------
>>> x = logistic_map(1000)
>>> round(lyapunov_exponent(x), 1)          # true value ln 2 = 0.69
0.7
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import ndimage

from badgerlib.checks import check_array, check_int

__all__ = [
    "Plateau", "find_plateaus", "smooth_curve", "hurst_exponent", "lyapunov_exponent", "SurrogateResult",
    "surrogate_test", "make_surrogates", "logistic_map", "damped_oscillation",
    "fractional_gaussian_noise", "step_curve", "henon_map", "smooth", "transition_windows", "segment_statistic",
    "escape_iteration", "first_below", "converged_steps",
]

#: Fewest points :func:`hurst_exponent` accepts: below it the R/S fit has too few window
#: sizes and its spread on white noise exceeds +-0.1.
HURST_MIN_POINTS = 100

#: find_plateaus estimates the noise locally, over this many smoothing windows around a point.
NOISE_SPAN = 20

#: Most points :func:`lyapunov_exponent` accepts by default: nolds' ``lyap_r`` holds an
#: n x n float64 distance matrix (0.8 GB at 10 000 points, built row by row in Python).
LYAP_MAX_POINTS = 10_000






def _nolds():
    """Import nolds without its pkg_resources deprecation noise (nolds 0.6.2 on Py 3.11)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import nolds
    return nolds


# ------------------------------------------------------------------------------- plateaus
@dataclass(frozen=True)
class Plateau:
    """A flat segment ``loss[start:end + 1]`` at ``level`` (its median loss).

    ``escape`` is the first index after the plateau from which the smoothed loss stays more
    than the flatness tolerance below ``level`` for at least a window: the moment training
    leaves it downwards. ``None`` when it never does (typically the final, converged plateau).

    Example
    -------
    >>> Plateau(start=0, end=99, level=0.33, escape=104).length
    100
    """

    start: int
    end: int
    level: float
    escape: int | None

    @property
    def length(self) -> int:
        """Number of points in the plateau."""
        return self.end - self.start + 1


def smooth_curve(loss, window: int) -> np.ndarray:
    """The smoothed curve the plateau criterion looks at: running median, then running mean.

    The median removes isolated spikes (common in RL-like training) without shifting steps;
    the mean then removes the median's staircase texture.

    Example
    -------
    >>> smooth_curve([1, 1, 9, 1, 1], 3).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    x = check_array(loss, "smooth_curve", "loss", ndim=1)
    window = check_int("smooth_curve", "window", window, 1)
    # Reflecting the curve at its ends keeps the last points as well smoothed as the rest.
    s = ndimage.median_filter(x, size=window, mode="reflect")
    return ndimage.uniform_filter1d(s, size=window, mode="reflect")


def find_plateaus(loss, *, window: int | None = None, rel_tol: float = 0.02,
                  min_length: int | None = None, noise_z: float = 4.0) -> list[Plateau]:
    """Flat segments of a noisy loss curve, with their level and escape index.

    Criterion: smooth the curve (:func:`smooth_curve`, running median then mean over
    ``window`` points); a point is *flat* when the smoothed loss changes by less than
    ``rel_tol`` (relative to its value) across one window centred on it,
    ``|s[t + w/2] - s[t - w/2]| < tol * |s[t]|``, where ``tol`` is ``rel_tol`` or, on a
    noisier curve, ``noise_z`` standard deviations of what noise alone makes that change be
    (1.2 sigma / sqrt(window), with the relative noise sigma estimated locally by the running
    median, over :data:`NOISE_SPAN` windows, of the absolute difference of neighbours). Flat runs that are separated by less than a
    window and sit within ``tol`` of each other are merged (a noise burst does not split a
    plateau); each run is then grown outwards while the running median stays within ``tol``
    of its level (this puts boundaries back on the step edges); runs of at least
    ``min_length`` points are plateaus.

    Parameters
    ----------
    loss: 1-D array, one value per (recorded) iteration.
    window: smoothing and slope window in points; default ``max(5, len(loss) // 100)``.
        Boundaries are resolved to about half a window.
    rel_tol: largest relative change per window that still counts as flat (default 2 %:
        above the noise of a smoothed curve, below the ~5 % step of one solved dimension
        out of 20 in the guessing game).
    min_length: fewest points of a plateau; default ``4 * window``.
    noise_z: how many noise standard deviations a change must exceed to break flatness.

    Returns the plateaus in order as :class:`Plateau` (start, end inclusive, level, escape).

    Example
    -------
    >>> curve, truth = step_curve([1.0, 0.5, 0.1], [400, 400, 400], noise=0.05, seed=0)
    >>> [(p.start, p.end, round(p.level, 2)) for p in find_plateaus(curve)]
    [(0, 400, 1.0), (411, 800, 0.5), (812, 1199, 0.1)]
    >>> truth
    [(0, 399), (410, 799), (810, 1199)]
    """
    fn = "find_plateaus"
    x = check_array(loss, fn, "loss", ndim=1)
    n = len(x)
    window = max(5, n // 100) if window is None else check_int(fn, "window", window, 2)
    min_length = 4 * window if min_length is None else check_int(fn, "min_length", min_length, 1)
    if not (np.isfinite(rel_tol) and rel_tol > 0):
        raise ValueError(f"{fn}: rel_tol={rel_tol!r}; allowed is a number > 0")
    if not (np.isfinite(noise_z) and noise_z >= 0):
        raise ValueError(f"{fn}: noise_z={noise_z!r}; allowed is a number >= 0")
    if n < 2 * window:
        raise ValueError(f"{fn}: loss has {n} points; at least 2 * window = {2 * window} are needed")
    s = smooth_curve(x, window)
    h = window // 2
    idx = np.arange(n)
    change = s[np.minimum(idx + h, n - 1)] - s[np.maximum(idx - h, 0)]
    scale = np.maximum(np.abs(s), 1e-12 * max(np.abs(s).max(), 1e-300))
    # Relative noise at each point from neighbour differences, as a running median over
    # NOISE_SPAN windows (robust to the few steps, and local: a loss near 0 is often far noisier
    # relative to its level than the early plateaus, and one curve-wide estimate would either
    # miss its last plateau or merge the early ones), and the spread that noise gives the
    # windowed change (1.2 / sqrt(w), measured on white noise).
    rel_diff = np.abs(np.diff(x)) / scale[1:]
    span = min(len(rel_diff), NOISE_SPAN * window)
    sigma = 1.4826 * ndimage.median_filter(np.r_[rel_diff[:1], rel_diff], size=span, mode="nearest") / np.sqrt(2.0)
    tol = np.maximum(rel_tol, noise_z * 1.2 * sigma / np.sqrt(window))
    flat = np.abs(change) < tol * scale

    # Maximal runs of flat points, as [start, end] inclusive.
    edges = np.flatnonzero(np.diff(np.r_[0, flat.astype(np.int8), 0]))
    runs = [[int(a), int(b) - 1] for a, b in zip(edges[::2], edges[1::2])]
    merged: list[list[int]] = []
    for r in runs:
        if merged:
            prev = merged[-1]
            lp, lr = np.median(x[prev[0]:prev[1] + 1]), np.median(x[r[0]:r[1] + 1])
            t = max(tol[prev[1]], tol[r[0]])
            if r[0] - prev[1] - 1 < window and abs(lr - lp) <= t * max(abs(lp), abs(lr)):
                prev[1] = r[1]
                continue
        merged.append(r)

    # The windowed change blurs each boundary by about a window; a running median keeps step
    # edges sharp, so grow each run outwards while the median stays within tol of its level.
    med = ndimage.median_filter(x, size=window, mode="reflect")
    out: list[Plateau] = []
    for i, (a, b) in enumerate(merged):
        level = float(np.median(x[a:b + 1]))
        t = float(np.median(tol[a:b + 1]))   # the noise band of this plateau
        lo = out[-1].end + 1 if out else 0
        hi = merged[i + 1][0] - 1 if i + 1 < len(merged) else n - 1
        while a > lo and abs(med[a - 1] - level) <= t * abs(level):
            a -= 1
        while b < hi and abs(med[b + 1] - level) <= t * abs(level):
            b += 1
        if b - a + 1 < min_length:
            continue
        level = float(np.median(x[a:b + 1]))
        # Escape: the first point after the plateau from which the smoothed loss stays below
        # the band for a whole window (a single dip at the noisy end of a curve is no escape).
        below = (s[b + 1:] < level - t * abs(level)).astype(np.int64)
        run = np.convolve(below, np.ones(window, dtype=np.int64), "valid") if len(below) >= window else np.zeros(0)
        sustained = np.flatnonzero(run == window)
        out.append(Plateau(a, b, level, int(b + 1 + sustained[0]) if sustained.size else None))
    return out


# ------------------------------------------------------------------------------ exponents
def hurst_exponent(series, *, min_points: int = HURST_MIN_POINTS, nvals: Sequence[int] | None = None,
                   corrected: bool = True) -> float:
    """Hurst exponent by rescaled-range (R/S) analysis: nolds ``hurst_rs`` with a
    least-squares fit (deterministic; nolds' default RANSAC is random and needs sklearn).

    ~0.5: increments without memory (a loss wandering at random on a plateau); > 0.5
    persistent (trends continue); < 0.5 anti-persistent. ``corrected`` subtracts the
    Anis-Lloyd-Peters expectation so that white noise reads 0.5 also on short series.
    Apply it to the values themselves (noise around a level), not to a cumulative sum.

    Example
    -------
    >>> import numpy as np
    >>> h = hurst_exponent(np.random.default_rng(0).standard_normal(2000))
    >>> 0.4 < h < 0.6
    True
    """
    fn = "hurst_exponent"
    x = check_array(series, fn, "series", ndim=1)
    min_points = check_int(fn, "min_points", min_points, 20)
    if len(x) < min_points:
        raise ValueError(f"{fn}: series has {len(x)} points; at least {min_points} are needed")
    if np.ptp(x) == 0:
        raise ValueError(f"{fn}: series is constant; its rescaled range is undefined")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        h = _nolds().hurst_rs(x, nvals=nvals, fit="poly", corrected=corrected)
    if not np.isfinite(h):
        raise ValueError(f"{fn}: every window of the series is constant; no exponent can be fitted")
    return float(h)


def _mean_period(x: np.ndarray) -> int:
    """nolds' default min_tsep: the mean period 1 / (power-weighted mean frequency),
    capped at a quarter of the series (computed here so that the length check is exact)."""
    n = len(x)
    f = np.fft.rfft(x, n * 2 - 1)
    freqs = np.fft.rfftfreq(n * 2 - 1)
    psd = np.abs(f) ** 2
    mf = np.sum(freqs[1:] * psd[1:]) / np.sum(psd[1:])
    return int(min(np.ceil(1.0 / mf), 0.25 * n))


def lyapunov_exponent(series, *, emb_dim: int = 4, lag: int = 1, min_tsep: int | None = None,
                      trajectory_len: int = 8, fit_offset: int = 1,
                      max_points: int = LYAP_MAX_POINTS) -> float:
    """Largest Lyapunov exponent per sample (Rosenstein's method): nolds ``lyap_r`` with a
    least-squares fit.

    The series is delay-embedded in ``emb_dim`` dimensions (``lag`` apart); each point's
    nearest neighbour at least ``min_tsep`` samples away (default: the mean period) is
    followed for ``trajectory_len`` steps, and the slope of the mean log distance is the
    exponent. The first ``fit_offset`` step is left out of the fit, because on noise the
    distance jumps from the nearest-neighbour scale to the typical one in one step, which
    reads as spurious growth. The defaults were chosen on the reference series: the logistic
    map at r = 4 reads 0.67 (1000 points; truth ln 2 = 0.69), the Henon map 0.43 (truth
    0.42), a damped oscillation its decay rate, white noise ~0.1-0.2 (hence
    :func:`surrogate_test`). nolds' own defaults (emb_dim 10, trajectory_len 20) saturate
    on fast chaos and read the logistic map as ~0.02.

    Memory and time grow as n^2; series longer than ``max_points`` are refused.

    Example
    -------
    >>> lam = lyapunov_exponent(damped_oscillation(1000, decay=0.005))   # truth -0.005
    >>> -0.006 < lam < -0.003
    True
    """
    fn = "lyapunov_exponent"
    x = check_array(series, fn, "series", ndim=1)
    emb_dim = check_int(fn, "emb_dim", emb_dim, 1)
    lag = check_int(fn, "lag", lag, 1)
    trajectory_len = check_int(fn, "trajectory_len", trajectory_len, 2)
    fit_offset = check_int(fn, "fit_offset", fit_offset, 0)
    if fit_offset > trajectory_len - 2:
        raise ValueError(f"{fn}: fit_offset={fit_offset}; allowed are 0..trajectory_len-2 = {trajectory_len - 2}")
    if len(x) > max_points:
        raise ValueError(f"{fn}: series has {len(x)} points; at most max_points={max_points} are allowed "
                         f"(lyap_r needs n^2 memory): pass a window of the series or raise max_points")
    if len(x) >= 2 and np.ptp(x) == 0:
        raise ValueError(f"{fn}: series is constant; neighbours cannot diverge")
    tsep = (_mean_period(x) if len(x) >= 8 else 1) if min_tsep is None else check_int(fn, "min_tsep", min_tsep, 0)
    # nolds' own minimum (one orbit vector, one trajectory, neighbours outside min_tsep) plus
    # 20 candidate neighbours per point, and never fewer than 100 points in all.
    need = max(100, (emb_dim - 1) * lag + trajectory_len + 2 * tsep + 1 + 20)
    if len(x) < need:
        raise ValueError(f"{fn}: series has {len(x)} points; at least {need} are needed "
                         f"(emb_dim={emb_dim}, lag={lag}, trajectory_len={trajectory_len}, min_tsep={tsep})")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        lam = _nolds().lyap_r(x, emb_dim=emb_dim, lag=lag, min_tsep=tsep,
                              trajectory_len=trajectory_len, fit="poly", fit_offset=fit_offset)
    return float(lam)


# ----------------------------------------------------------------------------- surrogates
@dataclass(frozen=True)
class SurrogateResult:
    """A statistic on a series against the same statistic on its surrogates.

    ``p_value`` is the rank-based Monte-Carlo p-value (1 + #surrogates at least as extreme)
    / (1 + n_surrogates), so it is never 0 and its floor is 1 / (1 + n_surrogates).

    Example
    -------
    >>> import numpy as np
    >>> SurrogateResult(0.7, np.array([0.1, 0.2]), 1 / 3, "shuffle", "greater").significant(0.5)
    True
    """

    statistic: float
    surrogates: np.ndarray
    p_value: float
    kind: str
    alternative: str

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the series differs from its surrogates at level ``alpha``."""
        return bool(self.p_value <= alpha)


SURROGATE_KINDS = ("shuffle", "phase", "trend")


#: Degree of the polynomial trend that ``"trend"`` surrogates keep.
TREND_DEGREE = 3


def make_surrogates(series, n_surrogates: int, kind: str = "shuffle", seed: int = 0) -> np.ndarray:
    """``n_surrogates`` surrogate series, shape (n_surrogates, len(series)).

    ``"shuffle"``: a random permutation; keeps the distribution of values, destroys all
    temporal order (null hypothesis: i.i.d. noise). ``"phase"``: the Fourier amplitudes with
    random phases; keeps the power spectrum, hence the linear autocorrelation (null: a linear
    Gaussian process). ``"trend"``: the series' smooth trend (a polynomial of degree
    :data:`TREND_DEGREE` in time, least squares) plus a random permutation of the residuals
    around it; keeps the trend and the residuals' distribution, destroys their order (null:
    a trend plus i.i.d. noise), for statistics that a trend alone inflates, such as the Hurst
    exponent of a stretch of descent.

    Example
    -------
    >>> import numpy as np
    >>> x = np.sin(np.linspace(0, 20, 256))
    >>> s = make_surrogates(x, 3, kind="phase")
    >>> s.shape, bool(np.allclose(np.abs(np.fft.rfft(s[0])), np.abs(np.fft.rfft(x))))
    ((3, 256), True)
    """
    fn = "make_surrogates"
    x = check_array(series, fn, "series", ndim=1)
    n_surrogates = check_int(fn, "n_surrogates", n_surrogates, 1)
    if kind not in SURROGATE_KINDS:
        raise ValueError(f"{fn}: kind={kind!r}; allowed are {', '.join(map(repr, SURROGATE_KINDS))}")
    rng = np.random.default_rng(seed)
    if kind == "shuffle":
        return np.stack([rng.permutation(x) for _ in range(n_surrogates)])
    if kind == "trend":
        t = np.linspace(-1.0, 1.0, len(x))
        trend = np.polynomial.Polynomial.fit(t, x, min(TREND_DEGREE, len(x) - 1))(t)
        return np.stack([trend + rng.permutation(x - trend) for _ in range(n_surrogates)])
    n = len(x)
    f = np.fft.rfft(x)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(n_surrogates, len(f)))
    phases[:, 0] = np.angle(f[0])            # the mean stays real
    if n % 2 == 0:
        phases[:, -1] = np.angle(f[-1])      # so does the Nyquist term
    return np.fft.irfft(np.abs(f) * np.exp(1j * phases), n=n)


def surrogate_test(series, statistic: Callable[[np.ndarray], float], n_surrogates: int = 39,
                   kind: str = "shuffle", *, alternative: str = "greater",
                   seed: int = 0) -> SurrogateResult:
    """Is ``statistic(series)`` more extreme than on surrogates that lack the dynamics?

    ``alternative="greater"`` (default) asks whether the series' value is larger than the
    surrogates' (e.g. a Lyapunov exponent above what noise reads), ``"less"`` smaller,
    ``"two-sided"`` either. With the default 39 surrogates the smallest p-value is 0.025.

    Example
    -------
    >>> res = surrogate_test(logistic_map(600), lyapunov_exponent, n_surrogates=19)
    >>> res.significant(), res.p_value
    (True, 0.05)
    """
    fn = "surrogate_test"
    x = check_array(series, fn, "series", ndim=1)
    if not callable(statistic):
        raise ValueError(f"{fn}: statistic must be a callable series -> float, got {type(statistic).__name__}")
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"{fn}: alternative={alternative!r}; allowed are 'greater', 'less', 'two-sided'")
    surr = make_surrogates(x, n_surrogates, kind, seed)
    stat = float(statistic(x))
    values = np.array([float(statistic(s)) for s in surr])
    if not np.isfinite(stat) or not np.all(np.isfinite(values)):
        raise ValueError(f"{fn}: statistic returned a non-finite value; it must return finite floats")
    n = len(values)
    p_greater = (1 + np.sum(values >= stat)) / (n + 1)
    p_less = (1 + np.sum(values <= stat)) / (n + 1)
    p = {"greater": p_greater, "less": p_less,
         "two-sided": min(1.0, 2 * min(p_greater, p_less))}[alternative]
    return SurrogateResult(stat, values, float(p), kind, alternative)


# ----------------------------------------------------------------------- reference series
def logistic_map(n: int, *, r: float = 4.0, x0: float = 0.3, burn_in: int = 100) -> np.ndarray:
    """``n`` points of x <- r x (1 - x) after ``burn_in`` steps. At r = 4 the map is fully
    chaotic with largest Lyapunov exponent ln 2 per step.

    Example
    -------
    >>> logistic_map(3, burn_in=0).round(4).tolist()
    [0.3, 0.84, 0.5376]
    """
    fn = "logistic_map"
    n = check_int(fn, "n", n, 1)
    burn_in = check_int(fn, "burn_in", burn_in, 0)
    if not 0 < x0 < 1 or x0 == 0.5:  # 0.5 maps to 1 and then to 0 forever at r = 4
        raise ValueError(f"{fn}: x0={x0!r}; allowed is a number in (0, 1) other than 0.5")
    if not 0 < r <= 4:
        raise ValueError(f"{fn}: r={r!r}; allowed is 0 < r <= 4")
    x = np.empty(n + burn_in)
    x[0] = x0
    for i in range(1, n + burn_in):
        x[i] = r * x[i - 1] * (1.0 - x[i - 1])
    return x[burn_in:]


def henon_map(n: int, *, a: float = 1.4, b: float = 0.3, burn_in: int = 100) -> np.ndarray:
    """x coordinate of ``n`` points of the Henon map x <- 1 - a x^2 + y, y <- b x. At the
    classic a = 1.4, b = 0.3 it is chaotic with largest Lyapunov exponent 0.419 per step.

    Example
    -------
    >>> henon_map(2, burn_in=0).round(3).tolist()      # from (x, y) = (0.1, 0)
    [0.986, -0.331]
    """
    fn = "henon_map"
    n = check_int(fn, "n", n, 1)
    burn_in = check_int(fn, "burn_in", burn_in, 0)
    x, y = 0.1, 0.0
    out = np.empty(n + burn_in)
    for i in range(n + burn_in):
        x, y = 1.0 - a * x * x + y, b * x
        if not np.isfinite(x) or abs(x) > 1e6:
            raise ValueError(f"{fn}: the orbit escapes to infinity for a={a!r}, b={b!r}")
        out[i] = x
    return out[burn_in:]


def damped_oscillation(n: int, *, decay: float = 0.005, frequency: float = 0.3) -> np.ndarray:
    """x_t = exp(-decay t) cos(frequency t): a stable linear system (a damped oscillator,
    sampled), whose Lyapunov exponents are both -decay per step.

    Example
    -------
    >>> damped_oscillation(3, decay=0.0, frequency=0.0).tolist()
    [1.0, 1.0, 1.0]
    """
    n = check_int("damped_oscillation", "n", n, 1)
    if decay < 0:
        raise ValueError(f"damped_oscillation: decay={decay!r}; allowed is >= 0 (stable)")
    t = np.arange(n, dtype=np.float64)
    return np.exp(-decay * t) * np.cos(frequency * t)


def fractional_gaussian_noise(n: int, hurst: float, *, seed: int = 0) -> np.ndarray:
    """Exact fractional Gaussian noise (unit variance) with Hurst exponent ``hurst`` by
    circulant embedding (Davies-Harte). 0.5 is white noise, above persistent.

    Example
    -------
    >>> x = fractional_gaussian_noise(4096, 0.8, seed=1)
    >>> x.shape, bool(np.corrcoef(x[:-1], x[1:])[0, 1] > 0.4)    # lag-1 corr. 2^0.6 - 1
    ((4096,), True)
    """
    fn = "fractional_gaussian_noise"
    n = check_int(fn, "n", n, 2)
    if not 0 < hurst < 1:
        raise ValueError(f"{fn}: hurst={hurst!r}; allowed is 0 < hurst < 1")
    k = np.arange(n + 1, dtype=np.float64)
    h2 = 2.0 * hurst
    gamma = 0.5 * ((k + 1) ** h2 - 2 * k ** h2 + np.abs(k - 1) ** h2)  # autocovariance
    row = np.concatenate([gamma, gamma[-2:0:-1]])
    lam = np.clip(np.fft.fft(row).real, 0.0, None)  # >= 0 in exact arithmetic for fGn
    m = len(row)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(m) + 1j * rng.standard_normal(m)
    return np.fft.fft(np.sqrt(lam / m) * w).real[:n]


def step_curve(levels: Sequence[float], lengths: Sequence[int], *, transition: int = 10,
               noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A staircase loss with known plateaus: ``levels[i]`` held for ``lengths[i]`` points,
    joined by log-linear ramps of ``transition`` points taken from the start of the next
    segment, times log-normal noise of relative size ``noise``.

    Returns the curve and the true (start, end) of each plateau (end inclusive).

    Example
    -------
    >>> curve, truth = step_curve([1.0, 0.1], [50, 50], noise=0.0)
    >>> truth, float(curve[0]), round(float(curve[-1]), 3)
    ([(0, 49), (60, 99)], 1.0, 0.1)
    """
    fn = "step_curve"
    if len(levels) != len(lengths) or len(levels) < 1:
        raise ValueError(f"{fn}: levels and lengths have {len(levels)} and {len(lengths)} entries; "
                         "they must be equal and non-zero")
    if min(levels) <= 0:
        raise ValueError(f"{fn}: levels={list(levels)}; all must be > 0")
    transition = check_int(fn, "transition", transition, 0)
    pieces, truth, t = [], [], 0
    for i, (lv, ln) in enumerate(zip(levels, lengths)):
        ln = check_int(fn, f"lengths[{i}]", ln, transition + 1)
        seg = np.full(ln, float(lv))
        ramp = transition if i > 0 else 0
        if ramp:
            seg[:ramp] = np.exp(np.linspace(np.log(levels[i - 1]), np.log(lv), ramp + 2)[1:-1])
        pieces.append(seg)
        truth.append((t + ramp, t + ln - 1))
        t += ln
    curve = np.concatenate(pieces)
    if noise:
        curve = curve * np.exp(noise * np.random.default_rng(seed).standard_normal(len(curve)))
    return curve, truth


def smooth(x, window: int) -> np.ndarray:
    """Centred running mean along the first axis (odd window, shrunk at the ends).

    Example
    -------
    >>> smooth([0.0, 3.0, 0.0, 3.0], 3).tolist()
    [1.5, 1.0, 2.0, 1.5]
    """
    a = np.asarray(x, dtype=np.float64)
    w = check_int("smooth", "window", window, 1) | 1
    kernel = np.ones(w)
    if a.ndim == 1:
        num = np.convolve(a, kernel, mode="same")
        den = np.convolve(np.ones(len(a)), kernel, mode="same")
        return num / den
    return np.stack([smooth(a[:, j], w) for j in range(a.shape[1])], axis=1)


def transition_windows(plateaus: Sequence[Plateau], total: int, min_points: int = 100) -> list[tuple[int, int]]:
    """The stretches between consecutive plateaus (:class:`Plateau`) of a curve of ``total``
    points (from the end of one to the start of the next), each widened symmetrically to at least
    ``min_points`` iterations (shifted inwards at the ends of the curve, and clipped to it),
    as ``(start, end)`` inclusive. Used to compare plateaus with transitions on statistics
    that need a minimum length (a Hurst exponent needs about 100 points).

    Example
    -------
    >>> ps = [Plateau(0, 499, 1.0, 500), Plateau(520, 999, 0.5, None)]
    >>> transition_windows(ps, total=1000)
    [(460, 559)]
    """
    min_points = check_int("transition_windows", "min_points", min_points, 1)
    out = []
    for p, q in zip(plateaus, plateaus[1:]):
        a, b = p.end + 1, q.start - 1
        if b < a:
            a, b = p.end, q.start
        need = min_points - (b - a + 1)
        if need > 0:
            a -= need // 2
            b += need - need // 2
        if a < 0:                      # keep the width at the ends of the curve
            a, b = 0, b - a
        if b > total - 1:
            a, b = a - (b - total + 1), total - 1
        out.append((int(max(a, 0)), int(b)))
    return out


def segment_statistic(series, segments: Sequence, statistic: Callable[[np.ndarray], float],
                      min_points: int = 1) -> np.ndarray:
    """``statistic(series[start:end + 1])`` for every segment (anything with ``start`` and
    ``end``, such as a :class:`Plateau`, or a ``(start, end)`` pair, both inclusive); NaN
    where a segment is shorter than ``min_points`` or the statistic raises ValueError.

    Example
    -------
    >>> segment_statistic(np.arange(10.0), [(0, 4), (5, 9), (3, 3)], np.mean, min_points=2).tolist()
    [2.0, 7.0, nan]
    """
    x = check_array(series, "segment_statistic", "series", ndim=1)
    out = []
    for seg in segments:
        a, b = (seg.start, seg.end) if hasattr(seg, "start") else seg
        part = x[int(a):int(b) + 1]
        if len(part) < min_points:
            out.append(np.nan)
            continue
        try:
            out.append(float(statistic(part)))
        except ValueError:
            out.append(np.nan)
    return np.asarray(out, dtype=np.float64)


def escape_iteration(loss, zeros_level: float = 1.0, *, drop: float = 0.1, window: int = 25,
                     hold: int = 100, horizon: int | None = None) -> int | None:
    """When a curve leaves its starting level ``zeros_level`` (for a guessing game, the plateau
    of the all-zeros guess) for good: the first iteration from which the loss, smoothed over
    ``window`` iterations (:func:`smooth`), stays below ``(1 - drop) x zeros_level`` for
    ``hold`` iterations (or to the end of the curve). None if it never does within ``horizon``
    iterations (default: the whole curve).

    Example
    -------
    >>> loss = np.r_[np.ones(300), np.full(300, 0.6)]
    >>> escape_iteration(loss), escape_iteration(loss, horizon=250)
    (294, None)
    """
    x = check_array(loss, "escape_iteration", "loss", ndim=1)
    if horizon is not None:
        x = x[:check_int("escape_iteration", "horizon", horizon, 1)]
    s = smooth(x, check_int("escape_iteration", "window", window, 1))
    below = s < (1.0 - drop) * zeros_level
    hold = check_int("escape_iteration", "hold", hold, 1)
    # the first t with below[t:t + hold] all true (or all of the rest, if shorter)
    run = 0
    for t in range(len(below) - 1, -1, -1):
        run = run + 1 if below[t] else 0
        below[t] = run >= min(hold, len(below) - t)
    idx = np.flatnonzero(below)
    return int(idx[0]) if idx.size else None


def first_below(times, values, threshold: float) -> float:
    """The first of ``times`` at which ``values`` is below ``threshold``; NaN if never.

    Example
    -------
    >>> first_below([0, 50, 100], [1.0, 0.2, 0.05], 0.1), first_below([0, 50], [1.0, 0.5], 0.1)
    (100.0, nan)
    """
    t = check_array(times, "first_below", "times", ndim=1)
    v = check_array(values, "first_below", "values", ndim=1)
    if len(t) != len(v):
        raise ValueError(f"first_below: times has {len(t)} entries, values {len(v)}; they must match")
    idx = np.flatnonzero(v < threshold)
    return float(t[idx[0]]) if idx.size else float("nan")


def converged_steps(guesses, targets, tol: float = 1e-3, error_tol: float | None = 0.1) -> np.ndarray:
    """How many final inner steps have converged, averaged over tasks: steps that leave the
    guess (nearly) unchanged *and* sit near the target.

    ``guesses``: ``(..., P, S+1, M)``; ``targets``: ``(P, M)``. The change at step s is
    ``mean((g_s - g_{s-1})^2) / mean(y^2)`` and its error ``mean((g_s - y)^2) / mean(y^2)``,
    both relative to the target's power; the count is the number of trailing steps whose change
    is below ``tol`` and whose error is below ``error_tol`` (0 when the last step still moves
    or is still off). A guess that never moves from zeros is still, but not converged: its
    error is 1. ``error_tol=None`` counts stillness alone (the book's first definition, under
    which that guess counted every step as converged). Leading axes (snapshots, say) are kept.

    Example
    -------
    >>> import numpy as np
    >>> y = np.ones((1, 4))
    >>> g = np.array([0.0, 0.5, 0.9, 1.0, 1.0, 1.0])[:, None] * y      # (S+1 = 6, M)
    >>> float(converged_steps(g[None], y))                             # steps 4 and 5 do not move
    2.0
    >>> still = np.zeros((1, 6, 4))                                    # never leaves zeros
    >>> float(converged_steps(still, y)), float(converged_steps(still, y, error_tol=None))
    (0.0, 5.0)
    """
    g = np.asarray(guesses, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if g.ndim < 3 or g.shape[-3] != y.shape[0] or g.shape[-1] != y.shape[-1]:
        raise ValueError(f"converged_steps: guesses have shape {g.shape} and targets {y.shape}; expected "
                         f"(..., P, S+1, M) and (P, M)")
    power = (y ** 2).mean(axis=-1)[:, None]                                # (P, 1)
    change = ((g[..., 1:, :] - g[..., :-1, :]) ** 2).mean(axis=-1) / power  # (..., P, S)
    moving = change >= tol
    if error_tol is not None:                                               # still, but off: not converged
        moving |= ((g[..., 1:, :] - y[:, None, :]) ** 2).mean(axis=-1) / power >= error_tol
    S = change.shape[-1]
    # index of the last moving step (1-based); trailing quiet steps = S - that index
    last = np.where(moving.any(axis=-1), S - np.argmax(moving[..., ::-1], axis=-1), 0)
    return (S - last).mean(axis=-1).astype(np.float64)
