"""The GPU check of seed ensembles (issue 11, item 6), as one short script for a lent GPU.

1. Correctness on CUDA: two seeds of a small run trained by ``train_many`` on the GPU (its
   CUDA default: the stacked optimiser under CUDA graphs) and one by one (not bit-identical
   there: the stacked step sums in other orders; the largest difference of the histories and
   of the final weights is printed, and checked at the CPU test's tolerance, rtol 1e-4).
2. Speed at the study's scale (N = 20: E16/H64/S24/B32): ms per outer iteration for 1, 20 and
   100 seeds, the exact path (``train_many``) and the stacked path, eager, and the stacked
   path under CUDA graphs (``torch.compile(mode="reduce-overhead")``) when time allows.
3. ``train_many`` itself end to end at N = 20 with 20 seeds (full mode's snapshot spacing,
   run store, locks, snapshots synced out of the stacked weights): wall time of a short and a
   longer run, whose difference gives the steady cost per iteration without the compile.
4. Chapter 2's full mode projected from it: one 20-seed ensemble per N.

Run: ``python -m benchmarks.device_ensemble`` (on a machine with CUDA).
"""
from __future__ import annotations

import signal
import tempfile
import time

import numpy as np
import torch

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, train
from badgerlib.chapters import plateaus
from badgerlib.chapters.standard import standard_run
from badgerlib.ensemble import train_many
from badgerlib.sweep import seeds

from benchmarks import bench_ensemble


def _relative(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12)) if a.size else 0.0


def correctness(device: str = "cuda") -> bool:
    """``train_many``'s default path on ``device`` against each seed trained alone there;
    True when every history and weight agrees within the CPU test's rtol 1e-4 (atol 1e-6)."""
    base = RunConfig(task=GuessingGame(n=3), model=MicroBadgerConfig(experts=4, hidden=8), iterations=30, batch=8,
                     inner_steps=4, snapshot_count=2, probe_batch=5)
    configs = seeds(base, 2)
    t0 = time.perf_counter()
    runs = train_many(configs, runs_dir=tempfile.mkdtemp(), device=device, progress=False)
    print(f"train_many({device}) on 2 small seeds: {time.perf_counter() - t0:.1f} s (compile included)", flush=True)
    ok = True
    for cfg, run in zip(configs, runs):
        alone = train(cfg, cache=False, device=device, progress=False)
        hist = max(float(np.max(np.abs(run.history[k] - alone.history[k]))) for k in run.history)
        close = all(np.allclose(run.history[k], alone.history[k], rtol=1e-4, atol=1e-6) for k in run.history)
        close &= all(np.allclose(run.model_state[k].cpu().numpy(), alone.model_state[k].cpu().numpy(),
                                 rtol=1e-4, atol=1e-6) for k in run.model_state)
        weights = max(_relative(run.model_state[k].cpu().numpy(), alone.model_state[k].cpu().numpy())
                      for k in run.model_state)
        print(f"{device} train_many vs alone, seed {cfg.seed}: largest history difference {hist:.2e}, "
              f"largest relative weight difference {weights:.2e}: "
              f"{'within' if close else 'OUTSIDE'} rtol 1e-4", flush=True)
        ok &= close
    return ok


def end_to_end(device: str, n_seeds: int, lengths: tuple[int, int]) -> float:
    """Wall time of ``train_many`` on ``n_seeds`` seeds of the full-mode N = 20 run cut to each
    length (same snapshot spacing); returns the steady ms per ensemble iteration from the
    difference of the two."""
    walls = []
    for its in lengths:
        configs = [standard_run(20, s, False, iterations=its) for s in range(n_seeds)]
        t0 = time.perf_counter()
        train_many(configs, runs_dir=tempfile.mkdtemp(), device=device, progress=False, mode="stacked")
        walls.append(time.perf_counter() - t0)
        print(f"train_many({device}), {n_seeds} seeds, N = 20, {its} iterations: {walls[-1]:.1f} s wall "
              f"(compile, snapshots and store included)", flush=True)
    ms = 1e3 * (walls[1] - walls[0]) / (lengths[1] - lengths[0])
    print(f"steady train_many cost: {ms:.1f} ms per ensemble iteration = {ms / n_seeds:.2f} ms per seed", flush=True)
    return ms


def projection(ms_per_iteration_20: float) -> None:
    size = plateaus.sizes(False)
    its = [standard_run(n, 0, False).iterations for n in size.ns]
    feature = plateaus.configs(False)["features"]
    feature_its = sorted({c.iterations for c in feature})
    total = sum(its) + len(plateaus.FEATURE_SETS) * max(feature_its)
    hours = total * ms_per_iteration_20 / 1e3 / 3600
    print(f"\nchapter 2 full mode as one {size.seeds}-seed ensemble per configuration: {total:,} ensemble "
          f"iterations x {ms_per_iteration_20:.1f} ms (the N = 20 cost, an upper bound for smaller N) "
          f"= {hours:.2f} h on this GPU", flush=True)


class _Timeout(Exception):
    pass


def main() -> None:
    print(torch.__version__, torch.cuda.get_device_name(0), flush=True)
    t0 = time.perf_counter()
    print("CORRECTNESS", "PASS" if correctness() else "FAIL", flush=True)
    rows = bench_ensemble.main(["--device", "cuda", "--seeds", "1", "20", "100", "--modes", "exact", "stacked",
                                "--repeats", "10"])
    stacked20 = next(r["ms"] for r in rows if r["seeds"] == 20 and r["mode"] == "stacked")
    projection(stacked20)
    print(f"\n(eager part took {time.perf_counter() - t0:.0f} s)", flush=True)

    def stop(*_):
        raise _Timeout

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(200)      # CUDA graphs need a compile per shape: stop trying after 200 s
    try:
        rows = bench_ensemble.main(["--device", "cuda", "--seeds", "20", "100", "--modes", "graphs",
                                    "--repeats", "10"])
        projection(next(r["ms"] for r in rows if r["seeds"] == 20))
    except _Timeout:
        print("CUDA graphs: compile did not finish within 200 s; not measured", flush=True)
    finally:
        signal.alarm(0)

    signal.alarm(240)
    try:
        projection(end_to_end("cuda", 20, (300, 1300)))
    except _Timeout:
        print("train_many end to end: not finished within 240 s", flush=True)
    finally:
        signal.alarm(0)
    print(f"\n(whole script {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
