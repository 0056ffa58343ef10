"""A finished run, read back: :class:`Run`, :func:`load_run`, and what rebuilds its model.

A :class:`Run` holds a config, the per-iteration ``history``, the ``snapshots`` of the agent on
a fixed probe batch, and the trained weights. :func:`load_run` reads a stored run **without
ever training** (None when there is none), so a config that changed by accident shows up as
a missing run instead of a silent retraining; :func:`badgerlib.train.train` is what trains.

Snapshots are read from disk lazily, one array at a time, when first used: a table over many
long runs that only needs their histories never loads their snapshots.

The model registry maps each model-config class to its constructor, so new families plug in
with :func:`register_model`; :func:`probe_inputs` gives the fixed tasks every snapshot is
recorded on.

Example
-------
>>> import tempfile
>>> from badgerlib import RunConfig, GuessingGame, MicroBadgerConfig
>>> cfg = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=4), iterations=3)
>>> load_run(cfg, runs_dir=tempfile.mkdtemp()) is None        # never trained there: None, no training
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from badgerlib import store
from badgerlib.baselines import LSTMMetaLearner, LSTMMetaLearnerConfig, SupervisedLSTM, SupervisedLSTMConfig
from badgerlib.checks import check_int
from badgerlib.config import MicroBadgerConfig, RunConfig, torch_dtype
from badgerlib.model import MicroBadger, Rollout
from badgerlib.tcnn import ChaoticBadger, ChaoticBadgerConfig

# Offsets that derive independent random streams from the one run seed.
PROBE_SEED_OFFSET = 1_000_003
EVAL_SEED_OFFSET = 2_000_003

#: Model constructors by model-config class: ``builder(model_config, run_config) -> nn.Module``.
MODEL_BUILDERS: dict[type, Callable[[Any, RunConfig], torch.nn.Module]] = {}


def register_model(config_class: type, builder: Callable[[Any, RunConfig], torch.nn.Module]) -> None:
    """Make runs whose ``model`` is a ``config_class`` build their model with ``builder``.

    Example
    -------
    >>> register_model(MicroBadgerConfig, MODEL_BUILDERS[MicroBadgerConfig])   # re-registering is harmless
    """
    MODEL_BUILDERS[config_class] = builder


register_model(MicroBadgerConfig, lambda m, cfg: MicroBadger(m, dims=cfg.task.dims, seed=cfg.seed))
register_model(LSTMMetaLearnerConfig, lambda m, cfg: LSTMMetaLearner(m, dims=cfg.task.dims))
register_model(SupervisedLSTMConfig, lambda m, cfg: SupervisedLSTM(m, dims=cfg.task.dims))
register_model(ChaoticBadgerConfig, lambda m, cfg: ChaoticBadger(m, dims=cfg.task.dims, seed=cfg.seed))


def build_model(config: RunConfig) -> torch.nn.Module:
    """The untrained model of a run, initialised from the run's seed, in the run's dtype.

    Example
    -------
    >>> build_model(RunConfig(dtype="float64")).h0.dtype
    torch.float64
    """
    builder = MODEL_BUILDERS.get(type(config.model))
    if builder is None:
        raise ValueError(f"RunConfig.model = {config.model!r}: no model registered for it; known: "
                         f"{[c.__name__ for c in MODEL_BUILDERS]} (badgerlib.run.register_model)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = builder(config.model, config)
    return model.to(torch_dtype(config.dtype))


def snapshot_iterations(config: RunConfig) -> np.ndarray:
    """The outer iterations (number of updates done) at which snapshots are taken: evenly
    spaced from 0 to ``iterations``, both ends included.

    Example
    -------
    >>> snapshot_iterations(RunConfig(iterations=100, snapshot_count=5)).tolist()
    [0, 25, 50, 75, 100]
    """
    if config.snapshot_count == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, config.iterations, config.snapshot_count).round().astype(np.int64))


def probe_inputs(model: torch.nn.Module, config: RunConfig, device: str = "cpu", batch: int | None = None):
    """The fixed probe tasks and initial states on which snapshots are recorded. The targets and
    the initial noise are the same at every snapshot (drawn from their own seeded stream), and
    the initial state uses the model's current learned part, so what changes between snapshots
    is the learning, not the tasks. ``batch`` draws that many probe tasks instead of
    ``config.probe_batch`` (an estimator that needs more samples than the snapshots kept).

    Example
    -------
    >>> cfg = RunConfig(probe_batch=4)
    >>> targets, h = probe_inputs(build_model(cfg), cfg)
    >>> targets.shape, h.shape
    (torch.Size([4, 3]), torch.Size([4, 8, 32]))
    >>> probe_inputs(build_model(cfg), cfg, batch=9)[0].shape
    torch.Size([9, 3])
    """
    batch = config.probe_batch if batch is None else check_int("probe_inputs", "batch", batch, 1)
    gen = torch.Generator().manual_seed(config.seed + PROBE_SEED_OFFSET)
    targets = config.task.sample_targets(batch, gen, torch_dtype(config.dtype), device)
    with torch.no_grad():
        h_init = model.initial_state(batch, gen)
    return targets, h_init


@dataclass
class Run:
    """A training run: config, history, snapshots and trained weights (see the module docstring;
    the examples that train live in ``tests/test_run.py``).

    ``history``: named arrays over outer iterations (see :mod:`badgerlib.train`);
    ``snapshots``: named arrays with the snapshot as first axis, plus ``iterations`` and the
    probe ``targets``, and the weights at each snapshot as ``param.<name>``.
    """

    config: RunConfig
    history: dict[str, np.ndarray]
    snapshots: Mapping[str, np.ndarray]
    model_state: dict[str, torch.Tensor]
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def model(self, device: str = "cpu") -> torch.nn.Module:
        """The trained model, rebuilt from the stored weights."""
        model = build_model(self.config)
        model.load_state_dict(self.model_state)
        return model.to(device).eval()

    def model_at(self, snapshot: int, device: str = "cpu") -> torch.nn.Module:
        """The model as it was at snapshot number ``snapshot`` (iteration
        ``snapshots["iterations"][snapshot]``), rebuilt from the weights stored with it."""
        count = len(self.snapshots.get("iterations", ()))
        if isinstance(snapshot, bool) or not isinstance(snapshot, (int, np.integer)) or not -count <= snapshot < count:
            raise ValueError(f"snapshot = {snapshot!r}: must be an index in [0, {count - 1}] for this run's "
                             f"{count} snapshots")
        model = build_model(self.config)
        state = model.state_dict()
        for name in list(state):
            key = f"param.{name}"
            if key in self.snapshots:
                state[name] = torch.from_numpy(np.asarray(self.snapshots[key][snapshot]))
        model.load_state_dict(state)
        return model.to(device).eval()

    def states_at(self, snapshot: int, device: str = "cpu", batch: int | None = None,
                  steps: int | None = None) -> Rollout:
        """The recorded rollout (states, outputs, guesses, feedback) of snapshot number
        ``snapshot`` on the probe tasks, recomputed from the weights stored with it: the same
        numbers as ``snapshots["hidden"][snapshot]`` etc. of a run with ``record_states=True``,
        and the way to get them when the run was trained with ``record_states=False``.
        ``batch`` rolls out on that many probe tasks instead (the same ones at every snapshot;
        :func:`probe_inputs`), for estimators that need more samples; ``steps`` runs the inner
        loop that many steps instead of the trained ``inner_steps`` (its dynamics beyond)."""
        model = self.model_at(snapshot, device)
        targets, h_init = probe_inputs(model, self.config, device, batch)
        steps = self.config.inner_steps if steps is None else check_int("states_at", "steps", steps, 1)
        with torch.no_grad():
            return model.rollout(self.config.task, targets, steps, h_init=h_init, record=True)

    def rollout(self, batch: int = 1000, seed: int | None = None, steps: int | None = None,
                record: bool = False, device: str = "cpu") -> Rollout:
        """The trained agent on ``batch`` fresh tasks (drawn from a stream independent of the
        training tasks unless ``seed`` says otherwise), without gradients."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed + EVAL_SEED_OFFSET if seed is None else seed)
        model = self.model(device)
        targets = cfg.task.sample_targets(batch, gen, torch_dtype(cfg.dtype), device)
        with torch.no_grad():
            return model.rollout(cfg.task, targets, steps or cfg.inner_steps, gen, record=record)


def load_run(config: RunConfig, runs_dir: str | Path | None = None) -> Run | None:
    """The stored run of ``config``, or None when the store has no finished run for it. Never
    trains. Its snapshots are read lazily (see the module docstring).

    Example: see the module docstring.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config = {config!r}: must be a RunConfig")
    path = store.run_path(config, runs_dir)
    found = store.load_result(path, lazy_snapshots=True)
    if found is None:
        return None
    return Run(config, found["history"], found["snapshots"], found["model_state"], path, found["meta"])
