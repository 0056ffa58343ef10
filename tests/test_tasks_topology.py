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
