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
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from cleanup.engine.audit import AuditLog
from cleanup.engine.state import UNFINISHED, RunState, RunStatus
from cleanup.errors import LockHeld, SafetyRefusal, StateError, UsageError

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


TRUST_RULE = (
    "as root, the state folder and every folder above it must be owned by root and not writable by "
    "group or others (a root-owned sticky folder such as /tmp is fine above a root-owned folder)"
)


def _untrusted(path: Path, sticky_ok: bool) -> str | None:
    """Why root must not trust the folder ``path`` (an existing, link-free path), or None."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a folder"
    if st.st_uid != 0:
        return f"{path} is owned by uid {st.st_uid}, not root"
    if st.st_mode & 0o022 and not (sticky_ok and st.st_mode & stat.S_ISVTX):
        return f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def trusted_root_dir(root: Path) -> Path:
    """As root: create ``root`` (0700) if needed, or refuse (SafetyRefusal) when anyone but root could change it
    or a folder above it, since its owner could swap the runs (state and playbook) root would then act on.
    Returns the real path (links resolved), the one to use from then on."""
    real = Path(os.path.realpath(root))  # links above resolved once: every real folder is then checked
    chain = [real, *real.parents][::-1]
    for i, folder in enumerate(chain):
        if not folder.exists():
            for missing in chain[i:]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(missing, 0o700 if missing == real else 0o755)
        why = _untrusted(folder, sticky_ok=folder != real)
        if why:
            raise SafetyRefusal(f"cannot trust the state folder {root}: {why}", hint=TRUST_RULE)
    os.chmod(real, 0o700)
    return real


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
        # absolute once and for all: the boot-resume daemon and every record name it from another working folder
        self.root = Path(os.path.abspath(root))
        self._trusted = False

    def _trust(self) -> None:
        """As root, refuse a state folder (or a folder of it, or above it) anyone but root can change."""
        if self._trusted or os.geteuid() != 0:
            return
        self.root = trusted_root_dir(self.root)
        for sub in (self.runs_dir, self.root / "locks"):
            why = _untrusted(sub, sticky_ok=False) if os.path.lexists(sub) else None
            if why:
                raise SafetyRefusal(f"cannot trust the state folder {self.root}: {why}", hint=TRUST_RULE)
        self._trusted = True

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
        self._trust()
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
        if os.path.lexists(self.root):
            self._trust()
        d = self.run_dir(run_id)
        why = _untrusted(d, sticky_ok=False) if os.geteuid() == 0 and os.path.lexists(d) else None
        if why:
            raise SafetyRefusal(f"cannot trust run {run_id}: {why}", hint=TRUST_RULE)
        path = d / "state.json"
        from cleanup import readlimit

        if not os.path.lexists(path):  # a FIFO or device in its place is refused by the read below
            raise UsageError(f"no run {run_id} in {self.root}", hint="`cleanup status` lists the runs")
        where = f"state file {path}"
        try:
            data = json.loads(readlimit.read_bytes(path, readlimit.STATE_LIMIT, "state file", StateError))
        except (OSError, ValueError) as exc:
            raise StateError(f"{where} is corrupt or truncated ({exc.__class__.__name__}); nothing was run") from None
        run = RunState.from_json(data, where)
        if run.run_id != run_id:
            raise StateError(f"{where} belongs to run {run.run_id!r}, not {run_id!r}; nothing was run")
        try:
            text = readlimit.read_text(d / "playbook.toml", readlimit.PLAYBOOK_LIMIT, f"run {run_id}: stored playbook", StateError)
        except OSError:
            raise StateError(f"run {run_id}: its stored playbook is missing or unreadable; nothing was run") from None
        if hashlib.sha256(text.encode()).hexdigest() != run.playbook_sha256:
            raise StateError(f"run {run_id}: its stored playbook was changed after the run started; nothing was run")
        return run, text

    def run_ids(self) -> list[str]:
        if os.path.lexists(self.root):
            self._trust()
        if not self.runs_dir.is_dir():
            return []
        ids = [p.name for p in self.runs_dir.iterdir() if RUN_ID_RE.match(p.name) and (p / "state.json").exists()]
        return sorted(ids, key=lambda r: (r.split("-")[1], r))

    def _run_ids_of(self, serial: str) -> list[str]:
        """run_ids() of one Mac; names are filtered before any stat, so a batch of N Macs stays linear in N."""
        if os.path.lexists(self.root):
            self._trust()
        try:
            with os.scandir(self.runs_dir) as it:
                names = [e.name for e in it if e.name.startswith(serial + "-")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n for n in names if RUN_ID_RE.match(n) and (self.runs_dir / n / "state.json").exists())

    def latest(self) -> str:
        ids = self.run_ids()
        if not ids:
            raise UsageError(f"no runs in {self.root}")
        return ids[-1]

    def unfinished(self, serial: str) -> list[RunState]:
        """This folder's runs of Mac ``serial`` that are neither done nor abandoned (damaged ones are left out)."""
        out = []
        for rid in self._run_ids_of(serial):
            try:
                run, _ = self.load(rid)
            except StateError:
                continue
            if run.serial == serial and run.status in UNFINISHED:
                out.append(run)
        return out

    def abandon(self, run_id: str, by: str = "command line") -> RunState:
        """Give up an unfinished run on purpose (recorded): it can no longer be resumed, and a new run may start."""
        run, _ = self.load(run_id)
        with self.lock(run.serial, run_id):
            run, _ = self.load(run_id)  # re-read under the lock
            if run.status not in UNFINISHED:
                raise UsageError(f"run {run_id} is {run.status}: only an unfinished run can be abandoned")
            was, run.status = run.status, RunStatus.ABANDONED
            self.save(run)
            AuditLog(self.run_dir(run_id) / "audit.jsonl").append({"event": "run-abandoned", "run": run_id, "was": was, "by": by})
        return run

    @contextlib.contextmanager
    def lock(self, serial: str, run_id: str = "") -> Iterator[None]:
        """Hold the lock for one Mac (by serial) so two runs can never act on it at once."""
        self._trust()
        _private_dir(self.root)
        locks = self.root / "locks"
        _private_dir(locks)
        with held_lock(
            locks / f"{serial}.lock",
            f"pid {os.getpid()} run {run_id or '(starting)'}",
            lambda holder: f"another cleanup run is acting on Mac {serial} ({holder}); refusing to start a second one",
        ):
            yield
