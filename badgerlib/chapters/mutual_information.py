"""Chapter 5, mutual information: do identical experts have to become different before
Micro-Badger leaves its first plateau?

The study shows, for one run of 14 experts on N = 4, the mutual information (MI) between pairs
of experts' hidden states over training, reads "MI plateaus and then decreases" as symmetry
breaking, and concludes that only once the experts are diverse is the plateau escaped. It
names two ways to remove the first plateau (per-expert readout weights; the exponential hidden
update). This chapter measures the MI over seeds, times its fall against the escape, and
intervenes on the symmetry.

* sizes and runs: :func:`sizes`, :data:`VARIANTS`, :func:`variant_config`, :func:`configs`;
* measurements: :func:`mi_over_training` (pairwise MI at every snapshot, on fresh probe tasks;
  :func:`mi_by_run` for all runs), :func:`run_events` and :func:`event_table` (per run:
  escape, MI fall, lead, MI rise after the escape, whether the experts stayed identical,
  :func:`identical_experts`), :func:`lead_summary` (lead over seeds with a bootstrap
  interval), :func:`escape_table` and :func:`survival_summary` (escape times as survival
  curves, censored runs kept, log-rank against the default), :func:`magnitude_table`
  (largest hidden-state magnitude, for "no explosion");
* figures: :func:`plot_mi_and_error` (the study's figure), :func:`plot_mi_by_variant`,
  :func:`plot_survival`.

Example
-------
>>> size = sizes(quick=True)
>>> size.experts, size.n, size.seeds, size.iterations
(14, 4, 5, 600)
>>> [name for name in configs(quick=True)]
['default', 'no noise', 'per-expert readout', 'exponential update', 'random IDs']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.info import DegenerateDataWarning, pairwise_mutual_information
from badgerlib.analysis.stats import median_interval
from badgerlib.analysis.survival import kaplan_meier, logrank_test
from badgerlib.baselines import LSTMMetaLearnerConfig
from badgerlib.chapters import standard
from badgerlib.checks import check_int
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame


# ------------------------------------------------------------------------------ sizes, runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 5 in one mode. Hyperparameters the study did not publish are the
    standard small agent's (:mod:`badgerlib.chapters.standard`).

    Fields
    ------
    experts, hidden, links, n, inner_steps, batch, lr: the agent and its training (the study:
        14 experts, N = 4).
    iterations: outer iterations (the study's figure: 5000).
    seeds: seeds per variant.
    snapshot_every: outer iterations between snapshots (MI is measured at each).
    mi_batch: probe tasks the MI is estimated on (see :func:`mi_over_training`).
    pca_dims: dimensions each expert's hidden state is reduced to before the estimate.
    measure_runs: default runs whose MI change at the escape is re-measured under every
        estimator and number of components (:func:`estimator_table`).
    variants: the interventions trained in this mode (names in :data:`VARIANTS`).

    Example
    -------
    >>> FULL.iterations, FULL.seeds, len(FULL.variants)
    (5000, 10, 9)
    """

    experts: int = 14
    hidden: int = 32
    links: int = 3
    n: int = 4
    inner_steps: int = 10
    batch: int = 32
    lr: float = 3e-3
    iterations: int = 600
    seeds: int = 5
    snapshot_every: int = 50
    mi_batch: int = 256
    pca_dims: int = 4
    measure_runs: int = 3
    variants: tuple = ("default", "no noise", "per-expert readout", "exponential update", "random IDs")


#: The interventions on the experts' symmetry, as changes to the default agent's config (None:
#: the LSTM meta-learner, a control without experts).
VARIANTS: dict[str, dict | None] = {
    "default": {},                                   # initial-state noise 0.1
    "no noise": {"init_noise": 0.0},
    "noise 0.01": {"init_noise": 0.01},
    "noise 0.3": {"init_noise": 0.3},
    "per-expert readout": {"per_expert_readout": True},
    "exponential update": {"exponential_update": True},
    "random IDs": {"expert_ids": 4},
    "one expert": {"experts": 1, "links": 0},
    "LSTM": None,
}

#: Quick mode: the study's agent, 5 seeds, 600 iterations, the five variants that bear on the
#: study's claims, MI on 256 probe tasks. 600 iterations, not 800: every run escapes by then
#: at the same iteration as in 800 (same seeds, same trajectories) except two per-expert-readout
#: runs, now censored at 600 (their median escape, 564, is unchanged); a quarter less training.
QUICK = Sizes()

#: Full mode: the study's 5000 iterations, 10 seeds, every variant and both controls.
FULL = Sizes(iterations=5000, seeds=10, measure_runs=10, mi_batch=512, variants=tuple(VARIANTS))


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).seeds
    10
    """
    standard.sizes(quick)            # the one check of ``quick``
    return QUICK if quick else FULL


def setup_values(quick: bool = True) -> dict:
    """The hyperparameters the chapter's setup table shows, by glue name.

    Example
    -------
    >>> v = setup_values()
    >>> v["experts"], v["n"], v["iterations"], v["variants"].split(", ")[1]
    (14, 4, 600, 'no noise')
    """
    size = sizes(quick)
    values = {name: getattr(size, name) for name in ("experts", "hidden", "links", "n", "inner_steps", "batch",
                                                     "lr", "iterations", "seeds", "snapshot_every", "mi_batch",
                                                     "pca_dims")}
    return {**values, "variants": ", ".join(size.variants), "joint_dims": size.experts * size.pca_dims,
            "measure_runs": size.measure_runs}


def variant_config(variant: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The run of ``variant`` (a name in :data:`VARIANTS`) for ``seed``.

    Example
    -------
    >>> cfg = variant_config("random IDs", seed=2)
    >>> cfg.model.experts, cfg.model.expert_ids, cfg.seed, cfg.iterations
    (14, 4, 2, 600)
    >>> type(variant_config("LSTM").model).__name__
    'LSTMMetaLearnerConfig'
    >>> variant_config("louder")
    Traceback (most recent call last):
    ...
    ValueError: variant = 'louder': must be one of ['default', 'no noise', 'noise 0.01', 'noise 0.3', 'per-expert readout', 'exponential update', 'random IDs', 'one expert', 'LSTM']
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant = {variant!r}: must be one of {list(VARIANTS)}")
    size = sizes(quick)
    change = VARIANTS[variant]
    if change is None:
        model = LSTMMetaLearnerConfig(hidden=2 * size.hidden)
    else:
        base = dict(experts=size.experts, hidden=size.hidden, links=size.links)
        model = MicroBadgerConfig(**{**base, **change})
    return RunConfig(task=GuessingGame(n=size.n), model=model, inner_steps=size.inner_steps,
                     iterations=size.iterations, batch=size.batch, lr=size.lr,
                     seed=check_int("variant_config", "seed", seed, 0),
                     snapshot_count=size.iterations // size.snapshot_every + 1)


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the chapter, by variant: seeds 0..seeds-1 of each variant of this mode.

    Example: see the module docstring.
    """
    size = sizes(quick)
    return {v: [variant_config(v, s, quick) for s in range(size.seeds)] for v in size.variants}


# ------------------------------------------------------------------------------ measurements
def mi_over_training(run, batch: int = 512, pca_dims: int = 4, method: str = "gaussian",
                     step: int = -1, copula: bool = True) -> pd.DataFrame:
    """Pairwise mutual information (nats) between the experts' hidden states at every snapshot
    of ``run``: one row per snapshot with ``iteration``, ``mean``, ``min`` and ``max`` over the
    pairs, and ``pairs`` (the distinct pairs' values, an array).

    The samples are ``batch`` probe tasks (the same tasks and initial noise at every snapshot,
    :meth:`badgerlib.run.Run.states_at`), the state at inner step ``step`` (the last by
    default); each expert's state is reduced to ``pca_dims`` principal components, so the
    joint the estimator sees has ``experts x pca_dims`` dimensions (56 for the study's 14
    experts), well below the 512 samples its covariance needs. ``method`` and ``copula`` choose
    the estimator (:func:`badgerlib.analysis.info.pairwise_mutual_information`). (Nearly)
    identical experts, which this chapter studies on purpose, read at the ridge-limited
    ceiling (:data:`badgerlib.analysis.info.RIDGE`) and the estimator's
    :class:`~badgerlib.analysis.info.DegenerateDataWarning` is silenced here.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs a trained run).
    """
    rows = []
    iterations = np.asarray(run.snapshots["iterations"])
    for k, it in enumerate(iterations):
        hidden = run.states_at(k, batch=batch).hidden[:, step].double().numpy()     # (tasks, E, H)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            mi = pairwise_mutual_information(hidden, method, pca_dims=pca_dims, copula=copula)
        pairs = mi[np.triu_indices(len(mi), 1)]
        rows.append({"iteration": int(it), "mean": pairs.mean(), "min": pairs.min(), "max": pairs.max(),
                     "pairs": pairs})
    return pd.DataFrame(rows)


#: The measurements the MI change at the escape is checked under (name -> keyword arguments of
#: :func:`mi_over_training`): two estimators on the same four principal components per expert
#: (the book's Gaussian copula, and a plain Gaussian fit, exact on Gaussian data where the
#: copula under-reads strongly dependent systems: appendix A), and two on the first component
#: alone (the copula, and KSG, which needs few joint dimensions).
MEASURES = {
    "Gaussian copula, 4 components": {"method": "gaussian", "copula": True, "pca_dims": 4},
    "plain Gaussian fit, 4 components": {"method": "gaussian", "copula": False, "pca_dims": 4},
    "Gaussian copula, 1 component": {"method": "gaussian", "copula": True, "pca_dims": 1},
    "KSG, 1 component": {"method": "ksg", "pca_dims": 1},
}


def estimator_table(runs, batch: int = 512) -> pd.DataFrame:
    """The MI rise at the escape (:func:`mi_rise`) of each run under each of :data:`MEASURES`:
    one row per run and measurement (``measure``, ``seed``, ``mi_start``, ``mi_rise``), to
    tell what the estimator decides from what the measured components decide.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs trained runs).
    """
    rows = []
    for run in runs:
        escape = run_events(run)["escape"]
        for name, kwargs in MEASURES.items():
            mi = mi_over_training(run, batch, **kwargs)
            rows.append({"measure": name, "seed": run.config.seed, "mi_start": float(mi["mean"].iloc[0]),
                         "mi_rise": mi_rise(mi, escape)})
    return pd.DataFrame(rows)


def mi_over_inner_steps(run, batch: int = 512, pca_dims: int = 4) -> np.ndarray:
    """The mean pairwise MI between the experts of the trained agent (its last snapshot) at
    every inner step 0..S of a rollout on ``batch`` probe tasks.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs a trained run).
    """
    hidden = run.states_at(len(run.snapshots["iterations"]) - 1, batch=batch).hidden.double().numpy()
    iu = np.triu_indices(hidden.shape[2], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return np.array([pairwise_mutual_information(hidden[:, t], pca_dims=pca_dims)[iu].mean()
                         for t in range(hidden.shape[1])])


def run_events(run, mi: pd.DataFrame | None = None, *, drop: float = 0.1, hold: int = 2) -> dict:
    """One row of numbers per run: ``escape`` (the iteration the error of the last guess leaves
    the zeros plateau for good, :func:`badgerlib.analysis.dynamics.escape_iteration`; NaN if
    never), ``escaped`` (bool), ``mi_fall`` (the first snapshot from which the mean pairwise MI
    stays ``drop`` below its first value for ``hold`` snapshots; NaN if never or no MI) and
    ``lead`` = ``escape - mi_fall`` (positive: the MI fell first, as the study reads it).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=variant_config("default"),
    ...                       history={"last_error": np.r_[np.ones(400), np.full(400, 0.5)]})
    >>> mi = pd.DataFrame({"iteration": [0, 100, 200, 300, 400], "mean": [5.0, 5.0, 4.0, 4.0, 4.0]})
    >>> ev = run_events(run, mi)
    >>> ev["escape"], ev["mi_fall"], ev["lead"]
    (393.0, 200.0, 193.0)
    """
    task = run.config.task
    esc = escape_iteration(run.history["last_error"], task.zeros_level)
    fall = np.nan
    if mi is not None and len(mi) and np.isfinite(mi["mean"].iloc[0]) and mi["mean"].iloc[0] > 0:
        rel = mi["mean"].to_numpy() / mi["mean"].iloc[0]
        idx = escape_iteration(rel, 1.0, drop=drop, window=1, hold=hold)
        fall = np.nan if idx is None else float(mi["iteration"].iloc[idx])
    escape = np.nan if esc is None else float(esc)
    return {"escape": escape, "escaped": esc is not None, "mi_fall": fall, "lead": escape - fall}


def lead_summary(leads, n_boot: int = 10_000, seed: int = 0) -> dict:
    """The lead of the MI fall over the escape across runs (one number per run; a run with no
    fall or no escape has none): :func:`badgerlib.analysis.stats.median_interval`, whose
    ``share_positive`` is the share of runs whose MI fell first.

    Example
    -------
    >>> lead_summary([100, 150, 200, 250, np.nan])["median"]
    175.0
    """
    return median_interval(leads, n_boot, seed)


def escape_table(runs_by_variant: dict) -> pd.DataFrame:
    """One row per run: ``variant``, ``seed``, ``duration`` (the escape iteration, or the run's
    length when it never escaped: censored there), ``escaped`` and ``final_error`` (error of
    the last guess over the last 5 % of the run, zeros-level units).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> cfg = variant_config("default")
    >>> runs = {"default": [SimpleNamespace(config=cfg, history={"last_error": np.ones(600)})]}
    >>> escape_table(runs)[["variant", "duration", "escaped"]].values.tolist()
    [['default', 600, False]]
    """
    rows = []
    for variant, runs in runs_by_variant.items():
        for run in runs:
            err = np.asarray(run.history["last_error"])
            esc = escape_iteration(err, run.config.task.zeros_level)
            tail = err[-max(len(err) // 20, 1):].mean() / run.config.task.zeros_level
            rows.append({"variant": variant, "seed": run.config.seed, "duration": len(err) if esc is None else esc,
                         "escaped": esc is not None, "final_error": tail})
    return pd.DataFrame(rows)


def survival_summary(table: pd.DataFrame, reference: str = "default") -> pd.DataFrame:
    """Per variant of :func:`escape_table`: ``runs``, ``escaped``, the Kaplan-Meier ``median``
    escape (inf when most runs never escaped), the median ``final_error``, and the log-rank
    test against ``reference`` (``chi2``, ``p``; NaN for the reference itself).

    Example
    -------
    >>> t = pd.DataFrame({"variant": ["default"] * 3 + ["fast"] * 3, "seed": [0, 1, 2] * 2,
    ...                   "duration": [500, 600, 800, 100, 120, 150], "escaped": [1, 1, 0, 1, 1, 1],
    ...                   "final_error": [0.5] * 6})
    >>> s = survival_summary(t)
    >>> float(s.loc["fast", "median"]), float(s.loc["default", "median"]), bool(s.loc["fast", "p"] < 0.05)
    (120.0, 600.0, True)
    """
    ref = table[table.variant == reference]
    rows = {}
    for variant, group in table.groupby("variant", sort=False):
        curve = kaplan_meier(group.duration, group.escaped.astype(int))
        row = {"runs": len(group), "escaped": int(group.escaped.sum()), "median": curve.median,
               "final_error": float(group.final_error.median()), "chi2": np.nan, "p": np.nan}
        if variant != reference and len(ref):
            test = logrank_test(group.duration, group.escaped.astype(int), ref.duration, ref.escaped.astype(int))
            row.update(chi2=test.statistic, p=test.pvalue)
        rows[variant] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def magnitude_table(runs_by_variant: dict, batch: int = 256) -> pd.DataFrame:
    """"No explosion": per run, the largest |hidden state| over training (at every snapshot,
    over the probe tasks and inner steps) and over a rollout of the trained agent three times
    as long as its training rollouts: ``variant``, ``seed``, ``max_training``, ``max_long``.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs trained runs).
    """
    rows = []
    for variant, runs in runs_by_variant.items():
        for run in runs:
            if not isinstance(run.config.model, MicroBadgerConfig):
                continue
            over_training = max(float(run.states_at(k, batch=batch).hidden.abs().max())
                                for k in range(len(run.snapshots["iterations"])))
            long = run.rollout(batch=batch, steps=3 * run.config.inner_steps, record=True).hidden.abs().max()
            rows.append({"variant": variant, "seed": run.config.seed, "max_training": over_training,
                         "max_long": float(long)})
    return pd.DataFrame(rows)


def mi_by_run(runs_by_variant: dict, batch: int = 512, pca_dims: int = 4) -> dict:
    """:func:`mi_over_training` of every run with more than one expert, keyed ``(variant,
    seed)`` (None for the others).

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs trained runs).
    """
    out = {}
    for variant, runs in runs_by_variant.items():
        for run in runs:
            experts = getattr(run.config.model, "experts", 1)
            out[variant, run.config.seed] = mi_over_training(run, batch, pca_dims) if experts > 1 else None
    return out


def event_table(runs_by_variant: dict, mis: dict) -> pd.DataFrame:
    """One row per run: ``variant``, ``seed``, :func:`run_events` (``escape``, ``escaped``,
    ``mi_fall``, ``lead``), the mean pairwise MI at the first snapshot (``mi_start``), its least
    value up to the escape and its rise after it (:func:`mi_rise`), and ``identical``
    (:func:`identical_experts`; False for the controls without experts).

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs trained runs).
    """
    rows = []
    for variant, runs in runs_by_variant.items():
        for run in runs:
            mi = mis.get((variant, run.config.seed))
            ev = run_events(run, mi)
            rows.append({"variant": variant, "seed": run.config.seed, **ev,
                         "mi_start": np.nan if mi is None else float(mi["mean"].iloc[0]),
                         "mi_rise": mi_rise(mi, ev["escape"]),
                         "identical": mi is not None and identical_experts(run)})
    return pd.DataFrame(rows)


def identical_experts(run, tol: float = 1e-6) -> bool:
    """Whether every expert of ``run`` still has the same hidden state as expert 0 at its last
    snapshot (largest difference over probe tasks and inner steps below ``tol``): the agent
    never broke its symmetry.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs a trained run).
    """
    hidden = run.states_at(len(run.snapshots["iterations"]) - 1).hidden
    return bool((hidden - hidden[:, :, :1]).abs().max() < tol)


def mi_rise(mi: pd.DataFrame, escape: float) -> float:
    """How much the mean pairwise MI rose after the escape: its mean over the snapshots after
    ``escape`` minus its least value up to ``escape`` (nats; NaN without an escape or MI).

    Example
    -------
    >>> mi = pd.DataFrame({"iteration": [0, 100, 200, 300], "mean": [8.0, 5.0, 9.0, 11.0]})
    >>> mi_rise(mi, escape=150), bool(np.isnan(mi_rise(mi, escape=np.nan)))
    (5.0, True)
    """
    if mi is None or not np.isfinite(escape):
        return np.nan
    before, after = mi[mi.iteration <= escape]["mean"], mi[mi.iteration > escape]["mean"]
    if before.empty or after.empty:
        return np.nan
    return float(after.mean() - before.min())


def verdict(summary: pd.DataFrame, same: pd.DataFrame, size: Sizes, quick: bool) -> dict[str, str]:
    """The chapter's verdict in one sentence and the scale it was measured at, the two cells of
    its row in the landing page's findings table (glue names ``verdict`` and ``scale``), from
    :func:`survival_summary` and the no-noise runs whose experts stayed identical (``same``,
    rows of :func:`event_table`).

    Example
    -------
    >>> summary = pd.DataFrame({"median": [321.0, 321.0, 132.0]},
    ...                        index=["default", "no noise", "exponential update"])
    >>> v = verdict(summary, pd.DataFrame({"escaped": [True, True]}), QUICK, quick=True)
    >>> v["verdict"][:40], v["scale"]
    ('Partly. The MI between experts falls ear', 'quick mode: 14 experts, N = 4, 5 seeds x 600 iterations')
    """
    m = summary["median"]
    return {"verdict": f"Partly. The MI between experts falls early, as in the study, but experts that stay "
                       f"identical escape as fast ({int(same.escaped.sum())} of {len(same)}, median "
                       f"{m['no noise']:.0f} against {m['default']:.0f}): diversity is not what starts "
                       "learning. Per-expert readout does not remove the first plateau; the exponential update "
                       f"shortens it (median {m['exponential update']:.0f}).",
            "scale": f"{'quick' if quick else 'full'} mode: {size.experts} experts, N = {size.n}, "
                     f"{size.seeds} seeds x {size.iterations} iterations"}


# ------------------------------------------------------------------------------------ figures
def plot_mi_and_error(run, mi: pd.DataFrame, axes=None):
    """The study's figure for one run: the MI of every pair of experts over training (one thin
    line per pair, their mean bold) above the error of the last guess (smoothed over 25
    iterations), escape marked on both. Returns the axes.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=variant_config("default"), history={"last_error": np.r_[np.ones(300), np.full(500, 0.6)]})
    >>> mi = pd.DataFrame({"iteration": [0, 400, 800], "mean": [5.0, 4.0, 6.0],
    ...                    "pairs": [np.array([5.0, 5.1]), np.array([4.0, 4.1]), np.array([6.0, 6.1])]})
    >>> axes = plot_mi_and_error(run, mi)
    """
    from badgerlib import plots
    from badgerlib.analysis.dynamics import smooth

    if axes is None:
        _, axes = plots.figure(nrows=2, height=5.6, sharex=True)
    pairs = np.stack(mi["pairs"].to_numpy())                       # (snapshots, pairs)
    axes[0].plot(mi["iteration"], pairs, color="0.6", lw=0.4, alpha=0.5)
    axes[0].plot(mi["iteration"], mi["mean"], color=plots.PALETTE[0], lw=2, label="mean over pairs")
    axes[0].set_ylabel("MI between two\nexperts (nats)")
    axes[0].legend(loc="upper left")
    err = np.asarray(run.history["last_error"]) / run.config.task.zeros_level
    axes[1].plot(np.arange(len(err)), smooth(err, 25), color=plots.PALETTE[3], lw=1.5)
    axes[1].set_ylabel("error\n(zeros level = 1)")
    axes[1].set_xlabel("outer iteration")
    escape = run_events(run)["escape"]
    if np.isfinite(escape):
        for ax in axes:
            ax.axvline(escape, color="k", ls="--", lw=0.8)
        axes[1].annotate("escape", (escape, 1.0), xytext=(4, -12), textcoords="offset points", fontsize=9)
    return axes


def plot_survival(table: pd.DataFrame, ax=None, variants=None):
    """Kaplan-Meier curves of the escape from the zeros plateau, one per variant of
    :func:`escape_table`: the share of runs still on the plateau at each iteration; a tick marks
    a censored run (never escaped within its iterations). Returns the axes.

    Example
    -------
    >>> t = pd.DataFrame({"variant": ["a", "a", "b"], "seed": [0, 1, 0], "duration": [100, 800, 50],
    ...                   "escaped": [True, False, True], "final_error": [0.5, 1.0, 0.2]})
    >>> len(plot_survival(t).get_legend().get_texts())
    2
    """
    from badgerlib import plots

    names = list(dict.fromkeys(table.variant)) if variants is None else list(variants)
    groups = {n: (table[table.variant == n].duration, table[table.variant == n].escaped) for n in names}
    ax = plots.survival_curves(groups, ax=ax)
    ax.set_ylabel("share of runs still\non the zeros plateau")
    return ax


def plot_mi_by_variant(mis: dict, variants, ax=None):
    """The mean pairwise MI over training, median over seeds, one line per variant (variants
    without experts are skipped). Returns the axes.

    Example
    -------
    >>> mi = pd.DataFrame({"iteration": [0, 100], "mean": [5.0, 4.0]})
    >>> ax = plot_mi_by_variant({("a", 0): mi, ("a", 1): mi, ("b", 0): None}, ["a", "b"])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a']
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.4)
    for i, name in enumerate(variants):
        curves = [m for (v, _), m in mis.items() if v == name and m is not None]
        if not curves:
            continue
        its = curves[0]["iteration"].to_numpy()
        med = np.median(np.stack([m["mean"].to_numpy() for m in curves]), axis=0)
        ax.plot(its, med, color=plots.PALETTE[i % len(plots.PALETTE)], lw=1.6, label=name)
    ax.set_xlabel("outer iteration")
    ax.set_ylabel("mean MI between\ntwo experts (nats)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax
