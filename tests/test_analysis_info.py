"""Information estimators against ground truth: Gaussian closed forms and dit's exact values.

Tolerances are set from measured spreads (20 seeds, see each docstring) at about 4 standard
deviations, so a test fails when an estimator is wrong, not when a seed is unlucky; all seeds
are fixed, so runs are reproducible.
"""
from __future__ import annotations

import ast
import doctest
import itertools
import pathlib
import warnings

import numpy as np
import pytest

from badgerlib.analysis import info
from badgerlib.analysis.info import (
    DegenerateDataWarning, binding_information, entropy, gaussian_closed_form,
    information_summary, mutual_information, o_information, pairwise_mutual_information,
    random_covariance, s_information, total_correlation,
)

LN2 = np.log(2.0)


def sample(cov, n, seed):
    """n samples of N(0, cov)."""
    return np.random.default_rng(seed).standard_normal((n, len(cov))) @ np.linalg.cholesky(cov).T


def split(z, sizes):
    return np.split(z, np.cumsum(sizes)[:-1], axis=1)


def correlated_pair(d, rho, n, seed):
    """x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) e: I(x; y) = -d/2 ln(1 - rho^2)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, rho * x + np.sqrt(1 - rho ** 2) * rng.standard_normal((n, d)), -0.5 * d * np.log(1 - rho ** 2)


def synergistic_cov(noise=0.3):
    """X1, X2 independent, X3 = X1 + X2 + noise: a synergy-dominated Gaussian (O < 0)."""
    a = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, noise]])
    return a @ a.T


# ------------------------------------------------------------------ Gaussian closed forms
@pytest.mark.parametrize("d, rho, n", [(1, 0.5, 1000), (1, 0.9, 5000), (4, 0.6, 2000), (8, 0.5, 5000)])
def test_mutual_information_matches_gaussian_closed_form(d, rho, n):
    """Gaussian-copula MI against -d/2 ln(1 - rho^2), within :func:`sampling_tol` (5 sd)."""
    x, y, truth = correlated_pair(d, rho, n, seed=d)
    assert truth == pytest.approx(gaussian_closed_form(np.block([[np.eye(d), rho * np.eye(d)],
                                                                 [rho * np.eye(d), np.eye(d)]]),
                                                       [d, d]).total_correlation)
    est = mutual_information(x, y)
    assert abs(est - truth) < sampling_tol(truth, n), (est, truth)


def sampling_tol(truth, n, measure="total_correlation"):
    """0.01 + 5 standard deviations of a Gaussian information estimate.

    The sd of such an estimate is close to c * sqrt(2 I / n) (``gaussian_estimate_sd``):
    measured over 30 seeds for every system below, c is 0.9-1.3 for MI, TC, B and O and
    1.5-1.6 for S (= TC + B, whose errors add); 0.01 nats absorbs the copula's small bias
    (|bias| <= 0.01 measured).
    """
    return 0.01 + 5 * info.gaussian_estimate_sd(truth, n, measure=measure)


@pytest.mark.parametrize("parts, dims, n", [(3, 1, 2000), (3, 2, 5000), (8, 1, 5000),
                                            (8, 4, 5000), (16, 4, 5000)])
def test_multivariate_measures_match_gaussian_closed_form(parts, dims, n):
    """TC, binding information, O- and S-information of a random Gaussian (3-16 experts,
    1-4 dims each, 2000-5000 samples) against the closed form from its covariance, within
    :func:`sampling_tol` (5 sd; the largest error seen over 30 seeds was 2.6 sd)."""
    cov = random_covariance(parts * dims, coupling=1.0, seed=parts * dims)
    truth = gaussian_closed_form(cov, [dims] * parts)
    est = information_summary(split(sample(cov, n, seed=1), [dims] * parts))
    for name in ("total_correlation", "binding_information", "o_information", "s_information"):
        t, e = getattr(truth, name), getattr(est, name)
        assert abs(e - t) < sampling_tol(t, n, name), (name, e, t)


def test_estimates_average_to_the_truth_across_seeds():
    """Bias check: the mean of 30 seeds (8 experts x 2 dims, n = 2000) is within 0.025 nats
    of the closed form for every measure. Over 60 seeds the bias measured 0.001-0.008 nats
    with a standard error of the 30-seed mean of 0.003 (O) to 0.011 (S)."""
    cov = random_covariance(16, coupling=1.5, seed=3)
    truth = gaussian_closed_form(cov, [2] * 8).as_dict()
    ests = [information_summary(split(sample(cov, 2000, s), [2] * 8)).as_dict() for s in range(30)]
    for name, t in truth.items():
        assert abs(np.mean([e[name] for e in ests]) - t) < 0.025, name


def test_synergistic_gaussian_has_negative_o_information():
    """X3 = X1 + X2 + noise: closed-form O < 0, and the estimate within 0.05 nats of it."""
    cov = synergistic_cov()
    truth = gaussian_closed_form(cov, [1, 1, 1])
    assert truth.o_information < -0.3
    est = o_information(sample(cov, 5000, seed=0))
    assert est < 0 and abs(est - truth.o_information) < 0.05


def test_two_part_identities():
    """For two parts TC = B = MI and O = 0 exactly, S = 2 MI."""
    x, y, _ = correlated_pair(2, 0.7, 3000, seed=0)
    s = information_summary([x, y])
    mi = mutual_information(x, y)
    assert s.total_correlation == pytest.approx(mi)
    assert s.binding_information == pytest.approx(mi)
    assert s.o_information == pytest.approx(0.0, abs=1e-12)
    assert s.s_information == pytest.approx(2 * mi)


def test_bias_correction_removes_small_sample_bias():
    """Independent parts, 64 dims, 300 samples: uncorrected TC reads ~3 nats of spurious
    dependence (the log-det of a sample covariance is biased), the corrected one < 0.3."""
    z = np.random.default_rng(0).standard_normal((300, 16, 4))
    raw = total_correlation(z, bias_correct=False)
    corrected = total_correlation(z)
    assert raw > 2.0
    assert abs(corrected) < 0.3


def test_entropy_matches_gaussian_closed_form():
    """Gaussian entropy 0.5 ln det(2 pi e C): parametric estimate within 0.02 nats (sd ~0.005
    at n = 10000, 4 dims); KSG (Kozachenko-Leonenko) within 0.1 (its bias at 4 dims)."""
    cov = random_covariance(4, coupling=2.0, seed=5) * 3.0
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    z = sample(cov, 10000, seed=2)
    assert abs(entropy(z) - truth) < 0.02
    assert abs(entropy(z, method="ksg") - truth) < 0.1


def test_ksg_is_accurate_in_low_dimension_and_biased_low_in_high():
    """KSG MI: within 0.05 nats at 1 + 1 dims (sd 0.016 measured); at 8 + 8 dims it
    underestimates by more than 10 % (the documented bias), while the copula does not."""
    x, y, truth = correlated_pair(1, 0.8, 2000, seed=0)
    assert abs(mutual_information(x, y, method="ksg") - truth) < 0.05
    x, y, truth = correlated_pair(8, 0.5, 2000, seed=0)
    ksg = mutual_information(x, y, method="ksg")
    assert ksg < 0.9 * truth
    assert abs(mutual_information(x, y) - truth) < 0.05


def test_ksg_multivariate_measures_on_a_small_system():
    """KSG TC and S (hence B, O) on 3 scalar Gaussian parts: within 0.06 nats of the truth."""
    cov = random_covariance(3, coupling=2.0, seed=0)
    truth = gaussian_closed_form(cov, [1, 1, 1])
    est = information_summary(sample(cov, 3000, seed=0), method="ksg")
    for name, t in truth.as_dict().items():
        assert abs(getattr(est, name) - t) < 0.06, (name, getattr(est, name), t)


def test_pca_keeps_the_information_of_the_leading_components():
    """Each expert has 2 informative high-variance dims and 10 weak noise dims: with
    pca_dims=2 the MI equals that of the informative dims (to 0.02 nats)."""
    rng = np.random.default_rng(0)
    x, y, truth = correlated_pair(2, 0.8, 4000, seed=1)
    wide_x = np.hstack([10 * x, 0.1 * rng.standard_normal((4000, 10))])
    wide_y = np.hstack([10 * y, 0.1 * rng.standard_normal((4000, 10))])
    assert abs(mutual_information(wide_x, wide_y, pca_dims=2) - truth) < 0.02 + 0.03 * truth
    with pytest.raises(ValueError, match="pca_dims"):
        mutual_information(wide_x, wide_y, pca_dims=0)


def test_copula_makes_mi_invariant_to_monotone_transforms():
    """I(f(x); g(y)) = I(x; y) for monotone f, g: the copula estimate is unchanged exactly."""
    x, y, _ = correlated_pair(1, 0.7, 2000, seed=3)
    assert mutual_information(np.exp(x), y ** 3) == pytest.approx(mutual_information(x, y), abs=1e-12)


# ------------------------------------------------------------------- discrete, via dit
dit = pytest.importorskip("dit")


def copy_system():
    """X_i = (a, n_i), i = 1..3: one shared bit a copied into every part plus a private bit."""
    outcomes = [(f"{a}{n1}", f"{a}{n2}", f"{a}{n3}") for a, n1, n2, n3 in itertools.product("01", repeat=4)]
    return dit.Distribution(outcomes, [1 / 16] * 16)


def dit_systems():
    ex = dit.example_dists
    return {
        "copy": (copy_system(), +1),
        "giant_bit(5,2)": (ex.giant_bit(5, 2), +1),
        "giant_bit(3,3)": (ex.giant_bit(3, 3), +1),
        "xor": (ex.Xor(), -1),
        "n_mod_m(5,2)": (ex.n_mod_m(5, 2), -1),
        "n_mod_m(3,3)": (ex.n_mod_m(3, 3), -1),
    }


def dit_truth(d):
    m = dit.multivariate
    return {"total_correlation": m.total_correlation(d) * LN2,
            "binding_information": m.binding_information(d) * LN2,
            "o_information": m.o_information(d) * LN2,
            "s_information": m.s_information(d) * LN2}


def as_parts(outcomes):
    """dit outcomes (tuples of symbol strings) -> one int array per variable, a column per
    character of its symbol."""
    n_vars = len(outcomes[0])
    return [np.array([[int(ch) for ch in o[i]] for o in outcomes]) for i in range(n_vars)]


@pytest.fixture(scope="module")
def systems():
    """Each dit system with its exact measures (nats), outcome table and pmf, computed once
    (dit's ``outcomes`` property is slow, so it is read only here)."""
    out = {}
    for name, (d, sign) in dit_systems().items():
        outcomes = list(d.outcomes)
        out[name] = dict(truth=dit_truth(d), sign=sign, table=as_parts(outcomes),
                         pmf=np.asarray(d.pmf, dtype=float))
    return out


@pytest.mark.parametrize("name", list(dit_systems()))
def test_binned_plugin_equals_dit_exactly_on_the_exact_distribution(name, systems):
    """With every outcome repeated in proportion to its probability the plug-in estimator
    (no bias correction) IS the exact distribution: TC, B, O, S equal dit's to 1e-9 nats.
    This checks the subset-entropy algebra of every measure, including multi-column parts."""
    sy = systems[name]
    reps = np.round(sy["pmf"] * 720).astype(int)  # 720 = a multiple of every pmf denominator
    assert np.allclose(reps / 720, sy["pmf"])
    idx = np.repeat(np.arange(len(reps)), reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)  # giant bits are duplicates
        est = information_summary([p[idx] for p in sy["table"]], method="binned", bias_correct=False)
    for key, t in sy["truth"].items():
        assert getattr(est, key) == pytest.approx(t, abs=1e-9), key


@pytest.mark.parametrize("name", list(dit_systems()))
def test_binned_estimate_from_samples_matches_dit_and_sign(name, systems):
    """20 000 samples drawn from the dit distribution: every measure within 0.02 nats of the
    exact value (plug-in + Miller-Madow; the sampling sd of these uniform-support entropies
    is < 0.005 nats), and O-information has the right sign: redundancy (copy, giant bit)
    positive, synergy (XOR, n-mod-m) negative."""
    sy = systems[name]
    idx = np.random.default_rng(0).choice(len(sy["pmf"]), size=20000, p=sy["pmf"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        est = information_summary([p[idx] for p in sy["table"]], method="binned")
    for key, t in sy["truth"].items():
        assert abs(getattr(est, key) - t) < 0.02, (key, getattr(est, key), t)
    assert np.sign(est.o_information) == sy["sign"]


def test_reference_values_from_the_literature():
    """dit's O-information of giant_bit(5,2) is +3 bits and of n_mod_m(5,2) -3 bits."""
    ex = dit.example_dists
    assert dit.multivariate.o_information(ex.giant_bit(5, 2)) == pytest.approx(3.0)
    assert dit.multivariate.o_information(ex.n_mod_m(5, 2)) == pytest.approx(-3.0)


def test_binned_entropy_of_discrete_data_matches_dit():
    """Joint entropy of n_mod_m(3,3) samples: within 0.01 nats of dit's 2 log2(3) bits."""
    d = dit.example_dists.n_mod_m(3, 3)
    table = np.hstack(as_parts(list(d.outcomes)))
    z = table[np.random.default_rng(1).choice(len(table), size=20000, p=np.asarray(d.pmf))]
    assert abs(entropy(z, method="binned") - dit.shannon.entropy(d) * LN2) < 0.01



# ------------------------------------------- vector-valued (grouped) parts, via dit
def grouped_dit_systems():
    """dit systems of 3-6 binary or ternary variables, each with one grouping into
    vector-valued parts (a part holds several variables, as dit's ``rvs`` does). Grouped
    and scalar (one variable per part) they give different values (see
    :func:`test_grouping_changes_the_exact_answer`), so an estimator that flattened a
    multi-column part into scalar variables would fail the tests below."""
    ex = dit.example_dists
    return {
        "xor": (ex.Xor(), [[0, 1], [2]]),
        "parity(6) in pairs": (ex.n_mod_m(6, 2), [[0, 1], [2, 3], [4, 5]]),
        "sum mod 3": (ex.n_mod_m(4, 3), [[0, 1], [2], [3]]),
        "giant_bit(4,2)": (ex.giant_bit(4, 2), [[0, 1], [2], [3]]),
    }


def dit_grouped_truth(d, rvs):
    """dit's exact TC, B, O, S (nats) of ``d`` with the parts ``rvs``."""
    m = dit.multivariate
    return {"total_correlation": m.total_correlation(d, rvs) * LN2,
            "binding_information": m.dual_total_correlation(d, rvs) * LN2,
            "o_information": m.o_information(d, rvs) * LN2,
            "s_information": m.s_information(d, rvs) * LN2}


@pytest.fixture(scope="module")
def grouped_systems():
    """Each system's outcome table (outcomes, variables), pmf and dit's exact measures
    grouped (``"vector"``) and with every variable its own part (``"scalar"``)."""
    out = {}
    for name, (d, grouping) in grouped_dit_systems().items():
        table = np.array([[int(ch) for ch in o] for o in d.outcomes])
        scalar = [[v] for v in range(table.shape[1])]
        out[name] = dict(table=table, pmf=np.asarray(d.pmf, dtype=float),
                         groupings={"vector": grouping, "scalar": scalar},
                         truth={"vector": dit_grouped_truth(d, grouping),
                                "scalar": dit_grouped_truth(d, scalar)})
    return out


def grouped_parts(table, grouping):
    """One part per group: the (samples, len(group)) array of its variables' columns."""
    return [table[:, g] for g in grouping]


@pytest.mark.parametrize("kind", ["vector", "scalar"])
@pytest.mark.parametrize("name", list(grouped_dit_systems()))
def test_grouped_parts_equal_dit_exactly_on_the_exact_distribution(name, kind, grouped_systems):
    """Every system is uniform on its outcomes, so its outcome table (each row once, here
    repeated 10 times) IS the exact distribution: the plug-in estimator (no bias
    correction) on parts of several columns equals dit's ``rvs``-grouped TC, B, O and S to
    1e-9 nats, and so it does on scalar parts."""
    sy = grouped_systems[name]
    assert np.allclose(sy["pmf"], sy["pmf"][0])
    table = np.tile(sy["table"], (10, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)  # the giant bit's copies
        est = information_summary(grouped_parts(table, sy["groupings"][kind]), method="binned",
                                  bias_correct=False)
    for key, t in sy["truth"][kind].items():
        assert getattr(est, key) == pytest.approx(t, abs=1e-9), key


@pytest.mark.parametrize("name", list(grouped_dit_systems()))
def test_grouped_parts_from_samples_match_dit(name, grouped_systems):
    """20 000 samples, binned with Miller-Madow: every grouped measure within 0.02 nats of
    dit's (the same tolerance as the scalar systems above; the largest error measured was
    0.0005 nats)."""
    sy = grouped_systems[name]
    idx = np.random.default_rng(1).choice(len(sy["pmf"]), size=20000, p=sy["pmf"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        est = information_summary(grouped_parts(sy["table"][idx], sy["groupings"]["vector"]),
                                  method="binned")
    for key, t in sy["truth"]["vector"].items():
        assert abs(getattr(est, key) - t) < 0.02, (key, getattr(est, key), t)


@pytest.mark.parametrize("name", list(grouped_dit_systems()))
def test_grouping_changes_the_exact_answer(name, grouped_systems):
    """The guard behind the tests above: grouped and scalar parts differ by at least
    0.69 nats (ln 2) in B or O for every system (e.g. XOR: O = 0 for (x0 x1) | x2, -ln 2
    for x0 | x1 | x2), so a flattening bug could not pass them."""
    truth = grouped_systems[name]["truth"]
    gap = max(abs(truth["vector"][k] - truth["scalar"][k]) for k in ("binding_information", "o_information"))
    assert gap > np.log(2) - 1e-9, (name, truth)

# ------------------------------------------------------------------- degenerate data
DEGENERATE = {
    "constant unit": lambda z: [np.c_[z[:, :2], np.ones(len(z))], z[:, 2:4], z[:, 4:6]],
    "identical experts": lambda z: [z[:, :2], z[:, :2].copy(), z[:, 4:6]],
    "all constant": lambda z: [np.ones((len(z), 2)), np.zeros((len(z), 2)), np.ones((len(z), 1))],
}


@pytest.mark.parametrize("case", list(DEGENERATE))
@pytest.mark.parametrize("method", info.METHODS)
def test_rank_deficient_data_is_finite_and_warns(case, method):
    """A constant unit or two identical experts: every measure is finite (never NaN, never a
    crash) and a DegenerateDataWarning says why."""
    z = np.random.default_rng(0).standard_normal((600, 6))
    parts = DEGENERATE[case](z)
    fns = [total_correlation, binding_information, o_information, s_information]
    for fn in fns:
        with pytest.warns(DegenerateDataWarning):
            value = fn(parts, method=method)
        assert np.isfinite(value), (fn.__name__, value)
    with pytest.warns(DegenerateDataWarning):
        assert np.isfinite(mutual_information(parts[0], parts[1], method=method))
    with pytest.warns(DegenerateDataWarning):
        assert np.all(np.isfinite(pairwise_mutual_information(parts, method=method)))
    with pytest.warns(DegenerateDataWarning):
        assert np.isfinite(entropy(np.hstack(parts), method=method))


def test_constant_unit_adds_no_information_and_copies_are_capped():
    """A constant column changes the Gaussian TC by < 0.005 nats; identical experts read the
    documented ridge cap (~6.6 nats per dimension), finite."""
    z = np.random.default_rng(1).standard_normal((2000, 3)) @ np.linalg.cholesky(random_covariance(3, seed=1)).T
    base = total_correlation(z)
    with pytest.warns(DegenerateDataWarning):
        with_const = total_correlation([z[:, 0], z[:, 1], np.c_[z[:, 2], np.zeros(2000)]])
    assert abs(with_const - base) < 0.005
    with pytest.warns(DegenerateDataWarning):
        mi = mutual_information(z, z)
    assert 3 * 6.0 < mi < 3 * 7.0


# ------------------------------------------------------------------------ pairwise matrix
def test_pairwise_matrix_matches_pairwise_estimates_and_closed_form():
    """Symmetric, zero diagonal, each entry equal to mutual_information of that pair, and
    within 0.03 nats of the closed form of that pair's block of the covariance."""
    cov = random_covariance(12, coupling=2.0, seed=4)
    z = sample(cov, 4000, seed=0)
    snap = z.reshape(4000, 6, 2)  # (samples, experts, dims)
    m = pairwise_mutual_information(snap)
    assert m.shape == (6, 6)
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    for i, j in itertools.combinations(range(6), 2):
        assert m[i, j] == pytest.approx(mutual_information(snap[:, i], snap[:, j]), abs=1e-10)
        idx = [2 * i, 2 * i + 1, 2 * j, 2 * j + 1]
        truth = gaussian_closed_form(cov[np.ix_(idx, idx)], [2, 2]).total_correlation
        assert abs(m[i, j] - truth) < 0.03
    ksg = pairwise_mutual_information(snap[:1000], method="ksg")
    assert ksg.shape == (6, 6) and np.allclose(ksg, ksg.T)


# ----------------------------------------------------------------------- inputs & layout
def test_part_layouts_are_equivalent():
    """A list of arrays, a (samples, parts, dims) array and, for scalar parts, a (samples,
    parts) array all give the same number."""
    z = sample(random_covariance(6, seed=2), 1000, seed=0)
    as_list = total_correlation([z[:, 0:2], z[:, 2:4], z[:, 4:6]])
    assert total_correlation(z.reshape(1000, 3, 2)) == pytest.approx(as_list)
    assert total_correlation(z) == pytest.approx(total_correlation([z[:, i] for i in range(6)]))


@pytest.mark.parametrize("call, match", [
    (lambda: mutual_information(np.zeros((10, 2)), np.zeros((11, 2))), "x has 10 samples and y has 11"),
    (lambda: mutual_information(np.ones(10), np.ones(10), method="magic"), "method='magic'"),
    (lambda: total_correlation([np.ones(10)]), "at least 2"),
    (lambda: total_correlation([np.r_[np.nan, np.ones(9)], np.ones(10)]), "NaN"),
    (lambda: total_correlation(np.zeros((10, 2, 2, 2))), "shape"),
    (lambda: total_correlation(np.random.default_rng(0).standard_normal((20, 5, 5))), "at least 27 samples"),
    (lambda: mutual_information(np.ones(3), np.ones(3), method="ksg", k=3), "k=3 needs at least 5"),
    (lambda: entropy(np.arange(100.0), method="binned", bins=1), "bins=1"),
    (lambda: gaussian_closed_form(np.eye(3), [1, 1]), "sizes"),
])
def test_bad_input_raises_a_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_docstring_examples_run():
    assert doctest.testmod(info, optionflags=doctest.ELLIPSIS).failed == 0


def test_analysis_imports_no_torch_nolds_or_training_code_at_module_level():
    """DESIGN: analysis never imports train/model/store; torch and nolds only inside the
    functions that need them (static check of every module's top-level imports)."""
    forbidden = {"torch", "nolds", "badgerlib.train", "badgerlib.model", "badgerlib.store", "sklearn"}
    pkg = pathlib.Path(info.__file__).parent
    for path in pkg.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # top level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (path.name, name)
        for node in ast.walk(tree):  # and never the training code, anywhere
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("badgerlib.train", "badgerlib.model", "badgerlib.store")), path.name


def test_pairwise_works_when_the_snapshot_is_wider_than_the_sample():
    """20 experts x 8 dims (160 columns) on 100 samples: too few for one joint covariance,
    enough for each 16-dim pair; pair-by-pair results equal mutual_information, no warning."""
    snap = np.random.default_rng(0).standard_normal((100, 20, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateDataWarning)
        m = pairwise_mutual_information(snap)
    assert m[3, 7] == pytest.approx(mutual_information(snap[:, 3], snap[:, 7]))
    assert np.all(np.isfinite(m))
