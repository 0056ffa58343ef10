"""The objective and its per-dimension split: one definition, used by training and chapters."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, SineSumGame
from badgerlib.analysis.interference import flat_gradients
from badgerlib.objective import dimension_losses, objective, scored_steps
from badgerlib.run import build_model, probe_inputs


@pytest.mark.parametrize("loss_on", ["all", "last"])
@pytest.mark.parametrize("task", [GuessingGame(n=3), GuessingGame(n=3, metric="l1"), SineSumGame(m=7, frequencies=(1, 2))])
def test_dimension_losses_add_up_to_the_objective_and_its_gradient(loss_on, task):
    cfg = RunConfig(task=task, model=MicroBadgerConfig(experts=4, hidden=8), probe_batch=16, loss_on=loss_on,
                    inner_steps=5, dtype="float64")
    model = build_model(cfg)
    targets, h = probe_inputs(model, cfg)
    rollout = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h)
    losses = dimension_losses(rollout, cfg.task, loss_on)
    total = objective(rollout, loss_on)
    assert losses.shape == (task.dims,)
    assert torch.isclose(losses.sum(), total, rtol=1e-12)
    params = list(model.parameters())
    g = flat_gradients(list(losses), params)
    assert np.allclose(g.sum(axis=0), flat_gradients([total], params)[0], atol=1e-12)


def test_the_objective_is_the_feedback_the_experts_saw():
    feedback = torch.tensor([[1.0, 0.5, 0.25], [1.0, 0.3, 0.1]])
    rollout = type("R", (), {"feedback": feedback})()
    assert objective(rollout, "all") == pytest.approx(float(feedback[:, 1:].mean()))
    assert objective(rollout, "last") == pytest.approx(0.175)
    with pytest.raises(ValueError, match="loss_on = 'first'"):
        scored_steps(feedback, "first")
