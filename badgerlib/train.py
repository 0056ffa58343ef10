"""The outer loop: train a model on a task, through the whole inner rollout.

``train(config)`` returns a :class:`~badgerlib.run.Run`: the per-iteration ``history``, the
``snapshots`` of every expert on a fixed probe batch, and the trained weights. Runs are stored
by config hash (:mod:`badgerlib.store`): a finished run is loaded instead of recomputed, an
interrupted one resumes from its last checkpoint and ends bit-identical to an uninterrupted
run.

The loop is four replaceable pieces around one :class:`TrainingState`: :func:`resume` (a fresh
state, or the last checkpoint's), :func:`update` (one outer step: sample tasks, roll out, make
the gradient with the config's registered gradient transform, clip, step the config's
registered optimiser), :func:`record` (the history of that step, snapshots, checkpoints) and
:func:`finish` (store the run). A remedy registers an optimiser
(:func:`badgerlib.config.register_optimizer`) or a gradient transform
(:func:`badgerlib.config.register_gradient_transform`) and names it in its ``RunConfig``; the
loop itself does not change.

History (one entry per outer iteration, all numpy arrays with the iteration as first axis):

- ``loss``: the training objective (:func:`badgerlib.objective.objective`);
- ``last_error``: feedback of the last guess, averaged over the batch;
- ``grad_norm``: gradient norm before clipping;
- ``dim_error``: ``(iterations, N)`` unscaled error of the last guess per dimension;
- ``guess_magnitude``: mean |last guess|; ``guess_spread``: std of the last guess across
  dimensions, averaged over tasks (zero while the agent guesses one number everywhere);
- ``mean_corr``: correlation over the batch between the mean of the guess and the mean of the
  target (high in the "same number in every dimension" phase).

Stopping when solved: with ``RunConfig(stop_when_solved=W)`` the loop ends once
:func:`solved` says so (every dimension below :data:`SOLVED_THRESHOLD` of its zeros level at
each of the last W iterations); :func:`finish` then stores the history up to there, a last
snapshot there and ``meta["stopped_at"]``. The rule reads only the history, which checkpoints
keep, so a resumed run stops at the same iteration as an uninterrupted one.

Two processes asked for the same run (two sweep workers, two notebooks) do not both train it:
:func:`train` trains under :func:`badgerlib.store.run_lock`, and the one that waited finds the
finished run and loads it.

The examples that train live in ``tests/test_train.py`` and ``tests/test_stop_rule.py``.
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from badgerlib import store
from badgerlib.config import (
    GRADIENT_TRANSFORMS, OPTIMIZERS, RunConfig, register_gradient_transform, register_optimizer, torch_dtype,
)
from badgerlib.engine import EagerForward, forward_for
from badgerlib.model import Rollout
from badgerlib.objective import objective
from badgerlib.run import Run, build_model, load_run, probe_inputs, snapshot_iterations

#: The scalar series of the history (``dim_error`` is the one with a second axis).
HISTORY_SCALARS = ("loss", "last_error", "grad_norm", "guess_magnitude", "guess_spread", "mean_corr")

#: A dimension counts as solved while its error of the last guess is below this fraction of
#: its zeros level: the threshold of :func:`badgerlib.analysis.components.solve_times`, which
#: chapters 2-3 use. (Changing it changes stopped runs: bump ``store.RESULTS_VERSION``.)
SOLVED_THRESHOLD = 0.25


def backprop_objective(model: torch.nn.Module, rollout: Rollout, config: RunConfig) -> torch.Tensor:
    """The default gradient transform: backpropagate :func:`badgerlib.objective.objective`.

    Example
    -------
    >>> cfg = RunConfig(iterations=1)
    >>> model = build_model(cfg)
    >>> gen = torch.Generator().manual_seed(0)
    >>> r = model.rollout(cfg.task, cfg.task.sample_targets(2, gen), 2, gen)
    >>> loss = backprop_objective(model, r, cfg)
    >>> model.h0.grad is not None
    True
    """
    loss = objective(rollout, config.loss_on)
    loss.backward()
    return loss


register_optimizer("adam", lambda params, config: torch.optim.Adam(params, lr=config.lr))
register_gradient_transform("objective", backprop_objective)


@dataclass
class TrainingState:
    """Everything a run in progress holds; a checkpoint stores it and :func:`resume` restores it."""

    config: RunConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    history: dict[str, np.ndarray]
    path: Path | None
    device: str
    done: int = 0                      # outer updates done
    elapsed: float = 0.0               # seconds spent before this session
    snapshots: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    snapshot_hashes: dict[int, str] = field(default_factory=dict)  # SHA-256 of each snapshot file
    forward: EagerForward | None = None  # the compiled inner loop of engine "compiled" (made on first use)
    started: float = field(default_factory=time.perf_counter)


def resume(config: RunConfig, path: Path | None, device: str = "cpu") -> TrainingState:
    """A fresh training state for ``config``, or the one its last checkpoint in ``path`` holds
    (a missing or corrupt checkpoint starts from scratch, with a warning when corrupt)."""
    model = build_model(config).to(device)
    T, N = config.iterations, config.task.dims
    history = {name: np.zeros(T) for name in HISTORY_SCALARS}
    history["dim_error"] = np.zeros((T, N))
    if config.probe_series:
        history["probe_error"] = np.zeros(T)
    state = TrainingState(config, model, OPTIMIZERS[config.optimizer](model.parameters(), config),
                          torch.Generator().manual_seed(config.seed), history, path, device)
    ckpt = store.load_checkpoint(path) if path is not None else None
    if ckpt is None:
        return state
    if "snapshot_files" not in ckpt:  # a checkpoint from before snapshots had files of their own
        ckpt["snapshot_files"] = {str(k): store.save_checkpoint_snapshot(path, int(k), {n: t.numpy() for n, t in v.items()})
                                  for k, v in ckpt["snapshots"].items()}
    stored = store.load_checkpoint_snapshots(path, ckpt["snapshot_files"])
    if stored is None:
        return state
    model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.generator.set_state(ckpt["generator"])
    state.done, state.elapsed = int(ckpt["iteration"]), float(ckpt["elapsed"])
    for name, values in ckpt["history"].items():
        history[name][:state.done] = values.numpy()
    state.snapshots = stored
    state.snapshot_hashes = {int(k): h for k, h in ckpt["snapshot_files"].items()}
    return state


def update(state: TrainingState) -> tuple[Rollout, float, float]:
    """One outer step on a fresh batch of tasks; returns the rollout, the loss and the gradient
    norm before clipping. Raises ``FloatingPointError`` naming the iteration when the loss or
    the gradient is not finite."""
    cfg, model, it = state.config, state.model, state.done
    targets = cfg.task.sample_targets(cfg.batch, state.generator, torch_dtype(cfg.dtype), state.device)
    rollout = inner_loop(state, targets)
    state.optimizer.zero_grad(set_to_none=True)
    loss = GRADIENT_TRANSFORMS[cfg.gradient](model, rollout, cfg)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"train: loss is {loss.item()} at iteration {it}; "
                                 f"last good checkpoint kept in {state.path}")
    clip = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    if not torch.isfinite(grad_norm):
        raise FloatingPointError(f"train: gradient norm is {grad_norm.item()} at iteration {it}; "
                                 f"last good checkpoint kept in {state.path}")
    state.optimizer.step()
    state.done = it + 1
    return rollout, loss.item(), grad_norm.item()


def inner_loop(state: TrainingState, targets: torch.Tensor) -> Rollout:
    """The rollout of one outer step on ``targets``, run by the config's engine
    (:mod:`badgerlib.engine`). Both engines draw the same initial noise from the state's
    generator, in the same order."""
    cfg, model = state.config, state.model
    if cfg.engine == "eager":
        return model.rollout(cfg.task, targets, cfg.inner_steps, state.generator)
    if state.forward is None:
        state.forward = forward_for(model, cfg.engine)
    noise = model.initial_noise(targets.shape[0], state.generator)
    guesses, feedback = state.forward(cfg.task, targets, cfg.inner_steps, noise)
    return Rollout(guesses=guesses, feedback=feedback, targets=targets)


def batch_stats(task, rollout: Rollout) -> dict[str, np.ndarray]:
    """Per-iteration diagnostics of the last guess (no gradients): every history series but
    ``loss`` and ``grad_norm``.

    Example
    -------
    >>> from badgerlib import GuessingGame
    >>> r = Rollout(guesses=torch.zeros(4, 2, 3), feedback=torch.ones(4, 2), targets=torch.ones(4, 3))
    >>> float(batch_stats(GuessingGame(n=3), r)["dim_error"][0])
    1.0
    """
    targets = rollout.targets
    with torch.no_grad():
        last = rollout.guesses[:, -1]
        stats = {
            "last_error": rollout.feedback[:, -1].mean(),
            "dim_error": task.dim_error(last, targets).mean(dim=0),
            "guess_magnitude": last.abs().mean(),
            "guess_spread": last.std(dim=-1, unbiased=False).mean() if last.shape[-1] > 1 else last.new_zeros(()),
        }
        gm, tm = last.mean(dim=-1), targets.mean(dim=-1)
        gm, tm = gm - gm.mean(), tm - tm.mean()
        denom = gm.norm() * tm.norm()
        stats["mean_corr"] = (gm @ tm) / denom if denom > 0 else denom.new_zeros(())
    return {k: v.double().cpu().numpy() for k, v in stats.items()}


def snapshot(model: torch.nn.Module, config: RunConfig, device: str = "cpu") -> dict[str, np.ndarray]:
    """The agent on the probe batch (guesses, feedback and, with ``record_states``, every
    expert's states and outputs over the inner loop, float32) and the model's weights
    (``param.<name>``, in the run's dtype) so analyses can rebuild it."""
    targets, h_init = probe_inputs(model, config, device)
    with torch.no_grad():
        r = model.rollout(config.task, targets, config.inner_steps, h_init=h_init, record=True)
    recorded = {"guesses": r.guesses, "feedback": r.feedback}
    if config.record_states:
        recorded.update(hidden=r.hidden, outputs=r.outputs)
    out = {k: v.float().cpu().numpy() for k, v in recorded.items()}
    out.update({f"param.{k}": v.detach().cpu().numpy().copy() for k, v in model.named_parameters()})
    return out


def take_snapshot(state: TrainingState, due: set[int]) -> None:
    """Snapshot the agent if ``state.done`` is due and not taken yet; written to disk once, when
    taken (checkpoints only list it)."""
    done = state.done
    if done in due and done not in state.snapshots:
        state.snapshots[done] = snapshot(state.model, state.config, state.device)
        if state.path is not None:
            state.snapshot_hashes[done] = store.save_checkpoint_snapshot(state.path, done, state.snapshots[done])


def dim_zeros_level(task) -> float:
    """The unscaled error of one dimension guessed 0, which the stop rule divides by: the
    task's ``dim_zeros_level`` (the guessing game); for a task without one, the mean over
    dimensions, ``zeros_level / scale`` (for :class:`~badgerlib.tasks.SineSumGame`, whose
    targets' spread varies along the grid, every point is measured against that mean).

    Example
    -------
    >>> from badgerlib.tasks import GuessingGame, SineSumGame
    >>> dim_zeros_level(GuessingGame(n=4)), dim_zeros_level(SineSumGame(m=11, frequencies=(1, 2)))
    (0.3333333333333333, 1.0)
    """
    level = getattr(task, "dim_zeros_level", None)
    return float(level if level is not None else task.zeros_level / task.scale)


def solved(state: TrainingState) -> bool:
    """The stop rule of ``RunConfig.stop_when_solved = W`` (False when W is 0): after W or more
    updates, every dimension's error of the last guess (history ``dim_error`` over
    :func:`dim_zeros_level`) was below :data:`SOLVED_THRESHOLD` at every one of the last W
    iterations. Strict rather than smoothed: one batch above the threshold restarts the
    window, so a run never stops on a lucky stretch, and a history cut there still shows every
    dimension solved to :func:`~badgerlib.analysis.components.solve_times` (whose centred
    smoothing, shrunk at the end, then averages values that are all below the threshold, for
    a window of up to 2 W - 1).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> cfg = RunConfig(stop_when_solved=2)
    >>> errors = np.array([[0.3, 0.3, 0.3], [0.01, 0.01, 0.01], [0.01, 0.02, 0.0]])
    >>> [solved(SimpleNamespace(config=cfg, history={"dim_error": errors}, done=d)) for d in (1, 2, 3)]
    [False, False, True]
    """
    window = state.config.stop_when_solved
    if not window or state.done < window:
        return False
    recent = state.history["dim_error"][state.done - window:state.done] / dim_zeros_level(state.config.task)
    return bool(np.all(recent < SOLVED_THRESHOLD))


def checkpoint(state: TrainingState) -> None:
    """Atomically write everything needed to resume after ``state.done`` updates."""
    if state.path is None:
        return
    done = state.done
    store.save_checkpoint(state.path, {
        "iteration": done, "elapsed": state.elapsed + time.perf_counter() - state.started,
        "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
        "generator": state.generator.get_state(),
        "history": {k: torch.from_numpy(v[:done].copy()) for k, v in state.history.items()},
        "snapshot_files": {str(k): h for k, h in state.snapshot_hashes.items()},
    })


def probe_error(model: torch.nn.Module, config: RunConfig, device: str = "cpu") -> float:
    """The feedback of the last guess on the first ``config.probe_series`` fixed probe tasks
    (:func:`badgerlib.run.probe_inputs`, their own seeded stream), averaged: what history
    ``probe_error`` records after every update.

    Example
    -------
    >>> cfg = RunConfig(probe_series=4)
    >>> probe_error(build_model(cfg), cfg) == probe_error(build_model(cfg), cfg)   # no fresh draws
    True
    """
    targets, h_init = probe_inputs(model, config, device, batch=config.probe_series)
    with torch.no_grad():
        r = model.rollout(config.task, targets, config.inner_steps, h_init=h_init)
    return float(r.feedback[:, -1].double().mean())


def record(state: TrainingState, rollout: Rollout, loss: float, grad_norm: float) -> None:
    """Write the history of the update just done (iteration ``state.done - 1``); with
    ``probe_series``, also the probe error of the weights it left (:func:`probe_error`)."""
    it = state.done - 1
    state.history["loss"][it] = loss
    state.history["grad_norm"][it] = grad_norm
    for name, value in batch_stats(state.config.task, rollout).items():
        state.history[name][it] = value
    if state.config.probe_series:
        state.history["probe_error"][it] = probe_error(state.model, state.config, state.device)


def finish(state: TrainingState, start: int, share: int = 1) -> Run:
    """The finished :class:`Run`; stored (and its checkpoint removed) when the state has a path.
    A run that stopped before ``config.iterations`` (:func:`solved`) keeps the history of the
    iterations done, gets a last snapshot at the iteration it stopped at (when it records
    snapshots) and ``meta["stopped_at"]``. ``share``: how many seeds trained together in one
    ensemble (:mod:`badgerlib.ensemble`); the run's ``meta["seconds"]`` is its share of their
    wall time, so that seconds summed over runs stay the training time spent."""
    cfg, model = state.config, state.model
    session = (time.perf_counter() - state.started) / share
    stopped = state.done < cfg.iterations
    if stopped:
        state.history = {k: v[:state.done] for k, v in state.history.items()}
        if cfg.snapshot_count and state.done not in state.snapshots:
            state.snapshots[state.done] = snapshot(model, cfg, state.device)
    probe_targets = probe_inputs(model, cfg, state.device)[0]
    snapshots = {"iterations": np.array(sorted(state.snapshots), dtype=np.int64),
                 "targets": probe_targets.float().cpu().numpy()}
    for name in next(iter(state.snapshots.values()), {}):
        snapshots[name] = np.stack([state.snapshots[k][name] for k in sorted(state.snapshots)])
    meta = {"seconds": state.elapsed + session,
            "iterations_per_second": (state.done - start) / max(session, 1e-9),
            "device": state.device, "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(),
            "engine": state.forward.engine if state.forward is not None else cfg.engine}
    if stopped:
        meta["stopped_at"] = state.done
    if share > 1:
        meta["ensemble"] = share
    model_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if state.path is not None:
        store.write_result(state.path, cfg, state.history, snapshots, model_state, meta)
        store.remove_checkpoint(state.path)
    return Run(cfg, state.history, snapshots, model_state, state.path, meta)


def train(config: RunConfig, *, runs_dir: str | Path | None = None, device: str = "cpu", progress: bool = True,
          checkpoint_every: int = 500, cache: bool = True,
          on_iteration: Callable[[int, float], None] | None = None) -> Run:
    """Train ``config.model`` on ``config.task`` (or load the stored run) and return the Run.

    Parameters
    ----------
    runs_dir: where runs are stored (default ``$BADGER_RUNS`` or ``runs/``).
    device: ``"cpu"`` or ``"cuda"``; the run's numbers are bit-reproducible on the CPU.
    progress: show a progress bar (tqdm: a widget in Jupyter, text elsewhere).
    checkpoint_every: outer iterations between checkpoints (0: only on interruption).
    cache: load a finished run if stored, and store this one; False trains in memory only.
    on_iteration: called as ``on_iteration(done, loss)`` after each update; an exception it
        raises (like KeyboardInterrupt) is passed on after a checkpoint is written.

    Raises ``FloatingPointError`` naming the iteration when the loss or the gradient is not
    finite; the last good checkpoint stays on disk.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config = {config!r}: must be a RunConfig")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every = {checkpoint_every!r}: must be an integer >= 0")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device = {device!r}: CUDA is not available on this machine; use 'cpu'")
    path = store.run_path(config, runs_dir) if cache else None
    if path is None:
        return train_loop(config, path, device, progress, checkpoint_every, on_iteration)
    seen = _manifest(path)
    if (found := load_run(config, runs_dir)) is not None:
        return found
    with store.run_lock(path), store.using_runs_dir(path.parent):
        # Another process may have finished the run while this one waited for the lock: load it
        # then (the manifest changed) rather than train it again.
        if _manifest(path) not in (None, seen) and (found := load_run(config, runs_dir)) is not None:
            return found
        return train_loop(config, path, device, progress, checkpoint_every, on_iteration)


def _manifest(path: Path) -> bytes | None:
    """The bytes of a run's manifest (None when it has none): written last, so a change means
    another process finished (or rewrote) the run."""
    try:
        return (path / "manifest.json").read_bytes()
    except OSError:
        return None


def train_loop(config: RunConfig, path: Path | None, device: str, progress: bool, checkpoint_every: int,
               on_iteration: Callable[[int, float], None] | None = None) -> Run:
    """The loop of :func:`train` without the store lookup and the lock: it trains ``config``
    (resuming from a checkpoint in ``path`` if there is one) and stores the run in ``path``."""
    state = resume(config, path, device)
    start, total, due = state.done, config.iterations, set(snapshot_iterations(config).tolist())
    bar = tqdm(total=total, initial=start, disable=not progress, desc=f"train {store.config_hash(config)[:8]}",
               unit="it", mininterval=0.5)
    try:
        while state.done < total and not solved(state):
            take_snapshot(state, due)
            rollout, loss, grad_norm = update(state)
            record(state, rollout, loss, grad_norm)
            bar.update(1)
            if state.done % 50 == 1:
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            if on_iteration is not None:
                on_iteration(state.done, loss)
            if checkpoint_every and state.done % checkpoint_every == 0 and state.done < total:
                checkpoint(state)
        take_snapshot(state, due)
    except FloatingPointError:
        raise
    except BaseException:
        checkpoint(state)   # interrupted (Ctrl-C, a failing callback): keep everything computed so far
        raise
    finally:
        bar.close()
    return finish(state, start)
