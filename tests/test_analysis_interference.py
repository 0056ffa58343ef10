"""Gradient cosines against hand-derived gradients, and the ray-interference toy against an
independent ODE solver and the behaviour Schaul et al. (2019) describe."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from badgerlib.analysis import interference
from badgerlib.analysis.interference import (
    conflict_fraction, cosine_matrix, flat_gradients, gradient_cosines, ray_flow,
    ray_interference, start_grid,
)

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------------ gradient cosines
def test_cosines_of_a_model_with_separate_and_shared_parameters():
    """y_k = w_k x + b (shared bias b), loss_k = (y_k - t_k)^2 on one input x = 1.
    dL_k/dw_j = 2 r_k [j = k], dL_k/db = 2 r_k with residual r_k, so
    cos(k, l) = r_k r_l / (|r_k| sqrt(2) |r_l| sqrt(2)) = sign(r_k r_l) / 2."""
    w = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    t = torch.tensor([1.0, 2.0, -1.0])
    y = w * 1.0 + b
    losses = [(y[k] - t[k]) ** 2 for k in range(3)]
    c = gradient_cosines(losses, [w, b])
    expected = np.array([[1, 0.5, -0.5], [0.5, 1, -0.5], [-0.5, -0.5, 1]])
    assert np.allclose(c, expected, atol=1e-12)
    assert conflict_fraction(c) == pytest.approx(2 / 3)


def test_flat_gradients_match_autograd_of_each_loss_and_keep_the_graph():
    """For a small MLP, each row equals the separately computed gradient, unused
    parameters give zeros, and the graph survives for a later backward()."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    unused = torch.nn.Parameter(torch.ones(4))
    params = list(net.parameters()) + [unused]
    out = net(torch.randn(7, 3))
    losses = [out[:, k].pow(2).mean() for k in range(2)]
    rows = flat_gradients(losses, params)
    assert rows.shape == (2, sum(p.numel() for p in params))
    for k in range(2):
        ref = torch.autograd.grad(losses[k], params[:-1], retain_graph=True)
        ref = torch.cat([g.reshape(-1) for g in ref]).double().numpy()
        assert np.allclose(rows[k, :-4], ref, atol=1e-12)
        assert np.all(rows[k, -4:] == 0)
    sum(losses).backward()  # would raise if the graph had been freed


def test_cosine_matrix_zero_gradient_warns_and_reads_zero():
    with pytest.warns(RuntimeWarning, match="zero vectors"):
        c = cosine_matrix([[0.0, 0.0], [1.0, 0.0]])
    assert c.tolist() == [[0.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("call, match", [
    (lambda: cosine_matrix(np.ones(3)), "shape"),
    (lambda: conflict_fraction(np.ones((1, 1))), "K >= 2"),
    (lambda: flat_gradients([torch.ones(2, requires_grad=True).sum()], []), "params"),
    (lambda: flat_gradients([torch.ones(2, requires_grad=True)], [torch.ones(1, requires_grad=True)]),
     "losses\\[0\\] must be a scalar"),
])
def test_gradient_tools_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------ ray interference
STARTS = np.array([[0.3, 0.02], [0.02, 0.3], [0.2, 0.01], [0.01, 0.2]])


@pytest.mark.parametrize("rho", [-0.3, 0.0, 0.3])
def test_rl_lingers_near_the_saddles_far_longer_than_supervised(rho):
    """From the same starts (near the origin, one component ahead), the RL flow spends at
    least 10 time units within 0.2 of [1, 0] / [0, 1] (measured 13-230, least with positive
    transfer rho = 0.3, most with interference rho = -0.3) and at least 10x longer than the
    supervised flow, which measured exactly 0: it heads for [1, 1] without the detour."""
    sup = ray_interference(STARTS, rho=rho, kind="supervised", t_max=300)
    rl = ray_interference(STARTS, rho=rho, kind="rl", t_max=300)
    assert np.all(rl.saddle_time >= 10.0), rl.saddle_time
    assert np.all(rl.saddle_time >= 10 * np.maximum(sup.saddle_time, 0.1)), (rl.saddle_time, sup.saddle_time)
    assert np.all(sup.saddle_time < 1.0)


def test_rl_learns_one_component_at_a_time_and_the_leader_wins():
    """Under RL the component that starts ahead is solved first and the other only much
    later; supervised from the symmetric start solves both together."""
    rl = ray_interference(STARTS, rho=0.0, kind="rl", t_max=300)
    assert rl.basin_labels == ["J1 first", "J2 first", "J1 first", "J2 first"]
    gap = np.abs(rl.solve_times[:, 0] - rl.solve_times[:, 1])
    assert np.all(gap > 10)
    sym = ray_interference([[0.1, 0.1]], rho=0.3, kind="supervised")
    assert sym.basin_labels == ["together"]


def test_integrator_agrees_with_an_independent_ode_solver():
    """Fixed-step RK4 in logit space against scipy's adaptive RK45 on the J-space flow
    (rtol 1e-9): recorded trajectories agree to 1e-5."""
    for kind in ("supervised", "rl"):
        res = ray_interference([[0.2, 0.05]], rho=-0.4, kind=kind, t_max=60, dt=0.01, record_every=100)
        ref = solve_ivp(lambda t, j: ray_flow(j, -0.4, kind), (0, 60), [0.2, 0.05],
                        t_eval=res.times, rtol=1e-9, atol=1e-12)
        assert np.allclose(res.trajectories[0], ref.y.T, atol=1e-5), kind


def test_flows_match_the_formulas():
    j = np.array([0.3, 0.6])
    rho = 0.25
    g = j * (1 - j)
    sup = g * ((1 - j) + rho * (1 - j[::-1]))
    rl = g * (g + rho * g[::-1])
    assert np.allclose(ray_flow(j, rho, "supervised"), sup)
    assert np.allclose(ray_flow(j, rho, "rl"), rl)


def test_grid_and_result_shapes():
    starts = start_grid(5)
    res = ray_interference(starts, rho=0.0, kind="rl", t_max=10, dt=0.1, record_every=5)
    assert starts.shape == (25, 2)
    assert res.trajectories.shape == (25, len(res.times), 2)
    assert res.times[0] == 0 and res.times[-1] == pytest.approx(10)
    assert res.basin.shape == (25,) and res.saddle_time.shape == (25,)
    assert set(res.basin.tolist()) <= {-1, 0, 1, 2}


@pytest.mark.parametrize("kwargs, match", [
    (dict(starts=[[0.0, 0.5]], rho=0.0, kind="rl"), "strictly inside"),
    (dict(starts=[[0.2, 0.5]], rho=2.0, kind="rl"), "rho=2.0"),
    (dict(starts=[[0.2, 0.5]], rho=0.0, kind="td"), "kind='td'"),
    (dict(starts=[[0.2, 0.5]], rho=0.0, kind="rl", dt=0), "dt=0"),
    (dict(starts=[[0.2, 0.5]], rho=0.0, kind="rl", threshold=0.4), "threshold=0.4"),
])
def test_ray_interference_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ray_interference(**kwargs)


def test_docstring_examples_run():
    assert doctest.testmod(interference).failed == 0
