"""Chapter 6's module: its runs, the controls that decide what "organisation" means (shared
inputs regressed out, experts shuffled across tasks) on systems whose answer is known, and the
tables over tiny trained runs."""
import numpy as np
import pandas as pd
import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.analysis.info import binding_information
from badgerlib.chapters import binding as ch
from badgerlib.store import config_hash


def tiny(experts=4, links=2, seed=0):
    return RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=experts, hidden=6, links=links),
                     inner_steps=4, iterations=60, batch=8, lr=3e-3, snapshot_count=3, probe_batch=8, seed=seed)


@pytest.fixture(scope="module")
def runs():
    groups = {"default": [train(tiny(seed=s), cache=False, progress=False) for s in range(2)],
              "no communication": [train(tiny(links=0, seed=s), cache=False, progress=False) for s in range(2)],
              "E = 2": [train(tiny(experts=2, links=1, seed=s), cache=False, progress=False) for s in range(2)]}
    return groups


def test_every_run_is_distinct_and_the_study_agent_is_the_default():
    for quick in (True, False):
        groups = ch.configs(quick)
        cfgs = [c for v in groups.values() for c in v]
        assert len({config_hash(c) for c in cfgs}) == len(cfgs)
        size = ch.sizes(quick)
        assert len(groups["default"]) == size.seeds == len(groups["no communication"])
        assert all(c.model.links == 0 for c in groups["no communication"])
    default = ch.configs(False)["default"][0]
    assert (default.model.experts, default.model.links, default.task.n) == (16, 4, 4)   # the study's figure
    assert ch.configs(False)["E = 32"][0].model.experts == 32
    with pytest.raises(ValueError, match="links = -1"):
        ch.variant_config(4, -1)


def test_removing_the_shared_inputs_leaves_only_what_experts_share_beyond_them():
    """Experts driven by one input all see, plus noise, are bound only through that input: with
    it regressed out their binding information falls to the floor. Experts who also share a
    private signal keep it."""
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((2000, 2))
    mixing = rng.standard_normal((2, 2))
    through_input = (shared @ mixing)[:, None, :] + 0.5 * rng.standard_normal((2000, 5, 2))
    private = rng.standard_normal((2000, 1, 2))
    beyond_input = through_input + private
    assert binding_information(through_input) > 1.0
    assert abs(binding_information(ch.residual_outputs(through_input, shared))) < 0.05
    assert binding_information(ch.residual_outputs(beyond_input, shared)) > 1.0


def test_shuffling_experts_reads_the_floor_and_keeps_each_expert():
    rng = np.random.default_rng(1)
    bound = rng.standard_normal((2000, 1, 2)) + 0.3 * rng.standard_normal((2000, 6, 2))
    shuffled = ch.shuffle_experts(bound)
    assert binding_information(bound) > 3.0 and abs(binding_information(shuffled)) < 0.05
    assert np.allclose(np.sort(shuffled, axis=0), np.sort(bound, axis=0))


def test_information_over_training_and_inner_steps_on_a_trained_agent(runs):
    run = runs["default"][0]
    frame = ch.information_over_training(run, batch=300)
    assert sorted(set(frame.view)) == sorted(ch.VIEWS)
    assert list(frame[frame.view == "raw"].iteration) == list(run.snapshots["iterations"])
    raw = frame[frame.view == "raw"].binding_information.to_numpy()
    floor = frame[frame.view == "shuffled"].binding_information.to_numpy()
    assert np.isfinite(raw).all() and (np.abs(floor) < 0.3).all() and (raw > floor).all()
    assert np.allclose(frame.o_information, frame.total_correlation - frame.binding_information)
    inner = ch.information_over_inner_steps(run, snapshot=-1, batch=300)
    assert sorted(set(inner.step)) == list(range(1, run.config.inner_steps + 1))


def test_run_and_expert_tables_one_row_per_run_and_per_expert_count(runs):
    info = {(g, r.config.seed): ch.information_over_training(r, batch=200) for g in ("default", "no communication")
            for r in runs[g]}
    table = ch.run_table(runs, info, solved=0.25)
    assert len(table) == 6 and set(table.group) == {"default", "no communication", "E = 2"}
    measured = table[table.group != "E = 2"]
    assert np.allclose(measured.b_growth, measured.b_end - measured.b_start)
    assert table[table.group == "E = 2"].b_growth.isna().all()
    assert (table.final_error > 0).all()
    size = ch.Sizes(experts=4, expert_counts=(2,), expert_seeds=2, iterations=60)
    experts = ch.expert_table(runs, size, batch=200)
    assert experts.experts.tolist() == [2, 4] and experts.runs.tolist() == [2, 2]
    assert np.isfinite(experts.o_information).all()
    axes = ch.plot_experts(experts)
    assert axes[1].get_xlabel() == "experts"


def test_inner_table_and_the_chapter_numbers_on_trained_agents(runs):
    inner = ch.inner_table(runs["default"], batch=200)
    assert len(inner) == 4 and set(inner.agent) == {"untrained", "trained"}
    assert np.allclose(inner.growth, inner.b_last - inner.b_first)
    info = {(g, r.config.seed): ch.information_over_training(r, batch=200) for g in ("default", "no communication")
            for r in runs[g]}
    table = ch.run_table(runs, info, solved=0.25, batch=200)
    assert (table.expert_r2 <= 1).all()
    size = ch.Sizes(experts=4, expert_counts=(2,), expert_seeds=2, iterations=60)
    experts = ch.expert_table(runs, size, batch=200)
    found = ch.findings(table, inner, size)
    assert found["growth"]["n"] == 2 and found["experts"]["n"] == 4
    numbers = ch.finding_numbers(found, table, experts)
    assert all(isinstance(v, str) and v for v in numbers.values())
    assert ch.verdict(found, experts, size, quick=True)["scale"].startswith("quick mode: 4 experts")


def synthetic_table(seed=0, runs=8):
    """A run table whose answer is known: the study's agent's B grows by 5 nats (4 of them with
    the shared inputs), the agent without communication by 1, the shuffled floor by 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, growth in (("default", 5.0), ("no communication", 1.0)):
        for s in range(runs):
            g = growth + 0.5 * rng.standard_normal()
            rows.append({"group": group, "seed": s, "experts": 16, "b_growth": g,
                         "b_growth_residual": 0.2 * g + 0.1 * rng.standard_normal(),
                         "b_growth_shuffled": 0.02 * rng.standard_normal(), "final_error": rng.uniform(0, 0.1),
                         "solve": 900.0 + 50 * s})
    inner = pd.DataFrame([{"seed": s, "agent": a, "growth": gr, "growth_residual": gr / 2}
                          for s in range(runs) for a, gr in (("untrained", 12.0 + s / 10), ("trained", 20.0))])
    return pd.DataFrame(rows), inner


def test_findings_read_a_known_answer_and_turn_when_the_data_contradict_it():
    """One number per run in, the chapter's intervals out: on a table whose answer is known the
    finding checks' quantities point the right way; with the agents' labels swapped, the
    shared inputs carrying nothing, or B flat, they point the other way (the notebook's checks
    would fail)."""
    table, inner = synthetic_table()
    size = ch.Sizes(expert_counts=(), expert_seeds=2)
    found = ch.findings(table, inner, size)
    assert found["growth"]["low"] > 0 and found["comm"]["low"] > 0
    assert abs(found["growth_shuffled"]["median"]) < 0.2
    assert found["shared"]["median"] > 0.5 * found["growth"]["median"]
    swapped = table.assign(group=table.group.map({"default": "no communication", "no communication": "default"}))
    assert ch.findings(swapped, inner, size)["comm"]["high"] < 0
    nothing_shared = table.assign(b_growth_residual=table.b_growth)
    assert ch.findings(nothing_shared, inner, size)["shared"]["median"] == 0
    flat = table.assign(b_growth=table.b_growth_shuffled)
    assert ch.findings(flat, inner, size)["growth"]["low"] < 0
