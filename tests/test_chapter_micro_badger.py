"""Chapter 1's module: the run it trains keeps its hash, its graph is the model's graph, and
the play summary reads a rollout's feedback the way the chapter reports it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from badgerlib.chapters import micro_badger
from badgerlib.chapters.micro_badger import PlaySummary, configs, expert_graph, play_summary, sizes
from badgerlib.run import build_model
from badgerlib.store import config_hash

#: The hashes of chapter 1's run before the chapter had a module (the notebook built the
#: config itself); the run store holds the runs under these names.
OLD_HASHES = {True: "ce4e6645ae51fdda", False: "b4aca771307823ca"}


@pytest.mark.parametrize("quick", [True, False])
def test_the_chapter_run_keeps_its_hash(quick):
    cfgs = configs(quick)
    assert list(cfgs) == ["agent"] and len(cfgs["agent"]) == 1
    assert config_hash(cfgs["agent"][0]) == OLD_HASHES[quick]


def test_config_follows_sizes_and_seed():
    size = sizes(False)
    cfg, = configs(False, seed=3)["agent"]
    assert (cfg.task.n, cfg.model.experts, cfg.model.hidden, cfg.model.links) == (size.n, size.experts,
                                                                                  size.hidden, size.links)
    assert (cfg.inner_steps, cfg.batch, cfg.lr, cfg.iterations, cfg.seed) == (size.inner_steps, size.batch,
                                                                              size.lr, size.iterations, 3)
    assert cfg.replace(seed=0) == configs(False)["agent"][0]


@pytest.mark.parametrize("bad", [{"quick": "yes"}, {"quick": True, "seed": -1}, {"quick": True, "seed": 1.5}])
def test_bad_arguments_name_the_field(bad):
    name = "seed" if "seed" in bad else "quick"
    with pytest.raises(ValueError, match=name):
        configs(**bad)


def test_expert_graph_is_the_graph_the_model_is_built_with():
    cfg, = configs(True, seed=5)["agent"]
    A = expert_graph(cfg)
    assert np.array_equal(A, build_model(cfg).adjacency.numpy())
    assert np.all(A.sum(axis=0) == cfg.model.links) and np.all(np.diag(A) == 0)


def test_untrained_agent_starts_at_the_zeros_level():
    """Step 0 is the given all-zeros guess: its mean feedback over many tasks is the task's
    zeros level (1 for the guessing game's MSE), whatever the agent."""
    cfg, = configs(True)["agent"]
    gen = torch.Generator().manual_seed(0)
    targets = cfg.task.sample_targets(2000, gen, torch.float32, "cpu")
    with torch.no_grad():
        rollout = build_model(cfg).rollout(cfg.task, targets, cfg.inner_steps, gen)
    play = play_summary(rollout.feedback, cfg.task.zeros_level)
    assert play.per_step.shape == (cfg.inner_steps + 1,)
    assert play.per_step[0] == pytest.approx(cfg.task.zeros_level, rel=0.05)
    assert play.per_step.dtype == np.float32   # averaged in the run's dtype, as the chapter did


def test_play_summary_reads_steps_and_percent():
    play = play_summary(np.array([[1.0, 0.3, 0.08, 0.01], [1.0, 0.5, 0.12, 0.03]]), zeros_level=0.5)
    assert play.per_step.tolist() == pytest.approx([1.0, 0.4, 0.1, 0.02])
    assert play.final_error == pytest.approx(0.02) and play.final_percent == pytest.approx(4.0)
    assert play.steps_to(0.1) == 3 and play.steps_to(0.5) == 2 and play.steps_to(0.01) is None
    assert PlaySummary(np.array([2.0, 2.0]), 1.0).steps_to(1.0) is None


def test_play_summary_rejects_bad_feedback():
    with pytest.raises(ValueError, match="play_summary: feedback"):
        play_summary(np.ones(5), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        play_summary(np.array([[1.0, np.nan]]), 1.0)


def test_module_docstring_names_its_parts():
    for name in ("configs", "expert_graph", "play_summary", "Sizes"):
        assert name in micro_badger.__doc__
