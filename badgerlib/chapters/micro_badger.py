"""Chapter 1, Micro-Badger plays the guessing game: one agent trained on N = 3, then watched
playing tasks it has never seen.

The chapter's one run is :func:`configs` ``["agent"]``; :func:`expert_graph` is that run's
graph and :func:`play_summary` reads the trained agent's feedback on fresh tasks.

Every hyperparameter is an assumption (the study did not publish Micro-Badger's): they are
named in :class:`Sizes` and shown in the chapter's setup section.

Example
-------
>>> cfg, = configs(True)["agent"]
>>> cfg.task.n, cfg.model.experts, cfg.iterations
(3, 8, 3000)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from badgerlib import topology
from badgerlib.checks import check_array
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame


@dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (quick or full) of chapter 1.

    Fields
    ------
    n: numbers to guess (N).
    experts: experts E.
    links: out-links per expert in the random graph.
    hidden: hidden state size H of the shared cell.
    inner_steps: guesses per task after the given all-zeros guess.
    batch: tasks per outer iteration.
    lr: Adam learning rate.
    iterations: outer iterations.
    eval_tasks: fresh tasks the trained agent plays.

    Example
    -------
    >>> QUICK.iterations, FULL.iterations, FULL.eval_tasks
    (3000, 20000, 10000)
    """

    n: int = 3
    experts: int = 8
    links: int = 3
    hidden: int = 32
    inner_steps: int = 10
    batch: int = 32
    lr: float = 1e-3
    iterations: int = 3000
    eval_tasks: int = 1000


#: Quick mode: trains in well under a minute on 2 cores and the agent still learns the game.
QUICK = Sizes()

#: Full mode: longer training, more evaluation tasks.
FULL = Sizes(iterations=20000, eval_tasks=10000)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).eval_tasks
    10000
    """
    if not isinstance(quick, (bool, np.bool_)):
        raise ValueError(f"quick = {quick!r}: must be True or False")
    return QUICK if quick else FULL


def configs(quick: bool = True, seed: int = 0) -> dict[str, list[RunConfig]]:
    """The chapter's runs: ``"agent"``, the one Micro-Badger it trains and watches (seed
    ``seed``; the loss is averaged over the inner steps, the gradient clipped at norm 1, the
    other fields at their defaults).

    Example
    -------
    >>> from badgerlib.store import config_hash
    >>> config_hash(configs(True)["agent"][0]), config_hash(configs(False)["agent"][0])
    ('ce4e6645ae51fdda', 'b4aca771307823ca')
    """
    size = sizes(quick)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be an integer >= 0")
    config = RunConfig(
        task=GuessingGame(n=size.n),
        model=MicroBadgerConfig(experts=size.experts, hidden=size.hidden, links=size.links),
        inner_steps=size.inner_steps, iterations=size.iterations, batch=size.batch, lr=size.lr, seed=int(seed),
    )
    return {"agent": [config]}


def expert_graph(config: RunConfig) -> np.ndarray:
    """The expert graph of a Micro-Badger run (``A[i, j] = 1``: j sends to i), the one its
    model is built with.

    Example
    -------
    >>> A = expert_graph(configs(True)["agent"][0])
    >>> A.shape, A.sum(axis=0).tolist()
    ((8, 8), [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    """
    model = config.model
    return topology.build(model.topology, model.experts, model.links, config.seed)


@dataclass(frozen=True)
class PlaySummary:
    """How a trained agent plays fresh tasks.

    per_step: mean feedback of each inner step over the tasks (step 0: the all-zeros guess).
    zeros_level: the task's "guess zeros" level.

    Example
    -------
    >>> p = PlaySummary(np.array([1.0, 0.5, 0.05, 0.02]), zeros_level=1.0)
    >>> round(float(p.final_error), 3), round(float(p.final_percent), 1), p.steps_to(0.1), p.steps_to(0.01)
    (0.02, 2.0, 2, None)
    """

    per_step: np.ndarray
    zeros_level: float

    @property
    def final_error(self):
        """Mean feedback of the last guess."""
        return self.per_step[-1]

    @property
    def final_percent(self):
        """:attr:`final_error` in % of the zeros level."""
        return 100 * self.final_error / self.zeros_level

    def steps_to(self, fraction: float) -> int | None:
        """The first inner step whose mean feedback is below ``fraction`` of the zeros level
        (None if none is)."""
        below = self.per_step < fraction * self.zeros_level
        return int(np.argmax(below)) if below.any() else None


def play_summary(feedback, zeros_level: float) -> PlaySummary:
    """:class:`PlaySummary` of the feedback ``(tasks, steps + 1)`` of a rollout.

    Example
    -------
    >>> p = play_summary(np.array([[1.0, 0.2, 0.0], [1.0, 0.4, 0.1]]), zeros_level=1.0)
    >>> p.per_step.round(2).tolist(), p.steps_to(0.1)
    ([1.0, 0.3, 0.05], 2)
    """
    check_array(feedback, "play_summary", "feedback", ndim=2)
    # averaged in the feedback's own dtype (float32 for a float32 run), as chapter 1 always has
    return PlaySummary(np.asarray(feedback).mean(axis=0), zeros_level)
