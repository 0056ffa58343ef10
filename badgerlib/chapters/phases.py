"""Phases and plateaus of a guessing-game training history, read from the data.

The study describes training in phases: first a plateau where the agent guesses zeros, then
guesses that differ from zero but are the same number in every dimension, then the
dimensions solved one at a time. This module labels those phases from what a run records
per outer iteration (``badgerlib.train``'s history), with no hand-placed boundaries:

* :func:`label_phases` - every iteration gets a phase from the smoothed per-dimension errors,
  the guess magnitude, the spread of the guess across dimensions and ``mean_corr``;
  :func:`phase_segments` turns the labels into contiguous phases and :func:`solved_steps`
  says by how many dimensions the solved count moves from one phase to the next.
* :func:`detect_plateaus` - plateaus of the error of the last guess, found by
  :func:`badgerlib.analysis.dynamics.find_plateaus` on :func:`plateau_curve` (offset by one
  dimension's worth of error, so that the relative flatness tolerance means the same at every
  level); :func:`plateau_summary` and :func:`plateau_membership` describe them.
* :func:`synthetic_history` - a history with known phases, for tests and examples.

The generic curve tools these build on live in the core: the transition windows between
plateaus, a statistic per segment and the escape from the first plateau in
:mod:`badgerlib.analysis.dynamics`; when each dimension is solved and how many are learned at
once in :mod:`badgerlib.analysis.components`.

Levels are in units of the task's zeros level (the expected feedback of the all-zeros guess),
so that with N numbers a plateau at k/N means "k dimensions still unsolved". Per-dimension
errors are divided by their own zeros level (1/3 for squared error, 1/2 for absolute error).

The computations are numpy only (on :mod:`badgerlib.analysis` and the zeros levels of
:mod:`badgerlib.tasks`); nothing here runs a model.

Example
-------
>>> import numpy as np
>>> h = synthetic_history([("zeros", 300), ("same", 200), (1, 200), (2, 300)], n=2, seed=0)
>>> [(p.label, p.start) for p in phase_segments(label_phases(h, n=2), min_length=50)]
[('zeros', 0), ('same number', 310), ('1/2 solved', 509), ('2/2 solved', 716)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from badgerlib.analysis.components import normalised_dim_error
from badgerlib.analysis.dynamics import Plateau, find_plateaus, smooth
from badgerlib.checks import check_array, check_choice, check_int
from badgerlib.tasks import DIM_ZEROS_LEVEL

__all__ = [
    "ZEROS", "SAME", "NONE_SOLVED", "PhaseLabels", "label_phases", "Phase", "phase_segments", "solved_steps",
    "solved_rises", "MAX_WINDOW", "default_window",
    "solved_label", "plateau_curve", "detect_plateaus", "plateau_summary", "plateau_membership", "synthetic_history",
]

#: Phase names. Besides these three, a phase is ``"k/N solved"`` (k >= 1 dimensions solved).
ZEROS = "zeros"
SAME = "same number"
NONE_SOLVED = "none solved"

#: Mean |target| of the guessing game (uniform in [-1, 1]).
TARGET_MAGNITUDE = 0.5


def solved_label(k: int, n: int) -> str:
    """The name of the phase with ``k`` of ``n`` dimensions solved.

    Example
    -------
    >>> solved_label(2, 6)
    '2/6 solved'
    """
    return f"{k}/{n} solved"


@dataclass(frozen=True)
class PhaseLabels:
    """One label per iteration and the smoothed signals it was read from.

    labels: (T,) phase names. solved: (T,) dimensions solved. error: (T, N) smoothed
    normalised per-dimension errors. magnitude, spread, corr: (T,) smoothed guess magnitude,
    spread across dimensions and mean correlation. n: numbers guessed.

    Example
    -------
    >>> lab = label_phases(synthetic_history([("zeros", 100), (2, 100)], n=2), n=2)
    >>> lab.fraction("zeros") > 0.4, int(lab.solved[-1])
    (True, 2)
    """

    labels: np.ndarray
    solved: np.ndarray
    error: np.ndarray
    magnitude: np.ndarray
    spread: np.ndarray
    corr: np.ndarray
    n: int

    def fraction(self, label: str) -> float:
        """Share of iterations with this label."""
        return float(np.mean(self.labels == label))


def label_phases(history: Mapping[str, np.ndarray], n: int | None = None, *, metric: str = "mse",
                 window: int = 25, solved: float = 0.25, zero_magnitude: float = 0.1,
                 same_spread: float = 0.5, same_corr: float = 0.5) -> PhaseLabels:
    """Label every iteration of a guessing-game history with its phase.

    Signals (each smoothed over ``window`` iterations): the normalised per-dimension errors
    e_d (:func:`badgerlib.analysis.components.normalised_dim_error` of ``history["dim_error"]``
    over the ``metric``'s zeros level, :data:`badgerlib.tasks.DIM_ZEROS_LEVEL`), the guess magnitude m
    (``guess_magnitude``), the spread of the guess across dimensions s (``guess_spread``) and
    the correlation c between mean guess and mean target (``mean_corr``).

    * a dimension is *solved* when e_d < ``solved``; with k >= 1 solved the label is
      ``"k/N solved"``;
    * with none solved: ``"zeros"`` when m < ``zero_magnitude`` x E|target| (0.5) and the
      mean error is above 1 - 1/(2N) (less than half a dimension's worth gained);
      ``"same number"`` when the guess is clearly non-zero, nearly uniform across dimensions
      (s < ``same_spread`` x m) and tracks the mean target (c > ``same_corr``): guessing the
      mean of the targets everywhere; else ``"none solved"`` (the guesses differ across
      dimensions, but no dimension is solved yet).

    Why these signals: "same number" and "one dimension solved" score the same,
    (N-1)/N of the zeros level, so the loss cannot tell them apart; the spread can (0 for
    the same number everywhere, about sqrt(N-1) x m when one dimension is guessed and the
    rest are zeros), and so can the per-dimension errors (all at 1 - 1/N against one at 0).

    Example
    -------
    >>> h = synthetic_history([("zeros", 100), (1, 100)], n=3, seed=1)
    >>> lab = label_phases(h, n=3)
    >>> str(lab.labels[20]), str(lab.labels[180]), int(lab.solved[180])
    ('zeros', '1/3 solved', 1)
    """
    fn = "label_phases"
    for key in ("dim_error", "guess_magnitude", "guess_spread", "mean_corr"):
        if key not in history:
            raise ValueError(f"{fn}: history has no {key!r}; it needs dim_error, guess_magnitude, "
                             f"guess_spread and mean_corr (as recorded by badgerlib.train)")
    dim = check_array(history["dim_error"], fn, "history['dim_error']", ndim=2)
    if n is not None and n != dim.shape[1]:
        raise ValueError(f"{fn}: n={n!r} but history['dim_error'] has {dim.shape[1]} dimensions")
    n = dim.shape[1]
    T = dim.shape[0]
    window = check_int(fn, "window", window, 1)
    for name, value in (("solved", solved), ("zero_magnitude", zero_magnitude), ("same_spread", same_spread)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{fn}: {name}={value!r}; allowed is a number > 0")
    check_choice(fn, "metric", metric, tuple(DIM_ZEROS_LEVEL))
    e = smooth(normalised_dim_error(dim, DIM_ZEROS_LEVEL[metric]), window)
    sig = {}
    for key in ("guess_magnitude", "guess_spread", "mean_corr"):
        x = check_array(history[key], fn, f"history[{key!r}]", ndim=1)
        if len(x) != T:
            raise ValueError(f"{fn}: history[{key!r}] has {len(x)} entries; dim_error has {T}")
        sig[key] = smooth(x, window)
    m, s, c = sig["guess_magnitude"], sig["guess_spread"], sig["mean_corr"]
    k = (e < solved).sum(axis=1)
    tiny = m < zero_magnitude * TARGET_MAGNITUDE
    untouched = e.mean(axis=1) > 1.0 - 0.5 / n
    same = (~tiny) & (s < same_spread * m) & (c > same_corr)
    labels = np.where(tiny & untouched, ZEROS, np.where(same, SAME, NONE_SOLVED)).astype(object)
    for j in range(1, n + 1):
        labels[k == j] = solved_label(j, n)
    return PhaseLabels(labels.astype(str), k, e, m, s, c, n)


@dataclass(frozen=True)
class Phase:
    """A contiguous phase ``[start, end]`` (end inclusive) with one label.

    Example
    -------
    >>> Phase("zeros", 0, 99).length
    100
    """

    label: str
    start: int
    end: int

    @property
    def length(self) -> int:
        """Iterations in the phase."""
        return self.end - self.start + 1


def phase_segments(labels, min_length: int = 50) -> list[Phase]:
    """Contiguous phases of per-iteration labels (or a :class:`PhaseLabels`); a run shorter than ``min_length``
    iterations is given to the phase before it (to the next one at the very start), and
    neighbours that end up with the same label are joined.

    Example
    -------
    >>> lab = ["zeros"] * 100 + ["1/2 solved"] * 3 + ["zeros"] * 10 + ["1/2 solved"] * 100
    >>> [(p.label, p.start, p.end) for p in phase_segments(lab, min_length=20)]
    [('zeros', 0, 112), ('1/2 solved', 113, 212)]
    """
    lab = np.asarray(labels.labels if isinstance(labels, PhaseLabels) else labels).astype(str)
    if lab.ndim != 1 or len(lab) == 0:
        raise ValueError(f"phase_segments: labels has shape {lab.shape}; a non-empty 1-D array is needed")
    min_length = check_int("phase_segments", "min_length", min_length, 1)
    change = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change - 1, len(lab) - 1]
    runs = [[str(lab[a]), int(a), int(b)] for a, b in zip(starts, ends)]
    # Absorb short runs, shortest first, into a neighbour (the previous one if any).
    while len(runs) > 1:
        lengths = [b - a + 1 for _, a, b in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_length:
            break
        if i > 0:
            runs[i - 1][2] = runs[i][2]
        else:
            runs[1][1] = runs[0][1]
        del runs[i]
        joined = [runs[0]]
        for r in runs[1:]:
            if r[0] == joined[-1][0]:
                joined[-1][2] = r[2]
            else:
                joined.append(r)
        runs = joined
    return [Phase(label, a, b) for label, a, b in runs]


def solved_steps(labels: PhaseLabels, min_length: int = 50) -> np.ndarray:
    """How the number of solved dimensions changes from one phase to the next: the non-zero
    differences of the median solved count of consecutive :func:`phase_segments`. All ones
    when the dimensions are solved strictly one at a time; a 2 is two solved together, a
    negative value one lost again.

    Example
    -------
    >>> h = synthetic_history([("zeros", 200), (1, 200), (3, 200)], n=3, seed=0)
    >>> solved_steps(label_phases(h)).tolist()
    [1, 2]
    """
    if not isinstance(labels, PhaseLabels):
        raise ValueError(f"solved_steps: labels must be a PhaseLabels (from label_phases), got {type(labels).__name__}")
    ks = [int(np.median(labels.solved[p.start:p.end + 1])) for p in phase_segments(labels, min_length)]
    steps = np.diff(np.asarray(ks, dtype=np.int64))
    return steps[steps != 0]


def solved_rises(steps) -> np.ndarray:
    """The rises of the solved count to new highs, from :func:`solved_steps`: how many
    dimensions each new record adds. A dimension lost and found again (a -1 then a +1, the
    count flickering at the solved threshold, as at N = 20) adds no rise; a step from 2 to 4
    solved is a rise of 2 whatever came between.

    Example
    -------
    >>> solved_rises([1, -1, 1, 1, 2]).tolist(), solved_rises([]).tolist()
    ([1, 1, 2], [])
    """
    counts = np.concatenate([[0], np.cumsum(np.asarray(steps, dtype=np.int64))])
    rises = np.diff(np.maximum.accumulate(counts))
    return rises[rises > 0]


# ------------------------------------------------------------------------------- plateaus
def plateau_curve(last_error, n: int, zeros_level: float = 1.0) -> np.ndarray:
    """The curve plateaus are detected on: ``last_error / zeros_level + 1 / n``.

    The offset of one dimension's worth of error makes
    :func:`~badgerlib.analysis.dynamics.find_plateaus`' relative
    tolerance act like an absolute one near convergence, where the raw error keeps creeping
    down by large relative amounts (0.02 -> 0.01) that are no new step of the staircase.

    Example
    -------
    >>> plateau_curve([1.0, 0.5], n=2).tolist()
    [1.5, 1.0]
    """
    x = check_array(last_error, "plateau_curve", "last_error", ndim=1)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"plateau_curve: n={n!r}; allowed is an integer >= 1")
    if not (np.isfinite(zeros_level) and zeros_level > 0):
        raise ValueError(f"plateau_curve: zeros_level={zeros_level!r}; allowed is a number > 0")
    return x / zeros_level + 1.0 / n


#: The largest default window of :func:`detect_plateaus`, in iterations. A fiftieth of the run
#: (the default) is 12-200 iterations in every run up to N = 6, but 2 800 in a 140 000-iteration
#: run at N = 20, where plateaus shorter than four windows (11 000 iterations) go unseen: the
#: zeros plateau (3 600-5 200 iterations) and most of the staircase. In chapter 2's two N = 20
#: full-mode runs furthest along (2026-12-08, 138 500 iterations each; the cap was set from
#: them, before the other eight seeds were in) the default found 3 plateaus per run, windows of
#: 1 000 / 500 / 250 found 8-10 / 10-14 / 13-15, the additional ones at the levels in between.
#: 500 sees a plateau of 2 000 iterations and changes no run shorter than 25 000 iterations.
MAX_WINDOW = 500


def default_window(length: int) -> int:
    """:func:`detect_plateaus`' window for a series of ``length`` iterations: a fiftieth of it,
    at least 10 and at most :data:`MAX_WINDOW`.

    Example
    -------
    >>> default_window(600), default_window(10_000), default_window(140_000)
    (12, 200, 500)
    """
    return max(10, min(int(length) // 50, MAX_WINDOW))


def detect_plateaus(last_error, n: int, zeros_level: float = 1.0, *, window: int | None = None,
                    rel_tol: float = 0.02, noise_z: float = 4.0, min_length: int | None = None,
                    merge: float = 0.25) -> list[Plateau]:
    """Plateaus of the error of the last guess:
    :func:`~badgerlib.analysis.dynamics.find_plateaus` on
    :func:`plateau_curve`, with levels given back in units of the zeros level (so a level
    near k/N means k dimensions unsolved).

    ``window`` defaults to :func:`default_window` (a fiftieth of the series, 10 to
    :data:`MAX_WINDOW` iterations; plateaus shorter than four windows are not reported). Neighbouring plateaus less than a window apart whose levels
    differ by less than ``merge`` dimensions (``merge / n`` zeros levels) are joined: a noise
    burst can split one level in two.

    Example
    -------
    >>> h = synthetic_history([("zeros", 400), (1, 400), (2, 400)], n=2, noise=0.05, seed=0)
    >>> [(p.start, p.end, round(p.level, 2)) for p in detect_plateaus(h["last_error"], n=2)]
    [(0, 395, 1.0), (423, 798, 0.5), (820, 1199, 0.01)]
    """
    x = plateau_curve(last_error, n, zeros_level)
    window = default_window(len(x)) if window is None else window
    found = find_plateaus(x, window=window, rel_tol=rel_tol, noise_z=noise_z, min_length=min_length)
    # find_plateaus can split one level in two where a noise burst interrupts it; join
    # neighbours less than a window apart whose levels differ by under a quarter dimension.
    joined: list[Plateau] = []
    for p in found:
        q = joined[-1] if joined else None
        if q is not None and p.start - q.end - 1 < window and abs(p.level - q.level) < merge / n:
            level = float(np.median(x[q.start:p.end + 1]))
            joined[-1] = Plateau(q.start, p.end, level, p.escape)
        else:
            joined.append(p)
    return [Plateau(p.start, p.end, p.level - 1.0 / n, p.escape) for p in joined]


def plateau_summary(plateaus: Sequence[Plateau], n: int, total: int) -> dict:
    """Count, lengths and levels of a run's plateaus.

    Returns a dict with ``count``, ``lengths`` (list), ``levels`` (list, zeros-level units),
    ``unsolved`` (levels x N rounded: dimensions unsolved on each plateau), ``on_plateau``
    (share of the ``total`` iterations spent on plateaus) and ``first_length`` (length of the
    first plateau, 0 if the run does not start on one).

    Example
    -------
    >>> ps = [Plateau(0, 99, 1.0, 100), Plateau(150, 299, 0.5, None)]
    >>> s = plateau_summary(ps, n=2, total=300)
    >>> s["count"], s["lengths"], s["unsolved"], s["on_plateau"]
    (2, [100, 150], [2, 1], 0.8333333333333334)
    """
    lengths = [p.length for p in plateaus]
    levels = [float(p.level) for p in plateaus]
    return {
        "count": len(plateaus),
        "lengths": lengths,
        "levels": levels,
        "unsolved": [int(round(lv * n)) for lv in levels],
        "on_plateau": float(sum(lengths) / total) if total else 0.0,
        "first_length": lengths[0] if plateaus and plateaus[0].start == 0 else 0,
    }


def plateau_membership(iterations, plateaus: Sequence[Plateau], total: int, n: int) -> np.ndarray:
    """Where each of ``iterations`` falls: ``"zeros plateau"`` (a plateau at the level of the
    all-zeros guess, within half a dimension), ``"final plateau"`` (the plateau the run ends
    on, of length ``total``), ``"plateau"`` (any other) or ``"transition"`` (between plateaus).

    Example
    -------
    >>> ps = [Plateau(0, 99, 1.0, 100), Plateau(150, 249, 0.5, 250), Plateau(300, 399, 0.0, None)]
    >>> plateau_membership([50, 120, 200, 350], ps, total=400, n=2).tolist()
    ['zeros plateau', 'transition', 'plateau', 'final plateau']
    """
    its = np.asarray(iterations)
    out = np.full(its.shape, "transition", dtype=object)
    for p in plateaus:
        inside = (its >= p.start) & (its <= p.end)
        if p.level > 1.0 - 0.5 / n:
            name = "zeros plateau"
        elif p.end == total - 1:
            name = "final plateau"
        else:
            name = "plateau"
        out[inside] = name
    return out.astype(str)


# ------------------------------------------------------------------------- synthetic data
def synthetic_history(phases: Sequence[tuple], n: int, *, noise: float = 0.1, ramp: int = 20,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """A guessing-game history with known phases, for tests and examples.

    ``phases``: ``(kind, length)`` pairs, kind ``"zeros"`` (guesses ~0), ``"same"`` (the
    mean target guessed in every dimension) or an integer k (dimensions 0..k-1 solved, the
    rest guessed as zero). Per-iteration values follow the expected value of each phase for
    uniform targets, joined by linear ramps of ``ramp`` iterations, with multiplicative
    noise of relative size ``noise``. Returns ``last_error``, ``dim_error`` (unscaled squared
    error), ``guess_magnitude``, ``guess_spread``, ``mean_corr`` and ``grad_norm``.

    Example
    -------
    >>> h = synthetic_history([("zeros", 10), (1, 10)], n=2, noise=0.0, ramp=0)
    >>> h["last_error"][[0, -1]].tolist(), h["dim_error"][-1].round(3).tolist()
    ([1.0, 0.505], [0.003, 0.333])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"synthetic_history: n={n!r}; allowed is an integer >= 1")
    third = DIM_ZEROS_LEVEL["mse"]
    # expected per-dimension error, magnitude, spread, mean correlation of each phase

    def state(kind):
        if kind == "zeros":
            return np.full(n, third), 0.02, 0.02, 0.0
        if kind == "same":
            return np.full(n, third * (1 - 1.0 / n)), TARGET_MAGNITUDE / np.sqrt(n), 0.01, 1.0
        k = int(kind)
        if not 0 <= k <= n:
            raise ValueError(f"synthetic_history: phase kind {kind!r}; allowed are 'zeros', 'same' or 0..{n}")
        e = np.r_[np.full(k, 0.01 * third), np.full(n - k, third)]
        # k targets guessed, the rest zeros: spread ~ the std of that vector
        return e, max(TARGET_MAGNITUDE * k / n, 0.02), max(np.sqrt(k / (3.0 * n)), 0.02), np.sqrt(k / n)

    rng = np.random.default_rng(seed)
    rows = []
    prev = None
    for kind, length in phases:
        cur = state(kind)
        for t in range(int(length)):
            w = min(1.0, (t + 1) / ramp) if (prev is not None and ramp) else 1.0
            mix = cur if prev is None else tuple(w * np.asarray(c) + (1 - w) * np.asarray(p)
                                                 for c, p in zip(cur, prev))
            rows.append(mix)
        prev = cur
    T = len(rows)
    dim = np.stack([np.asarray(r[0], dtype=np.float64) for r in rows])
    mult = lambda shape: np.exp(noise * rng.standard_normal(shape))  # noqa: E731
    dim = dim * mult(dim.shape)
    mag = np.array([r[1] for r in rows]) * mult(T)
    spr = np.array([r[2] for r in rows]) * mult(T)
    corr = np.clip(np.array([r[3] for r in rows]) + noise * rng.standard_normal(T), -1, 1)
    return {
        "last_error": 3.0 * dim.mean(axis=1),
        "dim_error": dim,
        "guess_magnitude": mag,
        "guess_spread": spr,
        "mean_corr": corr,
        "grad_norm": 0.3 * mult(T),
    }
