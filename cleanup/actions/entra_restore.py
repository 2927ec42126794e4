"""`cleanup restore RUN`: bring back the Entra devices a run deleted, where the tenant still keeps them soft-deleted.

Only devices this run deleted are considered (its audit log's results), each by the object id and deviceId the run
recorded before the delete; the export, when there is one, must agree. A device is restored only when exactly
one soft-deleted item has that object id and that deviceId, and no live device has the deviceId; anything else
is refused for that device. Jamf Pro and Intune have no undelete: their deletions are reported as not
restorable, with the export that holds what was deleted.

Assumed where Microsoft documents nothing: listing the deleted devices needs a device read permission, and
restoring one ``Device.ReadWrite.All`` plus one of the roles Microsoft names (Cloud Device Administrator, Intune
Administrator, Global Administrator) assigned to the app; a 403 says so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from cleanup.actions.entra_devices import SOFT_DELETED_TRUST_TYPES
from cleanup.clients import records as R
from cleanup.errors import CleanupError, GraphError

SOFT_DELETE_DAYS = 30
ROLE_HINT = (
    "Microsoft documents device restore for the Cloud Device Administrator, Intune Administrator or Global Administrator role only: "
    "assign one of them to the Entra app (its service principal), which also needs Device.ReadWrite.All"
)
NO_UNDELETE = {
    "jamf": "Jamf Pro has no undelete; the Mac's re-enrollment made its new record",
    "intune": "Intune has no undelete; the Mac's registration made its new record",
}


@dataclass
class Restore:
    service: str
    id: str
    target: str
    device_id: str | None
    state: str  # would-restore | restored | already-restored | refused | failed | not-restorable
    reason: str = ""
    export: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        where = f" (export: {self.export})" if self.export else ""
        return f"{self.state}: {self.target}" + (f": {self.reason}" if self.reason else "") + where


def _export_of(obj: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    good = [e for e in obj["exports"] if isinstance(e.get("object"), dict)]
    return (good[-1]["object"], good[-1]["file"]) if good else (None, obj["exports"][-1]["file"] if obj["exports"] else None)


def _trust_type(recorded: dict[str, Any], exported: dict[str, Any] | None) -> str | None:
    return (exported or {}).get("trustType") or recorded.get("trustType")


def _not_found_reason(trust: str | None, deleted_at: str | None, any_deleted: bool, now: float) -> str:
    if str(trust or "").casefold() not in SOFT_DELETED_TRUST_TYPES:
        return f"not among the deleted devices: trust type {trust or 'none'} is hard-deleted at once, never soft-deleted"
    when = R.parse_time(deleted_at)
    if when is not None and now - when > SOFT_DELETE_DAYS * 86400:
        ended = time.strftime("%Y-%m-%d", time.gmtime(when + SOFT_DELETE_DAYS * 86400))
        return f"not among the deleted devices: its {SOFT_DELETE_DAYS} days as a soft-deleted device ended on {ended}"
    if not any_deleted:
        return "not among the deleted devices: the tenant keeps no soft-deleted devices (device soft delete not available), so the delete was final"
    return "not among the tenant's soft-deleted devices (deleted for good, in the portal or by the service)"


def plan_restore(cloud: Any, deleted: list[dict[str, Any]], recorded: list[dict[str, Any]], entra_only: bool, now: float | None = None) -> list[Restore]:
    """What restoring the run's deleted objects would do, each checked against the tenant now (nothing changed).
    ``deleted``: :func:`cleanup.engine.exports.deleted_objects`; ``recorded``: the Entra devices of step 0."""
    now = time.time() if now is None else now
    by_id = {d.get("id"): d for d in recorded}
    out: list[Restore] = []
    entra = [d for d in deleted if d["service"] == "entra"]
    for obj in deleted:
        if obj["service"] != "entra" and not entra_only:
            _, file = _export_of(obj)
            out.append(Restore(obj["service"], obj["id"], obj.get("target") or obj["id"], None, "not-restorable", NO_UNDELETE[obj["service"]], file))
    if not entra:
        return out
    graph = cloud.graph
    try:
        soft_deleted = graph.deleted_devices()
    except GraphError as exc:
        hint = f"; {ROLE_HINT}" if exc.status == 403 else ""
        return out + [
            Restore(
                "entra", o["id"], o.get("target") or o["id"], o["expect"].get("deviceId"), "failed", f"cannot list the deleted devices: {exc.message}{hint}"
            )
            for o in entra
        ]
    for obj in entra:
        out.append(_check(graph, obj, by_id.get(obj["id"]) or {}, soft_deleted, now))
    return out


def _check(graph: Any, obj: dict[str, Any], recorded: dict[str, Any], soft_deleted: list[dict[str, Any]], now: float) -> Restore:
    oid, did = obj["id"], obj["expect"].get("deviceId")
    exported, file = _export_of(obj)
    item = Restore("entra", oid, obj.get("target") or oid, did, "refused", export=file)
    if not did:
        item.reason = "the run recorded no deviceId for it"
        return item
    if exported is not None and (exported.get("id") != oid or not R.same_guid(exported.get("deviceId"), did)):
        item.reason = f"its export ({file}) names another object (id {exported.get('id')}, deviceId {exported.get('deviceId')}) than the audit log"
        return item
    live = graph.device(oid)
    if live is not None:
        if R.same_guid(live.get("deviceId"), did):
            item.state, item.reason = "already-restored", "it is a live device again"
        else:
            item.reason = f"a live device has its object id but deviceId {live.get('deviceId')}"
        return item
    # a list may show the deleted device itself for a while (eventual consistency): only another object counts
    others = [d for d in graph.devices_by_device_id(did) if str(d.get("id") or "").casefold() != oid.casefold()]
    if others:
        item.reason = f"live device(s) {', '.join(str(d.get('id')) for d in others)} already have deviceId {did}: restoring would make two"
        return item
    same_id = [d for d in soft_deleted if str(d.get("id") or "").casefold() == oid.casefold()]
    same_did = [d for d in soft_deleted if R.same_guid(d.get("deviceId"), did)]
    if not same_id and not same_did:
        item.state = "not-restorable"
        item.reason = _not_found_reason(_trust_type(recorded, exported), obj.get("deleted_at"), bool(soft_deleted), now)
        return item
    if len(same_id) != 1 or len(same_did) != 1 or same_id[0] is not same_did[0]:
        listing = ", ".join(f"{d.get('id')} (deviceId {d.get('deviceId')})" for d in {id(d): d for d in same_id + same_did}.values())
        item.reason = f"the deleted devices do not match it exactly once by object id and deviceId ({listing})"
        return item
    item.state = "would-restore"
    return item


def apply_restore(cloud: Any, items: list[Restore]) -> list[Restore]:
    """Restore each ``would-restore`` item; the others are returned as they are."""
    graph = cloud.graph
    for item in items:
        if item.state != "would-restore":
            continue
        try:
            restored = graph.restore_deleted_device(item.id)
        except CleanupError as exc:
            hint = f"; {ROLE_HINT}" if isinstance(exc, GraphError) and exc.status == 403 else ""
            item.state, item.reason = "failed", exc.message + hint
            continue
        if restored is None:
            # a re-sent request may find it restored by the first one
            live = graph.device(item.id)
            if live is not None and R.same_guid(live.get("deviceId"), item.device_id):
                item.state, item.reason = "restored", ""
            else:
                item.state, item.reason = "failed", "it is no longer among the deleted devices"
            continue
        if restored.get("id") != item.id or not R.same_guid(restored.get("deviceId"), item.device_id):
            item.state = "failed"
            item.reason = f"the service restored id {restored.get('id')} deviceId {restored.get('deviceId')}: check it in the portal"
            continue
        item.state, item.reason = "restored", ""
    return items
