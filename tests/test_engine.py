"""The compiled engine: same numbers as the eager one to float tolerance, bit-identical on a
rerun, part of the run's hash, and an eager fallback where compiling fails."""
import shutil
import warnings

import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig
from badgerlib import engine as engine_mod
from badgerlib.ensemble import train_many
from badgerlib.store import config_hash
from badgerlib.train import train

needs_compiler = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                                    reason="torch.compile on the CPU needs a C++ compiler")

TINY = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=6), inner_steps=4,
                 iterations=60, batch=8, lr=3e-3, snapshot_count=2, probe_batch=4)


def test_engine_is_validated_and_hashed():
    with pytest.raises(ValueError, match=r"RunConfig.engine = 'jit': must be one of \('eager', 'compiled'\)"):
        RunConfig(engine="jit")
    assert config_hash(TINY.replace(engine="eager")) == config_hash(TINY)          # stored runs keep their hash
    assert config_hash(TINY.replace(engine="compiled")) != config_hash(TINY)
    assert RunConfig.from_dict(TINY.replace(engine="compiled").to_dict()).engine == "compiled"


@needs_compiler
def test_compiled_matches_eager_and_reruns_bit_identically(tmp_path):
    eager = train(TINY, cache=False, progress=False)
    compiled = train(TINY.replace(engine="compiled"), runs_dir=tmp_path, progress=False)
    again = train(TINY.replace(engine="compiled"), cache=False, progress=False)
    assert compiled.meta["engine"] == "compiled" and eager.meta["engine"] == "eager"
    for name in ("loss", "dim_error", "grad_norm"):
        np.testing.assert_allclose(compiled.history[name], eager.history[name], rtol=1e-3, atol=1e-5)
        assert np.array_equal(compiled.history[name], again.history[name]), name
    # a wrong model (other weights) is far outside that tolerance: the comparison can fail
    other = train(TINY.replace(seed=1), cache=False, progress=False)
    assert not np.allclose(other.history["loss"], compiled.history["loss"], rtol=1e-3, atol=1e-5)


@needs_compiler
def test_compiled_resume_is_bit_identical(tmp_path):
    cfg = TINY.replace(engine="compiled")
    whole = train(cfg, cache=False, progress=False)

    def stop(done, loss):
        if done == 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, runs_dir=tmp_path, progress=False, checkpoint_every=10, on_iteration=stop)
    resumed = train(cfg, runs_dir=tmp_path, progress=False, checkpoint_every=10)
    assert np.array_equal(resumed.history["loss"], whole.history["loss"])


def test_compile_failure_falls_back_to_eager(monkeypatch):
    class Failed(torch._inductor.exc.InvalidCxxCompiler):
        pass

    def broken(model):
        def call(*args):
            raise Failed()
        return call

    monkeypatch.setattr(engine_mod.torch, "compile", broken)
    with pytest.warns(RuntimeWarning, match="torch.compile failed on this machine"):
        run = train(TINY.replace(engine="compiled"), cache=False, progress=False)
    assert run.meta["engine"].startswith("eager (torch.compile failed")
    eager = train(TINY, cache=False, progress=False)
    assert np.array_equal(run.history["loss"], eager.history["loss"])   # the fallback is the eager numbers


def test_model_errors_are_not_swallowed(monkeypatch):
    def broken(model):
        def call(*args):
            raise ValueError("a bug in the model")
        return call

    monkeypatch.setattr(engine_mod.torch, "compile", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="a bug in the model"):
            train(TINY.replace(engine="compiled"), cache=False, progress=False)


def test_train_many_trains_compiled_seeds_one_by_one(tmp_path, monkeypatch):
    """An ensemble of compiled configs is not vmapped (its numbers would not be the compiled
    seed's); it trains each seed as train() would."""
    monkeypatch.setattr(engine_mod.torch, "compile", lambda model: model)   # no compile cost here
    cfgs = [TINY.replace(engine="compiled", seed=s, iterations=20) for s in (0, 1)]
    runs = train_many(cfgs, runs_dir=tmp_path, progress=False)
    alone = [train(c, cache=False, progress=False) for c in cfgs]
    for a, b in zip(runs, alone):
        assert np.array_equal(a.history["loss"], b.history["loss"])
