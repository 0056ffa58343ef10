"""The GPU check of seed ensembles (issue 11, item 6), as one short script for a lent GPU.

1. Correctness on CUDA: two seeds of a small run trained as an ensemble and one by one on the
   GPU (not bit-identical there: GPU kernels reduce in other orders; the largest difference
   of the histories is printed).
2. Speed at the study's scale (N = 20: E16/H64/S24/B32): ms per outer iteration for 1, 20 and
   100 seeds, the exact path (``train_many``) and the stacked path, eager, and the stacked
   path under CUDA graphs (``torch.compile(mode="reduce-overhead")``) when time allows.
3. Chapter 2's full mode projected from it: one 20-seed ensemble per N.

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


def correctness() -> None:
    base = RunConfig(task=GuessingGame(n=3), model=MicroBadgerConfig(experts=4, hidden=8), iterations=30, batch=8,
                     inner_steps=4, snapshot_count=2, probe_batch=5)
    configs = seeds(base, 2)
    runs = train_many(configs, runs_dir=tempfile.mkdtemp(), device="cuda", progress=False)
    for cfg, run in zip(configs, runs):
        alone = train(cfg, cache=False, device="cuda", progress=False)
        diff = max(float(np.max(np.abs(run.history[k] - alone.history[k]))) for k in run.history)
        print(f"cuda ensemble vs alone, seed {cfg.seed}: largest history difference {diff:.2e}", flush=True)


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
    correctness()
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


if __name__ == "__main__":
    main()
