"""The standard experiments of the chapters on plateaus and ray interference, in one place.

Chapters 2 (plateaus) and 3 (ray interference) study the same training runs from two sides.
Building their configs here, from ``(n, seed, quick)`` only, makes both notebooks ask for
*identical* configs, so the second chapter finds the first one's runs in the run store
(runs are keyed by config hash) instead of training them again.

Every hyperparameter below is an assumption: the study did not publish its own. They are
named in :data:`QUICK` and :data:`FULL` and shown in the chapters' setup sections.

The module also holds the run-level computations the chapters need and that touch a model:
per-dimension losses and their gradient interference at the stored snapshots
(:func:`snapshot_interference`), the error of the stored snapshot guesses in a common
metric (:func:`snapshot_error`), a speed measurement (:func:`measure_speed`) and the
full-scale time estimate built on it (:func:`estimate_seconds`). The analysis of histories
alone (phases, plateau statistics) lives in :mod:`badgerlib.analysis.phases`.

Example
-------
>>> cfg = micro_badger(6, seed=2)
>>> cfg.task.n, cfg.seed, cfg.iterations, cfg.lr
(6, 2, 3000, 0.003)
>>> micro_badger(6, seed=2) == plateau_configs([6], seeds=3)[2]      # the same run, whoever asks
True
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from badgerlib.baselines import LSTMMetaLearnerConfig
from badgerlib.config import FEATURES, MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame

__all__ = [
    "Scale", "QUICK", "FULL", "scale", "FEATURE_SETS", "micro_badger", "plateau_configs",
    "feature_configs", "lstm_metric", "lstm_metric_configs", "dimension_losses",
    "snapshot_interference", "snapshot_error", "measure_speed", "estimate_seconds",
    "plateau_table", "transition_table", "run_table", "solve_table", "final_plateau_lyapunov",
    "measure_speeds", "snapshot_directions", "direction_table",
]


@dataclass(frozen=True)
class Scale:
    """The sizes of one mode (quick or full) of the standard experiments.

    Fields
    ------
    iterations: outer iterations of the Micro-Badger run for each N (others: ``per_n * N``).
    per_n: iterations per guessed number for an N not listed in ``iterations``.
    lr: Adam learning rate of Micro-Badger for N <= ``large_n``; ``lr_large`` above it.
    large_n: from which N on the larger agent (``experts_large``, ``hidden_large``, inner
        steps N + 4) is used.
    snapshot_every: outer iterations between stored snapshots.
    feature_horizon: iterations over which the first-plateau escape is compared between
        feature sets (runs with other features last exactly this long).
    feature_n: N of the feature experiment.
    lstm_n, lstm_iterations, lstm_lr, lstm_snapshot_every: the LSTM meta-learner runs of the
        L1-against-MSE comparison.
    record_states: whether Micro-Badger runs keep their experts' states in every snapshot
        (``RunConfig.record_states``). Full mode does not: no chapter reads them, and at N = 20
        they would take 13 GB per run; ``Run.states_at`` recomputes any snapshot's states.

    Example
    -------
    >>> QUICK.iterations[6], FULL.iterations[20]
    (3000, 150000)
    """

    iterations: dict = field(default_factory=dict)
    per_n: int = 500
    lr: float = 3e-3
    lr_large: float = 1e-3
    large_n: int = 6
    experts: int = 8
    hidden: int = 32
    links: int = 3
    inner_steps: int = 10
    experts_large: int = 16
    hidden_large: int = 64
    batch: int = 32
    snapshot_every: int = 100
    feature_horizon: int = 600
    feature_n: int = 3
    lstm_n: int = 3
    lstm_hidden: int = 64
    lstm_iterations: int = 1200
    lstm_lr: float = 3e-3
    lstm_snapshot_every: int = 50
    record_states: bool = True


#: Quick mode: sized so that chapters 2 and 3 together train in a few minutes on 2 cores.
#: At lr 3e-3 the N = 6 staircase shows in 3000 iterations (REFERENCES measured 4.4k-10k at
#: lr 1e-3); smaller N need fewer.
QUICK = Scale(iterations={2: 600, 3: 1200, 4: 1500, 6: 3000})

#: Full mode: the study's scale (N up to 20), runs long enough for most seeds to finish.
FULL = Scale(iterations={2: 2000, 3: 3000, 4: 5000, 6: 10000, 10: 40000, 20: 150000},
             feature_horizon=3000, lstm_iterations=5000, record_states=False)


def scale(quick: bool = True) -> Scale:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> scale(False).feature_horizon
    3000
    """
    if not isinstance(quick, (bool, np.bool_)):
        raise ValueError(f"quick = {quick!r}: must be True or False")
    return QUICK if quick else FULL


#: The feature sets the experts may receive, from the feedback alone (name -> features).
FEATURE_SETS = {
    "error": ("error",),
    "error + log": ("error", "log_error"),
    "error + change": ("error", "delta_error"),
    "error + log + change": FEATURES,
}


def _iterations(n: int, sc: Scale) -> int:
    return int(sc.iterations.get(n, sc.per_n * n))


def micro_badger(n: int, seed: int = 0, quick: bool = True, features: Sequence[str] = FEATURES,
                 iterations: int | None = None) -> RunConfig:
    """The standard Micro-Badger run on the N-number guessing game.

    Up to N = ``large_n``: E = 8 experts, H = 32, 3 out-links each, 10 inner steps; above it
    E = 16, H = 64 and N + 4 inner steps (the agent needs N + 1 probes). Batches of 32 tasks,
    loss averaged over the inner steps, gradient clipped at norm 1, one snapshot every
    ``snapshot_every`` iterations.

    Example
    -------
    >>> cfg = micro_badger(20, quick=False)
    >>> cfg.model.experts, cfg.model.hidden, cfg.inner_steps, cfg.lr, cfg.iterations
    (16, 64, 24, 0.001, 150000)
    >>> micro_badger(3, features=("error",)).model.features
    ('error',)
    """
    sc = scale(quick)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r}: must be an integer >= 1")
    n = int(n)
    large = n > sc.large_n
    its = _iterations(n, sc) if iterations is None else int(iterations)
    model = MicroBadgerConfig(
        experts=sc.experts_large if large else sc.experts,
        hidden=sc.hidden_large if large else sc.hidden,
        links=sc.links, features=tuple(features))
    return RunConfig(
        task=GuessingGame(n=n), model=model,
        inner_steps=n + 4 if large else sc.inner_steps,
        iterations=its, batch=sc.batch, lr=sc.lr_large if large else sc.lr,
        seed=int(seed), snapshots=its // sc.snapshot_every + 1, record_states=sc.record_states)


def plateau_configs(ns: Sequence[int], seeds: int, quick: bool = True) -> list[RunConfig]:
    """The plateau experiment: the standard run for every N in ``ns`` and seeds 0..seeds-1
    (N-major order).

    Example
    -------
    >>> [(c.task.n, c.seed) for c in plateau_configs([2, 3], seeds=2)]
    [(2, 0), (2, 1), (3, 0), (3, 1)]
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be an integer >= 1")
    return [micro_badger(n, s, quick) for n in ns for s in range(seeds)]


def feature_configs(seeds: int, quick: bool = True, sets: Sequence[str] | None = None) -> dict[str, list[RunConfig]]:
    """The feature experiment: for each named feature set, one run per seed on N =
    ``feature_n``. The full set is the standard run (shared with the plateau experiment,
    which lasts at least ``feature_horizon``); the others last ``feature_horizon``
    iterations and keep only their first and last snapshot. Compare them on their first
    ``feature_horizon`` iterations.

    Example
    -------
    >>> cfgs = feature_configs(2)
    >>> list(cfgs)
    ['error', 'error + log', 'error + change', 'error + log + change']
    >>> cfgs["error"][1].iterations, cfgs["error + log + change"][0] == micro_badger(3, 0)
    (600, True)
    """
    sc = scale(quick)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be an integer >= 1")
    names = list(FEATURE_SETS) if sets is None else list(sets)
    out = {}
    for name in names:
        if name not in FEATURE_SETS:
            raise ValueError(f"feature set = {name!r}: must be one of {list(FEATURE_SETS)}")
        feats = FEATURE_SETS[name]
        standard = tuple(feats) == tuple(FEATURES)
        cfgs = [micro_badger(sc.feature_n, s, quick, feats, iterations=None if standard else sc.feature_horizon)
                for s in range(seeds)]
        # only the history is analysed: keep the first and last snapshot, not the whole film
        out[name] = cfgs if standard else [c.replace(snapshots=2) for c in cfgs]
    return out


def lstm_metric(metric: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The LSTM meta-learner (hidden 64, features error, log, change) on the guessing game
    with feedback metric ``"mse"`` or ``"l1"`` (both scaled so that guessing zeros scores 1).

    Example
    -------
    >>> cfg = lstm_metric("l1", seed=1)
    >>> cfg.task.metric, cfg.model.hidden, cfg.iterations, cfg.snapshots
    ('l1', 64, 1200, 25)
    """
    sc = scale(quick)
    return RunConfig(task=GuessingGame(n=sc.lstm_n, metric=metric), model=LSTMMetaLearnerConfig(hidden=sc.lstm_hidden),
                     inner_steps=sc.inner_steps, iterations=sc.lstm_iterations, batch=sc.batch,
                     lr=sc.lstm_lr, seed=int(seed), snapshots=sc.lstm_iterations // sc.lstm_snapshot_every + 1)


def lstm_metric_configs(seeds: int, quick: bool = True) -> dict[str, list[RunConfig]]:
    """``{"mse": [...], "l1": [...]}``: the LSTM meta-learner runs for seeds 0..seeds-1.

    Example
    -------
    >>> {k: len(v) for k, v in lstm_metric_configs(3).items()}
    {'mse': 3, 'l1': 3}
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds = {seeds!r}: must be an integer >= 1")
    return {m: [lstm_metric(m, s, quick) for s in range(seeds)] for m in ("mse", "l1")}


# ------------------------------------------------------------------ gradient interference
@contextlib.contextmanager
def _torch_threads(threads: int | None):
    """Run a block with ``threads`` torch threads (None: leave as is), restoring them after.
    Small models are overhead-bound: one thread is as fast as two, and two threads on a
    machine that is busy with other work can be many times slower (they wait on each other)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def dimension_losses(model, task, targets, h_init, steps: int, loss_on: str = "all") -> list:
    """The training objective split by guessed dimension: component d is
    ``scale / N x`` the error of dimension d (squared or absolute, as the task's metric),
    averaged over the tasks and the inner steps (``loss_on="all"``) or the last step only.
    The components sum to the objective, so their gradients sum to its gradient.

    Example
    -------
    >>> import torch
    >>> from badgerlib import MicroBadger
    >>> cfg = micro_badger(3)
    >>> model = MicroBadger(cfg.model, dims=3)
    >>> gen = torch.Generator().manual_seed(0)
    >>> targets, h = cfg.task.sample_targets(4, gen), model.initial_state(4, gen)
    >>> losses = dimension_losses(model, cfg.task, targets, h, steps=2)
    >>> objective = model.rollout(cfg.task, targets, 2, h_init=h).feedback[:, 1:].mean()
    >>> len(losses), bool(torch.isclose(sum(losses), objective))
    (3, True)
    """
    rollout = model.rollout(task, targets, steps, h_init=h_init)
    err = task.dim_error(rollout.guesses[:, 1:], targets[:, None, :])   # (B, S, N)
    if loss_on == "last":
        err = err[:, -1:]
    per_dim = err.mean(dim=(0, 1)) * (task.scale / task.dims)
    return [per_dim[d] for d in range(task.dims)]


def snapshot_interference(run, snapshots: Sequence[int] | None = None, device: str = "cpu",
                          threads: int | None = 1) -> dict[str, np.ndarray]:
    """Gradient interference between the guessed dimensions at the run's stored snapshots.

    For each snapshot k: the model as it was (``run.model_at(k)``), the per-dimension
    components of its objective on the run's fixed probe tasks (:func:`dimension_losses`,
    :func:`badgerlib.train.probe_batch`), their gradients with respect to all weights, and

    * ``cosines`` (K, N, N): cosine between the gradients of each pair of dimensions;
    * ``mean_cosine`` (K,): mean over pairs; -1/(N-1) is the most negative possible on
      average, reached when the N gradients cancel exactly;
    * ``conflict`` (K,): fraction of pairs with a negative cosine (PCGrad's conflict);
    * ``cancellation`` (K,): |sum of gradients|^2 / sum of |gradient|^2: 1 for orthogonal
      components, N when all align, 0 when they cancel;
    * ``grad_norm`` (K,): norm of the whole objective's gradient;
    * ``iterations`` (K,): the outer iteration of each snapshot.

    Runs with ``threads`` torch threads (default 1; None leaves the setting alone).

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import train
    >>> cfg = micro_badger(3, iterations=2).replace(batch=2, probe_batch=4, snapshots=2)
    >>> res = snapshot_interference(train(cfg, runs_dir=tempfile.mkdtemp(), progress=False))
    >>> res["cosines"].shape, res["iterations"].tolist()
    ((2, 3, 3), [0, 2])
    """
    its = np.asarray(run.snapshots["iterations"])
    index = range(len(its)) if snapshots is None else list(snapshots)
    out = {k: [] for k in ("iterations", "cosines", "mean_cosine", "conflict", "cancellation", "grad_norm")}
    with _torch_threads(threads):
        for k in index:
            _interference_at(run, int(k), device, out)
    return {k: np.asarray(v) for k, v in out.items()}


def _interference_at(run, k: int, device: str, out: dict) -> None:
    """One snapshot of :func:`snapshot_interference`, appended to ``out``."""
    import torch

    from badgerlib.analysis.interference import conflict_fraction, cosine_matrix, flat_gradients
    from badgerlib.train import probe_batch

    cfg = run.config
    model = run.model_at(k, device)
    targets, h_init = probe_batch(model, cfg, device)
    with torch.enable_grad():
        losses = dimension_losses(model, cfg.task, targets, h_init, cfg.inner_steps, cfg.loss_on)
        g = flat_gradients(losses, list(model.parameters()))
    cos = cosine_matrix(g)
    n = len(losses)
    iu = np.triu_indices(n, 1)
    total = g.sum(axis=0)
    out["iterations"].append(int(run.snapshots["iterations"][k]))
    out["cosines"].append(cos)
    out["mean_cosine"].append(float(cos[iu].mean()) if n > 1 else float("nan"))
    out["conflict"].append(conflict_fraction(cos) if n > 1 else float("nan"))
    out["cancellation"].append(float(total @ total / max((g * g).sum(), 1e-300)))
    out["grad_norm"].append(float(np.linalg.norm(total)))


def snapshot_error(run, metric: str = "mse") -> tuple[np.ndarray, np.ndarray]:
    """The error of the last guess on the run's fixed probe tasks at every snapshot, in one
    metric for all runs: ``"mse"`` gives 3 x mean squared error, ``"l1"`` 2 x mean absolute
    error (both 1.0 for the all-zeros guess). Lets runs trained on different feedback
    metrics be compared on the same scale. Returns ``(iterations, error)``.

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import train
    >>> cfg = lstm_metric("l1").replace(iterations=2, batch=2, probe_batch=4, snapshots=2)
    >>> its, err = snapshot_error(train(cfg, runs_dir=tempfile.mkdtemp(), progress=False))
    >>> its.tolist(), err.shape
    ([0, 2], (2,))
    """
    if metric not in ("mse", "l1"):
        raise ValueError(f"snapshot_error: metric={metric!r}; allowed are 'mse', 'l1'")
    guesses = np.asarray(run.snapshots["guesses"], dtype=np.float64)[:, :, -1]     # (K, P, N)
    targets = np.asarray(run.snapshots["targets"], dtype=np.float64)[None]           # (1, P, N)
    diff = guesses - targets
    err = 3.0 * (diff ** 2).mean(axis=(1, 2)) if metric == "mse" else 2.0 * np.abs(diff).mean(axis=(1, 2))
    return np.asarray(run.snapshots["iterations"]), err


# --------------------------------------------------------------------------- time budget
def measure_speeds(configs: Sequence[RunConfig], iterations: int = 20, threads: int = 1) -> dict:
    """:func:`measure_speed` of each distinct shape among ``configs`` (model, N, inner steps,
    batch; seeds and lengths do not change the speed), as a dict config -> iterations per
    second covering every config given.

    Example
    -------
    >>> cfgs = [micro_badger(2, s).replace(batch=2) for s in range(3)]
    >>> speeds = measure_speeds(cfgs, iterations=2)
    >>> len(speeds), len(set(speeds.values()))
    (3, 1)
    """
    measured: dict = {}
    out = {}
    for cfg in configs:
        shape = (cfg.model, cfg.task, cfg.inner_steps, cfg.batch, cfg.dtype)
        if shape not in measured:
            measured[shape] = measure_speed(cfg, iterations=iterations, threads=threads)
        out[cfg] = measured[shape]
    return out


def measure_speed(config: RunConfig, iterations: int = 30, threads: int = 1) -> float:
    """Outer iterations per second of ``config`` on this machine, measured on a short
    uncached run with ``threads`` torch threads (as one sweep worker uses), after a few
    warm-up iterations.

    Example
    -------
    >>> measure_speed(micro_badger(2).replace(batch=2), iterations=2) > 0
    True
    """
    from badgerlib.train import train

    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"measure_speed: iterations={iterations!r}; allowed is an integer >= 1")
    with _torch_threads(threads):
        probe = config.replace(snapshots=0)
        train(probe.replace(iterations=3), cache=False, progress=False)
        t0 = time.perf_counter()
        train(probe.replace(iterations=iterations), cache=False, progress=False)
        return iterations / (time.perf_counter() - t0)


def estimate_seconds(configs: Sequence[RunConfig], speed, workers: int = 2) -> float:
    """Wall time to train ``configs`` on ``workers`` parallel workers: the total of
    ``iterations / speed(config)`` divided by the workers (a lower bound that ignores
    imbalance at the end of a sweep, which is small for many runs). ``speed`` is a callable
    config -> iterations per second, or a number.

    Example
    -------
    >>> estimate_seconds([micro_badger(2), micro_badger(3)], speed=100.0, workers=2)
    9.0
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"estimate_seconds: workers={workers!r}; allowed is an integer >= 1")
    total = 0.0
    for cfg in configs:
        s = speed(cfg) if callable(speed) else float(speed)
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"estimate_seconds: speed {s!r} for {cfg.task}: must be a number > 0")
        total += cfg.iterations / s
    return total / workers


# ------------------------------------------------------------------ tables over many runs
def _key(run) -> dict:
    cfg = run.config
    features = getattr(cfg.model, "features", ())
    name = next((k for k, v in FEATURE_SETS.items() if tuple(v) == tuple(features)), "+".join(features))
    return {"n": cfg.task.n, "seed": cfg.seed, "metric": cfg.task.metric, "features": name}


def plateau_table(runs, **detect) -> "pandas.DataFrame":
    """One row per plateau of every run (:func:`badgerlib.analysis.phases.detect_plateaus`
    on the error of the last guess; keyword arguments go to it): ``n``, ``seed``,
    ``metric``, ``features``, ``index`` (0 = first), ``start``, ``end``, ``length``,
    ``level`` (zeros-level units), ``unsolved`` (level x N, rounded), ``final`` (the
    plateau the run ends on), ``hurst`` (Hurst exponent of the error on the plateau, NaN
    under 100 points) and ``grad_norm`` (mean gradient norm on it).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.analysis.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> t = plateau_table([SimpleNamespace(config=micro_badger(2), history=h)])
    >>> t[["index", "unsolved", "final"]].values.tolist()
    [[0, 2, False], [1, 1, False], [2, 0, True]]
    """
    import pandas as pd

    from badgerlib.analysis.dynamics import hurst_exponent
    from badgerlib.analysis.phases import detect_plateaus, segment_statistic

    rows = []
    for run in runs:
        h, key = run.history, _key(run)
        n, T = key["n"], len(run.history["last_error"])
        ps = detect_plateaus(h["last_error"], n, run.config.task.zeros_level, **detect)
        hurst = segment_statistic(h["last_error"], ps, hurst_exponent, min_points=100)
        grad = segment_statistic(h["grad_norm"], ps, np.mean)
        for i, p in enumerate(ps):
            rows.append({**key, "index": i, "start": p.start, "end": p.end, "length": p.length,
                         "level": p.level, "unsolved": int(round(p.level * n)), "final": p.end == T - 1,
                         "hurst": hurst[i], "grad_norm": grad[i]})
    columns = ["n", "seed", "metric", "features", "index", "start", "end", "length", "level", "unsolved",
               "final", "hurst", "grad_norm"]
    return pd.DataFrame(rows, columns=columns)


def transition_table(runs, min_points: int = 100, **detect) -> "pandas.DataFrame":
    """One row per transition between consecutive plateaus of every run: the stretch from
    one plateau's end to the next one's start, widened to ``min_points`` iterations
    (:func:`badgerlib.analysis.phases.transition_windows`) so that a Hurst exponent can be
    fitted. Columns: ``n``, ``seed``, ``metric``, ``features``, ``index`` (the transition
    after plateau ``index``), ``start``, ``end``, ``gap`` (iterations strictly between the
    plateaus), ``hurst``, ``grad_norm`` (mean over the window) and ``grad_norm_before``
    (mean over the plateau it leaves).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.analysis.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> transition_table([SimpleNamespace(config=micro_badger(2), history=h)])[["index", "start", "end"]].values.tolist()
    [[0, 459, 558], [1, 960, 1059]]
    """
    import pandas as pd

    from badgerlib.analysis.dynamics import hurst_exponent
    from badgerlib.analysis.phases import detect_plateaus, segment_statistic, transition_windows

    rows = []
    for run in runs:
        h, key = run.history, _key(run)
        ps = detect_plateaus(h["last_error"], key["n"], run.config.task.zeros_level, **detect)
        windows = transition_windows(ps, len(h["last_error"]), min_points)
        hurst = segment_statistic(h["last_error"], windows, hurst_exponent, min_points=100)
        grad = segment_statistic(h["grad_norm"], windows, np.mean)
        before = segment_statistic(h["grad_norm"], ps, np.mean)
        for i, (a, b) in enumerate(windows):
            rows.append({**key, "index": i, "start": a, "end": b, "gap": ps[i + 1].start - ps[i].end - 1,
                         "hurst": hurst[i], "grad_norm": grad[i], "grad_norm_before": before[i]})
    columns = ["n", "seed", "metric", "features", "index", "start", "end", "gap", "hurst", "grad_norm",
               "grad_norm_before"]
    return pd.DataFrame(rows, columns=columns)


def run_table(runs, horizon: int | None = None, **detect) -> "pandas.DataFrame":
    """One row per run: ``n``, ``seed``, ``metric``, ``features``, ``iterations``,
    ``plateaus`` (count), ``first_length`` (iterations on the first plateau, 0 if the run
    does not start on one), ``final_level`` (level of the plateau the run ends on, NaN if it
    ends in a transition), ``solved`` (dimensions solved at the end), ``converged`` (all
    solved), ``escape`` (:func:`badgerlib.analysis.phases.escape_iteration` of the zeros
    plateau within ``horizon``, NaN if not escaped), ``same_number`` (share of iterations
    labelled "same number"), ``first_phase`` (label of the first phase), ``solved_steps``
    (:func:`badgerlib.analysis.phases.solved_steps`), ``concurrency`` (dimensions in
    transition at once),
    ``max_imbalance`` (largest spread of the per-dimension errors across dimensions,
    :func:`badgerlib.analysis.phases.imbalance`) and ``seconds`` (training time, when the
    run has it).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.analysis.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 500), (1, 500), (2, 500)], n=2, seed=0)
    >>> row = run_table([SimpleNamespace(config=micro_badger(2), history=h)]).iloc[0]
    >>> int(row.plateaus), int(row.escape), bool(row.converged), round(float(row.concurrency), 1)
    (3, 501, True, 1.0)
    """
    import pandas as pd

    from badgerlib.analysis.phases import (
        SAME, concurrency, detect_plateaus, escape_iteration, imbalance, label_phases, phase_segments,
        plateau_summary, solved_steps, transition_intervals,
    )

    rows = []
    for run in runs:
        h, key = run.history, _key(run)
        n, T, task = key["n"], len(h["last_error"]), run.config.task
        ps = detect_plateaus(h["last_error"], n, task.zeros_level, **detect)
        summary = plateau_summary(ps, n, T)
        labels = label_phases(h, n, metric=task.metric)
        esc = escape_iteration(h["last_error"], task.zeros_level, horizon=horizon)
        meta = getattr(run, "meta", {}) or {}
        rows.append({**key, "iterations": T, "plateaus": summary["count"], "first_length": summary["first_length"],
                     "final_level": ps[-1].level if ps and ps[-1].end == T - 1 else np.nan,
                     "solved": int(labels.solved[-1]), "converged": bool(labels.solved[-1] == n),
                     "escape": np.nan if esc is None else esc, "same_number": labels.fraction(SAME),
                     "first_phase": phase_segments(labels, 50)[0].label,
                     "solved_steps": solved_steps(labels, 50).tolist(),
                     "concurrency": concurrency(transition_intervals(h["dim_error"], task.metric)),
                     "max_imbalance": float(imbalance(h["dim_error"], task.metric).max()),
                     "seconds": meta.get("seconds", np.nan)})
    return pd.DataFrame(rows)


def solve_table(runs) -> "pandas.DataFrame":
    """One row per dimension of every run: ``n``, ``seed``, ``metric``, ``features``,
    ``dim``, ``solved_at`` (:func:`badgerlib.analysis.phases.solve_times`, NaN if never),
    ``order`` (1 = solved first; NaN if never), ``started_at`` (start of its transition from
    untouched, :func:`badgerlib.analysis.phases.transition_intervals`).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.analysis.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (1, 300), (2, 300)], n=2, seed=0)
    >>> solve_table([SimpleNamespace(config=micro_badger(2), history=h)])[["dim", "order"]].values.tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """
    import pandas as pd

    from badgerlib.analysis.phases import solve_times, transition_intervals

    rows = []
    for run in runs:
        h, key = run.history, _key(run)
        t = solve_times(h["dim_error"], run.config.task.metric)
        iv = transition_intervals(h["dim_error"], run.config.task.metric)
        order = np.full(len(t), np.nan)
        done = np.flatnonzero(~np.isnan(t))
        order[done[np.argsort(t[done], kind="stable")]] = np.arange(1, len(done) + 1)
        for d in range(len(t)):
            rows.append({**key, "dim": d, "solved_at": t[d], "order": order[d], "started_at": iv[d, 0]})
    return pd.DataFrame(rows)


def final_plateau_lyapunov(run, n_surrogates: int = 39, min_length: int = 200, seed: int | None = None):
    """The largest Lyapunov exponent of the error on the plateau a run ends on (its converged
    solution), tested against shuffled surrogates
    (:func:`badgerlib.analysis.dynamics.surrogate_test` of
    :func:`~badgerlib.analysis.dynamics.lyapunov_exponent`). Returns ``(plateau, result)``,
    or None when the run does not end on a plateau of at least ``min_length`` iterations.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from badgerlib.analysis.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 300), (2, 700)], n=2, seed=0)
    >>> plateau, res = final_plateau_lyapunov(SimpleNamespace(config=micro_badger(2), history=h), n_surrogates=9)
    >>> plateau.end, res.significant()
    (999, False)
    """
    from badgerlib.analysis.dynamics import lyapunov_exponent, surrogate_test
    from badgerlib.analysis.phases import detect_plateaus

    e = np.asarray(run.history["last_error"], dtype=np.float64)
    ps = detect_plateaus(e, run.config.task.n, run.config.task.zeros_level)
    if not ps or ps[-1].end != len(e) - 1 or ps[-1].length < min_length:
        return None
    final = ps[-1]
    res = surrogate_test(e[final.start:final.end + 1], lyapunov_exponent, n_surrogates=n_surrogates,
                         seed=run.config.seed if seed is None else seed)
    return final, res


def snapshot_directions(run, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """The directions of target space the run's agent has learned, at every snapshot
    (:func:`badgerlib.analysis.phases.learned_directions` of the last guesses on the probe
    tasks). Returns ``iterations`` (K,), ``eigenvalues`` (K, N, descending), ``learned``
    (K,): eigenvalues above ``threshold``, ``remaining`` (K,): N x the error of the last
    guess on the probe tasks (zeros level = N), and, at the first snapshot with exactly one
    direction learned, that direction's alignment with the mean direction (1, ..., 1)/sqrt(N)
    (``mean_alignment``: 1 for "the same number everywhere") and with the nearest coordinate
    axis (``axis_alignment``: 1 for "one dimension solved"), NaN if there is no such snapshot.

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import train
    >>> cfg = micro_badger(2, iterations=2).replace(batch=2, probe_batch=8, snapshots=2)
    >>> d = snapshot_directions(train(cfg, runs_dir=tempfile.mkdtemp(), progress=False))
    >>> d["eigenvalues"].shape, d["learned"].tolist()
    ((2, 2), [0, 0])
    """
    from badgerlib.analysis.phases import learned_directions

    snaps = run.snapshots
    targets = np.asarray(snaps["targets"], dtype=np.float64)
    n = targets.shape[1]
    eig, first = [], None
    for k in range(len(snaps["iterations"])):
        ev, vec = learned_directions(np.asarray(snaps["guesses"][k][:, -1], dtype=np.float64), targets)
        eig.append(ev)
        if first is None and int((ev > threshold).sum()) == 1:
            first = vec[:, 0]
    eig = np.asarray(eig)
    fb = np.asarray(snaps["feedback"], dtype=np.float64)[:, :, -1].mean(axis=1)
    out = {"iterations": np.asarray(snaps["iterations"]), "eigenvalues": eig,
           "learned": (eig > threshold).sum(axis=1), "remaining": n * fb / run.config.task.zeros_level,
           "mean_alignment": np.nan, "axis_alignment": np.nan}
    if first is not None:
        out["mean_alignment"] = float(abs(first.sum()) / np.sqrt(n))
        out["axis_alignment"] = float(np.abs(first).max())
    return out


def direction_table(runs, threshold: float = 0.5) -> "pandas.DataFrame":
    """One row per snapshot of every run: ``n``, ``seed``, ``metric``, ``features``,
    ``iteration``, ``learned`` (directions with eigenvalue above ``threshold``),
    ``remaining`` (N x error on the probe tasks) and the run's first-direction
    ``mean_alignment`` and ``axis_alignment`` (:func:`snapshot_directions`).

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import train
    >>> cfg = micro_badger(2, iterations=2).replace(batch=2, probe_batch=8, snapshots=2)
    >>> direction_table([train(cfg, runs_dir=tempfile.mkdtemp(), progress=False)])[["iteration", "learned"]].values.tolist()
    [[0, 0], [2, 0]]
    """
    import pandas as pd

    rows = []
    for run in runs:
        d, key = snapshot_directions(run, threshold), _key(run)
        for i, it in enumerate(d["iterations"]):
            rows.append({**key, "iteration": int(it), "learned": int(d["learned"][i]), "remaining": d["remaining"][i],
                         "mean_alignment": d["mean_alignment"], "axis_alignment": d["axis_alignment"]})
    return pd.DataFrame(rows)
