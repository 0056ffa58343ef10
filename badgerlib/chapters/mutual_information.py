"""Chapter 5, mutual information: do identical experts have to become different before
Micro-Badger leaves its first plateau?

The study shows, for one run of 14 experts on N = 4, the mutual information (MI) between pairs
of experts' hidden states over training, reads "MI plateaus and then decreases" as symmetry
breaking, and concludes that only once the experts are diverse is the plateau escaped. It
names two ways to remove the first plateau (per-expert readout weights; the exponential hidden
update). This chapter measures the MI over seeds, times its fall against the escape, and
intervenes on the symmetry.

* sizes and runs: :func:`sizes`, :data:`VARIANTS`, :func:`variant_config`, :func:`configs`;
* measurements: :func:`mi_over_training` (pairwise MI at every snapshot, on fresh probe tasks),
  :func:`run_events` (per run: escape, MI fall, lead), :func:`lead_summary` (lead over seeds
  with a bootstrap interval), :func:`escape_table` and :func:`survival_summary` (escape times
  as survival curves, censored runs kept, log-rank against the default),
  :func:`magnitude_table` (largest hidden-state magnitude, for "no explosion").

Example
-------
>>> size = sizes(quick=True)
>>> size.experts, size.n, size.seeds, size.iterations
(14, 4, 5, 800)
>>> [name for name in configs(quick=True)]
['default', 'no noise', 'per-expert readout', 'exponential update', 'random IDs']
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.info import pairwise_mutual_information
from badgerlib.analysis.survival import kaplan_meier, logrank_test
from badgerlib.baselines import LSTMMetaLearnerConfig
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
    iterations: int = 800
    seeds: int = 5
    snapshot_every: int = 50
    mi_batch: int = 512
    pca_dims: int = 4
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

#: Quick mode: the study's agent, 5 seeds, 800 iterations, the five variants that bear on the
#: study's claims; about 4 minutes on 2 cores.
QUICK = Sizes()

#: Full mode: the study's 5000 iterations, 10 seeds, every variant and both controls.
FULL = Sizes(iterations=5000, seeds=10, variants=tuple(VARIANTS))


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).seeds
    10
    """
    if not isinstance(quick, (bool, np.bool_)):
        raise ValueError(f"quick = {quick!r}: must be True or False")
    return QUICK if quick else FULL


def variant_config(variant: str, seed: int = 0, quick: bool = True) -> RunConfig:
    """The run of ``variant`` (a name in :data:`VARIANTS`) for ``seed``.

    Example
    -------
    >>> cfg = variant_config("random IDs", seed=2)
    >>> cfg.model.experts, cfg.model.expert_ids, cfg.seed, cfg.iterations
    (14, 4, 2, 800)
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
                     step: int = -1) -> pd.DataFrame:
    """Pairwise mutual information (nats) between the experts' hidden states at every snapshot
    of ``run``: one row per snapshot with ``iteration``, ``mean``, ``min`` and ``max`` over the
    pairs, and ``pairs`` (the distinct pairs' values, an array).

    The samples are ``batch`` probe tasks (the same tasks and initial noise at every snapshot,
    :meth:`badgerlib.run.Run.states_at`), the state at inner step ``step`` (the last by
    default); each expert's state is reduced to ``pca_dims`` principal components, so the
    joint the estimator sees has ``experts x pca_dims`` dimensions (56 for the study's 14
    experts), well below the 512 samples its covariance needs.

    Example: in ``tests/test_chapter_mutual_information.py`` (it needs a trained run).
    """
    rows = []
    iterations = np.asarray(run.snapshots["iterations"])
    for k, it in enumerate(iterations):
        hidden = run.states_at(k, batch=batch).hidden[:, step].double().numpy()     # (tasks, E, H)
        mi = pairwise_mutual_information(hidden, method, pca_dims=pca_dims)
        pairs = mi[np.triu_indices(len(mi), 1)]
        rows.append({"iteration": int(it), "mean": pairs.mean(), "min": pairs.min(), "max": pairs.max(),
                     "pairs": pairs})
    return pd.DataFrame(rows)


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
    """The lead of the MI fall over the escape across runs (one number per run, NaN dropped:
    a run with no fall or no escape has no lead): ``n``, ``median``, a 95 % percentile
    bootstrap interval of the median (``low``, ``high``) and ``share_positive`` (runs whose MI
    fell first).

    Example
    -------
    >>> s = lead_summary([100, 150, 200, 250, np.nan])
    >>> s["n"], s["median"], s["share_positive"], s["low"] <= 175 <= s["high"]
    (4, 175.0, 1.0, True)
    """
    x = np.asarray(leads, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"n": 0, "median": np.nan, "low": np.nan, "high": np.nan, "share_positive": np.nan}
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(x, size=(n_boot, len(x))), axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"n": len(x), "median": float(np.median(x)), "low": float(low), "high": float(high),
            "share_positive": float((x > 0).mean())}


def escape_table(runs_by_variant: dict) -> pd.DataFrame:
    """One row per run: ``variant``, ``seed``, ``duration`` (the escape iteration, or the run's
    length when it never escaped: censored there), ``escaped`` and ``final_error`` (error of
    the last guess over the last 5 % of the run, zeros-level units).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> cfg = variant_config("default")
    >>> runs = {"default": [SimpleNamespace(config=cfg, history={"last_error": np.ones(800)})]}
    >>> escape_table(runs)[["variant", "duration", "escaped"]].values.tolist()
    [['default', 800, False]]
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
