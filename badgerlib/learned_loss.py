"""A meta-learned outer loss (ML3: Bechtle et al. 2019, "Meta-Learning via Learned Loss"),
the study's proposal "meta-learning a better loss function", as one more remedy of chapter 9.

The experts still see the task's scalar feedback; what is learned is the loss the *outer*
loop trains their shared policy on. The loss network :class:`LossNet` scores every guessed
number at every scored inner step from ``(guess, target, guess - target, step / steps)``, so
one learned loss applies to any N, any agent and any number of inner steps: it is
meta-trained on a small game and applied to larger ones (chapter 9: N = 6 to N = 20 in full
mode, N = 3 to N = 4 in quick mode).

Meta-training (:func:`meta_train`), online ML3: a Badger trains on the learned loss (its
optimiser, as at test time) while, at every update, the loss network is improved by the
one-step lookahead ML3 differentiates through: the task's own objective on a fresh batch
after a step along the learned loss's gradient. Two choices of this book, both named in
:class:`LearnedLossConfig`:

* the lookahead step is *normalised* (a fixed length along the gradient's direction), since
  Adam, which trains with the learned loss afterwards, ignores the loss's scale: the loss
  network is rewarded for the direction it gives, not for inflating its own scale;
* the loss network starts as the task's own squared error (a short regression,
  ``pretrain`` steps), so meta-training starts from the baseline and can only move away from
  it where the lookahead says so.

Every ``compare_every`` meta-iterations the lookahead of the task's own gradient is measured
on the same batches, so :func:`lookahead_gain` says whether meta-training learned anything
the plain objective does not give.

A run names a learned loss with ``RunConfig(gradient="ml3", learned_loss=LearnedLossConfig(...))``:
the config holds the recipe, not the weights, so it is small, hashable and reproducible, and
any worker process resolves it (:func:`resolve`): from memory, else from the run store the
current training writes to (:func:`badgerlib.store.active_runs_dir`), else by meta-training it
there (deterministic on the CPU, under a lock, so two workers do not both train it).

Example
-------
>>> import torch
>>> from badgerlib import GuessingGame
>>> net = LossNet(hidden=4)
>>> guesses, targets = torch.zeros(2, 4, 3), torch.ones(2, 3)
>>> net.loss(guesses, targets).shape
torch.Size([])
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from badgerlib import store
from badgerlib.checks import check_float, check_int, config_to_dict, register_kind
from badgerlib.config import OPTIMIZERS, RunConfig, register_gradient_transform
from badgerlib.objective import objective, scored_steps

#: Inputs of the loss network per guessed number and scored step.
FEATURES = ("guess", "target", "guess - target", "step / steps")


@register_kind
@dataclass(frozen=True)
class LearnedLossConfig:
    """How a learned loss is meta-trained (the recipe: its weights follow from it).

    Fields
    ------
    base: the run the loss is meta-trained on (a ``RunConfig``: its task, agent, inner steps,
        batch, optimiser and learning rate; its seed and iterations are not used).
    hidden: width of the loss network's two hidden layers.
    meta_iterations: updates of the loss network (each also one update of the Badger).
    episode: Badger updates before a fresh Badger (new weights) is drawn, so the loss sees
        the early and the later parts of training.
    lookahead: length of the normalised lookahead step (in weight space).
    meta_lr: Adam's learning rate for the loss network.
    pretrain: regression steps that start the loss network at the task's squared error.
    compare_every: meta-iterations between measurements of the plain objective's lookahead.
    seed: seeds the loss network, its pretraining and every Badger and batch of meta-training.

    Example
    -------
    >>> from badgerlib import GuessingGame
    >>> spec = LearnedLossConfig(base=RunConfig(task=GuessingGame(n=3)), meta_iterations=10)
    >>> LearnedLossConfig(base=RunConfig(), episode=0)
    Traceback (most recent call last):
    ...
    ValueError: LearnedLossConfig.episode = 0: must be an integer in [1, 10000000]
    """

    kind: ClassVar[str] = "learned_loss"
    base: Any = None
    hidden: int = 16
    meta_iterations: int = 600
    episode: int = 300
    lookahead: float = 0.03
    meta_lr: float = 1e-3
    pretrain: int = 500
    compare_every: int = 5
    seed: int = 0

    def __post_init__(self):
        owner = type(self).__name__
        if self.base is None:
            object.__setattr__(self, "base", RunConfig())
        if not isinstance(self.base, RunConfig):
            raise ValueError(f"{owner}.base = {self.base!r}: must be a RunConfig (the run meta-trained on)")
        if getattr(self.base.task, "metric", "mse") != "mse" or not hasattr(self.base.task, "sample_targets"):
            raise ValueError(f"{owner}.base.task = {self.base.task!r}: must be a squared-error guessing game "
                             f"(the loss network starts as its squared error)")
        check_int(owner, "hidden", self.hidden, 1, 4096)
        check_int(owner, "meta_iterations", self.meta_iterations, 0, 10_000_000)
        check_int(owner, "episode", self.episode, 1, 10_000_000)
        check_float(owner, "lookahead", self.lookahead, 0.0, 100.0, lo_open=True)
        check_float(owner, "meta_lr", self.meta_lr, 0.0, 1.0, lo_open=True)
        check_int(owner, "pretrain", self.pretrain, 0, 10_000_000)
        check_int(owner, "compare_every", self.compare_every, 1, 10_000_000)
        check_int(owner, "seed", self.seed, 0, 2**63 - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the run store hashes it).

        Example
        -------
        >>> LearnedLossConfig().to_dict()["base"]["kind"]
        'run'
        """
        return config_to_dict(self)


class LossNet(torch.nn.Module):
    """The learned loss: an MLP with two tanh layers on :data:`FEATURES` and a softplus
    output (a loss is never negative), averaged over the tasks, the scored steps and the
    guessed numbers.

    Example
    -------
    >>> net = LossNet(hidden=8)
    >>> float(net.loss(torch.zeros(1, 3, 2), torch.zeros(1, 2)).detach()) >= 0
    True
    """

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(len(FEATURES), hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, 1))

    def pointwise(self, guess: torch.Tensor, target: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
        """The loss of each guessed number (inputs broadcast together)."""
        guess, target, fraction = torch.broadcast_tensors(guess, target, fraction)
        x = torch.stack([guess, target, guess - target, fraction], dim=-1)
        return torch.nn.functional.softplus(self.net(x)).squeeze(-1)

    def loss(self, guesses: torch.Tensor, targets: torch.Tensor, loss_on: str = "all") -> torch.Tensor:
        """The mean learned loss of a rollout's ``guesses`` ``(B, S+1, N)`` on ``targets``
        ``(B, N)`` over the steps the objective scores (:func:`badgerlib.objective.scored_steps`)."""
        steps = guesses.shape[1] - 1
        fraction = torch.arange(steps + 1, dtype=guesses.dtype, device=guesses.device) / max(steps, 1)
        z = scored_steps(guesses, loss_on)
        f = scored_steps(fraction[None, :, None].expand(guesses.shape[0], -1, 1), loss_on)
        return self.pointwise(z, targets[:, None, :], f).mean()


# --------------------------------------------------------------------------- meta-training
def _pretrain(net: LossNet, task, steps: int, generator: torch.Generator) -> float:
    """Fit ``net`` to the task's squared error ``scale (z - t)^2`` on guesses spread around
    and between zero and the targets; returns the final mean squared misfit."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    misfit = float("nan")
    for _ in range(steps):
        t = task.sample_targets(256, generator)
        shrink = torch.rand(t.shape, generator=generator)
        z = shrink * t + 0.3 * torch.randn(t.shape, generator=generator)
        frac = torch.rand(t.shape, generator=generator)
        err = net.pointwise(z, t, frac) - task.scale * (z - t) ** 2
        loss = err.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        misfit = loss.item()
    return misfit


def _step(params: dict, grads, length: float) -> dict:
    """``params`` moved ``length`` along minus the (joint) direction of ``grads``."""
    norm = torch.sqrt(sum(g.pow(2).sum() for g in grads)) + 1e-12
    return {k: p - length * g / norm for (k, p), g in zip(params.items(), grads)}


def lookahead(net: LossNet, model: torch.nn.Module, params: dict, base: RunConfig, first: tuple, second: tuple,
              length: float) -> tuple[torch.Tensor, tuple, torch.Tensor]:
    """ML3's meta-objective: the task's objective on the batch ``second`` (targets, initial
    noise) after a step of ``length`` along the learned loss's gradient on the batch
    ``first``, differentiable in the loss network's weights. Returns that objective, the
    learned loss's gradient in ``params`` (with its graph) and the feedback on ``first``.

    Example
    -------
    >>> from badgerlib import GuessingGame, MicroBadgerConfig
    >>> from badgerlib.run import build_model
    >>> base = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=3), inner_steps=3)
    >>> model, gen = build_model(base), torch.Generator().manual_seed(0)
    >>> batch = lambda: (base.task.sample_targets(4, gen), model.initial_noise(4, gen))
    >>> after, grads, _ = lookahead(LossNet(4), model, dict(model.named_parameters()), base, batch(), batch(), 0.01)
    >>> after.requires_grad, len(grads) == len(list(model.parameters()))
    (True, True)
    """
    from torch.func import functional_call

    task, steps = base.task, base.inner_steps
    guesses, feedback = functional_call(model, params, (task, first[0], steps, first[1]))
    grads = torch.autograd.grad(net.loss(guesses, first[0], base.loss_on), list(params.values()), create_graph=True)
    _, after = functional_call(model, _step(params, grads, length), (task, second[0], steps, second[1]))
    return scored_steps(after, base.loss_on).mean(), grads, feedback


@dataclass
class MetaResult:
    """A meta-trained loss: the network, the meta-training history (``iteration``,
    ``learned``: the objective after the learned loss's lookahead step, ``plain``: after the
    plain objective's, ``before``: with no step; the last two every ``compare_every``
    iterations) and ``meta`` (seconds, the pretraining misfit)."""

    spec: LearnedLossConfig
    net: LossNet
    history: dict[str, np.ndarray]
    meta: dict


def meta_train(spec: LearnedLossConfig, progress: bool = False) -> MetaResult:
    """Meta-train the loss of ``spec`` (online ML3, see the module docstring), in memory.
    Deterministic on the CPU: the same spec gives the same weights.
    (Trains: the examples are in ``tests/test_learned_loss.py``.)"""
    from torch.func import functional_call

    from badgerlib.run import build_model

    base, task = spec.base, spec.base.task
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        net = LossNet(spec.hidden)
    gen = torch.Generator().manual_seed(spec.seed)
    misfit = _pretrain(net, task, spec.pretrain, gen)
    meta_opt = torch.optim.Adam(net.parameters(), lr=spec.meta_lr)
    rows = {"iteration": [], "learned": [], "plain": [], "before": []}
    model = opt = None
    S, B = base.inner_steps, base.batch
    for m in tqdm(range(spec.meta_iterations), disable=not progress, desc="meta-train loss", unit="it"):
        if m % spec.episode == 0:            # a fresh Badger, as at the start of training
            model = build_model(base.replace(seed=spec.seed * 1_000_003 + m // spec.episode))
            opt = OPTIMIZERS[base.optimizer](model.parameters(), base)
        params = dict(model.named_parameters())
        first = (task.sample_targets(B, gen), model.initial_noise(B, gen))
        second = (task.sample_targets(B, gen), model.initial_noise(B, gen))
        learned, grads, feedback = lookahead(net, model, params, base, first, second, spec.lookahead)
        if m % spec.compare_every == 0:      # the plain objective's lookahead on the same batches
            plain_grads = torch.autograd.grad(scored_steps(feedback, base.loss_on).mean(), list(params.values()),
                                              retain_graph=True)
            with torch.no_grad():
                _, f_plain = functional_call(model, _step(params, plain_grads, spec.lookahead),
                                             (task, second[0], S, second[1]))
                _, f_before = functional_call(model, params, (task, second[0], S, second[1]))
            rows["iteration"].append(m)
            rows["learned"].append(learned.item())
            rows["plain"].append(scored_steps(f_plain, base.loss_on).mean().item())
            rows["before"].append(scored_steps(f_before, base.loss_on).mean().item())
        meta_grads = torch.autograd.grad(learned, list(net.parameters()))
        meta_opt.zero_grad(set_to_none=True)
        for p, g in zip(net.parameters(), meta_grads):
            p.grad = g
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        meta_opt.step()
        # the Badger's own update, on the learned loss, as training with it does
        opt.zero_grad(set_to_none=True)
        for p, g in zip(params.values(), grads):
            p.grad = g.detach()
        if base.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), base.grad_clip)
        opt.step()
    for p in net.parameters():
        p.requires_grad_(False)
    history = {k: np.asarray(v, dtype=float) for k, v in rows.items()}
    return MetaResult(spec, net.eval(), history, {"seconds": time.perf_counter() - started, "pretrain_misfit": misfit})


def lookahead_gain(history: dict[str, np.ndarray], last: float = 0.5) -> dict:
    """Whether the learned loss steps better than the plain objective over the last ``last``
    share of meta-training: the median over those measurements of the improvement each gives
    (``before - after``), ``learned`` and ``plain``, and their ratio ``gain`` (above 1: the
    learned loss's step lowers the task's objective more).

    Example
    -------
    >>> h = {"learned": np.array([0.9, 0.8]), "plain": np.array([0.95, 0.9]), "before": np.array([1.0, 1.0])}
    >>> g = lookahead_gain(h, last=1.0)
    >>> round(g["learned"], 3), round(g["plain"], 3), round(g["gain"], 2)
    (0.15, 0.075, 2.0)
    """
    n = len(history["learned"])
    keep = slice(n - max(1, int(round(last * n))), n)
    learned = float(np.median(history["before"][keep] - history["learned"][keep]))
    plain = float(np.median(history["before"][keep] - history["plain"][keep]))
    return {"learned": learned, "plain": plain, "gain": learned / plain if plain != 0 else math.nan,
            "measurements": n - keep.start}


# ------------------------------------------------------------------------ storage, lookup
def loss_path(spec: LearnedLossConfig, runs_dir: str | Path | None = None) -> Path:
    """Where the learned loss of ``spec`` is stored: ``learned_losses/<hash>`` in the run store.

    Example
    -------
    >>> loss_path(LearnedLossConfig(), "/tmp/r").parent
    PosixPath('/tmp/r/learned_losses')
    """
    root = Path(runs_dir) if runs_dir is not None else store.active_runs_dir()
    return root / "learned_losses" / store.config_hash(spec)


def save(result: MetaResult, path: Path) -> None:
    """Store a meta-trained loss in ``path`` (atomic: readers see all of it or none)."""
    path.mkdir(parents=True, exist_ok=True)
    weights = {k: v.tolist() for k, v in result.net.state_dict().items()}
    payload = {"spec": result.spec.to_dict(),
               "weights": weights, "history": {k: v.tolist() for k, v in result.history.items()},
               "meta": result.meta}
    store.atomic_write_bytes(path / "loss.json", json.dumps(payload).encode())


def load(spec: LearnedLossConfig, path: Path) -> MetaResult | None:
    """The stored loss of ``spec`` in ``path``, or None when there is none (or it is unreadable)."""
    try:
        payload = json.loads((path / "loss.json").read_text())
    except (OSError, ValueError):
        return None
    net = LossNet(spec.hidden)
    net.load_state_dict({k: torch.tensor(v) for k, v in payload["weights"].items()})
    for p in net.parameters():
        p.requires_grad_(False)
    history = {k: np.asarray(v, dtype=float) for k, v in payload["history"].items()}
    return MetaResult(spec, net.eval(), history, payload["meta"])


_RESOLVED: dict[str, MetaResult] = {}


def resolve(spec: LearnedLossConfig, runs_dir: str | Path | None = None, progress: bool = False) -> MetaResult:
    """The meta-trained loss of ``spec``: from this process's memory, else from the run store
    (``runs_dir``, default the one the current training writes to), else meta-trained now
    and stored there. Under the store's lock, so two processes do not both meta-train it."""
    key = store.config_hash(spec)
    if key in _RESOLVED:
        return _RESOLVED[key]
    path = loss_path(spec, runs_dir)
    found = load(spec, path)
    if found is None:
        path.mkdir(parents=True, exist_ok=True)
        with store.run_lock(path):
            found = load(spec, path)
            if found is None:
                found = meta_train(spec, progress=progress)
                save(found, path)
    _RESOLVED[key] = found
    return found


def ml3(model, rollout, config) -> torch.Tensor:
    """The ``"ml3"`` gradient transform: backpropagate the learned loss of
    ``config.learned_loss`` (:func:`resolve`); the history records the task's objective.
    (Trains: examples in ``tests/test_learned_loss.py``.)"""
    spec = config.learned_loss
    if spec is None:
        raise ValueError("RunConfig.gradient = 'ml3': needs RunConfig.learned_loss = LearnedLossConfig(...) "
                         "(how the loss is meta-trained)")
    net = resolve(spec).net
    net.to(rollout.guesses.device, rollout.guesses.dtype)
    net.loss(rollout.guesses, rollout.targets, config.loss_on).backward()
    return objective(rollout, config.loss_on).detach()


register_gradient_transform("ml3", ml3)
