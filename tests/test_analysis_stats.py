"""Rank statistics against independent references: scipy's exact Spearman permutation test,
brute-force enumeration of the pooled null, and the Kendall-W / mean-Spearman identity."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from badgerlib.analysis import stats
from badgerlib.analysis.stats import concordance, mean_sd, pooled_rank_test, rank_correlation


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_rank_correlation_matches_scipys_exact_permutation_test(alternative):
    rng = np.random.default_rng(1)
    for n in (4, 6, 7):
        x, y = rng.permutation(n).astype(float), rng.standard_normal(n)
        ours = rank_correlation(x, y, alternative)
        ref = scipy_stats.permutation_test((x,), lambda xs: scipy_stats.spearmanr(xs, y).statistic,
                                           n_resamples=np.inf, permutation_type="pairings", alternative=alternative)
        assert ours.exact and ours.rho == pytest.approx(ref.statistic, abs=1e-12)
        assert ours.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_rank_correlation_sampled_for_many_items_and_inf_ranks_last():
    rng = np.random.default_rng(2)
    x = np.arange(12.0)
    y = x + rng.standard_normal(12)
    t = rank_correlation(x, y, n_resamples=4000)
    assert not t.exact and t.rho == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    assert 0 < t.p_value < 0.01
    # inf behaves as "after everything finite", tied among itself
    assert rank_correlation([1, 2, 3, 4], [1, 2, np.inf, np.inf]).rho == pytest.approx(
        scipy_stats.spearmanr([1, 2, 3, 4], [1, 2, 9, 9]).statistic)
    with pytest.raises(ValueError, match="NaN"):
        rank_correlation([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="alternative"):
        rank_correlation([1, 2], [1, 2], alternative="bigger")


def test_pooled_test_equals_brute_force_enumeration():
    """Two runs of 4 items: the exact null of the mean correlation is the average over all
    24 x 24 pairs of orderings."""
    ks = np.arange(1, 5)
    runs = [np.array([10.0, 30, 20, 40]), np.array([5.0, 5, 7, 6])]
    t = pooled_rank_test(ks, runs)
    observed = sum(scipy_stats.spearmanr(ks, c).statistic for c in runs)
    sums = [scipy_stats.spearmanr(ks, runs[0][list(p)]).statistic + scipy_stats.spearmanr(ks, runs[1][list(q)]).statistic
            for p in itertools.permutations(range(4)) for q in itertools.permutations(range(4))]
    assert t.mean == pytest.approx(observed / 2)
    assert t.p_value == pytest.approx(np.mean(np.array(sums) >= observed - 1e-9), abs=1e-12)
    assert t.n_seeds == 2
    assert t.sd == pytest.approx(np.std([scipy_stats.spearmanr(ks, c).statistic for c in runs], ddof=1))


def test_pooled_test_samples_when_the_exact_null_would_explode(monkeypatch):
    """Ten runs with different tie patterns have incommensurable correlations, so the exact
    pooled null would hold ~40^10 sums (a full-mode chapter once ran out of memory on it).
    The test must switch to sampling, and agree with the exact answer where both can be
    computed."""
    ks = np.arange(1, 6)
    rng = np.random.default_rng(0)
    ties = [np.array([1, 1, 2, 3, 4]), np.array([1, 2, 2, 2, 5]), np.array([1, 1, 3, 3, 5]),
            np.array([1, 2, 3, 4, np.inf]), np.array([2, 2, 2, 4, 4])]
    many = [rng.permutation(ties[i % len(ties)]) + 0.0 for i in range(10)]
    t = pooled_rank_test(ks, many)
    assert not t.exact and 0 < t.p_value <= 1
    # Where enumeration is possible, force sampling and compare: p within 4 binomial SE.
    few = [np.array([10.0, 30, 20, 40, 40]), np.array([5.0, 5, 7, 6, 9]), np.array([1.0, 2, 2, 3, 1])]
    exact = pooled_rank_test(ks, few)
    monkeypatch.setattr(stats, "POOLED_SUPPORT_MAX", 10)
    sampled = pooled_rank_test(ks, few, n_resamples=50000)
    assert exact.exact and not sampled.exact and exact.mean == sampled.mean
    se = np.sqrt(exact.p_value * (1 - exact.p_value) / 50000)
    assert abs(sampled.p_value - exact.p_value) < 4 * se + 1e-4


def test_concordance_identity_with_mean_pairwise_spearman():
    """Without ties, the mean Spearman correlation over pairs of runs is (m W - 1) / (m - 1)."""
    rng = np.random.default_rng(3)
    for m, n in ((3, 5), (6, 4)):
        orders = [rng.permutation(n).astype(float) for _ in range(m)]
        w = concordance(orders).w
        pairs = [scipy_stats.spearmanr(a, b).statistic for a, b in itertools.combinations(orders, 2)]
        assert np.mean(pairs) == pytest.approx((m * w - 1) / (m - 1), abs=1e-9)
    same = concordance([[1, 2, 3, 4, 5]] * 4)
    assert same.w == 1.0 and same.p_value < 0.01
    assert np.isnan(concordance([[3, 3, 3], [1, 1, 1]]).w)
    with pytest.raises(ValueError, match="need >= 2"):
        concordance([[1, 2, 3]])


def test_mean_sd_skips_non_finite_values():
    assert mean_sd([1.0, np.nan, 3.0]) == (2.0, pytest.approx(np.sqrt(2)))
    mean, sd = mean_sd([5.0])
    assert mean == 5.0 and np.isnan(sd)
    assert all(np.isnan(mean_sd([np.nan, np.inf])))



def test_median_interval_covers_the_median_and_drops_runs_without_a_value():
    from badgerlib.analysis.stats import median_interval

    values = np.random.default_rng(0).normal(3.0, 1.0, 40)
    s = median_interval(np.r_[values, np.nan, np.inf])
    assert s["n"] == 40 and s["low"] < np.median(values) < s["high"] and s["low"] > 2.0
    assert median_interval(-values)["share_positive"] < 0.1


def test_correlation_interval_matches_spearman_and_straddles_zero_only_without_a_relation():
    from scipy import stats as sps

    from badgerlib.analysis.stats import correlation_interval

    rng = np.random.default_rng(1)
    x = rng.standard_normal(30)
    y = x + 0.5 * rng.standard_normal(30)
    related = correlation_interval(x, y)
    unrelated = correlation_interval(x, rng.standard_normal(30))
    assert related["rho"] == pytest.approx(sps.spearmanr(x, y)[0], abs=1e-12)
    assert related["low"] > 0.4 and related["p"] < 0.01
    assert unrelated["low"] < 0 < unrelated["high"]
    assert correlation_interval([1, 2, np.nan, 4], [1, 3, 2, np.inf])["n"] == 2


def test_median_difference_separates_shifted_groups_and_not_equal_ones():
    from badgerlib.analysis.stats import median_difference

    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 0.5, 12), rng.normal(0.0, 0.5, 12)
    shifted = median_difference(a, b)
    assert shifted["low"] > 0 and shifted["difference"] == pytest.approx(np.median(a) - np.median(b))
    same = median_difference(a, rng.normal(1.0, 0.5, 12))
    assert same["low"] < 0 < same["high"]
    assert median_difference([1.0, np.nan], [np.inf])["n_b"] == 0


def test_sign_interval_covers_the_median_at_its_stated_level_where_a_bootstrap_does_not():
    from badgerlib.analysis.stats import median_interval, sign_interval

    rng = np.random.default_rng(0)
    for n, floor in ((10, 0.95), (7, 0.95)):
        hits = [sign_interval(rng.exponential(size=n)) for _ in range(2000)]
        covered = np.mean([h["low"] <= np.log(2) <= h["high"] for h in hits])   # median of Exp(1)
        assert covered >= floor - 0.015 and covered == pytest.approx(hits[0]["coverage"], abs=0.03)
    # three replicates: no 95 % interval exists; the bootstrap's "95 %" covers about 75 %
    assert np.isinf(sign_interval([0.1, 0.5, 0.9])["low"])
    boot = [median_interval(rng.exponential(size=3), n_boot=400, seed=k) for k in range(400)]
    assert np.mean([b["low"] <= np.log(2) <= b["high"] for b in boot]) < 0.85


def test_holm_controls_the_familywise_error_on_null_families():
    """Holm's adjustment, against its definition and by simulation: under the null (uniform
    p-values) a family of 6 rejects anything in about 5 % of draws or fewer, while the raw
    p-values reject in about 1 - 0.95^6 = 26 %."""
    from badgerlib.analysis.stats import holm, holm_family

    rng = np.random.default_rng(0)
    p = rng.uniform(size=(4000, 6))
    adjusted = np.array([holm(row) for row in p])
    assert (adjusted >= p - 1e-12).all() and (adjusted <= 1).all()
    any_raw = (p <= 0.05).any(axis=1).mean()
    any_holm = (adjusted <= 0.05).any(axis=1).mean()
    assert 0.22 < any_raw < 0.30 and any_holm < 0.06
    # by hand: sorted 0.01, 0.02, 0.04 -> 3 x 0.01, 2 x 0.02, 1 x 0.04, kept monotone
    assert holm([0.04, 0.01, 0.02]).tolist() == [0.04, 0.03, 0.04]
    fam = holm_family({"a": 0.04, "b": 0.01, "c": 0.02})
    assert [f["rejected"] for f in fam.values()] == [True, True, True]
    assert holm_family({"a": 0.04, "b": 0.03})["a"]["p_holm"] == 0.06          # 2 x 0.03, kept monotone
    with pytest.raises(ValueError, match="alpha"):
        holm_family({"a": 0.1}, alpha=1.5)
