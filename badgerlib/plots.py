"""The book's figure style and the figures that recur across chapters.

Every chapter calls :func:`use_style` once in its setup cell, so that all figures share one
colour-blind-safe palette (seaborn's ``colorblind``) and are sized for the book column.

Example
-------
>>> from badgerlib import plots
>>> plots.use_style()
>>> fig, ax = plots.figure()
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns

from badgerlib.analysis.dynamics import smooth

#: The colour-blind-safe palette used by every figure of the book.
PALETTE = sns.color_palette("colorblind")

#: Width of one book column in inches; figures default to it.
COLUMN_WIDTH = 7.0


def use_style() -> None:
    """Set the book's matplotlib style: colour-blind palette, readable fonts, light grid.

    Example
    -------
    >>> use_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["axes.grid"]
    True
    """
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    mpl.rcParams.update({
        "figure.figsize": (COLUMN_WIDTH, COLUMN_WIDTH * 0.55),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.grid": True,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9,
        "legend.frameon": False,
    })
    try:     # in a notebook: PNGs at twice the pixels, shown at the column width (sharp text)
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def table(df, caption: str, name: str, *, index: bool = False, floatfmt: str = "g"):
    """``df`` as a table the book numbers ("Table 5.2"), with ``caption`` (MyST: roles such as
    ``{glue:text}`` work) and the label ``name`` for ``{numref}`` references; the last
    expression of its cell, so that it is the cell's only output. In JupyterLab it shows as
    Markdown under a ``:::{table}`` line.

    Example
    -------
    >>> import pandas as pd
    >>> print(table(pd.DataFrame({"N": [2, 3], "error": [0.125, 0.5]}), "Errors.", "tbl-errors").data)
    :::{table} Errors.
    :name: tbl-errors
    <BLANKLINE>
    |   N |   error |
    |----:|--------:|
    |   2 |   0.125 |
    |   3 |   0.5   |
    :::
    >>> print(table(pd.DataFrame({"|h|": ["a|b"]}), "Pipes.", "tbl-pipes").data.splitlines()[3])
    | \\|h\\|   |
    >>> table(pd.DataFrame({"a": [1]}), "A.", "errors")
    Traceback (most recent call last):
    ...
    ValueError: table: name = 'errors': must start with 'tbl-'
    """
    from IPython.display import Markdown

    if not str(name).startswith("tbl-"):
        raise ValueError(f"table: name = {name!r}: must start with 'tbl-'")
    def escape(v):                  # a bare | in a cell would split it in two
        return v.replace("|", "\\|") if isinstance(v, str) else v

    df = df.rename(columns=lambda c: escape(str(c))).map(escape)
    body = df.to_markdown(index=index, floatfmt=floatfmt)
    return Markdown(f":::{{table}} {caption}\n:name: {name}\n\n{body}\n:::")


def figure(ncols: int = 1, nrows: int = 1, height: float | None = None, **kwargs):
    """A figure sized for the book column with ``nrows x ncols`` axes.

    Example
    -------
    >>> fig, axes = figure(ncols=2)
    >>> len(axes)
    2
    """
    height = height if height is not None else COLUMN_WIDTH * 0.45 * nrows
    return plt.subplots(nrows, ncols, figsize=(COLUMN_WIDTH, height), constrained_layout=True, **kwargs)




def draw_graph(A, ax=None, title: str | None = None, seed: int = 0, *, node_size: float = 420,
               arrowsize: float = 12, labels: bool = True):
    """Draw an expert graph (``A[i, j] = 1``: j sends to i) with arrows from sender to receiver,
    experts on a circle in index order (numbered unless ``labels`` is False).

    Example
    -------
    >>> from badgerlib import topology
    >>> ax = draw_graph(topology.ring(4))
    """
    import networkx as nx

    from badgerlib.topology import to_networkx

    if ax is None:
        _, ax = figure()
    G = to_networkx(A)
    pos = nx.circular_layout(G)
    nx.draw_networkx_nodes(G, pos, ax=ax, node_color=[PALETTE[0]], node_size=node_size)
    if labels:
        nx.draw_networkx_labels(G, pos, ax=ax, font_color="white", font_size=9)
    nx.draw_networkx_edges(G, pos, ax=ax, arrows=True, arrowsize=arrowsize, edge_color="0.35",
                           connectionstyle="arc3,rad=0.08", node_size=node_size)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def training_curve(history, ax=None, zeros_level: float = 1.0, window: int = 25, log: bool = True):
    """The training objective and the last guess's error over outer iterations, smoothed, with
    the "guess zeros" level marked.

    Example
    -------
    >>> import numpy as np
    >>> ax = training_curve({"loss": np.ones(50), "last_error": np.ones(50)})
    """
    import numpy as np

    if ax is None:
        _, ax = figure()
    its = np.arange(1, len(history["loss"]) + 1)
    ax.plot(its, smooth(history["loss"], window), color=PALETTE[0], label="objective (mean over inner steps)")
    ax.plot(its, smooth(history["last_error"], window), color=PALETTE[1], label="error of the last guess")
    ax.axhline(zeros_level, color="0.4", ls="--", lw=1, label='"guess zeros" level')
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("outer iteration")
    ax.set_ylabel("feedback (zeros level = 1)")
    ax.legend(loc="lower left")
    return ax


def rollout_panel(guesses, targets, feedback, task_index: int = 0, step: int | None = None, axes=None):
    """One task's inner loop: each dimension's guess against its target over the inner steps
    (left) and the feedback per step (right); ``step`` marks one step.

    ``guesses``: ``(B, S+1, N)``; ``targets``: ``(B, N)``; ``feedback``: ``(B, S+1)``.

    Example
    -------
    >>> import numpy as np
    >>> axes = rollout_panel(np.zeros((1, 4, 2)), np.ones((1, 2)), np.ones((1, 4)))
    """
    import numpy as np

    guesses, targets, feedback = (np.asarray(x) for x in (guesses, targets, feedback))
    if axes is None:
        _, axes = figure(ncols=2)
    steps = np.arange(guesses.shape[1])
    ax = axes[0]
    for d in range(guesses.shape[2]):
        color = PALETTE[d % len(PALETTE)]
        ax.plot(steps, guesses[task_index, :, d], "o-", ms=3, color=color, label=f"dimension {d}")
        ax.axhline(targets[task_index, d], color=color, ls=":", lw=1.5)
    # axhline does not widen the limits: make room for every target line, off the frame
    lo = min(guesses[task_index].min(), targets[task_index].min())
    hi = max(guesses[task_index].max(), targets[task_index].max())
    pad = 0.08 * (hi - lo) if hi > lo else 0.1
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("inner step")
    ax.set_ylabel("guess (dotted: target)")
    ax.set_title(f"task {task_index}: guesses")
    if guesses.shape[2] <= 6:
        ax.legend(loc="best")
    ax = axes[1]
    ax.semilogy(steps, feedback[task_index], "o-", ms=3, color=PALETTE[3])
    ax.set_xlabel("inner step")
    ax.set_ylabel("feedback (zeros level = 1)")
    ax.set_title("the only signal the experts get")
    from matplotlib.ticker import MaxNLocator

    for a in axes:
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    if step is not None:
        for a in axes:
            a.axvline(step, color="0.3", lw=1)
    return axes


def strip_plot(groups, ax=None, *, positions=None, center: str | None = "median", horizontal: bool = False,
               colors=None, censored_at: float | None = None, jitter: float = 0.18, width: float = 0.3,
               size: float = 18, alpha: float = 0.6, seed: int = 0, ticks: bool = True):
    """A statistic per group, one dot per seed (jittered across the group's position) and a bar
    at the group's ``center`` (``"median"``, ``"mean"`` or None for no bar).

    ``groups``: a mapping name -> values. NaN values are left out, or, with ``censored_at``,
    drawn as open circles at that value (a run that never got there: censored, not dropped).
    ``positions``: where each group sits on the group axis (default 0, 1, ...); ``colors``: one
    colour for all groups or one per group (default: the palette in order). ``horizontal``
    puts the values on the x axis. With ``ticks`` the group axis is labelled with the names.

    Example
    -------
    >>> import numpy as np
    >>> ax = strip_plot({"a": [1.0, 2.0, 3.0], "b": [2.0, np.nan]}, center="mean", censored_at=5.0)
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b']
    """
    import numpy as np

    if center not in ("median", "mean", None):
        raise ValueError(f"strip_plot: center = {center!r}: must be 'median', 'mean' or None")
    names = list(groups)
    positions = list(range(len(names))) if positions is None else list(positions)
    if len(positions) != len(names):
        raise ValueError(f"strip_plot: {len(positions)} positions for {len(names)} groups")
    if colors is None:
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(names))]
    elif isinstance(colors, str) or (isinstance(colors, tuple) and len(colors) in (3, 4)
                                     and all(isinstance(c, (int, float)) for c in colors)):
        colors = [colors] * len(names)
    if ax is None:
        _, ax = figure()
    rng = np.random.default_rng(seed)
    for name, pos, color in zip(names, positions, colors):
        v = np.asarray(groups[name], dtype=np.float64).ravel()
        ok = ~np.isnan(v)
        spot = pos + rng.uniform(-jitter, jitter, len(v))
        xy = (lambda a, b: (b, a)) if horizontal else (lambda a, b: (a, b))
        ax.scatter(*xy(spot[ok], v[ok]), s=size, alpha=alpha, color=color)
        if censored_at is not None and (~ok).any():
            ax.scatter(*xy(spot[~ok], np.full((~ok).sum(), censored_at)), s=size, facecolors="none",
                       edgecolors=color)
        if center is not None and ok.any():
            mid = float(np.median(v[ok]) if center == "median" else np.mean(v[ok]))
            bar = ax.vlines if horizontal else ax.hlines
            bar(mid, pos - width, pos + width, color="k", lw=2)
    if ticks:
        (ax.set_yticks if horizontal else ax.set_xticks)(positions, [str(n) for n in names])
    return ax


def survival_curves(groups: dict, ax=None, colors: dict | None = None, xlabel: str = "outer iteration"):
    """Kaplan-Meier curves (:func:`badgerlib.analysis.survival.kaplan_meier`), one per group
    of ``groups`` (name -> ``(durations, observed)``, observed 1 where the run reached the
    event and 0 where it was censored): the share of runs that have not reached the event by
    each time, a step down at each event; a tick marks a censored run, at its last time (it
    never reached the event within its run: kept in the risk set up to there, not dropped).
    The legend gives each group's median ("not reached" when half the runs never got there). ``colors``:
    name -> colour (default: the palette in order). Returns the axes.

    Example
    -------
    >>> ax = survival_curves({"a": ([100, 800, 900], [1, 0, 0]), "b": ([50], [1])})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a (median not reached)', 'b (median 50)']
    """
    import numpy as np

    from badgerlib.analysis.survival import kaplan_meier

    if ax is None:
        _, ax = figure(height=3.6)
    for i, (name, (durations, observed)) in enumerate(groups.items()):
        d, o = np.asarray(durations, dtype=float), np.asarray(observed).astype(int)
        curve = kaplan_meier(d, o)
        t = np.r_[0.0, curve.times, d.max()]
        s = np.r_[1.0, curve.survival, curve.survival[-1] if len(curve.survival) else 1.0]
        color = (colors or {}).get(name, PALETTE[i % len(PALETTE)])
        median = "not reached" if np.isinf(curve.median) else f"{curve.median:.0f}"
        ax.step(t, s, where="post", color=color, lw=1.6, label=f"{name} (median {median})")
        censored = d[o == 0]
        if len(censored):
            ax.plot(censored, curve.at(censored), "|", color=color, ms=10, mew=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.02, 1.05)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def dimension_errors(dim_error, zeros_level: float = 1.0, ax=None, *, window: int = 25,
                     threshold: float | None = 0.25, solved_at=None, shading=None, shading_colors=None,
                     legend: bool | None = None, lw: float = 1.2):
    """Each dimension's error over training, divided by its zeros level (1: untouched) and
    smoothed over ``window`` iterations, one colour per dimension.

    ``threshold``: a dashed line at the level below which a dimension counts as solved;
    ``solved_at``: one iteration per dimension (NaN: never) marked with a triangle on that line;
    ``shading``: segments with ``start``, ``end`` (inclusive) and ``label`` (phases, say),
    shaded in ``shading_colors[label]``. The legend (default: up to 8 dimensions) sits to the
    right of the axes.

    Example
    -------
    >>> import numpy as np
    >>> ax = dimension_errors(np.full((100, 2), 1 / 3), zeros_level=1 / 3, solved_at=[50.0, np.nan])
    >>> len(ax.get_lines())
    4
    """
    import numpy as np

    from badgerlib.analysis.components import normalised_dim_error

    e = smooth(normalised_dim_error(dim_error, zeros_level), window)
    if e.ndim != 2:
        raise ValueError(f"dimension_errors: dim_error has shape {np.shape(dim_error)}; expected (iterations, N)")
    if ax is None:
        _, ax = figure()
    for seg in shading or ():
        ax.axvspan(seg.start, seg.end + 1, color=shading_colors[seg.label], alpha=0.25, lw=0)
    its = np.arange(len(e))
    for d in range(e.shape[1]):
        ax.plot(its, e[:, d], lw=lw, color=PALETTE[d % len(PALETTE)], label=f"dim {d}")
    if threshold is not None:
        ax.axhline(threshold, color="0.3", ls="--", lw=0.8)
        for d, t in enumerate([] if solved_at is None else solved_at):
            if not np.isnan(t):
                ax.plot([t], [threshold], "v", color=PALETTE[d % len(PALETTE)], ms=7, mec="k", mew=0.5)
    ax.set_ylabel("error per dimension\n(its zeros level = 1)")
    if (e.shape[1] <= 8) if legend is None else legend:
        ax.legend(ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def frequency_heatmap(x, convergence, ax=None, *, frequencies=None, crossings=None, title: str | None = None,
                      xlabel: str = "outer iteration", vmax: float = 1.0, zoom: bool = False):
    """Per-frequency convergence as an image: ``x`` (K,) along the horizontal axis (outer
    iterations of the snapshots, or inner steps), one row per frequency (low at the bottom),
    colour = ``convergence`` (K, F) clipped to ``[0, vmax]`` (viridis: 0 dark, 1 yellow).
    ``frequencies`` label the rows (default 1..F); ``crossings`` (F,), the iteration at which
    each frequency is learned, are marked by white dots (``inf``: never, not drawn); ``zoom``
    shows ``x`` up to twice the last finite crossing only. Returns the mesh, for a colour bar.

    Example
    -------
    >>> import numpy as np
    >>> c = np.array([[0.0, 0.0], [0.6, 0.2], [1.0, 1.0]])
    >>> mesh = frequency_heatmap([0, 5, 10], c, crossings=[5.0, np.inf], zoom=True)
    >>> [float(v) for v in mesh.axes.get_xlim()], [int(t) for t in mesh.axes.get_yticks()]
    ([-2.5, 10.0], [1, 2])
    """
    import numpy as np

    from badgerlib.checks import check_array

    c = check_array(convergence, "frequency_heatmap", "convergence", ndim=2, finite=False)
    x = check_array(x, "frequency_heatmap", "x", ndim=1, min_len=2)   # two points at least, for the cell edges
    if x.shape != (c.shape[0],):
        raise ValueError(f"frequency_heatmap: x has shape {x.shape} and convergence {c.shape}; "
                         f"expected (K,) and (K, frequencies)")
    ks = np.arange(1, c.shape[1] + 1) if frequencies is None else np.asarray(frequencies)
    if ax is None:
        _, ax = figure()
    edges = np.concatenate([[x[0] - (x[1] - x[0]) / 2], (x[1:] + x[:-1]) / 2, [x[-1] + (x[-1] - x[-2]) / 2]])
    mesh = ax.pcolormesh(edges, np.arange(len(ks) + 1) + 0.5, np.clip(c.T, 0, vmax), cmap="viridis",
                         vmin=0, vmax=vmax, shading="flat", rasterized=True)
    if crossings is not None:
        crossings = np.asarray(crossings, dtype=np.float64)
        finite = np.isfinite(crossings)
        ax.plot(crossings[finite], ks[finite], "o", ms=5, mfc="white", mec="black", mew=0.8)
        if zoom and finite.any():
            ax.set_xlim(edges[0], min(edges[-1], 2 * np.max(crossings[finite])))
    ax.set_yticks(ks)
    ax.set_ylabel("frequency k")
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(False)
    return mesh
