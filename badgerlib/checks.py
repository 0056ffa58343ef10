"""Field validators and the registry of config kinds: the bottom of the house.

Every config and every public function checks its input at the boundary and fails with a
``ValueError`` that names the owner, the field, the value and what is allowed. This module
imports nothing from the rest of badgerlib (numpy only), so every other module can use it.

The kind registry maps the ``kind`` tag written into a config's dict to its class, so that
:func:`config_from_dict` can rebuild nested configs (a task, a model, an optimiser) from JSON.

Example
-------
>>> check_int("GuessingGame", "n", 0, 1, 10)
Traceback (most recent call last):
...
ValueError: GuessingGame.n = 0: must be an integer in [1, 10]
>>> check_array([1.0, float("nan")], "find_plateaus", "loss")
Traceback (most recent call last):
...
ValueError: find_plateaus: loss contains NaN or infinite values; only finite values are allowed
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar  # noqa: F401 (ClassVar: for dataclasses defined in doctests)

import numpy as np

# ---- the registry of config kinds ---------------------------------------------------------

_KINDS: dict[str, type] = {}


def register_kind(cls):
    """Class decorator: make a config dataclass rebuildable by :func:`config_from_dict`.

    Example
    -------
    >>> from dataclasses import dataclass
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


# ---- scalar fields: each names the owner, the field, the value and what is allowed ---------

def check_int(owner: str, name: str, value, lo: int, hi: int | float = math.inf) -> int:
    """``value`` as an int, or ValueError unless it is an integer in ``[lo, hi]``.

    Example
    -------
    >>> check_int("Cfg", "n", 0, 1, 10)
    Traceback (most recent call last):
    ...
    ValueError: Cfg.n = 0: must be an integer in [1, 10]
    >>> check_int("sweep", "workers", 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: sweep.workers = 0: must be an integer >= 1
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or not lo <= value <= hi:
        allowed = f"an integer >= {lo}" if hi == math.inf else f"an integer in [{lo}, {hi}]"
        raise ValueError(f"{owner}.{name} = {value!r}: must be {allowed}")
    return int(value)


def check_float(owner: str, name: str, value, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """``value`` as a float, or ValueError unless it is a finite number in ``[lo, hi]``
    (``(lo, hi]`` if ``lo_open``).

    Example
    -------
    >>> check_float("Cfg", "lr", 0.0, 0.0, 1.0, lo_open=True)
    Traceback (most recent call last):
    ...
    ValueError: Cfg.lr = 0.0: must be a number in (0.0, 1.0]
    """
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
          and math.isfinite(value))
    ok = ok and (lo < value if lo_open else lo <= value) and value <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{owner}.{name} = {value!r}: must be a number in {bracket}{lo}, {hi}]")
    return float(value)


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


def check_bool(owner: str, name: str, value) -> bool:
    """``value``, or ValueError unless it is True or False (not 0, 1 or a string).

    Example
    -------
    >>> check_bool("Cfg", "record_states", "yes")
    Traceback (most recent call last):
    ...
    ValueError: Cfg.record_states = 'yes': must be True or False
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}.{name} = {value!r}: must be True or False")
    return bool(value)


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


#: The expert-graph families (:mod:`badgerlib.topology`), by the name a config gives them.
TOPOLOGIES = ("random", "ring", "bidirectional_ring", "chain", "star", "complete", "small_world", "two_halves")

#: What ``links`` means for each family that uses it; the others ignore it.
LINKS_MEANING = {
    "random": "out-links per expert",
    "small_world": "random shortcuts added to the bidirectional ring",
    "two_halves": "out-links per expert inside its half",
}


def links_range(topology: str, experts: int) -> tuple[int, int] | None:
    """The allowed ``links`` of a family with ``experts`` experts, ``(lo, hi)``, or None where
    the family ignores ``links``.

    Example
    -------
    >>> links_range("random", 16), links_range("two_halves", 16), links_range("ring", 16)
    ((0, 15), (0, 7), None)
    >>> links_range("small_world", 6)        # 15 pairs, 6 of them on the ring
    (0, 9)
    """
    if topology == "random":
        return 0, max(experts - 1, 0)
    if topology == "small_world":
        ring_pairs = experts if experts > 2 else experts - 1
        return 0, max(experts * (experts - 1) // 2 - ring_pairs, 0)
    if topology == "two_halves":
        return 0, max(experts // 2 - 1, 0)
    return None


def check_links(owner: str, topology: str, experts: int, links) -> None:
    """Raise ValueError unless ``links`` is allowed for this family and number of experts.

    Example
    -------
    >>> check_links("Cfg", "two_halves", 8, 4)
    Traceback (most recent call last):
    ...
    ValueError: Cfg.links = 4: must be an integer in [0, 3] for two_halves with 8 experts (out-links per expert inside its half)
    """
    allowed = links_range(topology, experts)
    if allowed is None:
        return
    lo, hi = allowed
    if isinstance(links, bool) or not isinstance(links, (int, np.integer)) or not lo <= links <= hi:
        raise ValueError(f"{owner}.links = {links!r}: must be an integer in [{lo}, {hi}] for {topology} with "
                         f"{experts} experts ({LINKS_MEANING[topology]})")


# ---- arrays ----------------------------------------------------------------------------------

def check_array(x, fn: str, name: str, *, ndim: int | tuple[int, ...] | None = None, min_len: int = 1,
                min_last: int | None = None, finite: bool = True) -> np.ndarray:
    """``x`` as a float64 numpy array (a torch tensor is detached and copied to the CPU), or a
    ValueError naming the function, the argument and what is wrong: not numeric, the wrong
    number of axes, fewer than ``min_len`` entries along the first axis or ``min_last`` along
    the last, or (with ``finite``) a NaN or infinite value.

    Example
    -------
    >>> check_array([[1, 2]], "smooth", "x", ndim=1)
    Traceback (most recent call last):
    ...
    ValueError: smooth: x has shape (1, 2); a 1-D array is needed
    >>> check_array([1, 2, 3], "smooth", "x", ndim=1).dtype
    dtype('float64')
    """
    if hasattr(x, "detach"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{fn}: {name} must be a numeric array, got {type(x).__name__}") from err
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            need = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{fn}: {name} has shape {a.shape}; a {need} array is needed")
    if a.ndim == 0 or a.shape[0] < min_len:
        raise ValueError(f"{fn}: {name} has shape {a.shape}; at least {min_len} entries are needed")
    if min_last is not None and a.shape[-1] < min_last:
        raise ValueError(f"{fn}: {name} has shape {a.shape}; the last axis needs >= {min_last} entries")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{fn}: {name} contains NaN or infinite values; only finite values are allowed")
    return a
