"""Many seeds of one configuration trained together in one process: a seed ensemble.

Configs that differ only in their seed have models of the same shape, so one outer iteration of
all of them is one vectorised computation: their weights are stacked along a new first axis and
the rollout, the objective and its gradient are mapped over that axis with ``torch.func.vmap``.
Everything else is done per seed, with the very pieces :func:`badgerlib.train.train` uses
(:func:`~badgerlib.train.resume`, :func:`~badgerlib.train.record`, snapshots, checkpoints,
:func:`~badgerlib.train.finish`): each seed draws its tasks and noise from its own generator,
clips its own gradient and steps its own optimiser, and is stored as its own run under its own
hash. On the CPU each seed's history is bit-identical to training it alone
(``tests/test_ensemble.py`` checks it): whether a batched kernel sums in the same order as the
single one depends on the shapes, so :func:`train_many` checks that once per ensemble
(:func:`vmap_is_exact`) and trains seed by seed where it does not hold. A stored seed is
loaded, not retrained.

What this buys: on a GPU a model of a few thousand weights is bound by kernel launches, and one
batched launch for S seeds costs about what one seed costs. There :func:`train_many` takes the
``"stacked"`` path (:class:`StackedSeeds`: one optimiser over the stacked weights, no Python
loop over seeds) under CUDA graphs; the tests run that same path on the CPU with the graphs
off. On 2 CPU cores the gain is small (the benchmark in ``benchmarks/bench_ensemble.py``
measures it).

The examples train: they are in ``tests/test_ensemble.py``.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Sequence

import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap
from tqdm.auto import tqdm

from badgerlib import store
from badgerlib.checks import check_choice
from badgerlib.config import OPTIMIZERS, RunConfig, torch_dtype
from badgerlib.model import InnerLoopModel, Rollout
from badgerlib.objective import scored_steps
from badgerlib.run import Run, load_run, snapshot_iterations
from badgerlib.train import TrainingState, checkpoint, finish, record, resume, solved, take_snapshot, train_loop


def same_but_seed(configs: Sequence[RunConfig]) -> None:
    """Raise ValueError unless ``configs`` are RunConfigs that differ in nothing but their seed,
    with distinct seeds.

    Example
    -------
    >>> same_but_seed([RunConfig(seed=0), RunConfig(seed=1, lr=0.1)])
    Traceback (most recent call last):
    ...
    ValueError: train_many: configs[1] differs from configs[0] in more than its seed; an ensemble needs one config with several seeds
    """
    configs = list(configs)
    if not configs:
        raise ValueError("train_many: configs is empty; give at least one RunConfig")
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"train_many: configs[{i}] = {cfg!r}: must be a RunConfig")
        if cfg.replace(seed=0) != configs[0].replace(seed=0):
            raise ValueError(f"train_many: configs[{i}] differs from configs[0] in more than its seed; "
                             f"an ensemble needs one config with several seeds")
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"train_many: seeds {seeds} repeat; each seed once")


def vectorises(config: RunConfig, device: str = "cpu", mode: str = "auto") -> bool:
    """Whether :func:`train_many` trains seeds of ``config`` together (one vectorised step for
    all), as far as the config tells: an inner-loop model family, the default gradient and, on
    the CPU's exact path, a family marked ``ensemble_exact`` and the eager engine (the stacked
    path, CUDA's default, needs Adam instead). Where this is False the seeds train one after
    another. On the exact path :func:`train_many` still checks the batched kernels once per
    ensemble (:func:`vmap_is_exact`).

    Example
    -------
    >>> from badgerlib import MicroBadgerConfig
    >>> vectorises(RunConfig()), vectorises(RunConfig(engine="compiled"))
    (True, False)
    >>> vectorises(RunConfig(model=MicroBadgerConfig(per_expert_readout=True)))
    False
    """
    from badgerlib.run import build_model

    check_choice("vectorises", "mode", mode, MODES)
    model = build_model(config)
    if not isinstance(model, InnerLoopModel) or config.gradient != "objective":
        return False
    if mode == "stacked" or (mode == "auto" and device.startswith("cuda")):
        return config.optimizer == "adam"
    return model.ensemble_exact and config.engine == "eager"


def seed_draws(states: list[TrainingState]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each seed's batch of targets and initial noise, drawn from its own generator in the order
    :func:`badgerlib.train.update` draws them, stacked with the seed as first axis."""
    cfg = states[0].config
    dtype, device = torch_dtype(cfg.dtype), states[0].device
    targets, noise = [], []
    for st in states:
        targets.append(cfg.task.sample_targets(cfg.batch, st.generator, dtype, device))
        noise.append(st.model.initial_noise(cfg.batch, st.generator))
    return torch.stack(targets), torch.stack(noise)


def seed_gradients(model: torch.nn.Module, cfg: RunConfig):
    """``fn(params, buffers, targets, noise) -> (grads, loss, guesses, feedback)`` for one seed,
    to be mapped over seeds with ``vmap``: the objective of the rollout and its gradient by
    parameter name."""

    def loss(p, b, t, n):
        guesses, feedback = functional_call(model, (p, b), (cfg.task, t, cfg.inner_steps, n))
        return scored_steps(feedback, cfg.loss_on).mean(), (guesses, feedback)

    def one_seed(p, b, t, n):
        g, (value, (guesses, feedback)) = grad_and_value(loss, has_aux=True)(p, b, t, n)
        return g, value, guesses, feedback

    return one_seed


def ensemble_gradients(states: list[TrainingState]):
    """One vectorised forward and backward of every seed on a fresh batch of its own tasks
    (:func:`seed_draws`). Returns ``(grads, losses, guesses, feedback, targets)`` with the seed
    as first axis (``grads`` by parameter name)."""
    targets, noise = seed_draws(states)
    params, buffers = stack_module_state([st.model for st in states])
    params = {k: v.detach() for k, v in params.items()}
    one_seed = seed_gradients(states[0].model, states[0].config)
    grads, losses, guesses, feedback = vmap(one_seed, randomness="error")(params, buffers, targets, noise)
    return grads, losses, guesses.detach(), feedback.detach(), targets


def vmap_is_exact(states: list[TrainingState]) -> bool:
    """Whether the vectorised gradients equal, bit for bit, the gradients each seed's own
    ``loss.backward()`` gives, on one batch drawn from a throwaway generator (no seed's own
    draws are used). Whether a batched kernel sums in the same order as the single one depends
    on the shapes (a tiny agent can take another path), so :func:`train_many` asks once per
    ensemble instead of assuming it.

    Example: in ``tests/test_ensemble.py`` (it needs trained states)."""
    from badgerlib.objective import objective

    probe = [TrainingState(st.config, st.model, st.optimizer, torch.Generator().manual_seed(st.config.seed),
                           st.history, None, st.device) for st in states]
    grads = ensemble_gradients(probe)[0]
    for s, st in enumerate(states):
        gen = torch.Generator().manual_seed(st.config.seed)
        cfg, dtype = st.config, torch_dtype(st.config.dtype)
        targets = cfg.task.sample_targets(cfg.batch, gen, dtype, st.device)
        noise = st.model.initial_noise(cfg.batch, gen)
        st.model.zero_grad(set_to_none=True)
        h = st.model.initial_state(cfg.batch, noise=noise)
        objective(st.model.rollout(cfg.task, targets, cfg.inner_steps, h_init=h), cfg.loss_on).backward()
        same = all(torch.equal(p.grad, grads[name][s]) for name, p in st.model.named_parameters())
        st.model.zero_grad(set_to_none=True)
        if not same:
            return False
    return True


def update_many(states: list[TrainingState]) -> list[tuple[Rollout, float, float]]:
    """One outer step of every seed (:func:`badgerlib.train.update`, vectorised): gradients
    together, then per seed its own clipping and optimiser step. Returns per seed what
    :func:`badgerlib.train.record` takes."""
    grads, losses, guesses, feedback, targets = ensemble_gradients(states)
    out = []
    for s, st in enumerate(states):
        cfg, it = st.config, st.done
        if not torch.isfinite(losses[s]):
            raise FloatingPointError(f"train_many: seed {cfg.seed}: loss is {losses[s].item()} at iteration {it}; "
                                     f"last good checkpoint kept in {st.path}")
        st.optimizer.zero_grad(set_to_none=True)
        for name, p in st.model.named_parameters():
            p.grad = grads[name][s]
        clip = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(st.model.parameters(), clip)
        if not torch.isfinite(grad_norm):
            raise FloatingPointError(f"train_many: seed {cfg.seed}: gradient norm is {grad_norm.item()} at "
                                     f"iteration {it}; last good checkpoint kept in {st.path}")
        st.optimizer.step()
        st.done = it + 1
        out.append((Rollout(guesses=guesses[s], feedback=feedback[s], targets=targets[s]),
                    losses[s].item(), grad_norm.item()))
    return out


class StackedSeeds:
    """The ``"stacked"`` ensemble step: the seeds' weights stacked along a first axis as the
    leaves of one optimiser, the gradient clipped per seed by vectorised norms, no Python loop
    over seeds, so the whole step is a fixed sequence of batched kernels, which CUDA graphs
    (``graphs=True``: the gradient under ``torch.compile(mode="reduce-overhead")``) replay in one
    launch. Adam is elementwise, so one Adam over the stack is each seed's Adam; the numbers
    equal the one-seed-at-a-time ones to float tolerance, not bit for bit.

    The seeds' own models and optimisers (:class:`~badgerlib.train.TrainingState`) are what
    snapshots, checkpoints and stored runs read: :meth:`sync` copies a seed's slice of the stack
    back into them (the training loop does it before each of those), and a resumed ensemble
    stacks them again. Seeds that already stopped keep being computed (fixed shapes for the
    graphs) but nothing of theirs is recorded any more."""

    def __init__(self, states: list[TrainingState], graphs: bool = False):
        cfg = states[0].config
        if cfg.optimizer != "adam":
            raise ValueError(f"train_many: mode 'stacked' steps one Adam over the stacked weights; "
                             f"RunConfig.optimizer = {cfg.optimizer!r} needs mode 'exact'")
        self.states, self.config = states, cfg
        params, self.buffers = stack_module_state([st.model for st in states])
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.optimizer = OPTIMIZERS[cfg.optimizer](list(self.params.values()), cfg)
        if states[0].done:
            self._stack_optimizer_state()
        grads = vmap(seed_gradients(states[0].model, cfg), randomness="error")
        self.gradients = torch.compile(grads, mode="reduce-overhead") if graphs else grads

    def _per_seed_params(self, st: TrainingState) -> dict:
        return dict(st.model.named_parameters())

    def _stack_optimizer_state(self) -> None:
        for name, stacked in self.params.items():
            per_seed = [st.optimizer.state[self._per_seed_params(st)[name]] for st in self.states]
            self.optimizer.state[stacked] = {
                key: torch.stack([ps[key] for ps in per_seed]) if value.dim() else value.clone()
                for key, value in per_seed[0].items()}

    def sync(self, i: int) -> None:
        """Copy seed ``i``'s weights and optimiser state from the stack into its own model and
        optimiser."""
        st = self.states[i]
        own = self._per_seed_params(st)
        with torch.no_grad():
            for name, stacked in self.params.items():
                own[name].copy_(stacked[i])
                state = self.optimizer.state.get(stacked)
                if state:
                    st.optimizer.state[own[name]] = {key: value[i].clone() if value.dim() else value.clone()
                                                     for key, value in state.items()}

    def step(self, active: list[int]) -> dict[int, tuple[Rollout, float, float]]:
        """One outer step of every seed; returns, for the ``active`` ones, what
        :func:`badgerlib.train.record` takes, and advances their ``done``."""
        cfg = self.config
        targets, noise = seed_draws(self.states)
        params = {k: v.detach() for k, v in self.params.items()}
        grads, losses, guesses, feedback = self.gradients(params, self.buffers, targets, noise)
        norms = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads.values()], dim=1), dim=1)
        coef = (cfg.grad_clip / (norms + 1e-6)).clamp(max=1.0) if cfg.grad_clip > 0 else torch.ones_like(norms)
        losses_cpu, norms_cpu = losses.detach().cpu(), norms.detach().cpu()
        for i in active:
            st = self.states[i]
            for what, value in (("loss", losses_cpu[i]), ("gradient norm", norms_cpu[i])):
                if not torch.isfinite(value):
                    raise FloatingPointError(f"train_many: seed {st.config.seed}: {what} is {value.item()} at "
                                             f"iteration {st.done}; last good checkpoint kept in {st.path}")
        for name, p in self.params.items():
            p.grad = grads[name] * coef.view(-1, *([1] * (grads[name].dim() - 1)))
        self.optimizer.step()
        out = {}
        for i in active:
            self.states[i].done += 1
            out[i] = (Rollout(guesses=guesses[i].detach().clone(), feedback=feedback[i].detach().clone(),
                              targets=targets[i]), losses_cpu[i].item(), norms_cpu[i].item())
        return out


#: How :func:`train_many` steps an ensemble.
MODES = ("auto", "exact", "stacked")


def train_many(configs: Sequence[RunConfig], *, runs_dir: str | Path | None = None, device: str = "cpu",
               progress: bool = True, checkpoint_every: int = 500, mode: str = "auto") -> list[Run]:
    """Train configs that differ only in seed as one ensemble (or load the stored ones) and
    return their runs in the order given; each is stored as its own run.

    As :func:`badgerlib.train.train` does, it trains a run only while holding its lock
    (:func:`badgerlib.store.run_lock`, taken in a fixed order so that two ensembles sharing
    seeds cannot deadlock), and a seed whose ``stop_when_solved`` rule fires leaves the
    ensemble there, stored as stopped.

    Seeds whose checkpoints stand at different iterations, model families not marked
    ``ensemble_exact`` (:class:`badgerlib.model.InnerLoopModel`; the LSTMs), registered
    gradient transforms other than the default, the ``"compiled"`` engine (whose numbers would
    not match the seed trained alone), and shapes for which the batched gradient is
    not bit-identical here (:func:`vmap_is_exact`) are trained one by one with
    :func:`badgerlib.train.train_loop` instead (same results, no speed-up).

    ``mode``: ``"exact"`` is the path above (per-seed clipping and optimiser steps in a Python
    loop over seeds); ``"stacked"`` is :class:`StackedSeeds` (no loop over seeds; on CUDA under
    CUDA graphs; equal to the exact path to float tolerance), for the default Adam and gradient
    of any model family; ``"auto"`` takes ``"stacked"`` on a CUDA device and ``"exact"``
    elsewhere."""
    configs = list(configs)
    same_but_seed(configs)
    check_choice("train_many", "mode", mode, MODES)
    cuda = device.startswith("cuda")
    if mode == "auto":
        mode = "stacked" if cuda else "exact"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device = {device!r}: CUDA is not available on this machine; use 'cpu'")
    runs = {c: load_run(c, runs_dir) for c in configs}
    todo = sorted((c for c in configs if runs[c] is None), key=lambda c: str(store.run_path(c, runs_dir)))
    with contextlib.ExitStack() as locks:
        for c in todo:
            locks.enter_context(store.run_lock(store.run_path(c, runs_dir)))
        for c in todo:     # finished by another process while this one waited for the locks
            runs[c] = load_run(c, runs_dir)
        todo = [c for c in todo if runs[c] is None]
        if todo:
            states = [resume(c, store.run_path(c, runs_dir), device) for c in todo]
            together = (isinstance(states[0].model, InnerLoopModel) and todo[0].gradient == "objective"
                        and len({st.done for st in states}) == 1)
            if mode == "stacked" and together and todo[0].optimizer == "adam":
                trained = _train_states(states, progress, checkpoint_every, StackedSeeds(states, graphs=cuda))
            elif (together and states[0].model.ensemble_exact and todo[0].engine == "eager"
                  and vmap_is_exact(states)):
                trained = _train_states(states, progress, checkpoint_every)
            else:
                trained = [train_loop(c, store.run_path(c, runs_dir), device, progress, checkpoint_every, None)
                           for c in todo]
            runs.update(zip(todo, trained))
    return [runs[c] for c in configs]


def _train_states(states: list[TrainingState], progress: bool, checkpoint_every: int,
                  stacked: StackedSeeds | None = None) -> list[Run]:
    """The loop of :func:`badgerlib.train.train`, over all seeds at once (by
    :func:`update_many`, or by ``stacked``, whose weights are synced into a seed's own model
    before anything reads it); a seed that meets its stop rule is finished and leaves the
    ensemble."""
    cfg = states[0].config
    start, total, due = states[0].done, cfg.iterations, set(snapshot_iterations(cfg).tolist())
    sync = stacked.sync if stacked is not None else (lambda i: None)
    finished: dict[int, Run] = {}
    active = [i for i, st in enumerate(states) if not solved(st)]
    bar = tqdm(total=total, initial=start, disable=not progress, unit="it", mininterval=0.5,
               desc=f"train {len(states)} seeds")

    def snap(i: int) -> None:
        if states[i].done in due and states[i].done not in states[i].snapshots:
            sync(i)
            take_snapshot(states[i], due)

    try:
        while active and states[active[0]].done < total:
            for i in active:
                snap(i)
            if stacked is None:
                results = dict(zip(active, update_many([states[i] for i in active])))
            else:
                results = stacked.step(active)
            for i in active:
                if cfg.probe_series:        # the probe error reads the seed's own model
                    sync(i)
                record(states[i], *results[i])
            bar.update(1)
            done = states[active[0]].done
            if checkpoint_every and done % checkpoint_every == 0 and done < total:
                for i in active:
                    sync(i)
                    checkpoint(states[i])
            for i in [i for i in active if solved(states[i])]:
                sync(i)
                snap(i)
                finished[i] = finish(states[i], start, len(states))
                active.remove(i)
        for i in active:
            sync(i)
            snap(i)
    except FloatingPointError:
        raise
    except BaseException:
        for i in active:   # interrupted: keep everything computed so far, for every seed
            sync(i)
            checkpoint(states[i])
        raise
    finally:
        bar.close()
    return [finished[i] if i in finished else finish(states[i], start, len(states)) for i in range(len(states))]
