"""Seed ensembles: every seed's numbers bit-identical to training it alone, stored as its own run."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, LSTMMetaLearnerConfig, MicroBadgerConfig, RunConfig, SineSumGame, load_run, train
from badgerlib.ensemble import same_but_seed, train_many, vmap_is_exact
from badgerlib.sweep import seeds
from badgerlib.train import resume


def exact_here(configs) -> bool:
    """Whether this machine's batched kernels give these shapes bit-identical gradients (the
    ensemble vectorises only then; it falls back to one seed at a time otherwise)."""
    return vmap_is_exact([resume(c, None) for c in configs])

BASE = RunConfig(task=GuessingGame(n=3), model=MicroBadgerConfig(experts=4, hidden=8), iterations=24, batch=8,
                 inner_steps=4, snapshot_count=3, probe_batch=5)


def assert_identical(a, b):
    for part in ("history", "snapshots"):
        x, y = getattr(a, part), getattr(b, part)
        assert sorted(x) == sorted(y)
        for k in x:
            assert np.array_equal(x[k], y[k]), (part, k)
    for k in a.model_state:
        assert torch.equal(a.model_state[k], b.model_state[k]), k


@pytest.mark.parametrize("base", [
    BASE,
    BASE.replace(task=GuessingGame(n=2, metric="l1"), loss_on="last", dtype="float64",
                 model=MicroBadgerConfig(experts=3, hidden=6, exponential_update=True, features=("error",))),
    BASE.replace(task=SineSumGame(m=7, frequencies=(1, 2)), record_states=False, grad_clip=0.0),
    BASE.replace(probe_series=3),
], ids=["standard", "variants", "sine-sum", "probe-series"])
def test_every_seed_of_an_ensemble_is_bit_identical_to_that_seed_alone(tmp_path, base, monkeypatch):
    import badgerlib.ensemble as ensemble

    steps = []
    monkeypatch.setattr(ensemble, "update_many", lambda states, real=ensemble.update_many: steps.append(1) or real(states))
    configs = seeds(base, 3, start=4)
    runs = train_many(configs, runs_dir=tmp_path, progress=False)
    assert exact_here(configs), "these shapes were exact where the test was written: look at this machine's kernels"
    assert len(steps) == base.iterations                           # the seeds really went together
    assert [r.config for r in runs] == configs
    for cfg, run in zip(configs, runs):
        assert_identical(run, train(cfg, cache=False, progress=False))
        assert load_run(cfg, tmp_path).path == run.path            # stored under its own hash


@pytest.mark.parametrize("model", [LSTMMetaLearnerConfig(hidden=8),
                                   MicroBadgerConfig(experts=3, hidden=6, per_expert_readout=True)])
def test_a_model_that_is_not_exact_under_vmap_is_trained_seed_by_seed(tmp_path, model):
    configs = seeds(BASE.replace(model=model), 2)
    for cfg, run in zip(configs, train_many(configs, runs_dir=tmp_path, progress=False)):
        assert_identical(run, train(cfg, cache=False, progress=False))


def test_stored_seeds_are_loaded_and_only_the_rest_trained(tmp_path):
    first = train(BASE.replace(seed=1), runs_dir=tmp_path, progress=False)
    runs = train_many(seeds(BASE, 3), runs_dir=tmp_path, progress=False)
    assert runs[1].meta == first.meta                               # loaded, not trained again
    assert_identical(runs[2], train(BASE.replace(seed=2), cache=False, progress=False))


def test_an_interrupted_ensemble_resumes_to_identical_runs(tmp_path, monkeypatch):
    import badgerlib.ensemble as ensemble

    real, calls = ensemble.update_many, []

    def interrupt_after_ten(states):
        if len(calls) == 10:
            raise KeyboardInterrupt
        calls.append(1)
        return real(states)

    monkeypatch.setattr(ensemble, "update_many", interrupt_after_ten)
    configs = seeds(BASE, 2)
    with pytest.raises(KeyboardInterrupt):
        train_many(configs, runs_dir=tmp_path, progress=False)
    monkeypatch.setattr(ensemble, "update_many", real)
    for cfg, run in zip(configs, train_many(configs, runs_dir=tmp_path, progress=False)):
        assert_identical(run, train(cfg, cache=False, progress=False))


def test_configs_must_differ_only_in_seed():
    with pytest.raises(ValueError, match=r"configs\[1\] differs from configs\[0\] in more than its seed"):
        same_but_seed([BASE, BASE.replace(seed=1, lr=0.1)])
    with pytest.raises(ValueError, match=r"seeds \[0, 0\] repeat"):
        same_but_seed([BASE, BASE])
    with pytest.raises(ValueError, match="configs is empty"):
        same_but_seed([])


def test_a_seed_that_meets_its_stop_rule_leaves_the_ensemble_as_it_would_stop_alone(tmp_path):
    easy = BASE.replace(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=4, hidden=16), iterations=400,
                        lr=1e-2, stop_when_solved=20)      # seeds 1 and 2 stop (at 226 and 211), seed 0 runs on
    configs = seeds(easy, 3)
    assert exact_here(configs)
    runs = train_many(configs, runs_dir=tmp_path, progress=False)
    stopped = [r.meta.get("stopped_at") for r in runs]
    assert any(s is not None for s in stopped), "no seed stopped: the test would show nothing"
    for cfg, run in zip(configs, runs):
        assert_identical(run, train(cfg, cache=False, progress=False))


def test_shapes_whose_batched_gradients_are_not_exact_fall_back_to_one_seed_at_a_time(tmp_path):
    tiny = BASE.replace(model=MicroBadgerConfig(experts=2, hidden=4, message=2), task=GuessingGame(n=1))
    configs = seeds(tiny, 2)
    # whichever way this machine goes for these shapes, every seed ends as it would alone
    for cfg, run in zip(configs, train_many(configs, runs_dir=tmp_path, progress=False)):
        assert_identical(run, train(cfg, cache=False, progress=False))


# ---------------------------------------------------------------- the stacked path (CUDA's, graphs off here)
def assert_close(a, b, rtol=1e-4, atol=1e-6):
    for k in a.history:
        np.testing.assert_allclose(a.history[k], b.history[k], rtol=rtol, atol=atol, err_msg=k)
    for k in a.model_state:
        np.testing.assert_allclose(a.model_state[k].numpy(), b.model_state[k].numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("base", [
    BASE,
    BASE.replace(model=LSTMMetaLearnerConfig(hidden=8)),
    BASE.replace(task=SineSumGame(m=7, frequencies=(1, 2)), record_states=False, grad_clip=0.0),
    BASE.replace(probe_series=3),
], ids=["micro-badger", "lstm", "sine-sum-unclipped", "probe-series"])
def test_the_stacked_path_matches_each_seed_alone_to_float_tolerance(tmp_path, base):
    """What ``train_many(device="cuda")`` runs, with CUDA graphs off: one Adam over the stacked
    weights and vectorised clipping give each seed's numbers to float tolerance; snapshots are
    taken from the synced weights."""
    configs = seeds(base, 3, start=2)
    runs = train_many(configs, runs_dir=tmp_path, progress=False, mode="stacked")
    for cfg, run in zip(configs, runs):
        alone = train(cfg, cache=False, progress=False)
        assert_close(run, alone)
        np.testing.assert_allclose(run.snapshots["guesses"], alone.snapshots["guesses"], rtol=1e-4, atol=1e-5)
        assert load_run(cfg, tmp_path).path == run.path
    # the comparison can fail: another seed's run is far from it
    with pytest.raises(AssertionError):
        assert_close(runs[0], train(configs[1], cache=False, progress=False))


def test_an_interrupted_stacked_ensemble_resumes_to_identical_runs(tmp_path, monkeypatch):
    import badgerlib.ensemble as ensemble

    configs = seeds(BASE, 2)
    whole = train_many(configs, runs_dir=tmp_path / "whole", progress=False, mode="stacked")
    real, calls = ensemble.StackedSeeds.step, []

    def interrupt_after_ten(self, active):
        if len(calls) == 10:
            raise KeyboardInterrupt
        calls.append(1)
        return real(self, active)

    monkeypatch.setattr(ensemble.StackedSeeds, "step", interrupt_after_ten)
    with pytest.raises(KeyboardInterrupt):
        train_many(configs, runs_dir=tmp_path, progress=False, checkpoint_every=4, mode="stacked")
    monkeypatch.setattr(ensemble.StackedSeeds, "step", real)
    for a, b in zip(train_many(configs, runs_dir=tmp_path, progress=False, mode="stacked"), whole):
        assert_identical(a, b)                          # the Adam state was restacked exactly


def test_a_stacked_seed_that_is_solved_leaves_the_ensemble(tmp_path):
    easy = RunConfig(task=GuessingGame(n=1), model=MicroBadgerConfig(experts=2, hidden=8), iterations=3000, batch=16,
                     inner_steps=3, lr=1e-2, snapshot_count=3, probe_batch=4, stop_when_solved=20)
    runs = train_many(seeds(easy, 2), runs_dir=tmp_path, progress=False, mode="stacked")
    for run in runs:
        assert run.meta["stopped_at"] == len(run.history["loss"]) < easy.iterations
        assert run.snapshots["iterations"][-1] == run.meta["stopped_at"]


def test_a_bad_mode_is_named():
    with pytest.raises(ValueError, match=r"train_many.mode = 'fast': must be one of \('auto', 'exact', 'stacked'\)"):
        train_many(seeds(BASE, 2), mode="fast")
