"""The standard runs several chapters share (badgerlib.chapters.standard): every chapter must
build identical configs, so that they hit the same stored runs, and the per-run tables read
known plateaus and solve orders off synthetic histories."""
from __future__ import annotations

import doctest
from types import SimpleNamespace

import numpy as np
import pytest

from badgerlib.chapters import standard
from badgerlib.chapters.phases import synthetic_history
from badgerlib.chapters.standard import (
    FEATURE_SETS, FULL, QUICK, run_key, run_table, sizes, solve_table, standard_run, standard_runs,
)
from badgerlib.checks import FEATURES
from badgerlib.store import config_hash

#: Hashes of standard runs (n, seed, quick) as stored by the code before the chapters package
#: existed: a change here means every chapter trains its runs again. The full-mode hash changed
#: once, on purpose, when full mode took the compiled engine and the stop rule (issue 11), before
#: any full-mode run of chapters 2-3 was stored. The runs up to N = 6 changed once more, on
#: purpose, when they took the probe series (issue 17; quick mode's was 83b8398c29b385d8); the
#: N = 20 ones did not (their full-mode runs were in training).
STORED = {(3, 0, True): "5c520e3afcec8864", (20, 1, False): "489d496d8c797b21"}


def fake_run(n, spec, seed=0):
    """A run with a synthetic history (no training): what the tables read."""
    return SimpleNamespace(config=standard_run(n, seed), history=synthetic_history(spec, n=n, seed=seed))


def test_configs_depend_only_on_n_seed_and_mode():
    a = standard_runs([2, 3, 4, 6], seeds=5)
    b = standard_runs([6], seeds=3)          # what the ray-interference chapter asks for
    assert [config_hash(c) for c in b] == [config_hash(c) for c in a[-5:-2]]
    assert standard_run(3, 0, quick=True) != standard_run(3, 0, quick=False)
    assert {c.task.n for c in a} == {2, 3, 4, 6} and len(set(map(config_hash, a))) == 20
    with pytest.raises(ValueError, match="seeds = 0"):
        standard_runs([2], seeds=0)


def test_stored_runs_keep_their_hashes():
    assert {key: config_hash(standard_run(*key)) for key in STORED} == STORED


def test_quick_and_full_sizes():
    q = standard_run(6)
    assert (q.model.experts, q.model.hidden, q.inner_steps, q.iterations, q.lr) == (8, 32, 10, 3000, 3e-3)
    assert q.snapshot_count == 31 and q.model.features == FEATURES and q.record_states
    f = standard_run(20, quick=False)
    assert (f.model.experts, f.model.hidden, f.inner_steps, f.lr) == (16, 64, 24, 1e-3)
    assert not f.record_states
    assert (f.engine, f.stop_when_solved) == ("compiled", 1000) and q.engine == "eager" and not q.stop_when_solved
    assert standard_run(6, quick=False).stop_when_solved == 0     # small N run to the end
    assert standard_run(5).iterations == 2500         # not listed: per_n * N
    assert sizes(True) is QUICK and sizes(False) is FULL
    with pytest.raises(ValueError, match="quick = 'yes'"):
        standard_run(3, quick="yes")
    with pytest.raises(ValueError, match="n = 0"):
        standard_run(0)


def test_run_key_names_the_feature_set():
    assert run_key(SimpleNamespace(config=standard_run(2, 1, features=FEATURE_SETS["error + change"]))) == \
        {"n": 2, "seed": 1, "metric": "mse", "features": "error + change"}


def test_run_table_on_histories_with_known_plateaus():
    runs = [fake_run(3, [("zeros", 400), (1, 400), (2, 400), (3, 400)], seed=s) for s in range(2)]
    runs.append(fake_run(2, [("zeros", 400), ("same", 400), (2, 400)], seed=0))
    rt = run_table(runs)
    assert rt.plateaus.tolist() == [4, 4, 3]
    assert rt.converged.all() and (rt.first_phase == "zeros").all()
    assert rt.solved_steps.tolist()[:2] == [[1, 1, 1], [1, 1, 1]]
    assert rt.same_number.iloc[2] == pytest.approx(1 / 3, abs=0.05) and rt.same_number.iloc[0] == 0
    assert np.all(np.abs(rt.escape - 400) < 30)
    assert rt.concurrency.iloc[0] == pytest.approx(1.0, abs=0.1)          # one dimension at a time
    assert rt.max_imbalance.iloc[0] == pytest.approx(np.sqrt(2) / 3, abs=0.05)
    assert rt.seconds.isna().all()                                          # no meta: no training time
    assert np.isnan(run_table(runs[:1], horizon=300).escape.iloc[0])        # not left within 300


def test_run_table_of_a_run_that_ends_in_a_transition():
    rt = run_table([fake_run(2, [("zeros", 600), (1, 30)])])
    assert np.isnan(rt.final_level.iloc[0]) and rt.solved.iloc[0] == 1 and not rt.converged.iloc[0]


def test_solve_table_orders_the_dimensions():
    st = solve_table([fake_run(3, [("zeros", 400), (1, 400), (2, 400), (3, 400)])])
    assert st.order.tolist() == [1.0, 2.0, 3.0] and np.all(np.abs(st.solved_at - [440, 840, 1240]) < 40)
    assert np.all(st.started_at < st.solved_at)
    partial = solve_table([fake_run(2, [("zeros", 400), (1, 400)])])
    assert partial.order.tolist()[0] == 1.0 and np.isnan(partial.order.iloc[1]) and np.isnan(partial.solved_at.iloc[1])


def test_docstring_examples_run():
    assert doctest.testmod(standard).failed == 0
