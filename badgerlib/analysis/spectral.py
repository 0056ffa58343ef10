"""Per-frequency convergence of a guess towards a target sampled on a DFT grid (F-principle).

For a target ``y`` sampled at M points of one period and a guess ``g`` on the same grid,
frequency k is measured by projecting the guess's DFT coefficient onto the target's:

    c_k = Re(G_k * conj(Y_k)) / |Y_k|^2

1.0 when the guess has learned that frequency (amplitude and phase), 0 when it has nothing of
it, and in between the fraction learned; a right amplitude at the wrong phase reads
cos(phase error). ``method="amplitude"`` gives |G_k| / |Y_k| instead, which ignores the phase.
Everything works on batches: leading axes are kept, the grid is the last axis.

A run's snapshots (guesses ``(K, P, S+1, M)`` on ``P`` probe tasks, targets ``(P, M)``) are read
two ways: over training (:func:`convergence_by_iteration`, one inner step at every snapshot)
and over the inner loop (:func:`convergence_by_step`, every inner step of one snapshot).
:func:`frequency_error` is the relative error per frequency (the measure of Xu et al.).

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

from typing import Mapping

import numpy as np

from badgerlib.checks import check_array

__all__ = ["frequency_convergence", "active_frequencies", "sine_sum_target", "frequency_error",
           "convergence_by_iteration", "convergence_by_step", "snapshot_arrays", "target_frequencies"]

#: A DFT bin counts as present in the target when its power exceeds this fraction of the
#: strongest bin's (float64 leakage of an exact grid is ~1e-30 of it).
POWER_RTOL = 1e-12




def active_frequencies(target) -> np.ndarray:
    """The integer frequencies 1..M//2 present in every target of a batch (last axis: grid).

    Example
    -------
    >>> import numpy as np
    >>> x = 2 * np.pi * np.arange(16) / 16
    >>> active_frequencies(np.cos(2 * x) + np.sin(5 * x)).tolist()
    [2, 5]
    """
    y = check_array(target, "active_frequencies", "target", min_last=3)
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
    >>> (frequency_convergence(steps, y)[:, 0].round(6) + 0.0).tolist()   # + 0.0: a zero never prints as -0.0
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    fn = "frequency_convergence"
    g, y = check_array(guess, fn, "guess", min_last=3), check_array(target, fn, "target", min_last=3)
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
    """y_i = sum_k sin(k x_i + phase), x_i = 2 pi i / m, i = 0..m-1, as numpy: every k lands on
    a DFT bin (the F-principle task, :func:`badgerlib.tasks.sine_sum`; the study's exact formula
    is lost, this is a reconstruction).
    ``phase`` may be an array for a batch of targets (leading axes).

    Example
    -------
    >>> sine_sum_target([1], m=4).round(6).tolist()
    [0.0, 1.0, 0.0, -1.0]
    """
    ks = np.atleast_1d(np.asarray(frequencies))
    if ks.ndim != 1 or not np.issubdtype(ks.dtype, np.integer) or ks.size == 0 or ks.min() < 1 or ks.max() >= m / 2:
        raise ValueError(f"sine_sum_target: frequencies={frequencies!r}; allowed are integers in 1..{(m - 1) // 2}")
    import torch  # only here: importing the analysis package does not import torch

    from badgerlib.tasks import sine_sum

    phase = torch.as_tensor(np.asarray(phase, dtype=np.float64))[..., None]
    return sine_sum([int(k) for k in ks], m, phase).numpy()


def snapshot_arrays(snapshots: Mapping, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``guesses`` ``(K, P, S+1, M)`` and ``targets`` ``(P, M)`` of a run's snapshots as
    float64 arrays, or a ValueError (naming ``fn``) when they are missing or their shapes do
    not fit together.

    Example
    -------
    >>> import numpy as np
    >>> g, y = snapshot_arrays({"guesses": np.zeros((2, 3, 5, 7)), "targets": np.ones((3, 7))}, "demo")
    >>> g.shape, y.dtype
    ((2, 3, 5, 7), dtype('float64'))
    >>> snapshot_arrays({"guesses": np.zeros((2, 3, 5, 7))}, "demo")
    Traceback (most recent call last):
    ...
    ValueError: demo: snapshots has no 'targets'; pass a run's snapshots (recorded with snapshots > 0)
    """
    for key in ("guesses", "targets"):
        if key not in snapshots:
            raise ValueError(f"{fn}: snapshots has no {key!r}; pass a run's snapshots (recorded with snapshots > 0)")
    guesses = np.asarray(snapshots["guesses"], dtype=np.float64)
    targets = np.asarray(snapshots["targets"], dtype=np.float64)
    if guesses.ndim != 4 or targets.ndim != 2 or guesses.shape[1] != targets.shape[0] \
            or guesses.shape[3] != targets.shape[1]:
        raise ValueError(f"{fn}: guesses have shape {guesses.shape} and targets {targets.shape}; expected "
                         f"(snapshots, probe tasks, steps + 1, M) and (probe tasks, M)")
    if guesses.shape[0] == 0:
        raise ValueError(f"{fn}: the run has no snapshots")
    return guesses, targets


def target_frequencies(targets: np.ndarray, frequencies) -> np.ndarray:
    """``frequencies`` as a 1-D array, or, when None, every frequency the targets contain
    (:func:`active_frequencies`).

    Example
    -------
    >>> target_frequencies(sine_sum_target([2, 3], m=11), None).tolist()
    [2, 3]
    >>> target_frequencies(None, 4).tolist()
    [4]
    """
    return active_frequencies(targets) if frequencies is None else np.atleast_1d(np.asarray(frequencies))


def convergence_by_iteration(snapshots: Mapping, frequencies=None, step: int = -1) -> np.ndarray:
    """``c_k`` of the guess at inner step ``step`` (default: the last), averaged over the probe
    tasks, at every snapshot: shape ``(snapshots, frequencies)``.

    ``snapshots`` is a run's snapshots mapping: ``guesses`` ``(K, P, S+1, M)`` and ``targets``
    ``(P, M)``. ``frequencies`` default to every frequency the targets contain.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 2], m=11, phase=np.array([0.3, 2.0]))       # 2 probe tasks
    >>> guesses = np.stack([np.zeros((2, 2, 11)), np.stack([0 * y, 0.5 * y], axis=1)])  # 2 snapshots
    >>> (convergence_by_iteration({"guesses": guesses, "targets": y}).round(6) + 0.0).tolist()   # + 0.0: a zero never prints as -0.0
    [[0.0, 0.0], [0.5, 0.5]]
    """
    guesses, targets = snapshot_arrays(snapshots, "convergence_by_iteration")
    ks = target_frequencies(targets, frequencies)
    c = frequency_convergence(guesses[:, :, step, :], targets[None], ks)   # (K, P, F)
    return c.mean(axis=1)


def convergence_by_step(snapshots: Mapping, frequencies=None, snapshot: int = -1) -> np.ndarray:
    """``c_k`` at every inner step of snapshot ``snapshot`` (default: the trained model),
    averaged over the probe tasks: shape ``(steps + 1, frequencies)``; step 0 is the given
    all-zeros guess.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 3], m=11, phase=np.array([0.0, 1.0]))
    >>> steps = np.linspace(0, 1, 3)[None, :, None] * y[:, None, :]          # (P, S+1, M)
    >>> (convergence_by_step({"guesses": steps[None], "targets": y}).round(6) + 0.0).tolist()   # + 0.0: a zero never prints as -0.0
    [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]
    """
    guesses, targets = snapshot_arrays(snapshots, "convergence_by_step")
    ks = target_frequencies(targets, frequencies)
    c = frequency_convergence(guesses[snapshot], targets[:, None, :], ks)   # (P, S+1, F)
    return c.mean(axis=0)


def frequency_error(guess, target, frequencies=None) -> np.ndarray:
    """Relative error per frequency, ``|G_k - Y_k| / |Y_k|`` (the measure of Xu et al.): 0 when
    frequency k is learned, 1 when it is absent from the guess. Shapes as
    :func:`~badgerlib.analysis.spectral.frequency_convergence`.

    Example
    -------
    >>> import numpy as np
    >>> x = 2 * np.pi * np.arange(16) / 16
    >>> y = np.sin(x) + np.sin(2 * x)
    >>> (frequency_error(np.sin(x) + 0.5 * np.sin(2 * x), y).round(6) + 0.0).tolist()   # + 0.0: a zero never prints as -0.0
    [0.0, 0.5]
    """
    g = np.asarray(guess, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    ks = target_frequencies(y, frequencies)
    frequency_convergence(g, y, ks)  # the same validation (shapes, finite values, target power)
    G = np.fft.rfft(g, axis=-1)[..., ks]
    Y = np.fft.rfft(y, axis=-1)[..., ks]
    return np.abs(G - Y) / np.abs(Y)
