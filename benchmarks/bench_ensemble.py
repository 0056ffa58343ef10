"""Milliseconds per outer iteration per seed when S seeds of the study-scale run train together.

Two ways to step an ensemble:

- ``exact``: :func:`badgerlib.ensemble.update_many`, what ``train_many`` does: one vmapped
  forward and backward for all seeds, then per seed its own clipping and Adam step (a Python
  loop over seeds; bit-identical to each seed alone on the CPU).
- ``stacked``: :class:`badgerlib.ensemble.StackedSeeds`, what ``train_many(mode="stacked")``
  does: the same vmapped gradients, then the clipping vectorised over seeds and one Adam over
  the stacked weights: no loop over seeds at all (what a GPU needs).
- ``graphs``: the same under CUDA graphs (``torch.compile(mode="reduce-overhead")``), what
  ``train_many`` does on a CUDA device.

Run: ``python -m benchmarks.bench_ensemble [--device cuda] [--seeds 1 4 8 16] [--n 20]
[--modes exact stacked graphs]``.
"""
from __future__ import annotations

import argparse
import time

import torch

from badgerlib.chapters.standard import standard_run
from badgerlib.ensemble import StackedSeeds, update_many
from badgerlib.sweep import seeds
from badgerlib.train import resume


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def exact_step(states):
    """One ``train_many`` iteration."""
    return update_many(states)


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
                ens = StackedSeeds(states, graphs=mode == "graphs")
                every = list(range(len(states)))
                fn = lambda: ens.step(every)  # noqa: E731
            t0 = time.perf_counter()
            ms = 1e3 * time_it(fn, args.device, args.repeats, warmup=3 if mode in ("exact", "stacked") else 5)
            rows.append(dict(seeds=s, mode=mode, ms=ms, per_seed=ms / s, wall=time.perf_counter() - t0))
            print(f"| {s} | {mode} | {ms:.1f} | {ms / s:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
