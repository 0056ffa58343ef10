"""Chapter 7, topology: which expert graphs train fast, and does the Laplacian spectrum say so?

The study reads Micro-Badger's inner loop as an autonomous dynamical system on the expert
graph: a strongly connected graph lets every piece of information reach every expert, and
the eigenvalues of the graph Laplacian govern how fast it converges (Yilun 2012; Olfati-Saber,
Fax & Murray 2007). It lists "strongly vs weakly connected topologies and Laplacian
eigenvalues" as future work. This chapter measures it:

* graphs and runs: :data:`GRAPHS` (a label per family and its ``links``), :func:`sizes`,
  :func:`graph_config`, :func:`configs`, :func:`adjacency_of` (the very graph a run trained
  on); the agent of chapter 6 (16 experts, N = 4), so its runs with 4 random links and
  without links are shared with that chapter;
* spectra and consensus: :func:`graph_table` (one row per family: links, connectivity, the
  spectral gap of the in-degree and of the mean-aggregation Laplacian, and the consensus rate
  measured on the graph beside each);
* the inner loop: :func:`perturbation_response` (how every expert's output moves when one
  expert's initial state is nudged, through everything or through the graph alone);
* training speed: :func:`run_table` (one row per run), :func:`findings`,
  :func:`finding_numbers`, :func:`verdict`;
* figures: :func:`plot_graphs`, :func:`plot_spectra`, :func:`plot_consensus`,
  :func:`plot_response`, :func:`plot_speed`.

Example
-------
>>> size = sizes(quick=True)
>>> size.experts, size.n, size.seeds, size.iterations
(16, 4, 2, 1200)
>>> list(configs(quick=True))[:3]
['random (4 links)', 'no links', 'ring']
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from badgerlib import topology
from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.stats import interval_text, sign_interval
from badgerlib.chapters import standard
from badgerlib.chapters.standard import final_error, solve_iteration
from badgerlib.checks import check_choice, check_int
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.model import feedback_features
from badgerlib.run import probe_inputs
from badgerlib.tasks import GuessingGame

#: Every graph the chapter trains on, by label: ``(family, links)`` (``links`` as
#: :data:`badgerlib.checks.LINKS_MEANING` says; ignored by the families without it). Four
#: links where a family takes a number: the study's agent; the two halves then differ from it
#: only in that no link crosses between the halves.
GRAPHS = {
    "random (4 links)": ("random", 4),
    "no links": ("random", 0),
    "ring": ("ring", 4),
    "bidirectional ring": ("bidirectional_ring", 4),
    "chain": ("chain", 4),
    "star": ("star", 4),
    "complete": ("complete", 4),
    "small world": ("small_world", 4),
    "two halves": ("two_halves", 4),
    "random (1 link)": ("random", 1),
    "random (2 links)": ("random", 2),
    "random (8 links)": ("random", 8),
}


# ------------------------------------------------------------------------------ sizes, runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 7 in one mode: chapter 6's agent and training (so the runs with 4
    random links and without links are shared with it), on other graphs.

    Fields
    ------
    experts, hidden, n, inner_steps, batch, lr, iterations: the agent and its training.
    seeds: seeds per graph.
    graphs: the labels of :data:`GRAPHS` trained.
    snapshot_every: outer iterations between snapshots.
    probe: probe tasks of the inner-loop measures.
    solved: the error level (zeros level = 1) below which a run counts as solved.
    eps: size of the nudge of one expert's initial state (float64).

    Example
    -------
    >>> len(FULL.graphs), FULL.seeds, FULL.iterations
    (12, 10, 4000)
    """

    experts: int = 16
    hidden: int = 32
    n: int = 4
    inner_steps: int = 10
    batch: int = 32
    lr: float = 3e-3
    iterations: int = 1200
    seeds: int = 2
    graphs: tuple = ("random (4 links)", "no links", "ring", "chain", "star", "complete", "two halves")
    snapshot_every: int = 100
    probe: int = 128
    solved: float = 0.25
    eps: float = 1e-6


#: Quick mode: seven graphs over 2 seeds at chapter 6's quick length (1200 iterations; its
#: pilot solved the 4-link agent at 855-1247 and the agent without links at 1190-1640, so the
#: slower graphs are censored, not dropped). Full mode's five other graphs and ten seeds do not
#: fit the test suite's time budget (25 minutes for the whole book).
QUICK = Sizes()

#: Full mode: every graph of :data:`GRAPHS` over 10 seeds at chapter 6's full length.
FULL = Sizes(iterations=4000, seeds=10, graphs=tuple(GRAPHS), probe=256)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).seeds
    10
    """
    standard.sizes(quick)            # the one check of ``quick``
    return QUICK if quick else FULL


def graph_config(label: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The run of the chapter's agent on graph ``label`` (a key of :data:`GRAPHS`) for
    ``seed``; the random graphs are drawn with the run's seed. For 4 random links and for no
    links it is chapter 6's run of the same seed and mode (``binding.variant_config``).

    Example
    -------
    >>> cfg = graph_config("two halves", seed=2)
    >>> cfg.model.topology, cfg.model.links, cfg.model.experts, cfg.seed
    ('two_halves', 4, 16, 2)
    >>> graph_config("torus")
    Traceback (most recent call last):
    ...
    ValueError: graph_config.label = 'torus': must be one of ('random (4 links)', 'no links', 'ring', 'bidirectional ring', 'chain', 'star', 'complete', 'small world', 'two halves', 'random (1 link)', 'random (2 links)', 'random (8 links)')
    """
    check_choice("graph_config", "label", label, tuple(GRAPHS))
    size = sizes(quick)
    family, links = GRAPHS[label]
    model = MicroBadgerConfig(experts=size.experts, hidden=size.hidden, links=links, topology=family)
    return RunConfig(task=GuessingGame(n=size.n), model=model, inner_steps=size.inner_steps,
                     iterations=size.iterations, batch=size.batch, lr=size.lr,
                     seed=check_int("graph_config", "seed", seed, 0),
                     snapshot_count=size.iterations // size.snapshot_every + 1,
                     record_states=False)


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the chapter, by graph label.

    Example: see the module docstring.
    """
    size = sizes(quick)
    return {label: [graph_config(label, s, quick) for s in range(size.seeds)] for label in size.graphs}


def adjacency_of(config: RunConfig) -> np.ndarray:
    """The graph ``config``'s agent trained on (``A[i, j] = 1`` when j sends to i), as the model
    builds it.

    Example
    -------
    >>> int(adjacency_of(graph_config("ring")).sum())
    16
    """
    m = config.model
    return topology.build(m.topology, m.experts, m.links, config.seed)


def graph_of(label: str, experts: int, seed: int = 0) -> np.ndarray:
    """The graph ``label`` (a key of :data:`GRAPHS`) with ``experts`` experts as drawn for
    ``seed``: the one a run of that graph and seed trains on (:func:`adjacency_of`).

    Example
    -------
    >>> bool((graph_of("two halves", 16, seed=3) == adjacency_of(graph_config("two halves", seed=3))).all())
    True
    """
    check_choice("graph_of", "label", label, tuple(GRAPHS))
    family, links = GRAPHS[label]
    return topology.build(family, experts, links, seed)


def setup_values(quick: bool = True) -> dict:
    """The sizes the chapter's setup section shows, by glue name.

    Example
    -------
    >>> v = setup_values()
    >>> v["experts"], v["iterations"], v["graph_count"]
    (16, 1200, 7)
    """
    size = sizes(quick)
    values = {name: getattr(size, name) for name in ("experts", "hidden", "n", "inner_steps", "batch", "lr",
                                                     "iterations", "seeds", "probe", "solved")}
    return {**values, "graph_count": len(size.graphs), "graphs": ", ".join(size.graphs), "eps": f"{size.eps:g}"}


# ------------------------------------------------------------------------ spectra, consensus
def graph_properties(A: np.ndarray, x0: np.ndarray | None = None) -> dict:
    """What the chapter reads off one graph: ``links`` (directed links in all),
    ``strongly_connected``, ``spanning_tree`` (some expert reaches all), ``diameter`` (the
    longest shortest path, inf if some pair never connects), the spectral ``gap`` of the
    in-degree Laplacian and ``gap_mean`` of the mean-aggregation one (what the agent's
    messages do), and the consensus rates measured on the graph beside them (``rate``,
    ``rate_mean``, from ``x0``, a standard normal draw by default).

    Example
    -------
    >>> p = graph_properties(topology.ring(8))
    >>> p["links"], p["strongly_connected"], p["diameter"], round(p["gap"], 3), round(p["rate"], 3)
    (8, True, 7.0, 0.293, 0.293)
    """
    A = np.asarray(A, dtype=float)
    x0 = np.random.default_rng(0).normal(size=A.shape[0]) if x0 is None else x0
    hops = topology.hop_distances(A)
    return {"links": int(A.sum()), "strongly_connected": topology.is_strongly_connected(A),
            "spanning_tree": topology.has_spanning_tree(A), "diameter": float(hops.max()),
            "gap": topology.spectral_gap(A), "gap_mean": topology.spectral_gap(A, normalized=True),
            "rate": topology.consensus_rate(A, x0), "rate_mean": topology.consensus_rate(A, x0, normalized=True)}


def networkx_gap(A: np.ndarray) -> float:
    """The gap a reader would get from ``networkx.laplacian_spectrum`` (second smallest
    eigenvalue): it uses a symmetric eigensolver, which reads only one triangle of a directed
    graph's Laplacian, so on directed graphs it is wrong (the negative control of the
    consensus check).

    Example
    -------
    >>> round(networkx_gap(topology.ring(16)), 3), round(topology.spectral_gap(topology.ring(16)), 3)
    (1.0, 0.076)
    """
    import warnings

    import networkx as nx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eig = np.sort(np.real(nx.laplacian_spectrum(topology.to_networkx(A))))
    return float(eig[1]) if len(eig) > 1 else 0.0


def graph_table(size: Sizes, seed: int = 0) -> pd.DataFrame:
    """One row per graph of ``size`` (the draw of ``seed`` for the random ones):
    :func:`graph_properties` with ``graph``, ``family`` and ``gap_networkx``
    (:func:`networkx_gap`).

    Example
    -------
    >>> t = graph_table(QUICK)
    >>> t.set_index("graph").loc[["ring", "two halves"], ["strongly_connected", "gap"]].values.tolist()
    [[True, 0.076120467489], [False, 0.0]]
    """
    rows = []
    for label in size.graphs:
        A = graph_of(label, size.experts, seed)
        rows.append({"graph": label, "family": GRAPHS[label][0], **graph_properties(A), "gap_networkx": networkx_gap(A)})
    return pd.DataFrame(rows)


def shown_graphs(graphs: pd.DataFrame) -> pd.DataFrame:
    """:func:`graph_table` as the chapter's table shows it, narrow enough for the column:
    connectivity in words, each Laplacian's gap beside the consensus rate measured on the
    graph (``gap / rate``, 3 significant digits), and networkx's gap.

    Example
    -------
    >>> [str(v) for v in shown_graphs(graph_table(QUICK)).iloc[3]]
    ['chain', '15', 'spanning tree only', 'inf', '1 / 0.952', '1 / 0.952', '1']
    """
    def pair(a, b):      # a rate below 1e-9 is rounding of a graph that never agrees
        return f"{a:.3g} / {b if abs(b) >= 1e-9 else 0:.3g}"

    connectivity = np.where(graphs.strongly_connected, "strong",
                            np.where(graphs.spanning_tree, "spanning tree only", "no spanning tree"))
    return pd.DataFrame({
        "graph": graphs.graph, "links": graphs.links, "connectivity": connectivity,
        "diameter": [f"{d:.0f}" for d in graphs.diameter],
        "in-degree gap / rate": [pair(a, b) for a, b in zip(graphs.gap, graphs.rate)],
        "mean-agg. gap / rate": [pair(a, b) for a, b in zip(graphs.gap_mean, graphs.rate_mean)],
        "networkx's gap": [f"{g:.3g}" for g in graphs.gap_networkx]})


# ------------------------------------------------------------------------------- inner loop
def perturbation_response(model, task, targets: torch.Tensor, h_init: torch.Tensor, steps: int,
                          eps: float = 1e-6, seed: int = 0) -> dict[str, np.ndarray]:
    """How every expert's output moves when one expert's initial state is nudged: for each
    source expert ``j`` its initial state moves by ``eps`` along a random unit direction
    (float64), and ``R[t, i, j]`` is the root-mean-square change of expert ``i``'s output at
    inner step ``t`` over tasks and dimensions, divided by ``eps``.

    Two channels: ``full`` lets the nudge travel every way it can, including through the
    agent's guess (the mean output over experts), which every expert sees at the next step;
    ``graph`` holds the guesses and the feedback at their un-nudged values (the task inputs
    are replayed), so the nudge can travel only along the graph's links, one link per step.

    Returns ``{"full": R, "graph": R}``, each ``(steps + 1, E, E)`` (step 0: the nudge itself
    is not an output, so zeros).

    Example: in ``tests/test_chapter_topology.py`` (it reads the exact hop distances back).
    """
    model = copy.deepcopy(model).double().eval()
    names = model.config.features
    E = h_init.shape[1]
    B = targets.shape[0]
    targets = targets.double()
    h0 = h_init.double()
    with torch.no_grad():
        base = model.rollout(task, targets, steps, h_init=h0, record=True)
        gen = torch.Generator().manual_seed(seed)
        direction = torch.randn(E, B, h0.shape[-1], generator=gen, dtype=torch.float64)
        direction = direction / direction.norm(dim=-1, keepdim=True)
        # one copy of the batch per source expert, its state nudged: (E * B, E, H)
        nudged = h0.repeat(E, 1, 1)
        for j in range(E):
            nudged[j * B:(j + 1) * B, j] += eps * direction[j]
        tiled = targets.repeat(E, 1)
        full = model.rollout(task, tiled, steps, h_init=nudged, record=True).outputs
        graph = _replayed_outputs(model, nudged, base, names, E)
    out = {}
    for name, outputs in (("full", full), ("graph", graph)):
        diff = outputs.reshape(E, B, steps + 1, E, -1) - base.outputs[None]      # (source, B, t, i, N)
        r = diff.pow(2).mean(dim=(1, 4)).sqrt() / eps                              # (source, t, i)
        out[name] = r.permute(1, 2, 0).numpy()                                     # (t, i, source)
    return out


def _replayed_outputs(model, h: torch.Tensor, base, names, copies: int) -> torch.Tensor:
    """The experts' outputs over the inner steps from states ``h`` with the task inputs
    (feedback features and previous guess) replayed from the rollout ``base`` instead of
    computed from ``h``'s own guesses: information then moves between experts only along
    the graph."""
    f, guesses = base.feedback.repeat(copies, 1), base.guesses.repeat(copies, 1, 1)
    outputs = [torch.zeros_like(base.outputs[:, 0]).repeat(copies, 1, 1)]
    for t in range(1, guesses.shape[1]):
        f_prev = f[:, t - 2] if t >= 2 else f[:, 0]
        task_input = torch.cat([feedback_features(f[:, t - 1], f_prev, names), guesses[:, t - 1]], dim=-1)
        h = model.step(h, task_input)
        outputs.append(model.readout(h))
    return torch.stack(outputs, dim=1)


def response_summary(R: dict[str, np.ndarray], A: np.ndarray, tol: float = 1e-3) -> dict:
    """One run's inner-loop numbers from :func:`perturbation_response` on graph ``A``:

    - ``reach_full``: the last step at which some expert first responds to some other expert
      (response above ``tol`` times the source's own response at step 1), through every
      channel (inf if some pair never does);
    - ``graph_exact``: whether, through the graph alone, every pair responds first exactly at
      its hop distance and not before (nothing else may carry it);
    - ``reached_graph``: the share of ordered pairs reached through the graph within the rollout;
    - ``graph_share``: the median, over the pairs the graph connects within the rollout, of
      the response through the graph alone over the response through everything at the last
      step (how much of what one expert does to another the links carry; NaN without links).

    Example
    -------
    >>> A = topology.chain(3)
    >>> R = np.zeros((4, 3, 3)); R[1] = np.eye(3)
    >>> R_graph = R.copy(); R_graph[1:, 1, 0] = R_graph[2:, 2, 0] = R_graph[1:, 2, 1] = 0.5
    >>> R_full = R_graph + 0.5 * (np.arange(4) >= 2)[:, None, None]
    >>> s = response_summary({"full": R_full, "graph": R_graph}, A)
    >>> s["reach_full"], s["graph_exact"], round(s["reached_graph"], 2), s["graph_share"]
    (2.0, True, 0.5, 0.5)
    """
    full, graph = R["full"], R["graph"]
    E = A.shape[0]
    own = np.maximum(np.diagonal(full[1]), 1e-300)            # each source's own response at step 1
    off = ~np.eye(E, dtype=bool)

    def first_step(resp, thresh):
        above = resp > thresh                                  # (t, i, j)
        first = np.where(above.any(axis=0), above.argmax(axis=0), np.inf).astype(float)
        return first

    first_full = first_step(full, tol * own[None, None, :])
    first_graph = first_step(graph, 0.0)                      # exact zeros before the nudge arrives
    hops = topology.hop_distances(A)
    steps = full.shape[0] - 1
    expected = np.where(hops[off] <= steps, hops[off], np.inf)
    connected = off & (hops <= steps)
    share = graph[-1][connected] / np.maximum(full[-1][connected], 1e-300)
    return {"reach_full": float(first_full[off].max()),
            "graph_exact": bool(np.array_equal(first_graph[off], expected)),
            "reached_graph": float(np.isfinite(first_graph[off]).mean()),
            "graph_share": float(np.median(share)) if share.size else np.nan}


def run_response(run, size: Sizes) -> dict[str, np.ndarray]:
    """:func:`perturbation_response` of a run's trained agent (its last snapshot) on
    ``size.probe`` probe tasks.

    Example: in ``tests/test_chapter_topology.py`` (it needs a trained run).
    """
    model = run.model_at(len(run.snapshots["iterations"]) - 1)
    targets, h_init = probe_inputs(model, run.config, batch=size.probe)
    return perturbation_response(model, run.config.task, targets, h_init, run.config.inner_steps, size.eps,
                                 seed=run.config.seed)


# --------------------------------------------------------------------------- training speed
def run_table(runs_by_graph: dict, size: Sizes, responses: dict | None = None) -> pd.DataFrame:
    """One row per run: ``graph``, ``family``, ``seed``; the properties of the graph it trained
    on (:func:`graph_properties`); when it left the zeros plateau (``escape``,
    :func:`badgerlib.analysis.dynamics.escape_iteration`) and was solved (``solve``, error of
    the last guess below ``size.solved`` for good), both NaN if never (censored at the run's
    length); ``final_error`` (zeros level = 1); and, where ``responses`` maps ``(graph, seed)``
    to :func:`perturbation_response`, its :func:`response_summary`.

    Example: in ``tests/test_chapter_topology.py`` (it needs trained runs).
    """
    rows = []
    for label, runs in runs_by_graph.items():
        for run in runs:
            A = adjacency_of(run.config)
            esc = escape_iteration(np.asarray(run.history["last_error"]), run.config.task.zeros_level)
            row = {"graph": label, "family": run.config.model.topology, "seed": run.config.seed, **graph_properties(A),
                   "escape": np.nan if esc is None else float(esc), "solve": solve_iteration(run, size.solved),
                   "final_error": final_error(run), "iterations": len(run.history["last_error"])}
            if responses is not None and (label, run.config.seed) in responses:
                row.update(response_summary(responses[(label, run.config.seed)], A))
            rows.append(row)
    return pd.DataFrame(rows)


def censored_rank(values: pd.Series) -> pd.Series:
    """Ranks of times to an event where a run that never got there (NaN) ranks after every
    run that did (censored at the run's length; ties share their mean rank).

    Example
    -------
    >>> censored_rank(pd.Series([300.0, np.nan, 100.0])).tolist()
    [2.0, 3.0, 1.0]
    """
    return values.fillna(np.inf).rank(method="average")


def findings(table: pd.DataFrame) -> dict:
    """Every across-run number the chapter reports. A seed fixes the initial weights and the
    stream of tasks, so the runs of one seed differ only in their graph, and the seed moves
    the outcomes far more than the graph does (:func:`variance_shares`): runs of one seed are
    not independent. So each comparison is made within a seed first, one number per seed, and
    summarised over seeds by the median with its distribution-free 95 % interval
    (:func:`badgerlib.analysis.stats.sign_interval`; infinite below 6 seeds):

    - ``gap_mean``, ``gap``, ``links``: per seed, Spearman's rho across graphs of the
      mean-aggregation spectral gap, the in-degree one and the number of links against the
      rank of the iteration to solve (:func:`censored_rank`: a run never solved ranks last; a
      negative rho: the predictor goes with faster solving);
    - ``escape_gap_mean``: the same for the iteration leaving the zeros plateau;
    - ``halves``: the iterations to solve of the two halves minus those of 4 random links
      (never solved: counted at the run's length, so a difference involving such a run is a
      bound); ``chain``: chain minus ring; ``no_links``: no links minus 4 random links (None
      where a mode trains none of the pair); ``strong``: the median over graphs that are not
      strongly connected minus the median over those that are;
    - ``escape_shares``, ``solve_shares``: :func:`variance_shares` of the iteration leaving
      the zeros plateau and of the iteration solved;
    - ``solved``: per graph, how many runs were solved;
    - with the inner-loop columns: ``graph_share`` (median over runs with links of the share
      of one expert's response to another that the links carry) and ``reach_full`` (the
      latest first response over every run: by then every expert has heard every other).

    Example: in ``tests/test_chapter_topology.py``.
    """
    t = table.assign(solve_c=table.solve.fillna(table.iterations),       # censored at the run's length
                     escape_c=table.escape.fillna(table.iterations))
    t = t.assign(solve_rank=t.groupby("seed").solve.transform(censored_rank),
                 escape_rank=t.groupby("seed").escape.transform(censored_rank))

    def per_seed_rho(x, y):
        # a seed whose runs all tie (all never solved, say) has no rank correlation
        rhos = [g[x].corr(g[y], method="spearman") for _, g in t.groupby("seed")
                if g[x].nunique() > 1 and g[y].nunique() > 1]
        return sign_interval(rhos)

    by_seed = t.pivot_table(index="seed", columns="graph", values="solve_c")

    def paired(a, b):
        if a not in by_seed or b not in by_seed:
            return None
        return sign_interval((by_seed[a] - by_seed[b]).dropna())

    strong = t.groupby(["seed", "strongly_connected"]).solve_c.median().unstack()
    found = {"gap_mean": per_seed_rho("gap_mean", "solve_rank"), "gap": per_seed_rho("gap", "solve_rank"),
             "links": per_seed_rho("links", "solve_rank"),
             "escape_gap_mean": per_seed_rho("gap_mean", "escape_rank"),
             "halves": paired("two halves", "random (4 links)"), "chain": paired("chain", "ring"),
             "no_links": paired("no links", "random (4 links)"),
             "strong": sign_interval((strong[False] - strong[True]).dropna()) if strong.shape[1] == 2 else None,
             "escape_shares": variance_shares(t, "escape_c"), "solve_shares": variance_shares(t, "solve_c"),
             "solved": table.groupby("graph", sort=False).solve.apply(lambda s: int(s.notna().sum())).to_dict()}
    if "graph_share" in table:
        found["graph_share"] = sign_interval(table.graph_share.dropna())
        found["reach_full"] = float(table.reach_full.max())
    return found


def variance_shares(table: pd.DataFrame, column: str) -> dict:
    """How much of the variance of ``column`` across runs goes with the seed and how much with
    the graph: the share of the total sum of squares that the seed means explain, and the
    share the graph means explain (one-way, each on its own; a balanced design of every graph
    for every seed makes the two add up to at most 1).

    Example
    -------
    >>> t = pd.DataFrame({"seed": [0, 0, 1, 1], "graph": ["a", "b", "a", "b"], "x": [1.0, 1.2, 5.0, 5.2]})
    >>> {k: round(v, 3) for k, v in variance_shares(t, "x").items()}
    {'seed': 0.998, 'graph': 0.002}
    """
    x = table[column].astype(float)
    total = ((x - x.mean()) ** 2).sum()
    if total == 0:
        return {"seed": 0.0, "graph": 0.0}
    share = {}
    for factor in ("seed", "graph"):
        means = x.groupby(table[factor]).transform("mean")
        share[factor] = float(((means - x.mean()) ** 2).sum() / total)
    return share


def speed_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per graph, as the chapter's table shows it: links, connectivity and the
    mean-aggregation spectral gap (of the first seed's draw), runs solved, and the median
    iterations to leave the zeros plateau and to solve (over the runs that did; "never" if
    none) and the median final error (zeros level = 1).

    Example
    -------
    >>> t = pd.DataFrame({"graph": ["ring", "ring"], "links": [16, 16], "strongly_connected": [True, True],
    ...                   "spanning_tree": [True, True], "gap_mean": [0.08, 0.08], "escape": [200.0, 300.0],
    ...                   "solve": [900.0, np.nan], "final_error": [0.1, 0.3]})
    >>> speed_table(t)[["solved", "median solve"]].values.tolist()
    [['1 of 2', '900']]
    """
    def median(values):
        return "never" if values.notna().sum() == 0 else f"{values.median():.0f}"

    rows = []
    for label, g in table.groupby("graph", sort=False):
        first = g.iloc[0]
        rows.append({"graph": label, "links": int(first.links),
                     "connectivity": ("strong" if first.strongly_connected else
                                      "spanning tree only" if first.spanning_tree else "no spanning tree"),
                     "gap (mean agg.)": f"{first.gap_mean:.3g}", "solved": f"{int(g.solve.notna().sum())} of {len(g)}",
                     "median leave zeros": median(g.escape), "median solve": median(g.solve),
                     "median final error": f"{g.final_error.median():.3f}"})
    return pd.DataFrame(rows)


def finding_numbers(found: dict, table: pd.DataFrame, graphs: pd.DataFrame) -> dict[str, str]:
    """The numbers the chapter's text glues, by glue name.

    Example: in ``tests/test_chapter_topology.py``.
    """
    def opt(key, digits=0):
        return "not trained in this mode" if found.get(key) is None else interval_text(found[key], digits)


    out = {"rho_gap_mean": interval_text(found["gap_mean"], 2), "rho_gap": interval_text(found["gap"], 2),
           "rho_links": interval_text(found["links"], 2), "rho_escape": interval_text(found["escape_gap_mean"], 2),
           "halves": opt("halves"), "chain": opt("chain"), "no_links": opt("no_links"),
           "strong": opt("strong"), "runs": str(len(table)),
           "solved_all": f"{int(table.solve.notna().sum())} of {len(table)}",
           "rate_error": f"{graphs_rate_error(graphs):.1e}",
           "escape_seed": f"{found['escape_shares']['seed']:.0%}", "escape_graph": f"{found['escape_shares']['graph']:.0%}",
           "solve_seed": f"{found['solve_shares']['seed']:.0%}", "solve_graph": f"{found['solve_shares']['graph']:.0%}"}
    if "graph_share" in found:
        out["graph_share"] = interval_text(found["graph_share"], 2)
        out["reach_full"] = f"{table.reach_full.max():.0f}"
    return out


def graphs_rate_error(graphs: pd.DataFrame) -> float:
    """The largest relative gap between the measured consensus rate and the spectral gap over
    the graphs of :func:`graph_table` whose gap the spectrum fully determines (a positive gap,
    no chain: its repeated eigenvalue makes the approach slow).

    Example
    -------
    >>> graphs_rate_error(pd.DataFrame({"family": ["ring", "chain"], "gap": [0.1, 1.0], "rate": [0.1001, 0.9],
    ...                                 "gap_mean": [0.1, 1.0], "rate_mean": [0.1, 0.9]}))
    0.001
    """
    g = graphs[(graphs.gap > 0) & (graphs.family != "chain")]
    errs = [np.abs(g.rate / g.gap - 1), np.abs(g.rate_mean / g.gap_mean - 1)]
    return float(round(max(e.max() for e in errs), 12))


def verdict(found: dict, size: Sizes, quick: bool) -> dict[str, str]:
    """The chapter's verdict in one sentence and the scale it was measured at (glue names
    ``verdict`` and ``scale`` of the landing page's findings table); each clause follows from
    an interval, so the sentence changes with the data.

    Example
    -------
    >>> rho = lambda r, lo, hi: {"rho": r, "low": lo, "high": hi}
    >>> d = lambda m, lo, hi: {"difference": m, "low": lo, "high": hi}
    >>> found = {"gap_mean": rho(-0.1, -0.5, 0.3), "links": rho(-0.6, -0.8, -0.2), "halves": d(100, -50, 300),
    ...          "strong": d(50, -20, 200), "graph_share": {"median": 0.3, "low": 0.2, "high": 0.4}, "reach_full": 2.0}
    >>> v = verdict(found, QUICK, True)
    >>> v["verdict"].split(";")[0]
    'Not reproduced. Information reaches every expert within 2 inner steps whatever the graph, through the shared guess'
    >>> v["scale"]
    'quick mode: 16 experts, N = 4, 7 graphs x 2 seeds x 1200 iterations'
    >>> verdict({**found, "no_links": d(148, 28, 356)}, FULL, False)["verdict"].split("; ")[-1]
    'no links minus 4 random links: above 0 (median difference 148, 95 % interval 28 to 356).'
    """
    def sign(s, what, digits=2):
        measured = f"{what} {interval_text(s, digits, brackets=False)}"
        return f"{'above 0' if s['low'] > 0 else 'below 0' if s['high'] < 0 else 'not established'} ({measured})"

    gap = found["gap_mean"]
    predicts = gap["high"] < 0
    reach = found.get("reach_full")
    travel = ("" if reach is None else
              f"Information reaches every expert within {reach:.0f} inner steps whatever the graph, through the shared "
              f"guess; " if reach <= 2 else f"Some expert first hears another only at inner step {reach:.0f}; ")
    reading = ("goes with faster solving" if predicts else "goes with slower solving" if gap["low"] > 0 else
               "is not established to go with faster solving")
    text = (f"{'Partly' if predicts else 'Not reproduced'}. {travel}the spectral gap {reading} "
            f"(per-seed rho {interval_text(gap, 2, brackets=False)}), "
            f"the number of links: {sign(found['links'], 'rho')}")
    if found.get("strong") is not None:
        text += (f"; not strongly connected minus strongly connected, iterations to solve: "
                 f"{sign(found['strong'], 'median difference', 0)}")
    if found.get("halves") is not None:
        text += f"; two disconnected halves minus 4 random links: {sign(found['halves'], 'median difference', 0)}"
    if found.get("no_links") is not None:
        text += f"; no links minus 4 random links: {sign(found['no_links'], 'median difference', 0)}"
    text += "."
    return {"verdict": text,
            "scale": f"{'quick' if quick else 'full'} mode: {size.experts} experts, N = {size.n}, "
                     f"{len(size.graphs)} graphs x {size.seeds} seeds x {size.iterations} iterations"}


# ------------------------------------------------------------------------------------ figures
def _colours(labels) -> dict:
    """One colour per graph label, stable across figures (the colour-blind palette has ten;
    the last labels of :data:`GRAPHS` share with dashes in line plots)."""
    from badgerlib import plots

    return {label: plots.PALETTE[i % len(plots.PALETTE)] for i, label in enumerate(GRAPHS) if label in set(labels)}


def plot_graphs(size: Sizes, seed: int = 0, axes=None):
    """Every graph of ``size`` as drawn for ``seed`` (arrows from sender to receiver), titled
    with its label, in a grid of four columns. Returns the axes.

    Example
    -------
    >>> len(plot_graphs(QUICK))
    8
    """
    from badgerlib import plots

    cols = 4
    rows = -(-len(size.graphs) // cols)
    if axes is None:
        _, axes = plots.figure(ncols=cols, nrows=rows, height=1.9 * rows)
    axes = np.atleast_1d(axes).ravel()
    for ax, label in zip(axes, size.graphs):
        plots.draw_graph(graph_of(label, size.experts, seed), ax=ax, node_size=70, arrowsize=6,
                         labels=False)
        ax.set_title(label, fontsize=9)
    for ax in axes[len(size.graphs):]:
        ax.set_axis_off()
    return list(axes)


def plot_spectra(size: Sizes, seed: int = 0, axes=None):
    """The Laplacian eigenvalues of every graph of ``size`` in the complex plane: the
    mean-aggregation Laplacian (left; what the agent's messages do, every eigenvalue in the
    disc of radius 1 around 1) and the in-degree Laplacian (right; real axis symmetric-log).
    Returns the axes.

    Example
    -------
    >>> [ax.get_xscale() for ax in plot_spectra(QUICK)]
    ['linear', 'symlog']
    """
    from badgerlib import plots

    if axes is None:
        _, axes = plots.figure(ncols=2, height=3.4)
    colours = _colours(size.graphs)
    markers = "osD^v<>phX*P"
    for k, label in enumerate(size.graphs):
        A = graph_of(label, size.experts, seed)
        for ax, normalized in zip(axes, (True, False)):
            eig = topology.laplacian_spectrum(A, normalized)
            ax.scatter(eig.real, eig.imag, s=22, marker=markers[k % len(markers)], facecolors="none",
                       edgecolors=colours[label], label=label, lw=1.1)
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    axes[0].plot(1 + circle.real, circle.imag, color="0.7", lw=0.8, zorder=0)
    axes[0].set(xlabel="real part", ylabel="imaginary part", title="mean aggregation  I - D⁻¹A", aspect="equal")
    axes[1].set_xscale("symlog", linthresh=1.0)
    axes[1].set(xlabel="real part (symmetric log)", title="in-degree  D - A")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return axes


def plot_consensus(graphs: pd.DataFrame, ax=None):
    """The consensus rate measured on each graph of :func:`graph_table` against the spectral
    gap (both Laplacians; the identity line is the prediction), log-log; graphs that never
    agree (gap 0) are listed in the caption, not drawn. Returns the axis.

    Example
    -------
    >>> plot_consensus(graph_table(QUICK)).get_xscale()
    'log'
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.4)
    colours = _colours(graphs.graph)
    g = graphs[graphs.gap > 0]
    for _, row in g.iterrows():
        ax.plot(row.gap, row.rate, "o", color=colours[row.graph], label=row.graph)
        ax.plot(row.gap_mean, row.rate_mean, "s", mfc="none", color=colours[row.graph])
    lo = min(g.gap.min(), g.gap_mean.min()) / 1.5
    hi = max(g.gap.max(), g.gap_mean.max()) * 1.5
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, zorder=0)
    ax.set(xscale="log", yscale="log", xlabel="spectral gap (smallest nonzero real part)",
           ylabel="measured consensus rate")
    ax.plot([], [], "o", color="0.3", label="in-degree Laplacian")
    ax.plot([], [], "s", mfc="none", color="0.3", label="mean aggregation")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    return ax


def plot_response(responses: dict, labels, ax=None):
    """The mean response of one expert to another's nudge over the inner steps (over ordered
    pairs, then the median over runs), through every channel (solid) and through the graph
    alone (dashed; from the first step anything arrives), for each graph in ``labels``; ``responses`` maps ``(graph, seed)`` to
    :func:`perturbation_response`. Returns the axis.

    Example
    -------
    >>> R = {"full": np.ones((4, 3, 3)), "graph": np.full((4, 3, 3), 0.5)}
    >>> plot_response({("ring", 0): R}, ["ring"]).get_yscale()
    'log'
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.2)
    colours = _colours(labels)
    for label in labels:
        curves = {"full": [], "graph": []}
        for (graph, _), R in responses.items():
            if graph != label:
                continue
            off = ~np.eye(R["full"].shape[1], dtype=bool)
            for name in curves:
                curves[name].append(R[name][:, off].mean(axis=1))
        if not curves["full"]:
            continue
        steps = np.arange(len(curves["full"][0]))
        for name, style in (("full", "-"), ("graph", "--")):
            y = np.median(curves[name], axis=0)
            if (y > 0).any():
                ax.plot(steps, np.where(y > 0, y, np.nan), style, color=colours[label],
                        label=label if name == "full" else None)
    ax.set_yscale("log")
    ax.set(xlabel="inner step", ylabel="response of another expert\n(RMS change / nudge)")
    ax.plot([], [], "-", color="0.3", label="every channel")
    ax.plot([], [], "--", color="0.3", label="the graph alone")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax


def plot_speed(table: pd.DataFrame, axes=None):
    """Each run's iteration to leave the zeros plateau (left) and to solve (right) against the
    spectral gap of the mean-aggregation Laplacian of the graph it trained on (symmetric-log:
    graphs that never agree sit at 0), one colour per graph; a run never solved is a hollow
    marker at its length (censored). Returns the axes.

    Example
    -------
    >>> t = pd.DataFrame({"graph": ["ring", "no links"], "gap_mean": [0.08, 0.0], "escape": [200.0, 300.0],
    ...                   "solve": [900.0, np.nan], "iterations": [1200, 1200]})
    >>> [ax.get_xscale() for ax in plot_speed(t)]
    ['symlog', 'symlog']
    """
    from badgerlib import plots

    if axes is None:
        _, axes = plots.figure(ncols=2, height=3.4)
    colours = _colours(table.graph)
    rng = np.random.default_rng(0)
    for label, g in table.groupby("graph", sort=False):
        x = g.gap_mean.to_numpy() * (1 + 0.04 * rng.standard_normal(len(g)))     # a little jitter
        for ax, col in zip(axes, ("escape", "solve")):
            y = g[col].to_numpy()
            done = np.isfinite(y)
            ax.plot(x[done], y[done], "o", color=colours[label], label=label if col == "solve" else None, ms=5)
            ax.plot(x[~done], g.iterations.to_numpy()[~done], "o", mfc="none", color=colours[label], ms=5)
    for ax, what in zip(axes, ("iteration leaving the zeros plateau", "iteration solved")):
        ax.set_xscale("symlog", linthresh=0.05)
        ax.set_xticks([0, 0.1, 1], ["0", "0.1", "1"])
        ax.set_xlim(-0.01, 1.6)
        ax.set(xlabel="spectral gap, mean aggregation", ylabel=what)
    axes[1].plot([], [], "o", mfc="none", color="0.3", label="never (at run length)")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return axes
