"""Training: determinism, the run store, resume, corruption, the NaN guard."""
import json
import os

import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, store, train
from badgerlib.run import build_model


def small_config(**changes):
    base = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=6, message=3),
                     iterations=12, batch=4, inner_steps=3, snapshot_count=3, probe_batch=5)
    return base.replace(**changes)


def assert_runs_equal(a, b):
    assert a.history.keys() == b.history.keys()
    for k in a.history:
        assert np.array_equal(a.history[k], b.history[k]), k
    for k in a.snapshots:
        assert np.array_equal(a.snapshots[k], b.snapshots[k]), k
    for k in a.model_state:
        assert torch.equal(a.model_state[k], b.model_state[k]), k


def test_history_and_snapshots_have_the_documented_shapes(tmp_path):
    run = train(small_config(), runs_dir=tmp_path, progress=False)
    for name in ("loss", "last_error", "grad_norm", "guess_magnitude", "guess_spread", "mean_corr"):
        assert run.history[name].shape == (12,)
        assert np.all(np.isfinite(run.history[name]))
    assert run.history["dim_error"].shape == (12, 2)
    assert run.snapshots["iterations"].tolist() == [0, 6, 12]
    assert run.snapshots["hidden"].shape == (3, 5, 4, 3, 6)
    assert run.snapshots["outputs"].shape == (3, 5, 4, 3, 2)
    assert run.snapshots["targets"].shape == (5, 2)
    # the last-step error recorded in history matches the per-dimension errors
    assert np.allclose(run.history["last_error"], 3 * run.history["dim_error"].mean(axis=1))


def test_same_config_same_numbers_and_different_seed_different_numbers(tmp_path):
    a = train(small_config(), runs_dir=tmp_path / "a", progress=False)
    b = train(small_config(), runs_dir=tmp_path / "b", progress=False)
    assert_runs_equal(a, b)
    c = train(small_config(seed=1), runs_dir=tmp_path / "c", progress=False)
    assert not np.array_equal(a.history["loss"], c.history["loss"])


def test_finished_run_is_loaded_not_recomputed(tmp_path):
    a = train(small_config(), runs_dir=tmp_path, progress=False)
    calls = []
    b = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: calls.append(i))
    assert calls == []
    assert_runs_equal(a, b)
    assert json.loads((a.path / "config.json").read_text())["config"] == small_config().to_dict()


class Interrupt(Exception):
    pass


def interrupt_at(n):
    def callback(done, loss):
        if done == n:
            raise Interrupt
    return callback


@pytest.mark.parametrize("stop_at, checkpoint_every", [(7, 0), (7, 5), (5, 5)])
def test_interrupted_run_resumes_to_identical_result(tmp_path, stop_at, checkpoint_every):
    reference = train(small_config(), cache=False, progress=False)
    with pytest.raises(Interrupt):
        train(small_config(), runs_dir=tmp_path, progress=False, checkpoint_every=checkpoint_every,
              on_iteration=interrupt_at(stop_at))
    path = store.run_path(small_config(), tmp_path)
    assert store.load_checkpoint(path)["iteration"] == stop_at
    done = []
    resumed = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert done[0] == stop_at + 1  # it really resumed instead of starting over
    assert_runs_equal(reference, resumed)
    assert not (path / "checkpoint.pt").exists()


def test_corrupt_checkpoint_is_detected_and_run_recomputed(tmp_path):
    reference = train(small_config(), cache=False, progress=False)
    with pytest.raises(Interrupt):
        train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=interrupt_at(6))
    path = store.run_path(small_config(), tmp_path)
    data = (path / "checkpoint.pt").read_bytes()
    (path / "checkpoint.pt").write_bytes(data[: len(data) // 2])  # truncated
    done = []
    with pytest.warns(UserWarning, match="checkpoint .* is corrupt"):
        run = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert done[0] == 1  # started from scratch
    assert_runs_equal(reference, run)


@pytest.mark.parametrize("victim", ["history.npz", "model.pt", "manifest.json"])
def test_corrupt_result_file_is_recomputed_never_used(tmp_path, victim):
    first = train(small_config(), runs_dir=tmp_path, progress=False)
    target = first.path / victim
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    done = []
    with pytest.warns(UserWarning, match="recomputing"):
        again = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert len(done) == 12
    assert_runs_equal(first, again)


def test_results_version_changes_the_key(monkeypatch):
    before = store.config_hash(small_config())
    monkeypatch.setattr(store, "RESULTS_VERSION", store.RESULTS_VERSION + 1)
    assert store.config_hash(small_config()) != before


def test_non_finite_loss_stops_with_the_iteration_and_keeps_the_checkpoint(tmp_path):
    cfg = small_config(iterations=30)
    path = store.run_path(cfg, tmp_path)

    def poison(done, loss):
        if done == 10:  # corrupt the weights: the next loss is NaN
            raise Interrupt

    with pytest.raises(Interrupt):
        train(cfg, runs_dir=tmp_path, progress=False, on_iteration=poison)
    ckpt = store.load_checkpoint(path)
    ckpt["model"]["w_hh"][:] = float("nan")
    store.save_checkpoint(path, ckpt)
    with pytest.raises(FloatingPointError, match="at iteration 10; last good checkpoint kept in"):
        train(cfg, runs_dir=tmp_path, progress=False)
    assert store.load_checkpoint(path)["iteration"] == 10


def test_float64_runs_and_trained_model_rolls_out(tmp_path):
    run = train(small_config(dtype="float64"), runs_dir=tmp_path, progress=False)
    r = run.rollout(batch=7, record=True)
    assert r.guesses.dtype == torch.float64 and r.hidden.shape == (7, 4, 3, 6)


def test_cuda_request_without_cuda_is_a_clear_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="device = 'cuda': CUDA is not available"):
        train(small_config(), runs_dir=tmp_path, device="cuda", progress=False)


def test_training_reduces_the_error_on_an_easy_game(tmp_path):
    """One dimension, a few hundred iterations: the agent must leave the zeros level."""
    cfg = RunConfig(task=GuessingGame(n=1), model=MicroBadgerConfig(experts=4, hidden=16),
                    iterations=400, batch=32, inner_steps=5, lr=3e-3, snapshot_count=0)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert run.history["loss"][:20].mean() > 0.7
    assert run.rollout(batch=500).feedback[:, -1].mean() < 0.3


def test_snapshot_weights_rebuild_the_model_that_made_the_snapshot(tmp_path):
    from badgerlib.run import build_model, probe_inputs

    run = train(small_config(), runs_dir=tmp_path, progress=False)
    cfg = run.config
    for k in range(len(run.snapshots["iterations"])):
        model = run.model_at(k)
        targets, h_init = probe_inputs(model, cfg)
        with torch.no_grad():
            r = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h_init, record=True)
        assert np.allclose(r.guesses.numpy(), run.snapshots["guesses"][k], atol=1e-6)
    # snapshot 0 is the untrained model; the last one differs from it
    assert torch.equal(run.model_at(0).w_hh, build_model(cfg).w_hh)
    assert not torch.equal(run.model_at(0).w_hh, run.model_at(-1).w_hh)
    with pytest.raises(ValueError, match=r"snapshot = 3: must be an index in \[0, 2\]"):
        run.model_at(3)


def test_stored_files_follow_the_umask_so_a_shared_store_stays_readable(tmp_path):
    old = os.umask(0o022)
    try:
        store.atomic_write_bytes(tmp_path / "shared.bin", b"x")
        os.umask(0o077)
        store.atomic_write_bytes(tmp_path / "private.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.bin").stat().st_mode & 0o777 == 0o600


def test_states_can_be_left_out_of_snapshots_and_recomputed_exactly(tmp_path):
    """record_states=False stores no states, trains identically, and Run.states_at rebuilds the
    states that a record_states=True run stores, from the snapshot's weights."""
    full = train(small_config(), runs_dir=tmp_path, progress=False)
    lean = train(small_config(record_states=False), runs_dir=tmp_path, progress=False)
    assert store.config_hash(full.config) != store.config_hash(lean.config)
    assert "hidden" not in lean.snapshots and "outputs" not in lean.snapshots
    for k in full.history:
        assert np.array_equal(full.history[k], lean.history[k]), k
    for k in lean.snapshots:
        assert np.array_equal(full.snapshots[k], lean.snapshots[k]), k
    for k in range(len(full.snapshots["iterations"])):
        for run in (full, lean):
            r = run.states_at(k)
            assert np.allclose(r.hidden.float().numpy(), full.snapshots["hidden"][k], atol=1e-6)
            assert np.allclose(r.outputs.float().numpy(), full.snapshots["outputs"][k], atol=1e-6)
            assert np.allclose(r.guesses.float().numpy(), full.snapshots["guesses"][k], atol=1e-6)


def test_fields_added_or_renamed_later_keep_the_hash_of_runs_stored_before_them():
    import hashlib
    config = small_config()
    data = config.to_dict()
    assert data.pop("record_states") is True
    assert data.pop("optimizer") == "adam" and data.pop("gradient") == "objective"
    assert data.pop("stop_when_solved") == 0                     # added later (issue 11)
    assert data.pop("engine") == "eager"                         # added later (issue 11)
    assert data.pop("learned_loss") is None                      # added later (issue 16)
    assert data.pop("probe_series") == 0                         # added later (issue 17)
    assert data["model"].pop("expert_ids") == 0                  # added later (issue 12)
    assert data["model"].pop("init_scale") == 1.0                # added later (issue 15)
    assert data["model"].pop("vector_feedback") is False         # added later (issue 16)
    assert data["model"].pop("multiplicative") is False          # added later (issue 16)
    data["snapshots"] = data.pop("snapshot_count")                # hashed under its old name
    before = json.dumps({"results_version": store.RESULTS_VERSION, "config": data}, sort_keys=True)
    assert store.config_hash(config) == hashlib.sha256(before.encode()).hexdigest()[:16]
    with pytest.raises(ValueError, match=r"RunConfig.record_states = 1: must be True or False"):
        small_config(record_states=1)


def test_checkpoints_list_snapshot_files_instead_of_rewriting_them(tmp_path):
    """Each snapshot is written once when taken; the checkpoint holds only their hashes, so its
    size does not grow with the snapshots (a long run used to rewrite them all every time)."""
    config = small_config(snapshot_count=12)
    reference = train(config, cache=False, progress=False)
    with pytest.raises(Interrupt):
        train(config, runs_dir=tmp_path, progress=False, checkpoint_every=4, on_iteration=interrupt_at(10))
    path = store.run_path(config, tmp_path)
    ckpt = store.load_checkpoint(path)
    from badgerlib.run import snapshot_iterations
    taken = [int(i) for i in snapshot_iterations(config) if i < 10]
    assert "snapshots" not in ckpt and sorted(map(int, ckpt["snapshot_files"])) == taken
    assert sorted(int(f.stem) for f in (path / store.CHECKPOINT_SNAPSHOTS).glob("*.npz")) == taken
    assert_runs_equal(reference, train(config, runs_dir=tmp_path, progress=False))
    assert not (path / store.CHECKPOINT_SNAPSHOTS).exists()


def test_corrupt_checkpoint_snapshot_restarts_the_run(tmp_path):
    reference = train(small_config(), cache=False, progress=False)
    with pytest.raises(Interrupt):
        train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=interrupt_at(8))
    path = store.run_path(small_config(), tmp_path)
    victim = path / store.CHECKPOINT_SNAPSHOTS / "6.npz"
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    done = []
    with pytest.warns(UserWarning, match=r"checkpoint .* is corrupt \(snapshot 6.npz"):
        run = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert done[0] == 1
    assert_runs_equal(reference, run)


def test_a_checkpoint_written_before_snapshot_files_still_resumes(tmp_path):
    reference = train(small_config(), cache=False, progress=False)
    with pytest.raises(Interrupt):
        train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=interrupt_at(8))
    path = store.run_path(small_config(), tmp_path)
    ckpt = store.load_checkpoint(path)
    snaps = store.load_checkpoint_snapshots(path, ckpt.pop("snapshot_files"))
    ckpt["snapshots"] = {str(k): {n: torch.from_numpy(a) for n, a in v.items()} for k, v in snaps.items()}
    store.save_checkpoint(path, ckpt)        # the old format: snapshots inside the checkpoint
    import shutil
    shutil.rmtree(path / store.CHECKPOINT_SNAPSHOTS)
    done = []
    run = train(small_config(), runs_dir=tmp_path, progress=False, on_iteration=lambda i, l: done.append(i))
    assert done[0] == 9
    assert_runs_equal(reference, run)


def test_a_registered_optimiser_replaces_adam_without_touching_the_loop(tmp_path):
    from badgerlib.config import OPTIMIZERS, register_optimizer

    register_optimizer("sgd-test", lambda params, config: torch.optim.SGD(params, lr=config.lr))
    try:
        adam = train(small_config(), runs_dir=tmp_path, progress=False)
        sgd = train(small_config(optimizer="sgd-test"), runs_dir=tmp_path, progress=False)
        assert sgd.path != adam.path                     # a different run, stored under its own hash
        assert np.array_equal(sgd.history["loss"][:1], adam.history["loss"][:1])   # same start
        assert not np.array_equal(sgd.history["loss"], adam.history["loss"])
    finally:
        del OPTIMIZERS["sgd-test"]


def test_a_registered_gradient_transform_makes_the_gradient(tmp_path):
    from badgerlib.config import GRADIENT_TRANSFORMS, register_gradient_transform
    from badgerlib.objective import objective

    calls = []

    def frozen(model, rollout, config):           # reports the objective, leaves every gradient at zero
        calls.append(1)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        return objective(rollout, config.loss_on).detach()

    register_gradient_transform("frozen-test", frozen)
    try:
        cfg = small_config(gradient="frozen-test", snapshot_count=0)
        run = train(cfg, cache=False, progress=False)
        assert len(calls) == cfg.iterations
        initial = build_model(cfg).state_dict()
        assert all(torch.equal(run.model_state[k], initial[k]) for k in initial)   # Adam with zero gradients
        assert np.all(run.history["grad_norm"] == 0)
    finally:
        del GRADIENT_TRANSFORMS["frozen-test"]


def test_unknown_optimiser_or_gradient_names_fail_at_the_config():
    with pytest.raises(ValueError, match=r"RunConfig.optimizer = 'lion': must be one of \['adam'"):
        small_config(optimizer="lion")
    with pytest.raises(ValueError, match=r"RunConfig.gradient = 'mgda': must be one of \[.*'objective'.*'pcgrad'"):
        small_config(gradient="mgda")


def test_a_config_written_with_the_old_field_name_is_read():
    data = small_config(snapshot_count=7).to_dict()
    data["snapshots"] = data.pop("snapshot_count")
    assert RunConfig.from_dict(data) == small_config(snapshot_count=7)


def test_the_probe_series_is_the_probe_error_of_each_update_and_changes_nothing_else(tmp_path):
    """``probe_series``: the run trains exactly as without it (every other history column, the
    snapshots and the weights bit-identical), and its ``probe_error`` at iteration k is the
    error of the weights after k + 1 updates on the first probe tasks, recomputed from the
    snapshot weights; it survives an interruption."""
    from badgerlib.run import probe_inputs
    from badgerlib.train import probe_error

    plain = train(small_config(snapshot_count=13), cache=False, progress=False)
    cfg = small_config(snapshot_count=13, probe_series=3)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert set(run.history) == set(plain.history) | {"probe_error"}
    for k in plain.history:
        assert np.array_equal(run.history[k], plain.history[k]), k
    for k in plain.model_state:
        assert torch.equal(run.model_state[k], plain.model_state[k]), k
    its = run.snapshots["iterations"]
    for k in range(1, len(its)):                       # snapshot k holds the weights after its[k] updates
        model = run.model_at(k)
        targets, h_init = probe_inputs(model, cfg, batch=3)
        with torch.no_grad():
            expected = float(model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h_init).feedback[:, -1].mean())
        assert run.history["probe_error"][its[k] - 1] == pytest.approx(expected, rel=1e-6)
        assert run.history["probe_error"][its[k] - 1] == probe_error(model, cfg)
    # it has no fresh sampling noise: the batch error does, on the same weights
    assert np.std(np.diff(run.history["probe_error"])) < np.std(np.diff(run.history["last_error"]))
    # the default leaves the hash of every stored run alone; a bad value names the field
    assert store.config_hash(small_config(probe_series=0)) == store.config_hash(small_config())
    assert store.config_hash(cfg) != store.config_hash(small_config(snapshot_count=13))
    with pytest.raises(ValueError, match=r"RunConfig.probe_series = 6: must be at most probe_batch = 5"):
        small_config(probe_series=6)
    # resumed after an interruption: the same series
    calls = []

    def stop(done, loss):
        calls.append(done)
        if done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, runs_dir=tmp_path / "b", progress=False, on_iteration=stop)
    resumed = train(cfg, runs_dir=tmp_path / "b", progress=False)
    assert np.array_equal(resumed.history["probe_error"], run.history["probe_error"])
