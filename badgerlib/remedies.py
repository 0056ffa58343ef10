"""Remedies for the outer loop, registered by name when badgerlib is imported, so that a
``RunConfig`` can name them and any worker process can train it (chapter 9 compares them).

Gradient transforms (``RunConfig.gradient``; each fills the weights' ``.grad`` and returns the
objective it reports in the history):

* ``"pcgrad"``, ``"upgrad"``: gradient surgery on the per-dimension losses
  (:func:`badgerlib.objective.dimension_losses`): the Jacobian of the N losses is aggregated by
  PCGrad (Yu et al. 2020: each gradient loses its component along any other it conflicts
  with) or UPGrad (Quinton & Rey 2024: the projection onto the dual cone of the gradients), by
  ``torchjd``. The experts see only the scalar feedback; the outer loop knows the targets, so
  it can split the objective.
* ``"gauss-newton"``: the exact damped Gauss-Newton direction ``(J^T H J + lambda I)^-1 g``
  for the squared-error objective (``J`` the Jacobian of every scored guess with respect to the
  weights, ``H`` the objective's constant curvature in the guesses), solved by conjugate
  gradients on exact products (:func:`gauss_newton_direction`). Hook-based K-FAC libraries
  cannot see Micro-Badger's hand-written weights, reused at every inner step; with a few
  thousand weights no approximation is needed. Name it with the ``"sgd"`` optimiser: Adam
  would rescale the direction coordinate by coordinate.

Optimisers (``RunConfig.optimizer``): ``"sgd"`` (plain, at ``lr``) and ``"soap"`` (Vyas et al.
2024, Shampoo with Adam in its eigenbasis, from ``pytorch-optimizer``; hook-free, so it sees
the shared weights like any other tensor; no weight decay, as Adam here).

Example
-------
>>> from badgerlib import RunConfig
>>> RunConfig(gradient="pcgrad").gradient, RunConfig(gradient="gauss-newton", optimizer="sgd").optimizer
('pcgrad', 'sgd')
"""
from __future__ import annotations

from typing import Callable

import torch

from badgerlib.config import register_gradient_transform, register_optimizer
from badgerlib.objective import dimension_losses, objective, scored_steps

#: Gauss-Newton's damping (added to the curvature's diagonal) and conjugate-gradient steps.
GN_DAMPING = 1e-3
GN_ITERATIONS = 10


# ------------------------------------------------------------------------- gradient surgery
def _aggregators() -> dict:
    from torchjd.aggregation import PCGrad, UPGrad

    return {"pcgrad": PCGrad, "upgrad": UPGrad}


def batch_seed(targets: torch.Tensor) -> int:
    """A seed read off a batch's targets (drawn from the run's own generator, so the same at
    the same iteration of every rerun and resume).

    Example
    -------
    >>> batch_seed(torch.tensor([[0.5, 1.0]])) == batch_seed(torch.tensor([[0.5, 1.0]]))
    True
    """
    return int(torch.round(targets.double().abs().sum() * 1e9).item()) % (2 ** 62)


def surgery(name: str) -> Callable:
    """The gradient transform that aggregates the per-dimension losses' gradients with
    torchjd's aggregator ``name`` (``"pcgrad"`` or ``"upgrad"``). (Trains: examples in
    ``tests/test_remedies.py``, which check PCGrad against its definition.)"""
    def transform(model, rollout, config) -> torch.Tensor:
        from torchjd.autojac import backward, jac_to_grad

        losses = dimension_losses(rollout, config.task, config.loss_on)
        params = [p for p in model.parameters() if p.requires_grad]
        if losses.numel() == 1:        # one dimension: nothing to aggregate
            losses[0].backward()
        else:
            backward(list(losses), inputs=params)
            # PCGrad projects in a random order drawn from torch's global generator: draw it
            # from a generator seeded by this batch instead, so that a run reruns and resumes
            # bit-identically whatever else the process has drawn
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(batch_seed(rollout.targets))
                jac_to_grad(params, _aggregators()[name]())
        return objective(rollout, config.loss_on).detach()

    transform.__name__ = f"surgery_{name}"
    return transform


# ------------------------------------------------------------------------------ Gauss-Newton
def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iterations: int,
                       tol: float = 1e-10) -> torch.Tensor:
    """Solve ``A x = b`` for a symmetric positive definite ``A`` given as ``matvec``, from
    ``x = 0``, for at most ``iterations`` steps (exact in as many steps as ``A`` has distinct
    eigenvalues), stopping when the residual falls below ``tol`` times ``|b|``.

    Example
    -------
    >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> conjugate_gradient(lambda v: A @ v, torch.tensor([1.0, 2.0], dtype=torch.float64), 2).tolist()
    [0.09090909090909091, 0.6363636363636364]
    """
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = r @ r
    stop = (tol * b.norm()) ** 2
    for _ in range(iterations):
        if rr <= stop:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def gauss_newton_direction(model, rollout, config, damping: float = GN_DAMPING,
                           iterations: int = GN_ITERATIONS) -> tuple[torch.Tensor, torch.Tensor, Callable]:
    """``(direction, gradient, product)``: the damped Gauss-Newton direction of the objective
    of ``rollout`` (which must still hold its graph), the gradient (flat, in
    ``model.parameters()`` order) and the curvature product ``v -> (J^T H J + damping I) v``
    it solved with. ``J v`` comes from the double-backward trick (the gradient of
    ``J^T u`` with respect to a dummy ``u``), ``J^T w`` from one backward pass, both on the
    rollout's own graph. Squared error only (the absolute error has no curvature in the
    guesses). (Example: ``tests/test_remedies.py`` checks it against the dense Jacobian.)"""
    task = config.task
    if getattr(task, "metric", "mse") != "mse":
        raise ValueError(f"gradient = 'gauss-newton': task.metric = {task.metric!r}; the Gauss-Newton step needs "
                         f"'mse' (the absolute error has no curvature in the guesses)")
    params = [p for p in model.parameters() if p.requires_grad]
    z = scored_steps(rollout.guesses, config.loss_on)                         # (B, S', N)
    # objective = scale * mean over tasks, steps and dimensions of (z - t)^2: its curvature in
    # every guess is the same constant
    curvature = 2.0 * task.scale / z.numel()
    loss = objective(rollout, config.loss_on)
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params, retain_graph=True)])
    u = torch.zeros_like(z, requires_grad=True)
    jt_u = torch.autograd.grad(z, params, u, create_graph=True, retain_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        parts, at = [], 0
        for g in jt_u:
            parts.append(v[at:at + g.numel()].view_as(g))
            at += g.numel()
        dot = sum((a * b).sum() for a, b in zip(jt_u, parts))
        jv = torch.autograd.grad(dot, u, retain_graph=True)[0]
        back = torch.autograd.grad(z, params, curvature * jv, retain_graph=True)
        return torch.cat([b.reshape(-1) for b in back]) + damping * v

    return conjugate_gradient(product, grad.detach(), iterations), grad.detach(), product


def gauss_newton(model, rollout, config) -> torch.Tensor:
    """The ``"gauss-newton"`` gradient transform: the weights' ``.grad`` set to
    :func:`gauss_newton_direction`. (Trains: examples in ``tests/test_remedies.py``.)"""
    direction = gauss_newton_direction(model, rollout, config)[0]
    at = 0
    for p in model.parameters():
        if p.requires_grad:
            p.grad = direction[at:at + p.numel()].view_as(p).detach().clone()
            at += p.numel()
    return objective(rollout, config.loss_on).detach()


def _soap(params, config):
    from pytorch_optimizer import SOAP

    return SOAP(params, lr=config.lr, weight_decay=0.0)


register_gradient_transform("pcgrad", surgery("pcgrad"))
register_gradient_transform("upgrad", surgery("upgrad"))
register_gradient_transform("gauss-newton", gauss_newton)
register_optimizer("sgd", lambda params, config: torch.optim.SGD(params, lr=config.lr))
register_optimizer("soap", _soap)
