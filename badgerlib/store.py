"""Runs on disk, keyed by a hash of their config, written atomically and checked on load.

Layout of one run, ``<runs dir>/<config hash>/``:

- ``config.json``: the run's config (``RunConfig.to_dict()``) and the results version;
- ``history.npz``, ``snapshots.npz``, ``model.pt``: the results;
- ``meta.json``: how the run was made (time, iterations per second, versions);
- ``manifest.json``: the SHA-256 of every file above, written last: a run without a valid
  manifest is unfinished, and a file whose hash does not match is corrupt and recomputed;
- ``checkpoint.pt`` (+ ``checkpoint.json`` with its hash) while a run is in progress, and
  ``checkpoint_snapshots/<iteration>.npz``, the snapshots taken so far (listed with their
  hashes in the checkpoint);
- ``.lock``: the empty file that :func:`run_lock` locks while a process trains the run (kept
  afterwards: deleting a lock file others may be waiting on would let two processes hold it).

The runs directory is ``$BADGER_RUNS`` if set, else ``runs/`` beside the ``badgerlib``
package (the repository root for an editable install).

Example
-------
>>> from badgerlib import RunConfig
>>> len(config_hash(RunConfig()))
16
>>> config_hash(RunConfig(seed=1)) != config_hash(RunConfig(seed=2))
True
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from badgerlib.config import RENAMED_FIELDS

#: Bump whenever a code change alters the numbers a run produces, so that stale runs are
#: never reused: the version is part of every config hash.
RESULTS_VERSION = 1

_RESULT_FILES = ("config.json", "history.npz", "snapshots.npz", "model.pt", "meta.json")


def default_runs_dir() -> Path:
    """``$BADGER_RUNS`` or ``runs/`` next to the package.

    Example
    -------
    >>> default_runs_dir().name in ("runs", os.path.basename(os.environ.get("BADGER_RUNS", "runs")))
    True
    """
    env = os.environ.get("BADGER_RUNS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "runs"


#: Fields added to the configs after runs were stored, with the default that reproduces the
#: earlier behaviour: left out of the hash at that default, so existing runs keep their hash.
#: A dotted name reaches into a nested config (``model.expert_ids``).
HASH_NEUTRAL_DEFAULTS = {"record_states": True, "optimizer": "adam", "gradient": "objective", "stop_when_solved": 0,
                         "engine": "eager", "model.expert_ids": 0, "model.init_scale": 1.0,
                         "model.vector_feedback": False, "model.multiplicative": False, "learned_loss": None,
                         "task.phase_mode": "shared", "probe_series": 0}


def config_hash(config) -> str:
    """First 16 hex digits of the SHA-256 of the config dict and the results version.

    Example
    -------
    >>> from badgerlib import RunConfig
    >>> config_hash(RunConfig()) == config_hash(RunConfig())
    True
    """
    data = _neutral(config.to_dict())
    payload = json.dumps({"results_version": RESULTS_VERSION, "config": data}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _neutral(data: dict, top: bool = True) -> dict:
    """A run's config dict as it is hashed: fields at their hash-neutral default left out and
    renamed fields under their old names; the same for a run config nested anywhere inside
    (the run a learned loss is meta-trained on)."""
    for key, value in data.items():
        if isinstance(value, dict) and "kind" in value:
            data[key] = _neutral(value, top=False)
    if not top and data.get("kind") != "run":
        return data
    for dotted, default in HASH_NEUTRAL_DEFAULTS.items():
        *outer, name = dotted.split(".")
        part = data
        for key in outer:
            part = part.get(key) if isinstance(part, dict) else None
        if isinstance(part, dict) and name in part and part[name] == default:
            del part[name]
    for old, new in RENAMED_FIELDS.items():
        if new in data:
            data[old] = data.pop(new)
    return data


#: The run store the training in progress writes to (set by :func:`badgerlib.train.train`), so
#: that what a run needs besides its own files (a learned loss) is kept beside it.
_ACTIVE_RUNS_DIR: contextvars.ContextVar = contextvars.ContextVar("badger_active_runs_dir", default=None)


def active_runs_dir() -> Path:
    """The run store of the training in progress in this thread (:func:`using_runs_dir`), else
    :func:`default_runs_dir`.

    Example
    -------
    >>> with using_runs_dir("/tmp/elsewhere"):
    ...     active_runs_dir()
    PosixPath('/tmp/elsewhere')
    """
    found = _ACTIVE_RUNS_DIR.get()
    return found if found is not None else default_runs_dir()


@contextlib.contextmanager
def using_runs_dir(runs_dir: str | os.PathLike) -> Iterator[Path]:
    """Make ``runs_dir`` the :func:`active_runs_dir` for the block."""
    token = _ACTIVE_RUNS_DIR.set(Path(runs_dir))
    try:
        yield Path(runs_dir)
    finally:
        _ACTIVE_RUNS_DIR.reset(token)


def run_path(config, runs_dir: str | os.PathLike | None = None) -> Path:
    """Where the run of ``config`` lives.

    Example
    -------
    >>> from badgerlib import RunConfig
    >>> run_path(RunConfig(), "/tmp/r").parent
    PosixPath('/tmp/r')
    """
    return Path(runs_dir if runs_dir is not None else default_runs_dir()) / config_hash(config)


# ---- atomic writes -----------------------------------------------------------------------------

def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a
    part: write a temporary file in the same directory, fsync it, then rename over ``path``.
    The file gets the permissions the user's umask gives any new file (``mkstemp`` alone would
    leave it readable by its owner only, which breaks a run store shared on a cluster).

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> atomic_write_bytes(p, b"hello"); p.read_bytes()
    b'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process umask: from /proc on Linux; elsewhere by setting it and straight back (which
    could briefly affect a file another thread creates at that moment)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes of an ``.npz`` file holding ``arrays``.

    Example
    -------
    >>> len(npz_bytes({"a": np.zeros(3)})) > 0
    True
    """
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def torch_bytes(obj: Any) -> bytes:
    """The bytes of ``torch.save(obj)``.

    Example
    -------
    >>> len(torch_bytes({"w": torch.zeros(2)})) > 0
    True
    """
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def json_bytes(obj: Any) -> bytes:
    """Readable JSON bytes.

    Example
    -------
    >>> json_bytes({"a": 1})
    b'{\\n  "a": 1\\n}'
    """
    return json.dumps(obj, indent=2, sort_keys=True).encode()


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``.

    Example
    -------
    >>> sha256(b"")[:8]
    'e3b0c442'
    """
    return hashlib.sha256(data).hexdigest()


# ---- finished runs ------------------------------------------------------------------------------

def write_result(path: Path, config, history: dict[str, np.ndarray], snapshots: dict[str, np.ndarray],
                 model_state: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write a finished run; the manifest goes last, so a crash mid-way leaves no valid run.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from badgerlib import RunConfig
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> write_result(p, RunConfig(), {"loss": np.ones(2)}, {}, {"w": torch.zeros(1)}, {})
    >>> load_result(p)["history"]["loss"].tolist()
    [1.0, 1.0]
    """
    blobs = {
        "config.json": json_bytes({"results_version": RESULTS_VERSION, "config": config.to_dict()}),
        "history.npz": npz_bytes(history),
        "snapshots.npz": npz_bytes(snapshots),
        "model.pt": torch_bytes(model_state),
        "meta.json": json_bytes(meta),
    }
    for name, data in blobs.items():
        atomic_write_bytes(path / name, data)
    atomic_write_bytes(path / "manifest.json", json_bytes({name: sha256(data) for name, data in blobs.items()}))


def _verified_bytes(path: Path, manifest: dict[str, str], name: str) -> bytes | None:
    try:
        data = (path / name).read_bytes()
    except OSError:
        return None
    return data if sha256(data) == manifest.get(name) else None


def _file_sha256(file: Path) -> str | None:
    """SHA-256 of a file read in chunks (a long run's snapshots are too big to hold twice)."""
    digest = hashlib.sha256()
    try:
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


class LazyArrays(Mapping):
    """The arrays of an ``.npz`` file, each read from disk the first time it is used and kept
    after that; :meth:`release` forgets the ones read so far.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> _ = p.write_bytes(npz_bytes({"a": np.arange(3), "b": np.ones(2)}))
    >>> arrays = LazyArrays(p)
    >>> sorted(arrays), arrays["a"].tolist(), len(arrays.loaded)
    (['a', 'b'], [0, 1, 2], 1)
    """

    def __init__(self, file: Path):
        self.file = Path(file)
        with np.load(self.file) as z:
            self._names = list(z.files)
        self.loaded: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.loaded:
            if name not in self._names:
                raise KeyError(name)
            with np.load(self.file) as z:
                self.loaded[name] = z[name]
        return self.loaded[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def release(self) -> None:
        """Forget the arrays read so far (they are read again when next used)."""
        self.loaded.clear()


def load_result(path: Path, lazy_snapshots: bool = False) -> dict[str, Any] | None:
    """The finished run at ``path``, or None if there is none. A run whose files do not match
    their manifest is reported with a warning and treated as absent (so it is recomputed). With
    ``lazy_snapshots`` the snapshots come as :class:`LazyArrays` (their hash checked now, their
    arrays read when used).

    Example
    -------
    >>> load_result(Path("/nonexistent")) is None
    True
    """
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        warnings.warn(f"run store: {path / 'manifest.json'} is unreadable; recomputing the run", stacklevel=2)
        return None
    blobs = {}
    for name in _RESULT_FILES:
        if lazy_snapshots and name == "snapshots.npz":
            ok = _file_sha256(path / name) == manifest.get(name)
            data = b"" if ok else None
        else:
            data = _verified_bytes(path, manifest, name)
        if data is None:
            warnings.warn(f"run store: {path / name} is missing or corrupt (hash mismatch); recomputing the run",
                          stacklevel=2)
            return None
        blobs[name] = data
    with np.load(io.BytesIO(blobs["history.npz"])) as z:
        history = {k: z[k] for k in z.files}
    if lazy_snapshots:
        snapshots = LazyArrays(path / "snapshots.npz")
    else:
        with np.load(io.BytesIO(blobs["snapshots.npz"])) as z:
            snapshots = {k: z[k] for k in z.files}
    return {
        "config": json.loads(blobs["config.json"])["config"],
        "history": history,
        "snapshots": snapshots,
        "model_state": torch.load(io.BytesIO(blobs["model.pt"]), weights_only=True),
        "meta": json.loads(blobs["meta.json"]),
    }


# ---- checkpoints --------------------------------------------------------------------------------

def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically write ``checkpoint.pt`` and then its hash in ``checkpoint.json``.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> save_checkpoint(p, {"iteration": 3})
    >>> load_checkpoint(p)["iteration"]
    3
    """
    data = torch_bytes(state)
    atomic_write_bytes(path / "checkpoint.pt", data)
    # the iteration and the training seconds so far beside the hash let :func:`run_state`
    # report progress without reading (tens of megabytes of) the checkpoint itself, and the
    # previous checkpoint's iteration and wall time give the pace of late (``recent``)
    progress = {k: state[k] for k in ("iteration", "elapsed") if k in state}
    if "iteration" in state:
        progress["written"] = time.time()
        try:
            before = json.loads((path / "checkpoint.json").read_text())
            if before.get("iteration", state["iteration"]) < state["iteration"] and "written" in before:
                progress["recent"] = (state["iteration"] - before["iteration"]) / max(
                    progress["written"] - before["written"], 1e-9)
        except (OSError, ValueError):
            pass
    atomic_write_bytes(path / "checkpoint.json", json_bytes({"sha256": sha256(data), **progress}))


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None. A corrupt or truncated one is reported with a
    warning and ignored, so training restarts from scratch instead of from bad state. Loaded with
    ``weights_only=True``: a checkpoint holds tensors and plain containers, never code.

    Example
    -------
    >>> load_checkpoint(Path("/nonexistent")) is None
    True
    """
    path = Path(path)
    if not (path / "checkpoint.pt").exists():
        return None
    try:
        expected = json.loads((path / "checkpoint.json").read_text())["sha256"]
        data = (path / "checkpoint.pt").read_bytes()
        if sha256(data) != expected:
            raise ValueError("hash mismatch")
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:  # any failure means the file cannot be trusted
        warnings.warn(f"run store: checkpoint in {path} is corrupt ({exc}); starting the run from scratch",
                      stacklevel=2)
        return None


#: Where an unfinished run keeps its snapshots, one file each, written once when taken: the
#: checkpoint lists them with their hashes instead of rewriting them all every time (a long
#: run's checkpoints would otherwise write its snapshots hundreds of times over).
CHECKPOINT_SNAPSHOTS = "checkpoint_snapshots"


def save_checkpoint_snapshot(path: Path, iteration: int, arrays: dict[str, np.ndarray]) -> str:
    """Atomically write the snapshot taken at ``iteration`` of an unfinished run and return
    its SHA-256, for the checkpoint to list.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> h = save_checkpoint_snapshot(p, 10, {"a": np.arange(3)})
    >>> load_checkpoint_snapshots(p, {"10": h})[10]["a"].tolist()
    [0, 1, 2]
    """
    data = npz_bytes(arrays)
    atomic_write_bytes(Path(path) / CHECKPOINT_SNAPSHOTS / f"{int(iteration)}.npz", data)
    return sha256(data)


def load_checkpoint_snapshots(path: Path, hashes: dict[str, str]) -> dict[int, dict[str, np.ndarray]] | None:
    """The snapshots a checkpoint lists (``{iteration: sha256}``), or None with a warning when
    one is missing or does not match its hash (the run then restarts from scratch).

    Example
    -------
    >>> load_checkpoint_snapshots(Path("/nonexistent"), {})
    {}
    """
    out = {}
    for it, expected in hashes.items():
        file = Path(path) / CHECKPOINT_SNAPSHOTS / f"{int(it)}.npz"
        try:
            data = file.read_bytes()
            if sha256(data) != expected:
                raise ValueError("hash mismatch")
            with np.load(io.BytesIO(data)) as npz:
                out[int(it)] = {k: npz[k] for k in npz.files}
        except Exception as exc:  # missing, truncated or altered: the checkpoint cannot be trusted
            warnings.warn(f"run store: checkpoint in {path} is corrupt (snapshot {file.name}: {exc}); "
                          f"starting the run from scratch", stacklevel=2)
            return None
    return out


def checkpoint_progress(path: str | os.PathLike) -> dict[str, float] | None:
    """What the checkpoint at ``path`` says of its run's progress (None without one):
    ``iteration`` (outer updates done), ``seconds`` (training time they took, pauses of the
    process included) and ``recent`` (iterations per second between the last two
    checkpoints; 0 when unknown). From ``checkpoint.json`` when it says, else from the
    checkpoint itself (those written before it said); a corrupt checkpoint counts as none,
    as for training.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> checkpoint_progress(p) is None
    True
    >>> save_checkpoint(p, {"iteration": 7, "elapsed": 1.5})
    >>> checkpoint_progress(p)
    {'iteration': 7, 'seconds': 1.5, 'recent': 0.0}
    """
    path = Path(path)
    try:
        said = json.loads((path / "checkpoint.json").read_text())
    except (OSError, ValueError):
        said = {}
    if "iteration" not in said or not (path / "checkpoint.pt").exists():
        said = load_checkpoint(path)
        if said is None:
            return None
    return {"iteration": int(said["iteration"]), "seconds": float(said.get("elapsed", 0.0)),
            "recent": float(said.get("recent", 0.0))}


#: What :func:`run_state` can say of a run.
RUN_STATES = ("stored", "training", "paused", "missing")


def run_state(config, runs_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Where the run of ``config`` stands in the store, without loading it: ``state``, one of
    :data:`RUN_STATES` (``stored``: finished, with a manifest; ``training``: a process holds
    its lock now; ``paused``: a checkpoint and nobody training it, so the next sweep resumes
    it; ``missing``: nothing yet), ``done`` (outer updates done: all of a stored run's,
    including one that stopped when solved; a checkpoint's; 0), ``iterations`` (the
    config's), ``seconds`` (training time so far: a stored run's, a checkpoint's, else 0)
    and ``pace`` (iterations per second of late, from the last two checkpoints; else 0).

    Example
    -------
    >>> import tempfile
    >>> from badgerlib import RunConfig
    >>> run_state(RunConfig(iterations=50), tempfile.mkdtemp())
    {'state': 'missing', 'done': 0, 'iterations': 50, 'seconds': 0.0, 'pace': 0.0}
    """
    path = run_path(config, runs_dir)
    planned = int(config.iterations)
    if (path / "manifest.json").exists():
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError):
            meta = {}
        stopped = meta.get("stopped_at")
        return {"state": "stored", "done": int(stopped) if stopped is not None else planned, "iterations": planned,
                "seconds": float(meta.get("seconds", 0.0)), "pace": 0.0}
    progress = checkpoint_progress(path) if path.exists() else None
    seen = {"iterations": planned, "seconds": 0.0, "pace": 0.0}
    if progress is not None:
        seen.update(seconds=progress["seconds"], pace=progress["recent"])
    if is_locked(path):
        return {"state": "training", "done": progress["iteration"] if progress else 0, **seen}
    if progress is not None:
        return {"state": "paused", "done": progress["iteration"], **seen}
    return {"state": "missing", "done": 0, **seen}


def remove_checkpoint(path: Path) -> None:
    """Delete a finished run's checkpoint files.

    Example
    -------
    >>> remove_checkpoint(Path("/nonexistent"))
    """
    for name in ("checkpoint.pt", "checkpoint.json"):
        try:
            (Path(path) / name).unlink()
        except FileNotFoundError:
            pass
    shutil.rmtree(Path(path) / CHECKPOINT_SNAPSHOTS, ignore_errors=True)


# ---- one process trains a run at a time ----------------------------------------------------------

LOCK_FILE = ".lock"


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a process holds the :func:`run_lock` of the run directory ``path`` now (tried
    without waiting, and let go at once; False where there is nothing to lock or no locking).

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp())
    >>> is_locked(p)
    False
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        return False
    try:
        fd = os.open(Path(path) / LOCK_FILE, os.O_RDWR)
    except OSError:        # no lock file: nobody has ever trained it here
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:        # no lock support on this file system
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_lock(path: str | os.PathLike) -> Iterator[bool]:
    """Hold an exclusive lock on the run directory ``path`` for the block: a second process
    (or thread) asking for it waits until the first leaves the block. Yields True when locked,
    False when the file system does not support locking (then nothing is locked, with a
    warning: two workers may both compute the run, which stays correct since every write is
    atomic; it only costs the time).

    ``fcntl.flock`` on ``<path>/.lock``, not a lock file created with ``O_CREAT | O_EXCL``:
    the operating system releases a flock when its process dies (killed by a cluster's time
    limit, out of memory), so a dead worker never leaves a stale lock behind, while a
    create-exclusive file would stay until someone deletes it by hand. On a shared file system
    flock needs the file system's lock support: NFS (Linux emulates flock with NFS byte-range
    locks), Lustre mounted with ``-o flock``, GPFS and BeeGFS do; where it is missing, flock
    fails and this falls back to no lock as above. Elsewhere than POSIX (no ``fcntl``) it also
    locks nothing.

    Example
    -------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with run_lock(p) as locked:
    ...     locked, (p / LOCK_FILE).exists()
    (True, True)
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield False
        return
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                raise
            warnings.warn(f"run store: cannot lock {path / LOCK_FILE} ({exc.strerror}); training without a lock, "
                          f"so two workers may both compute this run", stacklevel=3)
            locked = False
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
