"""Step 0, cloud side: record the Mac's Jamf Pro record(s), Entra device(s) and Intune records before anything goes.

Entra devices are looked up by deviceId: the ones on the Mac's MS-ORGANIZATION-ACCESS certificates and its
Platform SSO registration (``app-sso``, ``getPSSOStatus``), then the ones Intune's records of the serial point to,
Jamf Pro reports for the Mac, and Jamf Pro's device-compliance information names. The computer name is only a
fallback when no deviceId finds anything. Works without a Mac (``--only cloud --serial SN``).

The step also classifies the Mac's registration model (:mod:`cleanup.actions.registration_model`), from the Mac's
evidence, these records and the tenant's partner connections. The partners are read once per cloud session
(a batch shares one) and never demanded: without DeviceManagementServiceConfig.Read.All their state is
"unknown" in the evidence, never a failure.
"""

from __future__ import annotations

import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cleanup.actions import escrowed
from cleanup.actions import registration_model as M
from cleanup.actions.jamf_inventory import DeleteJamfRecord
from cleanup.clients import compliance
from cleanup.clients import jamf_groups as G
from cleanup.clients import records as R
from cleanup.clients.lookup import claims_for, device_id_sources
from cleanup.engine.action import Action, ActsOn, included_actions, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import CleanupError, ServiceError, UsageError
from cleanup.identifiers import guid_or_none, valid_guid

PREFETCH_MAX_AGE = 900  # seconds


class _Inline:
    """The executor interface, running each call at once in the caller's thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def gather(ctx: RunContext, serial: str, partners: dict | None = None) -> tuple[dict, list[str]]:
    """Read the three services; return the record summaries and notes for people. ``partners`` (as
    :func:`read_partners` gives them; None: not read) tell whether Jamf's device-compliance information is worth
    reading for the Mac's Jamf Pro records; the Mac's own evidence (``ctx.facts["registration"]``) tells too."""
    cloud = ctx.cloud
    # a batch already runs many Macs side by side: threads per Mac would only add overhead there
    with _Inline() if ctx.options.batch_id else ThreadPoolExecutor(max_workers=3) as pool:
        # a batch's plan hands over the records it read in bulk for a chunk of Macs (cleanup.batch.prefetch)
        pre = ctx.options.lookups or {}
        pre_jamf, pre_intune = pre.get("jamf"), pre.get("intune")
        jamf_f = pool.submit(lambda: pre_jamf) if pre_jamf is not None else pool.submit(cloud.jamf.computers_by_serial, serial)
        intune_f = pool.submit(lambda: pre_intune) if pre_intune is not None else pool.submit(cloud.graph.managed_devices_by_serial, serial)
        jamf_raw = jamf_f.result()
        jamf = [R.jamf_summary(r) for r in jamf_raw]
        for summary, raw in zip(jamf, jamf_raw, strict=True):
            # the static groups step 13 puts the new record back into (None: this read did not include them)
            groups = raw.get("groupMemberships")
            summary["static_groups"] = sorted(g["id"] for g in G.memberships(raw) if not g["smart"]) if isinstance(groups, list) else None
        if DeleteJamfRecord.name in ctx.included_actions():
            # what each record escrowed (kinds and account names, never a value), saved before step 4 deletes it
            for summary, raw in zip(jamf, jamf_raw, strict=True):
                summary["escrow"] = escrowed.gather(cloud.jamf, raw)
        wanted = M.device_compliance_possible(ctx.facts.get("registration"), partners)
        if ctx.options.batch_id and (partners or {}).get("compliance") is not None:
            wanted = False  # a batch's plan: the partners tell the model, no request per Mac for more evidence
        if wanted:
            # the Device Compliance model's link from a Jamf record to its Entra registration (one request per record)
            for summary in jamf:
                summary["device_compliance"] = _device_compliance(cloud, summary["id"])
        intune_all = [R.intune_summary(d) for d in intune_f.result()]
        notes: list[str] = []
        intune = [d for d in intune_all if R.is_mac_intune(d)]
        for d in intune_all:
            if d not in intune:
                notes.append(f"{R.describe('intune', d)} has this serial but is not a Mac ({d.get('operatingSystem')}): never deleted")
        # deviceIds: the Mac's own certificates first, then the ones Intune's records of this serial point to
        certificates = [did for ids in (ctx.facts.get("entra_device_ids") or {}).values() for did in ids]
        sources = _device_id_sources(ctx.facts.get("registration"), certificates, intune, jamf)
        known_names = {ctx.facts.get("computer_name")} | {j["name"] for j in jamf} | {d.get("deviceName") for d in intune}
        names = sorted(n for n in known_names if n)
        by_id = _devices_by_device_ids(cloud, list(sources), pre.get("entra"))
        entra: list[dict] = []
        seen: set[str] = set()
        for did, devices in by_id.items():
            for dev in devices:
                if dev["id"] in seen:
                    continue
                seen.add(dev["id"])
                if R.is_mac_entra(dev):
                    entra.append(R.entra_summary(dev, sources[did]))
                else:
                    notes.append(f"Entra device {dev['id']} has deviceId {did} but is not a Mac ({dev.get('operatingSystem')}): never deleted")
        # the name is a fallback when no deviceId finds a device; a dry-run also looks, to show look-alikes
        # (not in a batch's plan: nobody reads those notes there), and so does a run whose operator picked Entra
        # devices, since a stale registration's device may be linked to the Mac by its name only
        look = not entra or (ctx.options.dry_run and not ctx.options.batch_id) or bool(ctx.options.choices.get("entra"))
        by_name_f = {n: pool.submit(cloud.graph.devices_by_name, n) for n in names} if look else {}
        by_name: list[dict] = []
        for name, fut in by_name_f.items():
            for dev in fut.result():
                # Entra compares names case-insensitively; we take exact (case-insensitive) equality only
                if dev["id"] in seen or (dev.get("displayName") or "").casefold() != name.casefold():
                    continue
                seen.add(dev["id"])
                if R.is_mac_entra(dev):
                    by_name.append(R.entra_summary(dev, f"displayName {name!r}"))
    claims = _claims(cloud, serial, entra + by_name, pre.get("claims"))
    if entra:
        for dev in by_name:
            notes.append(f"{R.describe('entra', dev)} has the Mac's name but is not linked to it: kept (add --entra-device {dev['id']} to include it)")
        candidates, by_name_only = entra, False
    else:
        candidates, by_name_only = by_name, True
        if by_name:
            notes.append("no Entra device found by deviceId; falling back to the computer name")
    return {
        "serial": serial,
        "gathered_at": time.time(),
        "jamf": jamf,
        "entra": candidates,
        "entra_by_name_only": by_name_only,
        "entra_other": by_name if entra else [],
        "intune": intune,
        "claims": claims,
        "choices": dict(ctx.options.choices),
    }, notes


def _device_id_sources(device: dict | None, certificates: list[str], intune: list[dict], jamf: list[dict]) -> dict[str, str]:
    """lookup.device_id_sources, with the Mac's Platform SSO deviceIds and getPSSOStatus' ids after its certificates'
    and the ids Jamf's device-compliance information names last (a value that is not a GUID is left out)."""
    sources = device_id_sources(certificates, [], [])
    for did in (device or {}).get("psso_device_ids") or []:
        if key := guid_or_none(did):
            sources.setdefault(key, "deviceId on the Mac's Platform SSO registration (app-sso)")
    for user, did in sorted(((device or {}).get("msal_device_ids") or {}).items()):
        if key := guid_or_none(did):
            sources.setdefault(key, f"deviceId on the Mac's getPSSOStatus for {user}")
    for did, how in device_id_sources([], intune, jamf).items():
        sources.setdefault(did, how)
    for j in jamf:
        infos = j.get("device_compliance")
        for info in infos if isinstance(infos, list) else []:  # a text: not read, and why
            for did in info.get("device_ids") or []:
                if (key := guid_or_none(did)) and key != R.ZERO_GUID:
                    sources.setdefault(key, f"deviceId in Jamf Pro's device-compliance information of computer {j['id']}")
    return sources


def _device_compliance(cloud, computer_id: str) -> list[dict] | str | None:
    """compliance.device_compliance; a failure (no privilege, a server without the route) is the text of why."""
    try:
        return compliance.device_compliance(cloud.jamf, computer_id)
    except ServiceError as exc:
        return f"not read ({exc.message})"


# -- the partner connections, read once per cloud session -------------------------------------------------

_PARTNERS: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
_PARTNERS_LOCK = threading.Lock()
PERMISSION = "DeviceManagementServiceConfig.Read.All"


def _read_once(cloud, kind: str, read) -> tuple[list[dict] | None, str | None]:
    """(partners, why not) of ``kind``, read at most once per PREFETCH_MAX_AGE for ``cloud`` (a batch's runs share
    one): Macs planned side by side wait for the first read instead of sending their own."""
    with _PARTNERS_LOCK:
        try:
            memo = _PARTNERS.setdefault(cloud, {})
        except TypeError:  # not weakly referable: no memo
            memo = {}
        slot = memo.setdefault(kind, {"lock": threading.Lock(), "at": None, "value": None})
    with slot["lock"]:
        if slot["at"] is not None and time.monotonic() - slot["at"] < PREFETCH_MAX_AGE:
            return slot["value"]
        try:
            value: tuple[list[dict] | None, str | None] = (_compact(read()), None)
        except ServiceError as exc:
            if exc.status != 403:
                return None, f"partner state unknown (Graph {kind}: {exc.message})"  # not kept: the next Mac tries again
            value = (None, f"partner state unknown (no permission: {PERMISSION} to read Graph {kind})")
        except CleanupError as exc:  # e.g. Graph not configured: the records' own reads say so
            return None, f"partner state unknown ({exc.message})"
        slot["at"], slot["value"] = time.monotonic(), value
        return value


def _compact(partners: list[dict]) -> list[dict]:
    keys = ("id", "displayName", "partnerState", "lastHeartbeatDateTime", "macOsOnboarded", "isConfigured")
    return [{k: p[k] for k in keys if k in p} for p in partners]


def read_partners(ctx: RunContext, partners: dict | None = None, legacy: bool = True) -> dict:
    """The tenant's Jamf partner connections: ``{"compliance": [...] | None, "legacy": [...] | None, "notes": [...]}``
    (None: unknown, the note says why). ``partners`` holds what was read already; the legacy ones only when asked."""
    out = dict(partners or {"notes": []})
    notes = list(out.get("notes") or [])
    cloud = ctx.cloud
    if "compliance" not in out:
        out["compliance"], why = _read_once(cloud, "complianceManagementPartners", lambda: compliance.compliance_partners(cloud.graph))
        notes += [why] if why else []
    if legacy and "legacy" not in out:
        out["legacy"], why = _read_once(cloud, "deviceManagementPartners", lambda: cloud.graph.partners())
        notes += [why] if why else []
    out["notes"] = notes
    return out


def _claims(cloud, serial: str, devices: list[dict], known: dict | None) -> dict[str, list[str]]:
    """lookup.claims_for, taking the ones ``known`` holds (read in bulk by a batch's plan) from there."""
    known = known or {}
    missing = [d for d in devices if (d.get("deviceId") or "").casefold() not in known]
    live = claims_for(cloud, serial, missing) if missing else {}
    dids = dict.fromkeys((d.get("deviceId") or "").casefold() for d in devices if d.get("deviceId"))
    return {did: known.get(did, live.get(did, [])) for did in dids}


def _devices_by_device_ids(cloud, device_ids: list[str], known: dict | None) -> dict[str, list[dict]]:
    """cloud.graph.devices_by_device_ids(device_ids), taking the ones ``known`` holds (deviceId -> devices, read
    in bulk by a batch's plan) from there and looking up only the others (e.g. the Mac's own certificates')."""
    if not device_ids:
        return {}
    if known is None:
        return cloud.graph.devices_by_device_ids(device_ids)
    missing = [d for d in device_ids if d not in known]
    live = cloud.graph.devices_by_device_ids(missing) if missing else {}
    out: dict[str, list[dict]] = {}
    for did in device_ids:  # the order and keys devices_by_device_ids gives
        key = valid_guid(did)
        if key not in out:
            out[key] = known[did] if did in known else live[key]
    return out


@register
class GatherCloudFacts(Action):
    name = "cloud.gather"
    summary = "Record the Mac's Jamf Pro record(s), Entra device(s) and Intune records (ids, names, last contact)"
    acts_on = ActsOn.CLOUD
    read_only = True
    params = {}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        actions = included_actions(ctx)
        # an action that uses the records only when it can (step 2's Remove MDM Profile command): worth reading
        # them if a connection is configured, but no reason to demand one
        optional = any(a.cloud_optional for a in actions) and ctx.cloud_opener is not None
        if not any(a.reads_cloud for a in actions) and not optional:
            return StepPlan(noop_reason="no cloud step in this run")
        serial = ctx.serial
        if not serial:
            raise UsageError("the Mac's serial number is unknown: give --serial SN")
        if ctx.cloud_opener is None:
            if ctx.options.dry_run:
                return StepPlan(
                    noop_reason="no cloud connection configured",
                    notes=["no Jamf Pro / Graph connection is configured: the cloud steps cannot be planned (`cleanup creds set`)"],
                )
            _ = ctx.cloud  # raises the clear "not configured" error before anything changes
        device = ctx.facts.get("registration")  # the Mac's evidence; absent in a cloud-only run
        pre = ctx.options.prefetched
        if pre and pre.get("serial") == serial and ctx.clock() - pre.get("gathered_at", 0) < PREFETCH_MAX_AGE:
            # classified again with this run's own evidence of the Mac, from the partners the plan read
            cloud = {**pre, "registration": M.classify(device, pre, pre.get("partners"))}
            notes = ["records from the batch's plan moments ago; each object is re-read before its delete"]
            return StepPlan(noop_reason=_summary(cloud), facts={"cloud": cloud}, notes=notes + M.describe(cloud["registration"]))
        partners = read_partners(ctx, legacy=False)
        cloud, notes = gather(ctx, serial, partners)
        if M.legacy_partner_matters(device, cloud, partners):
            partners = read_partners(ctx, partners)
        cloud["partners"] = partners
        cloud["registration"] = M.classify(device, cloud, partners)
        return StepPlan(noop_reason=_summary(cloud), facts={"cloud": cloud}, notes=notes + M.describe(cloud["registration"]))


def _summary(cloud: dict) -> str:
    text = f"Jamf Pro: {len(cloud['jamf'])} record(s); Entra: {len(cloud['entra'])} device(s); Intune: {len(cloud['intune'])} record(s)"
    model = (cloud.get("registration") or {}).get("model")
    return f"{text}; registration model: {model}" if model else text
