"""Where the secrets Jamf Pro escrowed for a record are saved before step 4 deletes it.

The OS keyring by default (one entry per serial and kind: service ``cleanup-escrow``, user name ``SERIAL:KIND``,
every save of that serial and kind kept in it). On a machine without a keyring backend (a scheduled batch on a
server) an escrow file per save, encrypted to the public key ``[escrow] recipient`` names, so that the machine
that writes it cannot read it back. Neither: nowhere, and a run whose record holds such secrets is refused before
any change. Values never reach the index, the state, the audit log, reports, logs or output.
"""

from __future__ import annotations

import json
import os
import secrets as _random
import threading
import time
from pathlib import Path
from typing import Any

from cleanup.clients.config import CloudConfig
from cleanup.errors import CleanupError, SafetyRefusal, UsageError
from cleanup.escrow import fileformat, index
from cleanup.escrow.index import Saved
from cleanup.identifiers import valid_serial

SERVICE = "cleanup-escrow"
ENTRY_FORMAT = "cleanup-escrow-entry/1"
KINDS = ("filevault", "laps", "recovery-lock")
#: (account, value) pairs: the account is the LAPS user name, None for the other kinds
Values = list[tuple[str | None, str]]

_KEYRING_LOCK = threading.Lock()  # read-modify-write of one entry; a batch saves for several Macs at once


def entry_user(serial: str, kind: str) -> str:
    return f"{valid_serial(serial)}:{kind}"


def _stamp(when: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))


def _check(serial: str, kind: str, values: Values) -> None:
    valid_serial(serial)
    if kind not in KINDS:
        raise UsageError(f"unknown escrow kind {kind!r}")
    if not values or not all(isinstance(v, str) and v for _, v in values):
        raise UsageError(f"nothing to save for {kind} of {serial}")


class Nowhere:
    """No place to save: the reason, for the refusal."""

    name = "none"

    def __init__(self, problem: str):
        self.problem: str | None = problem

    def where(self) -> str:
        return f"nowhere ({self.problem})"

    def save(self, serial: str, kind: str, record: str, run: str, values: Values) -> str:
        raise SafetyRefusal(f"there is nowhere to save the escrowed secrets of Mac {serial}: {self.problem}; refusing")


class KeyringStore:
    name = "keyring"
    problem: str | None = None

    def __init__(self, folder: Path, backend_name: str):
        self.folder = folder
        self.backend_name = backend_name

    def where(self) -> str:
        return f"the keyring ({self.backend_name}), one entry per serial and kind (service {SERVICE})"

    @staticmethod
    def _backend() -> Any:
        import keyring

        return keyring.get_keyring()

    def read_entry(self, serial: str, kind: str) -> dict[str, Any] | None:
        """The entry of one serial and kind (every save of it), or None; CleanupError if it is not ours."""
        import keyring.errors

        user = entry_user(serial, kind)
        try:
            raw = self._backend().get_password(SERVICE, user)
        except keyring.errors.KeyringError as exc:
            raise CleanupError(f"the keyring could not read entry {SERVICE}/{user} ({type(exc).__name__})", "unlock the keyring, then try again") from None
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT or not isinstance(entry.get("saves"), list):
            raise CleanupError(f"keyring entry {SERVICE}/{user} holds something that is not ours; it was left as it is")
        return entry

    def save(self, serial: str, kind: str, record: str, run: str, values: Values) -> str:
        import keyring.errors

        _check(serial, kind, values)
        index.private_dir(self.folder)  # the record of the save must be writable before anything is saved
        user = entry_user(serial, kind)
        now = time.time()
        with _KEYRING_LOCK:
            entry = self.read_entry(serial, kind) or {"format": ENTRY_FORMAT, "serial": serial, "kind": kind, "saves": []}
            entry["saves"] += [{"record": record, "run": run, "saved_at": now, "account": a, "value": v} for a, v in values]
            text = json.dumps(entry, sort_keys=True)
            try:
                self._backend().set_password(SERVICE, user, text)
                stored = self._backend().get_password(SERVICE, user)
            except keyring.errors.KeyringError as exc:
                raise CleanupError(f"the keyring could not store entry {SERVICE}/{user} ({type(exc).__name__})", "unlock the keyring, then resume") from None
        if stored != text:
            raise CleanupError(f"the keyring did not keep entry {SERVICE}/{user} as written; nothing is deleted before it does")
        where = f"keyring ({self.backend_name}) entry {SERVICE}/{user}"
        index.append(self.folder, [Saved(serial, kind, a, record, run, now, "keyring", where, user) for a, _ in values])
        return where


class FileStore:
    name = "file"
    problem: str | None = None

    def __init__(self, folder: Path, recipient: fileformat.Recipient):
        self.folder = folder
        self.recipient = recipient

    def where(self) -> str:
        return f"escrow files in {self.folder}, encrypted to {self.recipient.describe()}"

    def save(self, serial: str, kind: str, record: str, run: str, values: Values) -> str:
        _check(serial, kind, values)
        now = time.time()
        header = {"serial": serial, "kind": kind, "record": record, "run": run, "saved_at": now, "accounts": [a for a, _ in values if a]}
        doc = fileformat.seal(self.recipient, header, [{"account": a, "value": v} for a, v in values])
        folder = index.private_dir(self.folder)
        name = f"{serial}-{kind}-{record}-{_stamp(now)}-{_random.token_hex(3)}.escrow.json"
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        index.append(self.folder, [Saved(serial, kind, a, record, run, now, "file", str(path), name) for a, _ in values])
        return f"escrow file {path}"


def escrow_folder(config: CloudConfig, state_dir: Path) -> Path:
    return Path(config.escrow_dir) if config.escrow_dir else Path(state_dir) / "escrow"


def keyring_backend() -> str | None:
    """The name of a keyring backend that really stores (not the fail or null one), else None."""
    from cleanup.clients.secrets import Secrets

    return Secrets().backend_name()


def choose(config: CloudConfig, folder: Path) -> KeyringStore | FileStore | Nowhere:
    mode = config.escrow_store or "auto"
    if mode in ("auto", "keyring"):
        backend = keyring_backend()
        if backend:
            return KeyringStore(folder, backend)
        if mode == "keyring":
            return Nowhere("[escrow] store = keyring, but this machine has no keyring backend")
    if config.escrow_recipient:
        return FileStore(folder, fileformat.load_recipient(config.escrow_recipient))
    if mode == "file":
        return Nowhere("[escrow] store = file needs [escrow] recipient = <a public key file>")
    return Nowhere("this machine has no keyring backend and the config names no [escrow] recipient (docs/escrow.md)")


class Escrow:
    """The escrow place of a run or a batch, chosen on first use (the keyring costs an import): what the run's
    options carry to step 4 (``RunOptions.escrow``)."""

    def __init__(self, config: CloudConfig, state_dir: Path):
        self.config = config
        self.folder = escrow_folder(config, state_dir)
        self._store: KeyringStore | FileStore | Nowhere | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> KeyringStore | FileStore | Nowhere:
        with self._lock:
            if self._store is None:
                self._store = choose(self.config, self.folder)
            return self._store

    @property
    def name(self) -> str:
        return self.store.name

    @property
    def problem(self) -> str | None:
        return self.store.problem

    def where(self) -> str:
        return self.store.where()

    def save(self, serial: str, kind: str, record: str, run: str, values: Values) -> str:
        """Save one kind of secret of one record; returns where (no value). Any failure raises: nothing is deleted."""
        return self.store.save(serial, kind, record, run, values)


def open_escrow(config: CloudConfig, state_dir: Path) -> Escrow:
    return Escrow(config, state_dir)
