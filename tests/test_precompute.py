"""The cluster route: ``python -m badgerlib precompute <chapter>`` trains what a chapter needs
on local processes or a (local) Dask cluster into the run store, and two workers that pick
the same run do not both compute it (the run lock)."""
import json
import multiprocessing
import subprocess
import sys
import textwrap
import time
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from badgerlib import GuessingGame, MicroBadgerConfig, RunConfig, load_run, store, train
from badgerlib.__main__ import main
from badgerlib.sweep import GroupResult, precompute

TINY = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=3, message=2),
                 iterations=4, batch=2, inner_steps=2, snapshot_count=2, probe_batch=2)


def tiny_configs(quick: bool = True) -> dict[str, list[RunConfig]]:
    """A fake chapter's runs: two groups sharing one run; full mode trains longer."""
    base = TINY if quick else TINY.replace(iterations=6)
    return {"standard": [base.replace(seed=s) for s in range(2)],
            "extra": [base.replace(seed=1), base.replace(task=GuessingGame(n=1))]}


@pytest.fixture
def tiny_chapter(monkeypatch):
    """Register ``badgerlib.chapters.tiny_test`` (not a file: the CLI must find it in
    ``sys.modules``) whose ``configs`` gives :func:`tiny_configs`."""
    module = types.ModuleType("badgerlib.chapters.tiny_test")
    module.configs = tiny_configs
    monkeypatch.setitem(sys.modules, "badgerlib.chapters.tiny_test", module)
    return module


def run_main(capsys, *args):
    rc = main(["precompute", *args, "--no-progress"])
    out, err = capsys.readouterr()
    return rc, out.strip().splitlines(), err


def test_precompute_on_a_dask_cluster_trains_what_the_store_lacks(tmp_path, tiny_chapter, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    expected = {c: store.run_path(c, tmp_path) for c in dict.fromkeys(c for g in tiny_configs().values() for c in g)}
    train(TINY.replace(seed=0), runs_dir=tmp_path, progress=False)           # one run is stored already
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("BADGER_SCHEDULER", cluster.scheduler_address)   # the address from the environment
        rc, lines, err = run_main(capsys, "tiny_test", "--runs-dir", str(tmp_path))
        assert rc == 0, err
        assert f"on {cluster.scheduler_address}" in err
        assert lines[:2] == ["standard: 2 runs, 1 trained now, 1 already stored",
                             "extra: 2 runs, 2 trained now, 0 already stored"]
        assert lines[2:] == [str(p) for p in expected.values()]             # each run once, in order
        for cfg, path in expected.items():
            run = load_run(cfg, tmp_path)
            assert run is not None and run.path == path
        # a second pass only loads
        rc, lines, _ = run_main(capsys, "tiny_test", "--runs-dir", str(tmp_path), "--scheduler", cluster.scheduler_address)
    assert rc == 0 and lines[:2] == ["standard: 2 runs, 0 trained now, 2 already stored",
                                     "extra: 2 runs, 0 trained now, 2 already stored"]


def test_precompute_on_local_processes_in_full_mode(tmp_path, tiny_chapter, capsys, monkeypatch):
    monkeypatch.setenv("BADGER_SCHEDULER", "tcp://nowhere:1")             # overridden by --scheduler local
    rc, lines, err = run_main(capsys, "tiny-test", "--mode", "full", "--workers", "2", "--scheduler", "local",
                              "--runs-dir", str(tmp_path))
    assert rc == 0, err
    assert "tiny_test (full): 3 runs, on local processes" in err
    full = dict.fromkeys(c for g in tiny_configs(quick=False).values() for c in g)
    assert lines[2:] == [str(store.run_path(c, tmp_path)) for c in full]
    assert all(load_run(c, tmp_path).history["loss"].shape == (6,) for c in full)
    assert all(load_run(c, tmp_path) is None for c in dict.fromkeys(c for g in tiny_configs().values() for c in g))


def test_precompute_function_reports_each_group(tmp_path):
    from concurrent.futures import Executor, Future

    class InProcess(Executor):
        def submit(self, fn, *args, **kwargs):
            future = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    results = precompute(tiny_configs(), executor=InProcess(), runs_dir=tmp_path, progress=False)
    assert [r.name for r in results] == ["standard", "extra"] and [r.trained for r in results] == [2, 2]   # the shared run counts in both
    assert all(isinstance(r, GroupResult) and all(p.parent == tmp_path for p in r.paths) for r in results)
    with pytest.raises(TypeError, match=r"groups\['a'\]: must be a list of RunConfig"):
        precompute({"a": [TINY, 3]}, runs_dir=tmp_path)


ERRORS_SCRIPT = textwrap.dedent("""
    import contextlib, io, json, os, sys
    from badgerlib.__main__ import main
    out = []
    for args, env in json.loads(sys.argv[1]):
        os.environ.update(env)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                rc = main(args)
            except SystemExit as exc:
                rc = exc.code
        out.append([rc, err.getvalue()])
    heavy = [m for m in ("pandas", "matplotlib", "scipy", "distributed", "badgerlib.chapters.plateaus")
             if m in sys.modules]
    print(json.dumps({"results": out, "heavy": heavy}))
""")


def test_bad_arguments_exit_2_with_one_line_before_any_heavy_import(tmp_path):
    cases = [
        (["precompute", "nope"], "badgerlib precompute: error: chapter = 'nope': must be one of binding, estimators, "
                                 "f_principle, landscape, micro_badger, mutual_information, plateaus, "
                                 "ray_interference, remedies, topology"),
        (["precompute", "plateaus", "--mode", "fast"], "--mode = 'fast': must be 'quick' or 'full'"),
        (["precompute", "plateaus", "--scheduler", "my cluster"],
         "--scheduler = 'my cluster': must be a Dask scheduler address such as tcp://host:8786"),
        (["precompute", "plateaus", "--workers", "0"], "--workers = 0: must be an integer >= 1"),
        (["precompute", "plateaus", "--workers", "2", "--scheduler", "tcp://h:8786"],
         "--workers = 2: sets the local process pool only"),
        (["precompute", "plateaus", "--device", "tpu"], "--device = 'tpu': must be 'cpu' or 'cuda'"),
        (["precompute", "plateaus", "--runs-dir", "/proc/x"], "--runs-dir = '/proc/x': No such file or directory"),
        (["precompute", "plateaus", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["precompute"], "the following arguments are required: chapter"),
        (["precompute", "plateaus", "--scheduler", "tcp://h:8786"],
         "$BADGER_MODE = 'fulll': must be 'quick' or 'full'", {"BADGER_MODE": "fulll"}),
        (["precompute", "plateaus", "--mode", "full"],
         "$BADGER_SCHEDULER = 'my cluster': must be a Dask scheduler address", {"BADGER_SCHEDULER": "my cluster"}),
    ]
    cases = [case if len(case) == 3 else (*case, {}) for case in cases]
    env = {"BADGER_RUNS": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", ERRORS_SCRIPT, json.dumps([[a, e] for a, _, e in cases])],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for (args, message, _), (rc, err) in zip(cases, report["results"]):
        assert rc == 2, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, err)
    assert report["heavy"] == []          # nothing heavy was imported to find these mistakes


# ---- the run lock: two processes, one run --------------------------------------------------------

LOCKED = RunConfig(task=GuessingGame(n=2), model=MicroBadgerConfig(experts=2, hidden=3, message=2),
                   iterations=20, batch=2, inner_steps=2, snapshot_count=3, probe_batch=2)


def _wait_for(file: Path, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not file.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{file} never appeared")
        time.sleep(0.02)


def _train_in_process(role: str, runs_dir: str, signals: str, use_lock: bool):
    """One of two workers training LOCKED (runs in a fresh process). The first signals once it
    has started training, waits for the second to start, and pauses, so the second asks for the
    run while the first holds it. Returns the run directory, how many updates this process did,
    its meta, and how long its train() call took."""
    import contextlib

    from badgerlib import store as run_store
    from badgerlib.train import train as train_run

    if not use_lock:   # the control: without the lock both compute the run
        run_store.run_lock = lambda path: contextlib.nullcontext(True)
    signals = Path(signals)
    updates = []

    def on_iteration(done, loss):
        updates.append(done)
        if role == "first" and done == 1:
            (signals / "first_training").touch()
            _wait_for(signals / "second_ready")
            time.sleep(1.0)

    if role == "second":
        _wait_for(signals / "first_training")
        (signals / "second_ready").touch()
    t0 = time.monotonic()
    run = train_run(LOCKED, runs_dir=runs_dir, progress=False, on_iteration=on_iteration)
    return str(run.path), len(updates), run.meta, time.monotonic() - t0


def test_two_workers_on_one_run_compute_it_once_and_both_get_it(tmp_path):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = {}
        for use_lock in (True, False):
            runs, signals = tmp_path / f"runs-{use_lock}", tmp_path / f"signals-{use_lock}"
            signals.mkdir()
            first = pool.submit(_train_in_process, "first", str(runs), str(signals), use_lock)
            second = pool.submit(_train_in_process, "second", str(runs), str(signals), use_lock)
            outcomes[use_lock] = (first.result(timeout=300), second.result(timeout=300), runs)
    (path1, n1, meta1, _), (path2, n2, meta2, waited), runs = outcomes[True]
    assert path1 == path2 == str(store.run_path(LOCKED, runs))
    assert (n1, n2) == (LOCKED.iterations, 0)            # only the first trained
    assert meta2 == meta1 and waited > 0.5               # the second waited, then loaded the first's run
    run = load_run(LOCKED, runs)                         # the store holds one valid, finished run
    assert run is not None and not (run.path / "checkpoint.pt").exists()
    alone = train(LOCKED, cache=False, progress=False)
    assert all(np.array_equal(alone.history[k], run.history[k]) for k in alone.history)
    # the control: without the lock the second process computes the same run again
    (_, n1, _, _), (_, n2, _, _), runs = outcomes[False]
    assert (n1, n2) == (LOCKED.iterations, LOCKED.iterations)
    assert load_run(LOCKED, runs) is not None


def test_the_lock_excludes_a_second_holder_until_released(tmp_path):
    import fcntl
    import os

    path = tmp_path / "run"
    with store.run_lock(path) as locked:
        assert locked
        fd = os.open(path / store.LOCK_FILE, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # another open file: refused while held
        finally:
            os.close(fd)
    fd = os.open(path / store.LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)            # released on leaving the block
    finally:
        os.close(fd)


def test_precompute_trains_a_chapters_all_configs_when_it_has_them(tmp_path, tiny_chapter, capsys):
    """A chapter whose runs go beyond its main experiment's ``configs`` lists them all in
    ``all_configs`` (chapter 4's phase modes): precompute trains those."""
    tiny_chapter.all_configs = lambda quick=True: tiny_configs(quick) | {"more": [TINY.replace(seed=5)]}
    rc, lines, err = run_main(capsys, "tiny_test", "--runs-dir", str(tmp_path), "--workers", "1")
    assert rc == 0, err
    assert "tiny_test (quick): 4 runs" in err and lines[2] == "more: 1 run, 1 trained now, 0 already stored"
    assert load_run(TINY.replace(seed=5), tmp_path) is not None


def test_chapter_four_precomputes_its_phase_mode_runs():
    from badgerlib.chapters import f_principle as fp

    groups = fp.all_configs(quick=False)
    phase = [c for name, g in groups.items() if " phase: " in name for c in g]
    assert len(phase) == 3 * (10 + 5 + 3 + 5)
    assert {c.task.phase_mode for c in phase} == {"shared", "shift", "per_frequency"}


def test_status_says_where_each_run_stands_without_training(tmp_path, tiny_chapter, capsys):
    standard, extra = tiny_configs()["standard"], tiny_configs()["extra"]
    train(standard[0], runs_dir=tmp_path, progress=False)                       # stored
    paused = store.run_path(standard[1], tmp_path)
    paused.mkdir(parents=True)
    store.save_checkpoint(paused, {"iteration": 1, "elapsed": 1.0})            # two checkpoints, nobody on it:
    store.save_checkpoint(paused, {"iteration": 3, "elapsed": 2.0})            # the pace between them
    old_style = store.run_path(extra[1], tmp_path)                              # a checkpoint from before the
    old_style.mkdir(parents=True)                                               # json said its iteration
    store.save_checkpoint(old_style, {"iteration": 2})
    digest = json.loads((old_style / "checkpoint.json").read_text())["sha256"]
    (old_style / "checkpoint.json").write_text(json.dumps({"sha256": digest}))
    with store.run_lock(old_style):                                             # a process trains it now
        assert store.is_locked(old_style) and not store.is_locked(paused)
        rc = main(["status", "tiny_test", "--runs-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == (f"tiny_test (quick) in {tmp_path}: 3 runs: 1 stored, 1 training, 1 paused; "
                        f"75 % of their iterations done (a stored run counts as whole)")
    assert lines[1:3] == ["  standard: 2 runs: 1 stored, 1 paused", "  extra: 2 runs: 1 training, 1 paused"]
    assert lines[3].startswith(f"training  {store.config_hash(extra[1])}  guessing_game (1 dims)")
    assert lines[3].endswith(": 2 of 4 iterations")
    assert lines[4].startswith("paused ") and "seed 1: 3 of 4 iterations, " in lines[4]
    assert "iterations/s of late, at most " in lines[4] and lines[4].endswith(" h to go")
    assert store.run_state(standard[1], tmp_path)["pace"] > 0
    assert not (tmp_path / store.config_hash(standard[1]) / "manifest.json").exists()   # nothing trained
    # nothing held: the same run reads paused; a missing store and a bad mode exit 2 naming them
    assert store.run_state(extra[1], tmp_path) == {"state": "paused", "done": 2, "iterations": 4, "seconds": 0.0,
                                                   "pace": 0.0}
    assert main(["status", "tiny_test", "--runs-dir", str(tmp_path / "nope")]) == 2
    assert main(["status", "tiny_test", "--mode", "fast"]) == 2
    err = capsys.readouterr().err
    assert "--runs-dir = " in err and "no such directory" in err and "--mode = 'fast'" in err
