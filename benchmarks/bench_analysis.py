"""Seconds taken by the analysis estimators at the sizes the book uses, against their targets.

Measured, never asserted: the table says whether each target is met on this machine.
Run: ``python benchmarks/bench_analysis.py`` or ``python -m benchmarks`` (``make bench``).
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

from badgerlib.analysis import dynamics, info


def best_of(fn, repeats: int = 3) -> float:
    """Fastest of ``repeats`` wall-clock runs (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cases():
    """(what, size, callable, target seconds or None)."""
    rng = np.random.default_rng(0)
    snapshot = rng.standard_normal((5000, 32, 4))            # samples x experts x dims
    snapshot += rng.standard_normal((5000, 1, 4))              # a shared signal, so B > 0
    x = rng.standard_normal((2000, 8))
    y = 0.6 * x + 0.8 * rng.standard_normal((2000, 8))
    logistic = dynamics.logistic_map(5000)
    noise = rng.standard_normal(5000)
    pairs = rng.standard_normal((2000, 14, 4))
    return [
        ("binding information, Gaussian copula", "32 experts x 4 dims x 5000 samples",
         lambda: info.binding_information(snapshot), 1.0),
        ("all four measures, Gaussian copula", "32 experts x 4 dims x 5000 samples",
         lambda: info.information_summary(snapshot), None),
        ("pairwise MI matrix, Gaussian copula", "14 experts x 4 dims x 2000 samples",
         lambda: info.pairwise_mutual_information(pairs), None),
        ("mutual information, KSG (k=3)", "2000 samples, 8 + 8 dims",
         lambda: info.mutual_information(x, y, method="ksg"), 5.0),
        ("Lyapunov exponent (nolds lyap_r)", "5000 points",
         lambda: dynamics.lyapunov_exponent(logistic), None),
        ("Hurst exponent (nolds hurst_rs)", "5000 points",
         lambda: dynamics.hurst_exponent(noise), None),
    ]


def main() -> list[dict]:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", info.DegenerateDataWarning)
        for what, size, fn, target in cases():
            fn()  # warm-up: imports (nolds), caches
            seconds = best_of(fn)
            ok = "-" if target is None else ("yes" if seconds < target else "NO")
            rows.append(dict(what=what, size=size, seconds=seconds, target=target, ok=ok))
    # Small-matrix BLAS calls slow down several-fold when other processes compete for the
    # cores, so say how busy the machine was.
    print(f"numpy {np.__version__}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          "best of 3 runs after a warm-up\n")
    widths = [max(len(r["what"]) for r in rows), max(len(r["size"]) for r in rows)]
    head = f"{'what':<{widths[0]}}  {'size':<{widths[1]}}  {'seconds':>8}  {'target':>7}  ok"
    print(head)
    print("-" * len(head))
    for r in rows:
        target = "-" if r["target"] is None else f"< {r['target']:g}"
        print(f"{r['what']:<{widths[0]}}  {r['size']:<{widths[1]}}  {r['seconds']:>8.3f}  {target:>7}  {r['ok']}")
    return rows


if __name__ == "__main__":
    main()
