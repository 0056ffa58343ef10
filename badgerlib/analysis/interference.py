"""Interference between the components of a loss: gradient conflicts and ray interference.

Two tools for the question "do the parts of the guessing game fight each other?":

* :func:`gradient_cosines` - the cosine similarity between the gradients of per-component
  losses (one per guessed dimension) with respect to any model's parameters, and
  :func:`conflict_fraction`, the share of pairs pulling in opposite directions (PCGrad's
  notion of conflict, Yu et al. 2020). Model-agnostic: it takes scalar torch losses and a
  parameter list; torch is imported only when it is called.
* :func:`ray_interference` - the two-component toy of Schaul et al. (2019). Each component's
  performance is J_k = sigmoid(phi_k . theta) with rho = phi_1 . phi_2; gradient ascent on
  J_1 + J_2 gives, in terms of J,

      supervised:  dJ_k/dt = J_k (1 - J_k) [ (1 - J_k)       + rho (1 - J_j) ]
      RL:          dJ_k/dt = J_k (1 - J_k) [ J_k (1 - J_k)   + rho J_j (1 - J_j) ]

  because an on-policy gradient is scaled by the component's own performance. Under RL a
  component that is nearly solved or nearly unsolved barely moves, which makes saddles near
  [1, 0] and [0, 1] where learning stalls: the plateaus.

Example
-------
>>> res = ray_interference([[0.3, 0.02]], rho=0.0, kind="rl")
>>> res.basin_labels[0], bool(res.saddle_time[0] > 20)
('J1 first', True)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = [
    "cosine_matrix", "flat_gradients", "gradient_cosines", "conflict_fraction", "snapshot_interference",
    "RayResult", "BASINS", "ray_flow", "ray_interference", "start_grid",
]


# --------------------------------------------------------------------- gradient conflicts
def cosine_matrix(vectors) -> np.ndarray:
    """Cosine similarity between the rows of a (K, P) array, as a (K, K) matrix.

    A zero row (a component with no gradient) has no direction: its entries, diagonal
    included, are 0, with a warning.

    Example
    -------
    >>> cosine_matrix([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0]]).round(3).tolist()
    [[1.0, 0.707, -1.0], [0.707, 1.0, -0.707], [-1.0, -0.707, 1.0]]
    """
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 1:
        raise ValueError(f"cosine_matrix: vectors has shape {v.shape}; a (K, P) array is needed")
    if not np.all(np.isfinite(v)):
        raise ValueError("cosine_matrix: vectors contain NaN or infinite values; only finite values are allowed")
    norm = np.linalg.norm(v, axis=1)
    zero = norm == 0
    if zero.any():
        warnings.warn(f"cosine_matrix: rows {np.flatnonzero(zero).tolist()} are zero vectors; "
                      "their cosines are set to 0", RuntimeWarning, stacklevel=2)
    u = v / np.where(zero, 1.0, norm)[:, None]
    return np.clip(u @ u.T, -1.0, 1.0)


def flat_gradients(losses: Sequence, params) -> np.ndarray:
    """Gradient of each scalar torch loss w.r.t. ``params``, flattened: a (K, P) float64 array.

    Parameters a loss does not depend on contribute zeros. The graph is retained so that
    the caller can still backpropagate the total loss afterwards.

    Example
    -------
    >>> import torch
    >>> w = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> flat_gradients([w[0] ** 2, w.sum()], [w]).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    import torch  # only here: the rest of badgerlib.analysis runs without torch

    fn = "flat_gradients"
    params = [p for p in params]
    if not params or not all(isinstance(p, torch.Tensor) for p in params):
        raise ValueError(f"{fn}: params must be a non-empty sequence of torch tensors")
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError(f"{fn}: none of params requires grad; nothing to differentiate")
    losses = list(losses)
    if not losses:
        raise ValueError(f"{fn}: losses is empty; at least one scalar loss is needed")
    rows = []
    for i, loss in enumerate(losses):
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"{fn}: losses[{i}] must be a scalar torch tensor, got "
                             f"{type(loss).__name__}{tuple(getattr(loss, 'shape', ()))}")
        if not loss.requires_grad:
            rows.append(np.zeros(sum(p.numel() for p in params)))
            continue
        grads = torch.autograd.grad(loss.reshape(()), params, retain_graph=True, allow_unused=True)
        flat = [(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]
        rows.append(torch.cat(flat).detach().to(torch.float64).cpu().numpy())
    return np.stack(rows)


def gradient_cosines(losses: Sequence, params) -> np.ndarray:
    """(K, K) cosine similarities between the gradients of K scalar torch losses.

    Typically ``losses[k]`` is the error in guessed dimension k and ``params`` is
    ``model.parameters()``; a negative entry means improving one dimension hurts the other.

    Example
    -------
    >>> import torch
    >>> w = torch.tensor([0.5], requires_grad=True)
    >>> gradient_cosines([(w - 1) ** 2, (w + 1) ** 2], [w]).tolist()   # opposite targets
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    return cosine_matrix(flat_gradients(losses, params))


def conflict_fraction(cosines, threshold: float = 0.0) -> float:
    """Fraction of distinct pairs (i < j) whose gradient cosine is below ``threshold``.

    Example
    -------
    >>> conflict_fraction([[1.0, -0.2, 0.5], [-0.2, 1.0, -0.9], [0.5, -0.9, 1.0]])
    0.6666666666666666
    """
    c = np.asarray(cosines, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
        raise ValueError(f"conflict_fraction: cosines has shape {c.shape}; a (K, K) matrix with K >= 2 is needed")
    iu = np.triu_indices(c.shape[0], 1)
    return float(np.mean(c[iu] < threshold))



def snapshot_interference(run, snapshots: Sequence[int] | None = None, device: str = "cpu",
                          threads: int | None = 1) -> dict[str, np.ndarray]:
    """Gradient interference between the guessed dimensions at the run's stored snapshots.

    For each snapshot k: the model as it was (``run.model_at(k)``), the per-dimension
    components of its objective on the run's fixed probe tasks
    (:func:`badgerlib.objective.dimension_losses`, :func:`badgerlib.run.probe_inputs`), their
    gradients with respect to all weights, and

    * ``cosines`` (K, N, N): cosine between the gradients of each pair of dimensions;
    * ``mean_cosine`` (K,): mean over pairs; -1/(N-1) is the most negative possible on
      average, reached when the N gradients cancel exactly;
    * ``conflict`` (K,): fraction of pairs with a negative cosine (PCGrad's conflict);
    * ``cancellation`` (K,): |sum of gradients|^2 / sum of |gradient|^2: 1 for orthogonal
      components, N when all align, 0 when they cancel;
    * ``grad_norm`` (K,): norm of the whole objective's gradient;
    * ``iterations`` (K,): the outer iteration of each snapshot.

    Runs with ``threads`` torch threads (default 1; None leaves the setting alone).
    It rebuilds models from a trained run: the examples are in
    ``tests/test_analysis_interference.py``.
    """
    from badgerlib.sweep import torch_threads

    its = np.asarray(run.snapshots["iterations"])
    index = range(len(its)) if snapshots is None else list(snapshots)
    out = {k: [] for k in ("iterations", "cosines", "mean_cosine", "conflict", "cancellation", "grad_norm")}
    with torch_threads(threads):
        for k in index:
            _interference_at(run, int(k), device, out)
    return {k: np.asarray(v) for k, v in out.items()}


def _interference_at(run, k: int, device: str, out: dict) -> None:
    """One snapshot of :func:`snapshot_interference`, appended to ``out``."""
    import torch

    from badgerlib.objective import dimension_losses
    from badgerlib.run import probe_inputs

    cfg = run.config
    model = run.model_at(k, device)
    targets, h_init = probe_inputs(model, cfg, device)
    with torch.enable_grad():
        rollout = model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h_init)
        losses = dimension_losses(rollout, cfg.task, cfg.loss_on)
        g = flat_gradients(list(losses), list(model.parameters()))
    cos = cosine_matrix(g)
    n = len(losses)
    iu = np.triu_indices(n, 1)
    total = g.sum(axis=0)
    out["iterations"].append(int(run.snapshots["iterations"][k]))
    out["cosines"].append(cos)
    out["mean_cosine"].append(float(cos[iu].mean()) if n > 1 else float("nan"))
    out["conflict"].append(conflict_fraction(cos) if n > 1 else float("nan"))
    out["cancellation"].append(float(total @ total / max((g * g).sum(), 1e-300)))
    out["grad_norm"].append(float(np.linalg.norm(total)))


# ------------------------------------------------------------------------ ray interference
#: Basin codes of :class:`RayResult`: which component reached the threshold first.
BASINS = {0: "J1 first", 1: "J2 first", 2: "together", -1: "unsolved"}

KINDS = ("supervised", "rl")


def _logit_rate(u: np.ndarray, rho: float, kind: str) -> np.ndarray:
    """d(logit J)/dt: the flow divided by J(1 - J), smooth and bounded, so RK4 in logit
    space is stable with a fixed step and J never leaves (0, 1)."""
    j = 1.0 / (1.0 + np.exp(-u))
    g = (1.0 - j) if kind == "supervised" else j * (1.0 - j)
    return g + rho * g[..., ::-1]


def ray_flow(J, rho: float, kind: str) -> np.ndarray:
    """dJ/dt of the two-component toy at performances ``J`` (..., 2).

    Example
    -------
    >>> ray_flow([0.5, 0.5], rho=0.0, kind="supervised").tolist()
    [0.125, 0.125]
    >>> ray_flow([0.5, 0.5], rho=0.0, kind="rl").tolist()
    [0.0625, 0.0625]
    """
    j = np.asarray(J, dtype=np.float64)
    if j.shape[-1:] != (2,) or np.any((j <= 0) | (j >= 1)):
        raise ValueError(f"ray_flow: J has shape {j.shape}; (..., 2) values strictly inside (0, 1) are needed")
    if kind not in KINDS:
        raise ValueError(f"ray_flow: kind={kind!r}; allowed are 'supervised', 'rl'")
    return j * (1.0 - j) * _logit_rate(np.log(j / (1.0 - j)), rho, kind)


@dataclass(frozen=True)
class RayResult:
    """Trajectories of the ray-interference toy from a set of starts.

    times: (T,) recorded times. trajectories: (S, T, 2) J at those times. solve_times: (S, 2)
    first time each J_k reached the threshold (inf if never). basin: (S,) codes of
    :data:`BASINS`. saddle_time: (S,) time spent within ``saddle_radius`` of [1, 0] or
    [0, 1] (one component solved, the other not). final: (S, 2) J at t_max.

    Example
    -------
    >>> res = ray_interference([[0.2, 0.01]], rho=0.0, kind="supervised", t_max=50)
    >>> res.trajectories.shape[::2], res.basin_labels
    ((1, 2), ['J1 first'])
    """

    times: np.ndarray
    trajectories: np.ndarray
    solve_times: np.ndarray
    basin: np.ndarray
    saddle_time: np.ndarray
    final: np.ndarray
    rho: float
    kind: str

    @property
    def basin_labels(self) -> list[str]:
        """The basin of each start in words."""
        return [BASINS[int(b)] for b in self.basin]


def start_grid(n: int, low: float = 0.02, high: float = 0.98, *, log: bool = False) -> np.ndarray:
    """An n x n grid of starts (J1, J2) in [low, high]^2, shape (n * n, 2); ``log=True``
    spaces it geometrically, to resolve the small performances where RL is slowest.

    Example
    -------
    >>> start_grid(2, 0.1, 0.9).tolist()
    [[0.1, 0.1], [0.1, 0.9], [0.9, 0.1], [0.9, 0.9]]
    >>> start_grid(3, 0.01, 1 - 0.9, log=True)[:3, 1].round(3).tolist()
    [0.01, 0.032, 0.1]
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"start_grid: n={n!r}; allowed is an integer >= 1")
    if not 0 < low <= high < 1:
        raise ValueError(f"start_grid: low={low!r}, high={high!r}; allowed is 0 < low <= high < 1")
    g = np.geomspace(low, high, n) if log else np.linspace(low, high, n)
    a, b = np.meshgrid(g, g, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def ray_interference(starts, *, rho: float, kind: str, t_max: float = 200.0, dt: float = 0.05,
                     threshold: float = 0.9, saddle_radius: float = 0.2, together: float = 0.1,
                     record_every: int = 10) -> RayResult:
    """Integrate the toy's flow from each start (J1, J2) with fixed-step RK4.

    ``kind``: ``"supervised"`` or ``"rl"``; ``rho`` = phi_1 . phi_2 in [-1, 1] (negative:
    learning one component unlearns the other). A start's basin is the component that first
    reaches ``threshold``, or "together" when the two times differ by at most ``together``
    (relative to the later one). Time near the saddles counts every step at which one J is
    above 1 - ``saddle_radius`` and the other below ``saddle_radius`` (one component as good
    as solved, the other as good as untouched). Under RL the last stretch to 1 is slow too,
    so a radius much below 0.2 misses most of the stall.

    Example
    -------
    >>> sup = ray_interference([[0.3, 0.02]], rho=0.0, kind="supervised")
    >>> rl = ray_interference([[0.3, 0.02]], rho=0.0, kind="rl")
    >>> float(sup.saddle_time[0]), bool(rl.saddle_time[0] > 20)
    (0.0, True)
    """
    fn = "ray_interference"
    j0 = np.asarray(starts, dtype=np.float64)
    if j0.ndim == 1:
        j0 = j0[None, :]
    if j0.ndim != 2 or j0.shape[1] != 2 or np.any((j0 <= 0) | (j0 >= 1)) or not np.all(np.isfinite(j0)):
        raise ValueError(f"{fn}: starts has shape {j0.shape}; (S, 2) values strictly inside (0, 1) are needed")
    if kind not in KINDS:
        raise ValueError(f"{fn}: kind={kind!r}; allowed are 'supervised', 'rl'")
    if not -1 <= rho <= 1:
        raise ValueError(f"{fn}: rho={rho!r}; allowed is -1 <= rho <= 1 (a cosine)")
    for name, v in (("t_max", t_max), ("dt", dt)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{fn}: {name}={v!r}; allowed is a number > 0")
    if not 0.5 < threshold < 1:
        raise ValueError(f"{fn}: threshold={threshold!r}; allowed is 0.5 < threshold < 1")
    if not 0 < saddle_radius < 0.5:
        raise ValueError(f"{fn}: saddle_radius={saddle_radius!r}; allowed is 0 < saddle_radius < 0.5")
    if not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"{fn}: record_every={record_every!r}; allowed is an integer >= 1")

    steps = int(np.ceil(t_max / dt))
    u = np.log(j0 / (1.0 - j0))
    solve = np.full(j0.shape, np.inf)
    solve[j0 >= threshold] = 0.0
    near = np.zeros(len(j0))
    rec_t, rec_j = [0.0], [j0.copy()]

    def is_near(j):
        lo, hi = saddle_radius, 1.0 - saddle_radius
        return ((j[:, 0] > hi) & (j[:, 1] < lo)) | ((j[:, 0] < lo) & (j[:, 1] > hi))

    f = lambda x: _logit_rate(x, rho, kind)  # noqa: E731 - a local shorthand for RK4
    for step in range(1, steps + 1):
        k1 = f(u)
        k2 = f(u + 0.5 * dt * k1)
        k3 = f(u + 0.5 * dt * k2)
        k4 = f(u + dt * k3)
        u = u + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        j = 1.0 / (1.0 + np.exp(-u))
        t = step * dt
        solve = np.where(np.isinf(solve) & (j >= threshold), t, solve)
        near += dt * is_near(j)
        if step % record_every == 0 or step == steps:
            rec_t.append(t)
            rec_j.append(j.copy())

    t1, t2 = solve[:, 0], solve[:, 1]
    later = np.maximum(t1, t2)
    with np.errstate(invalid="ignore"):  # inf - inf when neither is solved: not a tie
        tie = np.isfinite(later) & (np.abs(t1 - t2) <= together * np.where(later > 0, later, 1.0))
    basin = np.where(np.isinf(t1) & np.isinf(t2), -1, np.where(tie, 2, np.where(t1 < t2, 0, 1)))
    traj = np.stack(rec_j, axis=1)
    return RayResult(np.asarray(rec_t), traj, solve, basin.astype(int), near, traj[:, -1].copy(),
                     float(rho), kind)
