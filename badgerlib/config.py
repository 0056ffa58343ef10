"""Frozen, validated configuration for a training run.

A run is described by one :class:`RunConfig`: the task (a frozen dataclass from
:mod:`badgerlib.tasks`, which is its own config), the model config (here
:class:`MicroBadgerConfig`) and the outer-loop settings, including the optimiser and the
gradient transform by their registered names. Every config validates itself at construction
and raises ``ValueError`` naming the field, the value and what is allowed, so a typo fails at
the boundary and not an hour into training.

``to_dict``/``from_dict`` give a JSON round trip; the run store hashes that dict (plus a
results version) to find a run on disk.

Example
-------
>>> from badgerlib import RunConfig, MicroBadgerConfig, GuessingGame
>>> cfg = RunConfig(task=GuessingGame(n=3), model=MicroBadgerConfig(experts=8), iterations=100)
>>> RunConfig.from_dict(cfg.to_dict()) == cfg
True
>>> MicroBadgerConfig(experts=0)
Traceback (most recent call last):
...
ValueError: MicroBadgerConfig.experts = 0: must be an integer in [1, 4096]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from badgerlib.checks import (
    FEATURES, TOPOLOGIES, check_bool, check_choice, check_features, check_float, check_int, check_links,
    config_from_dict, config_to_dict, register_kind,
)
from badgerlib.tasks import GuessingGame

DTYPES = ("float32", "float64")

#: How an outer step runs the inner loop (:mod:`badgerlib.engine`).
ENGINES = ("eager", "compiled")

#: RunConfig fields renamed after runs were stored, old name -> new name: the run store hashes
#: them under their old names (so stored runs keep their hashes) and ``from_dict`` reads both.
RENAMED_FIELDS = {"snapshots": "snapshot_count"}


def torch_dtype(name: str):
    """The torch dtype for a config's dtype name.

    Example
    -------
    >>> torch_dtype("float64")
    torch.float64
    """
    import torch

    check_choice("RunConfig", "dtype", name, DTYPES)
    return getattr(torch, name)


#: The outer loop's replaceable pieces, by name: ``OPTIMIZERS[name](params, config)`` builds a
#: torch optimiser; ``GRADIENT_TRANSFORMS[name](model, rollout, config)`` fills the gradients
#: of ``model``'s parameters (the default, ``"objective"``, backpropagates the objective). The
#: training module registers the defaults; a chapter registers its remedies with
#: :func:`register_optimizer` / :func:`register_gradient_transform` before it builds configs
#: that name them.
OPTIMIZERS: dict[str, Callable] = {}
GRADIENT_TRANSFORMS: dict[str, Callable] = {}


def _register(registry: dict[str, Callable], what: str, name: str, fn: Callable) -> Callable:
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_{what}: name = {name!r}: must be a non-empty string")
    if not callable(fn):
        raise ValueError(f"register_{what}: {name!r} = {fn!r}: must be callable")
    registry[name] = fn
    return fn


def register_optimizer(name: str, factory: Callable) -> Callable:
    """Make ``RunConfig(optimizer=name)`` build its optimiser with ``factory(params, config)``.

    Example
    -------
    >>> import torch
    >>> _ = register_optimizer("sgd-doc", lambda params, config: torch.optim.SGD(params, lr=config.lr))
    >>> RunConfig(optimizer="sgd-doc").optimizer
    'sgd-doc'
    >>> del OPTIMIZERS["sgd-doc"]
    """
    return _register(OPTIMIZERS, "optimizer", name, factory)


def register_gradient_transform(name: str, fn: Callable) -> Callable:
    """Make ``RunConfig(gradient=name)`` fill the gradients with ``fn(model, rollout, config)``
    instead of backpropagating the objective (gradient surgery, a natural-gradient step...).
    ``fn`` returns the loss it reports in the history.

    Example
    -------
    >>> _ = register_gradient_transform("doc-noop", lambda model, rollout, config: rollout.feedback.mean())
    >>> RunConfig(gradient="doc-noop").gradient
    'doc-noop'
    >>> del GRADIENT_TRANSFORMS["doc-noop"]
    """
    return _register(GRADIENT_TRANSFORMS, "gradient_transform", name, fn)


@dataclass(frozen=True)
class ExpertGraph:
    """The fields every Badger-like model config shares, checked (and ``links`` completed)
    here: ``experts``, ``hidden``, ``message``, ``topology``, ``links`` (None: 3, or E-1 if
    fewer experts) and the ``features`` of the feedback the experts see (see
    :class:`MicroBadgerConfig`). A model config subclasses it and calls
    ``super().__post_init__()`` first.

    Example
    -------
    >>> ExpertGraph(experts=2).links
    1
    """

    experts: int = 8
    hidden: int = 32
    message: int = 8
    topology: str = "random"
    links: int | None = None
    features: tuple[str, ...] = FEATURES

    def __post_init__(self):
        owner = type(self).__name__
        check_int(owner, "experts", self.experts, 1, 4096)
        check_int(owner, "hidden", self.hidden, 1, 4096)
        check_int(owner, "message", self.message, 1, 4096)
        check_choice(owner, "topology", self.topology, TOPOLOGIES)
        if self.links is None:
            object.__setattr__(self, "links", min(3, self.experts - 1))
        check_links(owner, self.topology, self.experts, self.links)
        object.__setattr__(self, "features", check_features(owner, self.features))


@register_kind
@dataclass(frozen=True)
class MicroBadgerConfig(ExpertGraph):
    """Architecture of a Micro-Badger: E experts sharing one gated recurrent cell.

    Fields
    ------
    experts: number of experts E.
    hidden: hidden state size H of the shared cell.
    message: size of the message each expert sends to its out-neighbours.
    topology: a family of :data:`badgerlib.checks.TOPOLOGIES` (:mod:`badgerlib.topology`):
        ``"random"`` (each expert sends to ``links`` others, drawn with the run's seed, the
        default), ``"ring"``, ``"bidirectional_ring"``, ``"chain"``, ``"star"``,
        ``"complete"``, ``"small_world"`` or ``"two_halves"``.
    links: out-links per expert for ``random`` (default: 3, or E-1 if fewer experts); the
        random shortcuts of ``small_world``; out-links inside each half for ``two_halves``;
        ignored by the other families.
    features: which scalar features of the feedback the experts see (subset of
        ``error``, ``log_error``, ``delta_error``).
    per_expert_readout: give every expert its own readout weights (breaks the symmetry by
        construction, as in the study's first remedy).
    exponential_update: the study's hidden update ``h = 0.5 h_prev + 0.7 (z h + (1-z) v)``.
    init_noise: std of the per-expert noise added to the shared learned initial state; without
        it identical experts would stay identical.
    expert_ids: size K of a random ID vector per expert, redrawn (standard Gaussian) for every
        rollout and fed to the expert's gates at every step: the symmetry breaker of GoodAI's
        badger-2019 code (0, the default: none). The experts still share every weight.
    init_scale: the scale of the initial weights: each is drawn uniformly from
        ``[-s, s] / sqrt(hidden)`` with ``s = init_scale`` (1, the default: PyTorch's GRU
        initialisation). Small scales start near the saddle at zero weights (saddle-to-saddle
        dynamics).
    vector_feedback: the experts see the error of every guessed number (each feature of the
        feedback computed per dimension, ``scale`` times that dimension's error) instead of the
        scalar feedback: the scalar bottleneck removed, a control for chapter 9's remedies
        (False, the default). The objective, the history and the snapshots still record the
        scalar feedback.
    multiplicative: task-conditioned gating of the hidden units (a multiplicative interaction,
        Jayakumar et al. 2020; the study's proposal after Yu et al. 2020 of an architecture that
        divides a composite task): every step, each hidden unit's state is scaled by
        ``2 sigmoid(w_mod . task_input + b_mod)`` before it is read (messages and the recurrent
        gates), so that the feedback and the last guess can route the computation through
        different units (False, the default).

    Example
    -------
    >>> MicroBadgerConfig(experts=16, hidden=64).links
    3
    >>> MicroBadgerConfig(features=("error", "pitch"))
    Traceback (most recent call last):
    ...
    ValueError: MicroBadgerConfig.features = ('error', 'pitch'): must be a non-empty subset of ('error', 'log_error', 'delta_error')
    """

    kind: ClassVar[str] = "micro_badger"
    role: ClassVar[str] = "model"
    per_expert_readout: bool = False
    exponential_update: bool = False
    init_noise: float = 0.1
    expert_ids: int = 0
    init_scale: float = 1.0
    vector_feedback: bool = False
    multiplicative: bool = False

    def __post_init__(self):
        super().__post_init__()
        owner = type(self).__name__
        check_bool(owner, "per_expert_readout", self.per_expert_readout)
        check_bool(owner, "exponential_update", self.exponential_update)
        check_float(owner, "init_noise", self.init_noise, 0.0, 10.0)
        check_int(owner, "expert_ids", self.expert_ids, 0, 4096)
        check_bool(owner, "vector_feedback", self.vector_feedback)
        check_bool(owner, "multiplicative", self.multiplicative)
        check_float(owner, "init_scale", self.init_scale, 0.0, 100.0, lo_open=True)


@register_kind
@dataclass(frozen=True)
class RunConfig:
    """One training run: task, model, and the outer loop that trains the model on the task.

    Fields
    ------
    task: a task dataclass from :mod:`badgerlib.tasks` (e.g. ``GuessingGame(n=3)``).
    model: a model config (e.g. ``MicroBadgerConfig()``).
    inner_steps: guesses per rollout after the initial all-zeros guess.
    iterations: outer iterations (optimiser steps).
    batch: tasks per outer iteration.
    lr: the optimiser's learning rate.
    optimizer: a name in :data:`OPTIMIZERS` (default ``"adam"``).
    gradient: a name in :data:`GRADIENT_TRANSFORMS`: how the gradient of one outer step is
        made (default ``"objective"``: backpropagate the training objective).
    loss_on: ``"all"`` (mean feedback over the inner steps) or ``"last"`` (last step only).
    grad_clip: clip the gradient norm to this value (0 disables); leaving a plateau can blow up.
    seed: the one seed that controls weights, graph, tasks and noise.
    dtype: ``"float32"`` or ``"float64"``.
    probe_batch: how many fixed probe tasks snapshots are recorded on
        (:func:`badgerlib.run.probe_inputs` draws them).
    snapshot_count: how many snapshots to record, evenly spaced over training (first and last
        iteration included); 0 records none.
    record_states: keep every expert's states and outputs (``hidden``, ``outputs``) in each
        snapshot. False keeps the guesses, feedback and weights only, and
        :meth:`badgerlib.train.Run.states_at` recomputes the states of any snapshot from its
        weights: for long runs, since a 16-expert, hidden-64 agent on 64 probe tasks with 24
        inner steps takes 8.6 MB of states per snapshot (13 GB over 1 501 snapshots).
    stop_when_solved: end the run early once it is solved: a window W in outer iterations
        (0, the default, never stops early). The run stops after the first update at which
        every dimension's per-dimension error of the last guess (history ``dim_error``, over
        the task's zeros level) has been below :data:`badgerlib.train.SOLVED_THRESHOLD` (0.25,
        the threshold of :func:`badgerlib.analysis.components.solve_times`) at each of the last
        W iterations; its history then ends there, its last snapshot is taken there, and
        ``meta["stopped_at"]`` records the iteration (see :func:`badgerlib.train.solved`).
    engine: ``"eager"`` (the default: op by op, bit-identical to every run stored before
        engines existed) or ``"compiled"`` (the rollout and its gradient compiled with
        ``torch.compile``: about twice as fast on 2 CPU cores for the N = 20 agent, after a
        one-off compile of about a minute per shape, cached on disk; the same numbers
        to float tolerance, not bit for bit, hence a field that changes the run's hash). See
        :mod:`badgerlib.engine`.
    learned_loss: with ``gradient="ml3"`` only, the recipe of the meta-learned outer loss the
        run trains on (a :class:`badgerlib.learned_loss.LearnedLossConfig`; None, the default).
    probe_series: after every update, the feedback of the last guess on the first this-many
        fixed probe targets (:func:`badgerlib.run.probe_inputs` with ``batch``: the same
        targets as the snapshots' first ones, initial states drawn for that batch), averaged, is recorded as
        history ``probe_error`` (0, the default, records nothing). Unlike ``last_error``, whose
        tasks are redrawn every iteration, it changes only as the weights do: a series without
        fresh sampling noise, for the memory (Hurst) of a plateau. It costs one forward
        rollout of that many tasks per update and leaves the training itself unchanged
        (nothing is drawn from the training stream).

    Example
    -------
    >>> from badgerlib.tasks import GuessingGame
    >>> RunConfig(task=GuessingGame(n=3), lr=2.0)
    Traceback (most recent call last):
    ...
    ValueError: RunConfig.lr = 2.0: must be a number in (0.0, 1.0]
    """

    kind: ClassVar[str] = "run"
    task: Any = None
    model: Any = field(default_factory=MicroBadgerConfig)
    inner_steps: int = 10
    iterations: int = 2000
    batch: int = 32
    lr: float = 1e-3
    loss_on: str = "all"
    grad_clip: float = 1.0
    seed: int = 0
    dtype: str = "float32"
    probe_batch: int = 64
    snapshot_count: int = 11
    record_states: bool = True
    optimizer: str = "adam"
    gradient: str = "objective"
    stop_when_solved: int = 0
    engine: str = "eager"
    learned_loss: Any = None
    probe_series: int = 0

    def __post_init__(self):
        owner = type(self).__name__
        if self.task is None:
            object.__setattr__(self, "task", GuessingGame())
        if getattr(type(self.task), "role", None) != "task":
            raise ValueError(f"{owner}.task = {self.task!r}: must be a task such as GuessingGame(n=3)")
        if getattr(type(self.model), "role", None) != "model":
            raise ValueError(f"{owner}.model = {self.model!r}: must be a model config such as MicroBadgerConfig()")
        check_int(owner, "inner_steps", self.inner_steps, 1, 100_000)
        check_int(owner, "iterations", self.iterations, 0, 100_000_000)
        check_int(owner, "batch", self.batch, 1, 1_000_000)
        check_float(owner, "lr", self.lr, 0.0, 1.0, lo_open=True)
        check_choice(owner, "loss_on", self.loss_on, ("all", "last"))
        check_float(owner, "grad_clip", self.grad_clip, 0.0, 1e6)
        check_int(owner, "seed", self.seed, 0, 2**63 - 1)
        check_choice(owner, "dtype", self.dtype, DTYPES)
        check_int(owner, "probe_batch", self.probe_batch, 1, 1_000_000)
        check_int(owner, "snapshot_count", self.snapshot_count, 0, 100_000)
        check_bool(owner, "record_states", self.record_states)
        check_int(owner, "stop_when_solved", self.stop_when_solved, 0, 100_000_000)
        check_int(owner, "probe_series", self.probe_series, 0, 1_000_000)
        if self.probe_series > self.probe_batch:
            raise ValueError(f"{owner}.probe_series = {self.probe_series}: must be at most probe_batch = "
                             f"{self.probe_batch} (it reads the first probe tasks); lower it or raise probe_batch")
        check_choice(owner, "engine", self.engine, ENGINES)
        if self.stop_when_solved and not hasattr(self.task, "dim_zeros_level") and not (
                hasattr(self.task, "zeros_level") and hasattr(self.task, "scale")):
            raise ValueError(f"{owner}.stop_when_solved = {self.stop_when_solved!r}: must be 0 for a task without a "
                             f"zeros level ({type(self.task).__name__}); allowed > 0 for tasks with dim_zeros_level "
                             f"or zeros_level and scale, such as GuessingGame")
        if self.learned_loss is not None and getattr(type(self.learned_loss), "kind", None) != "learned_loss":
            raise ValueError(f"{owner}.learned_loss = {self.learned_loss!r}: must be None or a "
                             f"badgerlib.learned_loss.LearnedLossConfig")
        if (self.gradient == "ml3") != (self.learned_loss is not None):
            raise ValueError(f"{owner}.learned_loss = {self.learned_loss!r} with gradient = {self.gradient!r}: "
                             f"gradient 'ml3' needs a learned_loss (LearnedLossConfig) and only it reads one")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{owner}.optimizer = {self.optimizer!r}: must be one of {sorted(OPTIMIZERS)} "
                             f"(more with badgerlib.config.register_optimizer)")
        if self.gradient not in GRADIENT_TRANSFORMS:
            raise ValueError(f"{owner}.gradient = {self.gradient!r}: must be one of {sorted(GRADIENT_TRANSFORMS)} "
                             f"(more with badgerlib.config.register_gradient_transform)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, nested configs tagged with their kind.

        Example
        -------
        >>> RunConfig().to_dict()["model"]["kind"]
        'micro_badger'
        """
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """Inverse of :meth:`to_dict`.

        Example
        -------
        >>> cfg = RunConfig(seed=3)
        >>> RunConfig.from_dict(cfg.to_dict()).seed
        3
        """
        data = dict(data)
        data.setdefault("kind", cls.kind)
        for old, new in RENAMED_FIELDS.items():   # configs written before a field was renamed
            if old in data:
                data[new] = data.pop(old)
        return config_from_dict(data)

    def replace(self, **changes) -> "RunConfig":
        """A copy with some fields changed (validated again).

        Example
        -------
        >>> RunConfig().replace(seed=5).seed
        5
        """
        return dataclasses.replace(self, **changes)
