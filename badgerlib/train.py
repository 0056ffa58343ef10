"""The outer loop: train a model on a task with Adam, through the whole inner rollout.

``train(config)`` returns a :class:`Run`: the per-iteration ``history``, the ``snapshots`` of
every expert on a fixed probe batch, and the trained weights. Runs are stored by config hash
(:mod:`badgerlib.store`): a finished run is loaded instead of recomputed, an interrupted one
resumes from its last checkpoint and ends bit-identical to an uninterrupted run.

History (one entry per outer iteration, all numpy arrays with the iteration as first axis):

- ``loss``: the training objective (feedback averaged over the inner steps, or the last step);
- ``last_error``: feedback of the last guess, averaged over the batch;
- ``grad_norm``: gradient norm before clipping;
- ``dim_error``: ``(iterations, N)`` unscaled error of the last guess per dimension;
- ``guess_magnitude``: mean |last guess|; ``guess_spread``: std of the last guess across
  dimensions, averaged over tasks (zero while the agent guesses one number everywhere);
- ``mean_corr``: correlation over the batch between the mean of the guess and the mean of the
  target (high in the "same number in every dimension" phase).

Example
-------
>>> import tempfile
>>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
>>> cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=8),
...                 iterations=5, batch=4, inner_steps=3, snapshots=2)
>>> run = train(cfg, runs_dir=tempfile.mkdtemp(), progress=False)
>>> run.history["loss"].shape, run.history["dim_error"].shape
((5,), (5, 2))
>>> run.snapshots["hidden"].shape     # (snapshots, probe tasks, steps + 1, experts, hidden)
(2, 64, 4, 3, 8)
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from badgerlib import store
from badgerlib.baselines import LSTMMetaLearner, LSTMMetaLearnerConfig, SupervisedLSTM, SupervisedLSTMConfig
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.model import MicroBadger, Rollout
from badgerlib.tasks import torch_dtype

# Offsets that derive independent random streams from the one run seed.
_PROBE_SEED_OFFSET = 1_000_003
_EVAL_SEED_OFFSET = 2_000_003

#: Model constructors by model-config class; later model families register here.
MODEL_BUILDERS: dict[type, Callable[[Any, RunConfig], torch.nn.Module]] = {
    MicroBadgerConfig: lambda model_cfg, cfg: MicroBadger(model_cfg, dims=cfg.task.dims, seed=cfg.seed),
    LSTMMetaLearnerConfig: lambda model_cfg, cfg: LSTMMetaLearner(model_cfg, dims=cfg.task.dims),
    SupervisedLSTMConfig: lambda model_cfg, cfg: SupervisedLSTM(model_cfg, dims=cfg.task.dims),
}


def build_model(config: RunConfig) -> torch.nn.Module:
    """The untrained model of a run, initialised from the run's seed, in the run's dtype.

    Example
    -------
    >>> from badgerlib import RunConfig
    >>> build_model(RunConfig(dtype="float64")).h0.dtype
    torch.float64
    """
    builder = MODEL_BUILDERS.get(type(config.model))
    if builder is None:
        raise ValueError(f"model = {config.model!r}: no builder registered; known: "
                         f"{[c.__name__ for c in MODEL_BUILDERS]}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = builder(config.model, config)
    return model.to(torch_dtype(config.dtype))


def snapshot_iterations(config: RunConfig) -> np.ndarray:
    """The outer iterations (number of updates done) at which snapshots are taken: evenly
    spaced from 0 to ``iterations``, both ends included.

    Example
    -------
    >>> from badgerlib import RunConfig
    >>> snapshot_iterations(RunConfig(iterations=100, snapshots=5)).tolist()
    [0, 25, 50, 75, 100]
    """
    if config.snapshots == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, config.iterations, config.snapshots).round().astype(np.int64))


@dataclass
class Run:
    """A finished training run: config, history, snapshots and trained weights.

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
    >>> cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4),
    ...                 iterations=3, batch=2, inner_steps=2, snapshots=0)
    >>> run = train(cfg, runs_dir=tempfile.mkdtemp(), progress=False)
    >>> run.rollout(batch=10).guesses.shape
    torch.Size([10, 3, 2])
    """

    config: RunConfig
    history: dict[str, np.ndarray]
    snapshots: dict[str, np.ndarray]
    model_state: dict[str, torch.Tensor]
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def model(self, device: str = "cpu") -> torch.nn.Module:
        """The trained model, rebuilt from the stored weights.

        Example: see the class docstring.
        """
        model = build_model(self.config)
        model.load_state_dict(self.model_state)
        return model.to(device).eval()

    def model_at(self, snapshot: int, device: str = "cpu") -> torch.nn.Module:
        """The model as it was at snapshot number ``snapshot`` (iteration
        ``snapshots["iterations"][snapshot]``), rebuilt from the weights stored with it.

        Example
        -------
        >>> import tempfile
        >>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
        >>> cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4),
        ...                 iterations=4, batch=2, inner_steps=2, snapshots=2)
        >>> run = train(cfg, runs_dir=tempfile.mkdtemp(), progress=False)
        >>> bool(torch.equal(run.model_at(1).h0, run.model().h0))   # the last snapshot is the end
        True
        """
        count = len(self.snapshots.get("iterations", ()))
        if isinstance(snapshot, bool) or not isinstance(snapshot, (int, np.integer)) or not -count <= snapshot < count:
            raise ValueError(f"snapshot = {snapshot!r}: must be an index in [0, {count - 1}] for this run's "
                             f"{count} snapshots")
        model = build_model(self.config)
        state = model.state_dict()
        for name in list(state):
            key = f"param.{name}"
            if key in self.snapshots:
                state[name] = torch.from_numpy(self.snapshots[key][snapshot])
        model.load_state_dict(state)
        return model.to(device).eval()

    def states_at(self, snapshot: int, device: str = "cpu") -> Rollout:
        """The recorded rollout (states, outputs, guesses, feedback) of snapshot number
        ``snapshot`` on the probe tasks, recomputed from the weights stored with it: the same
        numbers as ``snapshots["hidden"][snapshot]`` etc. of a run with ``record_states=True``,
        and the way to get them when the run was trained with ``record_states=False``.

        Example
        -------
        >>> import tempfile
        >>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
        >>> cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4),
        ...                 iterations=4, batch=2, inner_steps=2, snapshots=2, probe_batch=3,
        ...                 record_states=False)
        >>> run = train(cfg, runs_dir=tempfile.mkdtemp(), progress=False)
        >>> "hidden" in run.snapshots, tuple(run.states_at(1).hidden.shape)  # (probe, steps + 1, experts, hidden)
        (False, (3, 3, 2, 4))
        """
        model = self.model_at(snapshot, device)
        targets, h_init = probe_batch(model, self.config, device)
        with torch.no_grad():
            return model.rollout(self.config.task, targets, self.config.inner_steps, h_init=h_init, record=True)

    def rollout(self, batch: int = 1000, seed: int | None = None, steps: int | None = None,
                record: bool = False, device: str = "cpu") -> Rollout:
        """The trained agent on ``batch`` fresh tasks (drawn from a stream independent of the
        training tasks unless ``seed`` says otherwise), without gradients.

        Example: see the class docstring.
        """
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed + _EVAL_SEED_OFFSET if seed is None else seed)
        model = self.model(device)
        targets = cfg.task.sample_targets(batch, gen, torch_dtype(cfg.dtype), device)
        with torch.no_grad():
            return model.rollout(cfg.task, targets, steps or cfg.inner_steps, gen, record=record)


def _objective(config: RunConfig, rollout: Rollout) -> torch.Tensor:
    fb = rollout.feedback[:, 1:]
    return fb.mean() if config.loss_on == "all" else fb[:, -1].mean()


def _batch_stats(task, rollout: Rollout, targets: torch.Tensor) -> dict[str, np.ndarray]:
    """Per-iteration diagnostics of the last guess (no gradients)."""
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


def probe_batch(model: torch.nn.Module, config: RunConfig, device: str = "cpu"):
    """The fixed probe tasks and initial states on which snapshots are recorded. The targets and
    the initial noise are the same at every snapshot (drawn from their own seeded stream), and
    the initial state uses the model's current learned part, so what changes between snapshots
    is the learning, not the tasks.

    Example
    -------
    >>> from badgerlib import RunConfig
    >>> cfg = RunConfig(probe_batch=4)
    >>> targets, h = probe_batch(build_model(cfg), cfg)
    >>> targets.shape, h.shape
    (torch.Size([4, 3]), torch.Size([4, 8, 32]))
    """
    gen = torch.Generator().manual_seed(config.seed + _PROBE_SEED_OFFSET)
    targets = config.task.sample_targets(config.probe_batch, gen, torch_dtype(config.dtype), device)
    with torch.no_grad():
        h_init = model.initial_state(config.probe_batch, gen)
    return targets, h_init


def _snapshot(model, config: RunConfig, device: str) -> dict[str, np.ndarray]:
    """Every expert's states and outputs over the inner loop on the probe batch (float32), and
    the model's weights (``param.<name>``, in the run's dtype) so analyses can rebuild it."""
    targets, h_init = probe_batch(model, config, device)
    with torch.no_grad():
        r = model.rollout(config.task, targets, config.inner_steps, h_init=h_init, record=True)
    recorded = {"guesses": r.guesses, "feedback": r.feedback}
    if config.record_states:
        recorded.update(hidden=r.hidden, outputs=r.outputs)
    out = {k: v.float().cpu().numpy() for k, v in recorded.items()}
    out.update({f"param.{k}": v.detach().cpu().numpy().copy() for k, v in model.named_parameters()})
    return out


def train(config: RunConfig, *, runs_dir: str | Path | None = None, device: str = "cpu", progress: bool = True,
          checkpoint_every: int = 500, cache: bool = True,
          on_iteration: Callable[[int, float], None] | None = None) -> Run:
    """Train ``config.model`` on ``config.task`` and return the :class:`Run`.

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

    Example: see the module docstring.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config = {config!r}: must be a RunConfig")
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every = {checkpoint_every!r}: must be an integer >= 0")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device = {device!r}: CUDA is not available on this machine; use 'cpu'")
    path = store.run_path(config, runs_dir) if cache else None
    if path is not None:
        found = store.load_result(path)
        if found is not None:
            return Run(config, found["history"], found["snapshots"], found["model_state"], path, found["meta"])

    task, dtype = config.task, torch_dtype(config.dtype)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    snap_at = set(snapshot_iterations(config).tolist())
    N, T = task.dims, config.iterations
    history = {name: np.zeros(T) for name in
               ("loss", "last_error", "grad_norm", "guess_magnitude", "guess_spread", "mean_corr")}
    history["dim_error"] = np.zeros((T, N))
    snaps: dict[int, dict[str, np.ndarray]] = {}
    start, elapsed = 0, 0.0

    snap_hashes: dict[int, str] = {}   # SHA-256 of each snapshot's file, for the checkpoint
    ckpt = store.load_checkpoint(path) if path is not None else None
    if ckpt is not None:
        if "snapshot_files" not in ckpt:  # a checkpoint from before snapshots had files of their own
            ckpt["snapshot_files"] = {str(k): store.save_checkpoint_snapshot(path, int(k), {n: t.numpy() for n, t in v.items()})
                                      for k, v in ckpt["snapshots"].items()}
        stored = store.load_checkpoint_snapshots(path, ckpt["snapshot_files"])
        if stored is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            gen.set_state(ckpt["generator"])
            start, elapsed = int(ckpt["iteration"]), float(ckpt["elapsed"])
            for name, values in ckpt["history"].items():
                history[name][:start] = values.numpy()
            snaps, snap_hashes = stored, {int(k): h for k, h in ckpt["snapshot_files"].items()}

    def checkpoint(done: int) -> None:
        if path is None:
            return
        store.save_checkpoint(path, {
            "iteration": done, "elapsed": elapsed + time.perf_counter() - t0,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "generator": gen.get_state(),
            "history": {k: torch.from_numpy(v[:done].copy()) for k, v in history.items()},
            "snapshot_files": {str(k): h for k, h in snap_hashes.items()},
        })

    def take_snapshot(done: int) -> None:
        if done in snap_at and done not in snaps:
            snaps[done] = _snapshot(model, config, device)
            if path is not None:  # written once; checkpoints only list it
                snap_hashes[done] = store.save_checkpoint_snapshot(path, done, snaps[done])

    t0 = time.perf_counter()
    bar = tqdm(total=T, initial=start, disable=not progress, desc=f"train {store.config_hash(config)[:8]}",
               unit="it", mininterval=0.5)
    done = start
    try:
        for it in range(start, T):
            take_snapshot(it)
            targets = task.sample_targets(config.batch, gen, dtype, device)
            rollout = model.rollout(task, targets, config.inner_steps, gen)
            loss = _objective(config, rollout)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"train: loss is {loss.item()} at iteration {it}; "
                                         f"last good checkpoint kept in {path}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clip = config.grad_clip if config.grad_clip > 0 else math.inf
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            if not torch.isfinite(grad_norm):
                raise FloatingPointError(f"train: gradient norm is {grad_norm.item()} at iteration {it}; "
                                         f"last good checkpoint kept in {path}")
            optimizer.step()
            done = it + 1
            history["loss"][it] = loss.item()
            history["grad_norm"][it] = grad_norm.item()
            for name, value in _batch_stats(task, rollout, targets).items():
                history[name][it] = value
            bar.update(1)
            if it % 50 == 0:
                bar.set_postfix(loss=f"{history['loss'][it]:.4f}", refresh=False)
            if on_iteration is not None:
                on_iteration(done, history["loss"][it])
            if checkpoint_every and done % checkpoint_every == 0 and done < T:
                checkpoint(done)
        take_snapshot(T)
    except FloatingPointError:
        bar.close()
        raise
    except BaseException:
        # Interrupted (Ctrl-C, a failing callback): keep everything computed so far.
        bar.close()
        checkpoint(done)
        raise
    bar.close()

    seconds = elapsed + time.perf_counter() - t0
    snapshots = _stack_snapshots(snaps, probe_batch(model, config, device)[0])
    meta = {"seconds": seconds, "iterations_per_second": (T - start) / max(time.perf_counter() - t0, 1e-9),
            "device": device, "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads()}
    model_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if path is not None:
        store.write_result(path, config, history, snapshots, model_state, meta)
        store.remove_checkpoint(path)
    return Run(config, history, snapshots, model_state, path, meta)


def _stack_snapshots(snaps: dict[int, dict[str, np.ndarray]], probe_targets: torch.Tensor) -> dict[str, np.ndarray]:
    """Snapshots as arrays with the snapshot as first axis, plus their iterations and targets."""
    out = {"iterations": np.array(sorted(snaps), dtype=np.int64),
           "targets": probe_targets.float().cpu().numpy()}
    if snaps:
        for name in next(iter(snaps.values())):
            out[name] = np.stack([snaps[k][name] for k in sorted(snaps)])
    return out
