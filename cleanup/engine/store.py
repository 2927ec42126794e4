"""The checkpoint store: one folder per run (state, stored playbook, audit log) and one lock per Mac.

State is written atomically (temp file in the same folder, fsync, ``os.replace``); files are 0600 and
folders 0700: they hold identifiers of the Mac and its users, never secrets.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from cleanup.engine.state import RunState
from cleanup.errors import LockHeld, StateError, UsageError

RUN_ID_RE = re.compile(r"^[A-Z0-9]{8,14}-\d{8}T\d{6}Z-[0-9a-f]{4}$")


def default_state_dir() -> Path:
    env = os.environ.get("CLEANUP_STATE_DIR")
    if env:
        return Path(env)
    if sys.platform == "darwin":
        if os.geteuid() == 0:
            return Path("/Library/Application Support/cleanup")
        return Path.home() / "Library/Application Support/cleanup"
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local/state")
    return Path(base) / "cleanup"


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def atomic_write(path: Path, data: bytes) -> None:
    with atomic_writer(path) as f:
        f.write(data)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A file written in full or not at all: a temp file in the same folder (0600), fsynced, then renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@contextlib.contextmanager
def held_lock(path: Path, me: str, refusal: Callable[[str], str]) -> Iterator[None]:
    """An exclusive flock on ``path``, not waited for: held elsewhere -> LockHeld naming the holder."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise LockHeld(refusal(holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        yield
    finally:
        os.close(fd)


class StateStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        if not RUN_ID_RE.match(run_id):
            raise UsageError(f"{run_id!r} is not a run id", hint="`cleanup status` lists the runs")
        return self.runs_dir / run_id

    def new_run_id(self, serial: str) -> str:
        return f"{serial}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}"

    def create(self, run: RunState, playbook_text: str) -> None:
        _private_dir(self.root)
        _private_dir(self.runs_dir)
        d = self.run_dir(run.run_id)
        d.mkdir(mode=0o700)
        atomic_write(d / "playbook.toml", playbook_text.encode())
        self.save(run)

    def save(self, run: RunState) -> None:
        run.updated = time.time()
        # no indent: json's C encoder only runs without one (5x faster; `cleanup status --json` pretty-prints)
        data = json.dumps(run.to_json(), sort_keys=True).encode()
        atomic_write(self.run_dir(run.run_id) / "state.json", data)

    def load(self, run_id: str) -> tuple[RunState, str]:
        """The run's state and the playbook text it started with."""
        d = self.run_dir(run_id)
        path = d / "state.json"
        if not path.is_file():
            raise UsageError(f"no run {run_id} in {self.root}", hint="`cleanup status` lists the runs")
        where = f"state file {path}"
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateError(f"{where} is corrupt or truncated ({exc.__class__.__name__}); nothing was run") from None
        run = RunState.from_json(data, where)
        if run.run_id != run_id:
            raise StateError(f"{where} belongs to run {run.run_id!r}, not {run_id!r}; nothing was run")
        try:
            text = (d / "playbook.toml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise StateError(f"run {run_id}: its stored playbook is missing or unreadable; nothing was run") from None
        if hashlib.sha256(text.encode()).hexdigest() != run.playbook_sha256:
            raise StateError(f"run {run_id}: its stored playbook was changed after the run started; nothing was run")
        return run, text

    def run_ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        ids = [p.name for p in self.runs_dir.iterdir() if RUN_ID_RE.match(p.name) and (p / "state.json").exists()]
        return sorted(ids, key=lambda r: (r.split("-")[1], r))

    def latest(self) -> str:
        ids = self.run_ids()
        if not ids:
            raise UsageError(f"no runs in {self.root}")
        return ids[-1]

    @contextlib.contextmanager
    def lock(self, serial: str, run_id: str = "") -> Iterator[None]:
        """Hold the lock for one Mac (by serial) so two runs can never act on it at once."""
        _private_dir(self.root)
        locks = self.root / "locks"
        _private_dir(locks)
        with held_lock(locks / f"{serial}.lock", f"pid {os.getpid()} run {run_id or '(starting)'}",
                       lambda holder: f"another cleanup run is acting on Mac {serial} ({holder}); refusing to start a second one"):
            yield
