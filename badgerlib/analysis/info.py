"""Information between experts, in nats: entropy, mutual information, total correlation,
binding information (dual total correlation), O- and S-information.

Inputs are arrays of shape ``(samples, dims)``; a multivariate measure takes ``parts``, one
variable (expert) per part, given as

* a list or tuple of arrays, each ``(samples,)`` or ``(samples, dims_i)``;
* a 3-D array ``(samples, parts, dims)``, e.g. a snapshot of expert states on a probe batch;
* a 2-D array ``(samples, parts)``, one scalar variable per column.

Three estimators, chosen by ``method``:

``"gaussian"`` (default)
    Gaussian copula (Ince et al. 2017): every column is rank-transformed to a standard normal,
    then entropies come from log-determinants of the covariance, each corrected for its
    finite-sample bias (the expectation of a Wishart log-determinant). The copula makes the
    result invariant to monotone transforms of every variable; it is exact for Gaussian data
    and, for mutual information and total correlation, a lower bound otherwise. It scales to 32 experts x 4 dims.
``"ksg"``
    Kraskov-Stoegbauer-Grassberger k-nearest-neighbour estimator (algorithm 1, max-norm).
    Non-parametric, but biased towards zero once the joint space exceeds ~10 dimensions.
``"binned"``
    Plug-in entropies of discretised data with the Miller-Madow correction. Columns with at
    most ``bins`` distinct values are taken as they are (so discrete data is exact); wider
    columns are cut into ``bins`` equal-frequency bins. Needs many samples per joint bin.

The measures (Rosas et al. 2019), for parts X_1..X_m with joint X and X_-i "all but i":

* total correlation      TC = sum_i H(X_i) - H(X)
* binding information    B = DTC = H(X) - sum_i H(X_i | X_-i)
* O-information          O = TC - B  (> 0 redundancy-dominated, < 0 synergy-dominated)
* S-information          S = TC + B = sum_i I(X_i; X_-i)

Rank-deficient data (a constant unit, two identical experts) never crashes and never gives
NaN: it gives a finite value and a :class:`DegenerateDataWarning` (see :data:`RIDGE`).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> z = rng.standard_normal((5000, 1))
>>> experts = [z + 0.5 * rng.standard_normal((5000, 1)) for _ in range(3)]
>>> round(total_correlation(experts), 1), o_information(experts) > 0
(1.1, True)
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import linalg, special, stats
from scipy.spatial import cKDTree

from badgerlib.checks import check_array

__all__ = [
    "METHODS", "RIDGE", "DegenerateDataWarning", "InfoSummary",
    "entropy", "mutual_information", "total_correlation", "binding_information",
    "dual_total_correlation", "o_information", "s_information", "information_summary",
    "pairwise_mutual_information", "gaussian_closed_form", "gaussian_estimate_sd",
    "random_covariance",
]

#: The estimators every function accepts as ``method``.
METHODS = ("gaussian", "ksg", "binned")

#: Ridge added to a rank-deficient correlation matrix (and the eigenvalue below which it is
#: added). Two identical variables then read about 0.5*ln(1/(2*RIDGE)) ~ 6.6 nats per
#: dimension instead of infinity; a constant variable reads as independent of everything.
RIDGE = 1e-6


class DegenerateDataWarning(UserWarning):
    """Constant or duplicated variables: the estimate is finite but regularised."""


@dataclass(frozen=True)
class InfoSummary:
    """All multivariate measures of one system, in nats.

    For two parts, ``total_correlation == binding_information`` is their mutual information
    and ``o_information`` is 0.

    Example
    -------
    >>> InfoSummary(1.0, 0.5, 0.5, 1.5).as_dict()["o_information"]
    0.5
    """

    total_correlation: float
    binding_information: float
    o_information: float
    s_information: float

    def as_dict(self) -> dict:
        """The four numbers as a plain dict (for tables and glue)."""
        return asdict(self)


def _caller() -> int:
    """stacklevel that points a warning at the first frame outside this module (the user's
    call), however deep inside the module it was raised."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    return level


# --------------------------------------------------------------------------- input checks
def _samples(x, fn: str, name: str) -> np.ndarray:
    """One variable as a float (samples, dims) array (a 1-D array is one dim); ValueError
    naming ``name`` otherwise."""
    a = check_array(x, fn, name, ndim=(1, 2), min_len=2)
    a = a[:, None] if a.ndim == 1 else a
    if a.shape[1] < 1:
        raise ValueError(f"{fn}: {name} has shape {a.shape}; at least 2 samples and 1 dim are needed")
    return a


def _parts(parts, fn: str, min_parts: int = 2) -> list[np.ndarray]:
    """Normalise the accepted ``parts`` layouts to a list of (samples, dims) arrays."""
    if hasattr(parts, "detach"):  # a torch tensor, without importing torch
        parts = parts.detach().cpu().numpy()
    if isinstance(parts, np.ndarray) or hasattr(parts, "__array__") and not isinstance(parts, (list, tuple)):
        a = np.asarray(parts)
        if a.ndim == 3:
            out = [_samples(a[:, i, :], fn, f"parts[:, {i}, :]") for i in range(a.shape[1])]
        elif a.ndim == 2:
            out = [_samples(a[:, i], fn, f"parts[:, {i}]") for i in range(a.shape[1])]
        else:
            raise ValueError(f"{fn}: parts has shape {a.shape}; allowed are (samples, parts), "
                             "(samples, parts, dims) or a list of (samples, dims) arrays")
    elif isinstance(parts, (list, tuple)):
        out = [_samples(p, fn, f"parts[{i}]") for i, p in enumerate(parts)]
    else:
        raise ValueError(f"{fn}: parts is a {type(parts).__name__}; allowed are a list of arrays or an array")
    if len(out) < min_parts:
        raise ValueError(f"{fn}: parts has {len(out)} part(s); at least {min_parts} are needed")
    n = {p.shape[0] for p in out}
    if len(n) > 1:
        raise ValueError(f"{fn}: parts have different numbers of samples {sorted(n)}; all must be equal")
    return out


def _check_method(method: str, fn: str) -> None:
    if method not in METHODS:
        raise ValueError(f"{fn}: method={method!r}; allowed are {', '.join(map(repr, METHODS))}")


def _pca(parts: list[np.ndarray], pca_dims: int | None, fn: str) -> list[np.ndarray]:
    """Project each part wider than ``pca_dims`` onto its leading principal components.

    Mutual information and total correlation can only lose by this (data processing), so they
    become lower bounds; binding and O-information have no such guarantee. It is what makes
    wide hidden states estimable from a few thousand samples.
    """
    if pca_dims is None:
        return parts
    if not isinstance(pca_dims, (int, np.integer)) or isinstance(pca_dims, bool) or pca_dims < 1:
        raise ValueError(f"{fn}: pca_dims={pca_dims!r}; allowed are None or an integer >= 1")
    out = []
    for p in parts:
        if p.shape[1] <= pca_dims:
            out.append(p)
            continue
        c = p - p.mean(axis=0)
        _, _, vt = np.linalg.svd(c, full_matrices=False)
        out.append(c @ vt[:pca_dims].T)
    return out


# ------------------------------------------------------------------------ Gaussian copula
def _copula(z: np.ndarray) -> np.ndarray:
    """Rank-transform each column to a standard normal (ties share their average rank)."""
    n = z.shape[0]
    return special.ndtri(stats.rankdata(z, axis=0) / (n + 1.0))


def _gauss_bias(d: int, n: int) -> float:
    """Expected excess of 0.5*logdet(sample covariance) over the truth for d dims, n samples.

    E[log det S] = log det Sigma + sum_j psi((n-j)/2) + d*(ln 2 - ln(n-1)), j = 1..d
    (Wishart), which is Ince et al.'s ``ent_g`` correction.
    """
    j = np.arange(1, d + 1)
    return 0.5 * (special.psi((n - j) / 2.0).sum() + d * (np.log(2.0) - np.log(n - 1.0)))


class _GaussianEntropy:
    """Entropies of column subsets of one joint sample from its (regularised) covariance."""

    def __init__(self, z: np.ndarray, fn: str, *, copula: bool, bias_correct: bool,
                 scale_free: bool):
        n, d = z.shape
        if n < d + 2:
            raise ValueError(
                f"{fn}: {n} samples for {d} joint dimensions; the Gaussian estimator needs at "
                f"least {d + 2} samples: pass more samples or pca_dims to shrink wide parts")
        self.n, self.bias_correct = n, bias_correct
        if copula:
            z = _copula(z)
        c = np.atleast_2d(np.cov(z, rowvar=False))
        sd = np.sqrt(np.clip(np.diag(c), 0.0, None))
        const = sd <= 1e-12 * max(sd.max(), 1e-300)
        # Constant columns become independent unit variables on the correlation scale:
        # they carry no information, so they contribute (up to bias terms) nothing.
        safe = np.where(const, 1.0, sd)
        r = c / np.outer(safe, safe)
        r[const, :] = 0.0
        r[:, const] = 0.0
        r[const, const] = 1.0
        lam = float(linalg.eigvalsh(r, subset_by_index=[0, 0])[0])
        dup = lam < RIDGE
        if const.any():
            warnings.warn(
                f"{fn}: {int(const.sum())} constant column(s) (e.g. a dead unit); "
                + ("treated as independent of everything" if scale_free
                   else f"their variance is floored at {RIDGE:g} x the mean variance"),
                DegenerateDataWarning, stacklevel=_caller())
        if dup:
            warnings.warn(
                f"{fn}: the joint covariance is rank-deficient (smallest eigenvalue of the "
                f"correlation matrix {lam:.1e}: duplicated or collinear variables, e.g. identical "
                f"experts); a ridge of {RIDGE:g} keeps the result finite, so perfectly dependent "
                f"variables read about {0.5 * np.log(1 / (2 * RIDGE)):.1f} nats per dimension",
                DegenerateDataWarning, stacklevel=_caller())
        if scale_free:
            c = (r + RIDGE * np.eye(d)) / (1.0 + RIDGE) if dup else r
        elif const.any() or dup:
            scale = float(np.mean(sd[~const] ** 2)) if (~const).any() else 1.0
            c = c + RIDGE * scale * np.eye(d)
        self.cov = c
        self._cache: dict[tuple, float] = {}
        self._inv: np.ndarray | None = None

    def _h(self, logdet: float, d: int) -> float:
        h = 0.5 * logdet + 0.5 * d * np.log(2 * np.pi * np.e)
        return float(h - _gauss_bias(d, self.n)) if self.bias_correct else float(h)

    def without(self, cols: Sequence[int]) -> float:
        """Entropy of every column except ``cols``, from one inverse of the whole matrix:
        det C_-S = det C * det (C^-1)_SS, so binding information over many experts costs one
        factorisation instead of one per expert."""
        if self._inv is None:
            chol = linalg.cho_factor(self.cov, lower=True)
            self._logdet_all = 2.0 * np.log(np.diag(chol[0])).sum()
            self._inv = linalg.cho_solve(chol, np.eye(len(self.cov)))
        sub = self._inv[np.ix_(cols, cols)]
        return self._h(self._logdet_all + np.linalg.slogdet(sub)[1], len(self.cov) - len(cols))

    def __call__(self, cols: Sequence[int]) -> float:
        key = tuple(cols)
        if not key:
            return 0.0
        if key not in self._cache:
            sub = self.cov[np.ix_(key, key)]
            d = len(key)
            try:
                logdet = 2.0 * np.log(np.diag(np.linalg.cholesky(sub))).sum()
            except np.linalg.LinAlgError:  # cannot happen after the ridge; belt and braces
                logdet = np.linalg.slogdet(sub + RIDGE * np.eye(d))[1]
            self._cache[key] = self._h(logdet, d)
        return self._cache[key]


# -------------------------------------------------------------------------------- binned
def _discretise(z: np.ndarray, bins: int) -> np.ndarray:
    """Integer symbols per column: distinct values if few, else equal-frequency bins."""
    out = np.empty(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):
        u, inv = np.unique(z[:, j], return_inverse=True)
        if len(u) <= bins:
            out[:, j] = inv
        else:
            edges = np.quantile(z[:, j], np.linspace(0, 1, bins + 1)[1:-1])
            out[:, j] = np.searchsorted(edges, z[:, j], side="right")
    return out


class _BinnedEntropy:
    """Plug-in entropies of column subsets of discretised data (Miller-Madow corrected)."""

    def __init__(self, z: np.ndarray, bins: int, bias_correct: bool, fn: str):
        if not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ValueError(f"{fn}: bins={bins!r}; allowed is an integer >= 2")
        self.sym = _discretise(z, int(bins))
        self.n, self.bias_correct = z.shape[0], bias_correct
        self._cache: dict[tuple, float] = {}

    def __call__(self, cols: Sequence[int]) -> float:
        key = tuple(cols)
        if not key:
            return 0.0
        if key not in self._cache:
            _, counts = np.unique(self.sym[:, key], axis=0, return_counts=True)
            p = counts / self.n
            h = float(-(p * np.log(p)).sum())
            if self.bias_correct:
                h += (len(counts) - 1) / (2.0 * self.n)  # Miller-Madow
            self._cache[key] = h
        return self._cache[key]


# ----------------------------------------------------------------------------------- KSG
def _jitter(z: np.ndarray, standardise: bool) -> np.ndarray:
    """Break ties (kNN estimators assume distinct points) with a fixed-seed 1e-10 noise."""
    z = z.astype(np.float64, copy=True)
    if standardise:  # the max-norm mixes columns, so put them on one scale (Kraskov 2004)
        sd = z.std(axis=0)
        z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    scale = np.maximum(np.abs(z).max(axis=0), 1.0)
    return z + 1e-10 * scale * np.random.default_rng(0).standard_normal(z.shape)


def _check_k(k, n: int, fn: str) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{fn}: k={k!r}; allowed is an integer >= 1")
    if n <= k + 1:
        raise ValueError(f"{fn}: {n} samples; the KSG estimator with k={k} needs at least {k + 2}")
    return int(k)


def _tree_workers(n: int) -> int:
    """Threads for a kd-tree query of ``n`` points: one below 4096 points, where starting a
    thread pool costs more than the query (4 ms against 1 ms for 256 points on 2 cores,
    measured), all cores above."""
    return 1 if n < 4096 else -1


def _ksg_tc(parts: list[np.ndarray], k: int) -> float:
    """KSG algorithm 1 for m variables: psi(k) + (m-1) psi(N) - <sum_j psi(n_j + 1)>."""
    n, m = parts[0].shape[0], len(parts)
    z = _jitter(np.hstack(parts), standardise=True)
    widths = np.cumsum([0] + [p.shape[1] for p in parts])
    # k+1 because each point is its own nearest neighbour at distance 0.
    eps = cKDTree(z).query(z, k=k + 1, p=np.inf, workers=_tree_workers(n))[0][:, -1]
    r = np.nextafter(eps, 0)  # strictly inside the k-th neighbour's distance
    acc = np.zeros(n)
    for j in range(m):
        sub = z[:, widths[j]:widths[j + 1]]
        cnt = cKDTree(sub).query_ball_point(sub, r=r, p=np.inf, return_length=True, workers=_tree_workers(n))
        acc += special.psi(cnt)  # cnt includes the point itself: cnt = n_j + 1
    return float(special.psi(k) + (m - 1) * special.psi(n) - acc.mean())


def _ksg_entropy(z: np.ndarray, k: int) -> float:
    """Kozachenko-Leonenko: H = psi(N) - psi(k) + d <ln(2 eps_i)> (max-norm balls)."""
    n, d = z.shape
    z = _jitter(z, standardise=False)
    eps = cKDTree(z).query(z, k=k + 1, p=np.inf, workers=_tree_workers(n))[0][:, -1]
    eps = np.maximum(eps, 1e-300)
    return float(special.psi(n) - special.psi(k) + d * np.mean(np.log(2 * eps)))


def _warn_if_degenerate(z: np.ndarray, fn: str, method: str) -> None:
    """The kNN and binned estimators stay finite on degenerate data; still say so."""
    sd = z.std(axis=0)
    const = sd <= 1e-12 * max(sd.max(), 1e-300)
    lam = np.inf
    if 1 < z.shape[1] < z.shape[0] - 1:  # with fewer samples than columns, collinearity is certain
        r = np.corrcoef(np.where(const, 0.0, z), rowvar=False) if (~const).sum() > 1 else np.eye(1)
        r = np.nan_to_num(r[np.ix_(~const, ~const)])
        if r.size > 1:
            lam = float(linalg.eigvalsh(r, subset_by_index=[0, 0])[0])
    if const.any() or lam < RIDGE:
        what = []
        if const.any():
            what.append(f"{int(const.sum())} constant column(s)")
        if lam < RIDGE:
            what.append("duplicated or collinear columns (e.g. identical experts)")
        warnings.warn(f"{fn}: {' and '.join(what)}; the {method} estimate is finite but "
                      "reflects the degeneracy", DegenerateDataWarning, stacklevel=_caller())


# ------------------------------------------------------------------------ shared engine
def _oracle(z: np.ndarray, method: str, fn: str, *, bins: int, copula: bool,
            bias_correct: bool) -> Callable[[Sequence[int]], float]:
    if method == "gaussian":
        return _GaussianEntropy(z, fn, copula=copula, bias_correct=bias_correct, scale_free=True)
    _warn_if_degenerate(z, fn, method)
    return _BinnedEntropy(z, bins, bias_correct, fn)


def _columns(parts: list[np.ndarray]) -> list[list[int]]:
    widths = np.cumsum([0] + [p.shape[1] for p in parts])
    return [list(range(widths[i], widths[i + 1])) for i in range(len(parts))]


def _measures(parts, fn: str, want: set[str], method: str, k: int, bins: int,
              pca_dims: int | None, copula: bool, bias_correct: bool) -> dict[str, float]:
    """Compute the requested subset of {tc, dtc, s} for the given parts."""
    _check_method(method, fn)
    ps = _pca(_parts(parts, fn), pca_dims, fn)
    out: dict[str, float] = {}
    if method == "ksg":
        k = _check_k(k, ps[0].shape[0], fn)
        _warn_if_degenerate(np.hstack(ps), fn, method)
        if "tc" in want or "dtc" in want:
            out["tc"] = _ksg_tc(ps, k)
        if "s" in want or "dtc" in want:
            # S = sum_i I(X_i; X_-i), each a two-variable KSG estimate; B = S - TC.
            out["s"] = float(sum(_ksg_tc([ps[i], np.hstack(ps[:i] + ps[i + 1:])], k)
                                 for i in range(len(ps))))
        if "dtc" in want:
            out["dtc"] = out["s"] - out["tc"]
        return out
    h = _oracle(np.hstack(ps), method, fn, bins=bins, copula=copula, bias_correct=bias_correct)
    cols = _columns(ps)
    every = [c for cs in cols for c in cs]
    h_all = h(every)
    if "tc" in want or "s" in want:
        out["tc"] = sum(h(c) for c in cols) - h_all
    if "dtc" in want or "s" in want:
        if isinstance(h, _GaussianEntropy):
            h_rest = [h.without(c) for c in cols]
        else:
            h_rest = [h([c for j, cs in enumerate(cols) if j != i for c in cs]) for i in range(len(cols))]
        out["dtc"] = sum(h_rest) - (len(cols) - 1) * h_all
    if "s" in want:
        out["s"] = out["tc"] + out["dtc"]
    return out


# --------------------------------------------------------------------------- public API
def entropy(x, method: str = "gaussian", *, k: int = 3, bins: int = 8,
            bias_correct: bool = True) -> float:
    """Joint entropy of ``x`` (samples, dims) in nats.

    Entropy depends on the marginals, so unlike the information measures the ``"gaussian"``
    method here fits a Gaussian to the raw data (no copula): exact for Gaussian data, an upper
    bound otherwise. ``"ksg"`` is the Kozachenko-Leonenko k-NN estimate (differential
    entropy); ``"binned"`` the discrete entropy of the binned symbols (exact on discrete data).

    Example
    -------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((20000, 2))
    >>> truth = np.log(2 * np.pi * np.e)           # two unit-variance dims
    >>> bool(abs(entropy(x) - truth) < 0.02)
    True
    >>> round(entropy(np.array([0, 1, 0, 1] * 100), method="binned"), 3)   # a fair bit
    0.694
    """
    fn = "entropy"
    _check_method(method, fn)
    z = _samples(x, fn, "x") if not isinstance(x, (list, tuple)) else np.hstack(_parts(x, fn, 1))
    if method == "gaussian":
        h = _GaussianEntropy(z, fn, copula=False, bias_correct=bias_correct, scale_free=False)
        return h(range(z.shape[1]))
    _warn_if_degenerate(z, fn, method)
    if method == "ksg":
        return _ksg_entropy(z, _check_k(k, z.shape[0], fn))
    return _BinnedEntropy(z, bins, bias_correct, fn)(range(z.shape[1]))


def mutual_information(x, y, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                       pca_dims: int | None = None, copula: bool = True,
                       bias_correct: bool = True) -> float:
    """Mutual information I(x; y) in nats between two (samples, dims) arrays.

    ``method``: ``"gaussian"`` (Gaussian copula, bias-corrected; ``copula=False`` fits the raw
    data instead), ``"ksg"`` (k-nearest neighbours, ``k`` neighbours) or ``"binned"``
    (``bins`` equal-frequency bins per column). ``pca_dims`` first reduces a wide x or y to
    its leading principal components. Estimates of independent data scatter around 0 and can
    be slightly negative.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(5000)      # correlation 0.8
    >>> truth = -0.5 * np.log(1 - 0.8 ** 2)                # 0.51 nats
    >>> bool(abs(mutual_information(x, y) - truth) < 0.03)
    True
    >>> bool(abs(mutual_information(x, y, method="ksg") - truth) < 0.05)
    True
    """
    fn = "mutual_information"
    xs, ys = _samples(x, fn, "x"), _samples(y, fn, "y")
    if xs.shape[0] != ys.shape[0]:
        raise ValueError(f"{fn}: x has {xs.shape[0]} samples and y has {ys.shape[0]}; they must be equal")
    return _measures([xs, ys], fn, {"tc"}, method, k, bins, pca_dims, copula, bias_correct)["tc"]


def total_correlation(parts, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                      pca_dims: int | None = None, copula: bool = True,
                      bias_correct: bool = True) -> float:
    """Total correlation TC = sum_i H(X_i) - H(X) in nats (Watanabe's multi-information).

    How much the parts' joint behaviour is constrained compared to independent parts; for two
    parts it is their mutual information. Keywords as in :func:`mutual_information`.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> indep = rng.standard_normal((4000, 3))          # three independent scalar parts
    >>> abs(total_correlation(indep)) < 0.01
    True
    """
    return _measures(parts, "total_correlation", {"tc"}, method, k, bins, pca_dims, copula,
                     bias_correct)["tc"]


def binding_information(parts, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                        pca_dims: int | None = None, copula: bool = True,
                        bias_correct: bool = True) -> float:
    """Binding information (dual total correlation) B = H(X) - sum_i H(X_i | X_-i), nats.

    The part of the joint entropy shared by two or more parts: the rest, sum_i H(X_i|X_-i),
    is private to single parts. With ``method="ksg"`` it is computed as S - TC.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((2, 5000))
    >>> parts = [a, b, a + b + 0.1 * rng.standard_normal(5000)]   # third ~ sum of the others
    >>> binding_information(parts) > total_correlation(parts)      # synergy: B > TC
    True
    """
    return _measures(parts, "binding_information", {"dtc"}, method, k, bins, pca_dims, copula,
                     bias_correct)["dtc"]


#: Another name of the binding information.
dual_total_correlation = binding_information


def o_information(parts, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                  pca_dims: int | None = None, copula: bool = True,
                  bias_correct: bool = True) -> float:
    """O-information O = TC - B in nats: > 0 redundancy-dominated, < 0 synergy-dominated.

    Identically 0 for two parts. Keywords as in :func:`mutual_information`.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal(5000)
    >>> copies = [z + 0.3 * rng.standard_normal(5000) for _ in range(4)]   # one shared signal
    >>> o_information(copies) > 0
    True
    """
    m = _measures(parts, "o_information", {"tc", "dtc"}, method, k, bins, pca_dims, copula,
                  bias_correct)
    return m["tc"] - m["dtc"]


def s_information(parts, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                  pca_dims: int | None = None, copula: bool = True,
                  bias_correct: bool = True) -> float:
    """S-information S = TC + B = sum_i I(X_i; X_-i) in nats: overall interdependence.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> abs(s_information(rng.standard_normal((4000, 3)))) < 0.02
    True
    """
    return _measures(parts, "s_information", {"s"}, method, k, bins, pca_dims, copula,
                     bias_correct)["s"]


def information_summary(parts, method: str = "gaussian", *, k: int = 3, bins: int = 8,
                        pca_dims: int | None = None, copula: bool = True,
                        bias_correct: bool = True) -> InfoSummary:
    """TC, binding information, O- and S-information at once (sharing the entropies).

    Example
    -------
    >>> import numpy as np
    >>> s = information_summary(np.random.default_rng(0).standard_normal((3000, 4, 2)))
    >>> sorted(s.as_dict())
    ['binding_information', 'o_information', 's_information', 'total_correlation']
    """
    m = _measures(parts, "information_summary", {"tc", "dtc", "s"}, method, k, bins, pca_dims,
                  copula, bias_correct)
    return InfoSummary(m["tc"], m["dtc"], m["tc"] - m["dtc"], m["s"])


def pairwise_mutual_information(parts, method: str = "gaussian", *, k: int = 3,
                                bins: int = 8, pca_dims: int | None = None,
                                copula: bool = True, bias_correct: bool = True) -> np.ndarray:
    """Matrix of I(X_i; X_j) in nats between all pairs of parts (experts) of a snapshot.

    ``parts`` as everywhere, typically a (samples, experts, dims) snapshot. The result is a
    symmetric (parts, parts) array whose diagonal is 0 (self-information is not an
    interaction); take ``m[np.triu_indices(len(m), 1)]`` for the distinct pairs. With the
    Gaussian copula all pairs share one rank transform and one covariance matrix.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((3000, 1, 2))                 # a signal shared by experts 0, 1
    >>> snap = np.concatenate([z + rng.standard_normal((3000, 2, 2)),
    ...                        rng.standard_normal((3000, 1, 2))], axis=1)   # expert 2: own noise
    >>> m = pairwise_mutual_information(snap)
    >>> m.shape, bool(m[0, 1] > 0.2), bool(abs(m[0, 2]) < 0.01)
    ((3, 3), True, True)
    """
    fn = "pairwise_mutual_information"
    _check_method(method, fn)
    ps = _pca(_parts(parts, fn), pca_dims, fn)
    e = len(ps)
    out = np.zeros((e, e))
    cols = _columns(ps)
    n, width = ps[0].shape[0], cols[-1][-1] + 1
    if method == "gaussian" and n >= width + 2:
        # One rank transform and one covariance for all pairs.
        h = _GaussianEntropy(np.hstack(ps), fn, copula=copula, bias_correct=bias_correct, scale_free=True)
        for i in range(e):
            for j in range(i + 1, e):
                out[i, j] = out[j, i] = h(cols[i]) + h(cols[j]) - h(cols[i] + cols[j])
        return out
    # Pair by pair (other estimators, or too few samples for the whole snapshot at once),
    # gathering the degeneracy warnings into one.
    degenerate = []
    for i in range(e):
        for j in range(i + 1, e):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DegenerateDataWarning)
                out[i, j] = out[j, i] = _measures([ps[i], ps[j]], fn, {"tc"}, method, k, bins,
                                                  None, copula, bias_correct)["tc"]
            for w in caught:
                if issubclass(w.category, DegenerateDataWarning):
                    degenerate.append((i, j, str(w.message)))
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if degenerate:
        i, j, msg = degenerate[0]
        warnings.warn(f"{fn}: degenerate data in {len({(a, b) for a, b, _ in degenerate})} pair(s); "
                      f"first, experts ({i}, {j}): {msg}", DegenerateDataWarning, stacklevel=_caller())
    return out


# ------------------------------------------------------------------ ground truth helpers
def gaussian_closed_form(cov, sizes: Sequence[int]) -> InfoSummary:
    """Exact TC, B, O and S (nats) of a Gaussian with covariance ``cov`` split into parts.

    ``sizes`` gives the number of dimensions of each consecutive part (they must sum to the
    size of ``cov``). For two parts, ``total_correlation`` is the mutual information
    I = 0.5 * ln(det C_x det C_y / det C).

    Example
    -------
    >>> import numpy as np
    >>> cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    >>> round(gaussian_closed_form(cov, [1, 1]).total_correlation, 4)    # -0.5 ln(1 - 0.64)
    0.5108
    """
    fn = "gaussian_closed_form"
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.allclose(c, c.T):
        raise ValueError(f"{fn}: cov has shape {c.shape}; a symmetric square matrix is needed")
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1 or sum(sizes) != c.shape[0]:
        raise ValueError(f"{fn}: sizes={sizes} must be >= 2 positive integers summing to {c.shape[0]}")
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError as err:
        raise ValueError(f"{fn}: cov is not positive definite; a closed form needs it to be") from err

    def h(cols):
        if not cols:
            return 0.0
        return 0.5 * np.linalg.slogdet(c[np.ix_(cols, cols)])[1] + 0.5 * len(cols) * np.log(2 * np.pi * np.e)

    widths = np.cumsum([0] + sizes)
    cols = [list(range(widths[i], widths[i + 1])) for i in range(len(sizes))]
    every = list(range(c.shape[0]))
    tc = sum(h(cs) for cs in cols) - h(every)
    dtc = sum(h([x for j, cs in enumerate(cols) if j != i for x in cs]) for i in range(len(cols))) \
        - (len(cols) - 1) * h(every)
    return InfoSummary(float(tc), float(dtc), float(tc - dtc), float(tc + dtc))


def gaussian_estimate_sd(value, n_samples: int, *, measure: str = "total_correlation"):
    """Approximate sampling standard deviation (nats) of a Gaussian-copula estimate of
    ``value`` nats from ``n_samples`` samples: c * sqrt(2 |value| / n_samples), floored at
    1 / n_samples.

    c was measured over 30 seeds on Gaussian systems of 2-16 experts x 1-4 dims with
    1000-5000 samples: at most 1.3 for MI, TC, binding information and O-information, 1.7 for
    S-information (= TC + B, whose errors add). The tests and the appendix accept estimates
    within 0.01 nats + 5 of these standard deviations.

    Example
    -------
    >>> round(gaussian_estimate_sd(0.5, 2000), 4)
    0.0291
    """
    if measure not in ("mutual_information", "total_correlation", "binding_information",
                       "o_information", "s_information"):
        raise ValueError(f"gaussian_estimate_sd: measure={measure!r}; allowed are the names of "
                         "the InfoSummary fields or 'mutual_information'")
    n = np.asarray(n_samples, dtype=np.float64)
    if np.any(n < 2):
        raise ValueError(f"gaussian_estimate_sd: n_samples={n_samples!r}; allowed is >= 2")
    c = 1.7 if measure == "s_information" else 1.3
    sd = np.maximum(c * np.sqrt(2.0 * np.abs(value) / n), 1.0 / n)
    return float(sd) if sd.ndim == 0 else sd


def random_covariance(n_dims: int, *, coupling: float = 1.0, seed: int = 0) -> np.ndarray:
    """A random correlation matrix with ``n_dims`` dims for estimator tests.

    Built as I + coupling * W W^T / n_dims with Gaussian W, then scaled to unit diagonal:
    ``coupling=0`` gives independence, larger values stronger (redundant) dependence while
    the matrix stays well conditioned.

    Example
    -------
    >>> c = random_covariance(4, seed=1)
    >>> c.shape, bool(np.allclose(np.diag(c), 1.0))
    ((4, 4), True)
    """
    fn = "random_covariance"
    if not isinstance(n_dims, (int, np.integer)) or n_dims < 1:
        raise ValueError(f"{fn}: n_dims={n_dims!r}; allowed is an integer >= 1")
    if not np.isfinite(coupling) or coupling < 0:
        raise ValueError(f"{fn}: coupling={coupling!r}; allowed is a finite number >= 0")
    w = np.random.default_rng(seed).standard_normal((n_dims, n_dims))
    c = np.eye(n_dims) + coupling * (w @ w.T) / n_dims
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)
