"""Tasks: what the experts must guess, and the single scalar feedback they get.

A task is a frozen dataclass and is its own config. Every task offers the same small interface,
which the model and the trainer rely on:

- ``dims``: how many numbers a guess has;
- ``sample_targets(batch, generator, dtype, device)``: a ``(batch, dims)`` tensor of targets;
- ``feedback(guess, target)``: one scalar per task, ``(batch,)``: the only signal the experts see;
- ``dim_error(guess, target)``: the unscaled per-dimension error ``(batch, dims)``, for analysis;
- ``zeros_level``: the expected feedback of the all-zeros first guess;
- ``dim_zeros_level`` (guessing game): the expected unscaled error of one dimension guessed 0.

The guessing game's levels are defined here and nowhere else: analyses take them from the task.

Example
-------
>>> import torch
>>> game = GuessingGame(n=3)
>>> targets = game.sample_targets(4, torch.Generator().manual_seed(0))
>>> targets.shape
torch.Size([4, 3])
>>> game.feedback(targets, targets)
tensor([0., 0., 0., 0.])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from badgerlib.checks import check_choice, check_float, check_int, register_kind


class ScalarFeedback:
    """The feedback every task here gives: ``scale * mean(error per dimension)``, with the
    error squared (``metric="mse"``) or absolute (``metric="l1"``). Tasks provide ``metric`` and
    ``scale``."""

    def dim_error(self, guess: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Unscaled per-dimension error: squared (mse) or absolute (l1), shape ``(..., dims)``.

        Example
        -------
        >>> GuessingGame(n=2).dim_error(torch.zeros(1, 2), torch.tensor([[0.5, -1.0]]))
        tensor([[0.2500, 1.0000]])
        """
        diff = guess - target
        return diff * diff if self.metric == "mse" else diff.abs()

    def feedback(self, guess: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The one scalar per task that the experts receive, shape ``(...)``.

        Example
        -------
        >>> GuessingGame(n=2).feedback(torch.zeros(1, 2), torch.tensor([[0.5, -1.0]]))
        tensor([1.8750])
        """
        return self.scale * self.dim_error(guess, target).mean(dim=-1)


def sine_grid(m: int) -> torch.Tensor:
    """The sample positions ``x_i = 2 pi i / m``, ``i = 0..m-1`` (float64).

    Example
    -------
    >>> sine_grid(4).tolist()[1]
    1.5707963267948966
    """
    return 2 * torch.pi * torch.arange(m, dtype=torch.float64) / m


#: How the phase of a sine-sum task enters its formula (:func:`sine_sum`); the study's text
#: lost the formula, and these are its readings.
PHASE_MODES = ("shared", "shift", "per_frequency")


def sine_sum(frequencies, m: int, phase: torch.Tensor, mode: str = "shared") -> torch.Tensor:
    """The sine-sum targets, the one definition of the formula, on :func:`sine_grid`, float64:

    * ``"shared"``: ``y_i = sum_k sin(k x_i + phase)``, one phase added to every frequency;
    * ``"shift"``: ``y_i = sum_k sin(k (x_i + phase))``, the whole signal shifted in x (the
      phase of frequency k is k times the shift);
    * ``"per_frequency"``: ``y_i = sum_k sin(k x_i + phase_k)``, an independent phase per
      frequency (``phase`` then has one column per frequency).

    ``phase`` broadcasts against the grid (``(B, 1)``, or ``(B, K)`` per frequency, gives B
    targets).

    Example
    -------
    >>> sine_sum((1,), 4, torch.zeros(1, 1)).round(decimals=6).tolist()
    [[0.0, 1.0, 0.0, -1.0]]
    >>> a = sine_sum((1, 2), 8, torch.full((1, 1), 0.3), "shift")
    >>> b = sine_sum((1, 2), 8, torch.tensor([[0.3, 0.6]]), "per_frequency")
    >>> bool(torch.allclose(a, b))
    True
    """
    check_choice("sine_sum", "mode", mode, PHASE_MODES)
    grid = sine_grid(m)
    if mode == "shared":
        return sum(torch.sin(k * grid + phase) for k in frequencies)
    if mode == "shift":
        return sum(torch.sin(k * (grid + phase)) for k in frequencies)
    if phase.shape[-1] not in (1, len(frequencies)):
        raise ValueError(f"sine_sum: phase has {phase.shape[-1]} columns; mode 'per_frequency' needs one per "
                         f"frequency ({len(frequencies)}) or one for all")
    return sum(torch.sin(k * grid + phase[..., j:j + 1] if phase.shape[-1] > 1 else k * grid + phase)
               for j, k in enumerate(frequencies))


#: Expected error of one guessing-game dimension guessed 0 (targets uniform in [-1, 1]).
DIM_ZEROS_LEVEL = {"mse": 1.0 / 3.0, "l1": 0.5}


@register_kind
@dataclass(frozen=True)
class GuessingGame(ScalarFeedback):
    """Guess N numbers drawn uniformly from [-1, 1]; the feedback is one scaled error per task.

    With ``metric="mse"`` a guess scores ``scale * mean((guess - target)^2)``; the default
    scale 3 puts the all-zeros guess at 1.0 on average (E[t^2] = 1/3), as in GoodAI's
    badger-2019 code. ``metric="l1"`` scores ``scale * mean(|guess - target|)`` with default
    scale 2 (E|t| = 1/2), so zeros again sit at 1.0.

    Example
    -------
    >>> GuessingGame(n=20).zeros_level
    1.0
    >>> GuessingGame(n=2, metric="l1").scale
    2.0
    >>> GuessingGame(n=0)
    Traceback (most recent call last):
    ...
    ValueError: GuessingGame.n = 0: must be an integer in [1, 100000]
    """

    kind: ClassVar[str] = "guessing_game"
    role: ClassVar[str] = "task"
    n: int = 3
    metric: str = "mse"
    scale: float | None = None

    def __post_init__(self):
        check_int("GuessingGame", "n", self.n, 1, 100_000)
        check_choice("GuessingGame", "metric", self.metric, ("mse", "l1"))
        if self.scale is None:
            object.__setattr__(self, "scale", 3.0 if self.metric == "mse" else 2.0)
        check_float("GuessingGame", "scale", self.scale, 0.0, 1e6, lo_open=True)
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def dims(self) -> int:
        """Numbers in one guess."""
        return self.n

    @property
    def dim_zeros_level(self) -> float:
        """Expected unscaled error of one dimension guessed 0: E[t^2] = 1/3 (mse), E|t| = 1/2 (l1).

        Example
        -------
        >>> GuessingGame(metric="l1").dim_zeros_level
        0.5
        """
        return DIM_ZEROS_LEVEL[self.metric]

    @property
    def zeros_level(self) -> float:
        """Expected feedback of the all-zeros guess (1.0 with the default scales)."""
        return self.scale * self.dim_zeros_level

    def sample_targets(self, batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float32,
                       device: str | torch.device = "cpu") -> torch.Tensor:
        """``(batch, n)`` targets uniform in [-1, 1], drawn from ``generator`` (on the CPU, so a
        seed gives the same tasks on every device).

        Example
        -------
        >>> GuessingGame(n=2).sample_targets(3, torch.Generator().manual_seed(1)).abs().max() <= 1
        tensor(True)
        """
        u = torch.rand(batch, self.n, generator=generator, dtype=torch.float64)
        return (2.0 * u - 1.0).to(dtype=dtype, device=device)


@register_kind
@dataclass(frozen=True)
class SineSumGame(ScalarFeedback):
    """Guess M samples of a sum of sinusoids with one random phase per task:
    ``y_i = sum_k sin(k x_i + phi)``, ``x_i = 2 pi i / M``, ``i = 0..M-1``.

    Every frequency k sits exactly on DFT bin k, so how well each frequency is learned can be
    read off the DFT of a guess (:mod:`badgerlib.analysis.spectral`). This reconstructs the
    study's F-principle task, whose exact formula was lost from its text.

    The feedback is ``scale * mean((g - y)^2)`` with default scale ``2 / len(frequencies)``, so
    that the all-zeros guess scores 1 (each unit sinusoid has mean square 1/2). With
    ``phase`` set, every task has that phase: one fixed target, as in supervised fitting (with
    ``phase_mode="per_frequency"`` it may be one phase per frequency, a tuple).
    ``phase_mode`` says how the phase enters (:data:`PHASE_MODES`, :func:`sine_sum`):
    ``"shared"`` (the default, the formula above: every target of a game lies in one plane,
    spanned by the sum of sines and the sum of cosines), ``"shift"`` (the signal shifted in x)
    or ``"per_frequency"`` (an independent phase per frequency, drawn per task).

    Example
    -------
    >>> game = SineSumGame(m=11, frequencies=(1, 2))
    >>> y = game.sample_targets(4, torch.Generator().manual_seed(0))
    >>> y.shape, float(game.feedback(torch.zeros_like(y), y).mean())
    (torch.Size([4, 11]), 1.0)
    >>> SineSumGame(m=8, frequencies=(4,))
    Traceback (most recent call last):
    ...
    ValueError: SineSumGame.frequencies = (4,): must be distinct integers in [1, 3] (below m/2 = 4.0)
    """

    kind: ClassVar[str] = "sine_sum_game"
    role: ClassVar[str] = "task"
    m: int = 41
    frequencies: tuple[int, ...] = (1, 2, 3, 4, 5)
    phase: float | tuple[float, ...] | None = None
    metric: str = "mse"
    scale: float | None = None
    phase_mode: str = "shared"

    def __post_init__(self):
        check_int("SineSumGame", "m", self.m, 3, 100_000)
        freqs = tuple(self.frequencies) if isinstance(self.frequencies, (list, tuple)) else self.frequencies
        top = (self.m - 1) // 2
        if (not isinstance(freqs, tuple) or not freqs or len(set(freqs)) != len(freqs)
                or not all(isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= top for k in freqs)):
            raise ValueError(f"SineSumGame.frequencies = {self.frequencies!r}: must be distinct integers in "
                             f"[1, {top}] (below m/2 = {self.m / 2})")
        object.__setattr__(self, "frequencies", freqs)
        check_choice("SineSumGame", "metric", self.metric, ("mse", "l1"))
        check_choice("SineSumGame", "phase_mode", self.phase_mode, PHASE_MODES)
        if isinstance(self.phase, (list, tuple)):
            if self.phase_mode != "per_frequency" or len(self.phase) != len(freqs):
                raise ValueError(f"SineSumGame.phase = {self.phase!r}: one phase per frequency is allowed only "
                                 f"with phase_mode 'per_frequency' and {len(freqs)} phases (phase_mode is "
                                 f"{self.phase_mode!r}); otherwise give one number")
            object.__setattr__(self, "phase", tuple(check_float("SineSumGame", f"phase[{j}]", p, -1e6, 1e6)
                                                    for j, p in enumerate(self.phase)))
        elif self.phase is not None:
            check_float("SineSumGame", "phase", self.phase, -1e6, 1e6)
        if self.scale is None:
            object.__setattr__(self, "scale", 2.0 / len(freqs) if self.metric == "mse" else 1.0)
        check_float("SineSumGame", "scale", self.scale, 0.0, 1e6, lo_open=True)
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def dims(self) -> int:
        """Numbers in one guess (M)."""
        return self.m

    @property
    def grid(self) -> torch.Tensor:
        """The sample positions ``x_i = 2 pi i / M`` (float64)."""
        return sine_grid(self.m)

    @property
    def zeros_level(self) -> float:
        """Feedback of the all-zeros guess (1.0 with the default mse scale)."""
        if self.metric == "mse":
            return self.scale * len(self.frequencies) / 2.0
        # l1: measured on a fine grid of phases (a fixed draw of them per frequency), since
        # mean |sum of sines| has no simple form
        if self.phase_mode == "per_frequency":
            phases = 2 * torch.pi * torch.rand(4096, len(self.frequencies), generator=torch.Generator().manual_seed(0),
                                               dtype=torch.float64)
        else:
            phases = torch.linspace(0, 2 * torch.pi, 257, dtype=torch.float64)[:-1, None]
        return float(self.scale * sine_sum(self.frequencies, self.m, phases, self.phase_mode).abs().mean())

    def sample_targets(self, batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float32,
                       device: str | torch.device = "cpu") -> torch.Tensor:
        """``(batch, m)`` targets; the phase is uniform in [0, 2 pi) per task unless fixed.

        Example
        -------
        >>> g = SineSumGame(m=5, frequencies=(1,), phase=0.0)
        >>> g.sample_targets(1, torch.Generator()).round(decimals=3)
        tensor([[ 0.0000,  0.9510,  0.5880, -0.5880, -0.9510]])
        >>> g = SineSumGame(m=5, frequencies=(1, 2), phase=(0.0, 0.5), phase_mode="per_frequency")
        >>> g.sample_targets(3, torch.Generator()).unique(dim=0).shape      # one fixed target
        torch.Size([1, 5])
        """
        columns = len(self.frequencies) if self.phase_mode == "per_frequency" else 1
        if self.phase is None:
            phi = 2 * torch.pi * torch.rand(batch, columns, generator=generator, dtype=torch.float64)
        else:
            fixed = self.phase if isinstance(self.phase, tuple) else (float(self.phase),)
            phi = torch.tensor(fixed, dtype=torch.float64).expand(batch, len(fixed))
        return sine_sum(self.frequencies, self.m, phi, self.phase_mode).to(dtype=dtype, device=device)
