"""Command line.

- ``python -m badgerlib train ...`` trains (or loads) a Micro-Badger run. Progress goes to
  stderr; the last line of stdout is the run directory, so scripts can do
  ``dir=$(python -m badgerlib train ... | tail -n 1)``.
- ``python -m badgerlib precompute <chapter> [--mode quick|full] [--scheduler ADDRESS]
  [--runs-dir DIR] [--workers N]`` trains every run the chapter module
  ``badgerlib.chapters.<chapter>`` needs (its ``configs(quick)``) that the run store lacks, on
  local processes or, with ``--scheduler`` (or ``$BADGER_SCHEDULER``), on a Dask cluster;
  stdout: one summary line per group of runs, then every run directory, one per line.
- ``python -m badgerlib status <chapter> [--mode quick|full] [--runs-dir DIR]`` says where each
  of those runs stands in the store, without training or loading any: stored, training (a
  process holds it now), paused (a checkpoint, resumed by the next precompute) or missing;
  stdout: a summary line with the share of iterations done, one line per group, then one line
  per run in training or paused, with its pace and the time it has left at most.

Bad arguments exit with status 2 and one line naming the argument, the value and what is
allowed; the heavy imports (a chapter module, Dask) come after the arguments are checked.

Example
-------
>>> main(["train", "--n", "0"])
2
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import pkgutil
import re
import sys

from badgerlib.checks import TOPOLOGIES
from badgerlib.config import MicroBadgerConfig, RunConfig
from badgerlib.tasks import GuessingGame


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line, without the usage block."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="badgerlib", description="Micro-Badger on the guessing game.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train (or load a stored) Micro-Badger run; prints the run directory")
    t.add_argument("--n", type=int, default=3, help="numbers to guess (default 3)")
    t.add_argument("--metric", default="mse", help="feedback: mse or l1 (default mse)")
    t.add_argument("--experts", type=int, default=8, help="experts E (default 8)")
    t.add_argument("--links", type=int, default=None, help="out-links per expert (default min(3, E-1))")
    t.add_argument("--topology", default="random",
                   help="an expert-graph family: " + ", ".join(TOPOLOGIES) + " (default random)")
    t.add_argument("--hidden", type=int, default=32, help="hidden size H (default 32)")
    t.add_argument("--inner-steps", type=int, default=10, help="guesses per rollout (default 10)")
    t.add_argument("--iterations", type=int, default=2000, help="outer iterations (default 2000)")
    t.add_argument("--batch", type=int, default=32, help="tasks per iteration (default 32)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--loss-on", default="all", help="all or last inner step (default all)")
    t.add_argument("--seed", type=int, default=0, help="the one seed (default 0)")
    t.add_argument("--seeds", default=None,
                   help="several seeds trained together as one ensemble, e.g. 0-7 or 0,3,5 (replaces --seed); "
                        "prints one run directory per line")
    t.add_argument("--dtype", default="float32", help="float32 or float64 (default float32)")
    t.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    t.add_argument("--runs-dir", default=None, help="run store (default $BADGER_RUNS or ./runs)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("precompute", help="train every run a chapter needs into the run store; prints a summary "
                                          "per group, then the run directories")
    p.add_argument("chapter", help=f"a chapter module of badgerlib.chapters ({', '.join(_chapter_names())})")
    p.add_argument("--mode", default=None, help="quick or full (default $BADGER_MODE, else quick)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address, e.g. tcp://host:8786 (default $BADGER_SCHEDULER; "
                        "'local' or unset: local processes)")
    p.add_argument("--runs-dir", default=None, help="run store, shared by all workers (default $BADGER_RUNS or ./runs)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default one per core)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    st = sub.add_parser("status", help="where every run a chapter needs stands in the run store (stored, training, "
                                       "paused, missing); trains nothing")
    st.add_argument("chapter", help=f"a chapter module of badgerlib.chapters ({', '.join(_chapter_names())})")
    st.add_argument("--mode", default=None, help="quick or full (default $BADGER_MODE, else quick)")
    st.add_argument("--runs-dir", default=None, help="run store (default $BADGER_RUNS or ./runs)")
    return parser


CHAPTERS = "badgerlib.chapters"

#: A Dask scheduler address: a protocol and a place (tcp://host:8786, tls://..., inproc://...)
#: or host:port.
_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|[^\s:/]+:\d+)$")


def _chapter_names() -> list[str]:
    """The chapter modules that say which runs they need (define ``configs``), found without
    importing them (importing a chapter pulls in pandas, matplotlib, scipy), plus any module
    registered under ``badgerlib.chapters.`` in ``sys.modules`` that has ``configs``."""
    spec = importlib.util.find_spec(CHAPTERS)
    names = set()
    for info in pkgutil.iter_modules(spec.submodule_search_locations):
        if info.name.startswith("_"):
            continue
        origin = importlib.util.find_spec(f"{CHAPTERS}.{info.name}").origin
        try:
            with open(origin, encoding="utf-8") as fh:
                if re.search(r"^def configs\(", fh.read(), re.MULTILINE):
                    names.add(info.name)
        except OSError:
            pass
    prefix = CHAPTERS + "."
    names.update(name[len(prefix):] for name, module in list(sys.modules.items())
                 if name.startswith(prefix) and "." not in name[len(prefix):] and hasattr(module, "configs"))
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    Examples (they train) are in ``tests/test_cli.py`` and ``tests/test_precompute.py``.
    """
    args = _parser().parse_args(argv)
    if args.command == "precompute":
        return _precompute(args)
    if args.command == "status":
        return _status(args)
    return _train(args)


def _train(args: argparse.Namespace) -> int:
    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        return _fail(f"--device = {args.device!r}: must be 'cpu' or 'cuda'")
    if args.runs_dir is not None and (problem := _unwritable(args.runs_dir)):
        return _fail(f"--runs-dir = {args.runs_dir!r}: {problem}; give a directory you can write to")
    try:
        config = RunConfig(
            task=GuessingGame(n=args.n, metric=args.metric),
            model=MicroBadgerConfig(experts=args.experts, hidden=args.hidden, topology=args.topology,
                                    links=args.links),
            inner_steps=args.inner_steps, iterations=args.iterations, batch=args.batch, lr=args.lr,
            loss_on=args.loss_on, seed=args.seed, dtype=args.dtype,
        )
        seeds = [args.seed] if args.seeds is None else parse_seeds(args.seeds)
        from badgerlib.ensemble import train_many  # torch-heavy import only once the arguments are valid
        runs = train_many([config.replace(seed=s) for s in seeds], runs_dir=args.runs_dir, device=args.device,
                          progress=not args.no_progress)
    except ValueError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("badgerlib train: interrupted; the run resumes from its checkpoint next time", file=sys.stderr)
        return 130
    for run in runs:
        print(run.path)
    return 0


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``--seeds``: ranges ``a-b`` (both ends included) and single seeds, joined by
    commas.

    Example
    -------
    >>> parse_seeds("0-3,7")
    [0, 1, 2, 3, 7]
    >>> parse_seeds("3-1")
    Traceback (most recent call last):
    ...
    ValueError: --seeds = '3-1': must be seeds like 0-7 or 0,3,5 (ranges low-high, each seed once)
    """
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            low, high = int(low), int(high) if high else int(low)
            if not 0 <= low <= high:
                raise ValueError
            seeds.extend(range(low, high + 1))
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds = {text!r}: must be seeds like 0-7 or 0,3,5 (ranges low-high, each seed once)")
    return seeds


def _unwritable(path: str) -> str | None:
    """Why runs cannot be stored under ``path`` (None when they can): it is created if missing
    and a file is written and removed in it, so that the problem shows before any training."""
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _chapter_and_mode(args: argparse.Namespace) -> tuple[str, str]:
    """The chapter module's name and the mode, checked; a ValueError names the bad one."""
    chapter = args.chapter.replace("-", "_")
    known = _chapter_names()
    if chapter not in known:
        raise ValueError(f"chapter = {args.chapter!r}: must be one of {', '.join(known)}")
    mode = args.mode if args.mode is not None else os.environ.get("BADGER_MODE") or "quick"
    if mode not in ("quick", "full"):
        source = "--mode" if args.mode is not None else "$BADGER_MODE"
        raise ValueError(f"{source} = {mode!r}: must be 'quick' or 'full'")
    return chapter, mode


def _chapter_groups(chapter: str, mode: str) -> dict:
    """Every run the chapter needs in this mode (a chapter with runs beyond its main
    experiment lists them all in ``all_configs``)."""
    module = importlib.import_module(f"{CHAPTERS}.{chapter}")
    return getattr(module, "all_configs", module.configs)(mode == "quick")


def _status(args: argparse.Namespace) -> int:
    try:
        chapter, mode = _chapter_and_mode(args)
    except ValueError as exc:
        return _fail(str(exc), "status")
    if args.runs_dir is not None and not os.path.isdir(args.runs_dir):
        return _fail(f"--runs-dir = {args.runs_dir!r}: no such directory; give the run store to read", "status")
    from badgerlib.store import RUN_STATES, default_runs_dir
    from badgerlib.sweep import store_status

    rows = store_status(_chapter_groups(chapter, mode), args.runs_dir)
    where = args.runs_dir or default_runs_dir()
    print(f"{chapter} ({mode}) in {where}: {_state_counts(rows)}; "
          f"{_done_share(rows)} of their iterations done (a stored run counts as whole)")
    for group in dict.fromkeys(g for row in rows for g in row["groups"]):
        mine = [row for row in rows if group in row["groups"]]
        print(f"  {group}: {_state_counts(mine)}")
    for state in RUN_STATES[1:3]:          # training, then paused: the runs under way
        for row in rows:
            if row["state"] == state:
                print(f"{state:<8}  {row['hash']}  {row['label']}: {row['done']:,} of {row['iterations']:,} "
                      f"iterations{_pace(row)}")
    return 0


def _pace(row: dict) -> str:
    """', 21.0 iterations/s of late, at most 2.0 h to go' for a run under way whose last two
    checkpoints give its pace, else its average over its training time so far (pauses
    included); '' without either. "At most": a run that stops when solved may end sooner.

    Example
    -------
    >>> _pace({"done": 2100, "iterations": 150000, "seconds": 500.0, "pace": 21.0})
    ', 21.0 iterations/s of late, at most 2.0 h to go'
    >>> _pace({"done": 2100, "iterations": 150000, "seconds": 100.0, "pace": 0.0})
    ', 21.0 iterations/s on average, at most 2.0 h to go'
    >>> _pace({"done": 0, "iterations": 10, "seconds": 0.0, "pace": 0.0})
    ''
    """
    if row.get("pace"):
        rate, how = row["pace"], "of late"
    elif row.get("seconds") and row["done"]:
        rate, how = row["done"] / row["seconds"], "on average"
    else:
        return ""
    return f", {rate:.1f} iterations/s {how}, at most {(row['iterations'] - row['done']) / rate / 3600:.1f} h to go"


def _state_counts(rows: list[dict]) -> str:
    """'12 runs: 3 stored, 1 training, 8 missing' (states with no run left out).

    Example
    -------
    >>> _state_counts([{"state": "stored"}, {"state": "missing"}, {"state": "missing"}])
    '3 runs: 1 stored, 2 missing'
    """
    from badgerlib.store import RUN_STATES

    counts = [(sum(row["state"] == s for row in rows), s) for s in RUN_STATES]
    return f"{len(rows)} run{'s' * (len(rows) != 1)}: " + ", ".join(f"{k} {s}" for k, s in counts if k)


def _done_share(rows: list[dict]) -> str:
    """The share of the runs' planned iterations done, stored runs counted whole.

    Example
    -------
    >>> _done_share([{"state": "stored", "done": 5, "iterations": 10}, {"state": "paused", "done": 5, "iterations": 10}])
    '75 %'
    """
    planned = sum(row["iterations"] for row in rows)
    done = sum(row["iterations"] if row["state"] == "stored" else row["done"] for row in rows)
    return f"{100 * done / max(planned, 1):.0f} %"


def _precompute(args: argparse.Namespace) -> int:
    fail = lambda message: _fail(message, "precompute")  # noqa: E731
    try:
        chapter, mode = _chapter_and_mode(args)
    except ValueError as exc:
        return fail(str(exc))
    scheduler = args.scheduler if args.scheduler is not None else os.environ.get("BADGER_SCHEDULER") or None
    if scheduler == "local":
        scheduler = None
    if scheduler is not None and not _ADDRESS.match(scheduler):
        source = "--scheduler" if args.scheduler is not None else "$BADGER_SCHEDULER"
        return fail(f"{source} = {scheduler!r}: must be a Dask scheduler address such as tcp://host:8786, "
                    f"or 'local' for local processes")
    if args.workers is not None:
        if scheduler is not None:
            return fail(f"--workers = {args.workers}: sets the local process pool only; a Dask cluster "
                        f"({scheduler}) has the workers it was started with")
        if args.workers < 1:
            return fail(f"--workers = {args.workers}: must be an integer >= 1")
    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        return fail(f"--device = {args.device!r}: must be 'cpu' or 'cuda'")
    if args.runs_dir is not None and (problem := _unwritable(args.runs_dir)):
        return fail(f"--runs-dir = {args.runs_dir!r}: {problem}; give a directory you can write to")

    # The arguments are valid: now the heavy imports.
    from badgerlib.sweep import precompute, unique_configs

    try:
        groups = _chapter_groups(chapter, mode)
        print(f"badgerlib precompute: {chapter} ({mode}): {len(unique_configs(groups))} runs, on "
              f"{scheduler or 'local processes'}", file=sys.stderr)
        with _executor(scheduler, args.workers) as executor:
            results = precompute(groups, executor=executor, runs_dir=args.runs_dir, device=args.device,
                                 progress=not args.no_progress)
    except ValueError as exc:
        return fail(str(exc))
    except (OSError, TimeoutError) as exc:
        if scheduler is None:
            raise
        return fail(f"--scheduler = {scheduler!r}: cannot reach it ({exc}); give the address of a running Dask "
                    f"scheduler")
    except KeyboardInterrupt:
        print("badgerlib precompute: interrupted; runs resume from their checkpoints next time", file=sys.stderr)
        return 130
    for result in results:
        print(result.summary())
    for path in dict.fromkeys(p for result in results for p in result.paths):
        print(path)
    return 0


class _executor:
    """The executor precompute runs on: a local process pool (``workers`` processes, or one
    per core), or a Dask cluster's through ``distributed.Client(address).get_executor()``;
    closed on exit."""

    def __init__(self, scheduler: str | None, workers: int | None):
        self.scheduler, self.workers, self.client, self.pool = scheduler, workers, None, None

    def __enter__(self):
        if self.scheduler is None:
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=self.workers or os.cpu_count() or 1)
            return self.pool
        try:
            import distributed
        except ImportError:
            raise ValueError(f"--scheduler = {self.scheduler!r}: needs the 'distributed' package "
                             f"(pip install distributed)") from None
        self.client = distributed.Client(self.scheduler, timeout="20s")
        return self.client.get_executor()

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=exc[0] is not None)
        if self.client is not None:
            self.client.close()
        return False


def _fail(message: str, command: str = "train") -> int:
    print(f"badgerlib {command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
