"""The loss landscape around a point and the walk of the weights over it: curvature from
Hessian-vector products, and the displacement of a trajectory against the lag.

* :func:`hessian_vector_product`, :func:`hessian_extremes`: the smallest and largest
  eigenvalues of the Hessian of a scalar loss of a flat parameter vector, by Lanczos
  (``scipy.sparse.linalg.eigsh``) on exact Hessian-vector products (``torch.func``: forward
  over reverse mode), never forming the matrix; :func:`dense_hessian` forms it, for the
  small checks the tests make. A saddle shows negative eigenvalues; their count is the number
  of independent escape directions.
* :func:`mean_squared_displacement`, :func:`diffusion_exponent`: how far a trajectory (the
  weights over a plateau, say) moves against the lag. MSD grows like ``lag^alpha``: alpha = 1
  for a random walk (diffusion), 2 for a directed drift (ballistic), below 1 for a walk held
  in place (a trapped or mean-reverting one).
* :func:`random_walk_losses`, :func:`autocorrelation`, :func:`correlation_length`,
  :func:`fitness_distance_correlation`: the landscape metrics of Malan & Engelbrecht and of
  Bosman, Engelbrecht & Helbig: how smooth the loss is along a random walk of fixed step from
  a point (the autocorrelation of its losses at lag 1, and the correlation length
  ``-1 / ln |r(1)|``), and how well the distance to a reference point (a solution) predicts
  the loss (Pearson's r of loss and distance over sampled points).

Example
-------
>>> import numpy as np, torch
>>> A = torch.diag(torch.tensor([-2.0, 0.5, 1.0, 3.0], dtype=torch.float64))
>>> loss = lambda x: 0.5 * x @ A @ x
>>> ext = hessian_extremes(loss, torch.zeros(4, dtype=torch.float64), k=1)
>>> float(round(ext["smallest"][0], 6)), float(round(ext["largest"][0], 6))
(-2.0, 3.0)
>>> walk = np.cumsum(np.random.default_rng(0).normal(size=(4000, 3)), axis=0)
>>> float(round(diffusion_exponent(walk), 1))
1.0
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from badgerlib.checks import check_array, check_int

# torch is imported inside the functions that use it: the analysis package is importable
# without torch (tests/test_analysis_info.py checks it)


def hessian_vector_product(loss_fn: Callable[[torch.Tensor], torch.Tensor], params: torch.Tensor,
                           vector: torch.Tensor) -> torch.Tensor:
    """``H v`` for the Hessian ``H`` of ``loss_fn`` at ``params`` (both flat vectors), exactly,
    by differentiating the gradient forward along ``v`` (``torch.func.jvp`` of ``grad``).

    Example
    -------
    >>> import torch
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> hessian_vector_product(lambda p: (p ** 3).sum(), x, torch.tensor([1.0, 0.0], dtype=torch.float64))
    tensor([6., 0.], dtype=torch.float64)
    """
    from torch.func import grad, jvp

    return jvp(grad(loss_fn), (params,), (vector,))[1]


def dense_hessian(loss_fn: Callable[[torch.Tensor], torch.Tensor], params: torch.Tensor) -> np.ndarray:
    """The full Hessian of ``loss_fn`` at ``params``, ``(D, D)`` (for a few thousand parameters
    at most: the tests' exact check of :func:`hessian_extremes`).

    Example
    -------
    >>> import torch
    >>> dense_hessian(lambda p: p[0] * p[1], torch.zeros(2, dtype=torch.float64)).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    from torch.func import hessian

    return hessian(loss_fn)(params).detach().cpu().numpy()


def hessian_extremes(loss_fn: Callable[[torch.Tensor], torch.Tensor], params: torch.Tensor, k: int = 6,
                     tol: float = 1e-8, seed: int = 0) -> dict:
    """The ``k`` smallest and ``k`` largest eigenvalues of the Hessian of ``loss_fn`` at
    ``params`` (ascending), with their unit eigenvectors, by Lanczos on Hessian-vector
    products: ``smallest``, ``largest`` (arrays of k), ``smallest_vectors``,
    ``largest_vectors`` (``(D, k)``) and ``products`` (how many Hessian-vector products it
    took). The loss is evaluated in ``params``'s dtype; float64 keeps the small eigenvalues
    near a saddle apart from rounding.

    Example: see the module docstring; ``tests/test_analysis_landscape.py`` checks it
    against the dense Hessian of a small Micro-Badger.
    """
    import torch
    from scipy.sparse.linalg import LinearOperator, eigsh

    params = params.detach()
    D = params.numel()
    k = check_int("hessian_extremes", "k", k, 1, max(D - 1, 1))
    count = [0]

    def matvec(v):
        count[0] += 1
        v = torch.as_tensor(np.ascontiguousarray(v).reshape(-1), dtype=params.dtype, device=params.device)
        return hessian_vector_product(loss_fn, params, v).detach().cpu().numpy().astype(np.float64)

    op = LinearOperator((D, D), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).normal(size=D)
    out = {}
    for name, which in (("smallest", "SA"), ("largest", "LA")):
        values, vectors = eigsh(op, k=k, which=which, tol=tol, v0=v0)
        order = np.argsort(values)
        out[name], out[f"{name}_vectors"] = values[order], vectors[:, order]
    out["products"] = count[0]
    return out


def mean_squared_displacement(trajectory, lags) -> np.ndarray:
    """``MSD(lag) = mean over t of |x(t + lag) - x(t)|^2`` of a trajectory ``(T, D)`` (or
    ``(T,)``), for each lag.

    Example
    -------
    >>> mean_squared_displacement(np.arange(10.0), [1, 2, 3]).tolist()     # a straight line
    [1.0, 4.0, 9.0]
    """
    x = check_array(trajectory, "mean_squared_displacement", "trajectory", ndim=(1, 2), min_len=2)
    x = x.reshape(len(x), -1)
    out = []
    for lag in lags:
        lag = check_int("mean_squared_displacement", "lag", lag, 1, len(x) - 1)
        out.append(float(((x[lag:] - x[:-lag]) ** 2).sum(axis=1).mean()))
    return np.asarray(out)


def diffusion_exponent(trajectory, lags=None) -> float:
    """The slope alpha of log MSD against log lag (:func:`mean_squared_displacement`) over
    ``lags`` (default: about 20 log-spaced lags from 1 to a tenth of the length, where each
    lag still has many independent displacements): 1 for a random walk, 2 for a directed
    drift, below 1 for a walk held in place.

    Example
    -------
    >>> drift = np.outer(np.arange(500.0), [1.0, 2.0])
    >>> round(diffusion_exponent(drift), 3)
    2.0
    """
    x = check_array(trajectory, "diffusion_exponent", "trajectory", ndim=(1, 2), min_len=20)
    if lags is None:
        lags = np.unique(np.geomspace(1, max(len(x) // 10, 2), 20).astype(int))
    msd = mean_squared_displacement(x, lags)
    keep = msd > 0
    if keep.sum() < 2:
        raise ValueError("diffusion_exponent: the trajectory does not move at two lags or more; nothing to fit")
    return float(np.polyfit(np.log(np.asarray(lags)[keep]), np.log(msd[keep]), 1)[0])


def random_walk_losses(loss_fn: Callable[[torch.Tensor], torch.Tensor], params: torch.Tensor, steps: int,
                       step_size: float, seed: int = 0) -> np.ndarray:
    """The loss along a random walk from ``params``: ``steps`` moves, each of length
    ``step_size`` in a direction drawn uniformly on the sphere (seeded); returns the
    ``steps + 1`` losses, the start's first.

    Example
    -------
    >>> import torch
    >>> losses = random_walk_losses(lambda p: (p ** 2).sum(), torch.zeros(3, dtype=torch.float64), 4, 1.0)
    >>> losses.shape, float(losses[0])
    ((5,), 0.0)
    """
    import torch

    steps = check_int("random_walk_losses", "steps", steps, 1)
    gen = torch.Generator().manual_seed(seed)
    x = params.detach().clone()
    out = []
    with torch.no_grad():
        out.append(float(loss_fn(x)))
        for _ in range(steps):
            d = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(x)
            x = x + step_size * d / d.norm()
            out.append(float(loss_fn(x)))
    return np.asarray(out)


def autocorrelation(series, lag: int = 1) -> float:
    """Pearson's correlation of a series with itself ``lag`` steps later.

    Example
    -------
    >>> round(autocorrelation(np.sin(np.linspace(0, 20, 400)), 1), 3)
    0.999
    """
    x = check_array(series, "autocorrelation", "series", ndim=1, min_len=3)
    lag = check_int("autocorrelation", "lag", lag, 1, len(x) - 2)
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def correlation_length(series) -> float:
    """``-1 / ln |r(1)|`` for the lag-1 :func:`autocorrelation` ``r(1)`` of the losses along a
    random walk: how many steps the landscape stays predictable (large: smooth; near 0:
    rugged; inf for a perfectly correlated walk).

    Example
    -------
    >>> round(correlation_length(np.random.default_rng(0).normal(size=2000)), 2) < 0.3
    True
    """
    r = abs(autocorrelation(series, 1))
    return float("inf") if r >= 1 else (0.0 if r == 0 else float(-1.0 / np.log(r)))


def fitness_distance_correlation(losses, distances) -> float:
    """Pearson's r of the losses of sampled points and their distances to a reference point
    (a known solution): near 1 when the loss falls steadily towards the solution (an easy
    landscape for descent), near 0 or below when distance says nothing (deceptive).

    Example
    -------
    >>> d = np.linspace(0, 3, 50)
    >>> round(fitness_distance_correlation(d ** 2, d), 2)
    0.97
    """
    losses = check_array(losses, "fitness_distance_correlation", "losses", ndim=1, min_len=3)
    distances = check_array(distances, "fitness_distance_correlation", "distances", ndim=1, min_len=3)
    if len(losses) != len(distances):
        raise ValueError(f"fitness_distance_correlation: {len(losses)} losses and {len(distances)} distances; "
                         f"give one distance per loss")
    return float(np.corrcoef(losses, distances)[0, 1])
