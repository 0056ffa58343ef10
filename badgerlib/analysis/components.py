"""How the parts of a vector target are learned: per-dimension errors over training.

A learner that guesses N numbers can learn them together (supervised learning) or one at a
time (ray interference). These tools read that from a history of per-dimension errors,
``dim_error`` of shape ``(iterations, N)``, each divided by its own zeros level (the expected
error of that dimension guessed as 0, which the task owns:
:attr:`badgerlib.tasks.GuessingGame.dim_zeros_level`), so 1 means untouched and 0 solved:

* :func:`solve_times` - when each dimension is solved for good;
* :func:`transition_intervals`, :func:`concurrency` - how many dimensions are being learned
  at the same time (1: one at a time; N: all together);
* :func:`imbalance` - the spread of the errors across dimensions;
* :func:`learned_directions`, :func:`chance_alignment` - which directions of target space a
  guess has learned (an axis, or the mean direction);
* :func:`crossing_iterations`, :func:`crossing_spread` - when each component of a
  convergence curve first crosses a threshold, and how far apart they do.

Only numpy; nothing here imports torch or the training code.

Example
-------
>>> import numpy as np
>>> e = np.ones((300, 2))
>>> e[100:, 0] = 0.0; e[200:, 1] = 0.0
>>> solve_times(e, window=1).tolist()
[100.0, 200.0]
"""
from __future__ import annotations

import math

import numpy as np

from badgerlib.analysis.dynamics import smooth
from badgerlib.checks import check_array, check_float, check_int

#: With ``relative=True`` (:func:`crossing_iterations`), a run whose final mean convergence is
#: below this has learned too little for a threshold relative to it to mean anything: no
#: component counts as crossed.
MIN_FINAL_LEVEL = 0.1


def normalised_dim_error(dim_error, zeros_level: float = 1.0) -> np.ndarray:
    """Per-dimension error over its zeros level (the expected error of a dimension guessed 0;
    for the guessing game :attr:`~badgerlib.tasks.GuessingGame.dim_zeros_level`): 1 for an
    untouched dimension, 0 for a solved one.

    Example
    -------
    >>> normalised_dim_error([[0.25, 0.0]], zeros_level=0.5).tolist()
    [[0.5, 0.0]]
    """
    zeros_level = check_float("normalised_dim_error", "zeros_level", zeros_level, 0.0, np.inf, lo_open=True)
    return check_array(dim_error, "normalised_dim_error", "dim_error") / zeros_level


def solve_times(dim_error, zeros_level: float = 1.0, *, threshold: float = 0.25, window: int = 25) -> np.ndarray:
    """Iteration at which each dimension is solved for good: one after the last iteration
    where its normalised error (:func:`normalised_dim_error` of the ``(iterations, N)``
    ``dim_error`` over ``zeros_level``), smoothed over ``window`` iterations, is at or above
    ``threshold``; 0 for a dimension never above it, NaN for one still unsolved at the end.

    Example
    -------
    >>> e = np.ones((300, 2))
    >>> e[100:, 0] = 0.0; e[200:, 1] = 0.0
    >>> solve_times(e, window=1).tolist()
    [100.0, 200.0]
    """
    e = smooth(normalised_dim_error(check_array(dim_error, "solve_times", "dim_error", ndim=2), zeros_level),
               check_int("solve_times", "window", window, 1))
    out = np.full(e.shape[1], np.nan)
    for d in range(e.shape[1]):
        above = np.flatnonzero(e[:, d] >= threshold)
        if above.size == 0:
            out[d] = 0.0
        elif above[-1] < len(e) - 1:
            out[d] = float(above[-1] + 1)
    return out


def transition_intervals(dim_error, zeros_level: float = 1.0, *, high: float = 0.8, low: float = 0.25,
                         window: int = 25) -> np.ndarray:
    """For each dimension the interval ``[start, end)`` in which it goes from untouched to
    solved: ``end`` is its :func:`solve_times` at ``low``; ``start`` is one after the last
    iteration before ``end`` where its smoothed normalised error was at or above ``high``
    (0 if it never was). NaN rows for unsolved dimensions. Shape (N, 2).

    Example
    -------
    >>> e = np.ones((300, 1))
    >>> e[100:150, 0] = np.linspace(1, 0, 50); e[150:, 0] = 0.0
    >>> transition_intervals(e, window=1).tolist()
    [[110.0, 137.0]]
    """
    e = smooth(normalised_dim_error(check_array(dim_error, "transition_intervals", "dim_error", ndim=2), zeros_level),
               check_int("transition_intervals", "window", window, 1))
    ends = solve_times(dim_error, zeros_level, threshold=low, window=window)
    out = np.full((e.shape[1], 2), np.nan)
    for d, end in enumerate(ends):
        if np.isnan(end):
            continue
        above = np.flatnonzero(e[:int(end), d] >= high)
        out[d] = (float(above[-1] + 1) if above.size else 0.0, end)
    return out


def concurrency(intervals) -> float:
    """How many dimensions are in transition at once, on average over the iterations in
    which at least one is: 1.0 when they are learned strictly one at a time, N when all are
    learned together. NaN rows (unsolved dimensions) are ignored; NaN if no interval is left.

    Example
    -------
    >>> concurrency([[0, 100], [100, 200]]), concurrency([[0, 100], [0, 100]])
    (1.0, 2.0)
    """
    iv = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    iv = iv[~np.isnan(iv).any(axis=1)]
    iv = iv[iv[:, 1] > iv[:, 0]]
    if len(iv) == 0:
        return float("nan")
    lo, hi = int(np.floor(iv[:, 0].min())), int(np.ceil(iv[:, 1].max()))
    t = np.arange(lo, hi) + 0.5
    active = ((t[:, None] >= iv[None, :, 0]) & (t[:, None] < iv[None, :, 1])).sum(axis=1)
    busy = active[active > 0]
    return float(busy.mean()) if busy.size else float("nan")


def imbalance(dim_error, zeros_level: float = 1.0, *, window: int = 25) -> np.ndarray:
    """Per iteration, the spread (standard deviation) across dimensions of the normalised
    errors (:func:`normalised_dim_error` over ``zeros_level``) smoothed over ``window``: 0 while all dimensions are learned alike, about
    sqrt(k (N - k)) / N when k dimensions are solved and the rest untouched (0.47 for one of
    three). Its maximum over training tells one-at-a-time learning from all-together
    learning also in runs that never finish.

    Example
    -------
    >>> e = np.ones((10, 3))
    >>> e[5:, 0] = 0.0
    >>> imbalance(e, window=1)[[0, -1]].round(2).tolist()
    [0.0, 0.47]
    """
    e = smooth(normalised_dim_error(check_array(dim_error, "imbalance", "dim_error", ndim=2), zeros_level),
               check_int("imbalance", "window", window, 1))
    return e.std(axis=1)


def learned_directions(guesses, targets) -> tuple[np.ndarray, np.ndarray]:
    """Which directions of target space a guess has learned: the eigenvalues (descending)
    and eigenvectors (columns) of the symmetric part of the least-squares linear map A with
    ``guesses ~ targets @ A`` (no intercept; targets have mean zero).

    An agent that has learned the projection of the target onto a k-dimensional subspace
    has k eigenvalues near 1 and N - k near 0, and leaves (N - k)/N of the zeros-level error;
    its per-dimension errors are 1 - A_dd, fractional unless the subspace is spanned by
    coordinate axes. Guessing "the same number in every dimension" is the case k = 1 with
    the direction (1, ..., 1)/sqrt(N); "one dimension solved" is k = 1 along an axis.

    ``guesses``, ``targets``: (tasks, N), with more tasks than N.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(-1, 1, (200, 3))
    >>> u = np.ones(3) / np.sqrt(3)
    >>> ev, vec = learned_directions(t @ np.outer(u, u), t)       # the same number everywhere
    >>> (ev.round(3) + 0.0).tolist(), round(abs(float(vec[:, 0] @ u)), 3)   # + 0.0: no "-0.0"
    ([1.0, 0.0, 0.0], 1.0)
    """
    g = check_array(guesses, "learned_directions", "guesses", ndim=2)
    t = check_array(targets, "learned_directions", "targets", ndim=2)
    if g.shape != t.shape or g.shape[0] <= g.shape[1]:
        raise ValueError(f"learned_directions: guesses {g.shape} and targets {t.shape} must have the same "
                         f"shape (tasks, N) with more tasks than N")
    a, *_ = np.linalg.lstsq(t, g, rcond=None)
    ev, vec = np.linalg.eigh((a + a.T) / 2.0)
    order = np.argsort(ev)[::-1]
    return ev[order], vec[:, order]


def chance_alignment(n: int, samples: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Median alignment of a uniformly random unit direction in N dimensions with the mean
    direction (1, ..., 1)/sqrt(N) and with its nearest coordinate axis: the baseline for the
    alignments of a learned direction.

    Example
    -------
    >>> [round(x, 2) for x in chance_alignment(2)]
    [0.7, 0.92]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"chance_alignment: n={n!r}; allowed is an integer >= 1")
    u = np.random.default_rng(seed).standard_normal((samples, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return float(np.median(np.abs(u.sum(axis=1)) / np.sqrt(n))), float(np.median(np.abs(u).max(axis=1)))


def crossing_iterations(iterations, convergence, threshold: float = 0.5, relative: bool = False) -> np.ndarray:
    """The first iteration at which each component's convergence (1 = learned) reaches the
    threshold, shape ``(components,)``; ``inf`` where it never does.

    ``convergence``: ``(snapshots, components)``, for instance the per-frequency convergence
    of :func:`badgerlib.analysis.spectral.convergence_by_iteration`; ``iterations``: the
    snapshots' iterations. With ``relative=True`` the bar is ``threshold`` times the run's
    final convergence averaged over components (one bar for all components, so a component
    that lags stays behind); a run whose final level is under :data:`MIN_FINAL_LEVEL` has
    learned nothing to measure against, and every component is ``inf``.

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
    """How far apart in training the components were learned: (last - first) finite crossing
    iteration (:func:`crossing_iterations`) as a fraction of ``total_iterations``; 0 means all
    at once, ``nan`` when fewer than two components crossed.

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

