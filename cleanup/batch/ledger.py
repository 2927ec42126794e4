"""The batch ledger: for every selected Mac of a batch, where it stands, in one SQLite file per batch.

Ten thousand Macs must cost the batch no more memory than ten: the Macs, their plans and their states live on
disk, and the batch process holds only the Macs in flight. Each change of a Mac is one committed transaction
(WAL, ``synchronous=NORMAL``): a killed process loses nothing the kernel has; after an OS crash the last changes
may be lost, which is safe because each Mac's run checkpoint is the record of truth (a Mac whose change was lost
is found again by its run, never started twice).

A batch is selected and planned in ``batches/.planning-<id>/`` and moved to ``batches/<id>/`` only when its plan
passed the deletion budget, so a refused or dry-run batch leaves nothing behind and resume only ever sees
batches that were allowed to run. A lock on the state folder lets one batch run at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cleanup.engine.store import _private_dir, held_lock
from cleanup.errors import StateError, UsageError

FORMAT = "cleanup-batch/3"
BATCH_ID_RE = re.compile(r"^B-\d{8}T\d{6}Z-[0-9a-f]{4}$")
PLANNING_PREFIX = ".planning-"
FINAL = ("done", "refused")  # a Mac in these states is not touched again by resume
MAX_ATTEMPTS = 3  # a Mac that failed this often (retryable or not) waits for a person
PAGE = 500  # Macs read per query when walking a batch
# the batch's meta, each key with its type: the approved playbook is stored whole (text and hash), never by name
NUMBER = (int, float)
META_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "batch_id": str,
    "playbook": str,
    "playbook_sha256": str,
    "playbook_text": str,
    "created": NUMBER,
    "updated": NUMBER,
    "options": dict,
}

# the ledger's columns, in the order of a Mac's dict; JSON ones are stored as text
COLUMNS = ("serial", "name", "host", "reasons", "evidence", "state", "run_id", "attempts", "outcome", "retryable", "not_before", "started", "ended", "deleted")
JSON_COLUMNS = {"reasons": list, "evidence": dict, "deleted": list}
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE macs (
    serial TEXT PRIMARY KEY, name TEXT, host TEXT NOT NULL DEFAULT 'none',
    reasons TEXT NOT NULL DEFAULT '[]', evidence TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending', run_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT '', retryable INTEGER NOT NULL DEFAULT 0,
    not_before REAL, started REAL, ended REAL, deleted TEXT NOT NULL DEFAULT '[]',
    plan TEXT
) WITHOUT ROWID;
CREATE INDEX macs_waiting ON macs (state, not_before);
"""
STATES = ("pending", "running", "waiting", "done", "failed", "refused")
# still work for the batch: not finished, and not failed for good (see retry_due)
_DUE_SQL = f"(state NOT IN ('done', 'refused') AND (state != 'failed' OR (retryable = 1 AND attempts < {MAX_ATTEMPTS})))"
_RUNNABLE_SQL = f"state != 'waiting' AND {_DUE_SQL}"


def retry_due(mac: dict) -> bool:
    """Is this Mac still work for the batch: not finished, and not failed for good?"""
    if mac["state"] in FINAL:
        return False
    if mac["state"] == "failed":
        return bool(mac.get("retryable")) and mac.get("attempts", 0) < MAX_ATTEMPTS
    return True


def playbook_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def meta_problem(meta: dict) -> str | None:
    """Why a ledger's meta is not what a cleanup batch writes (keys, types, the playbook's hash), or None."""
    unknown, missing = sorted(set(meta) - set(META_TYPES)), sorted(set(META_TYPES) - set(meta))
    if unknown or missing:
        return f"unknown key(s) {unknown}, missing key(s) {missing}"
    for key, typ in META_TYPES.items():
        if not isinstance(meta[key], typ) or isinstance(meta[key], bool):
            return f"{key} is a {type(meta[key]).__name__}"
    if meta["playbook_sha256"] != playbook_sha256(meta["playbook_text"]):
        return "the approved playbook does not match its hash"
    return None


def _encode(column: str, value):
    if column == "plan":
        return None if value is None else json.dumps(value, sort_keys=True, default=str)
    if column in JSON_COLUMNS:
        return json.dumps(value if value is not None else JSON_COLUMNS[column](), sort_keys=True, default=str)
    if column == "retryable":
        return 1 if value else 0
    return value


def _mac(row: sqlite3.Row) -> dict:
    mac = {}
    for column in COLUMNS:
        value = row[column]
        if column in JSON_COLUMNS:
            value = json.loads(value)
        elif column == "retryable":
            value = bool(value)
        mac[column] = value
    return mac


def _state_filter(state: str | tuple[str, ...] | None, exclude: str | tuple[str, ...]) -> tuple[str, tuple]:
    """The SQL condition (with its parameters) for Macs in ``state`` and not in ``exclude``."""
    want = (state,) if isinstance(state, str) else state
    skip = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    unknown = sorted((set(want or ()) | set(skip)) - set(STATES))
    if unknown:
        raise ValueError(f"no Mac state {unknown}")
    conds: list[str] = ["1"]
    args: list[str] = []
    if want is not None:
        conds.append(f"state IN ({', '.join('?' * len(want))})")
        args += want
    if skip:
        conds.append(f"state NOT IN ({', '.join('?' * len(skip))})")
        args += skip
    return " AND ".join(conds), tuple(args)


class Ledger:
    def __init__(self, root: Path, path: Path, conn: sqlite3.Connection):
        self.root = Path(root)
        self.path = path
        self._conn = conn
        self._lock = threading.RLock()
        self.meta = {r["key"]: json.loads(r["value"]) for r in conn.execute("SELECT key, value FROM meta")}

    # -- opening ---------------------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @classmethod
    def create(cls, root: Path, playbook: str, options: dict, playbook_text: str = "") -> Ledger:
        """A new batch, in its planning folder until :meth:`open_for_run` (nothing of it is visible before).
        ``playbook_text`` is the playbook whose plan is approved: resume runs that text, whatever has that name."""
        now = time.time()
        bid = time.strftime("B-%Y%m%dT%H%M%SZ-", time.gmtime(now)) + secrets.token_hex(2)
        _private_dir(Path(root))
        _private_dir(Path(root) / "batches")
        folder = Path(root) / "batches" / (PLANNING_PREFIX + bid)
        folder.mkdir(mode=0o700)
        path = folder / "ledger.db"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        conn = cls._connect(path)
        conn.executescript(SCHEMA)
        meta = {
            "format": FORMAT,
            "batch_id": bid,
            "playbook": playbook,
            "playbook_text": playbook_text,
            "playbook_sha256": playbook_sha256(playbook_text),
            "created": now,
            "updated": now,
            "options": options,
        }
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [(k, json.dumps(v, sort_keys=True)) for k, v in meta.items()])
        return cls(root, path, conn)

    @classmethod
    def load(cls, root: Path, batch_id: str, write: bool = False) -> Ledger:
        """An existing batch; with ``write``, one that can record its Macs' progress (checked before anything runs)."""
        if not BATCH_ID_RE.match(batch_id or ""):
            raise UsageError(f"{batch_id!r} is not a batch id (like B-20261126T070000Z-ab12)")
        path = Path(root) / "batches" / batch_id / "ledger.db"
        if not path.is_file() or path.is_symlink():
            raise UsageError(f"no batch {batch_id} in {root}", hint="`cleanup batch status` lists the batches")
        if write:
            cls._require_writable(path)
        try:
            ledger = cls(root, path, cls._connect(path))
            ledger._conn.execute("SELECT COUNT(*) FROM macs").fetchone()
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise StateError(f"batch ledger {path} is damaged: {exc}") from None
        if ledger.meta.get("format") != FORMAT or ledger.meta.get("batch_id") != batch_id:
            ledger.close()
            raise StateError(f"batch ledger {path} is not a cleanup batch ledger (or it was edited)")
        problem = meta_problem(ledger.meta)
        if problem:
            ledger.close()
            raise StateError(f"batch ledger {path} was edited ({problem}); nothing was done")
        if write:
            ledger._probe_write()
        return ledger

    @staticmethod
    def _require_writable(path: Path) -> None:
        # access() also sees what root cannot write: an immutable file, a read-only mount
        for p in (path, path.parent):
            if not os.access(p, os.W_OK):
                raise StateError(
                    f"batch ledger {path} is read-only ({p} cannot be written); nothing was done",
                    hint="the batch records every Mac's progress there: make it writable, then resume",
                )

    def _probe_write(self) -> None:
        try:
            with self.transaction():
                self._conn.execute("UPDATE meta SET value = value WHERE key = 'updated'")
        except sqlite3.Error as exc:
            self.close()
            raise StateError(f"batch ledger {self.path} is read-only ({exc}); nothing was done") from None

    @staticmethod
    def batch_ids(root: Path) -> list[str]:
        d = Path(root) / "batches"
        return sorted(p.name for p in d.iterdir() if BATCH_ID_RE.match(p.name) and (p / "ledger.db").is_file()) if d.is_dir() else []

    @staticmethod
    def abandoned(root: Path) -> list[str]:
        """Planning folders a killed `batch run` left (never batches: they changed nothing)."""
        d = Path(root) / "batches"
        return sorted(p.name for p in d.glob(PLANNING_PREFIX + "*") if p.is_dir()) if d.is_dir() else []

    @staticmethod
    def discard_abandoned(root: Path) -> None:
        """Planning folders left by a killed invocation (they never changed anything). Call under the batch lock."""
        d = Path(root) / "batches"
        for p in d.glob(PLANNING_PREFIX + "*") if d.is_dir() else []:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)

    def open_for_run(self) -> None:
        """The plan passed: move the batch where resume and status find it."""
        planning = self.path.parent
        final = planning.parent / self.batch_id
        with self._lock:
            self._conn.close()
            os.rename(planning, final)
            self.path = final / "ledger.db"
            self._conn = self._connect(self.path)

    def discard(self) -> None:
        """Drop a batch that is still planning (a dry-run, or a plan over the deletion budget)."""
        with self._lock:
            self._conn.close()
            if self.path.parent.name.startswith(PLANNING_PREFIX):
                shutil.rmtree(self.path.parent, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- the batch -------------------------------------------------------------------------------------
    @property
    def batch_id(self) -> str:
        return self.meta["batch_id"]

    @property
    def dir(self) -> Path:
        return self.path.parent

    def touch(self) -> None:
        self.meta["updated"] = time.time()
        try:
            with self._lock:
                self._conn.execute("UPDATE meta SET value = ? WHERE key = 'updated'", (json.dumps(self.meta["updated"]),))
        except sqlite3.Error as exc:
            raise StateError(f"batch ledger {self.path} cannot be written ({exc})") from None

    # -- selection -------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def add(self, serial: str, reason: str, name: str | None = None, **evidence) -> None:
        """Add a flagged Mac, or merge one more reason (and its evidence) into it: the selection's sink."""
        with self._lock:
            row = self._conn.execute("SELECT name, reasons, evidence FROM macs WHERE serial = ?", (serial,)).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO macs (serial, name, reasons, evidence) VALUES (?, ?, ?, ?)",
                    (serial, name, json.dumps([reason]), json.dumps(evidence, sort_keys=True, default=str)),
                )
                return
            reasons = json.loads(row["reasons"])
            if reason not in reasons:
                reasons.append(reason)
            merged = {**json.loads(row["evidence"]), **evidence}
            self._conn.execute(
                "UPDATE macs SET name = ?, reasons = ?, evidence = ? WHERE serial = ?",
                (row["name"] or name, json.dumps(reasons), json.dumps(merged, sort_keys=True, default=str), serial),
            )

    # -- reading ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM macs").fetchone()[0]

    def get(self, serial: str) -> dict:
        with self._lock:
            row = self._conn.execute("SELECT * FROM macs WHERE serial = ?", (serial,)).fetchone()
        if row is None:
            raise StateError(f"batch {self.batch_id} has no Mac {serial}")
        return _mac(row)

    def macs(self, state: str | tuple[str, ...] | None = None, *, exclude: str | tuple[str, ...] = ()) -> Iterator[dict]:
        """The Macs in serial order, a page at a time (the ledger may change between pages); only those in
        ``state`` (one or several) and not in ``exclude`` when given."""
        where, args = _state_filter(state, exclude)
        last = ""
        while True:
            rows = self._page("*", where, args, last, PAGE)
            for row in rows:
                yield _mac(row)
            if len(rows) < PAGE:
                return
            last = rows[-1]["serial"]

    def serials(self, after: str = "", limit: int = PAGE) -> list[str]:
        """A page of the batch's serials, after ``after`` (what the plan walks, a chunk at a time)."""
        return [r[0] for r in self._page("serial", "1", (), after, limit)]

    def runnable(self, after: str = "", limit: int = PAGE) -> list[str]:
        """A page of the serials a run starts now: still due (see :func:`retry_due`) and not in a wait."""
        return [r[0] for r in self._page("serial", _RUNNABLE_SQL, (), after, limit)]

    def _page(self, columns: str, where: str, args: tuple, after: str, limit: int) -> list[sqlite3.Row]:
        # ``where`` is one of this module's own conditions, never a caller's text
        with self._lock:
            return self._conn.execute(f"SELECT {columns} FROM macs WHERE serial > ? AND {where} ORDER BY serial LIMIT ?", (after, *args, limit)).fetchall()

    def plan(self, serial: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT plan FROM macs WHERE serial = ?", (serial,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def planned_total(self) -> int:
        """The deletions of every Mac's approved plan: what ``--max-deletions`` holds the batch to."""
        with self._lock:
            row = self._conn.execute("SELECT SUM(json_array_length(plan, '$.approved')) FROM macs WHERE plan IS NOT NULL").fetchone()
        return int(row[0] or 0)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: r[1] for r in self._conn.execute("SELECT state, COUNT(*) FROM macs GROUP BY state ORDER BY state")}

    def any_due(self) -> bool:
        with self._lock:
            return self._conn.execute(f"SELECT 1 FROM macs WHERE {_DUE_SQL} LIMIT 1").fetchone() is not None

    def waiting(self, until: float | None, exclude: set[str], limit: int) -> list[tuple[str, float]]:
        """Waiting Macs, soonest first: (serial, not_before), only those due by ``until`` unless it is None."""
        cond = "state = 'waiting'" + ("" if until is None else " AND not_before <= ?")
        args: tuple = () if until is None else (until,)
        with self._lock:
            rows = self._conn.execute(f"SELECT serial, not_before FROM macs WHERE {cond} ORDER BY not_before LIMIT ?", (*args, limit + len(exclude))).fetchall()
        return [(r[0], r[1] or 0.0) for r in rows if r[0] not in exclude][:limit]

    # -- changing --------------------------------------------------------------------------------------
    def update(self, mac: dict | str, **changes) -> None:
        """Change one Mac: one committed transaction, before the change counts (a dict given is updated too)."""
        serial = mac if isinstance(mac, str) else mac["serial"]
        unknown = set(changes) - set(COLUMNS) - {"plan"}
        if unknown:
            raise ValueError(f"no ledger column {sorted(unknown)}")
        values = [_encode(k, v) for k, v in changes.items()]
        try:
            with self._lock:
                self._conn.execute(f"UPDATE macs SET {', '.join(f'{k} = ?' for k in changes)} WHERE serial = ?", (*values, serial))
        except sqlite3.Error as exc:
            raise StateError(f"batch ledger {self.path}: cannot record Mac {serial} ({exc})") from None
        if isinstance(mac, dict):
            mac.update({k: v for k, v in changes.items() if k != "plan"})


@contextmanager
def batch_lock(root: Path) -> Iterator[None]:
    """One batch at a time per state folder: a second invocation fails at once (status 4), naming the holder."""
    _private_dir(Path(root))
    with held_lock(
        Path(root) / "batch.lock",
        f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}",
        lambda holder: f"a batch is already running ({holder}); this invocation exits without doing anything",
    ):
        yield
