"""Chapter 3 (ray interference): its configs are chapter 2's standard runs plus the LSTM metric
comparison, and the run-level measures (gradient interference at snapshots, the common-metric
snapshot error, the chapter's tables) on tiny trained runs."""
from __future__ import annotations

import numpy as np
import pytest

from badgerlib import GuessingGame, LSTMMetaLearnerConfig, train
from badgerlib.analysis.interference import flat_gradients, snapshot_interference
from badgerlib.chapters import ray_interference as ray
from badgerlib.chapters import plateaus, standard
from badgerlib.objective import dimension_losses
from badgerlib.run import probe_inputs
from badgerlib.store import config_hash


def test_configs_share_chapter_2s_runs_and_keep_their_hashes():
    for quick in (True, False):
        size, cfgs = ray.sizes(quick), ray.configs(quick)
        assert [config_hash(c) for c in cfgs["standard"]] == \
            [config_hash(standard.standard_run(size.n, s, quick)) for s in range(size.seeds)]
        assert [(c.task.metric, c.seed) for c in cfgs["lstm"]] == \
            [(m, s) for m in ("mse", "l1") for s in range(size.lstm_seeds)]
    # full mode reads chapter 2's N = 20 runs (all its seeds of them), the study's scale
    full = ray.configs(quick=False)["standard"]
    assert full == standard.standard_runs([20], plateaus.seeds_for(20, quick=False), quick=False)
    # the hashes the runs were stored under before the chapter modules existed (the full-mode
    # Micro-Badger one changed once, on purpose, with the compiled engine of full mode, issue 11,
    # and both once more with chapter 2's probe series, issue 17: 8bc000fe.., e201c91b.. before;
    # full mode's is chapter 2's N = 20 seed 0 since it moved to the study's N, f2489ee3.. at N = 6)
    old = {True: ("db6573b7b89762ee", "e360fd6400fd51e4", "a3c7fe3148b9894a"),
           False: ("5714fa4c0855edc5", "45d7a4855c9793c8", "f378929e2942fd74")}
    for quick, (mb, first_lstm, last_lstm) in old.items():
        cfgs = ray.configs(quick)
        assert tuple(map(config_hash, (cfgs["standard"][0], cfgs["lstm"][0], cfgs["lstm"][-1]))) == (mb, first_lstm, last_lstm)
    with pytest.raises(ValueError, match="quick = 'yes'"):
        ray.configs("yes")


def test_lstm_metric_configs():
    cfgs = ray.lstm_metric_configs(2)
    assert [c.task for c in cfgs["l1"]] == [GuessingGame(n=3, metric="l1")] * 2
    assert all(isinstance(c.model, LSTMMetaLearnerConfig) for c in cfgs["mse"])
    assert [c.seed for c in cfgs["mse"]] == [0, 1]
    assert ray.lstm_metric("mse", quick=False).iterations == 5000
    with pytest.raises(ValueError, match="seeds = 0"):
        ray.lstm_metric_configs(0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    cfg = standard.standard_run(3, iterations=20, probe_series=0).replace(batch=4, probe_batch=8, snapshot_count=3)
    return train(cfg, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


@pytest.fixture(scope="module")
def tiny_lstm_runs(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("lstm")
    return [train(ray.lstm_metric(m, s).replace(iterations=20, batch=4, probe_batch=8, snapshot_count=3),
                  runs_dir=runs_dir, progress=False) for m in ("mse", "l1") for s in range(2)]


def test_snapshot_interference_and_error_on_a_tiny_run(tiny_run):
    run, cfg = tiny_run, tiny_run.config
    res = snapshot_interference(run)
    assert res["iterations"].tolist() == [0, 10, 20]
    c = res["cosines"]
    assert np.allclose(c, np.transpose(c, (0, 2, 1))) and np.allclose(np.diagonal(c, axis1=1, axis2=2), 1)
    # cancellation from its definition, on the last snapshot, computed independently
    model = run.model_at(2)
    targets, h = probe_inputs(model, cfg)
    rollout = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h)
    g = flat_gradients(list(dimension_losses(rollout, cfg.task)), list(model.parameters()))
    assert res["cancellation"][2] == pytest.approx((g.sum(0) @ g.sum(0)) / (g * g).sum(), rel=1e-6)
    assert res["grad_norm"][2] == pytest.approx(np.linalg.norm(g.sum(0)), rel=1e-6)
    iu = np.triu_indices(3, 1)
    assert res["conflict"][2] == pytest.approx(np.mean(c[2][iu] < 0))
    assert snapshot_interference(run, snapshots=[1])["iterations"].tolist() == [10]
    # the squared-error metric of the snapshot guesses is the recorded feedback of the last step
    its, err = ray.snapshot_error(run, "mse")
    assert np.allclose(err, run.snapshots["feedback"][:, :, -1].mean(axis=1), rtol=1e-5)
    with pytest.raises(ValueError, match="metric = 'l2'"):
        ray.snapshot_error(run, "l2")


def test_interference_table_has_one_row_per_snapshot(tiny_run):
    table = ray.interference_table([tiny_run])
    assert table.iteration.tolist() == [0, 10, 20] and (table.seed == 0).all()
    assert set(table["where"]) <= set(ray.WHERE)
    res = snapshot_interference(tiny_run)
    assert np.allclose(table.cancellation, res["cancellation"])
    assert list(ray.interference_medians(table).columns) == list(ray.MEASURES)
    summary = ray.interference_summary(table)      # the chapter's table: every group, in order
    assert summary["snapshots in"].tolist() == [ray.WHERE_NAMES[w] for w in ray.WHERE]
    assert summary.snapshots.sum() == len(table)
    # at most two snapshots: the first and the last, with the same numbers as measured alone
    two = ray.interference_table([tiny_run], snapshots=2)
    assert two.iteration.tolist() == [0, 20]
    assert np.allclose(two.cancellation, res["cancellation"][[0, 2]])
    assert ray.interference_table([tiny_run], snapshots=3).iteration.tolist() == [0, 10, 20]


def test_spread_snapshots_keeps_both_ends_and_rejects_bad_counts():
    assert ray.spread_snapshots(1301, 250)[:3] == [0, 5, 10] and ray.spread_snapshots(1301, 250)[-1] == 1300
    assert len(ray.spread_snapshots(1301, 250)) == 250
    with pytest.raises(ValueError, match="most = -1"):
        ray.spread_snapshots(10, -1)


def test_lstm_table_scores_each_run_in_both_metrics(tiny_lstm_runs):
    table = ray.lstm_table(tiny_lstm_runs, threshold=0.5)
    assert [(m, s) for m, s in zip(table.metric, table.seed)] == [("mse", 0), ("mse", 1), ("l1", 0), ("l1", 1)]
    for run, row in zip(tiny_lstm_runs, table.itertuples()):
        its, e_mse = ray.snapshot_error(run, "mse")
        assert row.final_mse == e_mse[-1] and row.final_l1 == ray.snapshot_error(run, "l1")[1][-1]
        assert np.isnan(row.to_threshold) or row.to_threshold in its
    nums = ray.lstm_numbers(table, ray.QUICK, threshold=0.5)
    assert nums["lstm_iterations"] == 1200 and 0 <= nums["l1_reached"] <= 2
    summary = ray.lstm_summary(table, threshold=0.5)
    assert summary["trained on"].tolist() == ["MSE", "L1"]
    assert summary["runs below 0.5"].tolist() == [f"{nums['mse_reached']} of 2", f"{nums['l1_reached']} of 2"]


def test_lstm_figures_draw(tiny_lstm_runs):
    from badgerlib import plots

    _, axes = plots.figure(ncols=2)
    ray.plot_lstm_errors(tiny_lstm_runs, axes, threshold=0.5)
    assert len(axes[0].get_lines()) == len(tiny_lstm_runs) + 1


def test_the_interference_sweep_check_needs_both_interference_and_coupling():
    """The chapter asserts: no stall near a saddle without the coupling at any rho, and a
    stall with it that negative interference makes at least 5 times longer. A sweep without
    negative rho fails the second part."""
    from badgerlib.chapters import ray_interference as ray

    def holds(t):
        rl = t[t.kind == "rl"].set_index("rho").saddle_time
        sup = t[t.kind == "supervised"].saddle_time
        return bool(sup.max() < 0.1 * rl.max() and rl.loc[t.rho.min()] > 5 * rl.loc[0.0])

    sweep = ray.interference_sweep((0.0, -0.5), t_max=200.0)
    assert holds(sweep)
    assert not holds(ray.interference_sweep((0.0,), t_max=200.0))
    assert sweep[sweep.kind == "supervised"].unsolved.sum() == 0


def test_the_first_dimension_test_is_exact_and_fails_on_a_special_dimension():
    from badgerlib.chapters import ray_interference as ray

    # exact enumeration and Monte Carlo agree (Monte Carlo forced by a tiny enumeration cap)
    dims = [0, 0, 1, 2, 2, 2, 3, 5, 5, 4]
    exact = ray.first_dimension_test(dims, 6)["p"]
    rng = np.random.default_rng(0)
    from scipy.stats import multinomial
    sims = rng.multinomial(10, np.full(6, 1 / 6), size=200_000)
    observed = multinomial.pmf(np.bincount(dims, minlength=6), 10, np.full(6, 1 / 6))
    assert exact == pytest.approx(np.mean(multinomial.pmf(sims, 10, np.full(6, 1 / 6)) <= observed * (1 + 1e-9)),
                                  abs=0.01)
    # the chapter's check (p > 0.05) fails when one dimension dominates, even at 5 seeds
    assert ray.first_dimension_test([3, 3, 3, 3, 1], 6)["p"] <= 0.05
    # and holds about 95 % of the time when first dimensions are uniform (20 seeds, as full mode)
    holds = np.mean([ray.first_dimension_test(rng.integers(0, 6, 20), 6)["p"] > 0.05 for _ in range(100)])
    assert 0.88 <= holds <= 1.0


def test_the_plateau_transition_equivalence_fails_when_plateaus_conflict_more():
    import pandas as pd
    from badgerlib.chapters import ray_interference as ray

    rng = np.random.default_rng(0)

    def table(shift, runs=20):
        rows = []
        for seed in range(runs):
            base = rng.uniform(0.3, 0.6)
            for where, level in (("plateau", base + shift), ("transition", base), ("zeros plateau", 1.0)):
                for _ in range(5):
                    rows.append({"seed": seed, "where": where, "cancellation": level + rng.normal(0, 0.05)})
        return pd.DataFrame(rows)

    assert ray.plateau_transition_difference(table(0.0))["equivalent"]
    more = ray.plateau_transition_difference(table(-0.4))
    assert not more["equivalent"] and more["p_lower"] > 0.05 and more["mean"] < -0.3
    assert ray.plateau_transition_difference(table(0.0, runs=1))["runs"] == 1      # too few: not equivalent
    assert not ray.plateau_transition_difference(table(0.0, runs=1))["equivalent"]
