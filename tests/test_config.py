"""Config validation names the field, the value and what is allowed; dicts round-trip."""
import json

import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig


@pytest.mark.parametrize("make, message", [
    (lambda: MicroBadgerConfig(experts=0), r"MicroBadgerConfig.experts = 0: must be an integer in \[1, 4096\]"),
    (lambda: MicroBadgerConfig(experts=4, links=4), r"MicroBadgerConfig.links = 4: must be an integer in \[0, 3\]"),
    (lambda: MicroBadgerConfig(topology="torus"), r"MicroBadgerConfig.topology = 'torus': must be one of"),
    (lambda: MicroBadgerConfig(features=()), r"MicroBadgerConfig.features = \(\): must be a non-empty subset"),
    (lambda: MicroBadgerConfig(init_noise=-1.0), r"MicroBadgerConfig.init_noise = -1.0: must be a number in \[0.0, 10.0\]"),
    (lambda: MicroBadgerConfig(per_expert_readout="yes"), r"MicroBadgerConfig.per_expert_readout = 'yes': must be True or False"),
    (lambda: GuessingGame(n=2.5), r"GuessingGame.n = 2.5: must be an integer"),
    (lambda: GuessingGame(metric="l3"), r"GuessingGame.metric = 'l3': must be one of \('mse', 'l1'\)"),
    (lambda: RunConfig(lr=0.0), r"RunConfig.lr = 0.0: must be a number in \(0.0, 1.0\]"),
    (lambda: RunConfig(lr=float("nan")), r"RunConfig.lr = nan"),
    (lambda: RunConfig(batch=0), r"RunConfig.batch = 0: must be an integer in \[1, 1000000\]"),
    (lambda: RunConfig(loss_on="first"), r"RunConfig.loss_on = 'first': must be one of \('all', 'last'\)"),
    (lambda: RunConfig(dtype="float16"), r"RunConfig.dtype = 'float16'"),
    (lambda: RunConfig(task="guessing"), r"RunConfig.task = 'guessing': must be a task"),
    (lambda: RunConfig(model=GuessingGame()), r"RunConfig.model = GuessingGame"),
    (lambda: RunConfig(seed=True), r"RunConfig.seed = True: must be an integer"),
])
def test_bad_values_are_refused_with_a_clear_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_dict_round_trip_through_json():
    cfg = RunConfig(task=GuessingGame(n=5, metric="l1"),
                    model=MicroBadgerConfig(experts=6, features=("error", "log_error"), per_expert_readout=True),
                    iterations=7, seed=9, loss_on="last")
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert isinstance(again.model.features, tuple)


def test_unknown_fields_are_named():
    data = RunConfig().to_dict()
    data["model"]["width"] = 3
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['width'\]"):
        RunConfig.from_dict(data)


def test_configs_are_frozen_and_defaults_are_sensible():
    cfg = RunConfig()
    with pytest.raises(Exception):
        cfg.seed = 3
    assert MicroBadgerConfig(experts=2).links == 1
    assert GuessingGame(metric="l1").zeros_level == pytest.approx(1.0)
