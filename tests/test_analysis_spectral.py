"""Per-frequency convergence against hand-made guesses whose answer is known exactly, and
against an independent, loop-based DFT. Tolerances are float64 round-off (1e-9)."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from badgerlib.analysis import spectral
from badgerlib.analysis.spectral import (
    active_frequencies, convergence_by_iteration, convergence_by_step, frequency_convergence, frequency_error,
    sine_sum_target,
)

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


def learning_snapshots(learn_at, iterations, phases, ks=(1, 2, 3, 4, 5), m=21, steps=1, width=5.0):
    """Snapshots of a learner that learns frequency k along a logistic curve centred on
    ``learn_at[k]``: the guess at snapshot t is sum_k a_k(t) sin(k x + phi) at every inner step
    after step 0 (the all-zeros guess). Returns the snapshots and the amplitudes a (K, F)."""
    x = 2 * np.pi * np.arange(m) / m
    phases = np.asarray(phases)
    amps = 1 / (1 + np.exp(-(np.asarray(iterations)[:, None] - np.asarray(learn_at)[None]) / width))  # (K, F)
    comps = np.stack([np.sin(k * x + phases[:, None]) for k in ks], axis=1)     # (P, F, M)
    guess = np.einsum("tf,pfm->tpm", amps, comps)                               # (K, P, M)
    guesses = np.repeat(guess[:, :, None, :], steps + 1, axis=2)
    guesses[:, :, 0] = 0.0
    return {"iterations": np.asarray(iterations), "targets": comps.sum(axis=1), "guesses": guesses}, amps


def test_convergence_maps_recover_the_learning_curves():
    """Over training, c_k of the last guess is the amplitude a_k(t) of each snapshot; over the
    inner loop of the last snapshot, 0 at step 0 and a_k(T) after it."""
    its = np.arange(0, 200, 10)
    snaps, amps = learning_snapshots([20, 50, 80, 110, 140], its, phases=[0.3, 1.7, 4.0], steps=3)
    assert np.allclose(convergence_by_iteration(snaps), amps, atol=1e-9)
    assert np.allclose(convergence_by_iteration(snaps, [2, 4], step=0), 0.0, atol=1e-9)
    by_step = convergence_by_step(snaps, (1, 2, 3, 4, 5))
    assert by_step.shape == (4, 5)
    assert np.allclose(by_step[0], 0.0) and np.allclose(by_step[1:], amps[-1], atol=1e-9)
    assert np.allclose(convergence_by_step(snaps, snapshot=5)[1], amps[5], atol=1e-9)


def test_convergence_maps_reject_what_is_not_a_runs_snapshots():
    snaps, _ = learning_snapshots([20, 50, 80, 110, 140], np.arange(0, 50, 10), phases=[0.3, 1.7])
    with pytest.raises(ValueError, match="snapshots has no 'targets'"):
        convergence_by_iteration({"guesses": snaps["guesses"]})
    with pytest.raises(ValueError, match=r"expected \(snapshots, probe tasks, steps \+ 1, M\)"):
        convergence_by_step({"guesses": snaps["guesses"][0], "targets": snaps["targets"]})
    with pytest.raises(ValueError, match="no snapshots"):
        convergence_by_iteration({"guesses": snaps["guesses"][:0], "targets": snaps["targets"]})


def test_frequency_error_closed_forms():
    y = sine_sum_target([1, 2, 3], m=21, phase=0.4)
    x = 2 * np.pi * np.arange(21) / 21
    g = np.sin(x + 0.4) + 0.25 * np.sin(2 * x + 0.4) + np.sin(3 * x + 0.4 + np.pi / 2)
    # |G - Y| / |Y|: 0; 0.75; |e^{i pi/2} - 1| = sqrt(2)
    assert np.allclose(frequency_error(g, y), [0.0, 0.75, np.sqrt(2)], atol=1e-9)
    assert np.allclose(frequency_error(np.zeros(21), y), 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="no power"):
        frequency_error(g, y, frequencies=[4])


def test_docstring_examples_run():
    assert doctest.testmod(spectral).failed == 0
