"""Which registration model a Mac is in (legacy Conditional Access, Jamf Device Compliance, Platform SSO), and why.

``classify`` is pure: it judges the facts step 0 read (the Mac's evidence, ``ctx.facts["registration"]``; the cloud
summaries; the tenant's partner connections) and says which model the reset must follow, each fact it used and the
leftovers of an older model. Precedence, first match wins:

1. the Mac shows a completed Platform SSO registration (``app-sso`` or ``getPSSOStatus`` 2): ``platform-sso``;
2. the Mac's jamf plist enables Device Compliance with the User registration app: ``device-compliance``;
3. the cloud alone (no device evidence, e.g. ``--only cloud``, or the Mac shows neither model):
   - a Jamf Device Compliance partner that is enabled with macOS onboarded, or Jamf Pro's device-compliance
     information calling one of the Mac's records applicable, and no Intune record of the serial managed by
     ``jamf`` (or such records while the legacy partner is not known to be enabled: they are leftovers of a
     migration): ``device-compliance``;
   - Intune records of the serial managed by ``jamf``, or the legacy partner enabled, and no such compliance
     partner (or both partners enabled and the Mac's evidence, read, shows neither model): ``legacy``;
4. otherwise ``unknown``: the facts do not tell (nothing registered anywhere and the partner state unreadable, or
   both integrations enabled with legacy records present and no device evidence). ``unknown`` is never taken as
   ``legacy`` silently: the steps that differ per model say so and do what is right for both (step 11 deletes the
   serial's Intune records as today; verification accepts either model's outcome and names which it found).

Platform SSO Macs also use Device Compliance (``device_compliance`` is true for both models).
"""

from __future__ import annotations

from typing import Any

from cleanup.clients import records as R
from cleanup.clients.compliance import jamf_partner
from cleanup.parsers.jamfca import USER_REGISTRATION_APP_IDS

MODELS = ("legacy", "device-compliance", "platform-sso", "unknown")


def _jamf_legacy_partner(partners: list[dict]) -> dict | None:
    found = [p for p in partners if "jamf" in str(p.get("displayName") or "").casefold()]
    return next((p for p in found if p.get("partnerState") == "enabled"), found[0] if found else None)


def _jamf_compliance_partner(partners: list[dict]) -> dict | None:
    """The Jamf compliance partner with macOS onboarded (else any Jamf one, for the evidence)."""
    found = [p for p in partners if "jamf" in str(p.get("displayName") or "").casefold()]
    return jamf_partner(partners) or (found[0] if found else None)


def _dc_on(partners: dict | None) -> bool | None:
    """A Jamf compliance partner is enabled with macOS onboarded; None: not known."""
    listed = (partners or {}).get("compliance")
    if listed is None:
        return None
    p = jamf_partner(listed)
    return bool(p and p.get("partnerState") == "enabled")


def device_compliance_possible(device: dict | None, partners: dict | None) -> bool:
    """Is Jamf's device-compliance information worth reading for the Mac's records? Yes when the Mac shows a 2026
    model, or the tenant has (or may have: not readable) a Jamf compliance partner; not when ``partners`` is None."""
    if set((device or {}).get("models") or []) & {"device-compliance", "platform-sso"}:
        return True
    if partners is None:
        return False
    listed = partners.get("compliance")
    return listed is None or jamf_partner(listed) is not None


def legacy_partner_matters(device: dict | None, cloud: dict, partners: dict | None) -> bool:
    """Whether the legacy partner (``deviceManagementPartners``) changes the classification or its leftovers; not
    read otherwise (one request less per reset): with legacy records and a 2026 model in sight, or with nothing
    else to tell."""
    models = set((device or {}).get("models") or [])
    jamf_managed = bool(_jamf_managed(cloud.get("intune") or []))
    dc_on = _dc_applicable(cloud) or _dc_on(partners)
    if jamf_managed:
        return bool(dc_on or models)
    return not dc_on and not models


def _partner_line(kind: str, p: dict) -> str:
    extra = f", macOS onboarded {bool(p.get('macOsOnboarded'))}" if kind == "complianceManagementPartners" else ""
    beat = p.get("lastHeartbeatDateTime") or "never"
    return f"Graph {kind}: {p.get('displayName')!r} is {p.get('partnerState')!r}{extra}, last heartbeat {beat}"


def _jamf_managed(intune: list[dict]) -> list[dict]:
    return [d for d in intune if (d.get("managementAgent") or "").casefold() == "jamf"]


def _dc_applicable(cloud: dict) -> bool:
    """Jamf Pro's device-compliance information calls one of the Mac's records applicable."""
    return any(isinstance(j.get("device_compliance"), list) and any(i.get("applicable") for i in j["device_compliance"]) for j in cloud.get("jamf") or [])


def _psso_device_id(device: dict) -> str | None:
    for u in device.get("users") or []:
        if u.get("psso_registered") and u.get("psso_device_id"):
            return str(u["psso_device_id"]).casefold()
    ids = device.get("psso_device_ids") or []
    if ids:
        return str(ids[0]).casefold()
    for u in device.get("users") or []:
        if u.get("psso_status") == 2:
            did = (device.get("msal_device_ids") or {}).get(u.get("name"))
            if did:
                return str(did).casefold()
    return None


def _device_lines(device: dict) -> list[str]:
    lines = []
    for u in device.get("users") or []:
        if u.get("psso_registered"):
            lines.append(f"on the Mac: app-sso platform -s shows {u.get('name')}'s Platform SSO registration completed (deviceId {u.get('psso_device_id')})")
        if u.get("psso_status") is not None:
            did = (device.get("msal_device_ids") or {}).get(u.get("name"))
            lines.append(f"on the Mac: getPSSOStatus as {u.get('name')} answers {u.get('psso_status')}" + (f" (device id {did})" if did else ""))
    dc = device.get("device_compliance")
    if dc:
        app = dc.get("client_id")
        named = "the User registration app" if (app or "").casefold() in USER_REGISTRATION_APP_IDS else "not the User registration app"
        lines.append(f"on the Mac: com.jamfsoftware.jamf.plist microsoftCAEnabled {bool(dc.get('enabled'))}, microsoftCANativeClientAppId {app} ({named})")
    else:
        lines.append("on the Mac: com.jamfsoftware.jamf.plist has no Device Compliance values")
    if device.get("jamf_ca_version"):
        lines.append(f"on the Mac: Jamf Conditional Access {device['jamf_ca_version']}")
    return lines


def classify(device: dict | None, cloud: dict, partners: dict | None) -> dict:
    """The run's registration model (Contract 2) from the Mac's evidence (None: not read), the cloud summaries of
    step 0 and the partner connections ``{"legacy": [deviceManagementPartners] | None, "compliance":
    [complianceManagementPartners] | None, "notes": [why one is None]}`` (None: not read at all)."""
    evidence: list[str] = []
    leftovers: list[str] = []
    serial = cloud.get("serial")
    partners = partners or {}
    legacy_list, compliance_list = partners.get("legacy"), partners.get("compliance")
    evidence.extend(partners.get("notes") or [])
    if partners == {}:
        evidence.append("partner connections not read")
    elif "legacy" not in partners:
        evidence.append("Graph deviceManagementPartners: not read (not needed to tell the model)")

    legacy_p = _jamf_legacy_partner(legacy_list) if legacy_list is not None else None
    legacy_on: bool | None = None if legacy_list is None else bool(legacy_p and legacy_p.get("partnerState") == "enabled")
    if legacy_p:
        evidence.append(_partner_line("deviceManagementPartners", legacy_p))
    elif legacy_list is not None:
        evidence.append("Graph deviceManagementPartners: no Jamf partner")
    dc_p = _jamf_compliance_partner(compliance_list) if compliance_list is not None else None
    dc_on = True if _dc_applicable(cloud) else _dc_on(partners)  # Jamf applying Device Compliance to the Mac is evidence enough
    if dc_p:
        evidence.append(_partner_line("complianceManagementPartners", dc_p))
    elif compliance_list is not None:
        evidence.append("Graph complianceManagementPartners: no Jamf partner")

    intune = cloud.get("intune") or []
    jamf_managed = _jamf_managed(intune)
    for d in jamf_managed:
        evidence.append(f"Intune: {R.describe('intune', d)} is managed by jamf")
    if not intune:
        evidence.append(f"Intune: no record of serial {serial}")
    entra = cloud.get("entra") or []
    for dev in entra:
        app = f", mdmAppId {dev['mdmAppId']}" if dev.get("mdmAppId") else ""
        evidence.append(f"Entra: {R.describe('entra', dev)} trustType {dev.get('trustType')}{app}")
    for j in cloud.get("jamf") or []:
        info = j.get("device_compliance")
        if isinstance(info, str):
            evidence.append(f"Jamf Pro computer {j['id']}: device-compliance information {info}")
        elif isinstance(info, list) and info:
            for i in info:
                ids = ", ".join(i.get("device_ids") or []) or "none"
                evidence.append(
                    f"Jamf Pro computer {j['id']}: device-compliance information applicable {i.get('applicable')}, state {i.get('state')}, device ids {ids}"
                )
        elif isinstance(info, list):
            evidence.append(f"Jamf Pro computer {j['id']}: no device-compliance information")

    if device is None:
        evidence.append("the Mac's evidence was not read (a cloud-only run): Platform SSO cannot be told from the cloud alone")
        joined = [d for d in entra if (d.get("trustType") or "").casefold() == "azuread" and (d.get("operatingSystem") or "").casefold() == "macos"]
        evidence += [f"Entra: device {d['id']} is Entra-joined (AzureAd, macOS), as Platform SSO registers a Mac: the Mac may use Platform SSO" for d in joined]
        models: list[str] = []
    else:
        models = list(device.get("models") or [])
        evidence.extend(_device_lines(device))

    psso_id = _psso_device_id(device) if device else None
    model = _decide(models, device is not None, legacy_on, dc_on, bool(jamf_managed))
    if model == "unknown":
        evidence.append(_unknown_reason(legacy_on, dc_on, jamf_managed))
    elif model == "device-compliance" and device is not None and "device-compliance" not in models:
        evidence.append("the Mac's jamf plist does not enable Device Compliance (is it in Jamf's Applicable group?): the model is the tenant's")

    if model in ("device-compliance", "platform-sso"):
        for d in jamf_managed:
            leftovers.append(
                f"legacy Intune record {d['id']} {d.get('deviceName')!r} (managementAgent jamf) of serial {serial}: "
                "deleted as a leftover of the legacy integration in step 11"
            )
        if legacy_on and legacy_p:
            name = legacy_p.get("displayName")
            leftovers.append(f"the legacy Jamf partner {name!r} is still enabled in Intune (deviceManagementPartners): not changed by a reset")
        if dc_on is False and compliance_list is not None:
            evidence.append("the tenant has no enabled Jamf compliance partner with macOS onboarded, yet the Mac is in Device Compliance")
    if model == "platform-sso" and device is not None and not psso_id:
        evidence.append("the Platform SSO deviceId is unknown (no signing certificate the reader could decode)")
    device_compliance = {"legacy": False, "device-compliance": True, "platform-sso": True}.get(model)
    return {
        "model": model,
        "evidence": evidence,
        "leftovers": leftovers,
        "device_compliance": device_compliance,
        "psso_device_id": psso_id if model == "platform-sso" else None,
    }


def _decide(models: list[str], have_device: bool, legacy_on: bool | None, dc_on: bool | None, jamf_managed: bool) -> str:
    """The precedence of the module's docstring."""
    if "platform-sso" in models:
        return "platform-sso"
    if "device-compliance" in models or (dc_on and (not jamf_managed or not legacy_on)):
        return "device-compliance"
    if (not dc_on and (jamf_managed or legacy_on)) or (have_device and legacy_on and jamf_managed):
        return "legacy"
    return "unknown"


def _unknown_reason(legacy_on: bool | None, dc_on: bool | None, jamf_managed: list[dict]) -> str:
    if legacy_on and dc_on and jamf_managed:
        return "model unknown: both Jamf partners are enabled and jamf-managed Intune records exist; the Mac's evidence would tell"
    if legacy_on is None and dc_on is None:
        return "model unknown: the partner connections could not be read and no record or Mac evidence shows a model"
    return "model unknown: no Intune record managed by jamf, no enabled Jamf compliance partner and no model on the Mac"


def describe(reg: dict) -> list[str]:
    """Plan lines for a classification: the model, the evidence, the leftovers."""
    lines = [f"registration model: {reg['model']}"]
    lines += [f"  evidence: {e}" for e in reg.get("evidence") or []]
    lines += [f"  leftover: {x}" for x in reg.get("leftovers") or []]
    return lines


def model_of(ctx: Any) -> str:
    """The run's model: the cloud classification when step 0 made one, else the Mac's evidence alone
    (``platform-sso``, ``device-compliance``), else ``unknown`` (never ``legacy`` without cloud facts)."""
    reg = ((ctx.facts or {}).get("cloud") or {}).get("registration")
    if isinstance(reg, dict) and reg.get("model") in MODELS:
        return str(reg["model"])
    models = ((ctx.facts or {}).get("registration") or {}).get("models") or []
    if "platform-sso" in models:
        return "platform-sso"
    if "device-compliance" in models:
        return "device-compliance"
    return "unknown"


def psso_in_use(ctx: Any) -> bool:
    """The Mac's evidence shows a completed Platform SSO registration for any user, whatever the cloud says."""
    device = (ctx.facts or {}).get("registration") or {}
    users = device.get("users") or []
    return bool("platform-sso" in (device.get("models") or []) or any(u.get("psso_registered") or u.get("psso_status") == 2 for u in users))
