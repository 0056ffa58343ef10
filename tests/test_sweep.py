"""Sweeps run on local processes and on a (local) Dask cluster with the same code."""
import numpy as np
import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.sweep import grid, seeds, sweep

BASE = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=4), iterations=6, batch=4,
                 inner_steps=2, snapshots=0)


def test_process_pool_sweep_matches_single_runs(tmp_path):
    configs = seeds(BASE, 3)
    runs = sweep(configs, runs_dir=tmp_path / "a", progress=False)
    assert [r.config for r in runs] == configs
    for cfg, run in zip(configs, runs):
        alone = train(cfg, cache=False, progress=False)
        assert np.array_equal(alone.history["loss"], run.history["loss"])


def test_dask_cluster_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        runs = sweep(grid(BASE, **{"task.n": [1, 2]}), executor=client.get_executor(), runs_dir=tmp_path,
                     progress=False)
    assert [r.config.task.n for r in runs] == [1, 2]
    assert all(r.path.parent == tmp_path for r in runs)
    # a second sweep finds the stored runs
    again = sweep(grid(BASE, **{"task.n": [1, 2]}), runs_dir=tmp_path, progress=False)
    assert np.array_equal(again[1].history["loss"], runs[1].history["loss"])


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"configs\[1\] = 3: must be a RunConfig"):
        sweep([BASE, 3])
    with pytest.raises(ValueError, match="n = 0: must be an integer >= 1"):
        seeds(BASE, 0)
    with pytest.raises(ValueError, match="nested axes must start with"):
        grid(BASE, **{"train.lr": [1e-3]})
