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
['default', 'no communication', 'E = 4', 'E = 8']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from badgerlib.analysis.dynamics import escape_iteration
from badgerlib.analysis.info import DegenerateDataWarning, information_summary
from badgerlib.analysis.stats import correlation_interval, interval_text, median_difference, median_interval
from badgerlib.analysis.survival import kaplan_meier
from badgerlib.chapters import standard
from badgerlib.chapters.standard import final_error, solve_iteration
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
    (4000, 10, (2, 4, 8, 32))
    """

    experts: int = 16
    links: int = 4
    hidden: int = 32
    n: int = 4
    inner_steps: int = 10
    batch: int = 32
    lr: float = 3e-3
    iterations: int = 1200
    seeds: int = 5
    expert_counts: tuple = (4, 8)
    expert_seeds: int = 2
    snapshot_every: int = 100
    info_batch: int = 512
    solved: float = 0.25


#: Quick mode: the study's agent and its no-communication twin over 5 seeds, and 4 and 8
#: experts over 2 seeds (the default's first two stand for 16), 1200 iterations. Sized from a
#: pilot (2026-12-01, runs to 3000 iterations that stopped 200 after solving): the study's
#: agent solved every dimension at 855-1247 iterations (5 seeds), without communication at
#: 1190-1640 (3 seeds), 2-8 experts at 776-1286: at 1200 most runs are solved and a slower one
#: is censored, not dropped. Two experts (O-information 0 by definition) and a third seed
#: per number of experts are full mode's: the test suite's time budget (25 minutes for the
#: whole book) has no room for them.
QUICK = Sizes()

#: Full mode: 10 seeds, every number of experts the issue names (2 to 32) over 5 seeds, 4000
#: iterations (three times the slowest solve of the pilot; no run is stopped early, so the
#: binding information is followed long after solving, as in the study's figure).
FULL = Sizes(iterations=4000, seeds=10, expert_counts=(2, 4, 8, 32), expert_seeds=5)


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
                     snapshot_count=size.iterations // size.snapshot_every + 1,
                     record_states=False)      # the measures replay snapshots on more tasks


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


def setup_values(quick: bool = True) -> dict:
    """The sizes the chapter's setup table shows, by glue name.

    Example
    -------
    >>> v = setup_values()
    >>> v["experts"], v["links"], v["n"], v["iterations"], v["expert_counts"]
    (16, 4, 4, 1200, '4, 8')
    """
    size = sizes(quick)
    values = {name: getattr(size, name) for name in ("experts", "links", "hidden", "n", "inner_steps", "batch",
                                                     "lr", "iterations", "seeds", "expert_seeds",
                                                     "snapshot_every", "info_batch", "solved")}
    return {**values, "expert_counts": ", ".join(map(str, size.expert_counts)),
            "joint_dims": size.experts * size.n,
            "shared_dims": 2 * size.n + 1}     # the target, the previous guess, its feedback


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


def expert_r2(outputs: np.ndarray, targets: np.ndarray) -> float:
    """How well each expert's output alone matches the target: ``1 - var(output - target) /
    var(target)`` over tasks and dimensions, the median over experts (1: every expert outputs
    the target itself, and the experts are near-copies of each other).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> targets = rng.uniform(-1, 1, (500, 2))
    >>> copies = targets[:, None, :] + 0.1 * rng.standard_normal((500, 3, 2))
    >>> round(expert_r2(copies, targets), 2)
    0.97
    """
    residual = outputs - targets[:, None, :]
    return float(np.median(1.0 - residual.var(axis=(0, 2)) / targets.var()))


def run_table(runs_by_group: dict, info: dict, solved: float, batch: int = 512) -> pd.DataFrame:
    """One row per run: ``group``, ``seed``, ``experts``, ``links``; how well each trained
    expert alone outputs the target (``expert_r2``, :func:`expert_r2` on ``batch`` probe
    tasks at the last snapshot); the binding information
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
            outputs, targets, _ = outputs_at(run, len(run.snapshots["iterations"]) - 1, batch)
            row = {"group": group, "seed": run.config.seed, "experts": run.config.model.experts,
                   "links": run.config.model.links, "expert_r2": expert_r2(outputs, targets),
                   "final_error": final_error(run),
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


def shown_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`run_table` for the study's agent and the agent without
    communication, as the chapter's table shows them: text columns, a run never solved as
    "never".

    Example
    -------
    >>> t = pd.DataFrame({"group": ["default"], "seed": [0], "links": [4], "b_start": [14.52],
    ...                   "b_end": [17.1], "b_growth": [2.58], "b_growth_residual": [-4.4],
    ...                   "b_growth_shuffled": [0.062], "solve": [np.nan], "final_error": [0.0271]})
    >>> shown_runs(t).iloc[0].tolist()
    ['4', '0', '14.5', '17.1', '2.6', '-4.4', '0.06', 'never', '0.027']
    """
    rows = table[table.group.isin(["default", "no communication"])]
    return pd.DataFrame({
        "links": rows.links.map(str), "seed": rows.seed.map(str),
        "B first": rows.b_start.map("{:.1f}".format), "B last": rows.b_end.map("{:.1f}".format),
        "growth": rows.b_growth.map("{:.1f}".format),
        "growth, shared removed": rows.b_growth_residual.map("{:.1f}".format),
        "growth, shuffled": rows.b_growth_shuffled.map("{:.2f}".format),
        "solved at": rows.solve.map(lambda v: "never" if not np.isfinite(v) else f"{v:.0f}"),
        "final error": rows.final_error.map("{:.3f}".format)})


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


def inner_table(runs, batch: int = 512) -> pd.DataFrame:
    """One row per run and agent (``agent``: untrained, the first snapshot; trained, the
    last): the binding information of the outputs at the first and the last inner step, raw
    and with the shared inputs removed (``b_first``, ``b_last``, ``b_first_residual``,
    ``b_last_residual``), and their growth over the rollout (``growth``,
    ``growth_residual``).

    Example: in ``tests/test_chapter_binding.py`` (it needs trained runs).
    """
    rows = []
    for run in runs:
        for agent, snapshot in (("untrained", 0), ("trained", -1)):
            frame = information_over_inner_steps(run, snapshot, batch)
            row = {"seed": run.config.seed, "agent": agent}
            for view, suffix in (("raw", ""), ("shared inputs removed", "_residual")):
                b = frame[frame.view == view].binding_information.to_numpy()
                row[f"b_first{suffix}"], row[f"b_last{suffix}"] = float(b[0]), float(b[-1])
                row[f"growth{suffix}"] = float(b[-1] - b[0])
            rows.append(row)
    return pd.DataFrame(rows)


def expert_sweep(table: pd.DataFrame, size: Sizes) -> pd.DataFrame:
    """The rows of :func:`run_table` that make the sweep over the number of experts: every
    ``E = k`` run and the study's agent's first ``size.expert_seeds`` runs (for 16).

    Example
    -------
    >>> t = pd.DataFrame({"group": ["default"] * 3 + ["E = 4"] * 2, "experts": [16] * 3 + [4] * 2})
    >>> expert_sweep(t, QUICK).experts.tolist()
    [16, 16, 4, 4]
    """
    default = table[table.group == "default"].head(size.expert_seeds)
    return pd.concat([default, table[table.group.isin([f"E = {e}" for e in size.expert_counts])]])


def findings(table: pd.DataFrame, inner: pd.DataFrame, size: Sizes) -> dict:
    """Every across-run number the chapter reports, one number per run first
    (:mod:`badgerlib.analysis.stats`), from :func:`run_table` and :func:`inner_table`:

    - ``growth``, ``growth_residual``, ``growth_shuffled``, ``growth_no_comm``: the median
      growth of B over training with its 95 % bootstrap interval (study's agent raw, with the
      shared inputs removed, its shuffled floor; the agent without communication raw);
    - ``comm``: median growth with communication minus without (two groups);
    - ``shared``: the median over runs of raw minus residual growth (what the shared inputs
      carry; paired within runs);
    - ``error``: Spearman's rho of B's growth against the final error over the study's
      agent's runs, with its interval;
    - ``inner_untrained``, ``inner_trained``: median growth of B over the inner steps;
    - ``experts``: Spearman's rho of the number of experts against the iteration to solve,
      over every run of the expert sweep (a run never solved ranks last: it is censored at
      the run's length, after every solved one).

    Example: in ``tests/test_chapter_binding.py``.
    """
    d = table[table.group == "default"]
    n = table[table.group == "no communication"]
    sweep = expert_sweep(table, size)
    censored = sweep.solve.fillna(np.inf)          # never solved: after every solved run
    return {"growth": median_interval(d.b_growth), "growth_residual": median_interval(d.b_growth_residual),
            "growth_shuffled": median_interval(d.b_growth_shuffled),
            "growth_no_comm": median_interval(n.b_growth),
            "comm": median_difference(d.b_growth, n.b_growth),
            "shared": median_interval(d.b_growth - d.b_growth_residual),
            "error": correlation_interval(d.b_growth, d.final_error),
            "inner_untrained": median_interval(inner[inner.agent == "untrained"].growth),
            "inner_trained": median_interval(inner[inner.agent == "trained"].growth),
            "inner_trained_residual": median_interval(inner[inner.agent == "trained"].growth_residual),
            "experts": correlation_interval(sweep.experts, censored.rank(method="average"))}


def finding_numbers(found: dict, table: pd.DataFrame, experts: pd.DataFrame) -> dict[str, str]:
    """The numbers the chapter's text glues, by glue name, from :func:`findings`,
    :func:`run_table` and :func:`expert_table`.

    Example: in ``tests/test_chapter_binding.py``.
    """
    d = table[table.group == "default"]
    n = table[table.group == "no communication"]
    growth = found["growth"]
    big = experts[experts.experts > 2]
    return {"growth": interval_text(growth), "growth_share": f"{growth['share_positive'] * growth['n']:.0f} of "
                                                              f"{growth['n']}",
            "floor": interval_text(found["growth_shuffled"], 2),
            "growth_no_comm": interval_text(found["growth_no_comm"]), "comm": interval_text(found["comm"]),
            "growth_residual": interval_text(found["growth_residual"]), "shared": interval_text(found["shared"]),
            "shared_runs": f"{found['shared']['share_positive'] * found['shared']['n']:.0f} of {found['shared']['n']}",
            "shared_settled": ("and the interval is above 0" if found["shared"]["low"] > 0 else
                               "but the interval reaches below 0, so how much they carry is not settled at this "
                               "scale"),
            "comm_reading": ("So some of the growth needs the links: the study's \"Badger takes advantage of the "
                             "communication when present\" holds in this sense." if found["comm"]["low"] > 0 else
                             "The interval contains 0: these runs do not show that the links add to the growth "
                             "(which does not show that they add nothing)." if found["comm"]["high"] > 0 else
                             "The agent without links gains more: the links do not add to the growth."),
            "solved_default": f"{int(d.solve.notna().sum())} of {len(d)}",
            "solved_no_comm": f"{int(n.solve.notna().sum())} of {len(n)}",
            "r2_default": f"{d.expert_r2.min():.2f} to {d.expert_r2.max():.2f}",
            "b_end_range": f"{d.b_end.min():.0f} to {d.b_end.max():.0f}",
            "inner_trained": interval_text(found["inner_trained"]),
            "inner_untrained": interval_text(found["inner_untrained"]),
            "inner_trained_residual": interval_text(found["inner_trained_residual"]),
            "error_rho": interval_text(found["error"], 2), "experts_rho": interval_text(found["experts"], 2),
            "o_first": f"{big.o_per_expert.iloc[0]:.1f}", "o_first_e": f"{big.experts.iloc[0]}",
            "o_last": f"{big.o_per_expert.iloc[-1]:.1f}", "o_last_e": f"{big.experts.iloc[-1]}"}


def verdict(found: dict, experts: pd.DataFrame, size: Sizes, quick: bool) -> dict[str, str]:
    """The chapter's verdict in one sentence and the scale it was measured at (glue names
    ``verdict`` and ``scale`` of the landing page's findings table), from :func:`findings`
    and :func:`expert_table`; each clause follows from an interval, so the sentence changes
    with the data.

    Example
    -------
    >>> iv = lambda m, lo, hi: {"median": m, "low": lo, "high": hi}
    >>> found = {"growth": iv(5.0, 2.0, 9.0), "comm": {"difference": 3.0, "low": 1.0, "high": 8.0},
    ...          "growth_residual": iv(0.0, -4.0, 4.0), "inner_untrained": iv(13.0, 12.0, 14.0),
    ...          "error": {"rho": 0.2, "low": -0.7, "high": 0.9}, "experts": {"rho": 0.3, "low": -0.4, "high": 0.8}}
    >>> v = verdict(found, pd.DataFrame({"experts": [2, 4], "o_information": [0.0, 20.0]}), QUICK, True)
    >>> v["verdict"].split(".")[0]
    'Partly'
    >>> v["scale"]
    'quick mode: 16 experts, 4 links, N = 4, 5 seeds x 1200 iterations'
    """
    def sign(s, what, digits=1):
        measured = f"{what} {interval_text(s, digits, brackets=False)}"
        return f"{'above 0' if s['low'] > 0 else 'below 0' if s['high'] < 0 else 'not established'} ({measured})"

    grows, comm = found["growth"]["low"] > 0, found["comm"]["low"] > 0
    residual = found["growth_residual"]
    o_pos = bool((experts[experts.experts > 2].o_information > 0).all())
    text = (f"{'Partly' if grows else 'No'}. B of the experts' outputs "
            f"{'grows' if grows else 'does not grow reliably'} over training "
            f"(median +{found['growth']['median']:.1f} nats)"
            f"{', more with communication than without' if comm else ''}; with the inputs every expert shares "
            f"regressed out the growth is {sign(residual, 'median')}; "
            f"over the inner loop B grows in the untrained agent too "
            f"(+{found['inner_untrained']['median']:.1f} nats). Lower error with more organisation: "
            f"{sign(found['error'], 'rho', 2)}. "
            f"More experts: {'redundancy-dominated (O > 0)' if o_pos else 'not redundancy-dominated throughout'}; "
            f"slower convergence with more experts: {sign(found['experts'], 'rho', 2)}.")
    return {"verdict": text,
            "scale": f"{'quick' if quick else 'full'} mode: {size.experts} experts, {size.links} links, N = {size.n}, "
                     f"{size.seeds} seeds x {size.iterations} iterations"}


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


def plot_experts(table: pd.DataFrame, per_run: pd.DataFrame | None = None, axes=None):
    """Per number of experts (log scale): the O-information of the trained agent's outputs
    per expert (left; above 0 redundancy-dominated), and the median iteration to solve
    (right; a hollow marker where most runs never solved), with each run's own iteration to
    solve as a grey dot when ``per_run`` (rows of :func:`expert_sweep`) is given. Returns the
    axes.

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
    if per_run is not None:
        done = per_run[per_run.solve.notna()]
        axes[1].plot(done.experts, done.solve, ".", color="0.55", ms=5, label="one run", zorder=1)
        axes[1].legend(loc="best", fontsize=8)
    axes[1].set(ylabel="iteration to solve\n(median over runs)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(e, [str(int(v)) for v in e])
        ax.set_xlabel("experts")
    return axes
