"""``run_diagnose``: every check of the troubleshooting table for one Mac, side by side, read-only."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cleanup.clients.records import linked_device_id
from cleanup.diagnose import cloud as cloud_checks
from cleanup.diagnose import device as device_checks
from cleanup.diagnose import model as M
from cleanup.diagnose.device import DeviceData, open_device
from cleanup.diagnose.model import Check
from cleanup.diagnose.reads import CloudData
from cleanup.errors import SafetyRefusal, Unavailable, UsageError
from cleanup.hosts.base import Host
from cleanup.identifiers import valid_guid, valid_serial

WORKERS = 4  # checks in flight; most wait on the network, and Jamf Pro allows 5 connections anyway


def registration_match(dev: DeviceData, cloud: CloudData, now: float) -> Check:
    """Does the registration the Mac holds (its Workplace Join deviceIds) still exist in Entra and Intune?"""
    row = M.REGISTRATION_MATCH
    wpj = dev.workplace_join()
    held = [(u["user"], did) for u in wpj["users"] for did in u["device_ids"] if did]
    if not held:
        locked = "; ".join(x["why"] for x in wpj["locked"])
        return row.unknown("the Mac holds no Workplace Join certificate to compare" + (f" ({locked})" if locked else ""))
    linked = {did for r in cloud.intune_records() if (did := linked_device_id(r))}
    results = []
    for user, device_id in held:
        try:
            device_id = valid_guid(device_id)
        except UsageError:
            results.append({"user": user, "deviceId": device_id, "in_entra": False, "note": "not a deviceId"})
            continue
        entra = cloud.entra_by_device_id(device_id)
        results.append(
            {
                "user": user,
                "deviceId": device_id,
                "in_entra": bool(entra),
                "entra_id": entra[0].get("id") if entra else None,
                "linked_from_intune": device_id in linked,
            }
        )
    evidence = {"registrations": results, "intune_links": sorted(linked)}
    gone = [r for r in results if not r["in_entra"]]
    if gone:
        return row.problem(f"{gone[0]['user']}'s Workplace Join certificate names Entra device {gone[0]['deviceId']}, which Entra does not have", evidence)
    unlinked = [r for r in results if not r["linked_from_intune"]]
    if linked and unlinked:
        return row.problem(
            f"Intune's record(s) of the Mac point to {', '.join(sorted(linked))}, not to the Mac's registration {unlinked[0]['deviceId']}", evidence
        )
    return row.ok("the Mac's registration exists in Entra" + (" and Intune points to it" if linked else ""), **evidence)


@dataclass
class Diagnosis:
    serial: str
    checks: list[Check]


def run_diagnose(serial: str | None, host: Host | None, cloud, *, jamf_app_id: str | None = None, now: float | None = None) -> list[Check]:
    """Every check, in the table's order. ``cloud``: a CloudSession or None; ``host``: a Host or None."""
    return diagnose_mac(serial, host, cloud, jamf_app_id=jamf_app_id, now=now).checks


def diagnose_mac(serial: str | None, host: Host | None, cloud, *, jamf_app_id: str | None = None, now: float | None = None) -> Diagnosis:
    """:func:`run_diagnose` with the serial it settled on.

    The serial (and ``jamf_app_id``) are validated before anything is asked of a service. With a Mac, the
    serial defaults to the Mac's own; a Mac whose serial differs from ``serial`` is refused (status 4).
    """
    if serial is not None:
        valid_serial(serial)
    if jamf_app_id is not None:
        jamf_app_id = valid_guid(jamf_app_id)
    dev, mac_serial, no_device = open_device(host)
    if serial and mac_serial and mac_serial != serial:
        assert host is not None  # open_device finds a serial only on a Mac
        raise SafetyRefusal(f"{host.spec} is Mac {mac_serial}, not {serial}; refusing to mix two Macs' facts")
    serial = serial or mac_serial
    if serial is None:
        raise UsageError(f"name the Mac with --serial SN ({no_device})")
    now = time.time() if now is None else now
    data = CloudData(cloud, serial, jamf_app_id)

    def device_task(fn):
        def run():
            if dev is None:
                raise Unavailable(no_device)
            return fn(dev, now)

        return run

    tasks = [(cloud_checks.ROWS[fn], (lambda fn=fn: fn(data, now))) for fn in cloud_checks.CHECKS]
    tasks += [(device_checks.ROWS[fn], device_task(fn)) for fn in device_checks.CHECKS]
    tasks.append((M.REGISTRATION_MATCH, device_task(lambda d, t: registration_match(d, data, t))))

    def guarded(task) -> Check:
        row, fn = task
        try:
            return fn()
        except Unavailable as exc:
            return row.unknown(exc.why)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return Diagnosis(serial, list(pool.map(guarded, tasks)))
