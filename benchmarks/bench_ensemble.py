"""Milliseconds per outer iteration per seed when S seeds of the study-scale run train together.

Two ways to step an ensemble:

- ``exact``: :func:`badgerlib.ensemble.update_many`, what ``train_many`` does: one vmapped
  forward and backward for all seeds, then per seed its own clipping and Adam step (a Python
  loop over seeds; bit-identical to each seed alone on the CPU).
- ``stacked``: the same vmapped gradients, then the clipping vectorised over seeds and one Adam
  over the stacked weights: no loop over seeds at all (what a GPU needs; not bit-identical).

Run: ``python -m benchmarks.bench_ensemble [--device cuda] [--seeds 1 4 8 16] [--n 20]``.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from badgerlib.chapters.standard import standard_run
from badgerlib.config import torch_dtype
from badgerlib.ensemble import update_many
from badgerlib.objective import scored_steps
from badgerlib.sweep import seeds
from badgerlib.train import resume


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def exact_step(states):
    """One ``train_many`` iteration."""
    return update_many(states)


class StackedEnsemble:
    """The ensemble with its weights stacked as leaves and one optimiser over them."""

    def __init__(self, states, compile_mode: str | None = None):
        self.cfg, self.model, self.device = states[0].config, states[0].model, states[0].device
        params, self.buffers = stack_module_state([st.model for st in states])
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
        self.opt = torch.optim.Adam(self.params.values(), lr=self.cfg.lr)
        self.gens = [st.generator for st in states]
        cfg, model = self.cfg, self.model

        def loss(p, b, t, n):
            _, feedback = functional_call(model, (p, b), (cfg.task, t, cfg.inner_steps, n))
            return scored_steps(feedback, cfg.loss_on).mean()

        grads = vmap(grad_and_value(loss), randomness="error")
        self.grads = torch.compile(grads, mode=compile_mode) if compile_mode else grads

    def draws(self):
        cfg, dtype = self.cfg, torch_dtype(self.cfg.dtype)
        t = torch.stack([cfg.task.sample_targets(cfg.batch, g, dtype, self.device) for g in self.gens])
        n = torch.stack([self.model.initial_noise(cfg.batch, g) for g in self.gens])
        return t, n

    def step(self, targets, noise):
        params = {k: v.detach() for k, v in self.params.items()}
        g, losses = self.grads(params, self.buffers, targets, noise)
        sq = sum(x.pow(2).flatten(1).sum(1) for x in g.values())           # per seed
        coef = (self.cfg.grad_clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
        for k, p in self.params.items():
            p.grad = g[k] * coef.view(-1, *([1] * (g[k].dim() - 1)))
        self.opt.step()
        return losses


def time_it(fn, device: str, repeats: int, warmup: int) -> float:
    times = []
    for i in range(warmup + repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--modes", nargs="+", default=["exact", "stacked"])
    args = ap.parse_args(argv)
    base = standard_run(args.n, quick=False).replace(snapshot_count=0)
    m = base.model
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} CPU threads; "
          f"N = {args.n}, E{m.experts}/H{m.hidden}/S{base.inner_steps}/B{base.batch}, median of {args.repeats}\n")
    print("| seeds | mode | ms per iteration (all seeds) | ms per seed |")
    print("|---|---|---|---|")
    rows = []
    for s in args.seeds:
        for mode in args.modes:
            states = [resume(c, None, args.device) for c in seeds(base, s)]
            if mode == "exact":
                fn = lambda: exact_step(states)  # noqa: E731
            else:
                compile_mode = {"stacked": None, "compiled": "default", "graphs": "reduce-overhead"}[mode]
                ens = StackedEnsemble(states, compile_mode)
                fn = lambda: ens.step(*ens.draws())  # noqa: E731
            t0 = time.perf_counter()
            ms = 1e3 * time_it(fn, args.device, args.repeats, warmup=3 if mode in ("exact", "stacked") else 5)
            rows.append(dict(seeds=s, mode=mode, ms=ms, per_seed=ms / s, wall=time.perf_counter() - t0))
            print(f"| {s} | {mode} | {ms:.1f} | {ms / s:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
