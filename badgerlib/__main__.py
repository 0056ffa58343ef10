"""Command line: ``python -m badgerlib train ...`` trains (or loads) a Micro-Badger run.

Progress goes to stderr; the last line of stdout is the run directory, so scripts can do
``dir=$(python -m badgerlib train ... | tail -n 1)``. Bad arguments exit with status 2 and one
line naming the argument, the value and what is allowed.

Example
-------
>>> main(["train", "--n", "0"])
2
"""
from __future__ import annotations

import argparse
import os
import sys

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
    t.add_argument("--topology", default="random", help="random, ring or complete (default random)")
    t.add_argument("--hidden", type=int, default=32, help="hidden size H (default 32)")
    t.add_argument("--inner-steps", type=int, default=10, help="guesses per rollout (default 10)")
    t.add_argument("--iterations", type=int, default=2000, help="outer iterations (default 2000)")
    t.add_argument("--batch", type=int, default=32, help="tasks per iteration (default 32)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--loss-on", default="all", help="all or last inner step (default all)")
    t.add_argument("--seed", type=int, default=0, help="the one seed (default 0)")
    t.add_argument("--dtype", default="float32", help="float32 or float64 (default float32)")
    t.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    t.add_argument("--runs-dir", default=None, help="run store (default $BADGER_RUNS or ./runs)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    Examples (they train) are in ``tests/test_cli.py``.
    """
    args = _parser().parse_args(argv)
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
        from badgerlib.train import train  # torch-heavy import only once the arguments are valid
        run = train(config, runs_dir=args.runs_dir, device=args.device, progress=not args.no_progress)
    except ValueError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("badgerlib train: interrupted; the run resumes from its checkpoint next time", file=sys.stderr)
        return 130
    print(run.path)
    return 0


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


def _fail(message: str) -> int:
    print(f"badgerlib train: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
