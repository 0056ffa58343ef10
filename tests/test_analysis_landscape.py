"""Curvature by Lanczos on Hessian-vector products, checked against dense Hessians (a quadratic
with a known spectrum, a small Micro-Badger), and the diffusion exponent on walks whose answer
is known."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
from badgerlib.objective import flat_objective, objective
from badgerlib.analysis.landscape import (
    dense_hessian, diffusion_exponent, hessian_extremes, hessian_vector_product, mean_squared_displacement,
)


def test_lanczos_reads_the_known_spectrum_of_a_quadratic_saddle():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(60, 60)))
    eig = np.r_[-3.0, -0.5, np.linspace(0.1, 5.0, 58)]
    A = torch.tensor(Q @ np.diag(eig) @ Q.T)
    ext = hessian_extremes(lambda x: 0.5 * x @ A @ x + x.sum(), torch.zeros(60, dtype=torch.float64), k=3)
    assert np.allclose(ext["smallest"], np.sort(eig)[:3], atol=1e-7)
    assert np.allclose(ext["largest"], np.sort(eig)[-3:], atol=1e-7)
    # the eigenvectors are the quadratic's own
    v = ext["smallest_vectors"][:, 0]
    assert abs(v @ Q[:, 0]) == pytest.approx(1.0, abs=1e-6)


def test_lanczos_matches_the_dense_hessian_of_a_small_micro_badger():
    torch.manual_seed(0)
    game = GuessingGame(n=2)
    model = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, message=3, links=1), dims=2).double()
    gen = torch.Generator().manual_seed(0)
    targets = game.sample_targets(16, gen, torch.float64)
    loss, flat = flat_objective(model, game, targets, model.initial_noise(16, gen), steps=3)
    H = dense_hessian(loss, flat)
    assert np.allclose(H, H.T, atol=1e-10)
    exact = np.linalg.eigvalsh(H)
    ext = hessian_extremes(loss, flat, k=4)
    assert np.allclose(ext["smallest"], exact[:4], atol=1e-8)
    assert np.allclose(ext["largest"], exact[-4:], atol=1e-8)
    assert exact[0] < 0 < exact[-1]                          # the untrained agent sits on a saddle
    v = torch.tensor(np.random.default_rng(1).normal(size=flat.numel()))
    assert np.allclose(hessian_vector_product(loss, flat, v).numpy(), H @ v.numpy(), atol=1e-10)


def test_diffusion_exponent_tells_a_random_walk_from_a_drift_and_a_trapped_walk():
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(5000, 4))
    walk = np.cumsum(steps, axis=0)
    drift = np.cumsum(steps + 0.5, axis=0)[-2000:]
    trapped = np.zeros_like(steps)
    for t in range(1, len(steps)):                            # Ornstein-Uhlenbeck, held at 0
        trapped[t] = 0.8 * trapped[t - 1] + steps[t]
    assert diffusion_exponent(walk) == pytest.approx(1.0, abs=0.1)
    assert diffusion_exponent(drift) > 1.7
    assert diffusion_exponent(trapped) < 0.5
    assert mean_squared_displacement(walk, [10])[0] == pytest.approx(4 * 10, rel=0.15)


def test_bad_trajectories_are_refused():
    with pytest.raises(ValueError, match="lag"):
        mean_squared_displacement(np.arange(5.0), [5])
    with pytest.raises(ValueError, match="does not move"):
        diffusion_exponent(np.zeros(100))


def test_landscape_metrics_tell_a_smooth_bowl_from_a_rugged_one():
    from badgerlib.analysis.landscape import (
        correlation_length, fitness_distance_correlation, random_walk_losses,
    )

    x0 = torch.zeros(20, dtype=torch.float64)
    bowl = lambda p: (p ** 2).sum()                                             # noqa: E731
    rugged = lambda p: (p ** 2).sum() + 5 * torch.sin(40 * p).sum()             # noqa: E731
    smooth_walk = random_walk_losses(bowl, x0 + 3.0, 300, 0.5)
    rugged_walk = random_walk_losses(rugged, x0 + 3.0, 300, 0.5)
    assert correlation_length(smooth_walk) > 10 * correlation_length(rugged_walk)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(400, 20)) * rng.uniform(0.1, 3, size=(400, 1))
    distances = np.linalg.norm(points, axis=1)
    tensor = torch.tensor(points)
    assert fitness_distance_correlation([float(bowl(p)) for p in tensor], distances) > 0.9
    assert fitness_distance_correlation([float(rugged(p)) for p in tensor], distances) < \
        fitness_distance_correlation([float(bowl(p)) for p in tensor], distances)
    with pytest.raises(ValueError, match="one distance per loss"):
        fitness_distance_correlation([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0])


def test_the_flat_objective_is_the_training_objective_of_the_same_batch():
    """Its value and gradient are those of the objective of a rollout on the same tasks and
    initial noise, so curvature measured on it is the training loss's."""
    torch.manual_seed(1)
    game = GuessingGame(n=2)
    model = MicroBadger(MicroBadgerConfig(experts=3, hidden=4), dims=2).double()
    gen = torch.Generator().manual_seed(2)
    targets, noise = game.sample_targets(8, gen, torch.float64), model.initial_noise(8, gen)
    loss, flat = flat_objective(model, game, targets, noise, steps=4)
    rollout = model.rollout(game, targets, 4, h_init=model.initial_state(8, noise=noise))
    value = objective(rollout)
    value.backward()
    grad = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    flat = flat.requires_grad_(True)
    mine = loss(flat)
    mine.backward()
    assert torch.allclose(mine, value) and torch.allclose(flat.grad, grad)
