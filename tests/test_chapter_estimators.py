"""The appendix's module: its experiments reproduce the known answers at small sizes, keep
the appendix's random streams, and its figures draw what the captions say."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from badgerlib.analysis import info  # noqa: E402
from badgerlib.chapters import estimators  # noqa: E402
from badgerlib.chapters.estimators import (  # noqa: E402
    MEASURES, GaussianCase, bias_correction, configs, discrete_o_information, gaussian_case,
    hurst_references, lyapunov_references, mi_bias, plateau_staircase, ray_toy, sizes,
    worst_discrete_error, worst_error, worst_z,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_sizes_and_configs():
    assert sizes(True) is estimators.QUICK and sizes(False) is estimators.FULL
    assert configs(True) == {} and configs(False) == {}
    full, quick = sizes(False), sizes(True)
    assert full.seeds > quick.seeds and full.n_surrogates > quick.n_surrogates
    assert set(quick.gauss_systems) <= set(full.gauss_systems)
    with pytest.raises(ValueError, match="quick"):
        sizes("full")


def test_gaussian_case_against_its_closed_form():
    case = gaussian_case(4, 2, 2000, seeds=3)
    cov = info.random_covariance(8, coupling=1.0, seed=8)
    assert case.truth == info.gaussian_closed_form(cov, [2] * 4).as_dict()
    for key in MEASURES:
        assert case.estimates[key].shape == (3,)
        assert np.all(np.abs(case.errors(key)) < case.tolerance(key))
        sd = info.gaussian_estimate_sd(case.truth[key], 2000, measure=key)
        assert case.tolerance(key) == pytest.approx(0.01 + 5 * sd)
        assert np.allclose(case.z_scores(key), np.abs(case.errors(key)) / sd)
    assert worst_z([case]) == max(case.z_scores(k).max() for k in MEASURES)
    assert worst_error([case]) == max(np.abs(case.errors(k)).max() for k in MEASURES)


def test_gaussian_case_is_reproducible_seed_by_seed():
    """Seed s of a case is sample seed s, whatever the number of seeds."""
    a, b = gaussian_case(2, 1, 500, seeds=2), gaussian_case(2, 1, 500, seeds=3)
    for key in MEASURES:
        assert np.array_equal(a.estimates[key], b.estimates[key][:2])


def test_worst_z_finds_the_worst_estimate():
    truth = {k: 0.5 for k in MEASURES}
    good = GaussianCase(2, 1, 1000, truth, {k: np.full(2, 0.5) for k in MEASURES})
    bad = GaussianCase(2, 1, 1000, truth, {k: np.array([0.5, 0.5 + 3 * good.expected_sd(k)]) for k in MEASURES})
    assert worst_z([good]) == 0 and worst_z([good, bad]) == pytest.approx(3.0)


def test_bias_correction_removes_the_spurious_dependence():
    raw, corrected = bias_correction(np.random.default_rng(1))
    assert raw > 2.0 and abs(corrected) < 0.3


def test_shared_generator_order_is_the_appendix_order():
    """The three experiments that draw from the appendix's generator draw in sequence: the
    discrete systems after the bias correction see a different stream than on a fresh one."""
    fresh = discrete_o_information([3], 2000, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    bias_correction(rng)
    after = discrete_o_information([3], 2000, rng)
    again = np.random.default_rng(0)
    bias_correction(again)
    assert after.equals(discrete_o_information([3], 2000, again))
    assert not after.equals(fresh)


def test_mi_bias_copula_unbiased_and_ksg_low_at_high_dimension():
    bias = mi_bias([1, 8], 1000, seeds=4)
    assert bias.ksg.shape == bias.copula.shape == (2, 4)
    assert bias.joint_dims.tolist() == [2, 16]
    assert np.all(np.abs(bias.copula.mean(axis=1)) < 4 * bias.copula_se + 2)
    assert bias.ksg[-1].mean() + 4 * bias.ksg_se[-1] < -10
    assert np.allclose(bias.ksg_se, bias.ksg.std(axis=1, ddof=1) / 2)


def test_near_copies_are_near_singular_and_the_estimators_split_by_regime():
    """On near-copies the plain Gaussian fit is exact on Gaussian data while the copula falls
    short, and on saturated marginals the plain fit is the one that falls short; independent
    experts (noise 1e6) read zero under both."""
    c = estimators.near_copies(6, 2, noise=0.01)
    assert np.linalg.cond(c) > 1e4 and np.allclose(c, c.T)
    t = estimators.strong_dependence([1.0, 0.01], n_samples=256, seeds=3, experts=6, dims=2)
    assert len(t) == 2 * 2 * 2 and t.pair_truth.iloc[-1] > 8 > 1 > t.pair_truth.iloc[0]
    row = t.set_index(["noise", "data", "estimator"])
    assert abs(row.loc[(0.01, "Gaussian", "plain Gaussian fit"), "pair_bias"]) < 1
    assert row.loc[(0.01, "Gaussian", "Gaussian copula"), "pair_bias"] < -3
    weak_copula = row.loc[(1.0, "saturated", "Gaussian copula")]          # 0.3 nats: noisy per seed
    assert abs(weak_copula.pair_bias) < 4 * weak_copula.pair_se + 2
    assert row.loc[(1.0, "saturated", "plain Gaussian fit"), "pair_bias"] < min(-10, weak_copula.pair_bias - 10)
    # the copula sees ranks only: saturating every coordinate changes none of its numbers
    cop = t[t.estimator == "Gaussian copula"].pivot(index="noise", columns="data", values="pair_bias")
    assert np.allclose(cop["Gaussian"], cop["saturated"])
    assert estimators.plot_strong_dependence(t).get_xscale() == "log"


def test_strong_table_is_readable():
    """The near-copies table: one row per noise, data and estimator, readable columns in the
    order the appendix names them, the bias of the pair MI with its standard error as text,
    no NaN and no "-0.0"."""
    t = estimators.strong_dependence([1.0, 0.01], n_samples=256, seeds=2, experts=4, dims=2)
    shown = estimators.strong_table(t)
    assert list(shown.columns) == [
        "noise $\\sigma$", "true pair MI (nats)", "data", "estimator",
        "bias of the pair MI (%) ± s.e.", "bias of the total correlation (%)"]
    assert len(shown) == len(t) and shown.notna().all().all()
    assert shown["noise $\\sigma$"].tolist() == t.noise.tolist()
    first = shown["bias of the pair MI (%) ± s.e."].iloc[0]
    assert first == f"{t.pair_bias.iloc[0]:+.1f} ± {t.pair_se.iloc[0]:.1f}".replace("-0.0 ", "+0.0 ")
    near_zero = t.assign(pair_bias=-0.01, tc_bias=-0.01, pair_se=np.nan)
    again = estimators.strong_table(near_zero)
    assert (again["bias of the pair MI (%) ± s.e."] == "+0.0 ± -").all()
    assert not np.signbit(again["bias of the total correlation (%)"]).any()
    assert len(estimators.STRONG_TABLE_FORMAT) == len(shown.columns)


def test_discrete_systems_have_the_exact_signs_and_values():
    table = discrete_o_information([3, 4], 20000, np.random.default_rng(0))
    assert table.n.tolist() == [3, 4]
    assert np.allclose(table.exact, [np.log(2), 2 * np.log(2)])
    assert worst_discrete_error(table) < 0.02
    assert (table.giant > 0).all() and (table.parity < 0).all()


def test_reference_exponents():
    hurst = hurst_references(600, seeds=2, n_surrogates=3, seed=0)
    assert [h.truth for h in hurst.values()] == [0.5, 0.3, 0.8]
    assert np.all(np.abs(hurst["white"].estimates - 0.5) < 0.15)
    assert hurst["fgn 0.8"].estimates.min() > hurst["fgn 0.3"].estimates.max()
    assert hurst["white"].test.alternative == "two-sided" and len(hurst["white"].test.surrogates) == 3
    lyap = lyapunov_references(600, 3, np.random.default_rng(0))
    assert abs(lyap["logistic"].test.statistic - np.log(2)) < 0.1
    assert lyap["damped"].test.statistic <= 0 and lyap["noise"].truth is None
    assert lyap["logistic"].test.alternative == "greater"


def test_plateau_staircase_finds_every_plateau():
    check = plateau_staircase(seed=0)
    assert len(check.true_plateaus) == len(estimators.STAIRCASE_LEVELS)
    assert len(check.found) == len(check.true_plateaus)
    assert check.boundary_error <= check.window == len(check.curve) // 100
    assert check.found[-1].escape is None


def test_boundary_error_is_infinite_when_counts_differ():
    check = estimators.StaircaseCheck(np.ones(10), [(0, 4), (6, 9)], [], 5)
    assert check.boundary_error == np.inf


def test_ray_toy_rl_lingers_near_the_saddles():
    check = ray_toy(4, t_max=300)
    sup, rl = check.toy["supervised"], check.toy["rl"]
    assert len(check.starts) == 16 and sup.kind == "supervised" and rl.kind == "rl"
    assert check.saddle == {"supervised": float(np.median(sup.saddle_time)), "rl": float(np.median(rl.saddle_time))}
    assert check.lingers == np.mean(rl.saddle_time >= 10 * np.maximum(sup.saddle_time, 0.1))
    assert check.saddle["rl"] > 10 * max(check.saddle["supervised"], 0.1)


def test_figures_draw_every_series():
    by_system = [gaussian_case(2, 1, 300, 2), gaussian_case(4, 2, 300, 2)]
    by_size = [gaussian_case(8, 2, n, 2) for n in (300, 1500)]
    ax1, ax2 = estimators.plot_gaussian(by_system, by_size)
    assert len(ax1.containers) == len(MEASURES) == len(ax2.containers)
    assert [t.get_text() for t in ax1.texts] == ["2x1", "4x2"]
    assert ax1.get_title() == "Gaussian copula, 300 samples" and ax2.get_title() == "8 experts x 2 dims"
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["300", "1k"]

    hurst = hurst_references(300, seeds=2, n_surrogates=3)
    ax = estimators.plot_hurst(hurst)
    assert [t.get_text() for t in ax.get_xticklabels()] == [h.label for h in hurst.values()]
    ax = estimators.plot_lyapunov(lyapunov_references(300, 3, np.random.default_rng(0)))
    assert len(ax.get_xticklabels()) == 4 and ax.get_ylim() == (-0.15, 0.9)

    check = plateau_staircase(levels=(1.0, 0.1), lengths=(500, 500))
    ax = estimators.plot_staircase(check)
    assert ax.get_yscale() == "log"
    axes = estimators.plot_ray_toy(ray_toy(2, t_max=50))
    assert [a.get_title() for a in axes] == ["Supervised", "RL (on-policy)"]
    assert axes[0].get_xlim()[0] < 0 and axes[0].get_ylim()[1] > 1   # paths off the frame
    assert len(axes[0].figure.legends) == 1


def test_grouped_systems_exact_values_are_dits():
    """exact_information, which the appendix shows as "exact", equals dit's rvs-grouped
    TC, B, O and S (to 1e-9 nats) for every system and grouping, and the systems are the
    dit examples the docstring names."""
    dit = pytest.importorskip("dit")
    ex, m, ln2 = dit.example_dists, dit.multivariate, np.log(2)
    named = {"XOR": ex.Xor(), "6-bit parity": ex.n_mod_m(6, 2), "ternary sum": ex.n_mod_m(4, 3),
             "giant bit": ex.giant_bit(4, 2)}
    for system in estimators.grouped_systems():
        words = ["".join(map(str, row)) for row in system.table]
        assert sorted(words) == sorted("".join(o) for o in named[system.name].outcomes), system.name
        d = dit.Distribution(words, system.pmf.tolist())
        assert len(system.groupings) == 2 and max(map(len, system.groupings[1])) == 1
        for grouping in system.groupings:
            rvs = [list(part) for part in grouping]
            exact = estimators.exact_information(system.table, system.pmf, grouping)
            for key, fn in (("total_correlation", m.total_correlation),
                            ("binding_information", m.dual_total_correlation),
                            ("o_information", m.o_information), ("s_information", m.s_information)):
                assert getattr(exact, key) == pytest.approx(fn(d, rvs) * ln2, abs=1e-9), (system.name, rvs, key)


def test_grouped_discrete_estimates_and_grouping_matters():
    """From 20 000 samples every estimate is within 0.02 nats of the exact value (largest
    error measured 0.0005), and in every system the vector-valued parts read an O at least
    ln 2 away from the scalar parts', in the exact values and in the estimates alike."""
    t = estimators.grouped_discrete(20000)
    assert len(t) == 2 * len(estimators.grouped_systems())
    assert estimators.worst_grouped_error(t) < 0.02
    assert t.groupby("system").vector.sum().eq(1).all()
    for column in ("o", "o_est"):
        by = t.pivot(index="system", columns="vector", values=column)
        assert ((by[True] - by[False]).abs() > np.log(2) - 0.02).all(), by
    assert t.loc[0, "parts"] == "(x0 x1) | x2" and t.loc[1, "parts"] == "x0 | x1 | x2"
    shown = estimators.grouped_table(t)
    assert len(shown.columns) == len(estimators.GROUPED_TABLE_FORMAT) == 8
    assert shown["O exact"].tolist() == (t.o + 0.0).tolist()


def test_sign_xor_truth_from_its_signs():
    """All the dependence of sign_xor is in the signs (the magnitudes are independent of
    everything), so the plug-in estimate on the signs alone, exact for discrete data, reads
    its exact values: TC, B, O within 0.01 nats of SIGN_XOR_TRUTH at 50 000 samples (sd of
    such plug-in entropies ~0.003). Each pair is independent: its sign MI is below 0.001."""
    parts = estimators.sign_xor(50000, seed=0)
    signs = [np.sign(p) for p in parts]
    est = info.information_summary(signs, method="binned")
    truth = estimators.SIGN_XOR_TRUTH
    assert truth.o_information == pytest.approx(-np.log(2))
    for key in ("total_correlation", "binding_information", "o_information"):
        assert abs(getattr(est, key) - getattr(truth, key)) < 0.01, key
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(info.mutual_information(signs[i], signs[j], method="binned")) < 0.001


def test_copula_is_blind_to_pure_synergy_and_ksg_is_not():
    """sign_xor (truth TC = ln 2, O = -ln 2, 2000 samples, 5 seeds): the Gaussian copula reads
    |TC| and |O| < 0.02 nats on every seed. Why 0.02: with pairwise independent data its TC
    is ~ half the sum of the 3 squared rank correlations, about 3 / (2n) = 0.0008 nats at n =
    2000, and its O smaller still (measured: |TC| <= 0.002, |O| < 0.0001 over 20 seeds).
    KSG reads O < -0.3 and TC > 0.3 on every seed: it measured O = -0.57 +- 0.014 over 20
    seeds (short of -ln 2, since the density jumps at the sign boundaries), so -0.3 is 19 sd
    away from it and still under half the truth.

    Negative control, the redundant noisy copies (truth O = +0.40): both estimators read
    O > 0.2 on every seed (measured 0.37-0.43)."""
    t = estimators.synergy_check(2000, seeds=5)
    assert len(t) == 2 * 2 * 5
    syn = t[t.system == "synergistic"].set_index(["estimator", "seed"])
    copula, ksg = syn.loc["Gaussian copula"], syn.loc["KSG"]
    assert (copula.tc.abs() < 0.02).all() and (copula.o.abs() < 0.02).all(), copula
    assert (ksg.o < -0.3).all() and (ksg.tc > 0.3).all(), ksg
    assert (ksg.b > ksg.tc).all()   # synergy: binding exceeds total correlation
    red = t[t.system == "redundant"]
    assert (red.o > 0.2).all(), red
    truth = estimators.synergy_truth()
    assert truth["redundant"].o_information == pytest.approx(0.4008, abs=1e-4)
    assert truth["synergistic"] == estimators.SIGN_XOR_TRUTH


def test_synergy_figure_draws_every_bar():
    t = estimators.synergy_check(300, seeds=2)
    axes = estimators.plot_synergy(t)
    assert [a.get_title() for a in axes] == ["synergistic: Z = sign(XY)|W|", "redundant: three noisy copies"]
    for ax in axes:
        bars = [c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer)]
        assert len(bars) == 1 + len(estimators.SYNERGY_ESTIMATORS)   # exact + each estimator
        assert [t.get_text() for t in ax.get_xticklabels()] == ["TC", "B", "O"]
