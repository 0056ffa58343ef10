"""F-principle measurements on synthetic learners whose answer is known, and the permutation
statistics against independent references (scipy's exact Spearman test, brute-force
enumeration, the Kendall-W / mean-Spearman identity)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from badgerlib import MicroBadgerConfig, RunConfig, SineSumGame, train
from badgerlib.analysis import fprinciple as fp
from badgerlib.analysis.spectral import sine_sum_target

KS = (1, 2, 3, 4, 5)
M = 21


def synthetic_snapshots(learn_at, iterations, phases, steps=1, width=5.0):
    """Snapshots of a learner that learns frequency k along a logistic curve centred on
    ``learn_at[k]``: the guess at snapshot t is sum_k a_k(t) sin(k x + phi) (and the same at
    every inner step after step 0)."""
    x = 2 * np.pi * np.arange(M) / M
    phases = np.asarray(phases)
    amps = 1 / (1 + np.exp(-(np.asarray(iterations)[:, None] - np.asarray(learn_at)[None]) / width))  # (K, F)
    comps = np.stack([np.sin(k * x + phases[:, None]) for k in KS], axis=1)     # (P, F, M)
    guess = np.einsum("tf,pfm->tpm", amps, comps)                               # (K, P, M)
    guesses = np.repeat(guess[:, :, None, :], steps + 1, axis=2)
    guesses[:, :, 0] = 0.0
    return {"iterations": np.asarray(iterations), "targets": comps.sum(axis=1), "guesses": guesses,
            "feedback": np.ones(guesses.shape[:3])}, amps


def test_convergence_maps_recover_the_learning_curves():
    its = np.arange(0, 200, 10)
    snaps, amps = synthetic_snapshots([20, 50, 80, 110, 140], its, phases=[0.3, 1.7, 4.0])
    assert np.allclose(fp.convergence_by_iteration(snaps, KS), amps, atol=1e-9)
    by_step = fp.convergence_by_step(snaps, KS)
    assert by_step.shape == (2, 5)
    assert np.allclose(by_step[0], 0.0) and np.allclose(by_step[1], amps[-1], atol=1e-9)


def test_low_first_learner_is_detected_and_reversed_or_simultaneous_ones_are_not():
    its = np.arange(0, 300, 5)
    low_first, _ = synthetic_snapshots([20, 50, 80, 110, 140], its, phases=[0.5, 2.0])
    a = fp.analyse_run(low_first, KS, threshold=0.9)
    # logistic a(t) = 0.9 at t = centre + width * ln 9 ~ centre + 11: first snapshot after that
    expected = np.ceil((np.array([20, 50, 80, 110, 140]) + 5 * np.log(9)) / 5) * 5
    assert np.array_equal(a.crossings, expected)
    assert a.rank.rho == 1.0 and a.rank.p_value == pytest.approx(1 / 120)
    assert a.spread == pytest.approx((expected[-1] - expected[0]) / its[-1])

    high_first, _ = synthetic_snapshots([140, 110, 80, 50, 20], its, phases=[0.5, 2.0])
    b = fp.analyse_run(high_first, KS, threshold=0.9)
    assert b.rank.rho == -1.0 and b.rank.p_value == 1.0

    together, _ = synthetic_snapshots([60] * 5, its, phases=[0.5, 2.0])
    c = fp.analyse_run(together, KS, threshold=0.9)
    assert c.rank.rho == 0.0 and c.spread == 0.0 and np.ptp(c.crossings) == 0


def test_crossings_relative_threshold_and_never():
    its = np.array([0, 1, 2, 3])
    c = np.array([[0.0, 0.0, 0.0], [0.2, 0.1, 0.0], [0.4, 0.3, 0.05], [0.4, 0.4, 0.1]])
    assert fp.crossing_iterations(its, c, 0.35).tolist() == [2, 3, np.inf]
    # relative: bar = 0.5 * mean(0.4, 0.4, 0.1) = 0.15
    assert fp.crossing_iterations(its, c, 0.5, relative=True).tolist() == [1, 2, np.inf]
    # a run that learned (almost) nothing has no crossings at all, not crossings on noise
    assert np.all(np.isinf(fp.crossing_iterations(its, c * 0.1, 0.5, relative=True)))
    with pytest.raises(ValueError, match="threshold"):
        fp.crossing_iterations(its, c, 0.0)
    with pytest.raises(ValueError, match="expected"):
        fp.crossing_iterations(its[:3], c)


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_rank_correlation_matches_scipys_exact_permutation_test(alternative):
    rng = np.random.default_rng(1)
    for n in (4, 6, 7):
        x, y = rng.permutation(n).astype(float), rng.standard_normal(n)
        ours = fp.rank_correlation(x, y, alternative)
        ref = stats.permutation_test((x,), lambda xs: stats.spearmanr(xs, y).statistic, n_resamples=np.inf,
                                     permutation_type="pairings", alternative=alternative)
        assert ours.exact and ours.rho == pytest.approx(ref.statistic, abs=1e-12)
        assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_rank_correlation_sampled_for_many_items_and_inf_ranks_last():
    rng = np.random.default_rng(2)
    x = np.arange(12.0)
    y = x + rng.standard_normal(12)
    t = fp.rank_correlation(x, y, n_resamples=4000)
    assert not t.exact and t.rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert 0 < t.p_value < 0.01
    # inf behaves as "after everything finite", tied among itself
    assert fp.rank_correlation([1, 2, 3, 4], [1, 2, np.inf, np.inf]).rho == pytest.approx(
        stats.spearmanr([1, 2, 3, 4], [1, 2, 9, 9]).statistic)
    with pytest.raises(ValueError, match="NaN"):
        fp.rank_correlation([1, 2], [1, np.nan])


def test_pooled_test_equals_brute_force_enumeration():
    """Two seeds of 4 frequencies: the exact null of the mean correlation is the average over
    all 24 x 24 pairs of orderings."""
    ks = np.arange(1, 5)
    seeds = [np.array([10.0, 30, 20, 40]), np.array([5.0, 5, 7, 6])]
    t = fp.fprinciple_test(ks, seeds)
    observed = sum(stats.spearmanr(ks, c).statistic for c in seeds)
    sums = [stats.spearmanr(ks, seeds[0][list(p)]).statistic + stats.spearmanr(ks, seeds[1][list(q)]).statistic
            for p in itertools.permutations(range(4)) for q in itertools.permutations(range(4))]
    assert t.mean == pytest.approx(observed / 2)
    assert t.p_value == pytest.approx(np.mean(np.array(sums) >= observed - 1e-9), abs=1e-12)
    assert t.n_seeds == 2 and t.sd == pytest.approx(np.std([stats.spearmanr(ks, c).statistic for c in seeds], ddof=1))


def test_pooled_test_samples_when_the_exact_null_would_explode(monkeypatch):
    """Ten seeds with different tie patterns have incommensurable correlations, so the exact
    pooled null would hold ~40^10 sums (a full-mode chapter once ran out of memory on it).
    The test must switch to sampling, and agree with the exact answer where both can be
    computed."""
    ks = np.arange(1, 6)
    rng = np.random.default_rng(0)
    ties = [np.array([1, 1, 2, 3, 4]), np.array([1, 2, 2, 2, 5]), np.array([1, 1, 3, 3, 5]),
            np.array([1, 2, 3, 4, np.inf]), np.array([2, 2, 2, 4, 4])]
    many = [rng.permutation(ties[i % len(ties)]) + 0.0 for i in range(10)]
    t = fp.fprinciple_test(ks, many)
    assert not t.exact and 0 < t.p_value <= 1
    # Where enumeration is possible, force sampling and compare: p within 4 binomial SE.
    few = [np.array([10.0, 30, 20, 40, 40]), np.array([5.0, 5, 7, 6, 9]), np.array([1.0, 2, 2, 3, 1])]
    exact = fp.fprinciple_test(ks, few)
    monkeypatch.setattr(fp, "POOLED_SUPPORT_MAX", 10)
    sampled = fp.fprinciple_test(ks, few, n_resamples=50000)
    assert exact.exact and not sampled.exact and exact.mean == sampled.mean
    se = np.sqrt(exact.p_value * (1 - exact.p_value) / 50000)
    assert abs(sampled.p_value - exact.p_value) < 4 * se + 1e-4


def test_concordance_identity_with_mean_pairwise_spearman():
    """Without ties, the mean Spearman correlation over pairs of seeds is (m W - 1) / (m - 1)."""
    rng = np.random.default_rng(3)
    for m, n in ((3, 5), (6, 4)):
        orders = [rng.permutation(n).astype(float) for _ in range(m)]
        w = fp.concordance(orders).w
        pairs = [stats.spearmanr(a, b).statistic for a, b in itertools.combinations(orders, 2)]
        assert np.mean(pairs) == pytest.approx((m * w - 1) / (m - 1), abs=1e-9)
    same = fp.concordance([[1, 2, 3, 4, 5]] * 4)
    assert same.w == 1.0 and same.p_value < 0.01
    assert np.isnan(fp.concordance([[3, 3, 3], [1, 1, 1]]).w)


def test_frequency_error_and_converged_steps_closed_forms():
    y = sine_sum_target([1, 2, 3], m=M, phase=0.4)
    x = 2 * np.pi * np.arange(M) / M
    g = np.sin(x + 0.4) + 0.25 * np.sin(2 * x + 0.4) + np.sin(3 * x + 0.4 + np.pi / 2)
    # |G - Y| / |Y|: 0; 0.75; |e^{i pi/2} - 1| = sqrt(2)
    assert np.allclose(fp.frequency_error(g, y), [0.0, 0.75, np.sqrt(2)], atol=1e-9)

    P, S = 3, 10
    targets = np.ones((P, 4))
    steps = np.minimum(np.arange(S + 1), 6) / 6.0                 # moves until step 6, then still
    guesses = steps[None, :, None] * targets[:, None, :]           # (P, S+1, M)
    assert float(fp.converged_steps(guesses, targets)) == S - 6
    guesses[1, -1] += 1.0                                          # one task moves at the last step
    assert float(fp.converged_steps(guesses, targets)) == pytest.approx((2 * (S - 6) + 0) / 3)
    assert fp.converged_steps(np.stack([guesses, guesses]), targets).shape == (2,)


def test_mirror_plateau_scores_one_half_on_the_real_task():
    """The chapter's argument: knowing only the projection of u on one direction e and guessing
    (u . e) e gives c = 1/2 at every frequency and feedback 1/2, averaged over the phase."""
    game = SineSumGame(m=41, frequencies=KS)
    phi = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    y = sine_sum_target(KS, m=41, phase=phi)                        # sin(phi) C + cos(phi) S
    S = sine_sum_target(KS, m=41, phase=0.0)                        # the direction e (phi = 0)
    g = np.cos(phi)[:, None] * S                                    # (u . e) e
    c = fp.convergence_by_step({"guesses": g[None, :, None, :], "targets": y}, KS)[0]   # mean over phases
    assert np.allclose(c, 0.5, atol=1e-9)
    feedback = game.feedback(torch.from_numpy(g), torch.from_numpy(y)).numpy()
    assert feedback.mean() == pytest.approx(0.5, abs=1e-9)


def test_summaries_tables_and_a_real_run(tmp_path):
    cfg = RunConfig(task=SineSumGame(m=11, frequencies=(1, 2, 3)), model=MicroBadgerConfig(experts=2, hidden=4),
                    inner_steps=3, iterations=4, batch=2, snapshots=3, probe_batch=2)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    a = fp.analyse_run(run.snapshots, threshold=0.9)
    assert a.by_iteration.shape == (3, 3) and a.by_step.shape == (4, 3) and a.converged.shape == (3,)
    assert a.iterations.tolist() == [0, 2, 4] and a.last_loss.shape == (3,)
    its = np.arange(0, 300, 5)
    runs = [fp.analyse_run(synthetic_snapshots(centres, its, phases=[1.0])[0], KS, threshold=0.9)
            for centres in ([20, 50, 80, 110, 140], [20, 60, 50, 110, 140], [30, 20, 80, 140, 110])]
    s = fp.summarise(runs)
    assert s.test.mean > 0.7 and s.test.p_value < 0.01 and s.crossed == 1.0
    table = fp.summary_table({"synthetic": s})
    assert table.loc["synthetic", "seeds"] == 3
    assert fp.representative(runs) == 1          # rhos 1.0, 0.9, 0.8: the median is the second
    assert fp.estimate_seconds({"a": 10.0}, {"a": (100, 4)}, workers=2) == 20.0
