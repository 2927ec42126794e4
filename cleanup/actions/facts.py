"""Step 0: gather and record, before anything is destroyed, the facts the later steps need."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from cleanup.actions.keychain_items import in_parallel, read_all
from cleanup.engine.action import Action, ActsOn, Param, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import HostError, UsageError
from cleanup.hosts import probes
from cleanup.hosts.registration import evidence_facts, read_registration_evidence
from cleanup.identifiers import valid_guid


def jamf_url_from_mdm_server(server: str | None) -> str | None:
    if not server:
        return None
    parts = urlsplit(server)
    if parts.scheme != "https" or not parts.hostname:
        return None
    path = parts.path.split("/mdm/")[0].rstrip("/") if "/mdm/" in parts.path else ""
    return f"https://{parts.netloc}{path}"


def _device_id(cert, view, notes: list[str]) -> str | None:
    """The Entra deviceId a Workplace Join certificate names (its CN), or None with a note naming it."""
    cn = cert.get("labl") or cert.subject_cn
    if not cn:
        return None
    try:
        return valid_guid(cn)
    except UsageError:
        notes.append(
            f"ignored certificate {cn!r} (SHA-1 {cert.sha1}) in the {view.who} ({view.path}) as a deviceId: "
            "issued by MS-ORGANIZATION-ACCESS, but its name is not a GUID"
        )
        return None


@register
class GatherFacts(Action):
    name = "facts.gather"
    summary = "Record serial, users, console user, Entra deviceId, Jamf and Company Portal presence, boot time"
    acts_on = ActsOn.DEVICE
    read_only = True
    params = {
        "jamf_binary": Param("str", default="/usr/local/jamf/bin/jamf"),
        "company_portal_app": Param("str", default="/Applications/Company Portal.app"),
        "workplace_join_issuer": Param("str", default="MS-ORGANIZATION-ACCESS"),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        host = ctx.host
        p = step.params
        # independent read-only probes, side by side; "not a Mac" is reported first if it fails
        os_version, users, mdm, serial, name, console, boot, sessions = in_parallel(
            lambda probe: probe(),
            [
                lambda: probes.require_mac(host),
                lambda: probes.local_users(host),
                lambda: ctx.memo("enrollment", lambda: probes.enrollment(host)),
                lambda: ctx.memo("serial", lambda: probes.serial_number(host)),
                lambda: probes.check(host, [probes.SCUTIL, "--get", "ComputerName"]).stdout.strip(),
                lambda: probes.console_user_name(host),
                lambda: ctx.memo("boot_time", lambda: probes.boot_time(host)),
                lambda: probes.gui_session_uids(host),
            ],
        )
        facts = {
            "serial": serial,
            "computer_name": name,
            "os_version": os_version,
            "users": [{"name": u.name, "uid": u.uid, "home": u.home} for u in users],
            "console_user": console,
            "boot_time": boot,
            "jamf_present": host.lstat(p["jamf_binary"]) is not None,
            "mdm": {"enrolled": mdm.enrolled, "dep": mdm.dep, "user_approved": mdm.user_approved, "server": mdm.server},
            "jamf_url": jamf_url_from_mdm_server(mdm.server),
            "company_portal_present": host.lstat(p["company_portal_app"]) is not None,
        }
        ctx.facts.update(facts)  # keychains() below needs the users
        notes: list[str] = []
        device_ids: dict[str, list[str]] = {}
        issuer = p["workplace_join_issuer"].casefold()
        # The registration evidence (app-sso, Jamf Conditional Access, profiles) is read while the keychains are,
        # so that it adds little to a step that runs in every run.
        with ThreadPoolExecutor(max_workers=1) as pool:
            evidence = pool.submit(read_registration_evidence, host, users=users, sessions=sessions)
            try:
                views = read_all(ctx, notes, sessions)
            except HostError as exc:
                notes.append(f"cannot read the keychains: {exc.message}")
                views = []
            facts["registration"] = registration = evidence_facts(evidence.result())
        notes[:0] = evidence_notes(registration)
        for view in views:
            who = view.owner.name if view.owner else "System"
            if view.locked and not view.listed:
                notes.append(f"{view.who} is locked: its Workplace Join deviceId cannot be read now")
                continue
            if view.locked:
                notes.append(f"{view.who} is locked, but security(1) listed its items: its Workplace Join deviceId is read from them")
            certs = [i for i in view.items if i.item_class == "cert" and (i.issuer_cn or "").casefold() == issuer]
            ids = [did for cert in certs if (did := _device_id(cert, view, notes))]
            if ids:
                device_ids[who] = ids
        facts["entra_device_ids"] = device_ids
        console = facts["console_user"]
        facts["entra_device_id"] = next(iter(device_ids.get(console or "", [])), None) or next((ids[0] for ids in device_ids.values() if ids), None)
        if len({i for ids in device_ids.values() for i in ids}) > 1:
            notes.append("more than one Workplace Join certificate found: " + ", ".join(f"{k}: {v}" for k, v in device_ids.items()))
        if not facts["entra_device_id"]:
            notes.append("no MS-ORGANIZATION-ACCESS certificate found: the Mac's Entra deviceId is unknown")
        return StepPlan(noop_reason="facts gathered", facts=facts, notes=notes)


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@:/+-]{0,127}")


def shown(value: Any) -> str:
    """Text read from the Mac as a plan line shows it: as it is when plain, else quoted with escapes (a newline, a
    terminal escape or markup in a plist value is printed as ``'\\n'``, ``'\\x1b'``, never acted on)."""
    text = str(value)
    return text if _PLAIN.fullmatch(text) else repr(text)


def evidence_notes(reg: dict[str, Any]) -> list[str]:
    """One or two plan lines: the registration models the Mac itself shows (``facts["registration"]``)."""
    parts: list[str] = []
    registered = [u for u in reg.get("users") or [] if u.get("psso_registered") or u.get("psso_status") == 2]
    for u in registered:
        key = "Secure Enclave key" if u.get("psso_secure_enclave") else "no Secure Enclave key"
        did = u.get("psso_device_id") or (reg.get("msal_device_ids") or {}).get(u["name"]) or "unknown"
        parts.append(f"Platform SSO registered for {shown(u['name'])} (deviceId {shown(did)}, {key})")
    if not registered:
        parts.append("no Platform SSO registration" + (" (Company Portal's SSO extension is installed)" if reg.get("sso_extension") else ""))
    dc = reg.get("device_compliance")
    if dc and "device-compliance" in (reg.get("models") or []):
        parts.append(f"Device Compliance on (User registration app {shown(dc.get('client_id'))})")
    elif dc:
        parts.append(f"Device Compliance not on (microsoftCAEnabled {dc.get('enabled')}, client id {shown(dc.get('client_id'))})")
    else:
        parts.append("no Device Compliance values in com.jamfsoftware.jamf.plist")
    lines = ["on the Mac: " + "; ".join(parts)]
    more = []
    if reg.get("sso_profiles"):
        names = ", ".join(shown(p) for p in reg["sso_profiles"])
        more.append(
            f"Extensible SSO profile {names}: no step removes it, but step 2 (jamf removeMdmProfile) takes the profiles the MDM installed "
            "with the MDM profile, and Jamf Pro installs them again after re-enrollment (step 12)"
        )
    if reg.get("missing"):
        more.append("not on this Mac: " + ", ".join(shown(m) for m in reg["missing"]))
    if more:
        lines.append("on the Mac: " + "; ".join(more))
    return lines
