"""Chapter 1, Micro-Badger plays the guessing game: one agent trained on N = 3, then watched
playing tasks it has never seen.

The chapter's one run is :func:`configs` ``["agent"]``; :func:`expert_graph` is that run's
graph, :func:`training_summary` reads its training curve (when it leaves the zeros plateau,
from when it is converged: the numbers the study's N = 3 run can be compared with),
:func:`play_summary` reads the trained agent's feedback on fresh tasks,
:func:`step_table` shows it per inner step and :func:`plot_view` draws one task at one inner
step (the chapter's explorer widget and its static figure).

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

import pandas as pd

from badgerlib import plots, topology
from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.chapters.phases import detect_plateaus
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
    >>> PlaySummary(np.array([1.0, 0.1, 0.01, 0.03]), zeros_level=1.0).best_step
    2
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

    @property
    def best_step(self) -> int:
        """The inner step with the lowest mean feedback (the first, on ties)."""
        return int(np.argmin(self.per_step))

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


def step_table(play: PlaySummary) -> pd.DataFrame:
    """The mean feedback of each inner step of :class:`PlaySummary` ``play``, formatted for
    the book: in units of the zeros level and in % of it.

    Example
    -------
    >>> step_table(PlaySummary(np.array([1.0, 0.25, 0.0123]), zeros_level=1.0)).values.tolist()
    [['0 (all zeros)', '1.0000', '100.0'], ['1', '0.2500', '25.0'], ['2', '0.0123', '1.2']]
    """
    if not isinstance(play, PlaySummary):
        raise ValueError(f"step_table: play must be a PlaySummary (from play_summary), "
                         f"got {type(play).__name__}")
    level = np.asarray(play.per_step, dtype=np.float64) / play.zeros_level
    steps = [str(k) for k in range(len(level))]
    steps[0] = "0 (all zeros)"
    return pd.DataFrame({"inner step": steps,
                         "mean feedback (zeros level = 1)": [f"{v:.4f}" for v in level],
                         "in % of the zeros level": [f"{100 * v:.1f}" for v in level]})


@dataclass(frozen=True)
class TrainingSummary:
    """When a run leaves the "guess zeros" plateau and from when it is converged.

    left_zeros: the iteration from which the error of the last guess, smoothed over 25
        iterations, stays below 0.9 of the zeros level for 100 iterations
        (:func:`badgerlib.analysis.dynamics.escape_iteration`); None if it never does.
    converged_from: the first iteration of the plateau the run ends on
        (:func:`badgerlib.chapters.phases.detect_plateaus`, chapter 2's detector), when
        less than half a dimension's worth of error is left on it; None otherwise.
    levels: the level of every plateau found, in dimensions' worth of error (level x N).
    """

    left_zeros: int | None
    converged_from: int | None
    levels: tuple


def training_summary(last_error, n: int, zeros_level: float = 1.0) -> TrainingSummary:
    """:class:`TrainingSummary` of the error of the last guess per outer iteration
    (``run.history["last_error"]``) of a run with ``n`` numbers to guess.

    Example
    -------
    >>> from badgerlib.chapters.phases import synthetic_history
    >>> h = synthetic_history([("zeros", 400), (1, 400), (2, 400)], n=2, noise=0.05, seed=0)
    >>> s = training_summary(h["last_error"], n=2)
    >>> s.left_zeros, s.converged_from, [round(v, 1) for v in s.levels]
    (401, 820, [2.0, 1.0, 0.0])
    >>> training_summary(h["last_error"][:700], n=2).converged_from is None
    True
    """
    e = check_array(last_error, "training_summary", "last_error", ndim=1)
    plateaus = detect_plateaus(e, n, zeros_level)
    final = plateaus[-1] if plateaus else None
    converged = final is not None and final.end == len(e) - 1 and final.level * n < 0.5
    return TrainingSummary(left_zeros=escape_iteration(e, zeros_level),
                           converged_from=final.start if converged else None,
                           levels=tuple(float(p.level * n) for p in plateaus))


def plot_view(guesses, targets, feedback, task: int, step: int):
    """One task of a rollout at one inner step: :func:`badgerlib.plots.rollout_panel` with
    ``step`` marked, titled with that step's guess, the target and the feedback. Returns the
    figure (the chapter's explorer widget redraws it; the book shows the default view).

    Example
    -------
    >>> g, t, f = np.zeros((2, 3, 2)), np.full((2, 2), 0.5), np.ones((2, 3))
    >>> plot_view(g, t, f, task=1, step=2)._suptitle.get_text()
    'task 1, step 2: guess (+0.00, +0.00), target (+0.50, +0.50), feedback 1.0000'
    """
    guesses, targets, feedback = (np.asarray(x) for x in (guesses, targets, feedback))
    axes = plots.rollout_panel(guesses, targets, feedback, task_index=task, step=step)
    fig = axes[0].figure
    guess = ", ".join(f"{v:+.2f}" for v in guesses[task, step])
    target = ", ".join(f"{v:+.2f}" for v in targets[task])
    fig.suptitle(f"task {task}, step {step}: guess ({guess}), target ({target}), "
                 f"feedback {feedback[task, step]:.4f}", fontsize=9)
    return fig
