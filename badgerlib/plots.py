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




def draw_graph(A, ax=None, title: str | None = None, seed: int = 0):
    """Draw an expert graph (``A[i, j] = 1``: j sends to i) with arrows from sender to receiver.

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
    nx.draw_networkx_nodes(G, pos, ax=ax, node_color=[PALETTE[0]], node_size=420)
    nx.draw_networkx_labels(G, pos, ax=ax, font_color="white", font_size=9)
    nx.draw_networkx_edges(G, pos, ax=ax, arrows=True, arrowsize=12, edge_color="0.35",
                           connectionstyle="arc3,rad=0.08", node_size=420)
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
