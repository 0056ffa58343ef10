"""The transiently chaotic Badger against its equations written out per expert, its annealing,
and training through the common loop."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, RunConfig, train
from badgerlib.model import LOG_EPS
from badgerlib.run import build_model
from badgerlib.tcnn import ChaoticBadger, ChaoticBadgerConfig


def naive_rollout(model, task, targets, y0, steps):
    """Chen & Aihara's neuron, one expert and one task at a time."""
    c, P = model.config, dict(model.named_parameters())
    A = model.adjacency.to(targets.dtype)
    E = c.experts
    sig = lambda y: torch.sigmoid(y / c.eps)
    out_guesses = []
    for b in range(targets.shape[0]):
        t = targets[b]
        y = [y0[b, e] for e in range(E)]
        z = c.z0
        guess = torch.zeros_like(t)
        f = task.feedback(guess, t)
        f_prev = f
        guesses = []
        for _ in range(steps):
            feats = {"error": f, "log_error": torch.log(f + LOG_EPS), "delta_error": f - f_prev}
            x_task = torch.cat([torch.stack([feats[n] for n in c.features]), guess])
            x = [sig(y[e]) for e in range(E)]
            msgs = [P["w_msg"] @ x[j] + P["b_msg"] for j in range(E)]
            new_y = []
            for i in range(E):
                senders = [j for j in range(E) if A[i, j] > 0]
                received = sum(msgs[j] for j in senders) / len(senders) if senders else torch.zeros_like(msgs[0])
                drive = P["w_hh"] @ x[i] + P["w_msg_in"] @ received + P["w_task"] @ x_task + P["b_in"]
                new_y.append(c.k * y[i] + c.alpha * drive - z * (x[i] - c.i0))
            y = new_y
            z = (1 - c.beta) * z
            guess = sum(P["w_out"] @ sig(y[i]) + P["b_out"] for i in range(E)) / E
            f_prev, f = f, task.feedback(guess, t)
            guesses.append(guess)
        out_guesses.append(torch.stack(guesses))
    return torch.stack(out_guesses)


@pytest.mark.parametrize("options", [{}, {"beta": 0.3, "z0": 0.5, "eps": 0.25, "topology": "ring"}])
def test_the_vectorised_cell_is_chen_and_aiharas_neuron(options):
    cfg = ChaoticBadgerConfig(experts=4, hidden=5, message=3, **options)
    task = GuessingGame(n=2)
    model = ChaoticBadger(cfg, dims=2, seed=1).double()
    gen = torch.Generator().manual_seed(0)
    targets = task.sample_targets(3, gen, torch.float64)
    y0, _ = model.initial_state(3, gen)
    fast = model.rollout(task, targets, 4, h_init=(y0, y0.new_full((3, 1, 1), cfg.z0))).guesses[:, 1:]
    slow = naive_rollout(model, task, targets, y0, 4)
    assert torch.allclose(fast, slow, atol=1e-12, rtol=0)


def test_the_self_feedback_anneals_geometrically_and_drives_the_states_apart():
    """z falls by (1 - beta) per step; with a large z0 the same agent's inner loop differs
    from the one without self-feedback."""
    task = GuessingGame(n=2)
    targets = torch.tensor([[0.3, -0.4]])
    runs = {}
    for z0 in (0.0, 2.0):
        torch.manual_seed(0)
        m = ChaoticBadger(ChaoticBadgerConfig(experts=2, hidden=3, z0=z0, beta=0.5, init_noise=0.0), dims=2)
        state = m.initial_state(1)
        for _ in range(3):
            state, _, _ = m.act(state, torch.ones(1), torch.ones(1), torch.zeros(1, 2))
        assert float(state[1]) == pytest.approx(z0 * 0.5 ** 3)
        torch.manual_seed(0)
        runs[z0] = m.rollout(task, targets, 5).guesses
    assert not torch.allclose(runs[0.0], runs[2.0])


def test_bad_constants_are_named():
    with pytest.raises(ValueError, match=r"ChaoticBadgerConfig.k = 1.5: must be"):
        ChaoticBadgerConfig(k=1.5)
    with pytest.raises(ValueError, match=r"ChaoticBadgerConfig.eps = 0"):
        ChaoticBadgerConfig(eps=0)


def test_it_trains_through_the_common_loop_and_round_trips_its_config(tmp_path):
    cfg = RunConfig(task=GuessingGame(n=2), model=ChaoticBadgerConfig(experts=3, hidden=4), iterations=5, batch=4,
                    inner_steps=3, snapshot_count=2)
    run = train(cfg, runs_dir=tmp_path, progress=False)
    assert np.isfinite(run.history["loss"]).all()
    assert run.snapshots["hidden"].shape[-2:] == (3, 4)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert isinstance(build_model(cfg), ChaoticBadger)


def test_seeds_trained_as_an_ensemble_match_each_seed_alone(tmp_path):
    """ensemble_exact: each seed of a vmapped ensemble gets the numbers it gets alone (at the
    standard agent's size: for tiny ones the batched kernels sum in another order here, and
    the ensemble falls back to one seed at a time)."""
    from badgerlib.ensemble import train_many

    cfg = RunConfig(task=GuessingGame(n=3), model=ChaoticBadgerConfig(experts=8, hidden=32), iterations=4, batch=32,
                    inner_steps=3, snapshot_count=0)
    runs = train_many([cfg.replace(seed=s) for s in range(2)], runs_dir=tmp_path, progress=False)
    assert all(r.meta.get("ensemble") == 2 for r in runs)
    for r in runs:
        alone = train(r.config, cache=False, progress=False)
        assert np.array_equal(alone.history["loss"], r.history["loss"])
