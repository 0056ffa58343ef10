"""Dynamic Mode Decomposition (Schmid 2010) of a trajectory, through ``pydmd``: the linear
operator that best maps each snapshot to the next, its eigenvalues (each mode decays, grows
or oscillates) and how well the modes reconstruct the data.

A system that is linear in its state (a damped oscillator, consensus on a graph) is
reconstructed to rounding with the right eigenvalues, the positive control; a trajectory
driven by fresh noise or by strong nonlinearity is not, and a low reconstruction error is
what "DMD finds useful modes" means here.

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
