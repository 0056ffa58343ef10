"""Chapter 2 (badgerlib.chapters.plateaus): its configs keep the hashes of the stored runs, its
tables read known plateaus off synthetic histories, and the direction table reads a trained
run's snapshots and lets go of them."""
from __future__ import annotations

import doctest
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from badgerlib import load_run, train
from badgerlib.chapters import plateaus
from badgerlib.chapters.phases import synthetic_history
from badgerlib.sweep import unique_configs
from badgerlib.chapters.plateaus import (
    configs, direction_table, feature_configs, final_plateau_lyapunov, lyapunov_tests, plateau_table, sizes,
    snapshot_directions, transition_table,
)
from badgerlib.chapters.standard import FEATURE_SETS, run_table, standard_run, standard_runs
from badgerlib.store import config_hash

matplotlib.use("Agg")

#: Hashes of feature-experiment runs (set, seed, quick) as stored before the chapters package.
#: The full-mode one changed once, on purpose, when full mode took the compiled engine (issue
#: 11), before any full-mode run of chapter 2 was stored.
STORED = {("error", 1, True): "028ca678b66bca9e", ("error + change", 0, False): "3e8b58d285bf92da"}


def fake_run(n, spec, seed=0, features=None):
    """A run with a synthetic history (no training): what the tables read."""
    cfg = standard_run(n, seed) if features is None else standard_run(n, seed, features=features)
    return SimpleNamespace(config=cfg, history=synthetic_history(spec, n=n, seed=seed))


def test_feature_runs_keep_their_hashes():
    found = {(name, seed, quick): config_hash(feature_configs(2, quick)[name][seed]) for name, seed, quick in STORED}
    assert found == STORED


@pytest.mark.parametrize("quick", [True, False])
def test_configs_are_the_standard_runs_and_the_feature_experiment(quick):
    size = sizes(quick)
    groups = configs(quick)
    assert list(groups) == ["standard", "features"]
    assert groups["standard"] == [c for n in size.ns for c in standard_runs([n], plateaus.seeds_for(n, quick), quick)]
    big = [c for c in groups["standard"] if c.task.n > 6]
    assert len(big) == (0 if quick else 2 * size.large_seeds) and all(c.stop_when_solved == (0 if quick else 1000)
                                                                        for c in big)
    assert groups["features"] == [c for cfgs in feature_configs(size.seeds, quick).values() for c in cfgs]
    # the full feature set is the standard run at feature_n: shared, trained once
    shared = set(groups["standard"]) & set(groups["features"])
    assert shared == {standard_run(size.feature_n, s, quick) for s in range(size.seeds)}
    assert len(unique_configs(groups)) == len(groups["standard"]) + len(groups["features"]) - size.seeds
    assert len({config_hash(c) for c in unique_configs(groups)}) == len(unique_configs(groups))


def test_feature_sets_share_the_standard_run_and_the_rest_last_the_horizon():
    cfgs = feature_configs(3)
    assert cfgs["error + log + change"] == [standard_run(3, s) for s in range(3)]
    for name in ("error", "error + log", "error + change"):
        assert all(c.iterations == sizes(True).feature_horizon and c.model.features == FEATURE_SETS[name]
                   and c.snapshot_count == 2 for c in cfgs[name])
    assert standard_run(3).iterations >= sizes(True).feature_horizon
    assert list(feature_configs(1, sets=["error"])) == ["error"]
    with pytest.raises(ValueError, match="feature set = 'pitch'"):
        feature_configs(2, sets=["pitch"])
    with pytest.raises(ValueError, match="seeds = 0"):
        feature_configs(0)
    with pytest.raises(ValueError, match="quick = 'yes'"):
        sizes("yes")


def test_plateau_and_transition_tables_on_known_plateaus():
    runs = [fake_run(3, [("zeros", 400), (1, 400), (2, 400), (3, 400)], seed=s) for s in range(2)]
    runs.append(fake_run(2, [("zeros", 400), ("same", 400), (2, 400)], seed=0))
    pt = plateau_table(runs)
    assert pt[pt.n == 3].unsolved.tolist() == [3, 2, 1, 0] * 2
    assert pt.final.sum() == 3 and (pt.hurst.dropna().between(0.3, 0.7)).all()
    assert plateaus.level_test(pt)["median"] < 0.1
    tt = transition_table(runs)
    assert len(tt) == 3 + 3 + 2 and (tt.end - tt.start + 1 >= 100).all()
    assert (tt.gap >= 0).all() and tt.grad_norm_before.notna().all()
    assert list(plateau_table([]).columns)[-3:] == ["hurst", "hurst_probe", "grad_norm"] and transition_table([]).empty


def test_phase_and_count_summaries_of_a_run_table():
    runs = [fake_run(n, [("zeros", 400)] + [(k, 400) for k in range(1, n + 1)], seed=s) for n in (2, 3) for s in range(2)]
    rtab, ptab = run_table(runs), plateau_table(runs)
    phases = plateaus.phase_summary(rtab)
    assert (phases["zeros_first"], phases["same_runs"], phases["one_step"], phases["n_steps"]) == (4, 0, 1.0, 10)
    counts = plateaus.count_summary(rtab, ptab)
    assert counts["means"].to_dict() == {2: 3.0, 3: 4.0} and counts["rho"].statistic > 0.5
    assert counts["converged"].to_dict() == {2: 1.0, 3: 1.0}
    assert np.all(np.abs(counts["length_medians"] - 400) < 50)


def test_feature_summary_keeps_the_order_of_the_sets_and_censored_runs():
    runs = [fake_run(3, [("zeros", 700)], seed=0, features=FEATURE_SETS["error"]),
            fake_run(3, [("zeros", 200), (1, 500)], seed=0, features=FEATURE_SETS["error + change"]),
            fake_run(3, [("zeros", 300), (1, 400)], seed=1, features=FEATURE_SETS["error + change"])]
    summary = plateaus.feature_summary(run_table(runs, horizon=600))
    assert summary.index.tolist() == ["error", "error + change"]
    assert summary.escaped.tolist() == [0, 2] and np.isnan(summary["median"].iloc[0])
    assert abs(summary["median"].iloc[1] - 250) < 30


def test_final_plateau_lyapunov_needs_a_long_final_plateau():
    assert final_plateau_lyapunov(fake_run(2, [("zeros", 500), (2, 100)]), n_surrogates=5) is None
    plateau, res = final_plateau_lyapunov(fake_run(2, [("zeros", 300), (2, 600)]), n_surrogates=5)
    assert plateau.end == 899 and len(res.surrogates) == 5
    tested = lyapunov_tests([fake_run(2, [("zeros", 500), (2, 100)]), fake_run(2, [("zeros", 300), (2, 600)], seed=1)],
                            n_surrogates=5)
    assert [t[0] for t in tested] == [1]


def test_snapshot_directions_on_a_tiny_run_and_the_table_lets_go_of_the_snapshots(tmp_path):
    cfg = standard_run(2, iterations=4).replace(batch=4, probe_batch=16, snapshot_count=3)
    trained = train(cfg, runs_dir=tmp_path, progress=False)
    d = snapshot_directions(trained)
    assert d["eigenvalues"].shape == (3, 2) and np.all(np.diff(d["eigenvalues"], axis=1) <= 0)
    assert np.allclose(d["remaining"], 2 * trained.snapshots["feedback"][:, :, -1].mean(axis=1))
    assert d["learned"].tolist() == (d["eigenvalues"] > 0.5).sum(axis=1).tolist()
    run = load_run(cfg, runs_dir=tmp_path)               # snapshots read lazily
    table = direction_table([run])
    assert len(table) == 3 and table.iteration.tolist() == d["iterations"].tolist()
    assert np.allclose(table.remaining, d["remaining"])
    assert run.snapshots.loaded == {}                     # released after use
    summary = plateaus.direction_summary(table)
    assert summary["n_snapshots"] == 3 and len(summary["gap"]) == 3
    assert isinstance(direction_table([]), pd.DataFrame)


def test_docstring_examples_run():
    assert doctest.testmod(plateaus).failed == 0


def test_the_glued_values_are_plain_python():
    """myst-nb renders numpy scalars in {glue:text} as nothing: every value is an int or a str."""
    runs = [fake_run(n, [("zeros", 400)] + [(k, 400) for k in range(1, n + 1)], seed=s) for n in (2, 3) for s in range(2)]
    rtab, ptab = run_table(runs), plateau_table(runs)
    features = [fake_run(3, [("zeros", 200), (1, 500)], seed=0, features=FEATURE_SETS[name]) for name in FEATURE_SETS]
    ps = plateaus.detect_plateaus(runs[0].history["last_error"], 2)
    values = {**plateaus.staircase_values(ps, 2, 0),
              **plateaus.phase_values(plateaus.phase_summary(rtab), rtab),
              **plateaus.hurst_gradient_values(plateaus.hurst_gradient_summary(ptab, transition_table(runs))),
              **plateaus.lyapunov_values(lyapunov_tests(runs[:1], n_surrogates=5)),
              **plateaus.count_values(plateaus.count_summary(rtab, ptab)),
              **plateaus.feature_values(plateaus.feature_summary(run_table(features, horizon=600)), sizes(True))}
    assert {type(v) for v in values.values()} <= {int, str}, {k: type(v) for k, v in values.items()}
    assert values["head_count"] == 3 and values["n_lyap"] == 1 and values["f_error_escaped"] == 1
    with pytest.raises(ValueError, match="tests is empty"):
        plateaus.lyapunov_values([])


@pytest.mark.parametrize("n", [6, 20])
def test_consecutive_phases_have_different_colours(n):
    colors = plateaus.phase_colors(n)
    order = [plateaus.NONE_SOLVED] + [plateaus.solved_label(k, n) for k in range(1, n + 1)]
    assert all(colors[a] != colors[b] for a, b in zip(order, order[1:]))
    assert colors[plateaus.ZEROS] != colors[plateaus.NONE_SOLVED] != colors[plateaus.SAME]


def test_the_tables_a_reader_sees_have_readable_columns():
    runs = [fake_run(2, [("zeros", 400), (1, 400), (2, 400)], seed=s) for s in range(2)]
    shown = plateaus.run_overview(run_table(runs))
    assert list(shown.columns)[:3] == ["N", "seed", "plateaus"] and len(shown) == 2
    assert shown["solved at the end"].tolist() == ["2 of 2", "2 of 2"]
    speeds = plateaus.speed_table({standard_run(2): 12.34, standard_run(3): 5.0})
    assert speeds["iterations per second"].tolist() == ["12.3", "5.0"]


def test_the_stability_test_rolls_the_trained_agent_past_its_horizon(tmp_path):
    """The error at the trained length is the agent's own (its rollout on fresh tasks), every
    longer rollout starts on the same tasks, and the curve is the longest one's."""
    cfg = standard_run(2, 0).replace(iterations=30, snapshot_count=2)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    tab = plateaus.stability_table([run], factors=(1, 3), batch=16)
    row = tab.iloc[0]
    own = run.rollout(batch=16).feedback[:, -1].mean().item() / cfg.task.zeros_level
    assert row.error_x1 == pytest.approx(own, rel=1e-6)
    curve = np.asarray(row.curve)
    assert len(curve) == 3 * cfg.inner_steps + 1
    assert curve[-1] == pytest.approx(row.error_x3, rel=1e-6)
    # the first inner steps of the long rollout are the short one's: the same tasks and states
    assert curve[cfg.inner_steps] == pytest.approx(row.error_x1, rel=1e-5)
    assert row.drift == pytest.approx(row.error_x3 / row.error_x1)


def drifting_table(seeds=5, seed=0):
    """Per run an error that rises past the horizon (x1 small, x5 larger)."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0.005, 0.02, seeds)
    tab = pd.DataFrame({"seed": range(seeds), "error_x1": x1, "error_x5": x1 * rng.uniform(5, 60, seeds)})
    tab["drift"] = tab.error_x5 / tab.error_x1
    return tab


def test_the_drift_check_fails_on_a_stable_solution_and_on_shuffled_labels():
    """The chapter asserts the sign test's p <= 0.05: it holds on drifting runs, fails when the
    error stays where it was, and fails on most relabellings of which length is which."""
    assert plateaus.stability_summary(drifting_table())["p"] <= 0.05
    stable = drifting_table()
    stable["error_x5"] = stable.error_x1 * np.random.default_rng(1).uniform(0.8, 1.0, len(stable))
    stable["drift"] = stable.error_x5 / stable.error_x1
    assert plateaus.stability_summary(stable)["p"] > 0.05
    rng, passes = np.random.default_rng(2), 0
    for _ in range(200):
        tab = drifting_table(seed=int(rng.integers(1 << 30)))
        swap = rng.random(len(tab)) < 0.5
        tab.loc[swap, ["error_x1", "error_x5"]] = tab.loc[swap, ["error_x5", "error_x1"]].values
        tab["drift"] = tab.error_x5 / tab.error_x1
        passes += plateaus.stability_summary(tab)["p"] <= 0.05
    assert passes < 20                    # 1 in 32 by chance with 5 runs


def test_the_level_test_reads_only_intermediate_plateaus_and_fails_on_uniform_levels():
    """Zeros and converged plateaus do not count; levels spread uniformly between whole
    dimensions pass the check about as often as its level says (5 %), whole levels always."""
    rng = np.random.default_rng(0)

    def table(levels_fn, runs=18):
        rows = []
        for seed in range(runs):
            n = 4
            rows += [{"n": n, "seed": seed, "unsolved": n, "level": 1.0},     # zeros: whole by construction
                     {"n": n, "seed": seed, "unsolved": 0, "level": 0.0}]
            for k in (1, 2, 3):
                level = levels_fn(k) / n
                rows.append({"n": n, "seed": seed, "unsolved": int(round(level * n)), "level": level})
        return pd.DataFrame(rows)

    whole = plateaus.level_test(table(lambda k: k + rng.normal(0, 0.03)))
    assert whole["p"] <= 0.05 and len(whole["per_run"]) == 18 and (whole["per_run"].plateaus == 3).all()
    passes = sum(plateaus.level_test(table(lambda k: rng.uniform(0.5, 3.5)))["p"] <= 0.05 for _ in range(200))
    assert passes < 25


def test_the_gradient_dip_check_needs_dips_beyond_the_trend():
    """Gradient norms that only grow over training (a smooth trend) pass no dip; the same
    trend with the plateaus' stretches lowered by a third does."""
    spec = [("zeros", 300), (1, 300), (2, 300), (3, 300), (4, 300)]
    trend_runs, dip_runs = [], []
    for seed in range(8):
        run = fake_run(4, spec, seed=seed)
        T = len(run.history["last_error"])
        rng = np.random.default_rng(seed)
        trend = np.exp(np.linspace(-1.5, 0.0, T) ** 2 * -0.5 + rng.uniform(-0.1, 0.1)) * (
            1 + 0.05 * rng.standard_normal(T))
        trend_runs.append(SimpleNamespace(config=run.config, history={**run.history, "grad_norm": trend}))
        lowered = trend.copy()
        for p in plateau_table([trend_runs[-1]]).itertuples():
            lowered[p.start:p.end + 1] *= 0.67
        dip_runs.append(SimpleNamespace(config=run.config, history={**run.history, "grad_norm": lowered}))
    flat = plateaus.dip_test(trend_runs, plateau_table(trend_runs), transition_table(trend_runs))
    dipped = plateaus.dip_test(dip_runs, plateau_table(dip_runs), transition_table(dip_runs))
    assert dipped["p"] <= 0.05 and dipped["ratio"] < 0.95
    assert not flat["p"] <= 0.05          # NaN (no difference at all) or above 0.05
    assert flat["paired_runs"] == dipped["paired_runs"] == 8


def test_the_memory_table_reads_every_stretch_against_its_trend():
    runs = [fake_run(3, [("zeros", 400), (1, 400), (2, 400), (3, 400)], seed=s) for s in range(3)]
    pt, tt = plateau_table(runs), transition_table(runs)
    mem = plateaus.memory_table(runs, pt, tt, n_surrogates=9)
    assert set(mem.kind) == {"plateau", "final plateau", "transition"}
    assert len(mem[mem.kind == "transition"]) == len(tt)
    # synthetic plateaus are a level plus white noise: no memory beyond the trend
    assert abs(mem[mem.kind == "plateau"].excess.median()) < 0.1
    summary = plateaus.memory_summary(mem)
    assert summary["plateau"]["runs"] == 3 and 0 <= summary["plateau"]["share_positive"] <= 1


def test_controlled_counts_ignore_run_length_and_time_scale_and_grow_only_with_the_staircase():
    """The finding check's count: a staircase trained ten times past its solve, or stretched
    to twice the time, counts the same; a staircase of N + 1 levels gives a rising count, and
    one that does not grow with N (the negative control) gives no trend."""
    def run(n, stages, seed, tail=600, length=400):
        spec = [("zeros", length)] + [(k, length) for k in stages] + [(n, tail)]
        return SimpleNamespace(config=standard_run(n, seed=seed), history=synthetic_history(spec, n=n, seed=seed))

    base = plateaus.controlled_counts([run(3, [1, 2], 0)])
    assert base.loc[0, "count"] == 3 and bool(base.loc[0, "converged"])
    assert plateaus.controlled_counts([run(3, [1, 2], 0, tail=6000)]).loc[0, "count"] == 3     # trained on
    assert plateaus.controlled_counts([run(3, [1, 2], 0, length=800, tail=1200)]).loc[0, "count"] == 3  # slower
    staircase = [run(n, list(range(1, n)), s) for n in (2, 3, 4, 6) for s in range(3)]
    rising = plateaus.count_summary(pd.DataFrame({"n": [2], "plateaus": [1], "converged": [True], "first_length": [1]}),
                                    pd.DataFrame({"n": [2], "length": [1], "final": [False]}), staircase)
    assert rising["controlled_means"].to_dict() == {2: 2.0, 3: 3.0, 4: 4.0, 6: 6.0}
    assert rising["controlled_rho"].statistic > 0.9 and rising["controlled_rho"].pvalue < 0.01
    flat = [run(n, [1], s) for n in (2, 3, 4, 6) for s in range(3)]       # two plateaus whatever N
    assert plateaus.controlled_counts(flat)["count"].nunique() == 1
    # a run above large_n has another agent and is left out
    assert plateaus.controlled_counts([run(10, [1], 0)]).empty


def test_plateau_memory_reads_the_probe_series_where_batch_noise_hides_it():
    """A plateau whose weights drift (a persistent probe error) under white batch noise: the
    memory test finds the drift on the probe series and not on the batch's error, which is
    the probe error plus fresh sampling noise; where there is no drift (the final plateau's
    stationary wander) the probe series reads lower, the contrast the finding check asserts."""
    rng = np.random.default_rng(0)
    runs, rows = [], []
    for seed in range(8):
        drift = 0.5 + 0.002 * np.cumsum(rng.standard_normal(600))       # random-walk weights: persistent
        still = 0.05 + 0.002 * rng.standard_normal(600)                 # around a minimum: no memory
        probe = np.r_[drift, still]
        batch = probe + 0.2 * rng.standard_normal(1200)                 # fresh tasks every iteration
        runs.append(SimpleNamespace(config=standard_run(2, seed=seed),
                                    history={"last_error": batch, "probe_error": probe}))
        rows += [{"n": 2, "seed": seed, "start": 0, "end": 599, "length": 600, "final": False},
                 {"n": 2, "seed": seed, "start": 600, "end": 1199, "length": 600, "final": True}]
    ptab = pd.DataFrame(rows)
    ttab = pd.DataFrame(columns=["n", "seed", "start", "end"])
    probe = plateaus.memory_summary(plateaus.memory_table(runs, ptab, ttab, 19), series="probe")
    batch = plateaus.memory_summary(plateaus.memory_table(runs, ptab, ttab, 19, series="batch"), series="batch")
    assert probe["plateau"]["p"] < 0.01 and probe["plateau"]["excess"] > 0.1
    assert batch["plateau"]["excess"] < probe["plateau"]["excess"] / 3
    ptab["hurst_probe"] = [plateaus.hurst_exponent(r.history["probe_error"][a:b + 1])
                           for r in runs for a, b in ((0, 599), (600, 1199))]
    contrast = plateaus.plateau_final_contrast(ptab)
    assert contrast["runs"] == 8 and contrast["difference"] > 0.2 and contrast["p"] < 0.01
    # the negative control of the contrast: two stationary stretches read alike
    ptab_flat = ptab.assign(hurst_probe=[plateaus.hurst_exponent(0.05 + rng.standard_normal(600)) for _ in range(16)])
    assert plateaus.plateau_final_contrast(ptab_flat)["p"] > 0.05


def test_the_phase_figure_puts_many_solved_counts_on_a_colour_bar():
    from badgerlib.chapters.phases import label_phases, phase_segments, synthetic_history

    small = label_phases(synthetic_history([("zeros", 200), (1, 200), (2, 200)], n=2), n=2)
    fig = plateaus.plot_phases(small, phase_segments(small))
    assert len(fig.axes) == 3 and "1/2 solved" in [t.get_text() for t in fig.legends[0].get_texts()]
    big = label_phases(synthetic_history([("zeros", 200)] + [(k, 100) for k in range(1, 21)], n=20), n=20)
    fig = plateaus.plot_phases(big, phase_segments(big))
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(fig.axes) == 4 and not any("solved" in name and "/" in name for name in names), names
    assert fig.axes[-1].get_xlabel() == "dimensions solved (background)"


def test_step_test_sees_whole_steps_where_residuals_drift_the_levels_and_fails_on_random_levels():
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(8):        # N = 20: steps of 0.93 dimensions, levels drifting off whole numbers
        units = 20 - 0.93 * np.arange(12) + rng.normal(0, 0.02, 12)
        rows += [{"n": 20, "seed": seed, "index": i, "level": u / 20, "unsolved": int(round(u))}
                 for i, u in enumerate(units)]
    ptab = pd.DataFrame(rows)
    steps, levels = plateaus.step_test(ptab), plateaus.level_test(ptab)
    assert steps["median"] < 0.1 and steps["p"] < 0.01
    assert levels["median"] > 0.2 and not levels["p"] < 0.05     # the level test misses them
    shuffled = ptab.assign(level=rng.uniform(0, 1, len(ptab)))     # negative control
    assert not plateaus.step_test(shuffled)["p"] < 0.05
