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


def complete(experts: int) -> np.ndarray:
    """Everyone sends to everyone else.

    Example
    -------
    >>> int(complete(3).sum())
    6
    """
    _check_experts(experts)
    return np.ones((experts, experts)) - np.eye(experts)


def build(topology: str, experts: int, links: int = 3, seed: int = 0) -> np.ndarray:
    """The adjacency matrix of a named topology (``random``, ``ring`` or ``complete``).

    Example
    -------
    >>> build("ring", 4).shape
    (4, 4)
    """
    if topology == "random":
        return random_k_out(experts, links, seed)
    if topology == "ring":
        return ring(experts)
    if topology == "complete":
        return complete(experts)
    raise ValueError(f"topology = {topology!r}: must be one of ('random', 'ring', 'complete')")


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


def laplacian(A: np.ndarray) -> np.ndarray:
    """In-degree Laplacian ``L = D_in - A`` (rows sum to zero), the generator of consensus
    dynamics ``dx/dt = -L x`` on this graph.

    Example
    -------
    >>> laplacian(complete(3)).sum(axis=1).tolist()
    [0.0, 0.0, 0.0]
    """
    A = np.asarray(A, dtype=float)
    return np.diag(A.sum(axis=1)) - A


def laplacian_spectrum(A: np.ndarray) -> np.ndarray:
    """Eigenvalues of the in-degree Laplacian, sorted by real part. Directed graphs give complex
    eigenvalues, so this uses a general eigensolver (networkx's symmetric one would be wrong).
    The smallest nonzero real part sets the speed of consensus.

    Example
    -------
    >>> np.round(laplacian_spectrum(complete(3)).real, 6).tolist() == [0.0, 3.0, 3.0]
    True
    """
    eig = np.linalg.eigvals(laplacian(A))
    return eig[np.argsort(eig.real, kind="stable")]
