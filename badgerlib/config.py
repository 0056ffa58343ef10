"""Frozen, validated configuration for a training run.

A run is described by one :class:`RunConfig`: the task (a frozen dataclass from
:mod:`badgerlib.tasks`, which is its own config), the model config (here
:class:`MicroBadgerConfig`) and the outer-loop settings. Every config validates itself at
construction and raises ``ValueError`` naming the field, the value and what is allowed, so a
typo fails at the boundary and not an hour into training.

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
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Registry of config classes that may appear as ``task`` or ``model`` in a RunConfig, keyed by
# the ``kind`` tag written into their dicts, so from_dict can rebuild the right class.
_KINDS: dict[str, type] = {}


def register_kind(cls):
    """Class decorator: make a config dataclass rebuildable by :func:`config_from_dict`.

    Example
    -------
    >>> @register_kind
    ... @dataclass(frozen=True)
    ... class ToyConfig:
    ...     kind: ClassVar[str] = "toy"
    ...     size: int = 1
    >>> config_from_dict({"kind": "toy", "size": 2})
    ToyConfig(size=2)
    """
    _KINDS[cls.kind] = cls
    return cls


def config_to_dict(obj) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass, tagged with its ``kind``; nested configs too.

    Example
    -------
    >>> from badgerlib.tasks import GuessingGame
    >>> config_to_dict(GuessingGame(n=2))["kind"]
    'guessing_game'
    """
    out: dict[str, Any] = {}
    kind = getattr(type(obj), "kind", None)
    if kind is not None:
        out["kind"] = kind
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = config_to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def config_from_dict(data: dict[str, Any]):
    """Rebuild a registered config from :func:`config_to_dict`'s output.

    Example
    -------
    >>> from badgerlib.tasks import GuessingGame
    >>> config_from_dict(config_to_dict(GuessingGame(n=4)))
    GuessingGame(n=4, metric='mse', scale=3.0)
    """
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"config kind = {kind!r}: must be one of {sorted(_KINDS)}")
    cls = _KINDS[kind]
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}; allowed: {sorted(names)}")
    kwargs = {}
    for name, value in data.items():
        if isinstance(value, dict) and "kind" in value:
            value = config_from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


# ---- validation helpers: each names the owner, the field, the value and what is allowed ----

def check_int(owner: str, name: str, value, lo: int, hi: int) -> None:
    """Raise ValueError unless ``value`` is an int in ``[lo, hi]``.

    Example
    -------
    >>> check_int("Cfg", "n", 0, 1, 10)
    Traceback (most recent call last):
    ...
    ValueError: Cfg.n = 0: must be an integer in [1, 10]
    """
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{owner}.{name} = {value!r}: must be an integer in [{lo}, {hi}]")


def check_float(owner: str, name: str, value, lo: float, hi: float, *, lo_open: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite number in ``[lo, hi]`` (``(lo, hi]`` if lo_open).

    Example
    -------
    >>> check_float("Cfg", "lr", 0.0, 0.0, 1.0, lo_open=True)
    Traceback (most recent call last):
    ...
    ValueError: Cfg.lr = 0.0: must be a number in (0.0, 1.0]
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{owner}.{name} = {value!r}: must be a number in {bracket}{lo}, {hi}]")


def check_choice(owner: str, name: str, value, choices) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``.

    Example
    -------
    >>> check_choice("Cfg", "loss", "l3", ("mse", "l1"))
    Traceback (most recent call last):
    ...
    ValueError: Cfg.loss = 'l3': must be one of ('mse', 'l1')
    """
    if value not in choices:
        raise ValueError(f"{owner}.{name} = {value!r}: must be one of {tuple(choices)}")


def check_bool(owner: str, name: str, value) -> None:
    """Raise ValueError unless ``value`` is True or False (not 0, 1 or a string).

    Example
    -------
    >>> check_bool("Cfg", "record_states", "yes")
    Traceback (most recent call last):
    ...
    ValueError: Cfg.record_states = 'yes': must be True or False
    """
    if not isinstance(value, bool):
        raise ValueError(f"{owner}.{name} = {value!r}: must be True or False")


#: The scalar features an expert can derive from the feedback it receives.
FEATURES = ("error", "log_error", "delta_error")


def check_features(owner: str, features) -> tuple[str, ...]:
    """The features as a tuple, or ValueError unless they are a non-empty subset of FEATURES.

    Example
    -------
    >>> check_features("Cfg", ["error"])
    ('error',)
    """
    value = tuple(features) if isinstance(features, (list, tuple)) else features
    if (not isinstance(value, tuple) or not value or len(set(value)) != len(value)
            or not set(value) <= set(FEATURES)):
        raise ValueError(f"{owner}.features = {features!r}: must be a non-empty subset of {FEATURES}")
    return value


@register_kind
@dataclass(frozen=True)
class MicroBadgerConfig:
    """Architecture of a Micro-Badger: E experts sharing one gated recurrent cell.

    Fields
    ------
    experts: number of experts E.
    hidden: hidden state size H of the shared cell.
    message: size of the message each expert sends to its out-neighbours.
    topology: ``"random"`` (each expert sends to ``links`` others, drawn with the run's seed),
        ``"ring"`` or ``"complete"``.
    links: out-links per expert for the random topology (default: 3, or E-1 if fewer experts).
    features: which scalar features of the feedback the experts see (subset of
        ``error``, ``log_error``, ``delta_error``).
    per_expert_readout: give every expert its own readout weights (breaks the symmetry by
        construction, as in the study's first remedy).
    exponential_update: the study's hidden update ``h = 0.5 h_prev + 0.7 (z h + (1-z) v)``.
    init_noise: std of the per-expert noise added to the shared learned initial state; without
        it identical experts would stay identical.

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
    experts: int = 8
    hidden: int = 32
    message: int = 8
    topology: str = "random"
    links: int | None = None
    features: tuple[str, ...] = FEATURES
    per_expert_readout: bool = False
    exponential_update: bool = False
    init_noise: float = 0.1

    def __post_init__(self):
        owner = type(self).__name__
        check_int(owner, "experts", self.experts, 1, 4096)
        check_int(owner, "hidden", self.hidden, 1, 4096)
        check_int(owner, "message", self.message, 1, 4096)
        check_choice(owner, "topology", self.topology, ("random", "ring", "complete"))
        if self.links is None:
            object.__setattr__(self, "links", min(3, self.experts - 1))
        if self.topology == "random":
            check_int(owner, "links", self.links, 0, max(self.experts - 1, 0))
        object.__setattr__(self, "features", check_features(owner, self.features))
        for name in ("per_expert_readout", "exponential_update"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{owner}.{name} = {getattr(self, name)!r}: must be True or False")
        check_float(owner, "init_noise", self.init_noise, 0.0, 10.0)


@register_kind
@dataclass(frozen=True)
class RunConfig:
    """One training run: task, model, and the outer loop that trains the model on the task.

    Fields
    ------
    task: a task dataclass from :mod:`badgerlib.tasks` (e.g. ``GuessingGame(n=3)``).
    model: a model config (e.g. ``MicroBadgerConfig()``).
    inner_steps: guesses per rollout after the initial all-zeros guess.
    iterations: outer iterations (Adam steps).
    batch: tasks per outer iteration.
    lr: Adam learning rate.
    loss_on: ``"all"`` (mean feedback over the inner steps) or ``"last"`` (last step only).
    grad_clip: clip the gradient norm to this value (0 disables); leaving a plateau can blow up.
    seed: the one seed that controls weights, graph, tasks and noise.
    dtype: ``"float32"`` or ``"float64"``.
    probe_batch: fixed tasks on which snapshots are recorded.
    snapshots: how many snapshots to record, evenly spaced over training (first and last
        iteration included); 0 records none.
    record_states: keep every expert's states and outputs (``hidden``, ``outputs``) in each
        snapshot. False keeps the guesses, feedback and weights only, and
        :meth:`badgerlib.train.Run.states_at` recomputes the states of any snapshot from its
        weights: for long runs, since a 16-expert, hidden-64 agent on 64 probe tasks with 24
        inner steps takes 8.6 MB of states per snapshot (13 GB over 1 501 snapshots).

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
    snapshots: int = 11
    record_states: bool = True

    def __post_init__(self):
        owner = type(self).__name__
        if self.task is None:
            from badgerlib.tasks import GuessingGame
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
        check_choice(owner, "dtype", self.dtype, ("float32", "float64"))
        check_int(owner, "probe_batch", self.probe_batch, 1, 1_000_000)
        check_int(owner, "snapshots", self.snapshots, 0, 100_000)
        check_bool(owner, "record_states", self.record_states)

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
        return config_from_dict(data)

    def replace(self, **changes) -> "RunConfig":
        """A copy with some fields changed (validated again).

        Example
        -------
        >>> RunConfig().replace(seed=5).seed
        5
        """
        return dataclasses.replace(self, **changes)
