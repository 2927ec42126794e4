"""A Mac's repair ladder on disk: the rungs tried, each with its run, so that ``cleanup repair`` continues a paused
rung instead of starting another and never tries a failed rung again.

One file per Mac, ``<state folder>/repairs/<SERIAL>.json``, next to the runs (0600, written atomically; the folder
0700, root's own when run as root), with its lock beside it. A file that is damaged or not ours is refused in one line
(status 2) before anything is done: removing it starts the ladder afresh (the runs stay in ``cleanup status``).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cleanup import readlimit
from cleanup.engine.store import RUN_ID_RE, StateStore, atomic_write, held_lock, trusted_root_dir
from cleanup.errors import SafetyRefusal, StateError
from cleanup.identifiers import valid_serial
from cleanup.repair.rungs import BY_NAME

FORMAT = "cleanup-repair/1"
LIMIT = 1 << 20
KEEP_HISTORY = 10

RUNNING, PAUSED, STOPPED, VERIFIED, FAILED, REFUSED = "running", "paused", "stopped", "verified", "failed", "refused"
#: an attempt: running (started; a crash may have cut it short), paused (its run waits), stopped (its run failed, resumable),
#: verified, failed (the ladder climbed past it), refused (not started: no confirmation, another run in the way)
ATTEMPT_STATUSES = (RUNNING, PAUSED, STOPPED, VERIFIED, FAILED, REFUSED)
#: the ladder: verified and failed end it (the next `cleanup repair` starts a new one), the others continue
LADDER_STATUSES = (RUNNING, PAUSED, STOPPED, REFUSED, VERIFIED, FAILED)
OPEN = (RUNNING, PAUSED, STOPPED)


@dataclass
class Attempt:
    rung: str
    status: str
    run_id: str | None = None
    why: list[str] = field(default_factory=list)  # the findings that led to it
    outcome: str = ""
    started: float = 0.0
    ended: float | None = None


@dataclass
class Ladder:
    serial: str
    host: str
    created: float
    updated: float
    status: str = RUNNING
    attempts: list[Attempt] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier ladders of this Mac, ended

    @property
    def ended(self) -> bool:
        return self.status in (VERIFIED, FAILED)

    def current(self) -> Attempt | None:
        """The attempt the ladder stands on: the last one while its run is open."""
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.status in OPEN else None

    def tried(self) -> set[str]:
        return {a.rung for a in self.attempts if a.status in (VERIFIED, FAILED)}

    def floor(self) -> int:
        """The lightest rung the ladder may still use: above every rung that failed."""
        from cleanup.repair.rungs import index

        failed = [index(a.rung) for a in self.attempts if a.status == FAILED]
        return max(failed) + 1 if failed else 0

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}


def fresh(serial: str, host: str, before: Ladder | None = None) -> Ladder:
    now = time.time()
    history = list(before.history) + [before.to_json() | {"history": []}] if before is not None else []
    return Ladder(serial, host, now, now, history=history[-KEEP_HISTORY:])


def _folder(store: StateStore) -> Path:
    return store.root / "repairs"


def path_of(store: StateStore, serial: str) -> Path:
    return _folder(store) / f"{valid_serial(serial)}.json"


def _prepare(store: StateStore) -> Path:
    """The ladders' folder, made (0700) and, as root, trusted like the runs' (nobody but root can change it)."""
    root = trusted_root_dir(store.root) if os.geteuid() == 0 else store.root
    folder = root / "repairs"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode) or (os.geteuid() == 0 and (st.st_uid != 0 or st.st_mode & 0o022)):
        raise SafetyRefusal(f"cannot trust the repair ladders' folder {folder}: not a folder of root's that only root can change")
    os.chmod(folder, 0o700)
    return folder


@contextlib.contextmanager
def locked(store: StateStore, serial: str) -> Iterator[None]:
    """The lock of one Mac's ladder: two `cleanup repair` of the same Mac never climb at once."""
    folder = _prepare(store)
    with held_lock(
        folder / f"{valid_serial(serial)}.lock",
        f"pid {os.getpid()}",
        lambda holder: f"another cleanup repair is working on Mac {serial} ({holder}); refusing to start a second one",
    ):
        yield


def save(store: StateStore, ladder: Ladder) -> None:
    ladder.updated = time.time()
    atomic_write(_prepare(store) / f"{valid_serial(ladder.serial)}.json", json.dumps(ladder.to_json(), sort_keys=True).encode())


def load(store: StateStore, serial: str) -> Ladder | None:
    """The Mac's ladder, or None when it has none; a damaged file is a StateError naming it."""
    path = path_of(store, serial)
    if not os.path.lexists(path):
        return None
    where = f"repair ladder {path}"
    hint = f"remove {path} to start the Mac's ladder afresh (its runs stay: `cleanup status`)"
    try:
        data = json.loads(readlimit.read_bytes(path, LIMIT, "repair ladder", StateError))
    except OSError as exc:
        raise StateError(f"{where} cannot be read: {exc.strerror or exc}; nothing was run", hint=hint) from None
    except (ValueError, RecursionError) as exc:
        raise StateError(f"{where} is corrupt or truncated ({exc.__class__.__name__}); nothing was run", hint=hint) from None
    except StateError as exc:
        raise StateError(exc.message + "; nothing was run", hint=hint) from None
    problem = _problem(data, serial)
    if problem:
        raise StateError(f"{where} is not a repair ladder of Mac {serial}: {problem}; nothing was run", hint=hint)
    return _ladder(data)


def _problem(data: Any, serial: str) -> str | None:
    if not isinstance(data, dict):
        return "not a JSON object"
    keys = {"format", "serial", "host", "created", "updated", "status", "attempts", "history"}
    if set(data) != keys:
        return f"its keys are {sorted(data)}, not {sorted(keys)}"
    if data["format"] != FORMAT:
        return f"format {data['format']!r}, not {FORMAT!r}"
    if data["serial"] != serial:
        return f"it names serial {data['serial']!r}"
    if not isinstance(data["host"], str) or data["status"] not in LADDER_STATUSES:
        return "host or status is not what a ladder holds"
    if not all(_number(data[k]) for k in ("created", "updated")):
        return "created or updated is not a time"
    if not isinstance(data["attempts"], list) or not isinstance(data["history"], list) or not all(isinstance(h, dict) for h in data["history"]):
        return "attempts or history is not a list"
    for i, a in enumerate(data["attempts"]):
        why = _attempt_problem(a)
        if why:
            return f"attempt {i + 1}: {why}"
    return None


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _attempt_problem(a: Any) -> str | None:
    keys = {"rung", "status", "run_id", "why", "outcome", "started", "ended"}
    if not isinstance(a, dict) or set(a) != keys:
        return f"its keys are not {sorted(keys)}"
    if a["rung"] not in BY_NAME:
        return f"unknown rung {a['rung']!r}"
    if a["status"] not in ATTEMPT_STATUSES:
        return f"unknown status {a['status']!r}"
    if a["run_id"] is not None and not (isinstance(a["run_id"], str) and RUN_ID_RE.match(a["run_id"])):
        return "run_id is not a run id"
    if not isinstance(a["why"], list) or not all(isinstance(w, str) for w in a["why"]) or not isinstance(a["outcome"], str):
        return "why or outcome is not text"
    if not _number(a["started"]) or not (a["ended"] is None or _number(a["ended"])):
        return "started or ended is not a time"
    return None


def _ladder(data: dict[str, Any]) -> Ladder:
    attempts = [Attempt(**a) for a in data["attempts"]]
    return Ladder(data["serial"], data["host"], data["created"], data["updated"], data["status"], attempts, data["history"])
