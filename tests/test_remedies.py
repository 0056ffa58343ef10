"""The outer-loop remedies against their definitions: gradient surgery against PCGrad's and
UPGrad's rules on the per-dimension gradients, the Gauss-Newton direction against the dense
Jacobian, and every remedy training a small agent reproducibly."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.config import GRADIENT_TRANSFORMS
from badgerlib.objective import dimension_losses, objective
from badgerlib.remedies import conjugate_gradient, gauss_newton_direction
from badgerlib.run import build_model

BASE = RunConfig(task=GuessingGame(n=3), model=MicroBadgerConfig(experts=3, hidden=4), inner_steps=3, batch=4,
                 iterations=6, snapshot_count=0, dtype="float64")


def rollout_of(cfg, seed=0):
    model = build_model(cfg)
    gen = torch.Generator().manual_seed(seed)
    targets = cfg.task.sample_targets(cfg.batch, gen, torch.float64)
    return model, model.rollout(cfg.task, targets, cfg.inner_steps, gen)


def per_dimension_gradients(model, rollout, cfg):
    params = list(model.parameters())
    rows = []
    for loss in dimension_losses(rollout, cfg.task, cfg.loss_on):
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def filled_gradient(name, cfg):
    model, rollout = rollout_of(cfg)
    G = per_dimension_gradients(model, rollout, cfg)
    loss = GRADIENT_TRANSFORMS[name](model, rollout, cfg)
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    return G, grad, loss, rollout


def test_pcgrad_projects_away_every_conflict_and_keeps_the_rest():
    """PCGrad's result is the sum of the gradients, each with its components along the others
    it conflicts with removed (in some order); with no conflict it is the plain sum. Checked
    by its defining properties: where no pair conflicts it equals the objective's gradient;
    where some do, it differs from it and each per-dimension gradient's dot product with it
    is at least that gradient's dot product with the plain sum minus what the conflicts took."""
    G, grad, loss, rollout = filled_gradient("pcgrad", BASE)
    cos = (G @ G.T) / (G.norm(dim=1)[:, None] * G.norm(dim=1)[None, :])
    plain = G.sum(dim=0)
    assert torch.isclose(loss, objective(rollout).detach())
    if (cos < 0).any():
        assert not torch.allclose(grad, plain)
    else:
        assert torch.allclose(grad, plain)
    # brute force: PCGrad with every order of projection (3 dimensions: 6 orders per gradient)
    import itertools
    candidates = []
    for orders in itertools.product(list(itertools.permutations(range(3))), repeat=3):
        total = torch.zeros_like(plain)
        for i in range(3):
            g = G[i].clone()
            for j in orders[i]:
                if j != i and g @ G[j] < 0:
                    g = g - (g @ G[j]) / (G[j] @ G[j]) * G[j]
            total = total + g
        candidates.append(total)
    assert min(float((c - grad).norm() / grad.norm()) for c in candidates) < 1e-6


def test_upgrad_never_conflicts_with_any_dimension():
    """UPGrad's direction has a non-negative dot product with every per-dimension gradient
    (the projection onto their dual cone), where the plain sum may not."""
    G, grad, _, _ = filled_gradient("upgrad", BASE)
    assert (G @ grad >= -1e-10 * grad.norm() * G.norm(dim=1)).all()


def test_gauss_newton_products_equal_the_dense_jacobians():
    cfg = BASE
    model, rollout = rollout_of(cfg)
    direction, grad, product = gauss_newton_direction(model, rollout, cfg, damping=1e-3, iterations=400)
    params = list(model.parameters())
    z = rollout.guesses[:, 1:].reshape(-1)
    J = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(zi, params, retain_graph=True)]) for zi in z])
    curvature = 2.0 * cfg.task.scale / z.numel()
    G = curvature * J.T @ J + 1e-3 * torch.eye(J.shape[1], dtype=J.dtype)
    v = torch.randn(J.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(product(v), G @ v, rtol=1e-8, atol=1e-12)
    t = rollout.targets[:, None, :].expand_as(rollout.guesses[:, 1:]).reshape(-1)
    assert torch.allclose(grad, curvature * J.T @ (z - t), rtol=1e-8, atol=1e-12)   # g = J^T grad_z loss
    exact = torch.linalg.solve(G, grad)
    assert float((direction - exact).norm() / exact.norm()) < 1e-4


def test_gauss_newton_refuses_the_absolute_error():
    cfg = BASE.replace(task=GuessingGame(n=3, metric="l1"))
    model, rollout = rollout_of(cfg)
    with pytest.raises(ValueError, match="task.metric = 'l1'.*needs 'mse'"):
        gauss_newton_direction(model, rollout, cfg)


def test_conjugate_gradient_solves_a_random_positive_definite_system():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    A = torch.tensor(Q @ np.diag(np.linspace(1, 10, 20)) @ Q.T)
    b = torch.tensor(rng.normal(size=20))
    assert torch.allclose(conjugate_gradient(lambda v: A @ v, b, 60), torch.linalg.solve(A, b), atol=1e-8)


@pytest.mark.parametrize("gradient,optimizer", [("pcgrad", "adam"), ("upgrad", "adam"), ("gauss-newton", "sgd"),
                                                ("objective", "soap"), ("objective", "sgd")])
def test_every_remedy_trains_and_reruns_bit_identically(gradient, optimizer):
    cfg = BASE.replace(gradient=gradient, optimizer=optimizer, dtype="float32", lr=0.01)
    a = train(cfg, cache=False, progress=False)
    b = train(cfg, cache=False, progress=False)
    assert np.isfinite(a.history["loss"]).all()
    assert np.array_equal(a.history["loss"], b.history["loss"])
    assert not np.array_equal(a.model_state["w_out"], build_model(cfg).state_dict()["w_out"])
