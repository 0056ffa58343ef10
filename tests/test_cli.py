"""The command line: trains, prints the run directory last, and fails in one clear line."""
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args, runs_dir):
    if "--runs-dir" not in args:
        args = (*args, "--runs-dir", str(runs_dir))
    return subprocess.run([sys.executable, "-m", "badgerlib", *args],
                          capture_output=True, text=True, timeout=300)


def test_train_prints_the_run_directory_last(tmp_path):
    args = ["train", "--n", "2", "--experts", "3", "--hidden", "4", "--inner-steps", "2",
            "--iterations", "5", "--batch", "2", "--seed", "1"]
    out = cli(*args, runs_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    run_dir = Path(out.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path and (run_dir / "manifest.json").exists()
    again = cli(*args, runs_dir=tmp_path)  # loads the stored run
    assert again.stdout.strip().splitlines()[-1] == str(run_dir)


@pytest.mark.parametrize("args, message", [
    (["train", "--n", "0"], "GuessingGame.n = 0: must be an integer in [1, 100000]"),
    (["train", "--experts", "4", "--links", "9"], "MicroBadgerConfig.links = 9: must be an integer in [0, 3]"),
    (["train", "--lr", "-1"], "RunConfig.lr = -1.0: must be a number in (0.0, 1.0]"),
    (["train", "--n", "three"], "argument --n: invalid int value: 'three'"),
    (["train", "--device", "tpu"], "--device = 'tpu': must be 'cpu' or 'cuda'"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--runs-dir", "/proc/x"], "--runs-dir = '/proc/x': No such file or directory"),
    (["train", "--seeds", "4-2"], "--seeds = '4-2': must be seeds like 0-7 or 0,3,5"),
    (["precompute", "nope"], "badgerlib precompute: error: chapter = 'nope': must be one of binding, estimators"),
    (["precompute", "plateaus", "--workers", "0"], "--workers = 0: must be an integer >= 1"),
])
def test_bad_arguments_exit_nonzero_with_one_line(tmp_path, args, message):
    out = cli(*args, runs_dir=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_seeds_train_together_and_print_one_directory_each_in_order(tmp_path):
    args = ["train", "--n", "2", "--experts", "3", "--hidden", "4", "--inner-steps", "2",
            "--iterations", "4", "--batch", "2", "--seeds", "1-2,5"]
    out = cli(*args, runs_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    dirs = [Path(line) for line in out.stdout.strip().splitlines()[-3:]]
    assert all(d.parent == tmp_path and (d / "manifest.json").exists() for d in dirs)
    single = cli(*args[:-2], "--seed", "5", runs_dir=tmp_path)       # the same run as the ensemble's seed 5
    assert single.stdout.strip().splitlines()[-1] == str(dirs[2])
