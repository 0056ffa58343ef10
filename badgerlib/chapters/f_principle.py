"""Chapter 4, the F-principle: are the low frequencies of a target learned first?

The chapter trains four learners on the sine-sum guessing game (:class:`~badgerlib.SineSumGame`,
``y_i = sum_k sin(k x_i + phi)``): a supervised LSTM fitted to one target, an LSTM
meta-learner, an LSTM meta-learner that sees its error quantised into bins, and Micro-Badger
(at M = 11, and at the study's M = 41). Everything the chapter needs is here:

* its runs: :func:`sizes` (every size and hyperparameter, quick and full mode),
  :func:`configs` (the main experiment's runs, grouped by learner), :func:`phase_mode_configs`
  (the same learners on the three readings of the task, :data:`PHASE_FREQUENCIES`) and
  :func:`all_configs` (both, for ``precompute``); :func:`measure_groups` and
  :func:`phase_mode_experiment` train and measure them;
* its per-run measurement: :func:`analyse_run` reads a run's snapshots into a
  :class:`RunSpectrum`: the per-frequency convergence ``c_k`` over training and over the inner
  loop (:mod:`badgerlib.analysis.spectral`), the iteration at which each frequency is learned
  (:func:`~badgerlib.analysis.components.crossing_iterations`) and the rank correlation of
  frequency with that iteration (:func:`~badgerlib.analysis.stats.rank_correlation`: positive
  means low frequencies first, the F-principle);
* its pooled numbers: :func:`summarise` pools one learner's seeds into a
  :class:`LearnerSummary` (stratified permutation test, Kendall's W, spread, error per
  frequency, even against odd frequencies, converged inner steps), :func:`summary_table`,
  :func:`threshold_sensitivity`, :func:`inner_loop_table`, :func:`mirror_plateau`, and the
  formatted numbers the text cites (:func:`setup_numbers`, :func:`learner_numbers`,
  :func:`full_scale_numbers`);
* its tables as the book shows them: :func:`crossing_table`, :func:`summary_display`,
  :func:`threshold_display` (with :func:`column_formats` for :func:`badgerlib.plots.table`);
* its full-mode outcome when the full-mode runs are stored: :func:`full_mode_summary`, and
  the sentence the text cites of it, :func:`full_mode_text`;
* its cost: :func:`learner_speeds` and :func:`full_mode_seconds`;
* the phase-mode experiment's table and words: :func:`phase_mode_table`,
  :func:`phase_mode_display`, :func:`phase_mode_numbers`, :func:`describe_order`, and the
  "all at once" the checks read, :func:`learns_at_once`;
* its chapter-only figures: :func:`plot_order_tests`, :func:`plot_converged_steps`,
  :func:`plot_inner_heatmaps`, :func:`plot_phase_modes` (the heat maps are
  :func:`badgerlib.plots.frequency_heatmap`).

Example
-------
>>> groups = configs(quick=True)
>>> {name: len(cfgs) for name, cfgs in groups.items()}       # doctest: +NORMALIZE_WHITESPACE
{'supervised LSTM': 5, 'LSTM meta-learner': 2, 'quantised meta-learner': 2,
 'Micro-Badger (M = 11)': 2, 'Micro-Badger (M = 41)': 1}
>>> import numpy as np
>>> its = np.array([0, 10, 20, 30])
>>> c = np.array([[0.0, 0.0, 0.0], [0.9, 0.2, 0.0], [1.0, 0.8, 0.3], [1.0, 1.0, 0.9]])
>>> crossing_iterations(its, c, threshold=0.5).tolist()      # frequency 1, 2, 3
[10.0, 20.0, 30.0]
>>> rank_correlation([1, 2, 3], [10, 20, 30]).rho             # low frequencies first
1.0
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from badgerlib.analysis.components import crossing_iterations, crossing_spread
from badgerlib.analysis.dynamics import converged_steps
from badgerlib.analysis.spectral import (
    convergence_by_iteration, convergence_by_step, frequency_error, snapshot_arrays, target_frequencies,
)
from badgerlib.analysis.stats import (
    Concordance, PooledRankTest, RankTest, concordance, mean_sd, pooled_rank_test, rank_correlation,
)
from badgerlib.baselines import LSTMMetaLearnerConfig, SupervisedLSTMConfig
from badgerlib.checks import check_bool, check_float, check_int
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.sweep import estimate_seconds, seeds
from badgerlib.tasks import SineSumGame

__all__ = [
    "Sizes", "QUICK", "FULL", "sizes", "configs", "supervised_phases",
    "RunSpectrum", "analyse_run", "analyse_runs", "at_threshold", "LearnerSummary", "summarise",
    "summary_table", "threshold_sensitivity", "inner_loop_table", "representative", "plateau",
    "mirror_plateau", "plus_minus", "setup_numbers", "learner_numbers", "full_scale_numbers",
    "crossing_table", "summary_display", "threshold_display", "column_formats", "full_mode_summary",
    "full_mode_text", "all_configs", "PHASE_FREQUENCIES", "supervised_phase_sets", "phase_mode_configs", "phase_mode_table",
    "phase_mode_display", "plot_phase_modes", "PhaseModeExperiment", "phase_mode_experiment", "measure_groups",
    "LEARNER_KEYS", "phase_mode_numbers", "inner_loop_numbers", "text_numbers", "cost_numbers",
    "plot_inner_heatmaps", "describe_order", "phase_mode_scope", "AT_ONCE_LEARNED", "AT_ONCE_SPREAD", "learns_at_once",
    "learner_speeds", "full_mode_seconds", "plot_converged_steps", "plot_order_tests",
]


# ---------------------------------------------------------------------------------------------
# The runs: sizes and configs of both modes
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    """Every size and hyperparameter of the chapter in one mode (quick or full). Every value
    the study did not publish is an assumption, chosen in short trial runs.

    Fields
    ------
    frequencies: the k in ``y_i = sum_k sin(k x_i + phi)``.
    m: numbers to guess (the study's size); m_badger: Micro-Badger's size in the study.
    threshold: a frequency counts as learned at this fraction of the run's final level.
    probe: probe tasks on which snapshots are recorded (meta-learners and Micro-Badger).
    seeds: seeds per meta-learner and of Micro-Badger at ``m_badger``.
    sup_seeds: seeds of the supervised LSTM (seed s also draws its target's phase).
    sup_hidden, sup_lr, sup_iterations, sup_snapshots: the supervised LSTM.
    meta_hidden, meta_steps, meta_lr, meta_batch, meta_iterations, meta_snapshots: the LSTM
        meta-learner (``meta_steps`` inner steps).
    quant_bins, quant_steps, quant_lr, quant_batch, quant_iterations, quant_snapshots: the LSTM
        meta-learner that sees its error quantised into ``quant_bins`` bins (its hidden size is
        ``meta_hidden``). Full mode uses lr 0.01: at 0.02 one long run overflowed a gradient.
    mb_experts, mb_hidden, mb_links, mb_steps, mb_lr, mb_batch, mb_iterations, mb_snapshots:
        Micro-Badger at ``m_badger``.
    mb41_seeds, mb41_iterations: Micro-Badger at ``m`` (otherwise the same as at ``m_badger``).
    phase_seeds: the phase-mode experiment (:func:`phase_mode_configs`): seeds per learner in
        each of the three :data:`~badgerlib.tasks.PHASE_MODES`, at frequencies
        :data:`PHASE_FREQUENCIES` (0: the learner is not run in this mode of the book; quick
        mode leaves out the quantised meta-learner, which at its quick budget learns no
        frequency even with the shared phase).

    Example
    -------
    >>> QUICK.seeds, FULL.seeds, FULL.quant_lr
    (2, 10, 0.01)
    """

    seeds: int
    sup_seeds: int
    sup_iterations: int
    meta_iterations: int
    meta_snapshots: int
    quant_lr: float
    quant_batch: int
    quant_iterations: int
    quant_snapshots: int
    mb_iterations: int
    mb_snapshots: int
    mb41_seeds: int
    mb41_iterations: int
    frequencies: tuple = (1, 2, 3, 4, 5)
    m: int = 41
    m_badger: int = 11
    threshold: float = 0.9
    probe: int = 16
    sup_hidden: int = 64
    sup_lr: float = 1e-3
    sup_snapshots: int = 151
    meta_hidden: int = 64
    meta_steps: int = 40
    meta_lr: float = 3e-3
    meta_batch: int = 32
    quant_bins: int = 12
    quant_steps: int = 100
    mb_experts: int = 8
    mb_hidden: int = 32
    mb_links: int = 3
    mb_steps: int = 10
    mb_lr: float = 3e-3
    mb_batch: int = 32
    phase_seeds: tuple = (("supervised LSTM", 3), ("LSTM meta-learner", 1), ("quantised meta-learner", 0),
                          ("Micro-Badger (M = 41)", 1))


#: Quick mode: every learner learns within the budget (about two minutes of training on 2 cores).
#: Two seeds per meta-learner and of Micro-Badger since 2026-12-07 (three before), to keep the
#: test suite within 25 minutes with the phase-mode experiment; every check held on the first
#: two seeds of the three-seed runs; full mode has ten.
QUICK = Sizes(seeds=2, sup_seeds=5, sup_iterations=1500, meta_iterations=600, meta_snapshots=61,
              quant_lr=2e-2, quant_batch=16, quant_iterations=800, quant_snapshots=41,
              mb_iterations=1000, mb_snapshots=51, mb41_seeds=1, mb41_iterations=1000)

#: Full mode: ten seeds per learner and longer training (35 min 45 s measured on 2 cores before the
#: phase-mode runs were added; with them about 1.5-2 h, estimated from the quick speeds).
FULL = Sizes(seeds=10, sup_seeds=10, sup_iterations=3000, meta_iterations=3000, meta_snapshots=101,
             quant_lr=1e-2, quant_batch=32, quant_iterations=8000, quant_snapshots=81,
             mb_iterations=5000, mb_snapshots=101, mb41_seeds=3, mb41_iterations=5000,
             phase_seeds=(("supervised LSTM", 10), ("LSTM meta-learner", 5), ("quantised meta-learner", 3),
                          ("Micro-Badger (M = 41)", 5)))

#: The phase-mode experiment's frequencies (issue 17): k = 1..8, at the study's M = 41.
PHASE_FREQUENCIES = tuple(range(1, 9))


def sizes(quick: bool = True) -> Sizes:
    """:data:`QUICK` or :data:`FULL`.

    Example
    -------
    >>> sizes(False).mb41_seeds, sizes(True).mb41_seeds
    (3, 1)
    """
    check_bool("sizes", "quick", quick)
    return QUICK if quick else FULL


def supervised_phases(n: int, seed: int = 0) -> np.ndarray:
    """The phases of the supervised LSTM's ``n`` targets (one per seed, drawn from ``seed``,
    rounded to 3 decimals so that they print as they are stored).

    Example
    -------
    >>> supervised_phases(3).tolist()
    [4.002, 1.695, 0.257]
    """
    check_int("supervised_phases", "n", n, 1)
    return np.random.default_rng(seed).uniform(0, 2 * np.pi, n).round(3)


def configs(quick: bool = True, seed: int = 0) -> dict[str, list[RunConfig]]:
    """Every run of the chapter, by learner: ``"supervised LSTM"``, ``"LSTM meta-learner"``,
    ``"quantised meta-learner"``, ``"Micro-Badger (M = 11)"`` and ``"Micro-Badger (M = 41)"``
    (the numbers are ``m_badger`` and ``m`` of :func:`sizes`). Seeds start at ``seed``; the
    supervised LSTM's target phases are :func:`supervised_phases` of ``seed``.

    Example
    -------
    >>> groups = configs(quick=False)
    >>> [len(cfgs) for cfgs in groups.values()], groups["quantised meta-learner"][0].lr
    ([10, 10, 10, 10, 3], 0.01)
    >>> round(groups["supervised LSTM"][1].task.phase, 3), groups["Micro-Badger (M = 41)"][2].seed
    (1.695, 2)
    """
    size = sizes(quick)
    seed = check_int("configs", "seed", seed, 0)
    sine = SineSumGame(m=size.m, frequencies=size.frequencies)
    supervised = [
        RunConfig(task=replace(sine, phase=float(phi)), model=SupervisedLSTMConfig(hidden=size.sup_hidden),
                  inner_steps=1, iterations=size.sup_iterations, batch=1, lr=size.sup_lr, seed=seed + s,
                  probe_batch=1, snapshot_count=size.sup_snapshots)
        for s, phi in enumerate(supervised_phases(size.sup_seeds, seed))]
    meta = RunConfig(task=sine, model=LSTMMetaLearnerConfig(hidden=size.meta_hidden), inner_steps=size.meta_steps,
                     iterations=size.meta_iterations, batch=size.meta_batch, lr=size.meta_lr,
                     probe_batch=size.probe, snapshot_count=size.meta_snapshots)
    quantised = RunConfig(task=sine, model=LSTMMetaLearnerConfig(hidden=size.meta_hidden, quantise_bins=size.quant_bins),
                          inner_steps=size.quant_steps, iterations=size.quant_iterations, batch=size.quant_batch,
                          lr=size.quant_lr, probe_batch=size.probe, snapshot_count=size.quant_snapshots)
    badger = RunConfig(task=replace(sine, m=size.m_badger),
                       model=MicroBadgerConfig(experts=size.mb_experts, hidden=size.mb_hidden, links=size.mb_links),
                       inner_steps=size.mb_steps, iterations=size.mb_iterations, batch=size.mb_batch, lr=size.mb_lr,
                       probe_batch=size.probe, snapshot_count=size.mb_snapshots)
    return {
        "supervised LSTM": supervised,
        "LSTM meta-learner": seeds(meta, size.seeds, start=seed),
        "quantised meta-learner": seeds(quantised, size.seeds, start=seed),
        f"Micro-Badger (M = {size.m_badger})": seeds(badger, size.seeds, start=seed),
        f"Micro-Badger (M = {size.m})": seeds(badger.replace(task=sine, iterations=size.mb41_iterations),
                                              size.mb41_seeds, start=seed),
    }


def supervised_phase_sets(n: int, k: int, seed: int = 0) -> np.ndarray:
    """``(n, k)`` phases, one per frequency, of the supervised LSTM's ``n`` targets in the
    ``"per_frequency"`` phase mode (drawn from ``seed``, rounded to 3 decimals; a stream of
    its own, so that the other modes keep :func:`supervised_phases`).

    Example
    -------
    >>> supervised_phase_sets(2, 3).shape, float(supervised_phase_sets(2, 3).max()) < 2 * np.pi
    ((2, 3), True)
    """
    check_int("supervised_phase_sets", "n", n, 1)
    check_int("supervised_phase_sets", "k", k, 1)
    return np.random.default_rng([seed, 1]).uniform(0, 2 * np.pi, (n, k)).round(3)


def phase_mode_configs(quick: bool = True, seed: int = 0) -> dict[str, dict[str, list[RunConfig]]]:
    """The phase-mode experiment (issue 17): every learner that runs at M = 41 (the
    supervised LSTM, the two LSTM meta-learners and Micro-Badger at M = 41) on the task in
    each :data:`~badgerlib.tasks.PHASE_MODES`, at frequencies :data:`PHASE_FREQUENCIES`, with
    the same sizes, learning rates and iterations as in :func:`configs` (the budget that
    learns the shared phase) and ``phase_seeds`` seeds (:class:`Sizes`; learners with 0 seeds
    are left out). Mode -> learner -> runs. The supervised LSTM's targets have the phases
    :func:`supervised_phases` (one phase, or one x-shift) or, per frequency,
    :func:`supervised_phase_sets`.

    Example
    -------
    >>> grid = phase_mode_configs(quick=True)
    >>> {mode: [len(runs) for runs in learners.values()] for mode, learners in grid.items()}
    {'shared': [3, 1, 1], 'shift': [3, 1, 1], 'per_frequency': [3, 1, 1]}
    >>> t = grid["per_frequency"]["supervised LSTM"][0].task
    >>> t.frequencies, t.phase_mode, len(t.phase)
    ((1, 2, 3, 4, 5, 6, 7, 8), 'per_frequency', 8)
    """
    from badgerlib.tasks import PHASE_MODES

    size = sizes(quick)
    base = configs(quick, seed)
    counts = dict(size.phase_seeds)
    if counts["supervised LSTM"] > size.sup_seeds:
        raise ValueError(f"Sizes.phase_seeds: {counts['supervised LSTM']} supervised targets; at most "
                         f"sup_seeds = {size.sup_seeds} are allowed")
    out: dict[str, dict[str, list[RunConfig]]] = {}
    for mode in PHASE_MODES:
        out[mode] = {}
        for name, n in counts.items():
            if n == 0:
                continue
            if name == "supervised LSTM":       # its first n targets of configs(), or per frequency
                sets = supervised_phase_sets(n, len(PHASE_FREQUENCIES), seed)
                out[mode][name] = [
                    cfg.replace(task=replace(cfg.task, frequencies=PHASE_FREQUENCIES, phase_mode=mode,
                                             phase=tuple(sets[s].tolist()) if mode == "per_frequency"
                                             else cfg.task.phase))
                    for s, cfg in enumerate(base[name][:n])]
            else:
                task = replace(base[name][0].task, frequencies=PHASE_FREQUENCIES, phase_mode=mode)
                out[mode][name] = seeds(base[name][0].replace(task=task), n, start=seed)
    return out


def all_configs(quick: bool = True, seed: int = 0) -> dict[str, list[RunConfig]]:
    """Every run the chapter reads, by group, for ``python -m badgerlib precompute
    f_principle``: :func:`configs` and each (mode, learner) of :func:`phase_mode_configs` as
    ``"<mode> phase: <learner>"``.

    Example
    -------
    >>> groups = all_configs(quick=True)
    >>> len(groups), sum(map(len, groups.values())), list(groups)[5]
    (14, 27, 'shared phase: supervised LSTM')
    """
    out = dict(configs(quick, seed))
    for mode, learners in phase_mode_configs(quick, seed).items():
        out.update({f"{mode} phase: {name}": runs for name, runs in learners.items()})
    return out


# ---------------------------------------------------------------------------------------------
# One run: when is each frequency learned, and in which order
# ---------------------------------------------------------------------------------------------

@dataclass
class RunSpectrum:
    """Everything the F-principle chapter measures on one run.

    frequencies (F,); iterations (K,) of the snapshots; by_iteration (K, F): c_k of the last
    guess over training; by_step (S+1, F): c_k over the inner loop of the trained model;
    crossings (F,): first iteration at the threshold (``inf``: never); rank: the rank
    correlation of frequency with crossing; spread: :func:`crossing_spread`; final (F,): c_k
    of the trained model's last guess; final_error (F,): its :func:`frequency_error`;
    converged (K,): :func:`converged_steps` at each snapshot; probe_loss (K,): feedback averaged
    over the inner steps and probe tasks at each snapshot; total_iterations: length of training;
    last_loss (K,): feedback of the followed guess (``step``), averaged over probe tasks;
    step_crossings (F,), step_rank, step_spread: the same order measured over the inner loop
    of the trained model (the first inner step at which each frequency reaches the threshold
    of its level at the last step, its rank correlation with frequency, and its spread as a
    fraction of the inner steps).
    """

    frequencies: np.ndarray
    iterations: np.ndarray
    by_iteration: np.ndarray
    by_step: np.ndarray
    crossings: np.ndarray
    rank: RankTest
    spread: float
    final: np.ndarray
    final_error: np.ndarray
    converged: np.ndarray
    probe_loss: np.ndarray
    total_iterations: int
    threshold: float = 0.5
    relative: bool = True
    last_loss: np.ndarray | None = None
    step_crossings: np.ndarray | None = None
    step_rank: RankTest | None = None
    step_spread: float = float("nan")


def analyse_run(snapshots: Mapping, frequencies=None, threshold: float = 0.5, relative: bool = True,
                step: int = -1, tol: float = 1e-3) -> RunSpectrum:
    """All F-principle measurements of one run from its snapshots (``run.snapshots``).

    ``threshold``/``relative``: see :func:`crossing_iterations`; ``step``: which inner step's
    guess is followed over training (the last by default); ``tol``: see :func:`converged_steps`.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib.analysis.spectral import sine_sum_target
    >>> y = sine_sum_target([1, 2, 3], m=11, phase=np.array([0.2]))           # one probe task
    >>> x = 2 * np.pi * np.arange(11) / 11
    >>> learned = [np.clip(np.array([0, 3, 6, 9]) / (3 * k), 0, 1) for k in (1, 2, 3)]  # slower for higher k
    >>> g = sum(a[:, None] * np.sin(k * x + 0.2) for a, k in zip(learned, (1, 2, 3)))
    >>> snaps = {"iterations": np.array([0, 3, 6, 9]), "targets": y,
    ...          "guesses": np.stack([np.zeros_like(g), g], axis=1)[:, None],  # (K, P, S+1, M)
    ...          "feedback": np.ones((4, 1, 2))}
    >>> r = analyse_run(snaps)
    >>> r.crossings.tolist(), r.rank.rho
    ([3.0, 3.0, 6.0], 0.866025403784)
    """
    guesses, targets = snapshot_arrays(snapshots, "analyse_run")
    ks = target_frequencies(targets, frequencies)
    its = np.asarray(snapshots["iterations"]) if "iterations" in snapshots else np.arange(guesses.shape[0])
    by_it = convergence_by_iteration(snapshots, ks, step)
    by_step = convergence_by_step(snapshots, ks, -1)
    total = int(its[-1]) if len(its) else 0
    final_err = frequency_error(guesses[-1, :, step, :], targets, ks).mean(axis=0)
    if "feedback" in snapshots:
        fb = np.asarray(snapshots["feedback"], dtype=np.float64)
        probe_loss = fb[..., 1:].mean(axis=(-2, -1))
        last_loss = fb[..., step].mean(axis=-1)
    else:
        probe_loss = last_loss = np.full(len(its), np.nan)
    return RunSpectrum(frequencies=ks, iterations=its, by_iteration=by_it, by_step=by_step,
                       **_order(ks, its, by_it, total, threshold, relative, by_step), final=by_it[-1],
                       final_error=final_err,
                       converged=converged_steps(guesses, targets, tol), probe_loss=probe_loss,
                       total_iterations=total, threshold=threshold, relative=relative, last_loss=last_loss)


def _order(ks, iterations, by_iteration, total: int, threshold: float, relative: bool, by_step=None) -> dict:
    """The fields of a :class:`RunSpectrum` that depend on the threshold: the order over
    training and, given ``by_step``, over the inner loop."""
    cross = crossing_iterations(iterations, by_iteration, threshold, relative)
    out = dict(crossings=cross, rank=rank_correlation(ks, cross), spread=crossing_spread(cross, max(total, 1)))
    if by_step is not None and len(by_step) > 2:      # at least two inner steps
        steps = np.arange(len(by_step))
        step_cross = crossing_iterations(steps, by_step, threshold, relative)
        out.update(step_crossings=step_cross, step_rank=rank_correlation(ks, step_cross),
                   step_spread=crossing_spread(step_cross, len(by_step) - 1))
    return out


def at_threshold(run: RunSpectrum, threshold: float) -> RunSpectrum:
    """The same run measured with another ``threshold``: its crossings, rank correlation and
    spread recomputed from its convergence map (nothing is read from the snapshots again).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.6, 0.2], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.array([0, 5, 10]), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0,
    ...                 c[-1], np.zeros(2), np.zeros(3), np.zeros(3), 10)
    >>> at_threshold(r, 0.5).crossings.tolist(), at_threshold(r, 0.9).crossings.tolist()
    ([5.0, 10.0], [10.0, 10.0])
    >>> at_threshold(r, 0.5).rank.rho, at_threshold(r, 0.5).spread
    (1.0, 0.5)
    """
    return replace(run, **_order(run.frequencies, run.iterations, run.by_iteration, run.total_iterations,
                                 threshold, run.relative, run.by_step), threshold=threshold)


def analyse_runs(runs: Iterable, frequencies=None, threshold: float = 0.5, relative: bool = True) -> list[RunSpectrum]:
    """:func:`analyse_run` of each run (anything with a ``snapshots`` mapping, such as a
    :class:`~badgerlib.Run`); the snapshots each run read are released after it is measured,
    so that a full-mode learner's films are never all in memory at once. (Reads stored runs:
    examples in ``tests/test_chapter_f_principle.py``.)"""
    out = []
    for run in runs:
        out.append(analyse_run(run.snapshots, frequencies, threshold=threshold, relative=relative))
        if hasattr(run.snapshots, "release"):
            run.snapshots.release()
    return out


# ---------------------------------------------------------------------------------------------
# One learner: its seeds pooled
# ---------------------------------------------------------------------------------------------

@dataclass
class LearnerSummary:
    """One learner over its seeds.

    test: :func:`pooled_rank_test` of frequency against crossing iteration; order: whether the
    seeds agree on an order (:func:`concordance`); spread, spread_sd: mean and sd over seeds of
    :func:`crossing_spread`; error_test: :func:`pooled_rank_test` of frequency against the
    trained model's relative error per frequency (positive: low frequencies end with a smaller
    error); even_minus_odd, even_minus_odd_sd: mean and sd of (mean final c_k of even
    k) - (odd k); converged_loss: per seed, the rank correlation over snapshots between
    converged inner steps and probe loss, tested for ``"less"`` (negative: more converged steps
    as the loss falls; ``None`` for a seed whose count never changes); converged_loss_rho: the
    mean of their rho; final: mean final c_k per frequency over seeds; crossed: fraction of
    (seed, frequency) pairs that reached the threshold.
    step_test, step_spread: the order over the inner loop of the trained models
    (:attr:`RunSpectrum.step_crossings` pooled like ``test``; ``None`` when a run has fewer
    than two inner steps) and the mean of their ``step_spread``.
    """

    test: PooledRankTest
    order: Concordance
    spread: float
    spread_sd: float
    error_test: PooledRankTest
    even_minus_odd: float
    even_minus_odd_sd: float
    converged_loss: list
    converged_loss_rho: float
    final: np.ndarray
    crossed: float
    runs: list = field(default_factory=list, repr=False)
    step_test: PooledRankTest | None = None
    step_spread: float = float("nan")

    def converged_loss_significant(self, alpha: float = 0.05) -> int:
        """How many seeds have a significant ``converged_loss`` test (p < ``alpha``)."""
        return sum(t is not None and t.p_value < alpha for t in self.converged_loss)


def summarise(runs: Sequence[RunSpectrum], alternative: str = "greater") -> LearnerSummary:
    """Pool the :class:`RunSpectrum` of one learner's seeds into a :class:`LearnerSummary`.

    Example
    -------
    >>> import numpy as np
    >>> def fake(cross):
    ...     ks = np.array([1, 2, 3])
    ...     return RunSpectrum(ks, np.arange(4), np.zeros((4, 3)), np.zeros((2, 3)), np.array(cross, float),
    ...                        rank_correlation(ks, cross), crossing_spread(cross, 3), np.ones(3),
    ...                        np.zeros(3), np.zeros(4), np.zeros(4), 3)
    >>> s = summarise([fake([1, 2, 3]), fake([1, 3, 2])])
    >>> round(s.test.mean, 3), round(s.spread, 3), s.converged_loss_significant()
    (0.75, 0.667, 0)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("summarise: runs is empty; pass one RunSpectrum per seed")
    ks = runs[0].frequencies
    test = pooled_rank_test(ks, [r.crossings for r in runs], alternative)
    order = concordance([r.crossings for r in runs]) if len(runs) > 1 else Concordance(float("nan"), 1.0)
    spread = mean_sd(r.spread for r in runs)
    error_test = pooled_rank_test(ks, [r.final_error for r in runs], alternative)
    even, odd = ks % 2 == 0, ks % 2 == 1
    gap = mean_sd((r.final[even].mean() - r.final[odd].mean()) if even.any() and odd.any() else np.nan
                   for r in runs)
    conv_tests = [rank_correlation(r.converged, r.probe_loss, "less")
                  if np.ptp(r.converged) > 0 and np.all(np.isfinite(r.probe_loss)) else None for r in runs]
    conv = mean_sd(t.rho if t is not None else np.nan for t in conv_tests)
    crossed = float(np.mean([np.isfinite(r.crossings).mean() for r in runs]))
    inner = all(r.step_crossings is not None for r in runs)
    step_test = pooled_rank_test(ks, [r.step_crossings for r in runs], alternative) if inner else None
    step_spread = float(np.nanmean([r.step_spread for r in runs])) if inner and any(
        np.isfinite(r.step_spread) for r in runs) else float("nan")
    return LearnerSummary(test=test, order=order, spread=spread[0], spread_sd=spread[1],
                          error_test=error_test, even_minus_odd=gap[0], even_minus_odd_sd=gap[1],
                          converged_loss=conv_tests, converged_loss_rho=conv[0], final=np.mean([r.final for r in runs], axis=0),
                          crossed=crossed, runs=runs, step_test=step_test, step_spread=step_spread)


def summary_table(summaries: Mapping[str, LearnerSummary]):
    """One row per learner: the pooled F-principle test and the side measurements, as a pandas
    DataFrame (numbers rounded for display).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> summary_table({"toy": summarise([r, r])}).loc["toy", "seeds"]
    np.int64(2)
    """
    import pandas as pd

    rows = {}
    for name, s in summaries.items():
        rows[name] = {
            "seeds": s.test.n_seeds,
            "rho mean": s.test.mean,
            "rho sd": s.test.sd,
            "p (low first)": s.test.p_value,
            "Kendall W": s.order.w,
            "p (W)": s.order.p_value,
            "crossed": s.crossed,
            "spread": s.spread,
            "final c (mean)": float(np.mean(s.final)),
            "rho(k, final error)": s.error_test.mean,
            "p (error)": s.error_test.p_value,
            "even - odd c": s.even_minus_odd,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["seeds"] = table["seeds"].astype(np.int64)
    table = table.round(3)
    for column in ("p (low first)", "p (W)", "p (error)"):
        table[column] = [float(f"{p:.2g}") for p in (rows[name][column] for name in rows)]
    return table


def representative(runs: Sequence[RunSpectrum], by: str = "rank") -> int:
    """Index of the run to show for a learner: ``by="rank"`` the run with the median rank
    correlation (the lower median for an even count; on ties the best-trained), so a figure
    shows a typical seed rather than the best; ``by="final"`` the best-trained run (highest
    final convergence averaged over frequencies).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> def fake(cross, final):
    ...     return RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array(cross, float),
    ...                        rank_correlation(ks, cross), 0.0, np.full(3, final), np.zeros(3),
    ...                        np.zeros(2), np.zeros(2), 1)
    >>> runs = [fake([1, 2, 3], 0.2), fake([3, 2, 1], 0.9), fake([1, 3, 2], 0.5)]
    >>> representative(runs), representative(runs, by="final")
    (2, 1)
    """
    runs = list(runs)
    if not runs:
        raise ValueError("representative: runs is empty")
    if by == "rank":
        rhos = np.array([r.rank.rho for r in runs])
        target = np.sort(rhos)[(len(rhos) - 1) // 2]
        tied = np.flatnonzero(rhos == target)
        return int(tied[np.argmax([np.mean(runs[i].final) for i in tied])])
    if by == "final":
        return int(np.argmax([np.mean(r.final) for r in runs]))
    raise ValueError(f"representative: by = {by!r}; allowed are 'rank', 'final'")


def plateau(run: RunSpectrum, lo: float = 0.3, hi: float = 0.7) -> tuple[int, float, float]:
    """The intermediate plateau of a run: how many snapshots have a mean convergence (over
    frequencies) in ``[lo, hi]``, and the median convergence and median feedback of the followed
    guess over those snapshots (``nan`` when there are none).

    A learner that knows only the projection of the target on one direction sits at c = 1/2
    and feedback 1/2 (see the chapter on the F-principle).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.5, 0.5], [0.48, 0.52], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.arange(4), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0, c[-1],
    ...                 np.zeros(2), np.zeros(4), np.zeros(4), 3, last_loss=np.array([1.0, 0.5, 0.52, 0.0]))
    >>> plateau(r)
    (2, 0.5, 0.51)
    """
    mean_c = run.by_iteration.mean(axis=1)
    on = (mean_c >= lo) & (mean_c <= hi)
    if not on.any():
        return 0, float("nan"), float("nan")
    loss = run.last_loss if run.last_loss is not None else np.full(len(mean_c), np.nan)
    return int(on.sum()), round(float(np.median(mean_c[on])), 12), round(float(np.median(loss[on])), 12)


def mirror_plateau(runs: Iterable[RunSpectrum], lo: float = 0.3, hi: float = 0.7) -> tuple[list, float, float]:
    """The intermediate plateau pooled over runs: the :func:`plateau` of every run that has one
    (at least one snapshot in ``[lo, hi]``), and the medians over those runs of their median
    convergence and median feedback (``nan`` when no run has a plateau). The mirror argument
    of the chapter predicts 1/2 for both.

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> def fake(c_mid, loss_mid):
    ...     c = np.array([[0.0, 0.0], [c_mid, c_mid], [1.0, 1.0]])
    ...     return RunSpectrum(ks, np.arange(3), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0, c[-1],
    ...                        np.zeros(2), np.zeros(3), np.zeros(3), 2, last_loss=np.array([1.0, loss_mid, 0.0]))
    >>> runs, c, feedback = mirror_plateau([fake(0.45, 0.5), fake(0.9, 0.1), fake(0.55, 0.6)])
    >>> len(runs), round(c, 3), round(feedback, 3)
    (2, 0.5, 0.55)
    """
    found = [p for p in (plateau(r, lo, hi) for r in runs) if p[0] > 0]
    if not found:
        return found, float("nan"), float("nan")
    return found, float(np.median([p[1] for p in found])), float(np.median([p[2] for p in found]))


# ---------------------------------------------------------------------------------------------
# Tables and the numbers the text cites
# ---------------------------------------------------------------------------------------------

def threshold_sensitivity(analyses: Mapping[str, Sequence[RunSpectrum]],
                          thresholds: Sequence[float] = (0.5, 0.8, 0.9)) -> pd.DataFrame:
    """One row per learner: the mean rank correlation (``rho @ t``) and the mean spread
    (``spread @ t``) over its seeds when a frequency counts as learned at ``t`` of the run's
    final level, for each threshold ``t`` (:func:`at_threshold`; not rounded).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.6, 0.2], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.array([0, 5, 10]), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0,
    ...                 c[-1], np.zeros(2), np.zeros(3), np.zeros(3), 10)
    >>> threshold_sensitivity({"toy": [r, r]}, thresholds=(0.5, 0.9)).loc["toy"].tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    rows: dict[str, dict[str, float]] = {name: {} for name in analyses}
    for t in thresholds:
        t = check_float("threshold_sensitivity", "threshold", t, 0.0, np.inf, lo_open=True)
        for name, runs in analyses.items():
            s = summarise([at_threshold(r, t) for r in runs])
            rows[name][f"rho @ {t:.1f}"] = s.test.mean
            rows[name][f"spread @ {t:.1f}"] = s.spread
    return pd.DataFrame.from_dict(rows, orient="index")


def inner_loop_table(analyses: Mapping[str, Sequence[RunSpectrum]], inner_steps: Mapping[str, int]) -> pd.DataFrame:
    """One row per learner: how many of the last inner steps of the trained model (last
    snapshot) leave the guess unchanged (:func:`~badgerlib.analysis.dynamics.converged_steps`),
    as ``converged`` (mean over seeds), ``steps`` (``inner_steps[name]``), ``converged %``
    (the mean as a percentage of the steps) and ``min %``, ``max %`` (over seeds).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1])
    >>> def fake(converged):
    ...     return RunSpectrum(ks, np.arange(2), np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(1),
    ...                        rank_correlation([1, 2], [0, 0]), 0.0, np.zeros(1), np.zeros(1),
    ...                        np.array([0.0, converged]), np.zeros(2), 1)
    >>> inner_loop_table({"toy": [fake(30), fake(10)]}, {"toy": 40}).loc["toy"].tolist()
    [20.0, 40.0, 50.0, 25.0, 75.0]
    """
    rows = {}
    for name, runs in analyses.items():
        steps = check_int("inner_loop_table", f"inner_steps[{name!r}]", inner_steps[name], 1)
        final = [r.converged[-1] for r in runs]
        fraction = [c / steps for c in final]
        mean = float(np.mean(final))
        rows[name] = {"converged": mean, "steps": steps, "converged %": 100 * mean / steps,
                      "min %": 100 * float(min(fraction)), "max %": 100 * float(max(fraction))}
    return pd.DataFrame.from_dict(rows, orient="index")


def plus_minus(x: float, sd: float, digits: int = 2) -> str:
    """``x`` with its sign and ``± sd`` (only ``x`` when ``sd`` is not finite, as for one seed).

    Example
    -------
    >>> plus_minus(0.4567, 0.1), plus_minus(-0.25, float("nan")), plus_minus(0.01, 0.002, 3)
    ('+0.46 ± 0.10', '-0.25', '+0.010 ± 0.002')
    """
    return f"{x:+.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) else f"{x:+.{digits}f}"


def setup_numbers(size: Sizes) -> dict:
    """The sizes the setup section cites, by glue name (``m``, ``seeds``, ``meta_lr``, ...).

    Example
    -------
    >>> numbers = setup_numbers(QUICK)
    >>> numbers["frequencies"], numbers["threshold_pc"], numbers["quant_iterations"]
    ('1, 2, 3, 4, 5', '90', 800)
    """
    s = size
    return dict(
        frequencies=", ".join(map(str, s.frequencies)), m=s.m, m_badger=s.m_badger, probe=s.probe,
        threshold=s.threshold, threshold_pc=f"{100 * s.threshold:.0f}", seeds=s.seeds, sup_seeds=s.sup_seeds,
        sup_hidden=s.sup_hidden, sup_lr=s.sup_lr, sup_iterations=s.sup_iterations, meta_hidden=s.meta_hidden,
        meta_steps=s.meta_steps, meta_batch=s.meta_batch, meta_lr=s.meta_lr, meta_iterations=s.meta_iterations,
        quant_bins=s.quant_bins, quant_steps=s.quant_steps, quant_batch=s.quant_batch, quant_lr=s.quant_lr,
        quant_iterations=s.quant_iterations, mb_experts=s.mb_experts, mb_hidden=s.mb_hidden, mb_links=s.mb_links,
        mb_steps=s.mb_steps, mb_batch=s.mb_batch, mb_lr=s.mb_lr, mb_iterations=s.mb_iterations,
        mb41_seeds=s.mb41_seeds, mb41_iterations=s.mb41_iterations,
        at_once_learned=f"{100 * AT_ONCE_LEARNED:.0f}", at_once_spread=f"{100 * AT_ONCE_SPREAD:.0f}",
        pm_scope=phase_mode_scope(s))


def verdict(supervised: LearnerSummary, meta: LearnerSummary, size: Sizes, quick: bool,
            at_once_elsewhere: bool | None = None) -> dict[str, str]:
    """The chapter's verdict in one sentence and the scale it was measured at, the two cells of
    its row in the landing page's findings table (glue names ``verdict`` and ``scale``).
    ``at_once_elsewhere``: whether the LSTM meta-learner also learned all frequencies at once
    with a shift or a phase per frequency (:func:`learns_at_once`; None: not measured).

    Example
    -------
    >>> from types import SimpleNamespace
    >>> sup = SimpleNamespace(test=SimpleNamespace(mean=0.81))
    >>> v = verdict(sup, SimpleNamespace(spread=0.012), QUICK, quick=True, at_once_elsewhere=False)
    >>> v["verdict"][:60], v["scale"]
    ('Partly. The supervised LSTM learns low frequencies first (rh', 'quick mode: M = 41 (Micro-Badger also at 11), 2 seeds per learner')
    >>> v["verdict"][-80:]
    'not on the two other readings of the lost task (a shift, a phase per frequency).'
    """
    text = (f"Partly. The supervised LSTM learns low frequencies first (rho {supervised.test.mean:+.2f}); "
            "the meta-learners and Micro-Badger do not, as the study says, but they learn all "
            f"frequencies at once (spread {100 * meta.spread:.1f} % of training) rather than in a "
            f"random order, and Micro-Badger trains at M = {size.m}, where the study could not.")
    if at_once_elsewhere is False:
        text += (" The meta-learner's all at once holds with one phase shared by all frequencies, "
                 "not on the two other readings of the lost task (a shift, a phase per frequency).")
    elif at_once_elsewhere:
        text += " It holds on the two other readings of the lost task too (a shift, a phase per frequency)."
    return {"verdict": text,
            "scale": f"{'quick' if quick else 'full'} mode: M = {size.m} (Micro-Badger also at "
                     f"{size.m_badger}), {size.seeds} seeds per learner"}


def inner_loop_numbers(loop: pd.DataFrame, keys: Mapping[str, str]) -> dict[str, str]:
    """What the text cites of :func:`inner_loop_table`: ``<key>_converged`` and
    ``<key>_converged_pc`` for each learner (``keys``: learner -> short name), and the
    range over seeds of every learner as ``<key>_converged_min`` / ``_max`` (percent); a
    learner not in ``loop`` (the supervised LSTM, one inner step) is skipped.

    Example
    -------
    >>> import pandas as pd
    >>> loop = pd.DataFrame({"converged": [20.0], "steps": [40], "converged %": [50.0], "min %": [25.0],
    ...                      "max %": [75.0]}, index=["toy"])
    >>> inner_loop_numbers(loop, {"toy": "t"})
    {'t_converged': '20', 't_converged_pc': '50', 't_converged_min': '25', 't_converged_max': '75'}
    """
    out = {}
    for name, key in keys.items():
        if name not in loop.index:
            continue
        row = loop.loc[name]
        out.update({f"{key}_converged": f"{row['converged']:.0f}", f"{key}_converged_pc": f"{row['converged %']:.0f}",
                    f"{key}_converged_min": f"{row['min %']:.0f}", f"{key}_converged_max": f"{row['max %']:.0f}"})
    return out


def text_numbers(summaries: Mapping[str, LearnerSummary], keys: Mapping[str, str], sensitivity: pd.DataFrame,
                 size: Sizes) -> dict[str, str]:
    """What the results text cites of the main experiment: every learner's
    :func:`learner_numbers` as ``<key>_<field>`` (``keys``: learner -> short name, in the
    order supervised LSTM, LSTM meta-learner, quantised meta-learner, Micro-Badger), and
    ``sup_positive`` (seeds with rho > 0), ``quant_conv_loss``, ``quant_conv_sig`` (the
    quantised learner's converged steps against its loss) and ``mb_spread_05`` (Micro-Badger's
    spread at the 50 % threshold of :func:`threshold_sensitivity`, percent).

    (Reads the chapter's summaries; the notebook is its example, and
    ``tests/test_chapter_f_principle.py`` checks it.)
    """
    sup, _, quant, mb = list(keys)
    out = {f"{key}_{field}": value for name, key in keys.items()
           for field, value in learner_numbers(summaries[name]).items()}
    out["sup_positive"] = f"{int(np.sum(summaries[sup].test.rhos > 0))} of {summaries[sup].test.n_seeds}"
    out["quant_conv_loss"] = f"{summaries[quant].converged_loss_rho:+.2f}"
    out["quant_conv_sig"] = f"{summaries[quant].converged_loss_significant()} of {size.seeds}"
    out["mb_spread_05"] = f"{100 * sensitivity.loc[mb, 'spread @ 0.5']:.0f}"
    return out


def cost_numbers(runs: Mapping[str, Sequence], seed: int = 0, workers: int = 2) -> dict[str, str]:
    """What the "At full scale" section cites: ``full_minutes`` (:func:`full_mode_seconds` from
    the speeds of ``runs``, :func:`learner_speeds`) and ``full_outcome``
    (:func:`full_mode_text` of :func:`full_mode_summary`, which only loads). (Reads stored
    runs: the notebook is its example.)"""
    seconds = full_mode_seconds(learner_speeds(runs), seed=seed, workers=workers)
    return {"full_minutes": f"{seconds / 60:.0f}", "full_outcome": full_mode_text(full_mode_summary(seed=seed))}


def learner_numbers(summary: LearnerSummary) -> dict[str, str]:
    """The numbers the text cites for one learner, formatted: ``rho`` (mean ± sd), ``p``,
    ``spread`` (% of training), ``w``, ``w_p`` (Kendall's W and its p), ``final`` (mean final
    c), ``err_rho``, ``err_p`` (frequency against final error), ``evenodd`` (even - odd c) and
    ``crossed`` (% of frequencies learned).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> numbers = learner_numbers(summarise([r, r]))
    >>> numbers["rho"], numbers["spread"], numbers["w"], numbers["crossed"]
    ('+1.00 ± 0.00', '50', '1.00', '100')
    """
    s = summary
    return {
        "rho": plus_minus(s.test.mean, s.test.sd), "p": f"{s.test.p_value:.2g}", "spread": f"{100 * s.spread:.0f}",
        "w": "undefined (all tied)" if np.isnan(s.order.w) else f"{s.order.w:.2f}", "w_p": f"{s.order.p_value:.2g}",
        "final": f"{np.mean(s.final):.2f}", "err_rho": plus_minus(s.error_test.mean, s.error_test.sd),
        "err_p": f"{s.error_test.p_value:.2g}", "evenodd": plus_minus(s.even_minus_odd, s.even_minus_odd_sd, 3),
        "crossed": f"{100 * s.crossed:.0f}",
    }


def full_scale_numbers() -> dict:
    """What the "At full scale" section cites of :data:`FULL`, by glue name: seeds and
    iterations per learner (thousands separated by a space).

    Example
    -------
    >>> full_scale_numbers()["full_quant"], full_scale_numbers()["mb41_full_seeds"]
    ('8 000', 3)
    """
    iterations = {"sup": FULL.sup_iterations, "meta": FULL.meta_iterations, "quant": FULL.quant_iterations,
                  "mb": FULL.mb_iterations, "mb41": FULL.mb41_iterations}
    out = {"full_seeds": FULL.seeds, "mb41_full_seeds": FULL.mb41_seeds}
    out.update({f"full_{key}": f"{value:,}".replace(",", " ") for key, value in iterations.items()})
    return out


def crossing_table(analyses: Mapping[str, Sequence[RunSpectrum]], first_seed: int = 0,
                   phases: Mapping[str, Sequence[float]] | None = None) -> pd.DataFrame:
    """One row per run, formatted for the book: learner, seed, the target's phase (for the
    learners in ``phases``, else "-"), the iteration at which each frequency is learned
    ("never" when it does not reach the threshold), and the run's rank correlation with its
    exact p-value. Seeds are numbered from ``first_seed``.

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 2)), np.zeros((2, 2)), np.array([5.0, np.inf]),
    ...                 rank_correlation(ks, [5.0, np.inf]), 0.0, np.zeros(2), np.zeros(2), np.zeros(2),
    ...                 np.zeros(2), 1)
    >>> crossing_table({"toy": [r]}, first_seed=3, phases={"toy": [1.234]}).to_dict("records")
    [{'learner': 'toy', 'seed': 3, 'phase φ': '1.23', 'k = 1': '5', 'k = 2': 'never', 'ρ': '+1.00', 'p': '0.5'}]
    """
    phases = phases or {}
    rows = []
    for name, runs in analyses.items():
        for s, run in enumerate(runs):
            row = {"learner": name, "seed": first_seed + s,
                   "phase φ": f"{phases[name][s]:.2f}" if name in phases else "-"}
            row.update({f"k = {k}": "never" if not np.isfinite(c) else f"{c:.0f}"
                        for k, c in zip(run.frequencies, run.crossings)})
            row.update({"ρ": f"{run.rank.rho:+.2f}", "p": f"{run.rank.p_value:.2g}"})
            rows.append(row)
    return pd.DataFrame(rows)


def summary_display(summaries: Mapping[str, LearnerSummary]) -> pd.DataFrame:
    """:func:`summary_table` as the book shows it: one row per learner, the numbers formatted
    by :func:`learner_numbers` (percentages for ``learned %`` and ``spread %``), and "-" for
    Kendall's W and its p-value where every seed learned all frequencies at once (no order).

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> row = summary_display({"toy": summarise([r, r])}).iloc[0]
    >>> row["ρ (mean ± sd)"], row["spread %"], row["W"], row["even − odd c"]
    ('+1.00 ± 0.00', '50', '1.00', '+0.000 ± 0.000')
    """
    columns = {"rho": "ρ (mean ± sd)", "p": "p (low first)", "w": "W", "w_p": "p (W)",
               "crossed": "learned %", "spread": "spread %", "final": "final c",
               "err_rho": "ρ (k, error)", "err_p": "p (error)", "evenodd": "even − odd c"}
    rows = []
    for name, s in summaries.items():
        numbers = learner_numbers(s)
        if np.isnan(s.order.w):
            numbers["w"] = numbers["w_p"] = "-"
        rows.append({"learner": name, "seeds": s.test.n_seeds,
                     **{label: numbers[key] for key, label in columns.items()}})
    return pd.DataFrame(rows)


def threshold_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`threshold_sensitivity` as the book shows it: a ``learner`` column, each
    threshold's mean rank correlation as ``ρ at 50 %`` (signed, 2 decimals) and its mean
    spread as ``spread at 50 %`` (percent of training).

    Example
    -------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"rho @ 0.5": [0.25], "spread @ 0.5": [0.125]}, index=["toy"])
    >>> threshold_display(raw).iloc[0].tolist()
    ['toy', '+0.25', '12']
    """
    out = pd.DataFrame({"learner": list(table.index)})
    for column in table.columns:
        kind, threshold = column.split(" @ ")
        label = f"{'ρ' if kind == 'rho' else 'spread'} at {100 * float(threshold):.0f} %"
        values = table[column].to_numpy(dtype=float)
        out[label] = [f"{v:+.2f}" if kind == "rho" else f"{100 * v:.0f}" for v in values]
    return out


def column_formats(table: pd.DataFrame) -> tuple[str, ...]:
    """The ``floatfmt`` that makes :func:`badgerlib.plots.table` print a table of formatted
    strings as they are. Its Markdown writer (tabulate) reads a column whose cells all look
    like numbers as numbers and reprints them, so "+1.00" would become "1"; each such column
    gets the format its strings have: ``"+.2f"`` for signed cells with 2 decimals, ``".2f"``
    for unsigned ones, ``"g"`` when the decimals differ (as for p-values) and for text.

    Example
    -------
    >>> import pandas as pd
    >>> column_formats(pd.DataFrame({"name": ["a", "b"], "rho": ["+1.00", "-0.45"],
    ...                              "p": ["0.0083", "1"], "c": ["0.90", "1.00"]}))
    ('g', '+.2f', 'g', '.2f')
    """
    formats = []
    for column in table.columns:
        texts = [str(v) for v in table[column]]
        try:
            [float(t) for t in texts]
        except ValueError:
            formats.append("g")              # text: printed as it is
            continue
        decimals = {len(t.split(".")[1]) if "." in t and "e" not in t else -1 for t in texts}
        if len(decimals) != 1 or -1 in decimals:
            formats.append("g")
            continue
        sign = "+" if any(t.startswith("+") for t in texts) else ""
        formats.append(f"{sign}.{decimals.pop()}f")
    return tuple(formats)


@dataclass
class PhaseModeExperiment:
    """The phase-mode experiment measured (:func:`phase_mode_experiment`): ``configs``,
    ``analyses`` (:class:`RunSpectrum` per run) and ``summaries`` (:class:`LearnerSummary`),
    each mode -> learner -> ...; ``table`` (:func:`phase_mode_table`); ``seconds``, the wall
    time of its sweep; ``train_cpu``, training seconds summed over its runs."""

    configs: dict
    analyses: dict
    summaries: dict
    table: pd.DataFrame
    seconds: float
    train_cpu: float


def measure_groups(groups: Mapping[str, Sequence[RunConfig]], frequencies, threshold: float, device: str = "cpu",
                   runs_dir=None, progress: bool = True) -> tuple[dict, dict, float, float]:
    """Train (or load) every run of ``groups`` (name -> configs) in one sweep and measure each
    with :func:`analyse_runs` at ``threshold``. Returns ``(runs, analyses, seconds, train_cpu)``:
    the stored runs and their :class:`RunSpectrum` by name, the sweep's wall time and the
    training seconds summed over the runs. (Trains: the examples are in
    ``tests/test_chapter_f_principle.py``.)"""
    import time

    from badgerlib.sweep import load_runs, sweep

    start = time.perf_counter()
    sweep([cfg for group in groups.values() for cfg in group], runs_dir=runs_dir, device=device, progress=progress)
    seconds = time.perf_counter() - start
    runs = {name: load_runs(group, runs_dir) for name, group in groups.items()}
    analyses = {name: analyse_runs(group, frequencies, threshold=threshold) for name, group in runs.items()}
    return runs, analyses, seconds, float(sum(r.meta["seconds"] for group in runs.values() for r in group))


def phase_mode_experiment(quick: bool = True, seed: int = 0, device: str = "cpu", runs_dir=None,
                          progress: bool = True) -> PhaseModeExperiment:
    """Train (or load) every run of :func:`phase_mode_configs` in one sweep and measure them
    at the chapter's threshold (:func:`measure_groups`). (Trains: the examples are in
    ``tests/test_chapter_f_principle.py``.)"""
    grid = phase_mode_configs(quick, seed)
    flat = {(mode, name): cfgs for mode, learners in grid.items() for name, cfgs in learners.items()}
    _, measured, seconds, cpu = measure_groups(flat, PHASE_FREQUENCIES, sizes(quick).threshold, device, runs_dir,
                                               progress)
    analyses = {mode: {name: measured[(mode, name)] for name in learners} for mode, learners in grid.items()}
    summaries = {mode: {name: summarise(a) for name, a in learners.items()} for mode, learners in analyses.items()}
    return PhaseModeExperiment(configs=grid, analyses=analyses, summaries=summaries,
                               table=phase_mode_table(summaries), seconds=seconds, train_cpu=cpu)


#: What "all frequencies at once" means in the chapter's checks: at least this share of the
#: (seed, frequency) pairs learned, and first to last within this fraction of training.
AT_ONCE_LEARNED, AT_ONCE_SPREAD = 0.8, 0.05


def learns_at_once(summary: LearnerSummary, learned: float = AT_ONCE_LEARNED, spread: float = AT_ONCE_SPREAD) -> bool:
    """Whether a learner learned (nearly) every frequency, and all of them at once: its
    ``crossed`` share at least ``learned`` and its mean spread below ``spread`` (a learner
    that learns nothing does not learn "at once").

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> def fake(cross):
    ...     return RunSpectrum(ks, np.arange(2), np.zeros((2, 2)), np.zeros((2, 2)), np.array(cross, float),
    ...                        rank_correlation(ks, cross), crossing_spread(cross, 100), np.ones(2),
    ...                        np.zeros(2), np.zeros(2), np.zeros(2), 100)
    >>> learns_at_once(summarise([fake([50, 51])])), learns_at_once(summarise([fake([20, 80])]))
    (True, False)
    >>> learns_at_once(summarise([fake([np.inf, np.inf])]))                 # learned nothing
    False
    """
    return bool(summary.crossed >= learned and np.isfinite(summary.spread) and summary.spread < spread)


def phase_mode_table(summaries: Mapping[str, Mapping[str, LearnerSummary]]) -> pd.DataFrame:
    """The phase-mode experiment, one row per (mode, learner) of ``summaries`` (mode ->
    learner -> :class:`LearnerSummary`): ``seeds``, ``learned`` (share of (seed, frequency)
    pairs that reach the threshold), ``final c`` (mean final c_k), the order over training
    (``rho``, mean over seeds, ``p``, the stratified permutation test that low frequencies come
    first, and ``spread``) and over the inner loop (``rho inner``, ``p inner``, ``spread
    inner``; NaN for the supervised LSTM's one step), and ``p holm`` / ``p inner holm``: every
    p-value of the table adjusted together (:func:`~badgerlib.analysis.stats.holm`), the
    family the chapter's checks read. Not rounded.

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> t = phase_mode_table({"shared": {"toy": summarise([r, r])}, "shift": {"toy": summarise([r])}})
    >>> t[["mode", "learner", "seeds", "rho", "p", "p holm"]].round(3).values.tolist()
    [['shared', 'toy', 2, 1.0, 0.028, 0.056], ['shift', 'toy', 1, 1.0, 0.167, 0.167]]
    """
    from badgerlib.analysis.stats import holm

    rows = []
    for mode, learners in summaries.items():
        for name, s in learners.items():
            inner = s.step_test
            rows.append({"mode": mode, "learner": name, "seeds": s.test.n_seeds, "learned": s.crossed,
                         "final c": float(np.mean(s.final)), "rho": s.test.mean, "p": s.test.p_value,
                         "spread": s.spread, "rho inner": inner.mean if inner is not None else np.nan,
                         "p inner": inner.p_value if inner is not None else np.nan, "spread inner": s.step_spread})
    table = pd.DataFrame(rows)
    adjusted = holm(np.concatenate([table["p"].to_numpy(float), table["p inner"].to_numpy(float)]))
    table["p holm"], table["p inner holm"] = adjusted[:len(table)], adjusted[len(table):]
    return table


def phase_mode_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`phase_mode_table` as the book shows it: percentages for the learned share and
    the spreads, signed correlations, two significant digits for the Holm-adjusted p-values,
    and "-" where nothing is defined (no frequency learned, or one inner step).

    Example
    -------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"mode": ["shift"], "learner": ["toy"], "seeds": [2], "learned": [0.5],
    ...                     "final c": [0.61], "rho": [0.5], "p": [0.01], "spread": [0.25],
    ...                     "rho inner": [float("nan")], "p inner": [float("nan")],
    ...                     "spread inner": [float("nan")], "p holm": [0.02], "p inner holm": [float("nan")]})
    >>> phase_mode_display(raw).iloc[0].tolist()
    ['shift', 'toy', 2, '50', '0.61', '+0.50', '0.02', '25', '-', '-', '-']
    """
    def fmt(value, kind):
        if not np.isfinite(value):
            return "-"
        return {"pc": f"{100 * value:.0f}", "rho": f"{value:+.2f}", "p": f"{value:.2g}", "c": f"{value:.2f}"}[kind]

    out = pd.DataFrame({"mode": table["mode"], "learner": table["learner"], "seeds": table["seeds"].astype(object)})
    for column, label, kind in (("learned", "learned %", "pc"), ("final c", "final c", "c"),
                                ("rho", "ρ training", "rho"), ("p holm", "p (Holm)", "p"),
                                ("spread", "spread %", "pc"), ("rho inner", "ρ inner loop", "rho"),
                                ("p inner holm", "p inner (Holm)", "p"), ("spread inner", "inner spread %", "pc")):
        out[label] = [fmt(v, kind) for v in table[column].to_numpy(float)]
    return out


#: Short names of the learners in the glue names :func:`phase_mode_numbers` makes.
LEARNER_KEYS = {"supervised LSTM": "sup", "LSTM meta-learner": "meta", "quantised meta-learner": "quant",
                "Micro-Badger (M = 41)": "mb41"}


def phase_mode_numbers(table: pd.DataFrame) -> dict[str, str]:
    """What the text cites of :func:`phase_mode_table`, by glue name
    ``pm_<learner>_<mode>_<column>`` (learner: :data:`LEARNER_KEYS`; column: the
    :func:`phase_mode_display` values as ``learned``, ``final``, ``rho``, ``p``, ``spread``,
    ``rho_inner``, ``p_inner``, ``spread_inner``, and ``text``, :func:`describe_order`), and
    ``pm_runs`` and ``pm_tests`` (how many p-values the Holm family holds).

    Example
    -------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"mode": ["shift"], "learner": ["LSTM meta-learner"], "seeds": [2], "learned": [0.0],
    ...                     "final c": [0.0], "rho": [0.0], "p": [1.0], "spread": [float("nan")],
    ...                     "rho inner": [0.0], "p inner": [1.0], "spread inner": [float("nan")],
    ...                     "p holm": [1.0], "p inner holm": [1.0]})
    >>> n = phase_mode_numbers(raw)
    >>> n["pm_meta_shift_learned"], n["pm_meta_shift_spread"], n["pm_runs"]
    ('0', '-', 2)
    """
    shown = phase_mode_display(table)
    fields = {"learned %": "learned", "final c": "final", "ρ training": "rho", "p (Holm)": "p", "spread %": "spread",
              "ρ inner loop": "rho_inner", "p inner (Holm)": "p_inner", "inner spread %": "spread_inner"}
    tests = int(np.isfinite(table["p"].to_numpy(float)).sum() + np.isfinite(table["p inner"].to_numpy(float)).sum())
    out: dict = {"pm_runs": int(table["seeds"].sum()), "pm_tests": tests}
    for row, raw in zip(shown.to_dict("records"), table.to_dict("records")):
        prefix = f"pm_{LEARNER_KEYS.get(row['learner'], row['learner'])}_{row['mode']}"
        out.update({f"{prefix}_{name}": row[label] for label, name in fields.items()})
        out[f"{prefix}_text"] = describe_order(raw)
    return out


def describe_order(row: Mapping, alpha: float = 0.05) -> str:
    """One row of :func:`phase_mode_table` in words: how much the learner learned and in
    which order over training ("low frequencies first" when the Holm-adjusted p is below
    ``alpha`` with a positive rho, "high frequencies first" for the opposite, "all at once"
    when the spread is under :data:`AT_ONCE_SPREAD`, else "in no significant order").

    Example
    -------
    >>> describe_order({"learned": 0.625, "rho": 0.88, "p holm": 0.046, "spread": 0.3})
    'learns 62 % of the frequencies, low frequencies first (ρ = +0.88, p = 0.046 after Holm, spread 30 % of training)'
    >>> describe_order({"learned": 0.0, "rho": 0.0, "p holm": 1.0, "spread": float("nan")})
    'learns no frequency'
    """
    if not row["learned"] > 0:
        return "learns no frequency"
    rho, p, spread = float(row["rho"]), float(row["p holm"]), float(row["spread"])
    if p < alpha:
        order = "low frequencies first" if rho > 0 else "high frequencies first"
    elif np.isfinite(spread) and spread < AT_ONCE_SPREAD:
        order = "all at once"
    else:
        order = "in no significant order"
    tail = f"spread {100 * spread:.0f} % of training" if np.isfinite(spread) else "one frequency"
    return (f"learns {100 * float(row['learned']):.0f} % of the frequencies, {order} "
            f"(ρ = {rho:+.2f}, p = {p:.2g} after Holm, {tail})")


def phase_mode_scope(size: Sizes) -> str:
    """The sentence that says which learners and how many seeds the phase-mode experiment
    runs in this mode of the book.

    Example
    -------
    >>> phase_mode_scope(QUICK)[:72]
    'Seeds per mode: supervised LSTM 3, LSTM meta-learner 1, Micro-Badger (M '
    """
    counts = dict(size.phase_seeds)
    run = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    left = [name for name, n in counts.items() if n == 0]
    text = f"Seeds per mode: {run}."
    if left:
        text += (f" This mode of the book leaves out the {' and the '.join(left)}: at its quick settings it "
                 "learned no frequency of k = 1 ... 8 even with the shared phase, in a pilot of 2 000 "
                 "iterations (2026-12-07); full mode runs it.")
    return text


def plot_inner_heatmaps(analyses: Mapping[str, Sequence[RunSpectrum]], axes, first_seed: int = 0):
    """Figure: c_k over the inner loop of the trained model, one panel per learner of
    ``analyses`` (its best-trained seed, :func:`representative` ``by="final"``), on ``axes``.
    Returns the last mesh, for a colour bar.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib import plots
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.6, 0.2], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.array([0, 5, 10]), c, c, np.zeros(2), rank_correlation(ks, [0, 0]), 0.0,
    ...                 c[-1], np.zeros(2), np.zeros(3), np.zeros(3), 10)
    >>> fig, axes = plots.figure(ncols=2)
    >>> mesh = plot_inner_heatmaps({"a": [r], "b": [r, r]}, axes, first_seed=3)
    >>> axes[1].get_title()
    'b\\nseed 3'
    """
    from badgerlib import plots

    mesh = None
    for ax, (name, runs) in zip(np.ravel(axes), analyses.items()):
        best = representative(runs, by="final")
        a = runs[best]
        mesh = plots.frequency_heatmap(np.arange(a.by_step.shape[0]), a.by_step, ax, frequencies=a.frequencies,
                                       xlabel="inner step", title=f"{name}\nseed {first_seed + best}")
    return mesh


def plot_phase_modes(analyses: Mapping[str, Mapping[str, Sequence[RunSpectrum]]], axes=None):
    """Figure: one heat map of c_k over training per (mode, learner) of ``analyses`` (mode ->
    learner -> runs; rows are modes, named on the left, columns learners, named on top), for
    the run :func:`representative` picks (the median order), its crossings marked. Returns the
    last mesh, for a colour bar.

    Example
    -------
    >>> import numpy as np
    >>> ks = np.array([1, 2])
    >>> c = np.array([[0.0, 0.0], [0.6, 0.2], [1.0, 1.0]])
    >>> r = RunSpectrum(ks, np.array([0, 5, 10]), c, c, np.array([5.0, 10.0]), rank_correlation(ks, [5, 10]),
    ...                 0.5, c[-1], np.zeros(2), np.zeros(3), np.zeros(3), 10)
    >>> mesh = plot_phase_modes({"shared": {"a": [r], "b": [r]}, "per_frequency": {"a": [r], "b": [r]}})
    >>> axes = mesh.axes.figure.axes
    >>> [ax.get_title() for ax in axes], axes[2].get_ylabel()
    (['a', 'b', '', ''], 'per frequency\\nfrequency k')
    """
    from badgerlib import plots

    modes = list(analyses)
    learners = list(analyses[modes[0]])
    if axes is None:
        _, axes = plots.figure(nrows=len(modes), ncols=len(learners), height=2.2 * len(modes))
    axes = np.asarray(axes).reshape(len(modes), len(learners))
    mesh = None
    for i, mode in enumerate(modes):
        for j, name in enumerate(learners):
            runs = analyses[mode][name]
            a = runs[representative(runs)]
            ax = axes[i, j]
            mesh = plots.frequency_heatmap(a.iterations, a.by_iteration, ax, frequencies=a.frequencies,
                                           crossings=a.crossings, title=name if i == 0 else None)
            ax.title.set_fontsize(9)
            ax.set_ylabel(f"{mode.replace('_', ' ')}\nfrequency k" if j == 0 else "")
            if i < len(modes) - 1:
                ax.set_xlabel("")
    return mesh


# ---------------------------------------------------------------------------------------------
# Full mode: its outcome when its runs are stored, and what it costs
# ---------------------------------------------------------------------------------------------

def full_mode_summary(seed: int = 0, runs_dir=None,
                      groups: Mapping[str, Sequence[RunConfig]] | None = None) -> dict | None:
    """The full-mode outcome, formatted for the text, when **every** full-mode run
    (:func:`configs` with ``quick=False``) is in the run store; None when one is missing (so
    that the book never cites full-mode numbers it did not compute). Never trains.

    The keys are ``runs`` (how many), ``train_cpu`` (training seconds summed over the runs,
    from each run's ``meta["seconds"]``), and for each learner, in the order of
    :func:`configs`, under the prefix ``sup_``, ``meta_``, ``quant_``, ``mb_``, ``mb41_``:
    ``seeds`` and the :func:`learner_numbers` (``sup_rho``, ``mb_spread``, ``mb41_final``,
    ...). ``groups`` replaces the full-mode configs (for tests). (Reads stored runs: examples
    in ``tests/test_chapter_f_principle.py``.)
    """
    from badgerlib.run import load_run

    groups = configs(quick=False, seed=seed) if groups is None else groups
    runs = {}
    for name, group in groups.items():
        runs[name] = [load_run(cfg, runs_dir) for cfg in group]
        if any(run is None for run in runs[name]):
            return None
    out = {"runs": sum(map(len, runs.values())),
           "train_cpu": f"{sum(r.meta['seconds'] for g in runs.values() for r in g):.0f}"}
    for key, (name, group) in zip(("sup", "meta", "quant", "mb", "mb41"), runs.items()):
        ks = groups[name][0].task.frequencies
        summary = summarise(analyse_runs(group, ks, threshold=FULL.threshold))
        out[f"{key}_seeds"] = len(group)
        out.update({f"{key}_{field}": value for field, value in learner_numbers(summary).items()})
    return out



def learner_speeds(runs: Mapping[str, Sequence]) -> dict[str, float]:
    """Median training speed (outer iterations per second, from each stored run's
    ``meta["iterations_per_second"]``) of each group of runs.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> fake = lambda speed: SimpleNamespace(meta={"iterations_per_second": speed})
    >>> learner_speeds({"a": [fake(10.0), fake(30.0), fake(20.0)]})
    {'a': 20.0}
    """
    return {name: float(np.median([r.meta["iterations_per_second"] for r in group])) for name, group in runs.items()}


def full_mode_seconds(speeds: Mapping[str, float], seed: int = 0, workers: int = 2) -> float:
    """Wall time of the full-mode runs (:func:`configs` and :func:`phase_mode_configs` with
    ``quick=False``; a phase-mode run goes at its learner's speed) on ``workers`` cores, from a
    measured speed per learner (as :func:`learner_speeds` gives, one core per run):
    :func:`badgerlib.sweep.estimate_seconds`, a lower bound.

    Example
    -------
    >>> speeds = dict.fromkeys(configs(quick=False), 100.0)
    >>> round(full_mode_seconds(speeds) / 60, 1)
    40.6
    """
    full = configs(quick=False, seed=seed)
    missing = [name for name in full if name not in speeds]
    if missing:
        raise ValueError(f"full_mode_seconds: no speed for {missing}; speeds has {sorted(speeds)}")
    speed = {cfg: speeds[name] for name, group in full.items() for cfg in group}
    for learners in phase_mode_configs(quick=False, seed=seed).values():
        speed.update({cfg: speeds[name] for name, group in learners.items() for cfg in group})
    return estimate_seconds(list(speed), speed=speed, workers=workers)


def full_mode_text(summary: Mapping | None) -> str:
    """The sentence the "At full scale" section cites: the outcome of
    :func:`full_mode_summary`, or, when that is None, that this build has no full-mode
    numbers (instead of numbers typed from an earlier build).

    Example
    -------
    >>> full_mode_text(None)
    'The full-mode numbers are not available in this build: its run store does not hold every full-mode run.'
    >>> from collections import defaultdict
    >>> full_mode_text(defaultdict(lambda: "?", runs=43, sup_rho="+0.77 ± 0.28"))[:90]
    'Its 43 full-mode runs are stored (? s of training summed over runs), with this outcome: su'
    """
    if summary is None:
        return ("The full-mode numbers are not available in this build: its run store does not hold "
                "every full-mode run.")
    s = summary
    return (f"Its {s['runs']} full-mode runs are stored ({s['train_cpu']} s of training summed over runs), "
            f"with this outcome: supervised LSTM mean ρ = {s['sup_rho']} over {s['sup_seeds']} targets "
            f"(p = {s['sup_p']}), LSTM meta-learner {s['meta_rho']} (p = {s['meta_p']}, spread "
            f"{s['meta_spread']} % of training), quantised meta-learner {s['quant_rho']} (p = {s['quant_p']}, "
            f"final c {s['quant_final']}), Micro-Badger at M = {FULL.m_badger} {s['mb_rho']} (spread "
            f"{s['mb_spread']} % of training) and at M = {FULL.m} final c {s['mb41_final']}.")


# ---------------------------------------------------------------------------------------------
# The chapter's own figure
# ---------------------------------------------------------------------------------------------

def plot_converged_steps(runs: Sequence[RunSpectrum], axes, inner_steps: int, first_seed: int = 0):
    """Figure 4.5: converged inner steps (:attr:`RunSpectrum.converged`) of each seed over
    training, with their median (left), and against the probe loss at each snapshot (right;
    the loss falls to the right). ``axes``: two matplotlib axes. One legend above both panels
    names the seed of each colour (numbered from ``first_seed``) and the median.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib import plots
    >>> ks = np.array([1])
    >>> r = RunSpectrum(ks, np.arange(3), np.zeros((3, 1)), np.zeros((2, 1)), np.zeros(1),
    ...                 rank_correlation([1, 2], [0, 0]), 0.0, np.zeros(1), np.zeros(1),
    ...                 np.array([0.0, 2.0, 5.0]), np.array([1.0, 0.5, 0.2]), 2)
    >>> fig, axes = plots.figure(ncols=2)
    >>> axes = plot_converged_steps([r, r], axes, inner_steps=10, first_seed=3)
    >>> [t.get_text() for t in fig.legends[0].get_texts()]
    ['seed 3', 'seed 4', 'median over seeds']
    """
    from matplotlib.lines import Line2D

    from badgerlib.plots import PALETTE

    runs = list(runs)
    handles = []
    for s, run in enumerate(runs):
        color = PALETTE[s % len(PALETTE)]
        axes[0].plot(run.iterations, run.converged, "-", color=color, lw=0.8, alpha=0.45)
        axes[1].plot(run.probe_loss, run.converged, "o", ms=3, color=color, alpha=0.8)
        handles.append(Line2D([], [], color=color, marker="o", ms=4, lw=1, label=f"seed {first_seed + s}"))
    median = np.median([run.converged for run in runs], axis=0)
    axes[0].plot(runs[0].iterations, median, "-", color="black", lw=2)
    handles.append(Line2D([], [], color="black", lw=2, label="median over seeds"))
    axes[0].set_xlabel("outer iteration")
    axes[0].set_ylabel(f"converged inner steps (of {inner_steps})")
    axes[0].figure.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), 6))
    axes[1].set_xlabel("probe loss (mean feedback over inner steps)")
    axes[1].set_ylabel("converged inner steps")
    axes[1].invert_xaxis()
    return axes


def plot_order_tests(summaries: Mapping[str, LearnerSummary], axes):
    """Figure 4.3: per learner (top to bottom in the order given), the rank correlation of
    frequency with the iteration learned, one dot per seed with the mean ± sd (left; under each
    name the pooled test's p-value), and the spread of each seed (right).
    ``axes``: two matplotlib axes.

    Example
    -------
    >>> import numpy as np
    >>> from badgerlib import plots
    >>> ks = np.array([1, 2, 3])
    >>> r = RunSpectrum(ks, np.arange(2), np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 2, 3]),
    ...                 rank_correlation(ks, [1, 2, 3]), 0.5, np.ones(3), np.zeros(3), np.zeros(2),
    ...                 np.zeros(2), 2)
    >>> fig, axes = plots.figure(ncols=2)
    >>> axes = plot_order_tests({"a": summarise([r, r]), "b": summarise([r])}, axes)
    >>> [t.get_text() for t in axes[0].get_yticklabels()]
    ['a\\np = 0.028', 'b\\np = 0.17']
    """
    from badgerlib.plots import strip_plot

    names = list(summaries)
    ypos = np.arange(len(names))[::-1]
    dots = dict(positions=ypos, center=None, horizontal=True, ticks=False, jitter=0.12, size=25, alpha=0.7)
    strip_plot({n: summaries[n].test.rhos for n in names}, axes[0], **dots)
    means = [summaries[n].test.mean for n in names]
    sds = [0.0 if np.isnan(summaries[n].test.sd) else summaries[n].test.sd for n in names]
    axes[0].errorbar(means, ypos, xerr=sds, fmt="D", color="black", ms=6, capsize=4)
    axes[0].axvline(0, color="0.4", lw=1, ls="--")
    axes[0].set_xlim(-1.1, 1.1)
    axes[0].set_yticks(ypos, [f"{n}\np = {summaries[n].test.p_value:.2g}" for n in names], fontsize=9)
    axes[0].set_xlabel("rank correlation ρ\n(frequency, iteration learned)")
    axes[0].set_title("low frequencies first?  (ρ > 0)", fontsize=10)
    spreads = {n: [r.spread for r in summaries[n].runs] for n in names}
    strip_plot(spreads, axes[1], **dots)
    axes[1].set_yticks(ypos, [])
    largest = np.nanmax([s for values in spreads.values() for s in values] + [np.nan])
    axes[1].set_xlim(-0.02, max(0.1, largest * 1.15) if np.isfinite(largest) else 0.1)
    axes[1].set_xlabel("spread: first to last frequency\nlearned (fraction of training)")
    axes[1].set_title("learned at once?  (spread ≈ 0)", fontsize=10)
    return axes
