"""Chapter 4 (the F-principle): its runs keep their hashes, and its measurements are right on
synthetic learners whose answer is known (low frequencies first, last, or all at once) and on
the real task (the mirror plateau at c = 1/2)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from badgerlib import MicroBadgerConfig, RunConfig, SineSumGame, train
from badgerlib.analysis.components import crossing_iterations
from badgerlib.analysis.dynamics import converged_steps
from badgerlib.analysis.spectral import convergence_by_step, sine_sum_target
from badgerlib.chapters import f_principle as fp
from badgerlib.store import config_hash
from badgerlib.sweep import estimate_seconds, load_runs

KS = (1, 2, 3, 4, 5)
M = 21

#: The hashes of the quick-mode runs in the run store (trained before the chapter moved into
#: badgerlib.chapters): a changed config would retrain them.
QUICK_HASHES = {
    "supervised LSTM": ["0f2b9eed88c4d40b", "ef51d73a85d12ddd", "6bacd4796013f5b7", "79a2ef75d01c9982",
                        "3f77e08eecc609dd"],
    "LSTM meta-learner": ["221d0beaca5ff735", "b49735f08d620385"],          # a third seed until 2026-12-07
    "quantised meta-learner": ["275e1efda128c6c4", "b7cf602c34c28750"],
    "Micro-Badger (M = 11)": ["51dd18e900407eaa", "abf18337ed9cd20c"],
    "Micro-Badger (M = 41)": ["6014da86ce611efd"],
}
#: The first full-mode run of each learner, as the notebook built them before the move.
FULL_FIRST_HASHES = {"supervised LSTM": "a11778421cefccb4", "LSTM meta-learner": "79852f83a65d6eed",
                     "quantised meta-learner": "3dee316099887ac2", "Micro-Badger (M = 11)": "f6a333995dccf509",
                     "Micro-Badger (M = 41)": "2b068876c27382e0"}


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


# --- the runs ---------------------------------------------------------------------------------

def test_quick_configs_keep_the_hashes_of_the_stored_runs():
    groups = fp.configs(quick=True)
    assert {name: [config_hash(c) for c in cfgs] for name, cfgs in groups.items()} == QUICK_HASHES


def test_full_mode_sizes_and_configs():
    full = fp.sizes(False)
    assert (full.seeds, full.sup_seeds, full.mb41_seeds) == (10, 10, 3)
    assert (full.sup_iterations, full.meta_iterations, full.quant_iterations, full.mb_iterations,
            full.mb41_iterations) == (3000, 3000, 8000, 5000, 5000)
    groups = fp.configs(quick=False)
    assert [len(g) for g in groups.values()] == [10, 10, 10, 10, 3]
    assert {name: config_hash(cfgs[0]) for name, cfgs in groups.items()} == FULL_FIRST_HASHES
    # the supervised LSTM's first targets are the quick mode's: one phase per seed, same draw
    quick_phases = [c.task.phase for c in fp.configs(quick=True)["supervised LSTM"]]
    assert [c.task.phase for c in groups["supervised LSTM"][:5]] == quick_phases
    assert len({c.task.phase for c in groups["supervised LSTM"]}) == 10
    numbers = fp.full_scale_numbers()
    assert numbers["full_seeds"] == 10 and numbers["full_mb41"] == "5 000"


def test_configs_start_at_the_given_seed_and_reject_bad_arguments():
    groups = fp.configs(quick=True, seed=7)
    assert [c.seed for c in groups["LSTM meta-learner"]] == [7, 8]
    assert [c.task.phase for c in groups["supervised LSTM"]] == fp.supervised_phases(5, seed=7).tolist()
    with pytest.raises(ValueError, match="seed"):
        fp.configs(quick=True, seed=-1)
    with pytest.raises(ValueError, match="quick"):
        fp.configs(quick="yes")


def test_full_mode_estimate_is_the_sum_over_runs():
    speeds = {"supervised LSTM": 50.0, "LSTM meta-learner": 20.0, "quantised meta-learner": 5.0,
              "Micro-Badger (M = 11)": 10.0, "Micro-Badger (M = 41)": 8.0}
    main = 10 * 3000 / 50 + 10 * 3000 / 20 + 10 * 8000 / 5 + 10 * 5000 / 10 + 3 * 5000 / 8
    phase = 3 * (10 * 3000 / 50 + 5 * 3000 / 20 + 3 * 8000 / 5 + 5 * 5000 / 8)     # frequencies 1..8: runs of their own
    assert fp.full_mode_seconds(speeds) == pytest.approx((main + phase) / 2)
    full = [c for g in fp.all_configs(quick=False).values() for c in g]
    assert fp.full_mode_seconds(dict.fromkeys(speeds, 100.0), workers=1) == estimate_seconds(full, 100.0, workers=1)
    with pytest.raises(ValueError, match="no speed for"):
        fp.full_mode_seconds({"supervised LSTM": 1.0})


# --- one run ------------------------------------------------------------------------------------

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


def test_another_threshold_equals_a_fresh_analysis():
    its = np.arange(0, 300, 5)
    snaps, _ = synthetic_snapshots([20, 60, 50, 110, 140], its, phases=[0.5, 2.0])
    a = fp.analyse_run(snaps, KS, threshold=0.9)
    for threshold in (0.5, 0.8):
        again, fresh = fp.at_threshold(a, threshold), fp.analyse_run(snaps, KS, threshold=threshold)
        assert np.array_equal(again.crossings, fresh.crossings) and again.rank == fresh.rank
        assert again.spread == fresh.spread and again.threshold == threshold
    table = fp.threshold_sensitivity({"toy": [a, a]}, thresholds=(0.5, 0.9))
    assert list(table.columns) == ["rho @ 0.5", "spread @ 0.5", "rho @ 0.9", "spread @ 0.9"]
    assert table.loc["toy", "rho @ 0.9"] == a.rank.rho and table.loc["toy", "spread @ 0.9"] == a.spread


def test_crossings_relative_threshold_and_never():
    its = np.array([0, 1, 2, 3])
    c = np.array([[0.0, 0.0, 0.0], [0.2, 0.1, 0.0], [0.4, 0.3, 0.05], [0.4, 0.4, 0.1]])
    assert crossing_iterations(its, c, 0.35).tolist() == [2, 3, np.inf]
    # relative: bar = 0.5 * mean(0.4, 0.4, 0.1) = 0.15
    assert crossing_iterations(its, c, 0.5, relative=True).tolist() == [1, 2, np.inf]
    # a run that learned (almost) nothing has no crossings at all, not crossings on noise
    assert np.all(np.isinf(crossing_iterations(its, c * 0.1, 0.5, relative=True)))
    with pytest.raises(ValueError, match="threshold"):
        crossing_iterations(its, c, 0.0)
    with pytest.raises(ValueError, match="expected"):
        crossing_iterations(its[:3], c)


def test_converged_steps_closed_forms():
    P, S = 3, 10
    targets = np.ones((P, 4))
    steps = np.minimum(np.arange(S + 1), 6) / 6.0                 # moves until step 6, then still
    guesses = steps[None, :, None] * targets[:, None, :]           # (P, S+1, M)
    assert float(converged_steps(guesses, targets)) == S - 6
    guesses[1, -1] += 1.0                                          # one task moves at the last step
    assert float(converged_steps(guesses, targets)) == pytest.approx((2 * (S - 6) + 0) / 3)
    assert converged_steps(np.stack([guesses, guesses]), targets).shape == (2,)


def test_mirror_plateau_scores_one_half_on_the_real_task():
    """The chapter's argument: knowing only the projection of u on one direction e and guessing
    (u . e) e gives c = 1/2 at every frequency and feedback 1/2, averaged over the phase."""
    game = SineSumGame(m=41, frequencies=KS)
    phi = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    y = sine_sum_target(KS, m=41, phase=phi)                        # sin(phi) C + cos(phi) S
    S = sine_sum_target(KS, m=41, phase=0.0)                        # the direction e (phi = 0)
    g = np.cos(phi)[:, None] * S                                    # (u . e) e
    c = convergence_by_step({"guesses": g[None, :, None, :], "targets": y}, KS)[0]   # mean over phases
    assert np.allclose(c, 0.5, atol=1e-9)
    feedback = game.feedback(torch.from_numpy(g), torch.from_numpy(y)).numpy()
    assert feedback.mean() == pytest.approx(0.5, abs=1e-9)


# --- one learner, and a real run -----------------------------------------------------------------

def test_summaries_tables_and_a_real_run(tmp_path):
    cfg = RunConfig(task=SineSumGame(m=11, frequencies=(1, 2, 3)), model=MicroBadgerConfig(experts=2, hidden=4),
                    inner_steps=3, iterations=4, batch=2, snapshot_count=3, probe_batch=2)
    train(cfg, runs_dir=tmp_path, progress=False)
    run, = load_runs([cfg], runs_dir=tmp_path)
    a, = fp.analyse_runs([run], threshold=0.9)
    assert a.by_iteration.shape == (3, 3) and a.by_step.shape == (4, 3) and a.converged.shape == (3,)
    assert a.iterations.tolist() == [0, 2, 4] and a.last_loss.shape == (3,)
    assert not run.snapshots.loaded                     # analyse_runs released what it read
    assert fp.learner_speeds({"tiny": [run]})["tiny"] == run.meta["iterations_per_second"]
    its = np.arange(0, 300, 5)
    runs = [fp.analyse_run(synthetic_snapshots(centres, its, phases=[1.0])[0], KS, threshold=0.9)
            for centres in ([20, 50, 80, 110, 140], [20, 60, 50, 110, 140], [30, 20, 80, 140, 110])]
    s = fp.summarise(runs)
    assert s.test.mean > 0.7 and s.test.p_value < 0.01 and s.crossed == 1.0
    table = fp.summary_table({"synthetic": s})
    assert table.loc["synthetic", "seeds"] == 3
    assert fp.representative(runs) == 1          # rhos 1.0, 0.9, 0.8: the median is the second
    numbers = fp.learner_numbers(s)
    assert numbers["rho"] == fp.plus_minus(s.test.mean, s.test.sd) and numbers["crossed"] == "100"
    with pytest.raises(ValueError, match="empty"):
        fp.summarise([])



def test_full_mode_summary_only_when_every_run_is_stored(tmp_path):
    # the real full-mode configs: nothing in an empty store, so no numbers (and no training)
    assert fp.full_mode_summary(runs_dir=tmp_path) is None
    base = RunConfig(task=SineSumGame(m=11, frequencies=(1, 2, 3)), model=MicroBadgerConfig(experts=2, hidden=4),
                     inner_steps=3, iterations=4, batch=2, snapshot_count=3, probe_batch=2)
    groups = {"first": [base.replace(seed=0), base.replace(seed=1)], "second": [base.replace(seed=2)]}
    for cfg in groups["first"]:
        train(cfg, runs_dir=tmp_path, progress=False)
    assert fp.full_mode_summary(runs_dir=tmp_path, groups=groups) is None     # "second" is missing
    train(groups["second"][0], runs_dir=tmp_path, progress=False)
    numbers = fp.full_mode_summary(runs_dir=tmp_path, groups=groups)
    runs = load_runs([c for g in groups.values() for c in g], runs_dir=tmp_path)
    assert numbers["runs"] == 3 and numbers["sup_seeds"] == 2 and numbers["meta_seeds"] == 1
    assert numbers["train_cpu"] == f"{sum(r.meta['seconds'] for r in runs):.0f}"
    by_hand = fp.learner_numbers(fp.summarise(fp.analyse_runs(runs[:2], (1, 2, 3), threshold=0.9)))
    assert {k: numbers[f"sup_{k}"] for k in by_hand} == by_hand
    assert "mb_rho" not in numbers                    # only the groups given


def test_book_tables_have_no_missing_values():
    its = np.arange(0, 300, 5)
    runs = [fp.analyse_run(synthetic_snapshots(centres, its, phases=[1.0])[0], KS, threshold=0.9)
            for centres in ([20, 50, 80, 110, 140], [60] * 5)]
    flat = fp.analyse_run(synthetic_snapshots([60] * 5, its, phases=[1.0])[0], KS, threshold=0.9)
    summaries = {"mixed": fp.summarise(runs), "at once": fp.summarise([flat, flat])}
    shown = fp.summary_display(summaries)
    assert shown["learner"].tolist() == ["mixed", "at once"] and not shown.isna().any().any()
    assert shown.loc[1, "W"] == "-" and shown.loc[1, "p (W)"] == "-"        # no order to agree on
    crossings = fp.crossing_table({"mixed": runs}, first_seed=5, phases={"mixed": [0.5, 1.5]})
    assert crossings["seed"].tolist() == [5, 6] and crossings.loc[1, "ρ"] == "+0.00"
    sens = fp.threshold_display(fp.threshold_sensitivity({"mixed": runs}))
    assert list(sens.columns) == ["learner", "ρ at 50 %", "spread at 50 %", "ρ at 80 %", "spread at 80 %",
                                  "ρ at 90 %", "spread at 90 %"]


def test_full_mode_text_cites_only_computed_numbers():
    assert "not available in this build" in fp.full_mode_text(None)
    keys = ["runs", "train_cpu"] + [f"{g}_{k}" for g in ("sup", "meta", "quant", "mb", "mb41")
                                    for k in ("seeds", "rho", "p", "spread", "final")]
    summary = {key: f"<{key}>" for key in keys}
    text = fp.full_mode_text(summary)
    for key in ("runs", "train_cpu", "sup_rho", "sup_p", "sup_seeds", "meta_rho", "meta_spread", "quant_rho",
                "quant_final", "mb_rho", "mb_spread", "mb41_final"):
        assert f"<{key}>" in text


# --- the phase modes (issue 17) -------------------------------------------------------------------

def test_phase_mode_configs_change_only_the_task():
    main = fp.configs(quick=False)
    grid = fp.phase_mode_configs(quick=False)
    assert list(grid) == ["shared", "shift", "per_frequency"]
    for mode, learners in grid.items():
        assert {name: len(runs) for name, runs in learners.items()} == dict(fp.FULL.phase_seeds)
        for name, runs in learners.items():
            for s, cfg in enumerate(runs):
                ref = main[name][s] if name == "supervised LSTM" else main[name][0].replace(seed=s)
                assert cfg.task.frequencies == fp.PHASE_FREQUENCIES and cfg.task.phase_mode == mode
                assert cfg.replace(task=ref.task) == ref          # the same learner, budget and seed
    per = [c.task.phase for c in grid["per_frequency"]["supervised LSTM"]]
    assert all(len(p) == 8 for p in per) and len(set(per)) == 10
    assert [c.task.phase for c in grid["shift"]["supervised LSTM"]] == fp.supervised_phases(10).tolist()
    quick = fp.phase_mode_configs(quick=True)
    assert "quantised meta-learner" not in quick["shared"]         # 0 seeds in quick mode


def inner_loop_snapshots(learn_step, steps=20, probes=3):
    """One snapshot of a trained learner whose guess gains frequency k at inner step
    ``learn_step[k]`` (a step function, so the crossing step is known exactly)."""
    x = 2 * np.pi * np.arange(M) / M
    phases = np.linspace(0.2, 2.0, probes)
    comps = np.stack([np.sin(k * x + phases[:, None]) for k in KS], axis=1)       # (P, F, M)
    amps = (np.arange(steps + 1)[:, None] >= np.asarray(learn_step)[None]).astype(float)   # (S+1, F)
    guesses = np.einsum("sf,pfm->psm", amps, comps)[None]                         # (1, P, S+1, M)
    return {"iterations": np.array([0]), "targets": comps.sum(axis=1), "guesses": guesses,
            "feedback": np.ones(guesses.shape[:3])}


def test_order_over_the_inner_loop():
    low_first = fp.analyse_run(inner_loop_snapshots([2, 4, 6, 8, 10]), KS, threshold=0.9)
    assert low_first.step_crossings.tolist() == [2, 4, 6, 8, 10]
    assert low_first.step_rank.rho == 1.0 and low_first.step_spread == pytest.approx(8 / 20)
    high_first = fp.analyse_run(inner_loop_snapshots([10, 8, 6, 4, 2]), KS, threshold=0.9)
    assert high_first.step_rank.rho == -1.0
    together = fp.analyse_run(inner_loop_snapshots([5] * 5), KS, threshold=0.9)
    assert together.step_spread == 0.0
    s = fp.summarise([low_first, low_first, high_first])
    assert s.step_test.n_seeds == 3 and s.step_test.mean == pytest.approx(1 / 3)
    # one inner step (the supervised LSTM): no order over the inner loop
    one = fp.analyse_run(synthetic_snapshots([20, 50, 80, 110, 140], np.arange(0, 300, 5), [0.5])[0], KS)
    assert one.step_crossings is None and fp.summarise([one]).step_test is None


def test_at_once_holds_for_a_simultaneous_learner_and_fails_otherwise():
    """The check that reads ``learns_at_once`` asserts it with the shared phase and its
    negation with the others: on synthetic learners it must tell the three cases apart."""
    its = np.arange(0, 300, 5)
    together = fp.summarise([fp.analyse_run(synthetic_snapshots([100] * 5, its, [0.5, 2.0])[0], KS)] * 2)
    ordered = fp.summarise([fp.analyse_run(synthetic_snapshots([20, 60, 100, 140, 180], its, [0.5, 2.0])[0], KS)])
    nothing = fp.summarise([fp.analyse_run(synthetic_snapshots([1e6] * 5, its, [0.5, 2.0])[0], KS)])
    assert fp.learns_at_once(together)
    assert not fp.learns_at_once(ordered) and not fp.learns_at_once(nothing)
    assert nothing.crossed == 0.0


def test_phase_mode_table_adjusts_every_p_value_together():
    from badgerlib.analysis.stats import holm

    its = np.arange(0, 300, 5)
    runs = [fp.analyse_run(synthetic_snapshots(c, its, [0.5, 2.0])[0], KS)
            for c in ([20, 60, 100, 140, 180], [30, 50, 110, 130, 200], [100] * 5)]
    summaries = {"shared": {"a": fp.summarise(runs[:2]), "b": fp.summarise(runs[2:])},
                 "shift": {"a": fp.summarise(runs[1:])}}
    table = fp.phase_mode_table(summaries)
    assert table[["mode", "learner"]].values.tolist() == [["shared", "a"], ["shared", "b"], ["shift", "a"]]
    raw = np.concatenate([table["p"], table["p inner"]])
    assert np.allclose(np.concatenate([table["p holm"], table["p inner holm"]]), holm(raw), equal_nan=True)
    numbers = fp.phase_mode_numbers(table)
    assert numbers["pm_a_shared_learned"] == "100" and numbers["pm_tests"] == 3   # one inner step: no inner test
    assert numbers["pm_a_shared_text"].startswith("learns 100 % of the frequencies, low frequencies first")
    assert "all at once" in numbers["pm_b_shared_text"]
    shown = fp.phase_mode_display(table)
    assert shown.loc[0, "ρ inner loop"] == "-" and not shown.isna().any().any()
