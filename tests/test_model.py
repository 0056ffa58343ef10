"""MicroBadger against a naive per-expert loop, and its symmetries."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
from badgerlib.model import LOG_EPS


def naive_rollout(model: MicroBadger, task, targets, h_init, steps):
    """The same Micro-Badger written as plainly as possible: Python loops over tasks and experts,
    one vector at a time, straight from the description in the book."""
    cfg, P = model.config, dict(model.named_parameters())
    E, H = cfg.experts, cfg.hidden
    h_init, ids = h_init if isinstance(h_init, tuple) else (h_init, None)
    A = model.adjacency.to(targets.dtype)
    losses = []
    for b in range(targets.shape[0]):
        target = targets[b]
        h = [h_init[b, e] for e in range(E)]
        guess = torch.zeros_like(target)
        # what the experts see: the scalar feedback, or each number's error times the scale
        seen_of = ((lambda g: task.scale * (g - target) ** 2) if cfg.vector_feedback
                   else (lambda g: task.feedback(g, target)))
        f = seen_of(guess)
        f_prev = f
        feedbacks = []
        for _ in range(steps):
            feats = {"error": f, "log_error": torch.log(f + LOG_EPS), "delta_error": f - f_prev}
            if cfg.vector_feedback:    # every feature of number 0, then of number 1, ...
                x_task = torch.cat([torch.stack([feats[n][d] for n in cfg.features]) for d in range(len(target))]
                                   + [guess])
            else:
                x_task = torch.cat([torch.stack([feats[n] for n in cfg.features]), guess])
            if cfg.multiplicative:    # every hidden unit scaled by its task-set gain before it is read
                gain = 2 * torch.sigmoid(P["w_mod"] @ x_task + P["b_mod"])
                read = [h[j] * gain for j in range(E)]
            else:
                read = h
            msgs = [P["w_msg"] @ read[j] + P["b_msg"] for j in range(E)]
            new_h, outs = [], []
            for i in range(E):
                senders = [j for j in range(E) if A[i, j] > 0]
                received = sum(msgs[j] for j in senders) / len(senders) if senders else torch.zeros_like(msgs[0])
                gx = P["w_msg_in"] @ received + P["w_task"] @ x_task + P["b_in"]
                if ids is not None:
                    gx = gx + P["w_id"] @ ids[b, i]
                gh = P["w_hh"] @ read[i] + P["b_hh"]
                r = torch.sigmoid(gx[:H] + gh[:H])
                z = torch.sigmoid(gx[H:2 * H] + gh[H:2 * H])
                v = torch.tanh(gx[2 * H:] + r * gh[2 * H:])
                hi = z * h[i] + (1 - z) * v
                if cfg.exponential_update:
                    hi = 0.5 * h[i] + 0.7 * hi
                new_h.append(hi)
                if cfg.per_expert_readout:
                    outs.append(P["w_out"][i] @ hi + P["b_out"][i])
                else:
                    outs.append(P["w_out"] @ hi + P["b_out"])
            h = new_h
            guess = sum(outs) / E
            f_prev, f = f, seen_of(guess)
            feedbacks.append(task.feedback(guess, target))
        losses.append(torch.stack(feedbacks).mean())
    return torch.stack(losses).mean()


@pytest.mark.parametrize("options", [
    {},
    {"per_expert_readout": True},
    {"exponential_update": True, "topology": "ring"},
    {"features": ("error",), "links": 1},
    {"expert_ids": 4},
    {"vector_feedback": True},
    {"vector_feedback": True, "features": ("log_error",)},
    {"multiplicative": True},
    {"multiplicative": True, "vector_feedback": True, "expert_ids": 2},
])
def test_vectorised_model_matches_naive_loop(options):
    torch.manual_seed(0)
    cfg = MicroBadgerConfig(experts=5, hidden=6, message=3, **options)
    task = GuessingGame(n=3)
    model = MicroBadger(cfg, dims=3, seed=1).double()
    gen = torch.Generator().manual_seed(2)
    targets = task.sample_targets(4, gen, torch.float64)
    h_init = model.initial_state(4, gen)  # keeps the path to the learned h0

    fast = model.rollout(task, targets, steps=4, h_init=h_init).feedback[:, 1:].mean()
    fast_grads = torch.autograd.grad(fast, list(model.parameters()), retain_graph=True)
    slow = naive_rollout(model, task, targets, h_init, steps=4)
    slow_grads = torch.autograd.grad(slow, list(model.parameters()))

    assert abs(fast.item() - slow.item()) < 1e-10
    for (name, _), g_fast, g_slow in zip(model.named_parameters(), fast_grads, slow_grads):
        assert torch.allclose(g_fast, g_slow, atol=1e-10, rtol=0), name


def test_relabelling_experts_leaves_guesses_unchanged():
    """Experts are interchangeable: permute the graph and the initial states together and the
    agent must guess exactly the same numbers (the symmetry the study talks about)."""
    cfg = MicroBadgerConfig(experts=6, hidden=5)
    task = GuessingGame(n=4)
    model = MicroBadger(cfg, dims=4, seed=3).double()
    gen = torch.Generator().manual_seed(0)
    targets = task.sample_targets(7, gen, torch.float64)
    h_init = model.initial_state(7, gen)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    A = model.adjacency.numpy()
    relabelled = MicroBadger(cfg, dims=4, adjacency=A[np.ix_(perm.numpy(), perm.numpy())]).double()
    relabelled.load_state_dict({k: v for k, v in model.state_dict().items()
                                if k not in ("adjacency", "indegree")}, strict=False)
    with torch.no_grad():
        a = model.rollout(task, targets, 5, h_init=h_init, record=True)
        b = relabelled.rollout(task, targets, 5, h_init=h_init[:, perm], record=True)
    assert torch.allclose(a.guesses, b.guesses, atol=1e-12)
    assert torch.allclose(a.hidden[:, :, perm], b.hidden, atol=1e-12)
    # and a relabelling that does NOT follow the graph changes the guesses: the test can fail
    with torch.no_grad():
        c = model.rollout(task, targets, 5, h_init=h_init[:, perm])
    assert not torch.allclose(a.guesses, c.guesses, atol=1e-6)


def test_identical_experts_stay_identical_without_noise():
    cfg = MicroBadgerConfig(experts=4, hidden=5, init_noise=0.0, topology="complete")
    task = GuessingGame(n=2)
    model = MicroBadger(cfg, dims=2)
    with torch.no_grad():
        r = model.rollout(task, task.sample_targets(3, torch.Generator().manual_seed(0)), 4, record=True)
    assert torch.allclose(r.hidden, r.hidden[:, :, :1].expand_as(r.hidden))


def test_random_ids_break_the_symmetry_and_are_redrawn_every_rollout():
    cfg = MicroBadgerConfig(experts=4, hidden=5, init_noise=0.0, topology="complete", expert_ids=3)
    task = GuessingGame(n=2)
    model = MicroBadger(cfg, dims=2)
    gen = torch.Generator().manual_seed(0)
    targets = task.sample_targets(3, gen)
    with torch.no_grad():
        a = model.rollout(task, targets, 4, gen, record=True)
        b = model.rollout(task, targets, 4, gen, record=True)
    assert a.hidden.shape == (3, 5, 4, 5)                           # the IDs are not recorded as state
    assert torch.equal(a.hidden[:, 0], b.hidden[:, 0])               # the same learned start ...
    assert not torch.allclose(a.hidden[:, 1:], a.hidden[:, 1:, :1].expand_as(a.hidden[:, 1:]))  # ... split by IDs
    assert not torch.allclose(a.hidden[:, 1:], b.hidden[:, 1:])      # other IDs in the next rollout


def test_an_agent_without_ids_is_built_and_drawn_as_before():
    """``expert_ids=0`` (the default) makes the same weights, the same draws and the same hash as
    before the field existed; IDs add one weight matrix, made last."""
    from badgerlib import RunConfig
    from badgerlib.store import config_hash

    torch.manual_seed(0)
    plain = MicroBadger(MicroBadgerConfig(experts=3, hidden=4), dims=2)
    torch.manual_seed(0)
    with_ids = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, expert_ids=2), dims=2)
    for name, p in plain.named_parameters():
        assert torch.equal(p, dict(with_ids.named_parameters())[name]), name
    assert set(dict(with_ids.named_parameters())) - set(dict(plain.named_parameters())) == {"w_id"}
    gen = torch.Generator().manual_seed(1)
    assert plain.initial_noise(2, gen).shape == (2, 3, 4)
    data = RunConfig().to_dict()
    assert data["model"].pop("expert_ids") == 0
    assert config_hash(RunConfig()) != config_hash(RunConfig(model=MicroBadgerConfig(expert_ids=2)))
    with pytest.raises(ValueError, match=r"MicroBadgerConfig.expert_ids = -1: must be an integer in \[0, 4096\]"):
        MicroBadgerConfig(expert_ids=-1)


def test_first_guess_is_zeros_and_its_feedback_is_given():
    task = GuessingGame(n=3)
    model = MicroBadger(MicroBadgerConfig(experts=2, hidden=3), dims=3)
    targets = torch.tensor([[0.5, -0.5, 1.0]])
    r = model.rollout(task, targets, 2)
    assert torch.equal(r.guesses[:, 0], torch.zeros(1, 3))
    assert torch.allclose(r.feedback[:, 0], torch.tensor([3 * (0.25 + 0.25 + 1) / 3]))


def test_adjacency_of_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"adjacency shape = \(2, 2\): must be \(3, 3\)"):
        MicroBadger(MicroBadgerConfig(experts=3), dims=1, adjacency=np.zeros((2, 2)))


def test_init_scale_scales_the_same_draws_and_its_default_keeps_every_hash():
    """``init_scale`` multiplies the very draws of the default initialisation (the same seed
    gives the same weights times the scale), and at its default of 1 a config hashes as it did
    before the field existed, so stored runs are still found."""
    import json

    from badgerlib import RunConfig
    from badgerlib.store import config_hash

    torch.manual_seed(0)
    plain = MicroBadger(MicroBadgerConfig(experts=3, hidden=4), dims=2)
    torch.manual_seed(0)
    small = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, init_scale=0.01), dims=2)
    for name, p in plain.named_parameters():
        assert torch.allclose(dict(small.named_parameters())[name], 0.01 * p, rtol=1e-5, atol=0), name
    data = RunConfig().to_dict()
    assert data["model"].pop("init_scale") == 1.0
    payload_without = json.dumps(data, sort_keys=True)
    assert "init_scale" not in payload_without
    assert config_hash(RunConfig()) != config_hash(RunConfig(model=MicroBadgerConfig(init_scale=0.1)))
    with pytest.raises(ValueError, match=r"MicroBadgerConfig.init_scale = 0: must be"):
        MicroBadgerConfig(init_scale=0)


def test_vector_feedback_tells_apart_errors_the_scalar_feedback_confuses():
    """Two tasks whose first guess scores the same scalar feedback but errs in different numbers:
    the agent that sees the scalar makes the same next guess on both, the agent that sees every
    number's error does not; both record the scalar feedback. The default keeps every hash."""
    from badgerlib import RunConfig
    from badgerlib.store import config_hash

    task = GuessingGame(n=2)
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    for vector in (False, True):
        torch.manual_seed(0)
        m = MicroBadger(MicroBadgerConfig(experts=2, hidden=3, init_noise=0.0, vector_feedback=vector), dims=2)
        r = m.rollout(task, targets, 1)
        assert torch.equal(r.feedback[:, 0], task.feedback(torch.zeros(2, 2), targets))
        assert torch.allclose(r.guesses[0, 1], r.guesses[1, 1]) is (not vector)
    assert "vector_feedback" not in RunConfig().to_dict()["model"] or RunConfig().to_dict()["model"]["vector_feedback"] is False
    assert config_hash(RunConfig()) != config_hash(RunConfig(model=MicroBadgerConfig(vector_feedback=True)))
    with pytest.raises(ValueError, match=r"MicroBadgerConfig.vector_feedback = 1: must be"):
        MicroBadgerConfig(vector_feedback=1)


def test_multiplicative_gating_adds_its_weights_last_and_keeps_the_default_hash():
    from badgerlib import RunConfig
    from badgerlib.store import config_hash

    torch.manual_seed(0)
    plain = MicroBadger(MicroBadgerConfig(experts=3, hidden=4), dims=2)
    torch.manual_seed(0)
    gated = MicroBadger(MicroBadgerConfig(experts=3, hidden=4, multiplicative=True), dims=2)
    for name, p in plain.named_parameters():
        assert torch.equal(p, dict(gated.named_parameters())[name]), name
    assert set(dict(gated.named_parameters())) - set(dict(plain.named_parameters())) == {"w_mod", "b_mod"}
    assert config_hash(RunConfig()) != config_hash(RunConfig(model=MicroBadgerConfig(multiplicative=True)))
