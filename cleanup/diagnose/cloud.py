"""Cloud checks: Jamf Pro, Entra and Intune, read-only. One small function per row of the table.

Every read goes through :class:`~cleanup.diagnose.reads.CloudData`, which fetches each thing once (checks
share the Mac's records, the service principals, ...) and turns "cannot read" into ``Unavailable``. Checks
never guess: what they cannot see is ``unknown``.
"""

from __future__ import annotations

import re
from typing import Any

from cleanup.clients import records as R
from cleanup.clients import symptoms as S
from cleanup.diagnose import model as M
from cleanup.diagnose.model import age_text, iso, parse_time, shown
from cleanup.diagnose.reads import CloudData
from cleanup.errors import Unavailable
from cleanup.identifiers import odata_literal, valid_guid

DAY = 86400.0
INTUNE_API_APP_ID = "c161e42e-d4df-4a3d-9b42-e7a3c31f59d4"
JAMF_APP_PREFIX = "Jamf Pro"
CONNECTOR_NAME = "Jamf Native macOS Connector"
#: service plans that are Intune itself (not "Intune for Office 365", which is basic mobility only)
INTUNE_PLANS = frozenset({"INTUNE_A", "INTUNE_A_VL", "INTUNE_EDU", "INTUNE_SMBIZ"})
MAC_POLICY = "#microsoft.graph.macOSCompliancePolicy"
_DEVICE_RULE = re.compile(r"(^|[^A-Za-z0-9_.])device\.", re.IGNORECASE)


# -- helpers ---------------------------------------------------------------------------------------------


def _general(record: dict) -> dict:
    return record.get("general") or {}


def _newest_jamf(records: list[dict]) -> dict:
    """The raw record of the Mac's newest Jamf Pro summary (records.newest_jamf)."""
    summaries = [R.jamf_summary(r) for r in records]
    newest = R.newest_jamf(summaries)
    assert newest is not None  # the caller passes at least one record
    return records[summaries.index(newest)]


def _intune_view(r: dict) -> dict:
    keys = ("id", "deviceName", "managementAgent", "azureADDeviceId", "complianceState", "lastSyncDateTime", "enrolledDateTime", "userPrincipalName")
    return {k: r.get(k) for k in keys}


def _entra_view(d: dict) -> dict:
    keys = (
        "id",
        "deviceId",
        "displayName",
        "operatingSystem",
        "trustType",
        "registrationDateTime",
        "approximateLastSignInDateTime",
        "isCompliant",
        "accountEnabled",
    )
    return {k: d.get(k) for k in keys}


def _not_macs(records: list[dict], view) -> list[dict]:
    """Records found for the Mac that are not Macs (records.is_mac_*): shown, never counted or deleted."""
    return [dict(view(r), operatingSystem=r.get("operatingSystem")) for r in records]


def _names(d: CloudData) -> list[str]:
    """The Mac's names as Jamf Pro and Intune know them (for Entra's name lookup)."""
    names = [_general(r).get("name") for r in _jamf_or_empty(d)] + [r.get("deviceName") for r in d.intune_records()]
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n.strip()))


def _jamf_or_empty(d: CloudData) -> list[dict]:
    try:
        return d.jamf_records()
    except Unavailable:
        return []


def _linked(d: CloudData) -> set[str]:
    """The Entra deviceIds the Mac's Intune records point to."""
    return {did for r in d.intune_records() if (did := R.linked_device_id(r))}


def _model(d: CloudData) -> str:
    return d.reg.model() if d.reg else "unknown"


# -- Jamf Pro ------------------------------------------------------------------------------------------


def jamf_check_in(d: CloudData, now: float):
    row = M.CHECK_IN
    records = d.jamf_records()
    if not records:
        return row.problem(
            f"Jamf Pro has no record of serial {d.serial}",
            {"records": []},
            cause="not enrolled in Jamf Pro",
            remedy="Enroll the Mac in Jamf Pro again (the article's step 12).",
            playbook=None,
        )
    summaries = [R.jamf_summary(r) for r in records]
    newest = R.newest_jamf(summaries)
    assert newest is not None  # records is not empty
    evidence: dict[str, Any] = {
        "records": [{"id": j["id"], "name": j["name"], "lastContactTime": j["last_contact"], "reportDate": j["report_date"]} for j in summaries]
    }
    age = S.seconds_since_check_in(summaries, now)
    if age is not None:
        evidence["hours_since_check_in"] = round(age / 3600, 1)
    if age is None:
        return row.problem(f"Jamf Pro record {newest['id']} has never checked in: Jamf Pro shows the Mac as Unresponsive", evidence)
    if S.unresponsive(summaries, now):
        return row.problem(f"no check-in with Jamf Pro since {iso(now - age)} ({age_text(age)}): Jamf Pro shows the Mac as Unresponsive", evidence)
    return row.ok(f"last check-in with Jamf Pro {age_text(age)}", **evidence)


def jamf_entra_state(d: CloudData, now: float):
    row = M.JAMF_ENTRA_STATE
    records = d.jamf_records()
    if not records:
        return row.unknown(f"Jamf Pro has no record of serial {d.serial}")
    newest = _newest_jamf(records)
    users = R.jamf_users(newest)
    evidence = {"jamf_record": newest.get("id"), "users": users}
    deactivated = S.deactivated(users)
    unresponsive = S.users_in_state(users, "UNRESPONSIVE")
    if deactivated:
        return row.problem(
            f"Jamf Pro reports the Entra registration of {', '.join(deactivated)} DEACTIVATED",
            evidence,
            cause="Cause 6: the Mac's Entra device was deleted or disabled in Entra",
            remedy=M.RESET,
            playbook="cause6",
        )
    if unresponsive:
        return row.problem(f"Jamf Pro reports the Entra registration of {', '.join(unresponsive)} UNRESPONSIVE", evidence)
    if S.users_in_state(users, "ACTIVATED"):
        return row.ok("Jamf Pro reports the user's Entra registration ACTIVATED", **evidence)
    return row.unknown("Jamf Pro reports no Entra registration state for the Mac's users (not registered yet?)", **evidence)


def jamf_records(d: CloudData, now: float):
    row = M.JAMF_RECORDS
    summaries = [R.jamf_summary(r) for r in d.jamf_records()]
    evidence = {"records": [{"id": j["id"], "name": j["name"], "lastContactTime": j["last_contact"]} for j in summaries]}
    if S.several_jamf_records(summaries):
        ids = ", ".join(j["id"] for j in summaries)
        return row.problem(f"{len(summaries)} Jamf Pro records share serial {d.serial} (ids {ids})", evidence)
    return row.ok(f"{len(summaries)} Jamf Pro record(s) for serial {d.serial}", **evidence)


# -- Intune and Entra records --------------------------------------------------------------------------


def intune_records(d: CloudData, now: float):
    row = M.INTUNE_RECORDS
    records = d.intune_records()
    others = [r for r in d.serial_intune_records() if r not in records]
    evidence = {"records": [_intune_view(r) for r in records]}
    if others:
        evidence["not_macs"] = _not_macs(others, _intune_view)
    model = _model(d)
    if model in (M.DEVICE_COMPLIANCE, M.PLATFORM_SSO):
        return _intune_records_2026(d, row, model, records, evidence)
    if S.intune_duplicates(records):
        return row.problem(f"{len(records)} Intune records for serial {d.serial}", evidence)
    if S.not_registered(records):
        return row.problem(
            f"Intune has no macOS record of serial {d.serial}: the Mac is not registered",
            evidence,
            cause="not registered with Intune (see the rows of Causes 1-5)",
            remedy=M.REGISTER,
            playbook=None,
        )
    if S.managed_outside_jamf(records):
        return _outside_jamf(row, f"the Mac's Intune record is managed by {records[0].get('managementAgent')!r}, not through Jamf", evidence)
    return row.ok(f"one Intune record for serial {d.serial}, managed by jamf", **evidence)


def _intune_records_2026(d: CloudData, row: M.Row, model: str, records: list[dict], evidence: dict):
    """A Device Compliance (or Platform SSO) Mac is not in Intune's device list: a record managed by jamf is a
    leftover of the legacy integration, one managed otherwise an enrolment outside Jamf."""
    if not records:
        expected = f"Jamf-managed Macs in {M.MODEL_NAMES[model]} are not in Intune's device list"
        return row.ok(f"no Intune record of serial {d.serial}, as expected: {expected}", **evidence)
    legacy = [r for r in records if str(r.get("managementAgent") or "").casefold() == "jamf"]
    if legacy:
        ids = ", ".join(str(r.get("id")) for r in legacy)
        return row.problem(
            f"{len(legacy)} Intune record(s) of serial {d.serial} managed by jamf ({ids}): leftovers of the legacy integration on a {M.MODEL_NAMES[model]} Mac",
            evidence,
            cause="a leftover of the legacy integration (the Mac moved to Device Compliance)",
            remedy="The reset deletes them as leftovers in step 11 (or delete them in Intune).",
            playbook="cause6",
        )
    agent = shown(records[0].get("managementAgent"))
    return _outside_jamf(row, f"the Mac's Intune record is managed by {agent}: the Mac is enrolled in Intune outside Jamf", evidence)


def _outside_jamf(row: M.Row, finding: str, evidence: dict):
    return row.problem(
        finding, evidence, cause="Cause 4: registered with Intune outside Jamf (Company Portal opened by hand)", remedy=M.CAUSE_4.remedy, playbook="cause6"
    )


def entra_records(d: CloudData, now: float):
    row = M.ENTRA_RECORDS
    linked = _linked(d)
    found: dict[str, dict] = {}
    # no Intune record links a 2026 Mac to its Entra device: the deviceIds the Mac holds do
    held = set(d.reg.mac_device_ids()) if d.reg and _model(d) in (M.DEVICE_COMPLIANCE, M.PLATFORM_SSO) else set()
    for device_id in sorted(linked | held):
        for dev in d.entra_by_device_id(device_id):
            found[dev["id"]] = dev
    for name in _names(d):
        for dev in d.entra_by_name(name):
            if R.is_mac_entra(dev):
                found.setdefault(dev["id"], dev)
    everything = sorted(found.values(), key=lambda x: x.get("registrationDateTime") or "")
    devices = S.mac_devices(everything)
    evidence = {"devices": [dict(_entra_view(x), linked_from_intune=str(x.get("deviceId")).lower() in linked) for x in devices]}
    if held:
        for e in evidence["devices"]:
            e["held_by_the_mac"] = str(e.get("deviceId")).lower() in held
    if len(devices) < len(everything):
        evidence["not_macs"] = _not_macs([x for x in everything if x not in devices], _entra_view)
    if S.entra_duplicates(devices):
        count = "held by the Mac" if held else "linked from Intune"
        key = "held_by_the_mac" if held else "linked_from_intune"
        return row.problem(f"{len(devices)} Entra devices for the Mac ({sum(e[key] for e in evidence['devices'])} {count})", evidence)
    return row.ok(f"{len(devices)} Entra device(s) for the Mac", **evidence)


def compliance_mismatch(d: CloudData, now: float):
    row = M.MISMATCH
    mismatched, missing, checked = [], [], []
    for record in d.intune_records():
        device_id = R.linked_device_id(record)
        if record.get("complianceState") != "compliant" or device_id is None:
            continue
        devices = d.entra_by_device_id(device_id)
        checked.append(record.get("id"))
        why = S.compliance_mismatch(record, devices)
        if why == S.ENTRA_MISSING:
            missing.append({"intune_id": record.get("id"), "azureADDeviceId": device_id})
        elif why == S.ENTRA_NOT_COMPLIANT:
            dev = next(x for x in S.mac_devices(devices) if x.get("isCompliant") is False)
            mismatched.append({"intune_id": record.get("id"), "entra_id": dev.get("id"), "deviceId": device_id, "isCompliant": dev.get("isCompliant")})
    evidence = {"compliant_in_intune": checked, "non_compliant_in_entra": mismatched, "entra_device_missing": missing}
    if mismatched:
        return row.problem(f"Intune reports the Mac compliant, Entra device {mismatched[0]['deviceId']} is not", evidence)
    if missing:
        return row.problem(
            f"Intune record {missing[0]['intune_id']} is compliant and names Entra device "
            f"{missing[0]['azureADDeviceId']}, which Entra does not have (as a Mac)",
            evidence,
        )
    if not checked:
        return row.ok("no Intune record reports the Mac compliant, so there is nothing to disagree", **evidence)
    return row.ok("Intune and Entra agree on compliance", **evidence)


# -- the integration set-up ------------------------------------------------------------------------------


def partner_connection(d: CloudData, now: float):
    row = M.CAUSE_5
    partners = [p for p in d.partners() if "jamf" in str(p.get("displayName") or "").lower()]
    evidence = {"partners": [{k: p.get(k) for k in ("id", "displayName", "partnerState", "lastHeartbeatDateTime", "isConfigured")} for p in partners]}
    if not partners:
        return row.problem("Intune has no Jamf partner connection", evidence)
    problems, healthy = [], []
    for p in partners:
        beat = parse_time(p.get("lastHeartbeatDateTime"))
        state_ok = p.get("partnerState") == "enabled"
        if not state_ok:
            problems.append(f"{p.get('displayName')} is {p.get('partnerState')!r}, not 'enabled'")
        if beat is None:
            problems.append(f"{p.get('displayName')} has never sent a heartbeat")
        elif now - beat > DAY:
            problems.append(f"{p.get('displayName')}'s last heartbeat was {age_text(now - beat)}")
        elif state_ok:
            healthy.append(beat)
    if not healthy:
        return row.problem("; ".join(problems), evidence)
    return row.ok(f"Jamf partner connection enabled, last heartbeat {age_text(now - max(healthy))}", **evidence)


def _resolve_roles(d: CloudData, assignments: list[dict]) -> list[dict]:
    """Each assignment with the resource's appId and the role's value (read from the resource's appRoles)."""
    out = []
    for a in assignments:
        resource = d.service_principal(a["resourceId"]) if a.get("resourceId") else None
        roles = {r.get("id"): r.get("value") for r in (resource or {}).get("appRoles") or []}
        out.append(
            {
                "resource": a.get("resourceDisplayName"),
                "resourceAppId": (resource or {}).get("appId"),
                "permission": roles.get(a.get("appRoleId"), a.get("appRoleId")),
                "createdDateTime": a.get("createdDateTime"),
            }
        )
    return out


def jamf_app_permissions(d: CloudData, now: float):
    row = M.CAUSE_1
    if d.jamf_app_id:
        apps = d.service_principals(f"appId eq {odata_literal(valid_guid(d.jamf_app_id))}")
        if not apps:
            return row.problem(f"no service principal for the Jamf Pro app {d.jamf_app_id}: it has no admin consent in this tenant", {"appId": d.jamf_app_id})
    else:
        apps = [a for a in d.service_principals(f"startswith(displayName,{odata_literal(JAMF_APP_PREFIX)})") if a.get("displayName") != CONNECTOR_NAME]
        exact = [a for a in apps if a.get("displayName") == JAMF_APP_PREFIX]
        apps = exact or apps
        if not apps:
            return row.unknown(f"no app named {JAMF_APP_PREFIX!r}... in Entra; name yours with --jamf-app-id APPID")
        if len(apps) > 1:
            names = ", ".join(f"{a.get('displayName')} ({a.get('appId')})" for a in apps)
            return row.unknown(f"several apps could be the Jamf Pro app ({names}); choose with --jamf-app-id APPID")
    app = apps[0]
    granted = _resolve_roles(d, d.assignments(app["id"]))
    evidence = {"app": {"displayName": app.get("displayName"), "appId": app.get("appId"), "id": app.get("id")}, "permissions": granted}
    if not granted:
        return row.problem(f"the {app.get('displayName')} app has no granted permission: admin consent is missing", evidence)
    wanted = [g for g in granted if g["permission"] == "update_device_attributes" and g["resourceAppId"] == INTUNE_API_APP_ID]
    if len(granted) == 1 and wanted:
        return row.ok(f"the {app.get('displayName')} app holds exactly update_device_attributes on Intune (admin consent granted)", **evidence)
    listed = ", ".join(f"{g['resource']}: {g['permission']}" for g in granted)
    return row.problem(
        f"the {app.get('displayName')} app holds {len(granted)} permission(s) ({listed}); it must hold exactly Intune update_device_attributes", evidence
    )


def connector_app(d: CloudData, now: float):
    row = M.CAUSE_2
    apps = d.service_principals(f"displayName eq {odata_literal(CONNECTOR_NAME)}")
    if not apps:
        return row.problem(f"the {CONNECTOR_NAME} app is not in the tenant", {"apps": []})
    app = apps[0]
    granted = d.assignments(app["id"])
    evidence = {"app": {k: app.get(k) for k in ("id", "appId", "displayName", "accountEnabled")}, "granted_permissions": len(granted)}
    if app.get("accountEnabled") is False:
        return row.problem(f"the {CONNECTOR_NAME} app is disabled", evidence)
    if not granted:
        return row.problem(f"the {CONNECTOR_NAME} app has no granted permission (no admin consent)", evidence)
    return row.ok(f"the {CONNECTOR_NAME} app is present and consented", **evidence)


def _intune_plans(plans) -> list[str]:
    return [p.get("servicePlanName") for p in plans or [] if p.get("servicePlanName") in INTUNE_PLANS and p.get("provisioningStatus") == "Success"]


def tenant_licences(d: CloudData, now: float):
    row = M.CAUSE_3_TENANT
    skus = [s for s in d.skus() if _intune_plans(s.get("servicePlans"))]
    evidence = {
        "subscriptions": [
            {
                "skuPartNumber": s.get("skuPartNumber"),
                "capabilityStatus": s.get("capabilityStatus"),
                "consumedUnits": s.get("consumedUnits"),
                "prepaidUnits": s.get("prepaidUnits"),
            }
            for s in skus
        ]
    }
    if not skus:
        return row.problem("no subscription of the tenant includes Intune", evidence)
    usable: list[str] = []
    for s in skus:
        units = s.get("prepaidUnits") or {}
        paid = int(units.get("enabled") or 0) + int(units.get("warning") or 0)
        if s.get("capabilityStatus") in ("Enabled", "Warning") and paid > 0 and int(s.get("consumedUnits") or 0) <= paid:
            usable.append(str(s.get("skuPartNumber")))
    if not usable:
        return row.problem("no Intune subscription is usable (suspended, expired or more licences assigned than bought)", evidence)
    return row.ok(f"Intune licensed through {', '.join(usable)}", **evidence)


def user_licence(d: CloudData, now: float):
    row = M.CAUSE_3_USER
    records = sorted(d.intune_records(), key=lambda r: (r.get("managementAgent") == "jamf", r.get("lastSyncDateTime") or ""), reverse=True)
    upn = next((r.get("userPrincipalName") for r in records if r.get("userPrincipalName")), None)
    source = "Intune"
    if not upn and d.reg:  # a Device Compliance Mac has no Intune record: MSAL on the Mac names the registered user
        upn, source = d.reg.msal_upn(), "getPSSOStatus"
    if not upn:
        return row.unknown("no Intune record of the Mac names its user" + (" (nor does getPSSOStatus on the Mac)" if d.reg and d.reg.dev else ""))
    details = d.licence_details(upn)
    if details is None:
        return row.problem(f"Entra has no user {upn}", {"userPrincipalName": upn, "user_from": source})
    plans = [p for lic in details for p in _intune_plans(lic.get("servicePlans"))]
    evidence = {"userPrincipalName": upn, "user_from": source, "licences": [lic.get("skuPartNumber") for lic in details]}
    if not plans:
        return row.problem(f"{upn} holds no licence that includes Intune", evidence)
    return row.ok(f"{upn} holds Intune ({', '.join(sorted(set(plans)))})", **evidence)


def _target_kind(d: CloudData, target: dict) -> tuple[str, str]:
    """("device" | "user" | "excluded", label) for one assignment target of a policy."""
    kind = str(target.get("@odata.type") or "")
    if kind.endswith("allDevicesAssignmentTarget"):
        return "device", "All devices"
    if kind.endswith("allLicensedUsersAssignmentTarget"):
        return "user", "All users"
    if kind.endswith("exclusionGroupAssignmentTarget"):
        return "excluded", str(target.get("groupId"))
    group = d.group(target["groupId"]) if target.get("groupId") else None
    if group is None:
        return "user", f"group {target.get('groupId')} (not found)"
    rule = group.get("membershipRule") or ""
    is_device = "DynamicMembership" in (group.get("groupTypes") or []) and bool(_DEVICE_RULE.search(rule))
    return ("device" if is_device else "user"), f"{group.get('displayName')} ({group.get('id')})"


def compliance_policy_groups(d: CloudData, now: float):
    row = M.POLICY_GROUPS
    policies = [p for p in d.policies() if p.get("@odata.type") == MAC_POLICY]
    if not policies:
        return row.ok("no macOS compliance policy in Intune", policies=[])
    findings, shown = [], []
    for p in policies:
        targets = [_target_kind(d, a.get("target") or {}) for a in p.get("assignments") or []]
        shown.append({"id": p.get("id"), "displayName": p.get("displayName"), "assigned_to": [{"kind": k, "target": label} for k, label in targets]})
        findings += [f"{p.get('displayName')!r} is assigned to device group {label}" for k, label in targets if k == "device"]
    if findings:
        return row.problem("; ".join(findings), {"policies": shown})
    return row.ok(f"{len(policies)} macOS compliance policy(ies), assigned to user groups only", policies=shown)


CHECKS = [
    jamf_check_in,
    jamf_entra_state,
    jamf_records,
    intune_records,
    entra_records,
    compliance_mismatch,
    partner_connection,
    jamf_app_permissions,
    connector_app,
    tenant_licences,
    user_licence,
    compliance_policy_groups,
]
ROWS = {
    jamf_check_in: M.CHECK_IN,
    jamf_entra_state: M.JAMF_ENTRA_STATE,
    jamf_records: M.JAMF_RECORDS,
    intune_records: M.INTUNE_RECORDS,
    entra_records: M.ENTRA_RECORDS,
    compliance_mismatch: M.MISMATCH,
    partner_connection: M.CAUSE_5,
    jamf_app_permissions: M.CAUSE_1,
    connector_app: M.CAUSE_2,
    tenant_licences: M.CAUSE_3_TENANT,
    user_licence: M.CAUSE_3_USER,
    compliance_policy_groups: M.POLICY_GROUPS,
}
