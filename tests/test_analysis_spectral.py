"""Per-frequency convergence against hand-made guesses whose answer is known exactly, and
against an independent, loop-based DFT. Tolerances are float64 round-off (1e-9)."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from badgerlib.analysis import spectral
from badgerlib.analysis.spectral import active_frequencies, frequency_convergence, sine_sum_target

M = 41
X = 2 * np.pi * np.arange(M) / M
KS = [1, 2, 3, 5, 8]


def component(k, phase, amp=1.0):
    return amp * np.sin(k * X + phase)


def test_learned_unlearned_and_partial_frequencies():
    """A guess with amplitude a_k of each target component reads a_k at frequency k."""
    y = sine_sum_target(KS, m=M, phase=0.7)
    amps = [1.0, 0.0, 0.5, -0.25, 2.0]
    g = sum(a * component(k, 0.7) for a, k in zip(amps, KS))
    assert active_frequencies(y).tolist() == KS
    assert np.allclose(frequency_convergence(g, y), amps, atol=1e-9)
    assert np.allclose(frequency_convergence(y, y), 1.0, atol=1e-9)
    assert np.allclose(frequency_convergence(np.zeros(M), y), 0.0, atol=1e-9)


def test_projection_measures_phase_and_amplitude_ignores_it():
    """Right amplitude, phase off by d: projection cos(d), amplitude method 1."""
    y = component(3, 0.2)
    for d in (0.0, np.pi / 3, np.pi / 2, np.pi):
        g = component(3, 0.2 + d)
        assert frequency_convergence(g, y)[0] == pytest.approx(np.cos(d), abs=1e-9)
        assert frequency_convergence(g, y, method="amplitude")[0] == pytest.approx(1.0, abs=1e-9)


def test_matches_an_independent_direct_dft():
    """For a random guess, compare with the textbook sum G_k = sum_n g_n e^{-2 pi i k n / M}."""
    rng = np.random.default_rng(0)
    y = sine_sum_target(KS, m=M, phase=1.3)
    g = rng.standard_normal(M)
    n = np.arange(M)
    ref = []
    for k in KS:
        w = np.exp(-2j * np.pi * k * n / M)
        G, Y = (g * w).sum(), (y * w).sum()
        ref.append((G * np.conj(Y)).real / abs(Y) ** 2)
    assert np.allclose(frequency_convergence(g, y), ref, atol=1e-9)


def test_batches_broadcast_over_leading_axes():
    """Guesses (steps, batch, M) against targets (batch, M) with a phase per target: shape
    (steps, batch, K), and each step's value equals the step's scale factor."""
    phases = np.array([0.1, 1.0, 2.5])
    y = sine_sum_target(KS, m=M, phase=phases)             # (3, M)
    scale = np.linspace(0, 1, 6)[:, None, None]            # (6, 1, 1)
    out = frequency_convergence(scale * y, y)
    assert out.shape == (6, 3, len(KS))
    assert np.allclose(out, np.broadcast_to(scale, out.shape), atol=1e-9)
    single = frequency_convergence(0.5 * y[1], y[1])
    assert np.allclose(out[3, 1] * 0 + 0.5, single)


def test_explicit_frequencies_and_errors():
    y = sine_sum_target([2, 4], m=M)
    assert frequency_convergence(y, y, frequencies=[4]).shape == (1,)
    with pytest.raises(ValueError, match=r"no power at frequencies \[3\]"):
        frequency_convergence(y, y, frequencies=[3])
    with pytest.raises(ValueError, match="allowed are integers in 1..20"):
        frequency_convergence(y, y, frequencies=[25])
    with pytest.raises(ValueError, match="guess has 40 grid points and target 41"):
        frequency_convergence(np.zeros(40), y)
    with pytest.raises(ValueError, match="method='power'"):
        frequency_convergence(y, y, method="power")
    with pytest.raises(ValueError, match="no power"):
        frequency_convergence(y, np.ones(M))
    with pytest.raises(ValueError, match="frequencies"):
        sine_sum_target([21], m=M)


def test_docstring_examples_run():
    assert doctest.testmod(spectral).failed == 0
