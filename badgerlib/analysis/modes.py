"""Dynamic Mode Decomposition (Schmid 2010) of a trajectory, through ``pydmd``: the linear
operator that best maps each snapshot to the next, its eigenvalues (each mode decays, grows
or oscillates) and how well the modes reconstruct the data (:func:`dmd_modes`), and how well
modes fitted on the first part of a trajectory forecast the rest (:func:`dmd_forecast`).

A system that is linear in its state (a damped oscillator, consensus on a graph) is
reconstructed and forecast to rounding with the right eigenvalues, the positive control; a
trajectory driven by fresh noise or by strong nonlinearity is not. On a short trajectory
exact DMD with as many modes as snapshots reconstructs almost anything, so there "DMD finds
useful modes" means a forecast better than persistence, not a low reconstruction error.

Example
-------
>>> import numpy as np
>>> theta = 0.3
>>> A = 0.95 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
>>> x = [np.array([1.0, 0.0])]
>>> for _ in range(40):
...     x.append(A @ x[-1])
>>> fit = dmd_modes(np.array(x))
>>> sorted(np.round(np.abs(fit["eigs"]), 4).tolist()), fit["reconstruction_error"] < 1e-8
([0.95, 0.95], True)
"""
from __future__ import annotations

import numpy as np

from badgerlib.checks import check_array


def dmd_modes(trajectory, rank: int | float = -1, dt: float = 1.0) -> dict:
    """Exact DMD of ``trajectory`` ``(T, D)`` (time first): ``eigs`` (the discrete-time
    eigenvalues, complex), ``growth`` (``log|eig| / dt``: below 0 decays, above 0 grows),
    ``frequency`` (``angle(eig) / dt``, radians per unit time), ``amplitudes`` (each mode's
    share of the first snapshot) and ``reconstruction_error`` (relative Frobenius error of
    the modes' reconstruction of the whole trajectory). ``rank`` is pydmd's ``svd_rank``
    (-1, the default: every mode the data support; 0: its optimal hard threshold, which on
    clean data can keep too few; an int: that many modes; a float in (0, 1): the energy
    kept).

    Example: see the module docstring.
    """
    from pydmd import DMD

    x = check_array(trajectory, "dmd_modes", "trajectory", ndim=2, min_len=3)
    dmd = DMD(svd_rank=rank)
    dmd.fit(x.T)                                        # pydmd takes time on the last axis
    eigs = np.asarray(dmd.eigs)
    recon = np.real(dmd.reconstructed_data).T
    return {"eigs": eigs, "growth": np.log(np.abs(eigs)) / dt, "frequency": np.angle(eigs) / dt,
            "amplitudes": np.asarray(dmd.amplitudes),
            "reconstruction_error": float(np.linalg.norm(x - recon) / np.linalg.norm(x))}


def dmd_forecast(trajectory, fit: int, rank: int | float = -1) -> dict:
    """DMD fitted on the first ``fit`` snapshots of ``trajectory`` ``(T, D)`` and run forward
    from its modes, ``x(t) = Re(Phi diag(eig^t) b)``, over all T: whether the modes *predict*,
    not only reconstruct. With as many modes as snapshots, exact DMD reconstructs almost any
    short trajectory, so a low reconstruction error alone says little; the forecast of the
    unseen ``T - fit`` snapshots does. Returns ``eigs``, ``reconstruction_error`` (relative,
    over the fitted snapshots), ``forecast_error`` (relative, over the rest) and
    ``persistence_error`` (the same for the naive forecast that the last fitted snapshot
    stays: a forecast worth having beats it).

    Example
    -------
    >>> A = 0.97 * np.array([[np.cos(0.2), -np.sin(0.2)], [np.sin(0.2), np.cos(0.2)]])
    >>> x = [np.array([1.0, 0.0])]
    >>> for _ in range(39):
    ...     x.append(A @ x[-1])
    >>> out = dmd_forecast(np.array(x), fit=20)
    >>> out["forecast_error"] < 1e-8, out["persistence_error"] > 0.5
    (True, True)
    """
    from pydmd import DMD

    from badgerlib.checks import check_int

    x = check_array(trajectory, "dmd_forecast", "trajectory", ndim=2, min_len=4)
    fit = check_int("dmd_forecast", "fit", fit, 3, len(x) - 1)
    if isinstance(rank, (int, np.integer)) and rank != 0:
        # no more modes than the fitted pairs have independent directions: a trajectory that
        # settles (consensus) has fewer, and a zero singular value would be inverted
        s = np.linalg.svd(x[:fit - 1], compute_uv=False)
        supported = int((s > 1e-10 * s[0]).sum()) if s[0] > 0 else 1
        rank = supported if rank < 0 else min(int(rank), supported)
    dmd = DMD(svd_rank=rank)
    dmd.fit(x[:fit].T)
    eigs = np.asarray(dmd.eigs)
    modes, amps = np.asarray(dmd.modes), np.asarray(dmd.amplitudes)
    t = np.arange(len(x))
    # eig^t for every snapshot, (modes, T); computed in log space would lose the sign of
    # negative real eigenvalues, so powers directly (T is small)
    dynamics = eigs[:, None] ** t[None, :] * amps[:, None]
    pred = np.real(modes @ dynamics).T

    def rel(a, b):
        return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-300))

    return {"eigs": eigs, "reconstruction_error": rel(x[:fit], pred[:fit]),
            "forecast_error": rel(x[fit:], pred[fit:]),
            "persistence_error": rel(x[fit:], np.broadcast_to(x[fit - 1], x[fit:].shape))}
