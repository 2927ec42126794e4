"""Cloud checks of Jamf Device Compliance (and Platform SSO, which uses it): the compliance partner in Intune
(``complianceManagementPartners``) and the Entra device's compliance as Jamf Pro reports it
(``/api/v1/conditional-access/device-compliance-information/computer/{id}``). Read-only.

The heartbeat is judged like the legacy partner's (older than 24 hours is a problem): no source gives the
interval at which Jamf's compliance partner reports, so that limit is assumed.
"""

from __future__ import annotations

from cleanup.clients import compliance as C
from cleanup.clients import records as R
from cleanup.diagnose import model as M
from cleanup.diagnose.model import age_text, parse_time, shown
from cleanup.diagnose.reads import CloudData
from cleanup.errors import Unavailable

DAY = 86400.0
PARTNER_KEYS = ("id", "displayName", "partnerState", "macOsOnboarded", "lastHeartbeatDateTime")


def _partner_view(p: dict) -> dict:
    view = {k: p.get(k) for k in PARTNER_KEYS}
    assigned = p.get("macOsEnrollmentAssignments")
    view["macOsEnrollmentAssignments"] = len(assigned) if isinstance(assigned, list) else None
    return view


def compliance_partner(d: CloudData, now: float):
    row = M.COMPLIANCE_PARTNER
    partners = [p for p in d.compliance_partners() if isinstance(p, dict)]
    jamf = [p for p in partners if "jamf" in str(p.get("displayName") or "").casefold()]
    evidence = {"partners": [_partner_view(p) for p in jamf]}
    partner = C.jamf_partner(partners)
    if partner is None:
        if jamf:
            return row.problem(f"the Jamf compliance partner {shown(jamf[0].get('displayName'))} is not onboarded for macOS", evidence)
        return row.problem("Intune has no Jamf Device Compliance partner (complianceManagementPartners)", evidence)
    name = shown(partner.get("displayName"))
    problems = []
    if partner.get("partnerState") != "enabled":
        problems.append(f"{name} is '{shown(partner.get('partnerState'))}', not 'enabled'")
    beat = parse_time(partner.get("lastHeartbeatDateTime"))
    if beat is None:
        problems.append(f"{name} has never sent a heartbeat")
    elif now - beat > DAY:
        problems.append(f"{name}'s last heartbeat was {age_text(now - beat)}")
    if partner.get("macOsEnrollmentAssignments") == []:
        problems.append(f"{name} has macOS assigned to no user group")
    if problems:
        return row.problem("; ".join(problems), evidence)
    assert beat is not None
    return row.ok(f"{name} is enabled for macOS, last heartbeat {age_text(now - beat)}", **evidence)


def jamf_device_compliance(d: CloudData, now: float):
    row = M.JAMF_COMPLIANCE
    records = d.jamf_records()
    if not records:
        return row.unknown(f"Jamf Pro has no record of serial {d.serial}")
    summaries = [R.jamf_summary(r) for r in records]
    newest = R.newest_jamf(summaries)
    assert newest is not None
    info = d.device_compliance(newest["id"])
    if info is None:
        return row.unknown(f"Jamf Pro record {newest['id']} is gone")
    evidence: dict = {"jamf_record": newest["id"], "device_compliance": info}
    not_in = "Put the Mac in the Applicable smart group (Jamf Pro: Settings > Global > Device Compliance), then register it (Self Service)."
    applicable = [i for i in info if i["applicable"]]
    if not applicable:
        what = "has no device-compliance information for" if not info else "reports not applicable for Device Compliance:"
        return row.problem(
            f"Jamf Pro {what} computer {newest['id']}",
            evidence,
            cause="the Mac is not in Device Compliance's Applicable smart group",
            remedy=not_in,
            playbook=None,
        )
    entry = applicable[0]
    ids = entry["device_ids"]
    mac_ids = d.reg.mac_device_ids() if d.reg else []
    entra = {did: [x for x in d.entra_by_device_id(did) if R.is_mac_entra(x)] for did in ids}
    keys = ("id", "deviceId", "trustType", "isCompliant", "isManaged")
    evidence["entra"] = {did: [{k: x.get(k) for k in keys} for x in found] for did, found in entra.items()}
    evidence["mac_device_ids"] = mac_ids
    if ids and not any(entra.values()):
        return row.problem(f"Jamf Pro reports compliance for Entra device {', '.join(ids)}, which Entra does not have (as a Mac)", evidence)
    if ids and mac_ids and not set(ids) & set(mac_ids):
        return row.problem(
            f"Jamf Pro reports compliance for Entra device {', '.join(ids)}, but the Mac is registered as {', '.join(mac_ids)}",
            evidence,
            cause="Cause 6: Jamf Pro still reports an older registration of the Mac",
        )
    state = entry["state"]
    if state == "NON_COMPLIANT":
        return row.problem(
            f"Jamf Pro reports computer {newest['id']} NON_COMPLIANT",
            evidence,
            cause="the Mac is not in Jamf's Compliance smart group",
            remedy="Fix what Jamf's Compliance smart group requires (Jamf Pro: Settings > Global > Device Compliance); Jamf sends the new state to Entra.",
            playbook=None,
        )
    if state != "COMPLIANT":
        pending = " (pending: Jamf has not sent the Mac's compliance yet)" if state == "UNKNOWN" else ""
        return row.unknown(f"Jamf Pro reports computer {newest['id']} applicable, compliance state {shown(state)}{pending}", **evidence)
    disagree = [x for found in entra.values() for x in found if x.get("isCompliant") is False]
    if disagree:
        return row.problem(
            f"Jamf Pro reports the Mac COMPLIANT, Entra device {disagree[0].get('deviceId')} is not compliant",
            evidence,
            cause="Jamf's compliance has not reached Entra (compliant in Jamf, non-compliant in Entra)",
            remedy="Run `sudo jamf recon` on the Mac so Jamf sends its compliance again; if Entra still disagrees, " + M.RESET[0].lower() + M.RESET[1:],
        )
    named = f" for Entra device {', '.join(ids)}" if ids else " (Jamf Pro names no Entra device)"
    return row.ok(f"Jamf Pro reports computer {newest['id']} applicable and COMPLIANT{named}", **evidence)


# -- the legacy partner on a Mac of a 2026 model ---------------------------------------------------------


def legacy_partner_retired(d: CloudData, model: str):
    """partner-connection on a Device Compliance or Platform SSO Mac: the legacy connection is not needed; say how it stands."""
    row = M.CAUSE_5
    end = f"Microsoft ended support for the legacy integration on {M.LEGACY_END}"
    uses = f"this Mac uses {M.MODEL_NAMES[model]} (see compliance-partner)"
    try:
        partners = [p for p in d.partners() if "jamf" in str(p.get("displayName") or "").casefold()]
    except Unavailable as exc:
        return row.not_applicable(f"the legacy partner connection is not used: {uses}; {end} (it was not read: {exc.why})")
    evidence = {"partners": [{k: p.get(k) for k in ("id", "displayName", "partnerState", "lastHeartbeatDateTime")} for p in partners]}
    enabled = [p for p in partners if p.get("partnerState") == "enabled"]
    if enabled:
        return row.not_applicable(
            f"the legacy Jamf partner connection is still enabled, though {end}; {uses}. Terminating it removes its macOS records from Intune within 90 days",
            **evidence,
        )
    states = ", ".join(sorted({shown(p.get("partnerState")) for p in partners})) or "absent"
    return row.not_applicable(f"retired: the legacy Jamf partner connection is {states}, and {end}; {uses}", **evidence)


CHECKS = [compliance_partner, jamf_device_compliance]
ROWS = {compliance_partner: M.COMPLIANCE_PARTNER, jamf_device_compliance: M.JAMF_COMPLIANCE}
#: rows whose "does not apply" says more than the generic line: row id -> explain(cloud data, model)
NOT_APPLICABLE = {M.CAUSE_5.id: legacy_partner_retired}
