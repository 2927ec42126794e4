"""The record of what was saved: one line per secret (serial, kind, account, record, run, when, where), never a
value. ``cleanup escrow list`` reads it; ``cleanup escrow show`` follows it to the keyring entry or the file."""

from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from cleanup.errors import StateError, UnsafePath
from cleanup.identifiers import SERIAL_RE
from cleanup.readlimit import read_text

INDEX = "saved.jsonl"
INDEX_LIMIT = 64 << 20
_LOCK = threading.Lock()  # a batch saves for several Macs at once


@dataclass(frozen=True)
class Saved:
    serial: str
    kind: str  # filevault | laps | recovery-lock
    account: str | None  # the LAPS account; None for the other kinds
    record: str  # the Jamf Pro computer id the secret was escrowed for
    run: str
    saved_at: float
    store: str  # keyring | file
    where: str  # for people: the keyring entry or the file
    ref: str  # the keyring entry's user name, or the file's name in the escrow folder

    def to_json(self) -> dict:
        return asdict(self)


def private_dir(path: Path) -> Path:
    """The escrow folder, made 0700 and checked: a real folder of ours, not reached through a symlink."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"escrow folder {path} is a symlink or not a folder; refusing to save secrets there")
    if st.st_uid != os.geteuid():
        raise UnsafePath(f"escrow folder {path} belongs to uid {st.st_uid}, not to this user; refusing to save secrets there")
    os.chmod(path, 0o700)
    return path


def append(folder: Path, entries: list[Saved]) -> None:
    """Add lines to the index (0600, created if need be), flushed to disk before returning."""
    data = "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in entries).encode()
    with _LOCK:
        fd = os.open(private_dir(folder) / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def _entry(raw: object, where: str) -> Saved:
    names = set(Saved.__dataclass_fields__)
    if not isinstance(raw, dict) or set(raw) != names:
        raise StateError(f"{where}: not a line of ours")
    texts = ("serial", "kind", "record", "run", "store", "where", "ref")
    if not all(isinstance(raw[k], str) for k in texts) or not SERIAL_RE.fullmatch(raw["serial"]):
        raise StateError(f"{where}: a field is not what was written")
    if raw["account"] is not None and not isinstance(raw["account"], str):
        raise StateError(f"{where}: account is not text")
    if not isinstance(raw["saved_at"], (int, float)) or isinstance(raw["saved_at"], bool):
        raise StateError(f"{where}: saved_at is not a time")
    if raw["store"] not in ("keyring", "file") or "/" in raw["ref"] or raw["ref"] in ("", ".", ".."):
        raise StateError(f"{where}: store or ref is not what was written")
    return Saved(**raw)


def read(folder: Path) -> list[Saved]:
    """Every line of the index, oldest first; a missing index is an empty list, a damaged line a StateError."""
    path = folder / INDEX
    try:
        text = read_text(path, INDEX_LIMIT, "escrow index", StateError)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StateError(f"escrow index {path}: cannot read it: {exc.strerror}") from None
    lines = text.split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]  # a line cut short by a crash while it was written: nothing was saved under it
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            raise StateError(f"escrow index {path}, line {n}: not JSON") from None
        out.append(_entry(raw, f"escrow index {path}, line {n}"))
    return out
