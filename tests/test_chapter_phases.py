"""Phase labels and plateaus of guessing-game histories (badgerlib.chapters.phases) on
synthetic histories whose phases are known (synthetic_history), including the cases the study
cares about: the "same number" phase that the loss alone cannot tell from "one dimension
solved", and a staircase with one plateau per dimension."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from badgerlib.analysis.components import imbalance
from badgerlib.analysis.dynamics import Plateau, find_plateaus
from badgerlib.chapters import phases
from badgerlib.chapters.phases import (
    NONE_SOLVED, SAME, ZEROS, detect_plateaus, label_phases, phase_segments, plateau_curve, plateau_membership,
    plateau_summary, solved_label, solved_steps, synthetic_history,
)
from badgerlib.tasks import DIM_ZEROS_LEVEL


@pytest.mark.parametrize("seed", range(3))
def test_the_studys_phase_sequence_is_recovered_with_its_boundaries(seed):
    """zeros -> same number -> 1, 2, 3 of 3 solved, 300 iterations each, 20-iteration ramps,
    10 % noise: exactly these five phases in order, each boundary within 40 iterations (the
    25-iteration smoothing plus the ramp) of the truth."""
    spec = [("zeros", 300), ("same", 300), (1, 300), (2, 300), (3, 300)]
    h = synthetic_history(spec, n=3, seed=seed)
    segs = phase_segments(label_phases(h, n=3).labels, min_length=50)
    assert [s.label for s in segs] == [ZEROS, SAME, solved_label(1, 3), solved_label(2, 3), solved_label(3, 3)]
    for s, start in zip(segs, [0, 300, 600, 900, 1200]):
        assert abs(s.start - start) <= 40, (s, start)


def test_same_number_and_one_solved_score_alike_but_are_labelled_apart():
    """Both phases sit at (N-1)/N of the zeros level, so the loss cannot separate them; the
    spread of the guess and the per-dimension errors do."""
    n = 4
    h = synthetic_history([("same", 400), (1, 400)], n=n, seed=3, ramp=0)
    a, b = h["last_error"][:400].mean(), h["last_error"][400:].mean()
    assert a == pytest.approx((n - 1) / n, rel=0.03) and b == pytest.approx((n - 1) / n, rel=0.03)
    lab = label_phases(h, n=n)
    assert lab.fraction(SAME) == pytest.approx(0.5, abs=0.03)
    assert lab.fraction(solved_label(1, n)) == pytest.approx(0.5, abs=0.03)


def test_no_same_number_phase_is_invented_when_there_is_none():
    """zeros straight to one-at-a-time: no iteration labelled "same number"."""
    h = synthetic_history([("zeros", 300), (1, 300), (2, 300), (3, 300), (4, 300)], n=4, seed=0)
    lab = label_phases(h, n=4)
    assert lab.fraction(SAME) == 0.0
    assert [s.label for s in phase_segments(lab.labels)] == [ZEROS] + [solved_label(k, 4) for k in range(1, 5)]


def test_guesses_that_differ_across_dimensions_without_a_solved_one_are_none_solved():
    """Half-way to solving every dimension (errors at 1/2, a spread guess): neither zeros nor
    the same number."""
    T, n = 200, 3
    h = {"dim_error": np.full((T, n), 0.5 / 3), "guess_magnitude": np.full(T, 0.25),
         "guess_spread": np.full(T, 0.3), "mean_corr": np.full(T, 0.7)}
    assert set(label_phases(h).labels) == {NONE_SOLVED}


def test_label_phases_rejects_a_history_without_the_signals():
    with pytest.raises(ValueError, match="guess_spread"):
        label_phases({"dim_error": np.ones((10, 2)), "guess_magnitude": np.ones(10), "mean_corr": np.ones(10)})
    h = synthetic_history([("zeros", 50)], n=2)
    with pytest.raises(ValueError, match="n=3"):
        label_phases(h, n=3)


def test_phase_segments_absorbs_short_runs():
    lab = ["a"] * 100 + ["b"] * 5 + ["a"] * 100 + ["c"] * 60
    assert [(p.label, p.start, p.end) for p in phase_segments(lab, min_length=50)] == [("a", 0, 204), ("c", 205, 264)]
    assert [(p.label, p.length) for p in phase_segments(["x"] * 3 + ["y"] * 100, min_length=10)] == [("y", 103)]


@pytest.mark.parametrize("seed", range(3))
def test_a_staircase_gives_one_plateau_per_step_at_k_over_n(seed):
    """zeros and then 1..4 of 4 dimensions solved, 500 iterations each: five plateaus whose
    levels are k/4 of the zeros level (k = 4, 3, 2, 1 unsolved, then ~0)."""
    h = synthetic_history([("zeros", 500), (1, 500), (2, 500), (3, 500), (4, 500)], n=4, seed=seed, noise=0.1)
    found = detect_plateaus(h["last_error"], n=4)
    s = plateau_summary(found, n=4, total=2500)
    assert s["count"] == 5
    assert s["unsolved"] == [4, 3, 2, 1, 0]
    assert s["first_length"] > 400
    assert s["on_plateau"] > 0.8
    for p, lv in zip(found, [1.0, 0.75, 0.5, 0.25]):
        assert p.level == pytest.approx(lv, rel=0.05)


def test_slow_creep_after_convergence_is_one_plateau():
    """The converged error keeps falling by large relative amounts (0.02 -> 0.005); on the
    offset curve that is no new step."""
    t = np.arange(1500)
    curve = np.r_[np.ones(500), 0.02 * np.exp(-t[:1000] / 500)] * np.exp(0.1 * np.random.default_rng(0).standard_normal(1500))
    found = detect_plateaus(curve, n=2)
    assert len(found) == 2 and found[1].end == 1499


def test_plateau_summary_of_nothing():
    s = plateau_summary([], n=3, total=100)
    assert (s["count"], s["lengths"], s["on_plateau"], s["first_length"]) == (0, [], 0.0, 0)


def test_detect_plateaus_joins_a_level_split_by_a_noise_burst():
    """A 15-iteration burst in the middle of a plateau: find_plateaus alone may cut it in two
    at the same level; detect_plateaus returns one plateau per level."""
    curve, _ = np.ones(1200), None
    curve[600:] = 0.5
    curve = curve * np.exp(0.05 * np.random.default_rng(4).standard_normal(1200))
    curve[290:305] = 1.4
    raw = find_plateaus(plateau_curve(curve, 2), window=24)
    found = detect_plateaus(curve, n=2, window=24)
    assert len(raw) >= 3  # the burst does split it
    assert [round(p.level * 2) for p in found] == [2, 1]


def test_solved_steps_imbalance_and_membership():
    h = synthetic_history([("zeros", 200), (1, 200), (3, 200)], n=3, seed=0, noise=0.05)
    assert solved_steps(label_phases(h)).tolist() == [1, 2]
    with pytest.raises(ValueError, match="PhaseLabels"):
        solved_steps(["zeros"] * 10)
    imb = imbalance(h["dim_error"], DIM_ZEROS_LEVEL["mse"])        # synthetic errors are squared errors
    assert imb[100] < 0.1 and imb[300] == pytest.approx(np.sqrt(2) / 3, abs=0.05) and imb[-1] < 0.1
    ps = [Plateau(0, 99, 1.0, 100), Plateau(200, 299, 0.0, None)]
    assert plateau_membership([0, 150, 299], ps, total=300, n=2).tolist() == ["zeros plateau", "transition",
                                                                            "final plateau"]



def test_absolute_error_histories_are_labelled_on_their_own_zeros_level():
    """An absolute error of 0.1 is a fifth of its zeros level (1/2: solved) under metric="l1"
    but 0.3 of the squared-error level (1/3: not solved)."""
    T = 100
    h = {"dim_error": np.tile([0.1, 0.5], (T, 1)), "guess_magnitude": np.full(T, 0.25),
         "guess_spread": np.full(T, 0.3), "mean_corr": np.full(T, 0.7)}
    assert set(label_phases(h, metric="l1").labels) == {solved_label(1, 2)}
    assert set(label_phases(h, metric="mse").labels) == {NONE_SOLVED}
    with pytest.raises(ValueError, match="metric"):
        label_phases(h, metric="l2")


def test_docstring_examples_run():
    assert doctest.testmod(phases).failed == 0


def test_solved_rises_read_new_highs_so_flicker_at_the_threshold_is_not_a_step():
    from badgerlib.chapters.phases import solved_rises

    flicker = [1, -1, 1, 1, -1, 1, -1, 1, 1]        # the N = 20 pattern: -1, +1 pairs
    assert solved_rises(flicker).tolist() == [1, 1, 1]
    assert solved_rises(flicker).sum() == max(np.cumsum(flicker))
    assert solved_rises([2, -1, 3]).tolist() == [2, 2]  # together is still together
    assert solved_rises([-1, 1]).tolist() == []


def test_the_default_window_is_a_fiftieth_up_to_its_cap_so_long_runs_keep_their_short_plateaus():
    # N = 20: 21 plateaus of 3000 iterations each (63 000 iterations): a fiftieth would be a
    # window of 1260, too long for a plateau of 3000 (four windows); the cap sees them all
    h = phases.synthetic_history([("zeros", 3000)] + [(k, 3000) for k in range(1, 21)], n=20, noise=0.02, seed=0)
    found = phases.detect_plateaus(h["last_error"], n=20)
    assert phases.default_window(len(h["last_error"])) == phases.MAX_WINDOW
    assert len(found) == 21, [(p.start, p.end) for p in found]
    assert len(phases.detect_plateaus(h["last_error"], n=20, window=len(h["last_error"]) // 50)) < 21
    # and nothing changes below 25 000 iterations
    assert [phases.default_window(t) for t in (100, 600, 3000, 10_000, 25_000)] == [10, 12, 60, 200, 500]
