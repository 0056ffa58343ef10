"""Reading runs back: load_run never trains; lazy snapshots; models rebuilt at any snapshot."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, load_run, train
from badgerlib.run import MODEL_BUILDERS, build_model, register_model
from badgerlib.store import LazyArrays

CFG = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4), iterations=4, batch=2,
                inner_steps=2, snapshot_count=2, probe_batch=3)


def test_load_run_returns_none_and_trains_nothing_when_the_run_is_not_stored(tmp_path):
    assert load_run(CFG, runs_dir=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_load_run_reads_what_train_stored_with_lazy_snapshots(tmp_path):
    trained = train(CFG, runs_dir=tmp_path, progress=False)
    loaded = load_run(CFG, runs_dir=tmp_path)
    assert isinstance(loaded.snapshots, LazyArrays) and loaded.snapshots.loaded == {}
    assert np.array_equal(loaded.snapshots["hidden"], trained.snapshots["hidden"])
    assert set(loaded.snapshots.loaded) == {"hidden"}
    loaded.snapshots.release()
    assert loaded.snapshots.loaded == {}
    for k in trained.history:
        assert np.array_equal(loaded.history[k], trained.history[k])
    assert train(CFG, runs_dir=tmp_path, progress=False).path == trained.path     # loaded, not retrained


def test_a_corrupt_snapshot_file_is_not_loaded(tmp_path):
    run = train(CFG, runs_dir=tmp_path, progress=False)
    (run.path / "snapshots.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="missing or corrupt"):
        assert load_run(CFG, runs_dir=tmp_path) is None


def test_the_trained_model_rolls_out_and_snapshots_rebuild_their_models(tmp_path):
    run = train(CFG, runs_dir=tmp_path, progress=False)
    assert run.rollout(batch=10).guesses.shape == (10, 3, 2)
    assert torch.equal(run.model_at(1).h0, run.model().h0)          # the last snapshot is the end
    assert not torch.equal(run.model_at(0).h0, run.model().h0)
    with pytest.raises(ValueError, match="snapshot = 5: must be an index in"):
        run.model_at(5)


def test_states_at_recomputes_what_record_states_would_have_stored(tmp_path):
    kept = train(CFG, runs_dir=tmp_path / "a", progress=False)
    dropped = train(CFG.replace(record_states=False), runs_dir=tmp_path / "b", progress=False)
    assert "hidden" not in dropped.snapshots
    states = dropped.states_at(1)
    assert tuple(states.hidden.shape) == (3, 3, 2, 4)
    assert np.allclose(states.hidden.numpy(), kept.snapshots["hidden"][1], atol=1e-6)
    longer = dropped.states_at(1, steps=7)                  # the same loop, run past its training
    assert tuple(longer.hidden.shape) == (3, 8, 2, 4)
    assert torch.equal(longer.hidden[:, :3], states.hidden)
    with pytest.raises(ValueError, match="steps"):
        dropped.states_at(1, steps=0)


def test_an_unregistered_model_config_is_a_clear_error():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Toy:
        role: ClassVar[str] = "model"

    with pytest.raises(ValueError, match="no model registered for it"):
        build_model(RunConfig(model=Toy()))
    register_model(Toy, MODEL_BUILDERS[MicroBadgerConfig])
    try:
        with pytest.raises(AttributeError):     # the builder is called: Toy has no experts
            build_model(RunConfig(model=Toy()))
    finally:
        del MODEL_BUILDERS[Toy]
