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
