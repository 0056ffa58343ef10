"""Chapter 3, ray interference: the two-component toy, Micro-Badger solving one dimension at a
time, gradient conflict between dimensions at the stored snapshots, and L1 against MSE for the
LSTM meta-learner.

Its Micro-Badger runs are the standard ones (:mod:`badgerlib.chapters.standard`); the LSTM
runs of the metric comparison are built here (:func:`lstm_metric_configs`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from badgerlib.analysis.interference import conflict_fraction, cosine_matrix, flat_gradients
from badgerlib.baselines import LSTMMetaLearnerConfig
from badgerlib.chapters.standard import sizes
from badgerlib.config import RunConfig
from badgerlib.objective import dimension_losses
from badgerlib.run import probe_batch
from badgerlib.sweep import torch_threads
from badgerlib.tasks import GuessingGame


def lstm_metric(metric: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The LSTM meta-learner (hidden 64, features error, log, change) on the guessing game
    with feedback metric ``"mse"`` or ``"l1"`` (both scaled so that guessing zeros scores 1).

    Example
    -------
    >>> cfg = lstm_metric("l1", seed=1)
    >>> cfg.task.metric, cfg.model.hidden, cfg.iterations, cfg.snapshots
    ('l1', 64, 1200, 25)
    """
    size = sizes(quick)
    return RunConfig(task=GuessingGame(n=size.lstm_n, metric=metric), model=LSTMMetaLearnerConfig(hidden=size.lstm_hidden),
                     inner_steps=size.inner_steps, iterations=size.lstm_iterations, batch=size.batch,
                     lr=size.lstm_lr, seed=int(seed), snapshots=size.lstm_iterations // size.lstm_snapshot_every + 1)


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


def snapshot_interference(run, snapshots: Sequence[int] | None = None, device: str = "cpu",
                          threads: int | None = 1) -> dict[str, np.ndarray]:
    """Gradient interference between the guessed dimensions at the run's stored snapshots.

    For each snapshot k: the model as it was (``run.model_at(k)``), the per-dimension
    components of its objective on the run's fixed probe tasks (:func:`dimension_losses`,
    :func:`badgerlib.run.probe_batch`), their gradients with respect to all weights, and

    * ``cosines`` (K, N, N): cosine between the gradients of each pair of dimensions;
    * ``mean_cosine`` (K,): mean over pairs; -1/(N-1) is the most negative possible on
      average, reached when the N gradients cancel exactly;
    * ``conflict`` (K,): fraction of pairs with a negative cosine (PCGrad's conflict);
    * ``cancellation`` (K,): |sum of gradients|^2 / sum of |gradient|^2: 1 for orthogonal
      components, N when all align, 0 when they cancel;
    * ``grad_norm`` (K,): norm of the whole objective's gradient;
    * ``iterations`` (K,): the outer iteration of each snapshot.

    Runs with ``threads`` torch threads (default 1; None leaves the setting alone).


    It rebuilds models from a trained run: the examples are in ``tests/``.
    """
    its = np.asarray(run.snapshots["iterations"])
    index = range(len(its)) if snapshots is None else list(snapshots)
    out = {k: [] for k in ("iterations", "cosines", "mean_cosine", "conflict", "cancellation", "grad_norm")}
    with torch_threads(threads):
        for k in index:
            _interference_at(run, int(k), device, out)
    return {k: np.asarray(v) for k, v in out.items()}


def _interference_at(run, k: int, device: str, out: dict) -> None:
    """One snapshot of :func:`snapshot_interference`, appended to ``out``."""


    cfg = run.config
    model = run.model_at(k, device)
    targets, h_init = probe_batch(model, cfg, device)
    with torch.enable_grad():
        rollout = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h_init)
        losses = dimension_losses(rollout, cfg.task, cfg.loss_on)
        g = flat_gradients(list(losses), list(model.parameters()))
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


    It rebuilds models from a trained run: the examples are in ``tests/``.
    """
    if metric not in ("mse", "l1"):
        raise ValueError(f"snapshot_error: metric={metric!r}; allowed are 'mse', 'l1'")
    guesses = np.asarray(run.snapshots["guesses"], dtype=np.float64)[:, :, -1]     # (K, P, N)
    targets = np.asarray(run.snapshots["targets"], dtype=np.float64)[None]           # (1, P, N)
    diff = guesses - targets
    err = 3.0 * (diff ** 2).mean(axis=(1, 2)) if metric == "mse" else 2.0 * np.abs(diff).mean(axis=(1, 2))
    return np.asarray(run.snapshots["iterations"]), err
