"""Per-frequency convergence of a guess towards a target sampled on a DFT grid (F-principle).

For a target ``y`` sampled at M points of one period and a guess ``g`` on the same grid,
frequency k is measured by projecting the guess's DFT coefficient onto the target's:

    c_k = Re(G_k * conj(Y_k)) / |Y_k|^2

1.0 when the guess has learned that frequency (amplitude and phase), 0 when it has nothing of
it, and in between the fraction learned; a right amplitude at the wrong phase reads
cos(phase error). ``method="amplitude"`` gives |G_k| / |Y_k| instead, which ignores the phase.
Everything works on batches: leading axes are kept, the grid is the last axis.

Example
-------
>>> import numpy as np
>>> x = 2 * np.pi * np.arange(41) / 41
>>> target = np.sin(x) + np.sin(3 * x + 1.0)
>>> guess = np.sin(x) + 0.5 * np.sin(3 * x + 1.0)       # k=1 learned, k=3 half-way
>>> frequency_convergence(guess, target).round(3).tolist()
[1.0, 0.5]
"""
from __future__ import annotations

import numpy as np

__all__ = ["frequency_convergence", "active_frequencies", "sine_sum_target"]

#: A DFT bin counts as present in the target when its power exceeds this fraction of the
#: strongest bin's (float64 leakage of an exact grid is ~1e-30 of it).
POWER_RTOL = 1e-12


def _grid(a, fn: str, name: str) -> np.ndarray:
    try:
        x = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{fn}: {name} must be a numeric array, got {type(a).__name__}") from err
    if x.ndim < 1 or x.shape[-1] < 3:
        raise ValueError(f"{fn}: {name} has shape {x.shape}; the last axis (the grid) needs >= 3 points")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{fn}: {name} contains NaN or infinite values; only finite values are allowed")
    return x


def active_frequencies(target) -> np.ndarray:
    """The integer frequencies 1..M//2 present in every target of a batch (last axis: grid).

    Example
    -------
    >>> import numpy as np
    >>> x = 2 * np.pi * np.arange(16) / 16
    >>> active_frequencies(np.cos(2 * x) + np.sin(5 * x)).tolist()
    [2, 5]
    """
    y = _grid(target, "active_frequencies", "target")
    power = np.abs(np.fft.rfft(y, axis=-1)) ** 2
    power = power.reshape(-1, power.shape[-1])
    present = power > POWER_RTOL * power.max(axis=-1, keepdims=True)
    return np.flatnonzero(present.all(axis=0)[1:]) + 1  # skip the mean (k = 0)


def frequency_convergence(guess, target, frequencies=None, *, method: str = "projection") -> np.ndarray:
    """Convergence of ``guess`` to ``target`` per frequency, shape (..., len(frequencies)).

    ``guess`` and ``target`` hold samples of one period on the last axis (M points) and
    broadcast against each other on the leading axes (e.g. guesses of shape
    (steps, batch, M) against targets (batch, M)). ``frequencies`` are integer DFT bins in
    1..M//2; by default every bin the target has power in (:func:`active_frequencies`). A
    requested bin without target power is an error, since there is nothing to converge to.

    ``method``: ``"projection"`` (default) Re(G_k conj(Y_k)) / |Y_k|^2, phase-aware;
    ``"amplitude"`` |G_k| / |Y_k|.

    Example
    -------
    >>> import numpy as np
    >>> y = sine_sum_target([1, 2, 3], m=41, phase=0.3)
    >>> steps = np.linspace(0, 1, 5)[:, None] * y            # a guess growing towards y
    >>> frequency_convergence(steps, y)[:, 0].round(6).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    fn = "frequency_convergence"
    g, y = _grid(guess, fn, "guess"), _grid(target, fn, "target")
    if g.shape[-1] != y.shape[-1]:
        raise ValueError(f"{fn}: guess has {g.shape[-1]} grid points and target {y.shape[-1]}; they must match")
    if method not in ("projection", "amplitude"):
        raise ValueError(f"{fn}: method={method!r}; allowed are 'projection', 'amplitude'")
    m = y.shape[-1]
    if frequencies is None:
        ks = active_frequencies(y)
        if ks.size == 0:
            raise ValueError(f"{fn}: target has no power at any frequency 1..{m // 2}")
    else:
        ks = np.atleast_1d(np.asarray(frequencies))
        if ks.ndim != 1 or not np.issubdtype(ks.dtype, np.integer) or ks.min() < 1 or ks.max() > m // 2:
            raise ValueError(f"{fn}: frequencies={frequencies!r}; allowed are integers in 1..{m // 2}")
    G = np.fft.rfft(g, axis=-1)[..., ks]
    Y = np.fft.rfft(y, axis=-1)[..., ks]
    power = np.abs(Y) ** 2
    floor = POWER_RTOL * (np.abs(np.fft.rfft(y, axis=-1)) ** 2).max()
    if np.any(power <= floor):
        bad = sorted(set(ks[np.nonzero(power <= floor)[-1]].tolist()))
        raise ValueError(f"{fn}: target has no power at frequencies {bad}; pick frequencies it contains")
    if method == "amplitude":
        return np.abs(G) / np.sqrt(power)
    return np.real(G * np.conj(Y)) / power


def sine_sum_target(frequencies, *, m: int = 41, phase: float = 0.0) -> np.ndarray:
    """y_i = sum_k sin(k x_i + phase), x_i = 2 pi i / m, i = 0..m-1: every k lands on a DFT
    bin (the F-principle task; the study's exact formula is lost, this is a reconstruction).
    ``phase`` may be an array for a batch of targets (leading axes).

    Example
    -------
    >>> sine_sum_target([1], m=4).round(6).tolist()
    [0.0, 1.0, 0.0, -1.0]
    """
    ks = np.atleast_1d(np.asarray(frequencies))
    if ks.ndim != 1 or not np.issubdtype(ks.dtype, np.integer) or ks.size == 0 or ks.min() < 1 or ks.max() >= m / 2:
        raise ValueError(f"sine_sum_target: frequencies={frequencies!r}; allowed are integers in 1..{(m - 1) // 2}")
    x = 2 * np.pi * np.arange(m) / m
    ph = np.asarray(phase, dtype=np.float64)[..., None, None]
    return np.sin(ks[:, None] * x + ph).sum(axis=-2)
