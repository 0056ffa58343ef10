"""RunConfig.stop_when_solved: off and hash-neutral by default; a run that is solved stops,
keeps its history so far, snapshots where it stopped, is stored as finished, and resumes
from a checkpoint to the same result."""
import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, load_run, store, train
from badgerlib.analysis.components import solve_times
from badgerlib.run import snapshot_iterations
from badgerlib.tasks import SineSumGame
from badgerlib.train import SOLVED_THRESHOLD, dim_zeros_level, solved

# One dimension and a tiny agent: solved for good after ~120 updates (seed 0), in about a second.
EASY = RunConfig(task=GuessingGame(n=1), model=MicroBadgerConfig(experts=2, hidden=4, message=2),
                 iterations=200, batch=8, inner_steps=3, lr=1e-2, snapshot_count=5, probe_batch=4)
WINDOW = 20


def assert_runs_equal(a, b):
    assert a.history.keys() == b.history.keys()
    for k in a.history:
        assert np.array_equal(a.history[k], b.history[k]), k
    assert set(a.snapshots) == set(b.snapshots)
    for k in a.snapshots:
        assert np.array_equal(a.snapshots[k], b.snapshots[k]), k
    for k in a.model_state:
        assert torch.equal(a.model_state[k], b.model_state[k]), k


def state(config, dim_error):
    dim_error = np.asarray(dim_error, dtype=float)
    return SimpleNamespace(config=config, history={"dim_error": dim_error}, done=len(dim_error))


def test_the_default_is_off_and_keeps_the_hash_of_runs_stored_before_the_field():
    config = EASY
    assert config.stop_when_solved == 0
    data = config.to_dict()
    assert data.pop("stop_when_solved") == 0
    for name in ("record_states", "optimizer", "gradient", "engine", "probe_series"):
        data.pop(name)
    assert data.pop("learned_loss") is None
    for name in ("expert_ids", "init_scale", "vector_feedback", "multiplicative"):
        data["model"].pop(name)
    data["snapshots"] = data.pop("snapshot_count")
    before = json.dumps({"results_version": store.RESULTS_VERSION, "config": data}, sort_keys=True)
    assert store.config_hash(config) == hashlib.sha256(before.encode()).hexdigest()[:16]
    assert store.config_hash(config.replace(stop_when_solved=WINDOW)) != store.config_hash(config)
    assert RunConfig.from_dict(config.replace(stop_when_solved=7).to_dict()).stop_when_solved == 7


@pytest.mark.parametrize("value, shown", [(-1, "-1"), (1.5, "1.5"), (True, "True"), ("10", "'10'")])
def test_a_bad_window_is_named_with_what_is_allowed(value, shown):
    with pytest.raises(ValueError, match=rf"RunConfig.stop_when_solved = {shown}: must be an integer in \[0, 100000000\]"):
        EASY.replace(stop_when_solved=value)


def test_the_rule_needs_every_dimension_below_the_threshold_at_every_iteration_of_the_window():
    cfg = RunConfig(task=GuessingGame(n=2), stop_when_solved=3)
    level = GuessingGame(n=2).dim_zeros_level                     # 1/3 for mse
    low, high = 0.1 * level, 0.3 * level                           # normalised 0.1 and 0.3
    assert not solved(state(cfg, [[low, low]] * 2))               # fewer updates than the window
    assert solved(state(cfg, [[high, high]] + [[low, low]] * 3))
    assert not solved(state(cfg, [[low, low]] * 3 + [[low, high]]))      # one dimension unsolved
    assert not solved(state(cfg, [[low, low], [high, low], [low, low], [low, low]]))   # strict, not smoothed
    at = SOLVED_THRESHOLD * level
    assert not solved(state(cfg, [[at, low]] * 3))                # "below" is strict
    assert not solved(state(cfg.replace(stop_when_solved=0), [[0.0, 0.0]] * 5))      # off


def test_tasks_without_a_per_dimension_zeros_level_use_the_mean_one():
    game = SineSumGame(m=11, frequencies=(1, 2))
    assert not hasattr(game, "dim_zeros_level")
    assert dim_zeros_level(game) == pytest.approx(game.zeros_level / game.scale)
    gen = torch.Generator().manual_seed(0)
    y = game.sample_targets(20_000, gen, torch.float64)
    assert dim_zeros_level(game) == pytest.approx(float((y * y).mean()), rel=0.02)   # mean error of zeros
    assert RunConfig(task=game, stop_when_solved=5).stop_when_solved == 5


def test_a_solved_run_stops_keeps_its_history_so_far_and_is_stored_finished(tmp_path):
    full = train(EASY, cache=False, progress=False)                 # the rule off: every iteration
    assert len(full.history["loss"]) == EASY.iterations and "stopped_at" not in full.meta
    cfg = EASY.replace(stop_when_solved=WINDOW)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    k = run.meta["stopped_at"]
    assert WINDOW <= k < EASY.iterations
    # the history is the same training, cut where the rule first held
    for name, values in full.history.items():
        assert run.history[name].shape == (k, *values.shape[1:]) and np.array_equal(run.history[name], values[:k]), name
    normalised = full.history["dim_error"] / GuessingGame(n=1).dim_zeros_level
    below = np.all(normalised < SOLVED_THRESHOLD, axis=1)
    assert below[k - WINDOW:k].all()
    assert not any(below[d - WINDOW:d].all() for d in range(WINDOW, k))    # not earlier
    assert np.isfinite(solve_times(run.history["dim_error"], GuessingGame(n=1).dim_zeros_level)).all()
    # snapshots: those due before the stop, and one where it stopped, of the final weights
    due = [int(i) for i in snapshot_iterations(cfg) if i < k]
    assert run.snapshots["iterations"].tolist() == due + [k]
    params = [k for k in run.snapshots if k.startswith("param.")]
    assert params
    for key in params:
        assert np.array_equal(run.snapshots[key][-1], run.model_state[key[len("param."):]].numpy()), key
    # stored as a finished run: loaded, not trained again
    assert (run.path / "manifest.json").exists() and not (run.path / "checkpoint.pt").exists()
    calls = []
    again = train(cfg, runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: calls.append(i))
    assert calls == [] and again.meta["stopped_at"] == k
    assert_runs_equal(run, again)
    assert_runs_equal(run, load_run(cfg, tmp_path))


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("at_stop", [False, True])
def test_an_interrupted_run_resumes_to_the_same_stop(tmp_path, at_stop):
    cfg = EASY.replace(stop_when_solved=WINDOW)
    reference = train(cfg, cache=False, progress=False)
    k = reference.meta["stopped_at"]
    stop_at = k if at_stop else k - 5            # at the stop: checkpointed there, nothing left to do

    def interrupt(done, loss):
        if done == stop_at:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg, runs_dir=tmp_path, progress=False, checkpoint_every=7, on_iteration=interrupt)
    assert store.load_checkpoint(store.run_path(cfg, tmp_path))["iteration"] == stop_at
    done = []
    resumed = train(cfg, runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert done == list(range(stop_at + 1, k + 1))
    assert resumed.meta["stopped_at"] == k
    assert_runs_equal(reference, resumed)
    assert_runs_equal(reference, load_run(cfg, tmp_path))


def test_a_run_without_snapshots_stops_without_taking_one(tmp_path):
    cfg = EASY.replace(stop_when_solved=WINDOW, snapshot_count=0)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert run.meta["stopped_at"] < EASY.iterations
    assert run.snapshots["iterations"].tolist() == []
