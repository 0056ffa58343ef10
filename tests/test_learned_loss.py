"""The meta-learned loss (ML3): its network starts as the task's squared error, its
meta-gradient is the derivative of the lookahead (checked by finite differences), meta-training
is deterministic, and a run names it by recipe and finds it in its own run store."""
import dataclasses

import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.learned_loss import (
    LearnedLossConfig, LossNet, _pretrain, load, lookahead, loss_path, meta_train, resolve,
)
from badgerlib.objective import objective
from badgerlib.run import build_model
from badgerlib.store import config_hash

TINY = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=3, hidden=4, message=2), inner_steps=3,
                 batch=8, lr=0.01, iterations=20, snapshot_count=2, probe_batch=4)


def _grad(model, loss):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(model.parameters()))])


def test_the_pretrained_loss_network_gives_the_objectives_gradient():
    """Started at the task's squared error, the learned loss's gradient in the agent's weights
    points where the objective's does; an unpretrained network's does not."""
    base = RunConfig(task=GuessingGame(n=3))
    model, gen = build_model(base), torch.Generator().manual_seed(1)
    targets = base.task.sample_targets(64, gen)
    torch.manual_seed(0)
    fresh, fitted = LossNet(16), LossNet(16)
    fitted.load_state_dict(fresh.state_dict())
    _pretrain(fitted, base.task, 500, torch.Generator().manual_seed(0))

    def cosine(net):
        r = model.rollout(base.task, targets, base.inner_steps, torch.Generator().manual_seed(2))
        g_net = _grad(model, net.loss(r.guesses, r.targets))
        r = model.rollout(base.task, targets, base.inner_steps, torch.Generator().manual_seed(2))
        g_obj = _grad(model, objective(r))
        return float(torch.nn.functional.cosine_similarity(g_net, g_obj, dim=0))

    assert cosine(fitted) > 0.95
    assert cosine(fresh) < 0.9


def test_the_meta_gradient_is_the_lookaheads_derivative():
    """The loss network's gradient of the lookahead objective (through the agent's step)
    matches central finite differences, in float64."""
    base = TINY.replace(dtype="float64")
    model, gen = build_model(base), torch.Generator().manual_seed(0)
    net = LossNet(3).double()
    first = (base.task.sample_targets(4, gen, torch.float64), model.initial_noise(4, gen))
    second = (base.task.sample_targets(4, gen, torch.float64), model.initial_noise(4, gen))
    params = dict(model.named_parameters())

    def value():
        return lookahead(net, model, params, base, first, second, 0.05)[0]

    grads = torch.autograd.grad(value(), list(net.parameters()))
    rng = np.random.default_rng(0)
    for p, g in zip(net.parameters(), grads):
        for flat in rng.choice(p.numel(), size=min(3, p.numel()), replace=False):
            index = np.unravel_index(flat, p.shape)
            eps, old = 1e-5, p.data[index].item()
            p.data[index] = old + eps
            up = value().item()
            p.data[index] = old - eps
            down = value().item()
            p.data[index] = old
            assert g[index].item() == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)


def test_meta_training_is_deterministic_and_measures_the_plain_lookahead():
    spec = LearnedLossConfig(base=TINY, hidden=4, meta_iterations=6, episode=3, pretrain=20, compare_every=2)
    a, b = meta_train(spec), meta_train(spec)
    for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values()):
        assert torch.equal(x, y)
    assert a.history["iteration"].tolist() == [0, 2, 4]
    assert np.array_equal(a.history["learned"], b.history["learned"])
    assert np.all(np.isfinite(a.history["plain"])) and np.all(np.isfinite(a.history["before"]))
    # meta-training moved the network away from where pretraining left it
    c = meta_train(dataclasses.replace(spec, meta_iterations=0))
    assert not all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), c.net.state_dict().values()))


def test_a_run_names_its_learned_loss_by_recipe(tmp_path):
    spec = LearnedLossConfig(base=TINY, hidden=4, meta_iterations=4, episode=2, pretrain=20)
    cfg = TINY.replace(gradient="ml3", learned_loss=spec)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert config_hash(cfg) != config_hash(cfg.replace(learned_loss=dataclasses.replace(spec, seed=1)))
    run = train(cfg, runs_dir=tmp_path, progress=False)
    stored = load(spec, loss_path(spec, tmp_path))            # meta-trained beside the run
    assert stored is not None
    assert all(torch.equal(x, y) for x, y in zip(stored.net.state_dict().values(),
                                                  resolve(spec).net.state_dict().values()))
    assert run.history["loss"].shape == (20,) and np.all(np.isfinite(run.history["loss"]))
    # the history records the task's own objective, not the learned loss: before the first
    # update it is the plain run's (same weights, same batch)
    plain = train(TINY, runs_dir=tmp_path, progress=False)
    assert run.history["loss"][0] == plain.history["loss"][0]
    assert not np.array_equal(run.history["loss"], plain.history["loss"])
    rerun = train(cfg, runs_dir=tmp_path / "again", progress=False)
    assert np.array_equal(run.history["loss"], rerun.history["loss"])


def test_ml3_and_a_learned_loss_go_together():
    spec = LearnedLossConfig(base=TINY)
    with pytest.raises(ValueError, match="gradient 'ml3' needs a learned_loss"):
        RunConfig(gradient="ml3")
    with pytest.raises(ValueError, match="learned_loss"):
        RunConfig(learned_loss=spec)
    with pytest.raises(ValueError, match="RunConfig.learned_loss = 3"):
        RunConfig(gradient="ml3", learned_loss=3)
    with pytest.raises(ValueError, match="LearnedLossConfig.base.task"):
        LearnedLossConfig(base=RunConfig(task=GuessingGame(n=2, metric="l1")))


def test_the_default_run_keeps_its_hash():
    """``learned_loss`` left at None is left out of the hash, so every stored run keeps its own."""
    data = RunConfig().to_dict()
    assert data.pop("learned_loss") is None
    from badgerlib.store import _neutral
    assert "learned_loss" not in _neutral(RunConfig().to_dict())
