"""`cleanup batch select`: which Macs are flagged, from a Jamf computer group, a file of serials, or rules that
implement the article's symptoms against Jamf Pro, Entra and Intune. One row per Mac: reasons and evidence."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from cleanup.clients import records as R
from cleanup.clients import symptoms as S
from cleanup.errors import UsageError
from cleanup.identifiers import SERIAL_RE

UNRESPONSIVE_HOURS = S.UNRESPONSIVE_HOURS
RULES = {
    "duplicates": "several Intune records for one serial (the article's duplicate entries), or several Entra devices tied to one Mac",
    "unresponsive": f"no check-in with Jamf Pro for {UNRESPONSIVE_HOURS} h ('Unresponsive')",
    "compliance-mismatch": "compliant in Intune but not compliant in Entra, or its Entra device is missing",
    "aad-deactivated": "Entra registration deactivated for the Mac's user (Jamf's azureActiveDirectoryId)",
}
#: what the evidence shows of each Entra device (and all the duplicates rule asks Graph for)
ENTRA_EVIDENCE = ("id", "deviceId", "displayName", "operatingSystem", "trustType", "registrationDateTime", "approximateLastSignInDateTime")


class Selection:
    """Rows by serial, merged across sources (a Mac flagged twice has both reasons)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def add(self, serial: str, reason: str, name: str | None = None, **evidence) -> None:
        row = self.rows.setdefault(serial, {"serial": serial, "name": None, "reasons": [], "evidence": {}})
        row["name"] = row["name"] or name
        if reason not in row["reasons"]:
            row["reasons"].append(reason)
        row["evidence"].update(evidence)

    def sorted_rows(self) -> list[dict]:
        return [self.rows[k] for k in sorted(self.rows)]


def from_file(sel: Selection, path: Path) -> None:
    """One serial per line (blank lines and # comments allowed); the whole file is refused on one bad line (a
    batch ledger given as ``sel`` is filled inside a transaction, rolled back by that error)."""
    reason = f"listed in {Path(path).name}"
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for n, line in enumerate(lines, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                if not SERIAL_RE.fullmatch(text):
                    raise UsageError(f"{path} line {n}: {text!r} is not an Apple serial number (8-14 upper-case letters and digits)")
                sel.add(text, reason)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def from_group(sel: Selection, cloud, name: str) -> None:
    for member in cloud.jamf.group_members(name):
        serial = member.get("serial_number") or ""
        if SERIAL_RE.fullmatch(serial):
            sel.add(serial, f"member of Jamf Pro group {name!r}", member.get("name"), jamf_id=str(member.get("id")))


def rule_duplicates(sel: Selection, cloud, now: float, inventory: Callable[[], list[dict]] | None = None) -> None:
    """Several Intune records of a serial; several Entra devices tied to one Mac (symptoms.entra_ties: by deviceId
    or exact name, anchored on Jamf Pro's inventory). Paged listings only: every managed device, every Jamf Pro
    record (``inventory``, shared with the other rules) and Entra's Mac devices, one listing per operatingSystem."""
    managed = S.mac_records(cloud.graph.all_managed_devices())
    by_serial: dict[str, list[dict]] = {}
    for d in managed:
        if SERIAL_RE.fullmatch(d.get("serialNumber") or ""):
            by_serial.setdefault(d["serialNumber"], []).append(d)
    for serial, recs in by_serial.items():
        if S.intune_duplicates(recs):
            sel.add(
                serial,
                f"{len(recs)} Intune records for the serial",
                recs[0].get("deviceName"),
                intune=[{"id": r["id"], "lastSyncDateTime": r.get("lastSyncDateTime"), "managementAgent": r.get("managementAgent")} for r in recs],
            )
    records = (inventory or cloud.jamf.all_computers)() if cloud.config.jamf_configured() else []
    jamf = [R.jamf_summary(r) for r in records]
    devices = list({d.get("id"): d for os_name in S.ENTRA_MAC_LISTINGS for d in cloud.graph.devices_by_operating_system(os_name, ENTRA_EVIDENCE)}.values())
    for serial, tied in sorted(S.entra_ties(jamf, managed, devices).items()):
        if not S.entra_duplicates([t["device"] for t in tied]):
            continue
        by_id = sum(t["tie"] == S.BY_DEVICE_ID for t in tied)
        newest = R.newest_jamf([j for j in jamf if j["serial"] == serial])
        sel.add(
            serial,
            f"{len(tied)} Entra devices for the Mac ({by_id} by deviceId, {len(tied) - by_id} by name)",
            newest["name"] if newest else tied[0]["device"].get("displayName"),
            entra=[{**{k: t["device"].get(k) for k in ENTRA_EVIDENCE}, "tied_by": t["how"]} for t in tied],
        )


def rule_jamf(sel: Selection, cloud, now: float, unresponsive: bool, deactivated: bool, inventory: Callable[[], list[dict]] | None = None) -> None:
    """Each serial judged on its newest Jamf Pro record, as ``diagnose`` judges one Mac."""
    by_serial: dict[str, list[dict]] = {}
    for rec in (inventory or cloud.jamf.all_computers)():
        serial = (rec.get("hardware") or {}).get("serialNumber") or ""
        if SERIAL_RE.fullmatch(serial):
            by_serial.setdefault(serial, []).append(rec)
    for serial, records in by_serial.items():
        summaries = [R.jamf_summary(r) for r in records]
        newest = R.newest_jamf(summaries)
        assert newest is not None  # every serial here has at least one record
        if unresponsive and S.unresponsive(summaries, now):
            sel.add(serial, f"no Jamf Pro check-in for {S.UNRESPONSIVE_HOURS} h", newest["name"], jamf_id=newest["id"], last_contact=newest["last_contact"])
        users = S.deactivated(R.jamf_users(records[summaries.index(newest)])) if deactivated else []
        if users:
            sel.add(serial, "Entra registration deactivated for the Mac's user", newest["name"], jamf_id=newest["id"], users=users)


def rule_compliance(sel: Selection, cloud, now: float) -> None:
    entra: dict[str, list[dict]] = {}
    for d in S.mac_devices(cloud.graph.all_devices()):
        entra.setdefault((d.get("deviceId") or "").casefold(), []).append(d)
    for m in S.mac_records(cloud.graph.all_managed_devices()):
        devices = entra.get(R.linked_device_id(m) or "", [])
        why = S.compliance_mismatch(m, devices)
        if why and SERIAL_RE.fullmatch(m.get("serialNumber") or ""):
            sel.add(
                m["serialNumber"], f"compliant in Intune but {why}", m.get("deviceName"), intune_id=m["id"], entra_id=devices[0].get("id") if devices else None
            )


def select(cloud, *, group: str | None = None, serials_file: Path | None = None, rules=(), into=None) -> list[dict]:
    """The flagged Macs, sorted by serial; with ``into`` (a batch ledger) they are added there instead (and
    ``[]`` is returned), so a batch of ten thousand Macs never holds them all in memory."""
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise UsageError(f"unknown rule {unknown[0]!r}: use {', '.join(RULES)}")
    if not (group or serials_file or rules):
        raise UsageError("say which Macs: --group NAME, --serials-file FILE or --rule RULE (repeatable)")
    sel = into if into is not None else Selection()
    now = time.time()
    inventory = functools.cache(lambda: cloud.jamf.all_computers())  # read once for every rule that needs it
    if serials_file:
        from_file(sel, serials_file)
    if group:
        from_group(sel, cloud, group)
    if "duplicates" in rules:
        rule_duplicates(sel, cloud, now, inventory)
    if "unresponsive" in rules or "aad-deactivated" in rules:
        rule_jamf(sel, cloud, now, "unresponsive" in rules, "aad-deactivated" in rules, inventory)
    if "compliance-mismatch" in rules:
        rule_compliance(sel, cloud, now)
    return [] if into is not None else sel.sorted_rows()
