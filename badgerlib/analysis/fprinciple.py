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
frequencies are learned first (the F-principle holds). :func:`fprinciple_test` pools seeds
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

import itertools
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from badgerlib.analysis.spectral import active_frequencies, frequency_convergence

__all__ = [
    "RankTest", "FPrincipleTest", "Concordance", "RunSpectrum", "LearnerSummary",
    "convergence_by_iteration", "convergence_by_step", "frequency_error", "crossing_iterations",
    "crossing_spread", "rank_correlation", "fprinciple_test", "concordance", "converged_steps",
    "analyse_run", "summarise", "summary_table", "estimate_seconds", "representative", "plateau",
]

#: Up to this many items the permutation null of a rank correlation is enumerated exactly
#: (8! = 40 320 orderings); above it, it is sampled.
EXACT_MAX = 8

#: The pooled null of :func:`fprinciple_test` is enumerated exactly while it has at most this
#: many distinct sums; beyond it (many seeds with tied crossings give incommensurable
#: correlations, and the support grows as the product of the seeds') it is sampled.
POOLED_SUPPORT_MAX = 200_000

#: With ``relative=True``, a run whose final mean convergence is below this has learned too
#: little for a threshold relative to it to mean anything: no frequency counts as crossed.
MIN_FINAL_LEVEL = 0.1


# ---------------------------------------------------------------------------------------------
# Per-frequency convergence read off snapshots
# ---------------------------------------------------------------------------------------------

def _snapshot_arrays(snapshots: Mapping, fn: str) -> tuple[np.ndarray, np.ndarray]:
    for key in ("guesses", "targets"):
        if key not in snapshots:
            raise ValueError(f"{fn}: snapshots has no {key!r}; pass a run's snapshots (recorded with snapshots > 0)")
    guesses = np.asarray(snapshots["guesses"], dtype=np.float64)
    targets = np.asarray(snapshots["targets"], dtype=np.float64)
    if guesses.ndim != 4 or targets.ndim != 2 or guesses.shape[1] != targets.shape[0] \
            or guesses.shape[3] != targets.shape[1]:
        raise ValueError(f"{fn}: guesses have shape {guesses.shape} and targets {targets.shape}; expected "
                         f"(snapshots, probe tasks, steps + 1, M) and (probe tasks, M)")
    if guesses.shape[0] == 0:
        raise ValueError(f"{fn}: the run has no snapshots")
    return guesses, targets


def _frequencies(targets: np.ndarray, frequencies) -> np.ndarray:
    return active_frequencies(targets) if frequencies is None else np.atleast_1d(np.asarray(frequencies))


def convergence_by_iteration(snapshots: Mapping, frequencies=None, step: int = -1) -> np.ndarray:
    """``c_k`` of the guess at inner step ``step`` (default: the last), averaged over the probe
    tasks, at every snapshot: shape ``(snapshots, frequencies)``.

    ``snapshots`` is a run's snapshots mapping: ``guesses`` ``(K, P, S+1, M)`` and ``targets``
    ``(P, M)``. ``frequencies`` default to every frequency the targets contain.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 2], m=11, phase=np.array([0.3, 2.0]))       # 2 probe tasks
    >>> guesses = np.stack([np.zeros((2, 2, 11)), np.stack([0 * y, 0.5 * y], axis=1)])  # 2 snapshots
    >>> convergence_by_iteration({"guesses": guesses, "targets": y}).round(6).tolist()
    [[0.0, 0.0], [0.5, 0.5]]
    """
    guesses, targets = _snapshot_arrays(snapshots, "convergence_by_iteration")
    ks = _frequencies(targets, frequencies)
    c = frequency_convergence(guesses[:, :, step, :], targets[None], ks)   # (K, P, F)
    return c.mean(axis=1)


def convergence_by_step(snapshots: Mapping, frequencies=None, snapshot: int = -1) -> np.ndarray:
    """``c_k`` at every inner step of snapshot ``snapshot`` (default: the trained model),
    averaged over the probe tasks: shape ``(steps + 1, frequencies)``; step 0 is the given
    all-zeros guess.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 3], m=11, phase=np.array([0.0, 1.0]))
    >>> steps = np.linspace(0, 1, 3)[None, :, None] * y[:, None, :]          # (P, S+1, M)
    >>> convergence_by_step({"guesses": steps[None], "targets": y}).round(6).tolist()
    [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    guesses, targets = _snapshot_arrays(snapshots, "convergence_by_step")
    ks = _frequencies(targets, frequencies)
    c = frequency_convergence(guesses[snapshot], targets[:, None, :], ks)   # (P, S+1, F)
    return c.mean(axis=0)


def frequency_error(guess, target, frequencies=None) -> np.ndarray:
    """Relative error per frequency, ``|G_k - Y_k| / |Y_k|`` (the measure of Xu et al.): 0 when
    frequency k is learned, 1 when it is absent from the guess. Shapes as
    :func:`~badgerlib.analysis.spectral.frequency_convergence`.

    Example
    -------
    >>> import numpy as np
    >>> x = 2 * np.pi * np.arange(16) / 16
    >>> y = np.sin(x) + np.sin(2 * x)
    >>> frequency_error(np.sin(x) + 0.5 * np.sin(2 * x), y).round(6).tolist()
    [0.0, 0.5]
    """
    g = np.asarray(guess, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    ks = _frequencies(y, frequencies)
    frequency_convergence(g, y, ks)  # the same validation (shapes, finite values, target power)
    G = np.fft.rfft(g, axis=-1)[..., ks]
    Y = np.fft.rfft(y, axis=-1)[..., ks]
    return np.abs(G - Y) / np.abs(Y)


# ---------------------------------------------------------------------------------------------
# When is each frequency learned, and in which order
# ---------------------------------------------------------------------------------------------

def crossing_iterations(iterations, convergence, threshold: float = 0.5, relative: bool = False) -> np.ndarray:
    """The first iteration at which each frequency's convergence reaches the threshold, shape
    ``(frequencies,)``; ``inf`` where it never does.

    ``convergence``: ``(snapshots, frequencies)`` as from :func:`convergence_by_iteration`;
    ``iterations``: the snapshots' iterations. With ``relative=True`` the bar is ``threshold``
    times the run's final convergence averaged over frequencies (one bar for all frequencies, so
    a frequency that lags stays behind); a run whose final level is under
    :data:`MIN_FINAL_LEVEL` has learned nothing to measure against, and every frequency is
    ``inf``.

    Example
    -------
    >>> import numpy as np
    >>> c = np.array([[0.0, 0.0], [0.3, 0.1], [0.6, 0.3], [0.6, 0.6]])   # a run that ends at 0.6
    >>> crossing_iterations([0, 1, 2, 3], c, threshold=0.5).tolist()
    [2.0, 3.0]
    >>> crossing_iterations([0, 1, 2, 3], c, threshold=0.5, relative=True).tolist()  # bar 0.3
    [1.0, 2.0]
    >>> crossing_iterations([0, 1, 2, 3], c, threshold=0.9).tolist()
    [inf, inf]
    """
    its = np.asarray(iterations, dtype=np.float64)
    c = np.asarray(convergence, dtype=np.float64)
    if c.ndim != 2 or its.shape != (c.shape[0],):
        raise ValueError(f"crossing_iterations: convergence has shape {c.shape} and iterations {its.shape}; "
                         f"expected (snapshots, frequencies) and (snapshots,)")
    if not math.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"crossing_iterations: threshold = {threshold!r}; must be a positive number")
    if relative:
        final = float(np.nanmean(c[-1]))
        if not final >= MIN_FINAL_LEVEL:
            return np.full(c.shape[1], np.inf)
        level = threshold * final
    else:
        level = threshold
    reached = c >= level
    return np.where(reached.any(axis=0), its[reached.argmax(axis=0)], np.inf)


def crossing_spread(crossings, total_iterations: float) -> float:
    """How far apart in training the frequencies were learned: (last - first) finite crossing
    iteration as a fraction of ``total_iterations``; 0 means all at once, ``nan`` when fewer than
    two frequencies crossed.

    Example
    -------
    >>> crossing_spread([100, 150, 400], 1000)
    0.3
    >>> crossing_spread([100, float("inf")], 1000)
    nan
    """
    t = np.asarray(crossings, dtype=np.float64)
    t = t[np.isfinite(t)]
    if t.size < 2:
        return float("nan")
    return float((t.max() - t.min()) / total_iterations)


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

    ``y`` may hold ``inf`` (a frequency that never crossed the threshold ranks after every one
    that did). Ties get average ranks. The p-value is exact (all orderings of ``y``) for up to
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
class FPrincipleTest:
    """The rank correlation between frequency and crossing iteration, pooled over seeds.

    rhos: one correlation per seed; mean, sd: their mean and standard deviation (ddof 1);
    p_value: stratified permutation test of the mean (each seed's crossings reordered
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


def fprinciple_test(frequencies, crossings: Sequence, alternative: str = "greater",
                    n_resamples: int = 20000, seed: int = 0) -> FPrincipleTest:
    """Pool the frequency-vs-crossing rank correlations of several seeds.

    ``crossings``: one array of crossing iterations per seed (as from
    :func:`crossing_iterations`). The p-value of the mean correlation is exact while the pooled
    null stays small: each seed's null distribution (all orderings of its crossings) is
    convolved with the others'. When the next convolution could give it more than
    :data:`POOLED_SUPPORT_MAX` distinct values it is sampled instead: ``n_resamples`` draws of
    one ordering per seed (seeded; ``exact`` is then False and p is never 0). With
    ``alternative="greater"`` a small p-value means low frequencies are learned first
    consistently across seeds: the F-principle holds.

    Example
    -------
    >>> t = fprinciple_test([1, 2, 3, 4, 5], [[1, 2, 3, 4, 5], [1, 3, 2, 4, 5], [2, 1, 3, 5, 4]])
    >>> t.rhos.tolist(), round(t.mean, 3), t.p_value < 0.001
    ([1.0, 0.9, 0.8], 0.9, True)
    >>> fprinciple_test([1, 2, 3], [[5, 5, 5], [5, 5, 5]]).p_value   # nothing to order
    1.0
    """
    _check_alternative("fprinciple_test", alternative)
    ks = np.asarray(frequencies, dtype=np.float64)
    runs = [np.asarray(c, dtype=np.float64) for c in crossings]
    if not runs:
        raise ValueError("fprinciple_test: crossings is empty; pass one array per seed")
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
    return FPrincipleTest(rhos=rhos, mean=float(rhos.mean()), sd=sd, p_value=p,
                          per_seed_p=np.array([t.p_value for t in tests]), alternative=alternative,
                          exact=dist is not None)


@dataclass(frozen=True)
class Concordance:
    """Kendall's W: do the seeds agree on the order in which frequencies are learned?

    w: 0 (no agreement) to 1 (identical orders), ``nan`` when every seed has all frequencies
    tied; p_value: probability of a W at least this large when each seed's order is random
    (sampled permutations).
    """

    w: float
    p_value: float


def concordance(crossings: Sequence, n_resamples: int = 5000, seed: int = 0) -> Concordance:
    """Kendall's coefficient of concordance of the seeds' crossing orders, with tie correction
    and a permutation p-value. ``crossings``: one array (frequencies,) per seed; ``inf`` ranks
    last.

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


def converged_steps(guesses, targets, tol: float = 1e-3) -> np.ndarray:
    """How many final inner steps leave the guess (nearly) unchanged, averaged over tasks.

    ``guesses``: ``(..., P, S+1, M)``; ``targets``: ``(P, M)``. The change at step s is
    ``mean((g_s - g_{s-1})^2) / mean(y^2)``, relative to the target's power; the count is the
    number of trailing steps whose change is below ``tol`` (S when the guess never moves, 0 when
    the last step still moves). Leading axes (snapshots, say) are kept.

    Example
    -------
    >>> import numpy as np
    >>> y = np.ones((1, 4))
    >>> g = np.array([0.0, 0.5, 0.9, 1.0, 1.0, 1.0])[:, None] * y      # (S+1 = 6, M)
    >>> float(converged_steps(g[None], y))                             # steps 4 and 5 do not move
    2.0
    """
    g = np.asarray(guesses, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if g.ndim < 3 or g.shape[-3] != y.shape[0] or g.shape[-1] != y.shape[-1]:
        raise ValueError(f"converged_steps: guesses have shape {g.shape} and targets {y.shape}; expected "
                         f"(..., P, S+1, M) and (P, M)")
    power = (y ** 2).mean(axis=-1)[:, None]                                # (P, 1)
    change = ((g[..., 1:, :] - g[..., :-1, :]) ** 2).mean(axis=-1) / power  # (..., P, S)
    moving = change >= tol
    S = change.shape[-1]
    # index of the last moving step (1-based); trailing quiet steps = S - that index
    last = np.where(moving.any(axis=-1), S - np.argmax(moving[..., ::-1], axis=-1), 0)
    return (S - last).mean(axis=-1).astype(np.float64)


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
    guesses, targets = _snapshot_arrays(snapshots, "analyse_run")
    ks = _frequencies(targets, frequencies)
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

    test: :func:`fprinciple_test` of frequency against crossing iteration; order: whether the
    seeds agree on an order (:func:`concordance`); spread, spread_sd: mean and sd over seeds of
    :func:`crossing_spread`; error_test: :func:`fprinciple_test` of frequency against the
    trained model's relative error per frequency (positive: low frequencies end with a smaller
    error); even_minus_odd, even_minus_odd_sd: mean and sd of (mean final c_k of even
    k) - (odd k); converged_loss: per seed, the rank correlation over snapshots between
    converged inner steps and probe loss, tested for ``"less"`` (negative: more converged steps
    as the loss falls; ``None`` for a seed whose count never changes); converged_loss_rho: the
    mean of their rho; final: mean final c_k per frequency over seeds; crossed: fraction of
    (seed, frequency) pairs that reached the threshold.
    """

    test: FPrincipleTest
    order: Concordance
    spread: float
    spread_sd: float
    error_test: FPrincipleTest
    even_minus_odd: float
    even_minus_odd_sd: float
    converged_loss: list
    converged_loss_rho: float
    final: np.ndarray
    crossed: float
    runs: list = field(default_factory=list, repr=False)


def _mean_sd(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


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
    test = fprinciple_test(ks, [r.crossings for r in runs], alternative)
    order = concordance([r.crossings for r in runs]) if len(runs) > 1 else Concordance(float("nan"), 1.0)
    spread = _mean_sd(r.spread for r in runs)
    error_test = fprinciple_test(ks, [r.final_error for r in runs], alternative)
    even, odd = ks % 2 == 0, ks % 2 == 1
    gap = _mean_sd((r.final[even].mean() - r.final[odd].mean()) if even.any() and odd.any() else np.nan
                   for r in runs)
    conv_tests = [rank_correlation(r.converged, r.probe_loss, "less")
                  if np.ptp(r.converged) > 0 and np.all(np.isfinite(r.probe_loss)) else None for r in runs]
    conv = _mean_sd(t.rho if t is not None else np.nan for t in conv_tests)
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
