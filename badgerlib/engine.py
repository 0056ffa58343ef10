"""How an outer step runs the inner loop: ``RunConfig.engine``.

``"eager"`` runs :meth:`badgerlib.model.InnerLoopModel.rollout` op by op, as every run stored
before engines existed did. ``"compiled"`` runs the model's functional ``forward`` (the same
inner loop, with the initial-state noise drawn beforehand from the same generator, in the same
order) through ``torch.compile``: the inner loop is unrolled into one graph, its elementwise
work fused into a few generated kernels, and the backward compiled with it.

Measured (``benchmarks/bench_model.py``; the profile is in the README): on 2 CPU cores the N =
20 agent (E = 16, H = 64, 24 inner steps, batch 32) takes about half the eager time per outer
iteration. What is left is about half in some 360 small matrix products per iteration (already
near the machine's matmul speed each) and about a third in the fused elementwise kernels of 24
unrolled steps, forward and backward.

Costs and guarantees:

* the first call compiles, about a minute per shape of agent on 2 cores; the kernels are
  cached on disk (:func:`cache_dir`), so the next process needs a few seconds;
* compiled numbers equal eager ones to float tolerance, not bit for bit (fused kernels round in
  another order), which is why the engine is part of a run's hash; a compiled run is still
  bit-identical when rerun or resumed on the same machine and thread count;
* where compiling fails (no C++ compiler, an unsupported platform), :class:`CompiledForward`
  warns once and runs eagerly; the run's ``meta["engine"]`` says which engine ran.

Example
-------
>>> import torch
>>> from badgerlib import GuessingGame, MicroBadger, MicroBadgerConfig
>>> model = MicroBadger(MicroBadgerConfig(experts=2, hidden=4), dims=2)
>>> forward = forward_for(model, "eager")
>>> forward.engine
'eager'
>>> guesses, feedback = forward(GuessingGame(n=2), torch.zeros(3, 2), 4, model.initial_noise(3))
>>> guesses.shape, feedback.shape
(torch.Size([3, 5, 2]), torch.Size([3, 5]))
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from badgerlib.checks import check_choice
from badgerlib.config import ENGINES


def cache_dir() -> Path:
    """Where torch keeps compiled kernels between processes: ``$TORCHINDUCTOR_CACHE_DIR`` if
    set, else torch's default under the temporary directory (``/tmp/torchinductor_<user>``).
    Set the variable before starting Python to keep the cache across reboots or to share it.

    Example
    -------
    >>> cache_dir().is_dir()
    True
    """
    from torch._inductor.runtime.cache_dir_utils import cache_dir as inductor_cache_dir

    return Path(inductor_cache_dir())


class EagerForward:
    """The model's functional ``forward``, op by op.

    Example: see the module docstring."""

    engine = "eager"

    def __init__(self, model: torch.nn.Module):
        self.model = model

    def __call__(self, task, targets: torch.Tensor, steps: int, noise: torch.Tensor):
        return self.model(task, targets, steps, noise)


class CompiledForward(EagerForward):
    """The model's functional ``forward`` through ``torch.compile``, compiled on first call;
    if compiling fails it warns once, says why in :attr:`engine` and runs eagerly from then
    on. The tests compile a tiny agent and compare it with the eager one."""

    engine = "compiled"

    def __init__(self, model: torch.nn.Module):
        super().__init__(model)
        self.compiled = torch.compile(model)

    def __call__(self, task, targets: torch.Tensor, steps: int, noise: torch.Tensor):
        if self.compiled is None:
            return super().__call__(task, targets, steps, noise)
        try:
            return self.compiled(task, targets, steps, noise)
        except Exception as err:  # noqa: BLE001 - any compiler failure; a model error reappears eagerly
            if not _is_compile_failure(err):
                raise
            self.compiled = None
            self.engine = f"eager (torch.compile failed: {type(err).__name__})"
            warnings.warn(f"engine = 'compiled': torch.compile failed on this machine ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''}); running eagerly instead", RuntimeWarning,
                          stacklevel=2)
            return super().__call__(task, targets, steps, noise)


def _is_compile_failure(err: Exception) -> bool:
    """Whether ``err`` came from the compiler stack (dynamo, inductor, the C++ toolchain) rather
    than from the model's own code."""
    return any((cls.__module__ or "").startswith(("torch._dynamo", "torch._inductor")) for cls in type(err).__mro__)


def forward_for(model: torch.nn.Module, engine: str = "eager") -> EagerForward:
    """The callable ``(task, targets, steps, noise) -> (guesses, feedback)`` that runs
    ``model``'s inner loop with ``engine`` (one of :data:`badgerlib.config.ENGINES`).

    Example
    -------
    >>> forward_for(torch.nn.Identity(), "jit")
    Traceback (most recent call last):
    ...
    ValueError: RunConfig.engine = 'jit': must be one of ('eager', 'compiled')
    """
    check_choice("RunConfig", "engine", engine, ENGINES)
    return CompiledForward(model) if engine == "compiled" else EagerForward(model)
