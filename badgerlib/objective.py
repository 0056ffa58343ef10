"""What the outer loop minimises, defined once: the training objective of a rollout and its
split into one loss per guessed dimension.

The experts only ever see the scalar feedback; the outer loop knows the targets, so it can
also split the objective by dimension. Both are averaged over the same inner steps (every step
after the given first guess with ``loss_on="all"``, the last one with ``"last"``:
:func:`scored_steps`) and over the tasks, so the per-dimension losses sum to the objective
(exactly in real arithmetic; to float rounding in practice) and their gradients sum to its
gradient. Training uses :func:`objective`; gradient interference and gradient surgery use
:func:`dimension_losses`.

Example
-------
>>> import torch
>>> from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
>>> game = GuessingGame(n=3)
>>> model = MicroBadger(MicroBadgerConfig(experts=4, hidden=8), dims=3)
>>> gen = torch.Generator().manual_seed(0)
>>> rollout = model.rollout(game, game.sample_targets(5, gen), steps=4, generator=gen)
>>> losses = dimension_losses(rollout, game)
>>> losses.shape, bool(torch.isclose(losses.sum(), objective(rollout)))
(torch.Size([3]), True)
"""
from __future__ import annotations

import torch

from badgerlib.checks import check_choice

LOSS_ON = ("all", "last")


def scored_steps(values: torch.Tensor, loss_on: str = "all") -> torch.Tensor:
    """The inner steps the objective scores, from a per-step tensor ``(B, S+1, ...)``: steps
    1..S for ``"all"``, step S alone for ``"last"`` (step 0 is the given all-zeros guess).

    Example
    -------
    >>> scored_steps(torch.arange(8.0).reshape(2, 4), "last").tolist()
    [[3.0], [7.0]]
    """
    check_choice("RunConfig", "loss_on", loss_on, LOSS_ON)
    return values[:, 1:] if loss_on == "all" else values[:, -1:]


def objective(rollout, loss_on: str = "all") -> torch.Tensor:
    """The training objective: the feedback the experts received, averaged over the scored
    steps and the tasks (a scalar tensor with the rollout's graph).

    Example: see the module docstring.
    """
    return scored_steps(rollout.feedback, loss_on).mean()


def dimension_losses(rollout, task, loss_on: str = "all") -> torch.Tensor:
    """The objective split by guessed dimension, ``(N,)``: component d is ``scale / N`` times
    the error of dimension d (squared or absolute, as the task's metric), averaged like
    :func:`objective`; the components sum to it.

    Example: see the module docstring.
    """
    err = task.dim_error(rollout.guesses, rollout.targets[:, None, :])     # (B, S+1, N)
    return scored_steps(err, loss_on).mean(dim=(0, 1)) * (task.scale / task.dims)


def flat_objective(model: torch.nn.Module, task, targets: torch.Tensor, noise: torch.Tensor, steps: int,
                   loss_on: str = "all"):
    """The objective of one fixed batch (``targets`` and the initial-state ``noise``, see
    ``model.initial_noise``) as a function of the model's weights flattened into one vector:
    returns ``(loss, flat)``, ``loss(flat) -> scalar`` and the model's current weights. For
    what needs a loss of a plain vector: Hessian-vector products and Lanczos
    (:mod:`badgerlib.analysis.landscape`), Gauss-Newton or natural-gradient steps. The
    weights' order is ``model.named_parameters()``'s.

    Example
    -------
    >>> from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
    >>> game = GuessingGame(n=2)
    >>> model = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=2)
    >>> gen = torch.Generator().manual_seed(0)
    >>> loss, flat = flat_objective(model, game, game.sample_targets(4, gen), model.initial_noise(4, gen), steps=3)
    >>> flat.shape == (sum(p.numel() for p in model.parameters()),), loss(flat).shape
    (True, torch.Size([]))
    """
    from torch.func import functional_call

    def loss(flat: torch.Tensor) -> torch.Tensor:
        _, feedback = functional_call(model, unflatten(model, flat), (task, targets, steps, noise))
        return scored_steps(feedback, loss_on).mean()

    return loss, flatten(model)


def flatten(model: torch.nn.Module) -> torch.Tensor:
    """The model's weights as one detached vector, in ``named_parameters`` order.

    Example
    -------
    >>> flatten(torch.nn.Linear(2, 3)).shape
    torch.Size([9])
    """
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def unflatten(model: torch.nn.Module, flat: torch.Tensor, prefix: str = "") -> dict[str, torch.Tensor]:
    """The inverse of :func:`flatten`: ``flat`` cut into the model's parameters by name (each
    name after ``prefix``), views of ``flat``, so that derivatives with respect to ``flat``
    flow through ``torch.func.functional_call(model, unflatten(model, flat), ...)``.

    Example
    -------
    >>> lin = torch.nn.Linear(2, 3)
    >>> {k: tuple(v.shape) for k, v in unflatten(lin, flatten(lin)).items()}
    {'weight': (3, 2), 'bias': (3,)}
    """
    named = [(prefix + name, p.shape, p.numel()) for name, p in model.named_parameters()]
    pieces = torch.split(flat, [n for _, _, n in named])
    return {name: piece.view(shape) for (name, shape, _), piece in zip(named, pieces)}
