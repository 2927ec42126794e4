"""Finding a Mac's records: the deviceIds it is looked up by, the claim check for one Mac, and the same reads
in bulk for a chunk of Macs (a batch's plan).

For a chunk of serials (the batch runner plans ~20 Macs together, several chunks side by side),
:func:`chunk_lookups` makes at most one Jamf Pro inventory query (``=in=``, skipped when Jamf Pro is not
configured), one Graph ``$batch`` of Intune serial lookups (20 per POST) and one Entra deviceId lookup for
every deviceId found (Intune's records of the Macs and Jamf Pro's reports: 15 per ``$filter``, one ``$batch``
of those); then, for the claim check, one Intune lookup per Entra device found (by azureADDeviceId, as
``$batch`` items) and one Jamf Pro query for the other serials those name and the devices' names. Step 0
(``cloud_facts.gather``) takes each Mac's share through ``RunOptions.lookups`` and gives the same facts as
its own reads would.

Nothing here is shared between calls, so chunks may be looked up from several threads at once; no call starts
threads of its own. A failed bulk read raises (a CleanupError): the caller then plans those Macs one by one,
and each reports its own error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cleanup.clients import records as R
from cleanup.errors import UsageError
from cleanup.identifiers import valid_guid, valid_serial

if TYPE_CHECKING:
    from cleanup.clients.session import Cloud

CERTIFICATE = "deviceId on the Mac's Workplace Join certificate"


def device_id_sources(certificate_ids: list[str], intune: list[dict[str, Any]], jamf: list[dict[str, Any]]) -> dict[str, str]:
    """deviceId (lower case) -> how it was found, in the order step 0 looks them up: the Mac's certificates,
    the Mac Intune records' azureADDeviceId, then the ones Jamf Pro reports (``intune``/``jamf``: summaries)."""
    sources = {did.casefold(): CERTIFICATE for did in certificate_ids}
    for d in intune:
        if R.is_mac_intune(d) and (did := R.linked_device_id(d)):
            sources.setdefault(did, f"azureADDeviceId of Intune record {d['id']}")
    for j in jamf:
        for did in j.get("aad_device_ids") or []:
            if did.casefold() != R.ZERO_GUID:
                sources.setdefault(did.casefold(), f"deviceId Jamf Pro reports for computer {j['id']}")
    return sources


def _is_guid(text: str) -> bool:
    try:
        return valid_guid(text) == text
    except UsageError:
        return False


def claims_for(cloud: Cloud, serial: str, devices: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which other serials' Intune and Jamf Pro records claim the deviceIds of ``devices`` (records.claims_of):
    Intune by azureADDeviceId, then Jamf Pro by the serials those records name and by the devices' names."""
    dids = [d for d in dict.fromkeys((dev.get("deviceId") or "").casefold() for dev in devices) if _is_guid(d)]
    if not dids:
        return {}
    intune = cloud.graph.managed_devices_by_aad_device_ids(dids)
    _, serials, names = R.claim_sources(serial, devices, intune)
    jamf = cloud.jamf.computers_by_serials_or_names(serials, names) if cloud.config.jamf_configured() else []
    return R.claims_from(serial, devices, intune, jamf)


def _device_ids(jamf: list[dict[str, Any]], intune: list[dict[str, Any]]) -> list[str]:
    """The deviceIds step 0 looks up for a Mac with these raw records besides its own certificates'; one that
    is not a GUID is left to step 0, which looks it up itself and reports it for this Mac alone."""
    found = device_id_sources([], [R.intune_summary(d) for d in intune], [R.jamf_summary(r) for r in jamf])
    return [did for did in found if _is_guid(did)]


def chunk_lookups(cloud: Cloud, serials: list[str]) -> dict[str, dict[str, Any]]:
    """Per serial: ``{"jamf": [raw Jamf Pro records] or None (Jamf Pro not configured), "intune": [raw
    managedDevices of exactly that serial], "entra": {deviceId (lower case): [raw Entra devices]}, "claims"}``."""
    wanted = list(dict.fromkeys(valid_serial(s) for s in serials))  # every serial checked before any request
    if not wanted:
        return {}
    jamf = cloud.jamf.computers_by_serials(wanted) if cloud.config.jamf_configured() else None
    intune = cloud.graph.managed_devices_by_serials(wanted)
    ids = {s: _device_ids((jamf or {}).get(s) or [], intune.get(s) or []) for s in wanted}
    every = list(dict.fromkeys(d for s in wanted for d in ids[s]))
    entra = cloud.graph.devices_by_device_ids(every) if every else {}
    claims = _chunk_claims(cloud, wanted, jamf, {s: [d for did in ids[s] for d in entra.get(did, [])] for s in wanted})
    return {
        s: {
            "jamf": jamf.get(s, []) if jamf is not None else None,
            "intune": intune.get(s, []),
            "entra": {d: entra.get(d, []) for d in ids[s]},
            "claims": claims[s],
        }
        for s in wanted
    }


def _chunk_claims(cloud: Cloud, wanted: list[str], jamf: dict[str, Any] | None, entra: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """claims_for for each serial of the chunk: one Intune lookup per deviceId (``$batch``), one Jamf Pro query
    for the other serials and the devices' names."""
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
