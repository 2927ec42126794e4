"""The saved values back, for ``cleanup escrow show`` only: each index line followed to its keyring entry or to
its escrow file (decrypted with the private key the operator gives)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cleanup.errors import CleanupError, StateError, UsageError
from cleanup.escrow import fileformat
from cleanup.escrow.index import Saved
from cleanup.escrow.store import SERVICE, KeyringStore, keyring_backend
from cleanup.readlimit import read_text

FILE_LIMIT = 1 << 20


def _from_keyring(row: Saved, entries: dict[str, Any]) -> str:
    if row.ref not in entries:
        if not keyring_backend():
            raise CleanupError(f"{row.where}: this machine has no keyring backend; show it on the machine (and as the user) that saved it")
        entries[row.ref] = KeyringStore(Path("."), "").read_entry(row.serial, row.kind)
    entry = entries[row.ref]
    for save in (entry or {}).get("saves", []):
        if (
            isinstance(save, dict)
            and save.get("record") == row.record
            and save.get("run") == row.run
            and save.get("saved_at") == row.saved_at
            and save.get("account") == row.account
            and isinstance(save.get("value"), str)
        ):
            return str(save["value"])
    raise CleanupError(f"keyring entry {SERVICE}/{row.ref} no longer holds the save of run {row.run} (was it removed by hand?)")


def _from_file(row: Saved, folder: Path, key: Any, files: dict[str, list[dict[str, Any]]]) -> str:
    path = folder / row.ref
    if row.ref not in files:
        where = f"escrow file {path}"
        try:
            doc = json.loads(read_text(path, FILE_LIMIT, "escrow file", StateError))
        except FileNotFoundError:
            raise StateError(f"{where} is gone") from None
        except ValueError:
            raise StateError(f"{where} is not JSON; the file is damaged") from None
        header = fileformat.header_of(doc, where)
        if (header.get("serial"), header.get("kind"), header.get("record"), header.get("run")) != (row.serial, row.kind, row.record, row.run):
            raise StateError(f"{where} does not hold what the index says (Mac {row.serial}, {row.kind}, record {row.record}, run {row.run})")
        files[row.ref] = fileformat.open_sealed(doc, key, where)
    for v in files[row.ref]:
        if v.get("account") == row.account:
            return str(v["value"])
    raise StateError(f"escrow file {path} holds no value for account {row.account!r}")


def reveal(folder: Path, rows: list[Saved], key_path: str | None, passphrase: Callable[[], str | None]) -> list[dict[str, Any]]:
    """Each row with its value. A row in an escrow file needs ``key_path`` (the recipient's private key)."""
    if any(r.store == "file" for r in rows) and not key_path:
        raise UsageError("these secrets are in escrow files encrypted to the [escrow] recipient: give its private key with --key FILE")
    key = fileformat.load_private_key(key_path, passphrase) if key_path and any(r.store == "file" for r in rows) else None
    entries: dict[str, Any] = {}
    files: dict[str, list[dict[str, Any]]] = {}
    out = []
    for row in rows:
        value = _from_keyring(row, entries) if row.store == "keyring" else _from_file(row, folder, key, files)
        out.append({**row.to_json(), "value": value})
    return out
