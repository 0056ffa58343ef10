"""Many runs at once: configs x seeds on any ``concurrent.futures`` executor.

By default the runs go to local worker processes (one per core, one torch thread each). To use
a cluster, pass the executor of a Dask client, ``distributed.Client(...).get_executor()``, and a
``runs_dir`` that every worker can reach (a shared file system): the code does not change.

Each run is stored by its config hash as usual, so a sweep that is interrupted or rerun only
computes what is missing.

Example
-------
>>> import tempfile
>>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
>>> base = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4),
...                  iterations=3, batch=2, inner_steps=2, snapshots=0)
>>> from concurrent.futures import ThreadPoolExecutor
>>> with ThreadPoolExecutor(2) as pool:
...     runs = sweep(seeds(base, 3), executor=pool, runs_dir=tempfile.mkdtemp(), progress=False)
>>> [run.config.seed for run in runs]
[0, 1, 2]
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from badgerlib.config import RunConfig


def seeds(config: RunConfig, n: int, start: int = 0) -> list[RunConfig]:
    """``n`` copies of ``config`` with seeds ``start .. start + n - 1``.

    Example
    -------
    >>> [c.seed for c in seeds(RunConfig(), 3, start=5)]
    [5, 6, 7]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n = {n!r}: must be an integer >= 1")
    return [config.replace(seed=start + i) for i in range(n)]


def grid(config: RunConfig, **axes: Sequence) -> list[RunConfig]:
    """Every combination of the given values; keys are RunConfig fields, or ``task.<field>`` /
    ``model.<field>`` for nested ones.

    Example
    -------
    >>> cfgs = grid(RunConfig(), **{"task.n": [2, 3], "seed": [0, 1]})
    >>> [(c.task.n, c.seed) for c in cfgs]
    [(2, 0), (2, 1), (3, 0), (3, 1)]
    """
    import dataclasses
    import itertools

    names = list(axes)
    out = []
    for values in itertools.product(*(axes[n] for n in names)):
        cfg = config
        for name, value in zip(names, values):
            if "." in name:
                part, field = name.split(".", 1)
                if part not in ("task", "model"):
                    raise ValueError(f"grid axis = {name!r}: nested axes must start with 'task.' or 'model.'")
                cfg = cfg.replace(**{part: dataclasses.replace(getattr(cfg, part), **{field: value})})
            else:
                cfg = cfg.replace(**{name: value})
        out.append(cfg)
    return out


def _train_one(config: RunConfig, runs_dir: str | None, device: str, threads: int | None):
    """Worker entry point (module level, so process and Dask executors can pickle it)."""
    import torch

    from badgerlib.train import train

    if threads:
        torch.set_num_threads(threads)
    return train(config, runs_dir=runs_dir, device=device, progress=False)


def sweep(configs: Iterable[RunConfig], executor: Executor | None = None, runs_dir: str | Path | None = None,
          device: str = "cpu", progress: bool = True, threads: int | None = 1) -> list:
    """Train (or load) every config and return the runs in the order given.

    Parameters
    ----------
    executor: any ``concurrent.futures.Executor``; default: a process pool with one worker per
        core. A Dask cluster: ``distributed.Client(address).get_executor()``.
    runs_dir: the run store; it must be shared by all workers.
    threads: torch threads per run (1 avoids oversubscribing the cores; None leaves it alone).

    Example: see the module docstring.
    """
    configs = list(configs)
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"configs[{i}] = {cfg!r}: must be a RunConfig")
    runs_dir = str(runs_dir) if runs_dir is not None else None
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=min(len(configs), os.cpu_count() or 1) or 1)
    try:
        futures = {executor.submit(_train_one, cfg, runs_dir, device, threads): i for i, cfg in enumerate(configs)}
        results = [None] * len(configs)
        for fut in tqdm(as_completed(futures), total=len(futures), disable=not progress, desc="sweep", unit="run"):
            results[futures[fut]] = fut.result()
        return results
    finally:
        if own:
            executor.shutdown()
