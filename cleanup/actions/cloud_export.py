"""Right before a cloud delete: the object as the service returns it, whole but without secrets, saved in the run's
folder (:mod:`cleanup.engine.exports`). Jamf Pro: the inventory record with every section (nothing of the
FileVault, LAPS or Recovery Lock endpoints, which are never read here); Entra: the device; Intune: the managed
device, each as the re-read before the delete returned it.

Secrets a record may still carry are stripped, wherever they sit: fields named like a password, passcode,
secret, recovery key, private key, bypass code, token or PIN (Jamf Pro's write-only ``managementPassword``, an
Intune ``activationLockBypassCode``), and the values of Jamf Pro extension attributes so named (LAPS scripts put
passwords there). The export lists every field it stripped.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from cleanup.clients.jamf_groups import DETAIL, full_record
from cleanup.clients.wire import API_VERSION, DEVICES, MANAGED_DEVICES
from cleanup.engine.context import RunContext
from cleanup.engine.exports import SCHEMA, write_export
from cleanup.engine.store import StateStore
from cleanup.errors import StateError

_SECRET_KEY = re.compile(r"(password|passcode|passphrase|secret|recoverykey|privatekey|bypasscode|token|pin)$", re.IGNORECASE)
_SECRET_NAME = re.compile(r"password|passcode|passphrase|secret|recovery ?key|private ?key|bypass ?code|token|\blaps\b|\bpin\b", re.IGNORECASE)
_SOURCES = {"jamf": DETAIL, "entra": f"/{API_VERSION}{DEVICES}/{{id}}", "intune": f"/{API_VERSION}{MANAGED_DEVICES}/{{id}}"}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or isinstance(value, bool)


def strip_secrets(obj: Any, path: str = "") -> tuple[Any, list[str]]:
    """``obj`` with every secret-bearing value replaced by None, and the paths of those it replaced."""
    stripped: list[str] = []
    if isinstance(obj, list):
        out_list = []
        for n, item in enumerate(obj):
            clean, paths = strip_secrets(item, f"{path}[{n}]")
            out_list.append(clean)
            stripped += paths
        return out_list, stripped
    if not isinstance(obj, dict):
        return obj, stripped
    named_secret = isinstance(obj.get("name"), str) and bool(_SECRET_NAME.search(obj["name"]))
    out: dict[str, Any] = {}
    for key, value in obj.items():
        where = f"{path}.{key}" if path else str(key)
        if (_SECRET_KEY.search(str(key)) or (named_secret and key in ("value", "values"))) and not _empty(value):
            out[key] = None
            stripped.append(where)
        else:
            out[key], paths = strip_secrets(value, where)
            stripped += paths
    return out, stripped


def full_object(ctx: RunContext, service: str, oid: str, reread: dict[str, Any]) -> dict[str, Any] | None:
    """The object to export, as the service returns it: Jamf Pro's whole record (read once more, every section),
    the Graph objects as the re-read returned them. None when it is gone."""
    if service == "jamf":
        return full_record(ctx.cloud.jamf, oid)
    return reread


def export_before_delete(ctx: RunContext, service: str, oid: str, obj: dict[str, Any]) -> Path:
    """Save ``obj`` (secrets stripped) to the run's folder; the file, durable, before any delete is sent."""
    if not ctx.run_id or not ctx.state_dir:
        raise StateError(f"no run folder to export {service} object {oid} to; nothing was deleted")
    clean, stripped = strip_secrets(obj)
    document = {
        "schema": SCHEMA,
        "service": service,
        "id": oid,
        "run_id": ctx.run_id,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": "GET " + (ctx.cloud.jamf.routes.detail if service == "jamf" else _SOURCES[service]).format(id=oid),
        "stripped": stripped,
        "object": clean,
    }
    return write_export(StateStore(Path(ctx.state_dir)).run_dir(ctx.run_id), service, oid, document)
