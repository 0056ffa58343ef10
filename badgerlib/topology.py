"""Expert graphs: who sends messages to whom.

Convention throughout: ``A[i, j] = 1`` when expert ``j`` sends to expert ``i`` (row ``i`` lists
the in-neighbours of ``i``). No self-links. Graphs are numpy ``float64`` arrays of shape (E, E).

Example
-------
>>> A = random_k_out(6, 2, seed=0)
>>> A.sum(axis=0).tolist()          # every expert sends to exactly 2 others
[2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
>>> bool(is_strongly_connected(ring(5)))
True
"""
from __future__ import annotations

import networkx as nx
import numpy as np

from badgerlib.checks import TOPOLOGIES, check_choice, check_links


def _check_experts(experts: int) -> None:
    if isinstance(experts, bool) or not isinstance(experts, (int, np.integer)) or experts < 1:
        raise ValueError(f"experts = {experts!r}: must be an integer >= 1")


def random_k_out(experts: int, links: int, seed: int) -> np.ndarray:
    """Each expert sends to ``links`` distinct other experts drawn at random (seeded).

    Example
    -------
    >>> A = random_k_out(4, 3, seed=1)
    >>> A.tolist() == complete(4).tolist()   # 3 out-links among 4 experts: everyone
    True
    """
    _check_experts(experts)
    if isinstance(links, bool) or not isinstance(links, (int, np.integer)) or not 0 <= links <= experts - 1:
        raise ValueError(f"links = {links!r}: must be an integer in [0, {experts - 1}] for {experts} experts")
    rng = np.random.default_rng(seed)
    A = np.zeros((experts, experts))
    for sender in range(experts):
        others = np.delete(np.arange(experts), sender)
        receivers = rng.choice(others, size=links, replace=False)
        A[receivers, sender] = 1.0
    return A


def ring(experts: int) -> np.ndarray:
    """Directed ring: expert ``j`` sends to ``j + 1`` (mod E).

    Example
    -------
    >>> ring(3).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    _check_experts(experts)
    A = np.zeros((experts, experts))
    if experts > 1:
        A[(np.arange(experts) + 1) % experts, np.arange(experts)] = 1.0
    return A


def bidirectional_ring(experts: int) -> np.ndarray:
    """Ring in both directions: expert ``j`` sends to ``j - 1`` and ``j + 1`` (mod E).

    Example
    -------
    >>> bidirectional_ring(4)[0].tolist()         # expert 0 hears from 1 and 3
    [0.0, 1.0, 0.0, 1.0]
    """
    A = ring(experts)
    return np.maximum(A, A.T)


def chain(experts: int) -> np.ndarray:
    """Directed path ``0 -> 1 -> ... -> E-1``: weakly but not strongly connected (expert 0's
    information reaches everyone, nobody's reaches expert 0).

    Example
    -------
    >>> chain(3).tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    _check_experts(experts)
    A = np.zeros((experts, experts))
    A[np.arange(1, experts), np.arange(experts - 1)] = 1.0
    return A


def star(experts: int) -> np.ndarray:
    """A hub (expert 0) that everyone sends to and that sends to everyone; no other links.

    Example
    -------
    >>> star(3).tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    _check_experts(experts)
    A = np.zeros((experts, experts))
    A[0, 1:] = 1.0
    A[1:, 0] = 1.0
    return A


def complete(experts: int) -> np.ndarray:
    """Everyone sends to everyone else.

    Example
    -------
    >>> int(complete(3).sum())
    6
    """
    _check_experts(experts)
    return np.ones((experts, experts)) - np.eye(experts)


def small_world(experts: int, shortcuts: int, seed: int) -> np.ndarray:
    """Newman-Watts small world: the bidirectional ring plus ``shortcuts`` random pairs of
    experts not yet linked, each joined in both directions (seeded).

    Example
    -------
    >>> A = small_world(8, 3, seed=0)
    >>> int(A.sum()) == int(bidirectional_ring(8).sum()) + 2 * 3, bool((A == A.T).all())
    (True, True)
    """
    _check_experts(experts)
    check_links("small_world", "small_world", experts, shortcuts)
    A = bidirectional_ring(experts)
    free = [(i, j) for i in range(experts) for j in range(i + 1, experts) if A[i, j] == 0]
    rng = np.random.default_rng(seed)
    for k in rng.choice(len(free), size=shortcuts, replace=False):
        i, j = free[k]
        A[i, j] = A[j, i] = 1.0
    return A


def two_halves(experts: int, links: int, seed: int) -> np.ndarray:
    """Two disconnected groups (the first ``E // 2`` experts and the rest), each a random graph
    in which every expert sends to ``links`` others of its own half (seeded): no information
    crosses between the halves.

    Example
    -------
    >>> A = two_halves(6, 2, seed=0)
    >>> int(A[:3, 3:].sum() + A[3:, :3].sum()), A.sum(axis=0).tolist()
    (0, [2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    """
    _check_experts(experts)
    check_links("two_halves", "two_halves", experts, links)
    half = experts // 2
    A = np.zeros((experts, experts))
    rng = np.random.default_rng(seed)
    for block in (np.arange(half), np.arange(half, experts)):
        for sender in block:
            others = block[block != sender]
            A[rng.choice(others, size=links, replace=False), sender] = 1.0
    return A


def build(topology: str, experts: int, links: int = 3, seed: int = 0) -> np.ndarray:
    """The adjacency matrix of a named family (:data:`badgerlib.checks.TOPOLOGIES`); ``links``
    is what :data:`badgerlib.checks.LINKS_MEANING` says for ``random``, ``small_world`` and
    ``two_halves`` and is ignored by the others; ``seed`` draws the random ones.

    Example
    -------
    >>> build("ring", 4).shape
    (4, 4)
    >>> build("small_world", 4, links=3)
    Traceback (most recent call last):
    ...
    ValueError: build.links = 3: must be an integer in [0, 2] for small_world with 4 experts (random shortcuts added to the bidirectional ring)
    """
    check_choice("build", "topology", topology, TOPOLOGIES)
    _check_experts(experts)
    check_links("build", topology, experts, links)
    if topology == "random":
        return random_k_out(experts, links, seed)
    if topology == "small_world":
        return small_world(experts, links, seed)
    if topology == "two_halves":
        return two_halves(experts, links, seed)
    return {"ring": ring, "bidirectional_ring": bidirectional_ring, "chain": chain, "star": star,
            "complete": complete}[topology](experts)


def mean_aggregator(A: np.ndarray) -> np.ndarray:
    """Row-normalised adjacency: multiplying messages by it gives each expert the mean message of
    its in-neighbours (zero for an expert nobody sends to).

    Example
    -------
    >>> mean_aggregator(complete(3))[0].tolist()
    [0.0, 0.5, 0.5]
    """
    A = np.asarray(A, dtype=float)
    indegree = A.sum(axis=1, keepdims=True)
    return np.divide(A, indegree, out=np.zeros_like(A), where=indegree > 0)


def to_networkx(A: np.ndarray) -> nx.DiGraph:
    """A networkx DiGraph with an edge ``j -> i`` for every ``A[i, j] = 1`` (for drawing).

    Example
    -------
    >>> sorted(to_networkx(ring(3)).edges())
    [(0, 1), (1, 2), (2, 0)]
    """
    A = np.asarray(A)
    G = nx.DiGraph()
    G.add_nodes_from(range(A.shape[0]))
    receivers, senders = np.nonzero(A)
    G.add_edges_from(zip(senders.tolist(), receivers.tolist()))
    return G


def is_strongly_connected(A: np.ndarray) -> bool:
    """Whether every expert's information can reach every other expert.

    Example
    -------
    >>> is_strongly_connected(np.array([[0, 0], [1, 0]]))
    False
    """
    return nx.is_strongly_connected(to_networkx(A))


def has_spanning_tree(A: np.ndarray) -> bool:
    """Whether some expert's information reaches every other expert (a rooted spanning tree):
    the condition for consensus dynamics to agree, weaker than strong connectivity.

    Example
    -------
    >>> has_spanning_tree(chain(4)), is_strongly_connected(chain(4)), has_spanning_tree(two_halves(4, 1, 0))
    (True, False, False)
    """
    reach = hop_distances(A)
    return bool(np.isfinite(reach).all(axis=0).any())


def hop_distances(A: np.ndarray) -> np.ndarray:
    """``D[i, j]``: the fewest links a message takes from expert ``j`` to expert ``i`` (0 on the
    diagonal, ``inf`` where ``j`` cannot reach ``i``); with one hop per inner step, the first
    step at which ``j``'s state can influence ``i`` through the graph.

    Example
    -------
    >>> hop_distances(chain(3)).tolist()
    [[0.0, inf, inf], [1.0, 0.0, inf], [2.0, 1.0, 0.0]]
    """
    A = np.asarray(A, dtype=float)
    E = A.shape[0]
    D = np.full((E, E), np.inf)
    np.fill_diagonal(D, 0.0)
    reached = np.eye(E, dtype=bool)
    frontier = reached.copy()
    for hops in range(1, E):
        frontier = ((A > 0).astype(int) @ frontier.astype(int) > 0) & ~reached
        if not frontier.any():
            break
        D[frontier] = hops
        reached |= frontier
    return D


def laplacian(A: np.ndarray, normalized: bool = False) -> np.ndarray:
    """In-degree Laplacian ``L = D_in - A`` (rows sum to zero), the generator of consensus
    dynamics ``dx/dt = -L x`` on this graph. With ``normalized`` each row is divided by its
    in-degree (``I - D_in^-1 A``; zero rows for experts nobody sends to): the averaging that
    Micro-Badger's messages do, since each expert receives the mean message of its
    in-neighbours.

    Example
    -------
    >>> laplacian(complete(3)).sum(axis=1).tolist()
    [0.0, 0.0, 0.0]
    >>> laplacian(complete(3), normalized=True)[0].tolist()
    [1.0, -0.5, -0.5]
    """
    A = np.asarray(A, dtype=float)
    L = np.diag(A.sum(axis=1)) - A
    if normalized:
        indegree = A.sum(axis=1, keepdims=True)
        L = np.divide(L, indegree, out=np.zeros_like(L), where=indegree > 0)
    return L


def laplacian_spectrum(A: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Eigenvalues of the in-degree Laplacian (:func:`laplacian`), sorted by real part. Directed
    graphs give complex eigenvalues, so this uses a general eigensolver (networkx's symmetric
    one would be wrong).

    Example
    -------
    >>> np.round(laplacian_spectrum(complete(3)).real, 6).tolist() == [0.0, 3.0, 3.0]
    True
    """
    eig = np.linalg.eigvals(laplacian(A, normalized))
    return eig[np.argsort(eig.real, kind="stable")]


def spectral_gap(A: np.ndarray, normalized: bool = False, tol: float = 1e-9) -> float:
    """The consensus rate the spectrum predicts: the smallest real part among the Laplacian's
    eigenvalues other than the one zero every Laplacian has (the second smallest, counting
    multiplicity). It is 0 exactly when the graph has no rooted spanning tree (a second zero:
    groups that never hear each other), and the slowest mode of ``dx/dt = -L x`` decays like
    ``exp(-gap t)`` otherwise.

    Example
    -------
    >>> bool(round(spectral_gap(ring(8)), 6) == round(1 - np.cos(2 * np.pi / 8), 6))
    True
    >>> spectral_gap(complete(5)), spectral_gap(two_halves(8, 2, seed=0))
    (5.0, 0.0)
    """
    A = np.asarray(A, dtype=float)
    if A.shape[0] < 2:
        return 0.0
    gap = float(laplacian_spectrum(A, normalized)[1].real)
    return 0.0 if abs(gap) < tol else round(gap, 12)


def consensus(A: np.ndarray, times, x0: np.ndarray, normalized: bool = False) -> np.ndarray:
    """The exact solution of linear consensus ``dx/dt = -L x`` on the graph from ``x0`` (one
    value per expert), at each of ``times``: shape ``(len(times), E)``.

    Example
    -------
    >>> x = consensus(complete(4), [0.0, 10.0], np.array([1.0, 0.0, 0.0, 3.0]))
    >>> np.round(x[-1], 6).tolist()                  # everyone at the mean
    [1.0, 1.0, 1.0, 1.0]
    """
    from scipy.linalg import expm

    L = laplacian(A, normalized)
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != (L.shape[0],):
        raise ValueError(f"consensus: x0 has shape {x0.shape}; must be ({L.shape[0]},), one value per expert")
    return np.stack([expm(-float(t) * L) @ x0 for t in np.asarray(times, dtype=float)])


def consensus_rate(A: np.ndarray, x0: np.ndarray, normalized: bool = False, t_max: float = 400.0) -> float:
    """The measured asymptotic rate of consensus ``dx/dt = -L x`` from ``x0``: how fast the
    disagreement ``y = x - x(inf)`` shrinks, minus the least-squares slope of ``log |y|``
    against time over the second half of ``[0, t_max]``.

    The disagreement is stepped with the exact propagator ``expm(-L dt)`` (no eigenvalues
    involved), renormalised at every step and kept free of the consensus value (``w . x`` for
    the left null vector ``w``), so it can be followed far past float precision; the fit over
    a long window averages out the oscillation of a complex slowest mode. The spectral
    prediction is :func:`spectral_gap`. A graph that never agrees reads 0; a non-normal
    Laplacian with a repeated eigenvalue (a chain) approaches its gap only slowly, like
    ``gap - (k - 1) / t`` for a k-fold eigenvalue.

    Example
    -------
    >>> x0 = np.random.default_rng(0).normal(size=8)
    >>> abs(consensus_rate(ring(8), x0) - spectral_gap(ring(8))) < 1e-4
    True
    """
    from scipy.linalg import expm

    L = laplacian(A, normalized)
    E = L.shape[0]
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != (E,):
        raise ValueError(f"consensus_rate: x0 has shape {x0.shape}; must be ({E},), one value per expert")
    w = np.linalg.svd(L.T)[2][-1]                      # left null vector: w . L = 0
    w = w / w.sum() if abs(w.sum()) > 1e-12 else w / np.linalg.norm(w)
    project = np.eye(E) - np.outer(np.ones(E), w)      # commutes with L (L 1 = 0, w L = 0)
    dt = 1.0 / max(2.0 * np.abs(np.diag(L)).max(), 1e-12)   # under 1/spectral radius (Gershgorin)
    steps = max(int(np.ceil(t_max / dt)), 4)
    step = project @ expm(-dt * L)
    y = project @ x0
    if np.linalg.norm(y) == 0:
        raise ValueError("consensus_rate: x0 is already at consensus; give experts different values")
    log_norm = np.empty(steps + 1)
    log_norm[0], y = np.log(np.linalg.norm(y)), y / np.linalg.norm(y)
    for k in range(1, steps + 1):
        y = step @ y
        norm = np.linalg.norm(y)
        if norm == 0:
            return float("inf")
        log_norm[k] = log_norm[k - 1] + np.log(norm)
        y = y / norm
    late = slice(steps // 2, steps + 1)
    slope = np.polyfit(dt * np.arange(steps + 1)[late], log_norm[late], 1)[0]
    return float(-slope) if -slope > 0 else 0.0
