"""Per-dimension learning (badgerlib.analysis.components) on error curves whose solve times are
known: dimensions learned one at a time against all together, an unsolved dimension, the
zeros level a task hands in, and the directions a linear guess has learned."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from badgerlib import GuessingGame
from badgerlib.analysis import components
from badgerlib.analysis.components import (
    chance_alignment, concurrency, imbalance, learned_directions, normalised_dim_error, solve_times,
    transition_intervals,
)

THIRD = GuessingGame().dim_zeros_level          # squared error of a dimension guessed 0: 1/3


def ramps(starts, total, ramp=60, level=THIRD, noise=0.05, seed=0):
    """(total, N) per-dimension errors: dimension d sits at ``level`` until ``starts[d]``
    (None: never leaves it), then falls linearly to 1 % of it over ``ramp`` iterations;
    multiplicative noise of relative size ``noise``."""
    t = np.arange(total)[:, None]
    s = np.array([np.inf if a is None else a for a in starts], dtype=np.float64)[None, :]
    frac = np.clip((t - s) / ramp, 0.0, 1.0)
    e = level * (1.0 - 0.99 * frac)
    return e * np.exp(noise * np.random.default_rng(seed).standard_normal(e.shape))


def test_normalised_dim_error_divides_by_the_level_the_task_gives():
    e = np.full((5, 2), THIRD)
    assert np.allclose(normalised_dim_error(e, THIRD), 1.0)
    assert np.allclose(normalised_dim_error(e), THIRD)                    # default level 1
    assert GuessingGame(metric="l1").dim_zeros_level == 0.5
    with pytest.raises(ValueError, match="zeros_level"):
        normalised_dim_error(e, 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_one_at_a_time_against_all_together(seed):
    """Sequential solving (RL-like) gives concurrency ~1 and solve times at 3/4 of each ramp;
    simultaneous (supervised-like) gives N."""
    seq = ramps([200, 400, 600], 800, seed=seed)
    t = solve_times(seq, THIRD)
    assert np.all(np.abs(t - [245, 445, 645]) <= 15), t
    assert concurrency(transition_intervals(seq, THIRD)) == pytest.approx(1.0, abs=0.1)
    together = ramps([200, 200, 200], 600, seed=seed)
    assert concurrency(transition_intervals(together, THIRD)) == pytest.approx(3.0, abs=0.3)


def test_without_the_zeros_level_nothing_counts_as_untouched():
    """The level is the task's: read at level 1, a squared error of 1/3 (untouched) is never
    above the "untouched" bar of 0.8, and dimensions count as solved too early."""
    seq = ramps([200, 400], 600)
    assert np.all(np.abs(solve_times(seq, THIRD) - [245, 445]) <= 15)
    assert np.all(solve_times(seq) < solve_times(seq, THIRD) - 20)
    assert transition_intervals(seq)[:, 0].tolist() == [0.0, 0.0]
    assert transition_intervals(seq, THIRD)[:, 0].min() > 150


def test_an_unsolved_dimension_has_no_solve_time_and_no_interval():
    e = ramps([200, None], 400)
    t = solve_times(e, THIRD)
    assert not np.isnan(t[0]) and np.isnan(t[1])
    iv = transition_intervals(e, THIRD)
    assert np.isnan(iv[1]).all() and iv[0, 0] < iv[0, 1] == t[0]
    assert np.isnan(concurrency([[np.nan, np.nan]]))
    assert concurrency([[0, 100], [50, 150]]) == pytest.approx(4 / 3)


def test_imbalance_is_zero_alike_and_sqrt_k_n_minus_k_over_n_apart():
    e = ramps([200, 400, 400], 600, ramp=1, noise=0.0)
    imb = imbalance(e, THIRD)
    assert imb[100] == pytest.approx(0.0, abs=1e-12)
    assert imb[300] == pytest.approx(np.sqrt(2) / 3, abs=0.01)      # one of three solved
    assert imb[-1] < 0.01


def test_component_tools_reject_bad_input():
    with pytest.raises(ValueError, match="solve_times"):
        solve_times(np.ones(10), THIRD)
    with pytest.raises(ValueError, match="window"):
        imbalance(np.ones((10, 2)), THIRD, window=0)


def test_learned_directions_count_the_rank_of_a_projection():
    """A guess that is the projection of the target onto a random 2-D subspace of R^5 has two
    eigenvalues at 1 and three at 0, and leaves 3/5 of the zeros-level error, although no
    single dimension is solved."""
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, (400, 5))
    q, _ = np.linalg.qr(rng.standard_normal((5, 2)))
    g = t @ (q @ q.T)
    ev, vec = learned_directions(g, t)
    assert np.allclose(ev, [1, 1, 0, 0, 0], atol=1e-9)
    assert np.allclose(np.abs(vec[:, :2].T @ q @ q.T @ vec[:, :2]), np.eye(2), atol=1e-9)
    assert 3 * np.mean((g - t) ** 2) == pytest.approx(3 / 5, rel=0.1)
    assert (1 - np.diag(q @ q.T)).min() > 0.25      # every dimension still far from solved
    with pytest.raises(ValueError, match="more tasks than N"):
        learned_directions(g[:4], t[:4])


def test_chance_alignment_falls_with_n():
    a2, b2 = chance_alignment(2)
    a20, b20 = chance_alignment(20)
    assert a20 < a2 and b20 < b2 and 0 < a20 < 0.3
    with pytest.raises(ValueError, match="n=0"):
        chance_alignment(0)


def test_docstring_examples_run():
    assert doctest.testmod(components, optionflags=doctest.ELLIPSIS).failed == 0
