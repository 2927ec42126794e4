"""The batch ledger: for every selected Mac of a batch, where it stands.

``ledger.json`` is a snapshot; every change of one Mac is appended to ``ledger.jsonl`` (one fsynced line), so
an update costs the same with ten thousand Macs as with ten; loading replays the journal over the snapshot (a
line cut short by a crash is ignored) and ``save()`` folds it back into the snapshot.

With the per-Mac checkpoints it makes a batch resumable after a crash at any moment: a Mac whose run exists
is resumed (never started twice), a Mac never started is started, a finished Mac is left alone. A lock on
the batches folder lets one batch run at a time; a second scheduled invocation exits at once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cleanup.engine.store import _private_dir, atomic_write, held_lock
from cleanup.errors import StateError, UsageError

FORMAT = "cleanup-batch/1"
BATCH_ID_RE = re.compile(r"^B-\d{8}T\d{6}Z-[0-9a-f]{4}$")
FINAL = ("done", "refused")  # a Mac in these states is not touched again by resume
MAX_ATTEMPTS = 3  # a Mac that failed this often (retryable or not) waits for a person


def retry_due(mac: dict) -> bool:
    """Is this Mac still work for the batch: not finished, and not failed for good?"""
    if mac["state"] in FINAL:
        return False
    if mac["state"] == "failed":
        return bool(mac.get("retryable")) and mac.get("attempts", 0) < MAX_ATTEMPTS
    return True


def new_mac(serial: str, name: str | None = None, host: str = "none", reasons=(), evidence=None) -> dict:
    return {"serial": serial, "name": name, "host": host, "reasons": list(reasons), "evidence": evidence or {},
            "state": "pending", "run_id": None, "attempts": 0, "outcome": "", "retryable": False,
            "not_before": None, "started": None, "ended": None, "deleted": []}


class Ledger:
    def __init__(self, root: Path, data: dict):
        self.root = Path(root)
        self.data = data
        self._lock = threading.Lock()

    @property
    def batch_id(self) -> str:
        return self.data["batch_id"]

    @property
    def dir(self) -> Path:
        return self.root / "batches" / self.batch_id

    @property
    def macs(self) -> list[dict]:
        return self.data["macs"]

    @classmethod
    def create(cls, root: Path, playbook: str, macs: list[dict], options: dict) -> "Ledger":
        now = time.time()
        bid = time.strftime("B-%Y%m%dT%H%M%SZ-", time.gmtime(now)) + secrets.token_hex(2)
        ledger = cls(root, {"format": FORMAT, "batch_id": bid, "playbook": playbook, "created": now, "updated": now,
                            "options": options, "macs": macs})
        _private_dir(Path(root))
        _private_dir(Path(root) / "batches")
        _private_dir(ledger.dir)
        ledger.save()
        return ledger

    @classmethod
    def load(cls, root: Path, batch_id: str) -> "Ledger":
        if not BATCH_ID_RE.match(batch_id or ""):
            raise UsageError(f"{batch_id!r} is not a batch id (like B-20261126T070000Z-ab12)")
        path = Path(root) / "batches" / batch_id / "ledger.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"no batch {batch_id} in {root}", hint="`cleanup batch status` lists the batches") from None
        except (OSError, ValueError) as exc:
            raise StateError(f"batch ledger {path} is damaged: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("batch_id") != batch_id or not isinstance(data.get("macs"), list):
            raise StateError(f"batch ledger {path} is not a cleanup batch ledger (or it was edited)")
        ledger = cls(root, data)
        ledger._replay()
        return ledger

    def _replay(self) -> None:
        by_serial = {m["serial"]: m for m in self.macs}
        try:
            lines = (self.dir / "ledger.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # the last line of a crash
            mac = by_serial.get(rec.get("serial")) if isinstance(rec, dict) else None
            if mac is not None and isinstance(rec.get("changes"), dict):
                mac.update(rec["changes"])

    @staticmethod
    def batch_ids(root: Path) -> list[str]:
        d = Path(root) / "batches"
        return sorted(p.name for p in d.iterdir() if BATCH_ID_RE.match(p.name)) if d.is_dir() else []

    def save(self) -> None:
        """Write the snapshot and start an empty journal (at the start and the end of an invocation)."""
        with self._lock:
            self.data["updated"] = time.time()
            atomic_write(self.dir / "ledger.json", json.dumps(self.data, indent=1, sort_keys=True).encode())
            journal = self.dir / "ledger.jsonl"
            if journal.exists():
                journal.unlink()

    def update(self, mac: dict, **changes) -> None:
        """Change one Mac: one journal line, written before the change counts."""
        line = json.dumps({"serial": mac["serial"], "changes": changes}, sort_keys=True, default=str).encode() + b"\n"
        with self._lock:
            fd = os.open(self.dir / "ledger.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                # no fsync: a killed process loses nothing the kernel has; the per-Mac checkpoints are the
                # record of truth, and a Mac whose line was lost is found again by its run
                os.write(fd, line)
            finally:
                os.close(fd)
            mac.update(changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.macs:
            out[m["state"]] = out.get(m["state"], 0) + 1
        return out


@contextmanager
def batch_lock(root: Path) -> Iterator[None]:
    """One batch at a time per state folder: a second invocation fails at once (status 4), naming the holder."""
    _private_dir(Path(root))
    with held_lock(Path(root) / "batch.lock", f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}",
                   lambda holder: f"a batch is already running ({holder}); this invocation exits without doing anything"):
        yield
