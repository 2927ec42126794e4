"""A batch's plan reads the records of a chunk of Macs in bulk, instead of a few reads per Mac.

For a chunk of serials (the batch runner plans ~20 Macs together, several chunks side by side) this makes at
most one Jamf Pro inventory query (``=in=``, skipped when Jamf Pro is not configured), one Graph ``$batch`` of
Intune serial lookups (20 per POST) and one Entra deviceId lookup for every deviceId found (Intune's records of
the Macs and Jamf Pro's reports: 15 per ``$filter``, one ``$batch`` of those); then, for the claim check, one
Intune lookup per Entra device found (by azureADDeviceId, as ``$batch`` items) and one Jamf Pro query for the
other serials those name and the devices' names. Step 0 (``cloud_facts.gather``)
takes each Mac's share through ``RunOptions.lookups`` and gives the same facts as its own reads would.

Nothing here is shared between calls, so chunks may be looked up from several threads at once; no call starts
threads of its own. A failed bulk read raises (a CleanupError): the caller then plans those Macs one by one,
and each reports its own error.
"""

from __future__ import annotations

from cleanup.actions import cloud_records as R
from cleanup.errors import UsageError
from cleanup.identifiers import valid_guid, valid_serial


def _device_ids(jamf: list[dict], intune: list[dict]) -> list[str]:
    """The deviceIds step 0 looks up for a Mac with these records (besides its own certificates'), as it
    derives them: the Mac Intune records' azureADDeviceId, then the ones Jamf Pro reports."""
    ids: list[str] = []
    for d in (R.intune_summary(d) for d in intune):
        did = d.get("azureADDeviceId")
        if R.is_mac_intune(d) and did and did != R.ZERO_GUID:
            ids.append(did.casefold())
    for j in (R.jamf_summary(r) for r in jamf):
        ids += [did.casefold() for did in j.get("aad_device_ids") or [] if did != R.ZERO_GUID]
    out = []
    for did in dict.fromkeys(ids):
        try:
            if valid_guid(did) == did:
                out.append(did)
        except UsageError:
            pass  # not a GUID: step 0 looks it up itself and reports it for this Mac alone
    return out


def lookups(cloud, serials: list[str]) -> dict[str, dict]:
    """Per serial: ``{"jamf": [raw Jamf Pro records] or None (Jamf Pro not configured), "intune": [raw
    managedDevices of exactly that serial], "entra": {deviceId (lower case): [raw Entra devices]}}``."""
    wanted = list(dict.fromkeys(valid_serial(s) for s in serials))  # every serial checked before any request
    if not wanted:
        return {}
    jamf = cloud.jamf.computers_by_serials(wanted) if cloud.config.jamf_configured() else None
    intune = cloud.graph.managed_devices_by_serials(wanted)
    ids = {s: _device_ids((jamf or {}).get(s) or [], intune.get(s) or []) for s in wanted}
    every = list(dict.fromkeys(d for s in wanted for d in ids[s]))
    entra = cloud.graph.devices_by_device_ids(every) if every else {}
    claims = _claims(cloud, wanted, jamf, {s: [d for did in ids[s] for d in entra.get(did, [])] for s in wanted})
    return {s: {"jamf": jamf.get(s, []) if jamf is not None else None,
                "intune": intune.get(s, []),
                "entra": {d: entra.get(d, []) for d in ids[s]},
                "claims": claims[s]}
            for s in wanted}


def _claims(cloud, wanted: list[str], jamf: dict | None, entra: dict[str, list[dict]]) -> dict[str, dict]:
    """Per serial, what other serials' records claim its Entra devices (cloud_facts.lookup_claims for the chunk):
    one Intune lookup per deviceId (``$batch``), one Jamf Pro query for the other serials and the devices' names."""
    devices = {s: [R.entra_summary(d, "") for d in entra[s] if R.is_mac_entra(d)] for s in wanted}
    dids = list(dict.fromkeys(did for s in wanted for did in R.claim_sources(s, devices[s], {})[0]))
    by_did = cloud.graph.managed_devices_by_aad_device_ids(dids) if dids else {}
    serials: set[str] = set()
    names: set[str] = set()
    for s in wanted:
        _, other, named = R.claim_sources(s, devices[s], by_did)
        serials.update(other)
        names.update(named)
    records = [r for s in wanted for r in (jamf or {}).get(s) or []]  # the chunk's own are known; the query finds the rest
    if jamf is not None and (serials - set(wanted) or names):
        records += cloud.jamf.computers_by_serials_or_names(sorted(serials - set(wanted)), sorted(names))
    unique = list({str(r.get("id")): r for r in records}.values())
    return {s: R.claims_from(s, devices[s], by_did, unique) for s in wanted}
