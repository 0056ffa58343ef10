"""LSTM baselines the study compares Micro-Badger with, trained by the same ``train``.

- :class:`LSTMMetaLearner`: one LSTM that sees only (features of) the scalar feedback at every
  inner step and emits the next guess; optionally the feedback is quantised into bins first
  (the study's "quantised error" meta-learner).
- :class:`SupervisedLSTM`: an LSTM that reads the sample positions of a sequence and outputs
  its values, fitted by gradient descent to a fixed target (a task with a fixed phase, one
  inner step): plain supervised learning, the F-principle's home ground.

Both have the model interface ``train`` relies on (``initial_state`` and ``rollout``), so runs
of either get the same store, history, snapshots, progress bar and checkpoints. Their hidden
state is recorded as one "expert".

Example
-------
>>> import torch
>>> from badgerlib.tasks import GuessingGame
>>> game = GuessingGame(n=3)
>>> model = LSTMMetaLearner(LSTMMetaLearnerConfig(hidden=8, quantise_bins=12), dims=3)
>>> gen = torch.Generator().manual_seed(0)
>>> model.rollout(game, game.sample_targets(2, gen), steps=4, record=True).hidden.shape
torch.Size([2, 5, 1, 8])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from badgerlib.checks import FEATURES, check_features, check_int, register_kind
from badgerlib.model import InnerLoopModel, Rollout, feedback_features

#: Log-spaced range the quantised feedback is binned over (the zeros level is 1).
QUANTISE_RANGE = (1e-3, 2.0)


def quantise(f: torch.Tensor, bins: int) -> torch.Tensor:
    """One-hot bin of each feedback value, ``(..., bins)``: ``bins`` log-spaced bins over
    [1e-3, 2], the outer ones open-ended.

    Example
    -------
    >>> quantise(torch.tensor([1e-5, 1.0, 50.0]), 4).argmax(dim=-1).tolist()
    [0, 3, 3]
    """
    lo, hi = math.log(QUANTISE_RANGE[0]), math.log(QUANTISE_RANGE[1])
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)[1:-1].to(f.device)
    index = torch.bucketize(torch.log(f.detach().double().clamp_min(1e-30)), edges)
    return nn.functional.one_hot(index, bins).to(f.dtype)


@register_kind
@dataclass(frozen=True)
class LSTMMetaLearnerConfig:
    """An LSTM meta-learner: hidden size, input features, optional quantisation.

    ``quantise_bins = 0`` feeds the features of the feedback (as Micro-Badger gets them);
    ``quantise_bins = B > 1`` feeds only a one-hot of the feedback's bin (the study used 12).

    Example
    -------
    >>> LSTMMetaLearnerConfig(quantise_bins=1)
    Traceback (most recent call last):
    ...
    ValueError: LSTMMetaLearnerConfig.quantise_bins = 1: must be 0 (off) or an integer in [2, 1000]
    """

    kind: ClassVar[str] = "lstm_meta_learner"
    role: ClassVar[str] = "model"
    hidden: int = 64
    features: tuple[str, ...] = FEATURES
    quantise_bins: int = 0

    def __post_init__(self):
        check_int("LSTMMetaLearnerConfig", "hidden", self.hidden, 1, 4096)
        object.__setattr__(self, "features", check_features("LSTMMetaLearnerConfig", self.features))
        q = self.quantise_bins
        if isinstance(q, bool) or not isinstance(q, int) or not (q == 0 or 2 <= q <= 1000):
            raise ValueError(f"LSTMMetaLearnerConfig.quantise_bins = {q!r}: must be 0 (off) or an integer in [2, 1000]")


class LSTMMetaLearner(InnerLoopModel):
    """One LSTM cell; input: the feedback (features or quantised), output: the next guess.

    Example
    -------
    >>> m = LSTMMetaLearner(LSTMMetaLearnerConfig(hidden=4), dims=2)
    >>> m.initial_state(3).shape
    torch.Size([3, 1, 8])
    """

    def __init__(self, config: LSTMMetaLearnerConfig, dims: int):
        super().__init__()
        self.config, self.dims = config, dims
        inputs = config.quantise_bins or len(config.features)
        self.cell = nn.LSTMCell(inputs, config.hidden)
        self.readout = nn.Linear(config.hidden, dims)
        self.h0 = nn.Parameter(torch.zeros(2 * config.hidden))

    def initial_state(self, batch: int, generator: torch.Generator | None = None,
                      noise: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, 1, 2H)``: the learned initial (h, c), the same for every task (no noise)."""
        return self.h0.expand(batch, 1, 2 * self.config.hidden)

    def _input(self, f: torch.Tensor, f_prev: torch.Tensor) -> torch.Tensor:
        if self.config.quantise_bins:
            return quantise(f, self.config.quantise_bins)
        return feedback_features(f, f_prev, self.config.features)

    def recorded_state(self, state) -> torch.Tensor:
        """The LSTM's h (not c), as one expert: ``(B, 1, H)``."""
        if isinstance(state, tuple):
            return state[0].unsqueeze(1)
        return state[:, :, :self.config.hidden]

    def act(self, state, f: torch.Tensor, f_prev: torch.Tensor, guess: torch.Tensor):
        """One inner step (the skeleton is :meth:`badgerlib.model.InnerLoopModel.rollout`). The
        state starts as the ``(B, 1, 2H)`` tensor of :meth:`initial_state` and is carried as the
        pair ``(h, c)`` after that (splitting and joining it at every step costs a third of the
        LSTM's time)."""
        if not isinstance(state, tuple):
            H = self.config.hidden
            state = (state[:, 0, :H], state[:, 0, H:])
        h, c = self.cell(self._input(f, f_prev), state)
        guess = self.readout(h)
        return (h, c), guess, guess.unsqueeze(1)


@register_kind
@dataclass(frozen=True)
class SupervisedLSTMConfig:
    """A supervised sequence LSTM (train it with ``inner_steps=1`` on a task with a fixed target,
    e.g. ``SineSumGame(phase=0.0)``).

    Example
    -------
    >>> SupervisedLSTMConfig().hidden
    64
    """

    kind: ClassVar[str] = "supervised_lstm"
    role: ClassVar[str] = "model"
    hidden: int = 64

    def __post_init__(self):
        check_int("SupervisedLSTMConfig", "hidden", self.hidden, 1, 4096)


class SupervisedLSTM(nn.Module):
    """Reads the positions ``i / M`` of an M-sample sequence and outputs its M values. It never
    sees the feedback: the outer loop's gradient of the error is all it learns from.

    Example
    -------
    >>> from badgerlib.tasks import SineSumGame
    >>> game = SineSumGame(m=9, frequencies=(1, 2), phase=0.0)
    >>> m = SupervisedLSTM(SupervisedLSTMConfig(hidden=4), dims=9)
    >>> m.rollout(game, game.sample_targets(1, torch.Generator()), steps=1).guesses.shape
    torch.Size([1, 2, 9])
    """

    def __init__(self, config: SupervisedLSTMConfig, dims: int):
        super().__init__()
        self.config, self.dims = config, dims
        self.lstm = nn.LSTM(1, config.hidden, batch_first=True)
        self.readout = nn.Linear(config.hidden, 1)

    def initial_state(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Zeros ``(batch, 1, 2H)``: the LSTM starts every sequence from rest."""
        return self.readout.weight.new_zeros(batch, 1, 2 * self.config.hidden)

    def rollout(self, task, targets: torch.Tensor, steps: int, generator: torch.Generator | None = None,
                h_init: torch.Tensor | None = None, record: bool = False) -> Rollout:
        """Step 0 is the all-zeros guess; step 1 the LSTM's output. Needs ``steps == 1``."""
        if steps != 1:
            raise ValueError(f"SupervisedLSTM: inner_steps = {steps}: must be 1 (a supervised learner "
                             f"does not use feedback)")
        B, M = targets.shape
        positions = (torch.arange(M, dtype=targets.dtype, device=targets.device) / M).expand(B, M).unsqueeze(-1)
        seq, (h_last, _) = self.lstm(positions)
        guess = self.readout(seq).squeeze(-1)
        zeros = torch.zeros_like(targets)
        guesses = torch.stack([zeros, guess], dim=1)
        feedback = torch.stack([task.feedback(zeros, targets), task.feedback(guess, targets)], dim=1)
        hidden = None
        if record:
            h = h_last[-1]
            hidden = torch.stack([torch.zeros_like(h), h], dim=1).unsqueeze(2)
        return Rollout(guesses=guesses, feedback=feedback, targets=targets, hidden=hidden,
                       outputs=guesses.unsqueeze(2) if record else None)
