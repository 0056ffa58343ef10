"""Chapter 5's module: its runs, the MI over training on a tiny trained agent, the per-run events
and the summaries over runs (escape survival with censoring, the lead of the MI fall)."""
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.analysis.info import DegenerateDataWarning
from badgerlib.chapters import mutual_information as ch
from badgerlib.store import config_hash


def tiny(**model):
    return RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=4, hidden=6, **model), inner_steps=4,
                     iterations=40, batch=8, lr=3e-3, snapshot_count=3, probe_batch=8)


def test_every_variant_is_a_distinct_run_of_the_studys_agent():
    for quick in (True, False):
        groups = ch.configs(quick)
        size = ch.sizes(quick)
        assert list(groups) == list(size.variants) and all(len(v) == size.seeds for v in groups.values())
        cfgs = [c for v in groups.values() for c in v]
        assert len({config_hash(c) for c in cfgs}) == len(cfgs)
    default = ch.variant_config("default", 0, quick=False)
    assert (default.model.experts, default.task.n, default.iterations) == (14, 4, 5000)   # the study's figure
    assert ch.variant_config("no noise").model.init_noise == 0.0
    assert ch.variant_config("one expert").model.experts == 1
    with pytest.raises(ValueError, match="seed = -1"):
        ch.variant_config("default", seed=-1)


def test_identical_experts_read_far_more_mi_than_diverse_ones():
    """The measurement can tell the two regimes apart: experts that never differ (no noise, a
    complete graph) against experts with their own random IDs."""
    same = train(tiny(init_noise=0.0, topology="complete"), cache=False, progress=False)
    diverse = train(tiny(expert_ids=6, init_noise=0.3), cache=False, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        mi_same = ch.mi_over_training(same, batch=200, pca_dims=2)
    mi_diverse = ch.mi_over_training(diverse, batch=200, pca_dims=2)
    assert list(mi_same.iteration) == list(same.snapshots["iterations"])
    assert len(mi_same.pairs.iloc[0]) == 6                       # 4 experts: 6 pairs
    assert (mi_same["mean"] > 2 * mi_diverse["mean"]).all() and np.isfinite(mi_diverse["mean"]).all()


def test_events_of_a_run_that_never_escapes_or_never_diversifies():
    run = SimpleNamespace(config=ch.variant_config("default"), history={"last_error": np.ones(800)})
    ev = ch.run_events(run, pd.DataFrame({"iteration": [0, 400], "mean": [5.0, 5.0]}))
    assert not ev["escaped"] and np.isnan(ev["escape"]) and np.isnan(ev["mi_fall"]) and np.isnan(ev["lead"])
    assert np.isnan(ch.run_events(run)["mi_fall"])               # no MI (one expert, the LSTM)


def test_the_lead_interval_can_exclude_zero_and_can_straddle_it():
    first = ch.lead_summary([120, 80, 200, 150, 90, 110, 170, 60, 140, 100])
    assert first["low"] > 0 and first["share_positive"] == 1.0
    mixed = ch.lead_summary([120, -80, 200, -150, 90, -110, 170, -60, 140, -100])
    assert mixed["low"] < 0 < mixed["high"]
    assert ch.lead_summary([np.nan, np.nan])["n"] == 0


def test_runs_that_never_escape_are_censored_in_the_survival_summary():
    def run(variant, seed, escape_at, length=800):
        err = np.ones(length) if escape_at is None else np.r_[np.ones(escape_at), np.full(length - escape_at, 0.3)]
        return SimpleNamespace(config=ch.variant_config(variant, seed), history={"last_error": err})

    table = ch.escape_table({"default": [run("default", s, e) for s, e in enumerate([300, None, None, None, 500])],
                             "random IDs": [run("random IDs", s, e) for s, e in enumerate([100, 120, 90, 150, 110])]})
    assert table[table.variant == "default"].duration.tolist()[1:4] == [800, 800, 800]
    summary = ch.survival_summary(table)
    assert summary.loc["default", "median"] == np.inf             # most never escaped: no median
    assert summary.loc["random IDs", "escaped"] == 5 and summary.loc["random IDs", "p"] < 0.05
    assert np.isnan(summary.loc["default", "p"])


def test_hidden_magnitudes_are_measured_over_training_and_a_long_rollout():
    runs = {"exponential update": [train(tiny(exponential_update=True), cache=False, progress=False)],
            "LSTM": [SimpleNamespace(config=ch.variant_config("LSTM"))]}        # no experts: skipped
    table = ch.magnitude_table(runs, batch=16)
    assert table.variant.tolist() == ["exponential update"]
    assert (table.max_training > 0).all() and np.isfinite(table.max_long).all()


def test_the_tables_over_trained_runs_and_the_identical_experts_check():
    same = train(tiny(init_noise=0.0, topology="complete"), cache=False, progress=False)
    noisy = train(tiny(init_noise=0.3), cache=False, progress=False)
    assert ch.identical_experts(same) and not ch.identical_experts(noisy)
    runs = {"no noise": [same], "default": [noisy]}
    mis = ch.mi_by_run(runs, batch=120, pca_dims=2)
    assert set(mis) == {("no noise", 0), ("default", 0)}
    table = ch.event_table(runs, mis)
    assert table.identical.tolist() == [True, False]
    assert table.mi_start.iloc[0] > table.mi_start.iloc[1]       # identical experts read at the ceiling


def test_the_estimator_table_and_the_inner_loop_curve():
    run = train(tiny(init_noise=0.3, expert_ids=2), cache=False, progress=False)
    table = ch.estimator_table([run], batch=150)
    assert table.measure.tolist() == list(ch.MEASURES) and np.isfinite(table.mi_start).all()
    curve = ch.mi_over_inner_steps(run, batch=150, pca_dims=2)
    assert curve.shape == (run.config.inner_steps + 1,) and np.isfinite(curve).all()
