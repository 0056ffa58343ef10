"""Micro-Badger: E experts that share one gated recurrent cell and talk over a graph.

At inner step t every expert e of every task b sees
  * features of the scalar feedback of the previous guess (the error, its log, its change
    since the step before: which ones is ``MicroBadgerConfig.features``),
  * the previous guess itself (the same N numbers for all experts of a task),
  * the mean message of its in-neighbours in the expert graph,
updates its own hidden state with the shared cell, and emits a readout of N numbers. The
agent's guess is the mean readout over experts. The first guess is all zeros and its feedback
is given.

Everything is vectorised over tasks x experts: one matmul per gate group for the whole batch
and one matmul with the row-normalised adjacency for the messages; there is no Python loop
over experts (the tests check this against such a loop).

Example
-------
>>> import torch
>>> from badgerlib import MicroBadgerConfig, GuessingGame
>>> game = GuessingGame(n=3)
>>> model = MicroBadger(MicroBadgerConfig(experts=4, hidden=8), dims=3, seed=0)
>>> gen = torch.Generator().manual_seed(0)
>>> out = model.rollout(game, game.sample_targets(5, gen), steps=6, generator=gen)
>>> out.guesses.shape, out.feedback.shape
(torch.Size([5, 7, 3]), torch.Size([5, 7]))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from badgerlib import topology
from badgerlib.config import MicroBadgerConfig

#: Added inside the log feature so that a perfect guess (error 0) stays finite.
LOG_EPS = 1e-6


@dataclass
class Rollout:
    """What one inner-loop rollout produced. Steps are indexed 0..S, step 0 being the given
    all-zeros guess.

    guesses: ``(B, S+1, N)``; feedback: ``(B, S+1)``; hidden: ``(B, S+1, E, H)`` or None (step 0
    is the initial state); outputs: ``(B, S+1, E, N)`` or None (each expert's readout; step 0 is
    zeros, since the first guess is given, not computed); targets: ``(B, N)``, what was guessed.
    """

    guesses: torch.Tensor
    feedback: torch.Tensor
    targets: torch.Tensor
    hidden: torch.Tensor | None = None
    outputs: torch.Tensor | None = None


def feedback_features(f: torch.Tensor, f_prev: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """The scalar features an expert derives from the feedback, shape ``(B, len(names))``.

    Example
    -------
    >>> feedback_features(torch.tensor([1.0]), torch.tensor([2.0]), ("error", "delta_error"))
    tensor([[ 1., -1.]])

    Feedback per dimension ``(B, N)`` gives every feature of every dimension, ``(B, N x
    len(names))``, dimension by dimension:

    >>> feedback_features(torch.tensor([[1.0, 3.0]]), torch.tensor([[2.0, 3.0]]), ("error", "delta_error"))
    tensor([[ 1., -1.,  3.,  0.]])
    """
    columns = []
    for name in names:
        if name == "error":
            columns.append(f)
        elif name == "log_error":
            columns.append(torch.log(f + LOG_EPS))
        elif name == "delta_error":
            columns.append(f - f_prev)
        else:  # config validation makes this unreachable; keep the error explicit anyway
            raise ValueError(f"feature = {name!r}: unknown")
    return torch.stack(columns, dim=-1).flatten(1)


class InnerLoopModel(nn.Module):
    """The inner loop every model family shares: start from a state and the all-zeros guess,
    then at each step hand the feedback of the last guess to :meth:`act`, which returns the new
    state, the next guess and every expert's readout. A family defines ``initial_state``,
    ``act`` and, if its state is not ``(B, E, H)`` already, ``recorded_state`` (what a snapshot
    keeps of it).

    Example
    -------
    >>> class Echo(InnerLoopModel):          # a toy family: guesses the feedback everywhere
    ...     dims = 2
    ...     def initial_state(self, batch, generator=None):
    ...         return torch.zeros(batch, 1, 1)
    ...     def act(self, state, f, f_prev, guess):
    ...         out = f[:, None, None].expand(-1, 1, self.dims)
    ...         return state, out.mean(dim=1), out
    >>> from badgerlib import GuessingGame
    >>> Echo().rollout(GuessingGame(n=2), torch.ones(3, 2), steps=2).guesses[0].tolist()
    [[0.0, 0.0], [3.0, 3.0], [12.0, 12.0]]
    """

    #: Whether a seed of this family trained inside a vmapped ensemble (:mod:`badgerlib.ensemble`)
    #: gets bit-identical numbers to the seed trained alone on the CPU (tested per family). An
    #: LSTM cell under vmap takes another kernel path, so the LSTM family is not.
    ensemble_exact: bool = False

    def recorded_state(self, state: torch.Tensor) -> torch.Tensor:
        """The part of the state a recording keeps, ``(B, E, H)``."""
        return state

    def observe(self, task, guess: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> torch.Tensor:
        """What :meth:`act` receives of a guess's outcome: the scalar ``feedback`` (the
        default); a family that sees more (Micro-Badger with ``vector_feedback``) returns it."""
        return feedback

    def initial_noise(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The random part of the initial states, drawn from ``generator`` (none by default:
        ``(batch, 0)``); :meth:`initial_state` takes it as ``noise``."""
        like = next(self.parameters(), None)
        return torch.zeros(batch, 0) if like is None else like.new_zeros(batch, 0)

    def forward(self, task, targets: torch.Tensor, steps: int, noise: torch.Tensor):
        """The inner loop from the initial states made with ``noise`` (:meth:`initial_noise`),
        returning ``(guesses, feedback)``: the form ``torch.func`` transforms need (no random
        draws inside, tensors out), e.g. to train many seeds at once
        (:mod:`badgerlib.ensemble`). Same numbers as :meth:`rollout` given the same draws."""
        r = self.rollout(task, targets, steps, h_init=self.initial_state(targets.shape[0], noise=noise))
        return r.guesses, r.feedback

    def rollout(self, task, targets: torch.Tensor, steps: int, generator: torch.Generator | None = None,
                h_init: torch.Tensor | None = None, record: bool = False) -> Rollout:
        """Run the inner loop for ``steps`` guesses on ``targets`` ``(B, N)``.

        ``h_init`` replaces the initial state (to relabel experts, say). With ``record`` the
        states and the experts' readouts of every step are kept too (step 0: the initial state
        and zeros, since the first guess is given, not computed).

        Example
        -------
        >>> from badgerlib import GuessingGame
        >>> game = GuessingGame(n=2)
        >>> m = MicroBadger(MicroBadgerConfig(experts=3, hidden=4), dims=2)
        >>> r = m.rollout(game, torch.zeros(1, 2), steps=3, record=True)
        >>> r.hidden.shape, r.outputs.shape
        (torch.Size([1, 4, 3, 4]), torch.Size([1, 4, 3, 2]))
        """
        B = targets.shape[0]
        state = self.initial_state(B, generator) if h_init is None else h_init
        guess = torch.zeros_like(targets)
        f = task.feedback(guess, targets)
        seen = self.observe(task, guess, targets, f)
        seen_prev = seen
        guesses, feedback, hidden, outputs = [guess], [f], [], []
        if record:
            h = self.recorded_state(state)
            hidden.append(h)
            outputs.append(torch.zeros(B, h.shape[1], targets.shape[-1], dtype=h.dtype, device=h.device))
        for _ in range(steps):
            state, guess, out = self.act(state, seen, seen_prev, guess)
            f = task.feedback(guess, targets)
            seen_prev, seen = seen, self.observe(task, guess, targets, f)
            guesses.append(guess)
            feedback.append(f)
            if record:
                hidden.append(self.recorded_state(state))
                outputs.append(out)
        return Rollout(
            guesses=torch.stack(guesses, dim=1),
            feedback=torch.stack(feedback, dim=1),
            targets=targets,
            hidden=torch.stack(hidden, dim=1) if record else None,
            outputs=torch.stack(outputs, dim=1) if record else None,
        )


class MicroBadger(InnerLoopModel):
    """E experts with one shared GRU-style cell, message and readout layers.

    Parameters
    ----------
    config: the architecture.
    dims: numbers per guess (the task's ``dims``).
    seed: draws the random graph (when ``config.topology == "random"``).
    adjacency: an explicit (E, E) graph, ``A[i, j] = 1`` when j sends to i; overrides the
        config's topology (used to relabel experts or to study other graphs).

    Example
    -------
    >>> m = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, topology="ring"), dims=2)
    >>> m.adjacency.tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """

    @property
    def ensemble_exact(self) -> bool:
        """Exact under vmap (tests/test_ensemble.py), except the per-expert readout, whose einsum
        takes another kernel path when batched over seeds."""
        return not self.config.per_expert_readout

    def __init__(self, config: MicroBadgerConfig, dims: int, seed: int = 0, adjacency: np.ndarray | None = None):
        super().__init__()
        self.config = config
        self.dims = dims
        E, H, M = config.experts, config.hidden, config.message
        if adjacency is None:
            adjacency = topology.build(config.topology, E, config.links, seed)
        adjacency = np.asarray(adjacency, dtype=float)
        if adjacency.shape != (E, E):
            raise ValueError(f"adjacency shape = {adjacency.shape}: must be ({E}, {E}) for {E} experts")
        self.register_buffer("adjacency", torch.tensor(adjacency, dtype=torch.float32))
        # The mean over in-neighbours is taken as (A @ messages) / in-degree: 0/1 entries and
        # integer degrees are exact in every dtype (a pre-divided float32 matrix would not be).
        self.register_buffer("indegree", self.adjacency.sum(dim=1, keepdim=True).clamp(min=1.0))

        task_inputs = len(config.features) * (dims if config.vector_feedback else 1) + dims
        bound = config.init_scale / math.sqrt(H)      # 1 / sqrt(H) by default, as before

        def param(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        # Gate pre-activations are split by source: the task part (feedback features and the
        # previous guess) is the same for every expert of a task, so it is computed once per
        # task and broadcast, instead of once per expert.
        self.w_task = param(3 * H, task_inputs)
        self.w_msg_in = param(3 * H, M)
        self.b_in = param(3 * H)
        self.w_hh = param(3 * H, H)
        self.b_hh = param(3 * H)
        self.w_msg = param(M, H)
        self.b_msg = param(M)
        if config.per_expert_readout:
            self.w_out = param(E, dims, H)
            self.b_out = param(E, dims)
        else:
            self.w_out = param(dims, H)
            self.b_out = param(dims)
        self.h0 = param(H)
        if config.expert_ids:
            # made last, so that an agent without IDs draws its other weights exactly as before
            self.w_id = param(3 * H, config.expert_ids)
        if config.multiplicative:
            # made after everything else, for the same reason
            self.w_mod = param(H, task_inputs)
            self.b_mod = param(H)

    # -- pieces -------------------------------------------------------------------------------
    def initial_noise(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(batch, E, H + K)`` standard Gaussian noise for the initial states (the first H) and
        the experts' random IDs (the last K = ``expert_ids``, none by default), drawn on the CPU
        from ``generator`` (so a seed gives the same noise on every device), in the model's dtype.

        Example
        -------
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=1)
        >>> m.initial_noise(4, torch.Generator().manual_seed(0)).shape
        torch.Size([4, 2, 3])
        """
        E, H, K = self.config.experts, self.config.hidden, self.config.expert_ids
        noise = torch.randn(batch, E, H + K, generator=generator, dtype=torch.float64)
        return noise.to(dtype=self.h0.dtype, device=self.h0.device)

    def initial_state(self, batch: int, generator: torch.Generator | None = None,
                      noise: torch.Tensor | None = None):
        """``(batch, E, H)``: the learned initial state plus per-expert noise of size
        ``init_noise`` (:meth:`initial_noise` from ``generator`` unless ``noise`` is given).
        With ``expert_ids`` the state is the pair ``(hidden, ids)``, ids ``(batch, E, K)``.

        Example
        -------
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=1)
        >>> m.initial_state(4, torch.Generator().manual_seed(0)).shape
        torch.Size([4, 2, 3])
        >>> h, ids = MicroBadger(MicroBadgerConfig(experts=2, hidden=3, expert_ids=5), dims=1).initial_state(4)
        >>> h.shape, ids.shape
        (torch.Size([4, 2, 3]), torch.Size([4, 2, 5]))
        """
        E, H = self.config.experts, self.config.hidden
        noise = self.initial_noise(batch, generator) if noise is None else noise
        h = self.h0.expand(batch, E, H) + self.config.init_noise * noise[..., :H]
        return (h, noise[..., H:]) if self.config.expert_ids else h

    def recorded_state(self, state) -> torch.Tensor:
        """The hidden states ``(B, E, H)`` (without the IDs, when the state carries them)."""
        return state[0] if isinstance(state, tuple) else state

    def observe(self, task, guess: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> torch.Tensor:
        """The scalar ``feedback``, or with ``vector_feedback`` every dimension's share of it
        scaled up, ``(B, N)``: ``scale`` times each dimension's error (their mean is the
        scalar feedback).

        Example
        -------
        >>> from badgerlib import GuessingGame
        >>> game = GuessingGame(n=2)
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3, vector_feedback=True), dims=2)
        >>> seen = m.observe(game, torch.zeros(1, 2), torch.tensor([[0.5, -1.0]]), None)
        >>> seen.shape, bool(torch.isclose(seen.mean(), game.feedback(torch.zeros(1, 2), torch.tensor([[0.5, -1.0]]))[0]))
        (torch.Size([1, 2]), True)
        """
        if not self.config.vector_feedback:
            return feedback
        return task.scale * task.dim_error(guess, targets)

    def step(self, h: torch.Tensor, task_input: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """One inner step of all experts: messages, the shared cell, the new hidden state.

        ``h``: ``(B, E, H)``; ``task_input``: ``(B, features + N)``; ``ids``: ``(B, E, K)``, the
        experts' random IDs (with ``expert_ids``).

        Example
        -------
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=1)
        >>> m.step(torch.zeros(4, 2, 3), torch.zeros(4, 4)).shape
        torch.Size([4, 2, 3])
        """
        if self.config.multiplicative:
            # each hidden unit scaled by a gain set by the task input (about 1 at initialisation)
            gain = 2.0 * torch.sigmoid(task_input @ self.w_mod.T + self.b_mod)  # (B, H)
            h_read = h * gain.unsqueeze(1)
        else:
            h_read = h
        messages = h_read @ self.w_msg.T + self.b_msg                 # (B, E, M)
        received = torch.matmul(self.adjacency, messages) / self.indegree  # (B, E, M): mean of in-neighbours
        gx = (received @ self.w_msg_in.T
              + (task_input @ self.w_task.T + self.b_in).unsqueeze(1))  # (B, E, 3H)
        if ids is not None:
            gx = gx + ids @ self.w_id.T                                # (B, E, 3H): each expert its own
        gh = h_read @ self.w_hh.T + self.b_hh                          # (B, E, 3H)
        x_r, x_z, x_n = gx.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        v = torch.tanh(x_n + r * h_n)
        gated = z * h + (1.0 - z) * v
        if self.config.exponential_update:
            # The study's variant: a leaky sum whose coefficients add to more than one.
            return 0.5 * h + 0.7 * gated
        return gated

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Each expert's output, ``(B, E, N)``.

        Example
        -------
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3, per_expert_readout=True), dims=4)
        >>> m.readout(torch.zeros(5, 2, 3)).shape
        torch.Size([5, 2, 4])
        """
        if self.config.per_expert_readout:
            return torch.einsum("beh,enh->ben", h, self.w_out) + self.b_out
        return h @ self.w_out.T + self.b_out

    # -- the inner loop (the skeleton is InnerLoopModel.rollout) ---------------------------------
    def act(self, h: torch.Tensor, f: torch.Tensor, f_prev: torch.Tensor, guess: torch.Tensor):
        """One inner step: features of the feedback and the previous guess in, the new states,
        the agent's guess (mean readout over experts) and every expert's readout out.

        Example
        -------
        >>> m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=1)
        >>> h, guess, out = m.act(torch.zeros(4, 2, 3), torch.ones(4), torch.ones(4), torch.zeros(4, 1))
        >>> guess.shape, out.shape
        (torch.Size([4, 1]), torch.Size([4, 2, 1]))
        """
        task_input = torch.cat([feedback_features(f, f_prev, self.config.features), guess], dim=-1)
        h, ids = h if isinstance(h, tuple) else (h, None)
        h = self.step(h, task_input, ids)
        out = self.readout(h)
        return (h if ids is None else (h, ids)), out.mean(dim=1), out
