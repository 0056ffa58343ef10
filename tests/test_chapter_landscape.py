"""Chapter 8's measurements on small trained agents, against exact references: the dense
Hessian for Lanczos, identical experts for the asymmetry, known walks for the diffusion
exponent, linear consensus for DMD."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig
from badgerlib.analysis.landscape import dense_hessian
from badgerlib.analysis.stats import sign_interval
from badgerlib.chapters import landscape as ch
from badgerlib.chapters import standard
from badgerlib.objective import flat_objective
from badgerlib.run import build_model
from badgerlib.train import train

SMALL = ch.Sizes(n=2, fine_seeds=1, fine_every=1, hessian_runs=1, hessian_tasks=3, k=2, tol=1e-10, walk_steps=10,
                 fdc_points=10, dmd_steps=12, dmd_tasks=2, dmd_rank=4)


@pytest.fixture(scope="module")
def small_run():
    cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=4), inner_steps=3,
                    iterations=40, batch=4, lr=1e-2, snapshot_count=41, record_states=False, seed=1)
    return train(cfg, cache=False, progress=False)


def test_fine_runs_train_exactly_as_chapter_2s_runs():
    """Snapshots draw from no training stream: more of them leave the history unchanged."""
    base = standard.standard_run(2, 0).replace(iterations=30, snapshot_count=2)
    a = train(base, cache=False, progress=False)
    b = train(base.replace(snapshot_count=31, record_states=False), cache=False, progress=False)
    assert np.array_equal(a.history["loss"], b.history["loss"])
    assert len(b.snapshots["iterations"]) == 31
    assert ch.fine_run(1).replace(snapshot_count=16, record_states=True) == standard.standard_run(4, 1, probe_series=0)


def test_the_sweep_varies_one_scale_at_a_time_and_validates_it():
    g = ch.configs(quick=True)["scale"]
    pairs = sorted({(c.model.init_scale, c.model.init_noise) for c in g})
    assert pairs == [(0.1, 0.1), (0.3, 0.1), (1.0, 0.01), (1.0, 0.1)]
    with pytest.raises(ValueError, match="init_scale"):
        ch.scale_run(0, 0.0)
    with pytest.raises(ValueError, match="quick"):
        ch.sizes("yes")


def test_curvature_matches_the_dense_hessian(small_run):
    phases = ch.snapshot_phases(small_run)
    points = ch.curvature_points(phases).iloc[[0, -1]]
    table = ch.curvature_table(small_run, points, SMALL)
    targets, noise = ch.fixed_batch(small_run.config, SMALL.hessian_tasks)
    for _, row in table.iterrows():
        model = small_run.model_at(int(row.snapshot)).double()
        loss, flat = flat_objective(model, small_run.config.task, targets, noise, small_run.config.inner_steps)
        eig = np.linalg.eigvalsh(dense_hessian(loss, flat))
        assert row.lam_min == pytest.approx(eig[0], rel=1e-6, abs=1e-9)
        assert row.lam_max == pytest.approx(eig[-1], rel=1e-6)
        assert row.negatives == int((eig[:SMALL.k] < -1e-3 * eig[-1]).sum())
        for share in (row.asym_negative, row.asym_top, row.asym_random):
            assert 0.0 <= share <= 1.0


def test_expert_asymmetry_sees_experts_that_differ():
    m = build_model(standard.standard_run(2, 0)).double()
    t, z = ch.fixed_batch(standard.standard_run(2, 0), 3, model=m)
    d = torch.randn(sum(p.numel() for p in m.parameters()), generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    share = ch.expert_asymmetry(m, GuessingGame(n=2), t, z, 4, d)
    assert 1e-4 < share < 1.0                           # noisy initial states: experts respond apart
    same = dataclasses.replace(standard.standard_run(2, 0).model, init_noise=0.0, topology="complete")
    m0 = build_model(standard.standard_run(2, 0).replace(model=same)).double()
    assert ch.expert_asymmetry(m0, GuessingGame(n=2), t, z, 4, d) < 1e-20


def test_scale_slopes_read_censored_runs_as_lower_bounds():
    t = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "scale": [0.1, 0.3, 1.0] * 2, "noise": 0.1,
                      "escape": [600.0, 300.0, 100.0, 500.0, 400.0, 100.0],
                      "censored": [True, False, False, False, False, False]})
    s = ch.scale_slopes(t, fixed={"noise": 0.1})
    assert s.censored.tolist() == [1, 0] and (s.slope > 0).all()
    assert ch.scale_slopes(t, "noise").empty            # a single noise: no slope


def test_walk_exponents_tell_drift_from_diffusion():
    rng = np.random.default_rng(0)
    ph = pd.DataFrame({"snapshot": range(200), "iteration": range(200), "phase": "plateau", "plateau": 0,
                       "unsolved": 2.0, "final": False, "probe_error": np.cumsum(rng.normal(size=200))})
    drift = np.outer(np.arange(200.0), rng.normal(size=30)) + 0.01 * rng.normal(size=(200, 30))

    class R:
        config = standard.standard_run(2)
        snapshots = {"param.w": drift}

    t = ch.walk_table(R, ph)
    assert t.alpha_weights[0] == pytest.approx(2.0, abs=0.1)
    assert t.alpha_shuffled[0] == pytest.approx(1.0, abs=0.25)
    assert t.straightness[0] > 0.9
    assert t.alpha_error[0] == pytest.approx(1.0, abs=0.25) and 0.3 < t.hurst_error[0] < 0.7


def test_dmd_predicts_the_linear_control_and_persistence_does_not(small_run):
    t = ch.dmd_table(small_run, SMALL)
    control = t[t.system == "linear system"]
    assert len(control) == SMALL.dmd_tasks and (control.forecast < 1e-6).all()
    assert (control.persistence > 0.1).all()
    assert all(len(e) <= SMALL.dmd_rank for e in t.eigs)


def test_landscape_metrics_are_finite_and_bounded(small_run):
    points = ch.curvature_points(ch.snapshot_phases(small_run)).iloc[[0, -1]]
    t = ch.metric_table(small_run, points, SMALL)
    assert t.autocorr.between(-1, 1).all() and t.fdc.between(-1, 1).all()
    start, end = t.distance_to_end
    assert start > 0 and end == 0                       # the end is the reference point itself


def test_the_finding_checks_fail_where_they_should():
    """The saddle check on points with no negative curvature, and the scale check on a sweep
    whose plateau does not lengthen, read as failures (the chapter asserts exactly these)."""
    curv = pd.DataFrame({"seed": 0, "point": ["plateau 0", "plateau 1", "plateau 2", "end"],
                         "final": [False, False, True, True], "unsolved": [2.0, 1.0, 0.0, 0.0],
                         "lam_min": [0.5, -1.0, 0.2, 0.2], "lam_max": 10.0, "negatives": [0, 1, 0, 0],
                         "asym_negative": 0.1, "asym_random": 0.2})
    curv["ratio"] = curv.lam_min / curv.lam_max
    walks = pd.DataFrame({"alpha_weights": [1.0], "alpha_shuffled": [1.0], "straightness": [0.1], "final": [False]})
    flat = pd.DataFrame({"seed": [0, 0, 1, 1], "scale": [0.1, 1.0] * 2, "noise": 0.1,
                         "escape": [100.0, 120.0, 90.0, 80.0], "censored": False})
    dmd = pd.DataFrame({"system": ["inner loop", "linear system"], "forecast": [0.1, 1e-9], "persistence": [0.5, 1.0]})
    metrics = pd.DataFrame({"point": ["plateau 0"], "autocorr": [0.5], "fdc": [0.0]})
    f = ch.findings(curv, walks, flat, dmd, metrics)
    assert f["saddle_share"] == 0.5 and f["end_negative"] == 0.0
    assert f["weight_slopes"]["share_positive"] < 1.0
    v = ch.verdict(f, ch.QUICK, True)["verdict"]
    assert v.startswith("Partly reproduced. Not every plateau") and "random walk" in v
    assert ch.readings(f)["walk_reading"] == "The weights walk at random."


def test_dmd_of_the_weights_predicts_a_linear_walk_and_not_a_random_one():
    rng = np.random.default_rng(1)
    ph = pd.DataFrame({"snapshot": range(60), "iteration": range(60), "phase": "plateau", "plateau": 0,
                       "unsolved": 2.0, "final": False, "probe_error": rng.normal(size=60)})

    class Linear:
        config = standard.standard_run(2)
        snapshots = {"param.w": ch.linear_trajectory(40, 59, modes=4)}

    class Random:
        config = standard.standard_run(2)
        snapshots = {"param.w": np.cumsum(rng.normal(size=(60, 40)), axis=0)}

    assert ch.walk_table(Linear, ph, rank=4).dmd_weights[0] < 1e-6
    assert ch.walk_table(Random, ph, rank=4).dmd_weights[0] > 0.5


def test_the_saddle_threshold_reads_a_convex_objective_as_no_saddle():
    """Lanczos at the chapter's quick tolerance on a positive definite quadratic (eigenvalues
    0.01 to 5): no eigenvalue below -0.001 times the largest, so the saddle check would fail."""
    from badgerlib.analysis.landscape import hessian_extremes

    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.normal(size=(50, 50)))
    A = torch.tensor(Q @ np.diag(np.linspace(0.01, 5, 50)) @ Q.T)
    ext = hessian_extremes(lambda x: 0.5 * x @ A @ x, torch.zeros(50, dtype=torch.float64), k=ch.QUICK.k,
                           tol=ch.QUICK.tol)
    assert not ext["smallest"][0] < -1e-3 * ext["largest"][-1]
    assert ext["smallest"][0] == pytest.approx(0.01, rel=0.05)


def test_the_scale_check_fails_when_the_scales_are_reversed():
    t = pd.DataFrame({"seed": np.repeat([0, 1], 3), "scale": [0.1, 0.3, 1.0] * 2, "noise": 0.1,
                      "escape": [378.0, 330.0, 96.0, 242.0, 276.0, 132.0], "censored": False})
    real = sign_interval(ch.scale_slopes(t).slope.to_numpy())
    rev = t.assign(scale=t.scale.map({0.1: 1.0, 0.3: 0.3, 1.0: 0.1}))
    reversed_ = sign_interval(ch.scale_slopes(rev).slope.to_numpy())
    assert real["share_positive"] == 1.0 and reversed_["share_positive"] == 0.0


def test_the_small_agents_spectrum_is_the_dense_hessians_and_counts_its_negatives(small_run):
    """spectrum_table diagonalises the whole Hessian: its extremes are Lanczos' to tolerance,
    its counts are the eigenvalues below each level, and the negative share lies in [0, 1]."""
    phases = ch.snapshot_phases(small_run)
    points = ch.curvature_points(phases).iloc[[0, -1]]
    size = dataclasses.replace(SMALL, small_tasks=SMALL.hessian_tasks, negative_level=1e-2)
    spec = ch.spectrum_table(small_run, points, size)
    curv = ch.curvature_table(small_run, points, SMALL)
    weights = sum(p.numel() for p in build_model(small_run.config).parameters())
    for (_, s), (_, c) in zip(spec.iterrows(), curv.iterrows()):
        eig = s.eigenvalues
        assert len(eig) == weights and np.all(np.diff(eig) >= 0)
        assert s.lam_min == pytest.approx(c.lam_min, rel=1e-6, abs=1e-9)
        assert s.lam_max == pytest.approx(c.lam_max, rel=1e-6)
        assert s.negatives == int((eig < -1e-2 * eig[-1]).sum()) <= s["negatives_1e-3"]
        assert 0.0 <= s.negative_mass <= 1.0


def test_small_runs_are_chapter_2s_run_with_a_smaller_agent():
    cfg = ch.small_run(3)
    base = standard.standard_run(3, 3, probe_series=0)
    assert cfg.replace(model=base.model, iterations=base.iterations, snapshot_count=base.snapshot_count,
                       record_states=base.record_states) == base
    assert (cfg.model.experts, cfg.model.hidden, cfg.model.links) == (4, 8, 2)


def test_the_escape_reading_follows_the_counts_and_fails_on_counts_that_do_not_fall():
    """Counts that fall with the unsolved dimensions in every run read as falling; the same
    counts with the unsolved labels reversed in one run of two read as not settled, and a run
    with two plateaus says nothing."""
    def table(counts_by_seed):
        rows = []
        for seed, counts in counts_by_seed.items():
            for k, (unsolved, count) in enumerate(counts):
                rows.append({"seed": seed, "point": f"plateau {k}", "unsolved": float(unsolved), "negatives": count})
        return pd.DataFrame(rows)

    falling = table({0: [(3, 24), (2, 4), (1, 0), (0, 0)], 1: [(3, 24), (1, 2), (0, 1)]})
    f = ch.findings(*_empty_inputs(), spectra=falling)
    assert f["escape_rho"]["median"] > 0.9 and f["escape_first"] == 24 and f["escape_last"] == 0.5
    assert f["escape_end_min"] == 0.5 and f["escape_silent"] == 0
    assert ch.readings(f)["escape_reading"] == "Escape directions fall as dimensions are solved (in every run)."
    assert "small agent the escape directions (exact spectra) fall" in ch.verdict(f, ch.QUICK, True)["verdict"]
    mixed = table({0: [(3, 24), (2, 4), (1, 0), (0, 0)], 1: [(0, 24), (1, 2), (3, 1)], 2: [(3, 5), (0, 0)]})
    g = ch.findings(*_empty_inputs(), spectra=mixed)
    assert g["escape_silent"] == 1
    assert ch.readings(g)["escape_reading"].startswith("Escape directions do not fall consistently")


def _empty_inputs():
    curv = pd.DataFrame({"seed": 0, "point": ["plateau 0", "end"], "final": [False, True], "unsolved": [2.0, 0.0],
                         "lam_min": [-1.0, 0.2], "lam_max": 10.0, "negatives": [1, 0], "asym_negative": 0.1,
                         "asym_random": 0.2})
    curv["ratio"] = curv.lam_min / curv.lam_max
    walks = pd.DataFrame({"alpha_weights": [1.0], "alpha_shuffled": [1.0], "straightness": [0.1], "final": [False]})
    scales = pd.DataFrame({"seed": [0, 0], "scale": [0.1, 1.0], "noise": 0.1, "escape": [100.0, 80.0],
                           "censored": False})
    dmd = pd.DataFrame({"system": ["inner loop", "linear system"], "forecast": [0.1, 1e-9], "persistence": [0.5, 1.0]})
    metrics = pd.DataFrame({"point": ["plateau 0"], "autocorr": [0.5], "fdc": [0.0]})
    return curv, walks, scales, dmd, metrics
