"""Chapter 1's module: the run it trains keeps its hash, its graph is the model's graph, and
the play summary reads a rollout's feedback the way the chapter reports it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from badgerlib.chapters import micro_badger
from badgerlib.chapters.micro_badger import (PlaySummary, configs, expert_graph, play_summary, plot_view,
                                             sizes, step_table, training_summary)
from badgerlib.chapters.phases import synthetic_history
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


def test_best_step_is_the_lowest_mean_feedback():
    assert PlaySummary(np.array([1.0, 0.2, 0.05, 0.08]), 1.0).best_step == 2
    assert PlaySummary(np.array([1.0, 0.1, 0.1]), 1.0).best_step == 1


def test_step_table_is_formatted_for_the_book():
    table = step_table(PlaySummary(np.array([2.0, 0.5, 0.02], dtype=np.float32), zeros_level=2.0))
    assert list(table.columns) == ["inner step", "mean feedback (zeros level = 1)", "in % of the zeros level"]
    assert table.values.tolist() == [["0 (all zeros)", "1.0000", "100.0"], ["1", "0.2500", "25.0"],
                                     ["2", "0.0100", "1.0"]]
    assert not table.isna().any().any()
    with pytest.raises(ValueError, match="step_table: play"):
        step_table(np.ones(3))


def test_training_summary_finds_the_escape_and_the_converged_plateau():
    h = synthetic_history([("zeros", 500), (1, 300), (2, 300), (3, 600)], n=3, noise=0.05, seed=1)
    s = training_summary(h["last_error"], n=3)
    assert 490 <= s.left_zeros <= 530
    assert 1100 <= s.converged_from <= 1140
    assert [round(v) for v in s.levels] == [3, 2, 1, 0]


def test_training_summary_reports_none_when_the_run_ends_unsolved():
    h = synthetic_history([("zeros", 500), (1, 600)], n=2, noise=0.05, seed=0)
    s = training_summary(h["last_error"], n=2)
    assert s.converged_from is None and s.left_zeros is not None
    stuck = training_summary(synthetic_history([("zeros", 800)], n=2, seed=0)["last_error"], n=2)
    assert stuck.left_zeros is None and stuck.converged_from is None and len(stuck.levels) == 1
    with pytest.raises(ValueError, match="training_summary: last_error"):
        training_summary(np.ones((3, 3)), n=2)


def test_plot_view_marks_the_step_and_keeps_every_target_off_the_frame():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    guesses = rng.uniform(-0.5, 0.5, size=(3, 5, 3))
    targets = np.array([[0.1, 0.2, 0.3], [-0.99, 0.0, 0.99], [0.5, 0.5, 0.5]])
    fig = plot_view(guesses, targets, np.ones((3, 5)), task=1, step=4)
    left = fig.axes[0]
    low, high = left.get_ylim()
    assert low < -0.99 - 0.05 and high > 0.99 + 0.05      # target lines inside, not on the frame
    assert "task 1, step 4" in fig._suptitle.get_text() and "+0.99" in fig._suptitle.get_text()
    assert any(line.get_xdata()[0] == 4 for line in left.get_lines())   # the step is marked
    plt.close(fig)


def test_module_docstring_names_its_parts():
    for name in ("configs", "expert_graph", "play_summary", "step_table", "training_summary", "plot_view",
                 "Sizes"):
        assert name in micro_badger.__doc__
