"""Run every benchmark and print its table: ``python -m benchmarks``."""
import importlib
import pkgutil

import benchmarks

for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
    if info.name.startswith("bench_"):
        print(f"\n## {info.name}\n")
        importlib.import_module(f"benchmarks.{info.name}").main()
