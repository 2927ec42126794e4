"""What a run's cloud deletes destroyed, kept in the run's folder: each object as the service returned it, saved
right before its delete in ``runs/<RUN>/exports/``, and the list of what the run deleted with those exports.

Files are 0600 in a 0700 folder. An export is written in full under a temporary name and then linked to its
final name, which never replaces anything: a file or a link already there is neither overwritten nor followed
(the export takes the next free name, ``<service>-<id>.2.json``...). The writer strips secrets before it hands a
document over (:mod:`cleanup.actions.cloud_export`); this module stores and reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from cleanup.engine.audit import AuditLog
from cleanup.engine.plan import CLOUD_DELETES, ChangeKind
from cleanup.errors import SafetyRefusal, StateError

EXPORTS = "exports"
SCHEMA = 1
EXPORT_LIMIT = 64 << 20  # a Jamf Pro record with every section (applications, fonts...) is a few MiB at most
MAX_COPIES = 99
SERVICES = ("jamf", "entra", "intune")
_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_NAME_RE = re.compile(r"^(jamf|entra|intune)-([A-Za-z0-9-]{1,64})(?:\.([0-9]{1,2}))?\.json$")


def _export_dir(run_dir: Path, create: bool) -> Path | None:
    """The run's export folder (made 0700 if ``create``); a link, a non-folder or a folder others may change there
    is refused: the run's folder itself is one only its owner can change."""
    folder = Path(run_dir) / EXPORTS
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        raise SafetyRefusal(f"{folder} is not a folder (a link or a file is in its place); refusing to use it for the run's exports")
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise SafetyRefusal(f"{folder} is not a private folder of this user (owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):o}); refusing to use it")
    return folder


def write_export(run_dir: Path, service: str, oid: str, document: dict[str, Any]) -> Path:
    """Save ``document`` as the export of ``service`` object ``oid``; returns the file. Durable (fsynced, file and
    folder) before it returns, so the delete that follows can never outlive its export."""
    if service not in SERVICES or not _ID_RE.fullmatch(oid):
        raise StateError(f"cannot export {service} object {oid!r}: not a service and object id this tool deletes")
    folder = _export_dir(run_dir, create=True)
    assert folder is not None  # just created
    data = (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        tmp = f".{service}-{oid}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dfd)  # a leftover of this process id: ours, never a final name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            for n in range(1, MAX_COPIES + 1):
                name = f"{service}-{oid}.json" if n == 1 else f"{service}-{oid}.{n}.json"
                try:
                    os.link(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
                except FileExistsError:
                    continue
                os.fsync(dfd)
                return folder / name
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
        raise StateError(f"{folder} already holds {MAX_COPIES} exports of {service} object {oid}; refusing to add more")
    finally:
        os.close(dfd)


def _read_one(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return {"file": str(path), "error": f"unreadable ({exc.strerror or exc.__class__.__name__})"}
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {"file": str(path), "error": "not a regular file"}
        data = fh.read(EXPORT_LIMIT + 1)
    if len(data) > EXPORT_LIMIT:
        return {"file": str(path), "error": f"larger than {EXPORT_LIMIT >> 20} MiB"}
    try:
        doc = json.loads(data)
    except ValueError:
        return {"file": str(path), "error": "not a complete JSON document"}
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return {"file": str(path), "error": "not an export of this tool"}
    return {**doc, "file": str(path)}


def read_exports(run_dir: Path) -> list[dict[str, Any]]:
    """Every export of the run (each with its ``file``; a damaged one with an ``error`` instead), oldest first."""
    folder = _export_dir(run_dir, create=False)
    if folder is None:
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        m = _NAME_RE.fullmatch(name)
        if not m:
            continue
        doc = _read_one(folder, name)
        if "error" in doc:
            doc.update(service=m.group(1), id=m.group(2))
        out.append(doc)
    return sorted(out, key=lambda d: (str(d.get("exported_at") or ""), d["file"]))


def deleted_objects(run_dir: Path) -> list[dict[str, Any]]:
    """What the run deleted in Jamf Pro, Entra and Intune (its audit log's results that changed something), each
    with what the run recorded before the delete (``expect``) and its exports, newest last."""
    intents: dict[str, dict[str, Any]] = {}
    found: dict[str, dict[str, Any]] = {}
    for rec in AuditLog(Path(run_dir) / "audit.jsonl").records():
        kind, key = rec.get("kind"), rec.get("key")
        if kind not in CLOUD_DELETES or not isinstance(key, str) or ":" not in key:
            continue
        if rec.get("event") == "intent":
            intents[key] = rec
        elif rec.get("event") == "result" and rec.get("changed") and key not in found:
            raw = (intents.get(key) or {}).get("details")
            details: dict[str, Any] = raw if isinstance(raw, dict) else {}
            found[key] = {
                "service": CLOUD_DELETES[ChangeKind(kind)],
                "id": key.split(":", 1)[1],
                "target": rec.get("target"),
                "step": rec.get("step"),
                "deleted_at": rec.get("time"),
                "result": rec.get("result"),
                "expect": details.get("expect") or {},
                "exports": [],
            }
    by_object = {(d["service"], d["id"]): d for d in found.values()}
    for doc in read_exports(run_dir):
        entry = by_object.get((doc.get("service"), doc.get("id")))
        if entry is not None:
            entry["exports"].append(doc)
    return list(found.values())
