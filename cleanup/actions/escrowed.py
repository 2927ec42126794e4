"""What Jamf Pro escrowed for the Mac's record — the FileVault personal recovery key, LAPS passwords, the Recovery
Lock password — as a run handles it: step 0 records which the record holds (kinds and account names, never a
value), the dry-run shows them and where they will be saved, the preflight makes sure they can be read and saved
before anything changes, and step 4 reads and saves each one right before its DELETE (the delete happens only
after every save succeeded). Reading a LAPS password makes Jamf Pro rotate it: a dry-run never reads one.

Where they are saved is the run's ``options.escrow`` (a cleanup.escrow.Escrow the CLI or the batch hands over).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cleanup.clients.permissions import ESCROW_NEEDS, NEEDS, Missing
from cleanup.clients.records import get_path
from cleanup.clients.wire import ESCROW_KINDS
from cleanup.engine.context import RunContext
from cleanup.errors import CleanupError, JamfError, PermissionMissing, SafetyRefusal, StateError, StepFailed, UsageError

#: individualRecoveryKeyValidityStatus values that mean a personal recovery key is (or may be) escrowed
KEY_PRESENT = ("VALID", "INVALID", "UNKNOWN")
DISCARD = "--discard-escrowed-secrets"


# -- step 0 -------------------------------------------------------------------------------------------------


def gather(jamf: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Which secrets one inventory record holds: ``{"management_id", "items": [{"kind", "account"?, "status"?}],
    "unknown": [{"kind", "why"}]}``. Reads the record's DISK_ENCRYPTION and SECURITY sections and lists its LAPS
    accounts; no value is read, and listing LAPS accounts rotates nothing."""
    cid = str(raw.get("id"))
    mid = get_path(raw, "general", "managementId")
    sections = jamf.escrow_sections(cid) or {}
    items: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    status = get_path(sections, "diskEncryption", "individualRecoveryKeyValidityStatus")
    if status in KEY_PRESENT:
        items.append({"kind": "filevault", "status": status})
    if get_path(sections, "security", "recoveryLockEnabled") is True:
        items.append({"kind": "recovery-lock"})
    if mid:
        try:
            items += [{"kind": "laps", "account": a} for a in jamf.laps_accounts(mid)]
        except UsageError:
            unknown.append({"kind": "laps", "why": f"its managementId {mid!r} is not a UUID"})
        except JamfError as exc:
            if exc.status != 403:
                raise
            unknown.append({"kind": "laps", "why": f"the credentials lack {NEEDS['jamf:view-laps'].name}, so its LAPS accounts cannot be listed"})
    return {"management_id": mid if isinstance(mid, str) else None, "items": items, "unknown": unknown}


def recorded(rec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items and unknowns step 0 recorded for a Jamf record, checked (a checkpoint may have been edited)."""
    escrow = rec.get("escrow")
    if escrow is None:
        return [], []
    where = f"the recorded escrow of Jamf Pro record {rec.get('id')}"
    if not isinstance(escrow, dict) or not isinstance(escrow.get("items"), list) or not isinstance(escrow.get("unknown"), list):
        raise StateError(f"{where} is not what step 0 wrote")
    for item in escrow["items"] + escrow["unknown"]:
        if not isinstance(item, dict) or item.get("kind") not in ESCROW_KINDS:
            raise StateError(f"{where} names an unknown kind")
        if item.get("account") is not None and not isinstance(item["account"], str):
            raise StateError(f"{where}: a LAPS account is not text")
    mid = escrow.get("management_id")
    if mid is not None and not isinstance(mid, str):
        raise StateError(f"{where}: its managementId is not text")
    return escrow["items"], escrow["unknown"]


def holds(rec: dict[str, Any]) -> bool:
    items, unknown = recorded(rec)
    return bool(items or unknown)


def describe(rec: dict[str, Any]) -> str:
    """For people: what the record holds, kinds and account names only."""
    items, unknown = recorded(rec)
    parts = []
    for item in items:
        if item["kind"] == "laps":
            parts.append(f"the {ESCROW_KINDS['laps']} of {item['account']!r}")
        elif item["kind"] == "filevault":
            parts.append(f"a {ESCROW_KINDS['filevault']} (validity {item.get('status')})")
        else:
            parts.append(f"a {ESCROW_KINDS[item['kind']]}")
    parts += [f"maybe {ESCROW_KINDS[u['kind']]}s ({u.get('why')})" for u in unknown]
    return ", ".join(parts)


def listing(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Kinds and accounts, for the plan's data (the dry-run's JSON and the audit log's intent)."""
    items, unknown = recorded(rec)
    return [{k: i[k] for k in ("kind", "account") if i.get(k) is not None} for i in items] + [{"kind": u["kind"], "unknown": True} for u in unknown]


# -- the dry-run and the plan of step 4 ----------------------------------------------------------------------


def _store_problem(ctx: RunContext) -> str | None:
    escrow = ctx.options.escrow
    if escrow is None:
        return "no escrow store was given to this run"
    problem: str | None = escrow.problem
    return problem


def plan_notes(ctx: RunContext, records: list[dict[str, Any]]) -> list[str]:
    """Per record that holds escrowed secrets: which, and where a run saves them (or why it would refuse)."""
    holding = [r for r in records if holds(r)]
    if not holding:
        return []
    notes = []
    problem = None if ctx.options.discard_escrowed_secrets else _store_problem(ctx)
    for rec in holding:
        what = f"Jamf Pro record {rec['id']} holds {describe(rec)}"
        if ctx.options.discard_escrowed_secrets:
            notes.append(f"{what}: NOT saved ({DISCARD}): deleting the record loses them")
        elif problem:
            notes.append(f"{what}, and there is nowhere to save them ({problem}): a run refuses before any change (or give {DISCARD})")
        else:
            notes.append(f"{what}: a run reads and saves them to {ctx.options.escrow.where()} right before the DELETE")
    if ctx.options.dry_run and any(i["kind"] == "laps" for r in holding for i in recorded(r)[0] + recorded(r)[1]):
        notes.append("LAPS passwords are not read in a dry-run: reading one makes Jamf Pro rotate it")
    return notes


# -- the preflight ------------------------------------------------------------------------------------------


def needs(records: list[dict[str, Any]]) -> list[str]:
    kinds = {i["kind"] for r in records for i in recorded(r)[0] + recorded(r)[1]}
    return [ESCROW_NEEDS[k] for k in ("filevault", "laps", "recovery-lock") if k in kinds]


def _ids(records: list[dict[str, Any]]) -> str:
    return ", ".join(str(r["id"]) for r in records)


def _probe(ctx: RunContext, rec: dict[str, Any], kind: str) -> bool:
    """Whether a value of ``kind`` can be read now (False on 403). FileVault and Recovery Lock reads rotate nothing;
    the value read is dropped at once."""
    jamf = ctx.cloud.jamf
    try:
        if kind == "filevault":
            jamf.filevault(rec["id"])
        else:
            jamf.recovery_lock_password(rec["id"])
    except JamfError as exc:
        if exc.status == 403:
            return False
        raise
    return True


def preflight(ctx: RunContext, records: list[dict[str, Any]], check: Callable[[list[str]], list[Missing]]) -> list[str]:
    """Before any change: the credentials can read every secret the records hold and there is a place to save them,
    else PermissionMissing (status 1, naming the privilege) or SafetyRefusal; a dry-run only notes what a run would
    meet. ``check`` is the preflight's (memoised) permission check."""
    holding = [r for r in records if holds(r)]
    if not holding:
        return []
    if ctx.options.discard_escrowed_secrets:
        return [f"{DISCARD}: what Jamf Pro record(s) {_ids(holding)} escrowed is deleted with them, unsaved"]
    wanted = needs(holding)
    missing = check(wanted)
    known = [m for m in missing if m.known]
    hint = f"grant the privilege(s) to the Jamf Pro API client or user, or give {DISCARD} to delete the record without saving them (recorded)"
    if ctx.options.dry_run:
        notes = [f"a run would stop: {m} (to save what record(s) {_ids(holding)} escrowed before step 4)" for m in known]
        problem = _store_problem(ctx)
        notes += [f"a run would refuse: nowhere to save the escrowed secrets ({problem})"] if problem else []
        return notes
    if known:
        names = ", ".join(f"jamf {m.permission_name}" for m in known)
        raise PermissionMissing(f"the credentials lack {names}, needed to save what Jamf Pro record(s) {_ids(holding)} escrowed: nothing was changed", hint)
    unconfirmed = {m.need for m in missing}
    probes = []
    for rec in holding:
        items, unknown = recorded(rec)
        kinds = {i["kind"] for i in items + unknown}
        if "laps" in kinds and "jamf:view-laps" in unconfirmed and any(u["kind"] == "laps" for u in unknown):
            raise PermissionMissing(f"cannot confirm jamf {NEEDS['jamf:view-laps'].name} for record {rec['id']}: nothing was changed", hint)
        if "filevault" in kinds and "jamf:view-filevault" in unconfirmed:
            probes.append((rec, "filevault"))
        if "recovery-lock" in kinds:  # which privilege this read requires is not confirmed: read it once
            probes.append((rec, "recovery-lock"))
    for rec, kind in probes:
        if not _probe(ctx, rec, kind):
            need = NEEDS[ESCROW_NEEDS[kind]]
            either = " (or, on some Jamf Pro versions, View Disk Encryption Recovery Key)" if kind == "recovery-lock" else ""
            raise PermissionMissing(
                f"Jamf Pro refused to show the {ESCROW_KINDS[kind]} of record {rec['id']}: grant jamf {need.name}{either}; nothing was changed", hint
            )
    problem = _store_problem(ctx)
    if problem:
        raise SafetyRefusal(
            f"Jamf Pro record(s) {_ids(holding)} hold escrowed secrets and there is nowhere to save them ({problem}); refusing before any change",
            hint=f"set up a keyring or [escrow] recipient (docs/escrow.md), or give {DISCARD} to delete without saving them (recorded)",
        )
    return [f"what Jamf Pro record(s) {_ids(holding)} escrowed is saved to {ctx.options.escrow.where()} right before each DELETE"]


# -- step 4 -------------------------------------------------------------------------------------------------


def as_now(ctx: RunContext, rec: dict[str, Any]) -> dict[str, Any]:
    """The record with what it holds now added to what step 0 recorded: a secret escrowed since step 0 (a key
    rotated while the run was paused) is saved too. Listing rotates nothing."""
    if ctx.options.discard_escrowed_secrets:
        return rec
    raw = ctx.cloud.jamf.computer(rec["id"])
    if raw is None:
        return rec
    items, unknown = recorded(rec)
    now = gather(ctx.cloud.jamf, raw)
    seen = {(i["kind"], i.get("account")) for i in items}
    merged = items + [i for i in now["items"] if (i["kind"], i.get("account")) not in seen]
    known = {i["kind"] for i in merged}
    return {
        **rec,
        "escrow": {
            "management_id": now["management_id"] or (rec.get("escrow") or {}).get("management_id"),
            "items": merged,
            "unknown": [u for u in unknown + now["unknown"] if u["kind"] not in known],
        },
    }


def save_before_delete(ctx: RunContext, serial: str, rec: dict[str, Any]) -> str:
    """Read each secret the record holds and save it; returns what was done, for the outcome (no value). Raises if
    any read or save fails: the caller deletes only after this returned."""
    items, unknown = recorded(rec)
    if not items and not unknown:
        return ""
    if ctx.options.discard_escrowed_secrets:
        return f"its escrowed secrets were NOT saved ({DISCARD}): {describe(rec)}"
    problem = _store_problem(ctx)
    if problem:
        raise SafetyRefusal(f"Jamf Pro record {rec['id']} holds escrowed secrets and there is nowhere to save them ({problem}); it was not deleted")
    escrow, jamf, cid = ctx.options.escrow, ctx.cloud.jamf, str(rec["id"])
    kinds = {i["kind"] for i in items + unknown}
    saved: list[str] = []
    try:
        if "filevault" in kinds:
            body = jamf.filevault(cid) or {}
            key = body.get("personalRecoveryKey")
            if isinstance(key, str) and key:
                escrow.save(serial, "filevault", cid, ctx.run_id, [(None, key)])
                saved.append(ESCROW_KINDS["filevault"])
        if "recovery-lock" in kinds:
            password = jamf.recovery_lock_password(cid)
            if password:
                escrow.save(serial, "recovery-lock", cid, ctx.run_id, [(None, password)])
                saved.append(ESCROW_KINDS["recovery-lock"])
        mid = (rec.get("escrow") or {}).get("management_id")
        if "laps" in kinds and mid:
            accounts = jamf.laps_accounts(mid)  # as they are now: an account added since step 0 is saved too
            values: list[tuple[str | None, str]] = [(a, jamf.laps_password(mid, a)) for a in accounts]
            if values:
                escrow.save(serial, "laps", cid, ctx.run_id, values)
                saved.append(f"{ESCROW_KINDS['laps']} of " + ", ".join(repr(a) for a, _ in values))
    except SafetyRefusal:
        raise
    except CleanupError as exc:
        raise StepFailed(
            f"Jamf Pro record {cid}: its escrowed secrets could not all be saved ({exc.message}); it was not deleted",
            hint=exc.hint or "fix the cause, then `cleanup resume` (saves are kept, never overwritten)",
        ) from None
    if not saved:
        return "it no longer held any escrowed secret when it was re-read"
    return f"saved first ({', '.join(saved)}) to {escrow.where()}"
