"""A transiently chaotic Badger: Micro-Badger's experts and graph with the transiently chaotic
neuron of Chen & Aihara (1995) as the shared cell, the study's second failed try ("very
difficult to make it converge in the end").

Each expert's internal state ``y`` (H units) and output ``x = sigmoid(y / eps)`` follow

    y(t+1) = k y(t) + alpha (W x(t) + I(t)) - z(t) (x(t) - I0),    z(t+1) = (1 - beta) z(t),

where ``I(t)`` is what the expert receives (the mean message of its in-neighbours and the
features of the feedback with the last guess, through learned weights, as in Micro-Badger) and
``z`` is the self-feedback that makes the dynamics chaotic at first and anneals away, step by
inner step. The experts share every weight; messages and the readout are taken from ``x``.
The constants default to Chen & Aihara's (k = 0.9, alpha = 0.015, I0 = 0.65, z0 = 0.08,
beta = 0.001), except ``eps``: their 1/250 is a steepness for fixed weights, which learned
weights can absorb; 1 keeps gradients finite at initialisation. With beta = 0.001 the
self-feedback barely decays over an inner loop of 10 or 24 steps; a larger beta anneals it
within the loop.

Example
-------
>>> import torch
>>> from badgerlib import GuessingGame
>>> m = ChaoticBadger(ChaoticBadgerConfig(experts=3, hidden=4), dims=2)
>>> r = m.rollout(GuessingGame(n=2), torch.zeros(5, 2), steps=3, record=True)
>>> r.guesses.shape, r.hidden.shape
(torch.Size([5, 4, 2]), torch.Size([5, 4, 3, 4]))
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from badgerlib import topology
from badgerlib.checks import check_float, register_kind
from badgerlib.config import ExpertGraph
from badgerlib.model import InnerLoopModel, feedback_features


@register_kind
@dataclass(frozen=True)
class ChaoticBadgerConfig(ExpertGraph):
    """The transiently chaotic Badger: the experts and their graph as Micro-Badger's
    (:class:`badgerlib.config.ExpertGraph`), the initial-state noise, and the neuron's
    constants (see the module docstring).

    Example
    -------
    >>> ChaoticBadgerConfig(beta=1.5)
    Traceback (most recent call last):
    ...
    ValueError: ChaoticBadgerConfig.beta = 1.5: must be a number in [0.0, 1.0]
    """

    kind: ClassVar[str] = "chaotic_badger"
    role: ClassVar[str] = "model"
    init_noise: float = 0.1
    k: float = 0.9
    alpha: float = 0.015
    i0: float = 0.65
    z0: float = 0.08
    beta: float = 0.001
    eps: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        owner = type(self).__name__
        check_float(owner, "init_noise", self.init_noise, 0.0, 10.0)
        check_float(owner, "k", self.k, 0.0, 1.0)
        check_float(owner, "alpha", self.alpha, 0.0, 100.0)
        check_float(owner, "i0", self.i0, -10.0, 10.0)
        check_float(owner, "z0", self.z0, 0.0, 10.0)
        check_float(owner, "beta", self.beta, 0.0, 1.0)
        check_float(owner, "eps", self.eps, 1e-6, 100.0)


class ChaoticBadger(InnerLoopModel):
    """The transiently chaotic Badger (module docstring). Its state is ``(y, z)``: the
    experts' internal states ``(B, E, H)`` and the self-feedback ``(B, 1, 1)``; a recording
    keeps ``y``.

    Example
    -------
    >>> m = ChaoticBadger(ChaoticBadgerConfig(experts=2, hidden=3, z0=0.5, beta=0.5), dims=1)
    >>> y, z = m.initial_state(4)
    >>> y.shape, float(z[0, 0, 0])
    (torch.Size([4, 2, 3]), 0.5)
    >>> (y2, z2), guess, out = m.act((y, z), torch.ones(4), torch.ones(4), torch.zeros(4, 1))
    >>> float(z2[0, 0, 0]), guess.shape, out.shape
    (0.25, torch.Size([4, 1]), torch.Size([4, 2, 1]))
    """

    ensemble_exact = True

    def __init__(self, config: ChaoticBadgerConfig, dims: int, seed: int = 0):
        super().__init__()
        self.config, self.dims = config, dims
        E, H, M = config.experts, config.hidden, config.message
        adjacency = np.asarray(topology.build(config.topology, E, config.links, seed), dtype=float)
        self.register_buffer("adjacency", torch.tensor(adjacency, dtype=torch.float32))
        self.register_buffer("indegree", self.adjacency.sum(dim=1, keepdim=True).clamp(min=1.0))
        bound = 1.0 / math.sqrt(H)

        def param(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.w_task = param(H, len(config.features) + dims)
        self.w_msg_in = param(H, M)
        self.b_in = param(H)
        self.w_hh = param(H, H)
        self.w_msg = param(M, H)
        self.b_msg = param(M)
        self.w_out = param(dims, H)
        self.b_out = param(dims)
        self.h0 = param(H)

    def initial_noise(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(batch, E, H)`` standard Gaussian noise for the initial states, drawn on the CPU in
        float64 from ``generator`` (as Micro-Badger draws it), in the model's dtype."""
        E, H = self.config.experts, self.config.hidden
        noise = torch.randn(batch, E, H, generator=generator, dtype=torch.float64)
        return noise.to(dtype=self.h0.dtype, device=self.h0.device)

    def initial_state(self, batch: int, generator: torch.Generator | None = None,
                      noise: torch.Tensor | None = None):
        E, H = self.config.experts, self.config.hidden
        noise = self.initial_noise(batch, generator) if noise is None else noise
        y = self.h0.expand(batch, E, H) + self.config.init_noise * noise
        return y, self.h0.new_full((batch, 1, 1), self.config.z0)

    def recorded_state(self, state) -> torch.Tensor:
        return state[0]

    def output(self, y: torch.Tensor) -> torch.Tensor:
        """The neurons' outputs ``x = sigmoid(y / eps)``."""
        return torch.sigmoid(y / self.config.eps)

    def act(self, state, f: torch.Tensor, f_prev: torch.Tensor, guess: torch.Tensor):
        c = self.config
        y, z = state
        x = self.output(y)
        messages = x @ self.w_msg.T + self.b_msg                                 # (B, E, M)
        received = torch.matmul(self.adjacency, messages) / self.indegree
        task_input = torch.cat([feedback_features(f, f_prev, c.features), guess], dim=-1)
        drive = (x @ self.w_hh.T + received @ self.w_msg_in.T
                 + (task_input @ self.w_task.T + self.b_in).unsqueeze(1))        # W x + I: (B, E, H)
        y = c.k * y + c.alpha * drive - z * (x - c.i0)
        z = (1.0 - c.beta) * z
        out = self.output(y) @ self.w_out.T + self.b_out                         # (B, E, N)
        return (y, z), out.mean(dim=1), out
