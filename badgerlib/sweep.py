"""Many runs at once: configs x seeds on any ``concurrent.futures`` executor, and what they cost.

By default the runs go to local worker processes (one per core, one torch thread each). To use
a cluster, pass the executor of a Dask client, ``distributed.Client(...).get_executor()``, and a
``runs_dir`` that every worker can reach (a shared file system): the code does not change.

:func:`sweep` returns the run directories, not the runs: a worker ships back a path, never a
run's snapshots (hundreds of MB for a long run), and the caller loads what it needs with
:func:`badgerlib.load_run` (snapshots read lazily) or :func:`load_runs`. It starts the longest
runs first, so that fewer workers sit idle at the end. Each run is stored by its config hash as
usual, so a sweep that is interrupted or rerun only computes what is missing.

:func:`measure_speeds` and :func:`estimate_seconds` say how long a set of configs takes here;
:func:`store_status` says how far a set of runs has come in the store (stored, training,
paused at a checkpoint, missing), for ``python -m badgerlib status <chapter>``.

:func:`precompute` is the cluster route's engine: given a chapter's groups of configs (what
``configs(quick)`` of a chapter module returns), it trains what the store lacks with
:func:`sweep` and reports per group (``python -m badgerlib precompute <chapter>`` finds the
chapter; the core never imports the chapters).

Example
-------
>>> [c.seed for c in seeds(RunConfig(), 3, start=5)]
[5, 6, 7]
>>> estimate_seconds([RunConfig(iterations=300), RunConfig(iterations=600)], speed=100.0, workers=2)
4.5
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tqdm.auto import tqdm

from badgerlib.checks import check_int
from badgerlib.config import RunConfig

#: The most seeds :func:`sweep` trains together in one worker task by default.
ENSEMBLE = 8


def seeds(config: RunConfig, n: int, start: int = 0) -> list[RunConfig]:
    """``n`` copies of ``config`` with seeds ``start .. start + n - 1``.

    Example
    -------
    >>> [c.seed for c in seeds(RunConfig(), 2)]
    [0, 1]
    """
    check_int("seeds", "n", n, 1)
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


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Run a block with ``threads`` torch threads (None: leave as is), restoring them after.
    Small models are overhead-bound: one thread is as fast as two, and two threads on a
    machine that is busy with other work can be many times slower (they wait on each other).

    Example
    -------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_one(config: RunConfig, runs_dir: str | None, device: str, threads: int | None) -> str:
    """Worker entry point (module level, so process and Dask executors can pickle it): trains or
    loads the run and returns its directory."""
    from badgerlib.train import train

    with torch_threads(threads):
        return str(train(config, runs_dir=runs_dir, device=device, progress=False).path)


def _train_group(configs: list[RunConfig], runs_dir: str | None, device: str, threads: int | None) -> list[str]:
    """Worker entry point for configs that differ only in seed: one seed ensemble
    (:func:`badgerlib.ensemble.train_many`); returns their directories in order."""
    if len(configs) == 1:
        return [_train_one(configs[0], runs_dir, device, threads)]
    from badgerlib.ensemble import train_many

    with torch_threads(threads):
        return [str(r.path) for r in train_many(configs, runs_dir=runs_dir, device=device, progress=False)]


def seed_groups(configs: Sequence[RunConfig], size: int, device: str = "cpu") -> list[list[int]]:
    """Indices of ``configs`` grouped by everything but the seed, each group cut into chunks of
    at most ``size`` (spread evenly: 5 seeds at size 4 make chunks of 3 and 2), in order of
    first appearance. Configs whose seeds would not train vectorised on ``device``
    (:func:`badgerlib.ensemble.vectorises`: compiled, LSTMs, ...) stay one per group, so that
    they spread over the workers.

    Example
    -------
    >>> cfgs = seeds(RunConfig(), 5) + [RunConfig(lr=0.1)]
    >>> seed_groups(cfgs, 4)
    [[0, 1, 2], [3, 4], [5]]
    >>> seed_groups(cfgs, 1)
    [[0], [1], [2], [3], [4], [5]]
    >>> seed_groups(seeds(RunConfig(engine="compiled"), 2), 4)
    [[0], [1]]
    """
    from badgerlib.ensemble import vectorises

    check_int("seed_groups", "size", size, 1)
    by_rest: dict[RunConfig, list[int]] = {}
    for i, cfg in enumerate(configs):
        by_rest.setdefault(cfg.replace(seed=0), []).append(i)
    out = []
    for rest, members in by_rest.items():
        chunks = math.ceil(len(members) / size) if vectorises(rest, device) else len(members)
        out.extend(list(part) for part in _split(members, chunks))
    return out


def _split(items: list, parts: int) -> list[list]:
    """``items`` in ``parts`` consecutive pieces whose lengths differ by at most one."""
    q, r = divmod(len(items), parts)
    bounds = [0]
    for k in range(parts):
        bounds.append(bounds[-1] + q + (k < r))
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def sweep(configs: Iterable[RunConfig], executor: Executor | None = None, runs_dir: str | Path | None = None,
          device: str = "cpu", progress: bool = True, threads: int | None = 1,
          ensemble: int = ENSEMBLE) -> list[Path]:
    """Train (or find stored) every config; return their run directories in the order given.
    Configs that differ only in their seed train together, up to ``ensemble`` seeds in one
    worker (:func:`badgerlib.ensemble.train_many`: each seed's numbers bit-identical to
    training it alone, about 1.3-1.5x fewer CPU seconds per seed for chapter 2's quick agents,
    where one seed's step is bound by per-operation overhead); ``ensemble=1`` trains one run
    per worker task. The tasks start longest first (by outer iterations x inner steps x batch,
    summed over the seeds of a task).

    Parameters
    ----------
    executor: any ``concurrent.futures.Executor``; default: a process pool with one worker per
        core. A Dask cluster: ``distributed.Client(address).get_executor()``.
    runs_dir: the run store; it must be shared by all workers.
    threads: torch threads per worker task (1 avoids oversubscribing the cores; None leaves it
        alone).
    ensemble: the most seeds one worker task trains together.

    The examples that train live in ``tests/test_sweep.py``.
    """
    configs = list(configs)
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"configs[{i}] = {cfg!r}: must be a RunConfig")
    check_int("sweep", "ensemble", ensemble, 1)
    runs_dir = str(runs_dir) if runs_dir is not None else None
    groups = sorted(seed_groups(configs, ensemble, device), key=lambda g: -sum(cost(configs[i]) for i in g))
    own = executor is None
    if own:
        executor = ProcessPoolExecutor(max_workers=min(len(groups), os.cpu_count() or 1) or 1)
    try:
        futures = {executor.submit(_train_group, [configs[i] for i in g], runs_dir, device, threads): g
                   for g in groups}
        results: list[Path | None] = [None] * len(configs)
        with tqdm(total=len(configs), disable=not progress, desc="sweep", unit="run") as bar:
            for fut in as_completed(futures):
                for i, path in zip(futures[fut], fut.result()):
                    results[i] = Path(path)
                bar.update(len(futures[fut]))
        return results
    finally:
        if own:
            executor.shutdown()


def load_runs(configs: Iterable[RunConfig], runs_dir: str | Path | None = None) -> list:
    """The stored runs of ``configs`` (snapshots read lazily); a ValueError names the first one
    that is not in the store (train it with :func:`sweep` first).

    Example
    -------
    >>> import tempfile
    >>> load_runs([RunConfig(seed=1)], runs_dir=tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: load_runs: no stored run for configs[0] (seed 1, hash ...); train it first with sweep()
    """
    from badgerlib.run import load_run
    from badgerlib.store import config_hash

    out = []
    for i, cfg in enumerate(configs):
        run = load_run(cfg, runs_dir)
        if run is None:
            raise ValueError(f"load_runs: no stored run for configs[{i}] (seed {cfg.seed}, hash {config_hash(cfg)}); "
                             f"train it first with sweep()")
        out.append(run)
    return out


def cost(config: RunConfig) -> float:
    """A run's size in inner steps computed (outer iterations x inner steps x batch): what the
    sweep schedules by.

    Example
    -------
    >>> cost(RunConfig(iterations=10, inner_steps=5, batch=2))
    100.0
    """
    return float(config.iterations * config.inner_steps * config.batch)


def measure_speed(config: RunConfig, iterations: int = 30, threads: int = 1, engine: str | None = None) -> float:
    """Outer iterations per second of ``config`` on this machine, measured on a short uncached
    run with ``threads`` torch threads (as one sweep worker uses), after a few warm-up
    iterations. ``engine`` measures with another engine than the config's: ``"eager"`` spares
    the minute a compiled config spends compiling each new shape, and gives an upper bound on
    its time. (Trains: examples in ``tests/test_sweep.py``.)"""
    from badgerlib.train import train

    check_int("measure_speed", "iterations", iterations, 1)
    with torch_threads(threads):
        probe = config.replace(snapshot_count=0, engine=engine or config.engine)
        train(probe.replace(iterations=3), cache=False, progress=False)
        t0 = time.perf_counter()
        train(probe.replace(iterations=iterations), cache=False, progress=False)
        return iterations / (time.perf_counter() - t0)


def measure_speeds(configs: Sequence[RunConfig], iterations: int = 20, threads: int = 1,
                   engine: str | None = None) -> dict:
    """:func:`measure_speed` of each distinct shape among ``configs`` (model, task, inner steps,
    batch, dtype, engine; seeds and lengths do not change the speed), as a dict config ->
    iterations per second covering every config given. (Trains: examples in
    ``tests/test_sweep.py``.)"""
    measured: dict = {}
    out = {}
    for cfg in configs:
        shape = (cfg.model, cfg.task, cfg.inner_steps, cfg.batch, cfg.dtype, engine or cfg.engine)
        if shape not in measured:
            measured[shape] = measure_speed(cfg, iterations=iterations, threads=threads, engine=engine)
        out[cfg] = measured[shape]
    return out


def estimate_seconds(configs: Sequence[RunConfig], speed: float | Callable[[RunConfig], float] | dict,
                     workers: int = 2) -> float:
    """Wall time to train ``configs`` on ``workers`` parallel workers: the total of
    ``iterations / speed(config)`` divided by the workers (a lower bound that ignores
    imbalance at the end of a sweep, which is small for many runs). ``speed`` is iterations per
    second: a number, a callable config -> number, or a dict config -> number (as
    :func:`measure_speeds` returns).

    Example
    -------
    >>> estimate_seconds([RunConfig(iterations=100)], speed={RunConfig(iterations=100): 50.0}, workers=1)
    2.0
    """
    check_int("estimate_seconds", "workers", workers, 1)
    total = 0.0
    for cfg in configs:
        if isinstance(speed, dict):
            if cfg not in speed:
                raise ValueError(f"estimate_seconds: no speed for the config with seed {cfg.seed} and task "
                                 f"{cfg.task}; speed has {len(speed)} configs")
            s = speed[cfg]
        else:
            s = speed(cfg) if callable(speed) else speed
        if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
            raise ValueError(f"estimate_seconds: speed = {s!r} for {cfg.task}: must be a number > 0")
        total += cfg.iterations / s
    return total / workers


def unique_configs(groups: dict[str, list[RunConfig]]) -> list[RunConfig]:
    """The configs of all groups in one list, each once (groups share runs), in order.

    Example
    -------
    >>> len(unique_configs({"a": [RunConfig(seed=1)], "b": [RunConfig(seed=1), RunConfig(seed=2)]}))
    2
    """
    return list(dict.fromkeys(c for cfgs in groups.values() for c in cfgs))


def run_label(config: RunConfig) -> str:
    """A short name of a run for progress reports: task, size, model, seed.

    Example
    -------
    >>> run_label(RunConfig(seed=2))
    'guessing_game (3 dims), micro_badger, seed 2'
    """
    return f"{config.task.kind} ({config.task.dims} dims), {config.model.kind}, seed {config.seed}"


def store_status(groups: dict[str, list[RunConfig]], runs_dir: str | Path | None = None) -> list[dict]:
    """Where each run of ``groups`` (name -> configs, a chapter's ``configs(quick)``) stands in
    the store, each run once in order: ``groups`` (the names that list it), ``hash``,
    ``label`` (:func:`run_label`) and :func:`badgerlib.store.run_state`'s ``state``, ``done``
    and ``iterations``. Reads no run and no checkpoint's tensors.

    Example
    -------
    >>> import tempfile
    >>> rows = store_status({"a": [RunConfig(seed=1)], "b": [RunConfig(seed=1)]}, tempfile.mkdtemp())
    >>> rows[0]["groups"], rows[0]["state"], rows[0]["done"]
    (['a', 'b'], 'missing', 0)
    """
    from badgerlib.store import config_hash, run_state

    names: dict[RunConfig, list[str]] = {}
    for name, cfgs in groups.items():
        for cfg in cfgs:
            if not isinstance(cfg, RunConfig):
                raise TypeError(f"groups[{name!r}]: must be a list of RunConfig, has {cfg!r}")
            names.setdefault(cfg, [])
            if name not in names[cfg]:
                names[cfg].append(name)
    return [{"groups": in_groups, "hash": config_hash(cfg), "label": run_label(cfg), **run_state(cfg, runs_dir)}
            for cfg, in_groups in names.items()]


@dataclass(frozen=True)
class GroupResult:
    """What :func:`precompute` did for one group of runs: their directories, in the group's
    order (each run once), and how many of them it trained (the others were stored already; a
    run that two groups share counts in both)."""

    name: str
    paths: list[Path]
    trained: int

    def summary(self) -> str:
        """One line: the group, its runs, how many were trained now.

        Example
        -------
        >>> GroupResult("standard", [Path("/r/a"), Path("/r/b")], 1).summary()
        'standard: 2 runs, 1 trained now, 1 already stored'
        """
        return (f"{self.name}: {len(self.paths)} run{'s' * (len(self.paths) != 1)}, {self.trained} trained now, "
                f"{len(self.paths) - self.trained} already stored")


def precompute(groups: dict[str, list[RunConfig]], executor: Executor | None = None,
               runs_dir: str | Path | None = None, device: str = "cpu", progress: bool = True,
               threads: int | None = 1) -> list[GroupResult]:
    """Train every run of ``groups`` (name -> configs, as a chapter module's
    ``configs(quick)`` returns) that the store lacks, once each however many groups share it,
    with :func:`sweep` on ``executor`` (default: local processes, one per core); return one
    :class:`GroupResult` per group, in order. ``runs_dir`` is made absolute here, so workers
    that start elsewhere (a Dask cluster on a shared file system) write to the same store.
    A worker that picks up a run another worker is training waits for it and loads it
    (:func:`badgerlib.store.run_lock`). (Trains: examples in ``tests/test_precompute.py``.)
    """
    from badgerlib.run import load_run
    from badgerlib.store import default_runs_dir, run_path

    if not isinstance(groups, dict):
        raise TypeError(f"groups = {groups!r}: must be a dict of group name -> list of RunConfig")
    for name, cfgs in groups.items():
        if not isinstance(cfgs, (list, tuple)) or not all(isinstance(c, RunConfig) for c in cfgs):
            raise TypeError(f"groups[{name!r}]: must be a list of RunConfig")
    configs = unique_configs(groups)
    runs_dir = Path(runs_dir if runs_dir is not None else default_runs_dir()).resolve()
    missing = [c for c in configs if load_run(c, runs_dir) is None]
    if missing:
        sweep(missing, executor=executor, runs_dir=runs_dir, device=device, progress=progress, threads=threads)
    missing = set(missing)
    out = []
    for name, cfgs in groups.items():
        cfgs = list(dict.fromkeys(cfgs))
        out.append(GroupResult(name, [run_path(c, runs_dir) for c in cfgs], sum(c in missing for c in cfgs)))
    return out
