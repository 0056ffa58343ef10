"""DMD on systems whose modes are known (the positive control) and on ones that have none."""
import numpy as np
import pytest

from badgerlib import topology
from badgerlib.analysis.modes import dmd_forecast, dmd_modes


def test_dmd_recovers_the_eigenvalues_of_a_linear_system():
    rng = np.random.default_rng(0)
    eig = np.array([0.99, 0.9, 0.7, 0.5])
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    A = Q @ np.diag(eig) @ Q.T
    x = [rng.normal(size=4)]
    for _ in range(60):
        x.append(A @ x[-1])
    fit = dmd_modes(np.array(x), rank=4)
    assert np.allclose(np.sort(fit["eigs"].real), np.sort(eig), atol=1e-6)
    assert np.allclose(fit["eigs"].imag, 0, atol=1e-8) and fit["reconstruction_error"] < 1e-8
    assert (fit["growth"] < 0).all()


# pydmd warns about ill-conditioned data; here that is by design (a conserved consensus mode, a
# rank-one control), and the assertions check the result
@pytest.mark.filterwarnings("ignore:Input data condition number")
def test_dmd_of_consensus_reads_the_laplacian_spectrum():
    """Consensus x' = -L x sampled every dt is linear: its DMD eigenvalues are exp(-lambda dt)
    for the Laplacian's eigenvalues (the zero one stays at 1)."""
    A = topology.bidirectional_ring(6)
    dt = 0.2
    x = topology.consensus(A, dt * np.arange(80), np.random.default_rng(1).normal(size=6))
    fit = dmd_modes(x[:30], rank=6, dt=dt)             # before the fast modes fall below rounding
    rates = np.sort(-fit["growth"])
    expected = np.sort(topology.laplacian_spectrum(A).real)
    assert rates[0] == pytest.approx(0, abs=1e-6)
    assert rates[1] == pytest.approx(expected[1], rel=1e-4)


@pytest.mark.filterwarnings("ignore:Input data condition number")
def test_dmd_has_no_useful_modes_for_a_random_walk():
    walk = np.cumsum(np.random.default_rng(2).normal(size=(200, 8)), axis=0)
    fit = dmd_modes(walk, rank=8)
    linear = dmd_modes(np.outer(0.97 ** np.arange(200), np.ones(8)), rank=1)
    assert fit["reconstruction_error"] > 100 * linear["reconstruction_error"]
    with pytest.raises(ValueError, match="trajectory"):
        dmd_modes(np.zeros(10))


@pytest.mark.filterwarnings("ignore:Input data condition number")
def test_dmd_forecast_predicts_a_linear_system_and_not_a_random_walk():
    """The forecast criterion: a linear system's unseen half is predicted to rounding and far
    better than persistence; a random walk's is not (the modes fit the seen half only)."""
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = Q @ np.diag([0.98, 0.95, 0.9, 0.8, 0.7, 0.6]) @ Q.T
    x = [rng.normal(size=6)]
    for _ in range(39):
        x.append(A @ x[-1])
    lin = dmd_forecast(np.array(x), fit=20)
    assert lin["reconstruction_error"] < 1e-8 and lin["forecast_error"] < 1e-6
    assert lin["persistence_error"] > 0.1
    walk = np.cumsum(rng.normal(size=(40, 6)), axis=0)
    rw = dmd_forecast(walk, fit=20)
    assert rw["forecast_error"] > 100 * lin["forecast_error"]
    assert rw["forecast_error"] > 0.5 * rw["persistence_error"]
    with pytest.raises(ValueError, match="fit"):
        dmd_forecast(walk, fit=40)
