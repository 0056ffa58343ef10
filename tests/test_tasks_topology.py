"""The guessing game's feedback and the expert graphs."""
import numpy as np
import pytest
import torch

from badgerlib import GuessingGame, topology


@pytest.mark.parametrize("metric", ["mse", "l1"])
def test_zeros_guess_scores_one_on_average(metric):
    game = GuessingGame(n=50, metric=metric)
    targets = game.sample_targets(4000, torch.Generator().manual_seed(0), torch.float64)
    fb = game.feedback(torch.zeros_like(targets), targets)
    assert fb.mean().item() == pytest.approx(game.zeros_level, abs=0.01)
    assert targets.min() >= -1 and targets.max() <= 1


def test_feedback_is_one_scalar_per_task_and_zero_at_target():
    game = GuessingGame(n=4)
    targets = game.sample_targets(3, torch.Generator().manual_seed(1))
    assert game.feedback(targets, targets).shape == (3,)
    assert torch.all(game.feedback(targets, targets) == 0)
    assert game.feedback(targets + 0.1, targets) == pytest.approx(3 * 0.01, rel=1e-4)


def test_same_seed_same_targets():
    game = GuessingGame(n=3)
    a = game.sample_targets(5, torch.Generator().manual_seed(7))
    b = game.sample_targets(5, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_random_graph_has_k_out_links_no_self_links_and_depends_on_seed():
    A = topology.random_k_out(10, 3, seed=4)
    assert A.sum(axis=0).tolist() == [3.0] * 10
    assert np.all(np.diag(A) == 0)
    assert np.array_equal(A, topology.random_k_out(10, 3, seed=4))
    assert not np.array_equal(A, topology.random_k_out(10, 3, seed=5))


def test_bad_links_are_refused():
    with pytest.raises(ValueError, match=r"links = 5: must be an integer in \[0, 3\] for 4 experts"):
        topology.random_k_out(4, 5, seed=0)


def test_strong_connectivity_and_laplacian_spectrum():
    assert topology.is_strongly_connected(topology.ring(6))
    A = topology.ring(6)
    A[0, 5] = 0  # cut the ring: a path is not strongly connected
    assert not topology.is_strongly_connected(A)
    # Directed ring: Laplacian eigenvalues are 1 - exp(2 pi i k / n), complex in general.
    eig = topology.laplacian_spectrum(topology.ring(6))
    expected = 1 - np.exp(2j * np.pi * np.arange(6) / 6)
    assert np.allclose(np.sort_complex(eig), np.sort_complex(expected))
    assert topology.to_networkx(topology.complete(4)).number_of_edges() == 12


def test_mean_aggregator_rows():
    A = np.array([[0, 1, 1], [0, 0, 0], [1, 0, 0]], dtype=float)
    M = topology.mean_aggregator(A)
    assert M.tolist() == [[0, 0.5, 0.5], [0, 0, 0], [1, 0, 0]]


# ---- graph families, spectra and consensus (chapter 7's tools) ----------------------------------
E = 12


@pytest.mark.parametrize("name", topology.TOPOLOGIES)
def test_every_family_is_a_graph_without_self_links_named_by_build(name):
    A = topology.build(name, E, 3, seed=2)
    assert A.shape == (E, E) and set(np.unique(A)) <= {0.0, 1.0}
    assert np.all(np.diag(A) == 0)
    assert np.array_equal(A, topology.build(name, E, 3, seed=2))


def test_families_have_the_links_their_definitions_say():
    assert topology.bidirectional_ring(E).sum() == 2 * E
    assert topology.chain(E).sum() == E - 1 and topology.star(E).sum() == 2 * (E - 1)
    hub = topology.star(E)
    assert hub[0, 1:].all() and hub[1:, 0].all() and hub[1:, 1:].sum() == 0
    sw = topology.small_world(E, 5, seed=1)
    assert np.array_equal(sw, sw.T) and sw.sum() == 2 * E + 2 * 5
    assert np.all(sw[topology.bidirectional_ring(E) == 1] == 1)          # the ring is kept
    halves = topology.two_halves(E, 3, seed=1)
    assert halves[: E // 2, E // 2:].sum() == 0 and halves[E // 2:, : E // 2].sum() == 0
    assert halves.sum(axis=0).tolist() == [3.0] * E


def test_connectivity_of_each_family():
    strong = {name: topology.is_strongly_connected(topology.build(name, E, 3, 0)) for name in topology.TOPOLOGIES}
    assert strong == {"random": True, "ring": True, "bidirectional_ring": True, "chain": False, "star": True,
                      "complete": True, "small_world": True, "two_halves": False}
    assert topology.has_spanning_tree(topology.chain(E)) and not topology.has_spanning_tree(topology.two_halves(E, 3, 0))
    assert not topology.has_spanning_tree(np.zeros((3, 3)))


@pytest.mark.parametrize("call, message", [
    (lambda: topology.build("torus", 8), r"build.topology = 'torus': must be one of \('random', 'ring'"),
    (lambda: topology.build("two_halves", 8, 4), r"build.links = 4: must be an integer in \[0, 3\] for two_halves with 8"),
    (lambda: topology.build("small_world", 5, 6), r"build.links = 6: must be an integer in \[0, 5\] for small_world"),
    (lambda: topology.chain(0), r"experts = 0: must be an integer >= 1"),
])
def test_bad_graph_arguments_are_refused_with_the_field_and_what_is_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_config_accepts_every_family_and_checks_links_per_family():
    from badgerlib import MicroBadgerConfig

    for name in topology.TOPOLOGIES:
        MicroBadgerConfig(experts=8, topology=name, links=3)
    MicroBadgerConfig(experts=8, topology="ring", links=7)               # ignored by the ring
    with pytest.raises(ValueError, match=r"MicroBadgerConfig.links = 4: must be an integer in \[0, 3\] for two_halves"):
        MicroBadgerConfig(experts=8, topology="two_halves", links=4)


def test_spectra_match_closed_forms():
    k = np.arange(E)
    ring = topology.laplacian_spectrum(topology.ring(E))
    assert np.allclose(np.sort_complex(ring), np.sort_complex(1 - np.exp(2j * np.pi * k / E)))
    both = topology.laplacian_spectrum(topology.bidirectional_ring(E))
    assert np.allclose(np.sort(both.real), np.sort(2 - 2 * np.cos(2 * np.pi * k / E))) and np.allclose(both.imag, 0)
    full = topology.laplacian_spectrum(topology.complete(E))
    assert np.allclose(full, [0] + [E] * (E - 1))
    chain = topology.laplacian_spectrum(topology.chain(E))          # triangular: its diagonal
    assert np.allclose(chain, [0] + [1] * (E - 1))
    star = topology.laplacian_spectrum(topology.star(E))             # 0, 1 (E-2 times), E
    assert np.allclose(star, [0] + [1] * (E - 2) + [E])
    # normalised: a regular graph's spectrum divided by its degree
    assert np.allclose(topology.laplacian_spectrum(topology.complete(E), normalized=True), [0] + [E / (E - 1)] * (E - 1))
    assert topology.spectral_gap(topology.ring(E)) == pytest.approx(1 - np.cos(2 * np.pi / E))
    assert topology.spectral_gap(topology.two_halves(E, 2, 0)) == 0.0


def test_networkx_symmetric_spectrum_would_be_wrong_for_a_directed_ring():
    import networkx as nx

    wrong = nx.laplacian_spectrum(topology.to_networkx(topology.ring(E)).to_undirected())
    right = topology.laplacian_spectrum(topology.ring(E))
    assert not np.allclose(np.sort(wrong), np.sort(right.real))


@pytest.mark.parametrize("name", ["random", "ring", "bidirectional_ring", "star", "complete", "small_world"])
@pytest.mark.parametrize("normalized", [False, True])
def test_consensus_converges_at_the_rate_the_spectrum_predicts(name, normalized):
    A = topology.build(name, E, 3, seed=4)
    x0 = np.random.default_rng(1).normal(size=E)
    assert topology.consensus_rate(A, x0, normalized) == pytest.approx(topology.spectral_gap(A, normalized), rel=1e-3)


def test_consensus_never_agrees_across_halves_and_a_chain_lags_its_gap():
    x0 = np.random.default_rng(1).normal(size=E)
    assert topology.consensus_rate(topology.two_halves(E, 2, 0), x0) == pytest.approx(0.0, abs=1e-6)
    halves = topology.consensus(topology.two_halves(E, 2, 0), [200.0], x0)[0]
    assert np.ptp(halves[: E // 2]) < 1e-8 and np.ptp(halves[E // 2:]) < 1e-8 and np.ptp(halves) > 1e-3
    # an (E-1)-fold eigenvalue 1 in one Jordan block: |y| ~ t^(E-2) exp(-t), so the slope fitted
    # over t in [100, 200] is 1 - (E - 2) ln 2 / 100, below the gap
    chain = topology.consensus_rate(topology.chain(E), x0, t_max=200.0)
    assert chain == pytest.approx(1 - (E - 2) * np.log(2) / 100, abs=2e-3)


def test_hop_distances_are_breadth_first_distances():
    D = topology.hop_distances(topology.ring(5))
    assert D[3, 0] == 3 and D[0, 3] == 2 and D[0, 0] == 0
    assert np.isinf(topology.hop_distances(topology.chain(4))[0, 3])
    assert topology.hop_distances(topology.complete(4)).max() == 1


def test_the_sine_sum_games_phase_modes():
    """'shared' is the stored default (same draws, same hash); 'shift' is a shift in x;
    'per_frequency' draws one phase per frequency; every mode scores the zeros guess at 1."""
    import torch

    from badgerlib import RunConfig
    from badgerlib.store import config_hash
    from badgerlib.tasks import SineSumGame, sine_sum

    base = SineSumGame(m=21, frequencies=(1, 2, 3))
    assert base.phase_mode == "shared"
    assert config_hash(RunConfig(task=base)) == config_hash(RunConfig(task=SineSumGame(m=21, frequencies=(1, 2, 3),
                                                                                       phase_mode="shared")))
    assert "phase_mode" not in __import__("badgerlib.store", fromlist=["_neutral"])._neutral(
        RunConfig(task=base).to_dict())["task"]
    assert config_hash(RunConfig(task=base)) != config_hash(RunConfig(task=SineSumGame(m=21, frequencies=(1, 2, 3),
                                                                                       phase_mode="shift")))
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    shared = base.sample_targets(256, gen(), torch.float64)
    phi = 2 * torch.pi * torch.rand(256, 1, generator=gen(), dtype=torch.float64)
    assert torch.equal(shared, sine_sum((1, 2, 3), 21, phi))                     # the draws of before
    shift = SineSumGame(m=21, frequencies=(1, 2, 3), phase_mode="shift").sample_targets(256, gen(), torch.float64)
    grid = 2 * torch.pi * torch.arange(21, dtype=torch.float64) / 21
    assert torch.allclose(shift, sum(torch.sin(k * (grid + phi)) for k in (1, 2, 3)))
    per = SineSumGame(m=21, frequencies=(1, 2, 3), phase_mode="per_frequency")
    y = per.sample_targets(4096, gen(), torch.float64)
    # the DFT phases of frequencies 1 and 2 are independent per task (shared: they differ by a constant)
    f = torch.fft.rfft(y, dim=-1)
    d = torch.angle(f[:, 2]) - torch.angle(f[:, 1])
    assert abs(torch.cos(d).mean()) < 0.05
    fs = torch.fft.rfft(shared, dim=-1)
    assert torch.cos(torch.angle(fs[:, 2]) - torch.angle(fs[:, 1])).std() < 1e-6
    for game in (base, per, SineSumGame(m=21, frequencies=(1, 2, 3), phase_mode="shift")):
        targets = game.sample_targets(4096, gen(), torch.float64)
        assert float(game.feedback(torch.zeros_like(targets), targets).mean()) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="SineSumGame.phase_mode = 'random': must be one of"):
        SineSumGame(phase_mode="random")


def test_a_sine_sum_target_fixed_per_frequency():
    """A supervised target in the 'per_frequency' mode: one phase per frequency, fixed; it
    survives the config's round trip and a bad one is refused with its field named."""
    import torch

    from badgerlib import RunConfig
    from badgerlib.tasks import SineSumGame, sine_sum

    game = SineSumGame(m=21, frequencies=(1, 2, 3), phase=[0.1, 2.0, 4.0], phase_mode="per_frequency")
    assert game.phase == (0.1, 2.0, 4.0)
    y = game.sample_targets(5, torch.Generator().manual_seed(0), torch.float64)
    fixed = torch.tensor([[0.1, 2.0, 4.0]], dtype=torch.float64)
    assert torch.equal(y, sine_sum((1, 2, 3), 21, fixed, "per_frequency").expand(5, 21))
    cfg = RunConfig(task=game)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"SineSumGame.phase = \(0.1, 2.0\): one phase per frequency .* 3 phases"):
        SineSumGame(m=21, frequencies=(1, 2, 3), phase=(0.1, 2.0), phase_mode="per_frequency")
    with pytest.raises(ValueError, match="only with phase_mode 'per_frequency'"):
        SineSumGame(m=21, frequencies=(1, 2, 3), phase=(0.1, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"SineSumGame.phase\[1\]"):
        SineSumGame(m=21, frequencies=(1, 2, 3), phase=(0.1, float("nan"), 3.0), phase_mode="per_frequency")
