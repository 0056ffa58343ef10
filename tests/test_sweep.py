"""Sweeps run on local processes and on a (local) Dask cluster with the same code, return run
directories (never whole runs), start the longest runs first; time estimates."""
from concurrent.futures import Executor, Future

import numpy as np
import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, load_run, train
from badgerlib.sweep import (
    cost, estimate_seconds, grid, load_runs, measure_speed, measure_speeds, seeds, sweep, torch_threads,
)

BASE = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=4), iterations=6, batch=4,
                 inner_steps=2, snapshot_count=0)


class RecordingExecutor(Executor):
    """Runs each job at once, in this process, and remembers the order they were submitted in."""

    def __init__(self):
        self.submitted = []

    def submit(self, fn, *args, **kwargs):
        self.submitted.append(args[0])
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_process_pool_sweep_returns_directories_of_runs_equal_to_single_runs(tmp_path):
    configs = seeds(BASE, 3)
    paths = sweep(configs, runs_dir=tmp_path / "a", progress=False)
    assert all(p.parent == tmp_path / "a" and (p / "manifest.json").exists() for p in paths)
    runs = load_runs(configs, runs_dir=tmp_path / "a")
    assert [r.config for r in runs] == configs and [r.path for r in runs] == paths
    for cfg, run in zip(configs, runs):
        alone = train(cfg, cache=False, progress=False)
        assert np.array_equal(alone.history["loss"], run.history["loss"])


def test_longest_runs_start_first_and_results_keep_the_given_order(tmp_path):
    configs = [BASE.replace(iterations=2), BASE.replace(iterations=8), BASE.replace(iterations=4, batch=8)]
    executor = RecordingExecutor()
    paths = sweep(configs, executor=executor, runs_dir=tmp_path, progress=False)
    assert [[c.iterations for c in task] for task in executor.submitted] == [[8], [4], [2]]  # costs 64, 64 (ties keep order), 16
    assert [cost(task[0]) for task in executor.submitted] == sorted(map(cost, configs), reverse=True)
    assert [load_run(c, tmp_path).path for c in configs] == paths


def test_seeds_of_one_config_train_together_up_to_the_ensemble_size(tmp_path):
    # an agent for which the vectorised gradient is bit-identical here (BASE's is too small: the
    # ensemble would fall back to one seed at a time, tests/test_ensemble.py)
    base = BASE.replace(model=MicroBadgerConfig(experts=4, hidden=8), batch=8)
    configs = [base.replace(iterations=2)] + seeds(base, 5) + [base.replace(seed=9, lr=0.1)]
    executor = RecordingExecutor()
    paths = sweep(configs, executor=executor, runs_dir=tmp_path, progress=False, ensemble=3)
    # the 5 seeds of base in tasks of 3 and 2 (costs summed over seeds: 288, 192), then the
    # lone lr = 0.1 run (96), then the 2-iteration run (32)
    assert [[c.seed for c in task] for task in executor.submitted] == [[0, 1, 2], [3, 4], [9], [0]]
    runs = [load_run(c, tmp_path) for c in configs]
    assert [r.path for r in runs] == paths
    assert [r.meta.get("ensemble", 1) for r in runs] == [1, 3, 3, 3, 2, 2, 1]
    for cfg, run in zip(configs[1:4], runs[1:4]):
        alone = train(cfg, cache=False, progress=False)
        assert np.array_equal(alone.history["loss"], run.history["loss"])


def test_dask_cluster_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    configs = grid(BASE, **{"task.n": [1, 2]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        paths = sweep(configs, executor=client.get_executor(), runs_dir=tmp_path, progress=False)
    assert all(p.parent == tmp_path for p in paths)
    runs = load_runs(configs, runs_dir=tmp_path)
    assert [r.config.task.n for r in runs] == [1, 2]
    # a second sweep finds the stored runs: same directories, nothing retrained
    assert sweep(configs, runs_dir=tmp_path, progress=False) == paths


def test_load_runs_names_the_missing_run(tmp_path):
    with pytest.raises(ValueError, match=r"no stored run for configs\[0\] \(seed 0"):
        load_runs([BASE], runs_dir=tmp_path)


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"configs\[1\] = 3: must be a RunConfig"):
        sweep([BASE, 3])
    with pytest.raises(ValueError, match="n = 0: must be an integer >= 1"):
        seeds(BASE, 0)
    with pytest.raises(ValueError, match="nested axes must start with"):
        grid(BASE, **{"train.lr": [1e-3]})


def test_estimate_seconds_takes_a_number_a_callable_or_measured_speeds():
    cfgs = [BASE.replace(iterations=300), BASE.replace(task=GuessingGame(n=6), iterations=600)]
    assert estimate_seconds(cfgs, lambda c: 100.0 if c.task.n == 2 else 50.0, workers=2) == pytest.approx(7.5)
    assert estimate_seconds(cfgs, {cfgs[0]: 100.0, cfgs[1]: 50.0}, workers=1) == pytest.approx(15.0)
    with pytest.raises(ValueError, match="workers = 0"):
        estimate_seconds(cfgs, 1.0, workers=0)
    with pytest.raises(ValueError, match="must be a number > 0"):
        estimate_seconds(cfgs, 0.0)
    with pytest.raises(ValueError, match="no speed for the config"):
        estimate_seconds(cfgs, {cfgs[0]: 1.0})


def test_speeds_are_measured_once_per_shape():
    cfg = BASE.replace(iterations=50)
    speeds = measure_speeds([cfg, cfg.replace(seed=3), cfg.replace(task=GuessingGame(n=3))], iterations=2)
    assert len(speeds) == 3 and speeds[cfg] == speeds[cfg.replace(seed=3)] > 0
    assert measure_speed(cfg, iterations=2) > 0
    with pytest.raises(ValueError, match="iterations = 0"):
        measure_speed(cfg, iterations=0)


def test_a_compiled_config_can_be_timed_eagerly(monkeypatch):
    """``engine="eager"`` times a compiled config without compiling it (an upper bound)."""
    from badgerlib import engine as engine_mod

    def refuse(model):
        raise AssertionError("compiled while timing eagerly")

    monkeypatch.setattr(engine_mod.torch, "compile", refuse)
    cfg = BASE.replace(iterations=50, engine="compiled")
    speeds = measure_speeds([cfg, cfg.replace(seed=1)], iterations=2, engine="eager")
    assert speeds[cfg] == speeds[cfg.replace(seed=1)] > 0
    with pytest.raises(AssertionError, match="compiled while timing"):
        measure_speed(cfg, iterations=2)


def test_torch_threads_restores_the_setting_even_after_an_error():
    import torch

    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError
    assert torch.get_num_threads() == before
