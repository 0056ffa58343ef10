"""Kaplan-Meier and the log-rank test against the textbook example with censoring: the
Freireich et al. (1963) 6-MP leukaemia trial as analysed by Gehan (1965), weeks of remission."""
import numpy as np
import pytest

from badgerlib.analysis.survival import kaplan_meier, logrank_test, median_ratio

# 6-MP group: times, 1 = relapse seen, 0 = censored (still in remission at last follow-up)
MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_SEEN = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO_TIMES = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
PLACEBO_SEEN = [1] * 21


def test_kaplan_meier_matches_the_published_6mp_curve():
    curve = kaplan_meier(MP_TIMES, MP_SEEN)
    published = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    assert curve.times.tolist() == sorted(published)
    np.testing.assert_allclose(curve.survival, list(published.values()), atol=5e-4)
    assert curve.at_risk.tolist() == [21, 17, 15, 12, 11, 7, 6] and curve.median == 23.0
    assert kaplan_meier(PLACEBO_TIMES, PLACEBO_SEEN).median == 8.0


def test_without_censoring_it_is_the_empirical_survival_function():
    rng = np.random.default_rng(0)
    t = rng.integers(1, 50, size=40)
    curve = kaplan_meier(t, np.ones_like(t))
    np.testing.assert_allclose(curve.at(curve.times), [(t > x).mean() for x in curve.times])


def test_censored_runs_are_not_dropped():
    """Dropping the runs that never escaped would make the escape look earlier."""
    kept = kaplan_meier([10, 20, 100, 100, 100], [1, 1, 0, 0, 0])
    dropped = kaplan_meier([10, 20], [1, 1])
    assert kept.median == np.inf and dropped.median == 10.0
    assert kept.at(50) == pytest.approx(0.6) and dropped.at(50) == 0


def test_logrank_matches_the_published_chi_square():
    r = logrank_test(MP_TIMES, MP_SEEN, PLACEBO_TIMES, PLACEBO_SEEN)
    assert r.observed == (9, 21)
    assert round(r.statistic, 2) == 16.79                          # Gehan's data, survdiff in R: 16.8
    np.testing.assert_allclose(r.expected, (19.25, 10.75), atol=0.01)
    assert r.pvalue < 1e-4
    same = logrank_test(MP_TIMES, MP_SEEN, MP_TIMES, MP_SEEN)       # and a case that must not reject
    assert same.statistic == 0 and same.pvalue == 1


@pytest.mark.parametrize("args, message", [
    (([1, 2], [1]), "observed has 1 entries for 2 durations"),
    (([1, -2], [1, 1]), "durations = -2.0 is negative"),
    (([1, 2], [1, 2]), r"observed = 2.0: must be 1 \(event seen\) or 0 \(censored\)"),
    (([], []), "durations"),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(*args)


def test_median_ratio_on_the_textbook_trial():
    """Placebo's median relapse (8 weeks) over 6-MP's (23 weeks): 6-MP takes 2.9 times as long;
    the bootstrap interval of the ratio lies below 1 (relapse is slower on 6-MP) and holds the
    point."""
    r = median_ratio(PLACEBO_TIMES, PLACEBO_SEEN, MP_TIMES, MP_SEEN, n_boot=1000)
    assert r["ratio"] == pytest.approx(8 / 23)
    assert r["low"] <= r["ratio"] <= r["high"] < 1
    assert (r["n_a"], r["n_b"]) == (21, 21)
    back = median_ratio(MP_TIMES, MP_SEEN, PLACEBO_TIMES, PLACEBO_SEEN, n_boot=1000)
    assert back["ratio"] == pytest.approx(23 / 8) and back["low"] > 1


def test_median_ratio_keeps_groups_that_never_reach_their_median():
    fast, never = ([100, 110, 120, 130], [1] * 4), ([1500] * 4, [0] * 4)
    assert median_ratio(*fast, *never, n_boot=50)["ratio"] == 0.0           # b never gets there
    r = median_ratio(*never, *fast, n_boot=50)
    assert r["ratio"] == np.inf and r["low"] == np.inf                     # a never does
    assert np.isnan(median_ratio(*never, *never, n_boot=50)["ratio"])      # neither: no ratio
    with pytest.raises(ValueError, match="median_ratio: observed has 1 entries for 4 durations"):
        median_ratio([1, 2, 3, 4], [1], [1], [1])
