"""Chapter 6, binding information: is Micro-Badger organising itself, and do more experts help?

The study measures the binding information B (dual total correlation, Rosas et al. 2019) of
the experts' outputs over training (16 experts, 4 links, N = 4) and over the inner rollout,
reads its growth as (guided) self-organisation, says that more organisation goes with lower
error, and that adding experts is redundancy-dominated: past some number each new expert
brings less new information and only slows convergence. This chapter measures all of it over
seeds, with the controls that decide what "organisation" means here.

* sizes and runs: :func:`sizes`, :func:`variant_config`, :func:`configs` (the study's agent,
  the same agent without communication, and the agent with other numbers of experts);
* measurements: :func:`outputs_at` (each expert's output at a snapshot, on probe tasks),
  :func:`information_over_training` (TC, B, O, S at every snapshot, raw, with the shared
  inputs regressed out (:func:`residual_outputs`), and on experts shuffled across tasks,
  :func:`shuffle_experts`), :func:`information_over_inner_steps`, :func:`run_table` (one row
  per run: B at the start and end, its growth, final error, time to solve; summarised across
  runs with :func:`badgerlib.analysis.stats.median_interval` and
  :func:`~badgerlib.analysis.stats.correlation_interval`), :func:`expert_table` (per number
  of experts: O-information of the trained agent, time to solve as survival, final error);
* figures: :func:`plot_binding_and_error`, :func:`plot_inner_steps`, :func:`plot_experts`.

Example
-------
>>> size = sizes(quick=True)
>>> size.experts, size.links, size.n, size.seeds
(16, 4, 4, 5)
>>> list(configs(quick=True))
['default', 'no communication', 'E = 2', 'E = 4', 'E = 8']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.info import DegenerateDataWarning, information_summary
from badgerlib.analysis.survival import kaplan_meier
from badgerlib.chapters import standard
from badgerlib.checks import check_int
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame


# ------------------------------------------------------------------------------ sizes, runs
@dataclass(frozen=True)
class Sizes:
    """The sizes of chapter 6 in one mode. Hyperparameters the study did not publish are the
    standard small agent's (:mod:`badgerlib.chapters.standard`), as in chapter 5.

    Fields
    ------
    experts, links, hidden, n, inner_steps, batch, lr: the study's agent (16 experts, 4
        links, N = 4) and its training.
    iterations: outer iterations of every run.
    seeds: seeds of the study's agent and of the agent without communication.
    expert_counts: the other numbers of experts trained (the study's 16 is the default run).
    expert_seeds: seeds per number of experts (the first of the default's seeds for E = 16).
    snapshot_every: outer iterations between snapshots.
    info_batch: probe tasks the information measures are estimated on (the joint of 16
        experts x 4 outputs has 64 dimensions).
    solved: the error level (zeros level = 1) below which a run counts as solved.

    Example
    -------
    >>> FULL.iterations, FULL.seeds, FULL.expert_counts
    (3000, 10, (2, 4, 8, 32))
    """

    experts: int = 16
    links: int = 4
    hidden: int = 32
    n: int = 4
    inner_steps: int = 10
    batch: int = 32
    lr: float = 3e-3
    iterations: int = 800
    seeds: int = 5
    expert_counts: tuple = (2, 4, 8)
    expert_seeds: int = 3
    snapshot_every: int = 50
    info_batch: int = 512
    solved: float = 0.25


#: Quick mode: the study's agent and its no-communication twin over 5 seeds, and 2, 4 and 8
#: experts over 3 seeds (16 is the default run), 800 iterations. A pilot at these sizes
#: (2026-11-30, 19 runs, 2.5 min of training on 2 cores) left the error at 0.3-0.75 of the zeros
#: level and solved 2 of 19 runs: too short to time "iterations to solve" against the number of
#: experts; the chapter's notebook must train longer (and the test budget make room for it).
QUICK = Sizes()

#: Full mode: 10 seeds, every number of experts the issue names (2 to 32) over 5 seeds, 3000
#: iterations: not yet sized from a pilot (the 800-iteration quick pilot solved 2 of 19 runs).
FULL = Sizes(iterations=3000, seeds=10, expert_counts=(2, 4, 8, 32), expert_seeds=5)


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).seeds
    10
    """
    standard.sizes(quick)            # the one check of ``quick``
    return QUICK if quick else FULL


def variant_config(experts: int, links: int, seed: int = 0, quick: bool = True) -> RunConfig:
    """The run of the chapter's agent with ``experts`` experts sending to ``links`` others each
    (all the others where fewer than ``links`` exist) for ``seed``.

    Example
    -------
    >>> cfg = variant_config(16, 4, seed=2)
    >>> cfg.model.experts, cfg.model.links, cfg.task.n, cfg.seed
    (16, 4, 4, 2)
    >>> variant_config(2, 4).model.links      # all-to-all below 5 experts
    1
    >>> variant_config(0, 4)
    Traceback (most recent call last):
    ...
    ValueError: variant_config.experts = 0: must be an integer >= 1
    """
    size = sizes(quick)
    experts = check_int("variant_config", "experts", experts, 1)
    links = min(check_int("variant_config", "links", links, 0), experts - 1)
    model = MicroBadgerConfig(experts=experts, hidden=size.hidden, links=links)
    return RunConfig(task=GuessingGame(n=size.n), model=model, inner_steps=size.inner_steps,
                     iterations=size.iterations, batch=size.batch, lr=size.lr,
                     seed=check_int("variant_config", "seed", seed, 0),
                     snapshot_count=size.iterations // size.snapshot_every + 1)


def configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """Every run of the chapter, by group: ``default`` (the study's agent), ``no
    communication`` (the same agent with no links: each expert sees only the shared feedback
    and its own guess) and ``E = k`` for the other numbers of experts.

    Example: see the module docstring.
    """
    size = sizes(quick)
    groups = {"default": [variant_config(size.experts, size.links, s, quick) for s in range(size.seeds)],
              "no communication": [variant_config(size.experts, 0, s, quick) for s in range(size.seeds)]}
    for e in size.expert_counts:
        groups[f"E = {e}"] = [variant_config(e, size.links, s, quick) for s in range(size.expert_seeds)]
    return groups


# ------------------------------------------------------------------------------ measurements
def outputs_at(run, snapshot: int, batch: int, step: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each expert's output (its readout, what it adds to the guess) at inner step ``step``
    (the last by default) of snapshot ``snapshot`` on ``batch`` probe tasks, with what every
    expert shares at that step: ``(outputs (batch, E, N), targets (batch, N), shared inputs
    (batch, N + 1))``, the shared inputs being the previous guess and its feedback.

    Example: in ``tests/test_chapter_binding.py`` (it needs a trained run).
    """
    roll = run.states_at(snapshot, batch=batch)
    t = roll.outputs.shape[1] - 1 if step == -1 else step
    return roll.outputs[:, t].double().numpy(), roll.targets.double().numpy(), _shared_inputs(roll, t)


def _shared_inputs(roll, t: int) -> np.ndarray:
    """What every expert receives alike before inner step ``t``: the previous guess and its
    feedback, ``(batch, N + 1)``."""
    return np.concatenate([roll.guesses[:, t - 1].double().numpy(), roll.feedback[:, t - 1, None].double().numpy()],
                          axis=1)


def residual_outputs(outputs: np.ndarray, *covariates: np.ndarray) -> np.ndarray:
    """``outputs`` (samples, E, N) with what a linear map of the ``covariates`` (each
    (samples, k); an intercept is added) explains removed, expert by expert: the dependence
    between experts that is left once the inputs they all share are accounted for.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.standard_normal((500, 1))
    >>> outputs = shared[:, :, None] + 0.1 * rng.standard_normal((500, 3, 2))
    >>> bool(np.abs(residual_outputs(outputs, shared)).max() < 0.5)
    True
    """
    samples = outputs.shape[0]
    x = np.concatenate([np.ones((samples, 1)), *covariates], axis=1)
    flat = outputs.reshape(samples, -1)
    coef, *_ = np.linalg.lstsq(x, flat, rcond=None)
    return (flat - x @ coef).reshape(outputs.shape)


def shuffle_experts(outputs: np.ndarray, seed: int = 0) -> np.ndarray:
    """``outputs`` (samples, E, N) with each expert's samples permuted on their own: every
    expert keeps its distribution, every dependence between experts is destroyed (the
    estimator's floor).

    Example
    -------
    >>> x = np.arange(12.0).reshape(4, 3, 1)
    >>> y = shuffle_experts(x)
    >>> sorted(y[:, 1, 0].tolist()) == x[:, 1, 0].tolist(), bool((y != x).any())
    (True, True)
    """
    rng = np.random.default_rng(seed)
    out = outputs.copy()
    for e in range(out.shape[1]):
        out[:, e] = out[rng.permutation(len(out)), e]
    return out


def _summary(parts: np.ndarray) -> dict:
    with warnings.catch_warnings():          # an untrained readout can be near-constant
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return information_summary(parts).as_dict()


#: The three views of the experts' outputs :func:`information_over_training` measures.
VIEWS = ("raw", "shared inputs removed", "shuffled")


def information_over_training(run, batch: int = 512, step: int = -1) -> pd.DataFrame:
    """TC, binding information B, O- and S-information (nats, Gaussian copula) of the experts'
    outputs at every snapshot of ``run``: one row per snapshot and view (``view``, one of
    :data:`VIEWS`: the outputs as they are; with the targets and the shared inputs regressed
    out, :func:`residual_outputs`; shuffled across tasks, :func:`shuffle_experts`), with
    ``iteration`` and the four measures.

    Example: in ``tests/test_chapter_binding.py`` (it needs a trained run).
    """
    rows = []
    for k, it in enumerate(np.asarray(run.snapshots["iterations"])):
        outputs, targets, shared = outputs_at(run, k, batch, step)
        views = {"raw": outputs, "shared inputs removed": residual_outputs(outputs, targets, shared),
                 "shuffled": shuffle_experts(outputs, seed=k)}
        for view, parts in views.items():
            rows.append({"iteration": int(it), "view": view, **_summary(parts)})
    return pd.DataFrame(rows)


def information_over_inner_steps(run, snapshot: int, batch: int = 512) -> pd.DataFrame:
    """The four measures of the experts' outputs at every inner step 1..S of a rollout of the
    agent of snapshot ``snapshot`` (0: untrained; -1: trained), raw and with the shared inputs
    removed: one row per step and view.

    Example: in ``tests/test_chapter_binding.py`` (it needs a trained run).
    """
    k = snapshot % len(run.snapshots["iterations"])
    roll = run.states_at(k, batch=batch)
    targets = roll.targets.double().numpy()
    rows = []
    for t in range(1, roll.outputs.shape[1]):
        outputs = roll.outputs[:, t].double().numpy()
        removed = residual_outputs(outputs, targets, _shared_inputs(roll, t))
        for view, parts in (("raw", outputs), ("shared inputs removed", removed)):
            rows.append({"step": t, "view": view, **_summary(parts)})
    return pd.DataFrame(rows)


def solve_iteration(run, level: float) -> float:
    """When the error of the last guess falls below ``level`` (zeros level = 1) for good
    (:func:`badgerlib.analysis.dynamics.escape_iteration`); NaN if never.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=variant_config(16, 4), history={"last_error": np.r_[np.ones(300), np.full(500, 0.1)]})
    >>> solve_iteration(run, 0.25)
    308.0
    """
    zeros = run.config.task.zeros_level
    it = escape_iteration(np.asarray(run.history["last_error"]), zeros, drop=1.0 - level)
    return np.nan if it is None else float(it)


def final_error(run) -> float:
    """The error of the last guess over the last 5 % of the run, zeros level = 1.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(config=variant_config(16, 4), history={"last_error": np.r_[np.ones(95), np.full(5, 0.5)]})
    >>> round(final_error(run), 3)
    0.5
    """
    err = np.asarray(run.history["last_error"])
    return float(err[-max(len(err) // 20, 1):].mean() / run.config.task.zeros_level)


def run_table(runs_by_group: dict, info: dict, solved: float) -> pd.DataFrame:
    """One row per run: ``group``, ``seed``, ``experts``, ``links``; the binding information
    of the raw outputs at the first snapshot (``b_start``) and over the last three
    (``b_end``), their difference ``b_growth``, the same growth with the shared inputs removed
    (``b_growth_residual``) and of the shuffled floor (``b_growth_shuffled``); the final error
    and the iteration at which the run is solved (``solve``, NaN if never: censored).

    ``info`` maps ``(group, seed)`` to :func:`information_over_training` (None: not measured).

    Example: in ``tests/test_chapter_binding.py`` (it needs trained runs).
    """
    rows = []
    for group, runs in runs_by_group.items():
        for run in runs:
            row = {"group": group, "seed": run.config.seed, "experts": run.config.model.experts,
                   "links": run.config.model.links, "final_error": final_error(run),
                   "solve": solve_iteration(run, solved)}
            frame = info.get((group, run.config.seed))
            if frame is not None:
                for view, suffix in (("raw", ""), ("shared inputs removed", "_residual"), ("shuffled", "_shuffled")):
                    b = frame[frame.view == view].binding_information.to_numpy()
                    if suffix == "":
                        row["b_start"], row["b_end"] = float(b[0]), float(b[-3:].mean())
                    row[f"b_growth{suffix}"] = float(b[-3:].mean() - b[0])
            rows.append(row)
    return pd.DataFrame(rows)


def expert_table(runs_by_group: dict, size: Sizes, batch: int = 512) -> pd.DataFrame:
    """Per number of experts (the default group's first ``size.expert_seeds`` runs stand for
    16): ``experts``, ``runs``, the O-information of the trained agent's outputs (median over
    runs; > 0 redundancy-dominated, < 0 synergy-dominated) and per expert, the Kaplan-Meier
    median iteration to solve (inf when most runs never did: censored) and the median final
    error.

    Example: in ``tests/test_chapter_binding.py`` (it needs trained runs).
    """
    by_experts = {size.experts: runs_by_group["default"][:size.expert_seeds]}
    for e in size.expert_counts:
        by_experts[e] = runs_by_group[f"E = {e}"]
    rows = []
    for experts in sorted(by_experts):
        runs = by_experts[experts]
        o_info = []
        for run in runs:
            if experts < 2:
                continue
            outputs, _, _ = outputs_at(run, len(run.snapshots["iterations"]) - 1, batch)
            o_info.append(_summary(outputs)["o_information"])
        solve = np.array([solve_iteration(run, size.solved) for run in runs])
        curve = kaplan_meier(np.where(np.isfinite(solve), solve, size.iterations), np.isfinite(solve).astype(int))
        rows.append({"experts": experts, "runs": len(runs), "o_information": float(np.median(o_info)),
                     "o_per_expert": float(np.median(o_info)) / experts, "solve_median": curve.median,
                     "solved_runs": int(np.isfinite(solve).sum()),
                     "final_error": float(np.median([final_error(r) for r in runs]))})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ figures
def plot_binding_and_error(info: dict, runs_by_group: dict, axes=None):
    """The study's figure over seeds: the binding information of the experts' outputs over
    training (median over seeds) for the study's agent (raw, with the shared inputs removed,
    and its shuffled floor) and for the agent without communication (raw), above the error of
    the last guess (median over seeds, smoothed over 25 iterations). Returns the axes.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> frame = pd.DataFrame({"iteration": [0, 0, 0, 50, 50, 50], "view": list(VIEWS) * 2,
    ...                       "binding_information": [1.0, 0.5, 0.0, 2.0, 0.6, 0.0]})
    >>> run = SimpleNamespace(config=variant_config(16, 4), history={"last_error": np.ones(60)})
    >>> axes = plot_binding_and_error({("default", 0): frame, ("no communication", 0): frame},
    ...                               {"default": [run], "no communication": [run]})
    >>> len(axes[0].get_lines())
    4
    """
    from badgerlib import plots
    from badgerlib.analysis.dynamics import smooth

    if axes is None:
        _, axes = plots.figure(nrows=2, height=5.6, sharex=True)
    styles = {("default", "raw"): (plots.PALETTE[0], "-", "16 experts, 4 links"),
              ("default", "shared inputs removed"): (plots.PALETTE[0], "--", "16 experts, shared inputs removed"),
              ("default", "shuffled"): ("0.5", ":", "16 experts, shuffled (floor)"),
              ("no communication", "raw"): (plots.PALETTE[3], "-", "no communication")}
    for (group, view), (color, ls, label) in styles.items():
        frames = [f[f.view == view] for (g, _), f in info.items() if g == group and f is not None]
        if not frames:
            continue
        its = frames[0].iteration.to_numpy()
        med = np.median(np.stack([f.binding_information.to_numpy() for f in frames]), axis=0)
        axes[0].plot(its, med, color=color, ls=ls, lw=1.8, label=label)
    axes[0].set_ylabel("binding information\nof the outputs (nats)")
    axes[0].legend(loc="upper left", fontsize=8)
    for group, color in (("default", plots.PALETTE[0]), ("no communication", plots.PALETTE[3])):
        runs = runs_by_group.get(group, [])
        if runs:
            err = np.median(np.stack([np.asarray(r.history["last_error"]) / r.config.task.zeros_level
                                      for r in runs]), axis=0)
            axes[1].plot(np.arange(len(err)), smooth(err, 25), color=color, lw=1.5)
    axes[1].set_ylabel("error of the last guess\n(zeros level = 1)")
    axes[1].set_xlabel("outer iteration")
    return axes


def plot_inner_steps(untrained: pd.DataFrame, trained: pd.DataFrame, ax=None):
    """The binding information of the experts' outputs over the inner steps of one rollout,
    untrained and trained, raw (solid) and with the shared inputs removed (dashed). Returns
    the axes.

    Example
    -------
    >>> f = pd.DataFrame({"step": [1, 1, 2, 2], "view": ["raw", "shared inputs removed"] * 2,
    ...                   "binding_information": [1.0, 0.5, 2.0, 0.6]})
    >>> len(plot_inner_steps(f, f).get_lines())
    4
    """
    from badgerlib import plots

    if ax is None:
        _, ax = plots.figure(height=3.2)
    for frame, color, name in ((untrained, "0.5", "untrained"), (trained, plots.PALETTE[0], "trained")):
        for view, ls in (("raw", "-"), ("shared inputs removed", "--")):
            f = frame[frame.view == view]
            ax.plot(f.step, f.binding_information, color=color, ls=ls, marker="o", ms=3,
                    label=f"{name}, {'raw' if view == 'raw' else 'shared inputs removed'}")
    ax.set(xlabel="inner step", ylabel="binding information\nof the outputs (nats)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return ax


def plot_experts(table: pd.DataFrame, axes=None):
    """Per number of experts (log scale): the O-information of the trained agent's outputs
    per expert (left; above 0 redundancy-dominated), and the median iteration to solve
    (right; a hollow marker where most runs never solved). Returns the axes.

    Example
    -------
    >>> t = pd.DataFrame({"experts": [2, 16], "o_per_expert": [0.1, 0.5], "solve_median": [400.0, np.inf],
    ...                   "final_error": [0.1, 0.2]})
    >>> [ax.get_xscale() for ax in plot_experts(t)]
    ['log', 'log']
    """
    from badgerlib import plots

    if axes is None:
        _, axes = plots.figure(ncols=2, height=3.2)
    e = table.experts.to_numpy()
    axes[0].plot(e, table.o_per_expert, "o-", color=plots.PALETTE[0])
    axes[0].axhline(0, color="0.4", lw=1)
    axes[0].set(ylabel="O-information per expert\n(nats; > 0: redundancy)")
    solved = np.isfinite(table.solve_median.to_numpy())
    axes[1].plot(e[solved], table.solve_median[solved], "o-", color=plots.PALETTE[3])
    if (~solved).any():
        top = np.nanmax(np.where(solved, table.solve_median, np.nan)) if solved.any() else 1.0
        axes[1].plot(e[~solved], np.full((~solved).sum(), top), "o", mfc="none", color=plots.PALETTE[3],
                     label="most runs never solved")
        axes[1].legend(loc="upper left", fontsize=8)
    axes[1].set(ylabel="median iteration\nto solve")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(e, [str(int(v)) for v in e])
        ax.set_xlabel("experts")
    return axes
