"""``run_diagnose``: every check of the troubleshooting table for one Mac, side by side, read-only."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cleanup.clients.records import linked_device_id
from cleanup.diagnose import cloud as cloud_checks
from cleanup.diagnose import compliance as compliance_checks
from cleanup.diagnose import device as device_checks
from cleanup.diagnose import model as M
from cleanup.diagnose import sso as sso_checks
from cleanup.diagnose.device import DeviceData, open_device
from cleanup.diagnose.model import Check
from cleanup.diagnose.reads import CloudData
from cleanup.diagnose.registration import Registration, registration_model
from cleanup.errors import SafetyRefusal, Unavailable, UsageError
from cleanup.hosts.base import Host
from cleanup.identifiers import valid_guid, valid_serial

WORKERS = 4  # checks in flight; most wait on the network, and Jamf Pro allows 5 connections anyway
#: started first: the model (its reads run while the others go on), the keychain read (the slowest on the Mac), then
#: the checks that do not wait for the model; the rest wait for it, so they go last. The report keeps the table's order.
FIRST = (
    "registration-model",
    "login-keychains",
    "jamf-check-in",
    "jamf-entra-state",
    "jamf-records",
    "tenant-licences",
    "compliance-policy-groups",
    "portal-log-cause4",
    "portal-log-cause5",
    "jamfaad-state",
    "workplace-join",
)


def registration_match(dev: DeviceData, cloud: CloudData, reg: Registration, now: float) -> Check:
    """Does the registration the Mac holds (its Workplace Join deviceIds, its Platform SSO and MSAL deviceIds)
    still exist in Entra, and, in the legacy model, does Intune point to it?"""
    row = M.REGISTRATION_MATCH
    wpj = dev.workplace_join()
    held = [(u["user"], did) for u in wpj["users"] for did in u["device_ids"] if did]
    held += [(user, did) for user, ids in reg.held_device_ids().items() for did in ids]
    held = list(dict.fromkeys((user, str(did).lower()) for user, did in held))
    if not held:
        locked = "; ".join(x["why"] for x in wpj["locked"])
        return row.unknown("the Mac holds no Workplace Join certificate or Platform SSO registration to compare" + (f" ({locked})" if locked else ""))
    model = reg.model()
    linked = {did for r in cloud.intune_records() if (did := linked_device_id(r))} if model not in (M.DEVICE_COMPLIANCE, M.PLATFORM_SSO) else set()
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
        return row.problem(f"{gone[0]['user']}'s registration names Entra device {gone[0]['deviceId']}, which Entra does not have", evidence)
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
    reg = Registration(dev, data, no_device)
    data.reg = reg
    if dev is not None:
        dev.reg = reg

    def device_task(fn):
        def run():
            if dev is None:
                raise Unavailable(no_device)
            return fn(dev, now)

        return run

    def cloud_task(fn):
        return lambda: fn(data, now)

    tasks = [(M.REGISTRATION_MODEL, lambda: registration_model(reg, now))]
    tasks += [(cloud_checks.ROWS[fn], cloud_task(fn)) for fn in cloud_checks.CHECKS]
    tasks += [(compliance_checks.ROWS[fn], cloud_task(fn)) for fn in compliance_checks.CHECKS]
    tasks += [(device_checks.ROWS[fn], device_task(fn)) for fn in device_checks.CHECKS]
    tasks += [(sso_checks.ROWS[fn], device_task(fn)) for fn in sso_checks.CHECKS]
    tasks.append((M.REGISTRATION_MATCH, device_task(lambda d, t: registration_match(d, data, reg, t))))

    def guarded(task) -> Check:
        row, fn = task
        try:
            if row.models != M.ALL_MODELS and not row.applies(model := reg.model()):
                return not_applicable(row, model)
            return fn()
        except Unavailable as exc:
            return row.unknown(exc.why)

    def not_applicable(row: M.Row, model: str) -> Check:
        explain = compliance_checks.NOT_APPLICABLE.get(row.id)
        if explain is not None:
            return explain(data, model)
        names = ", ".join(M.MODEL_NAMES[m] for m in row.models)
        return row.not_applicable(f"does not apply: the Mac is in {M.MODEL_NAMES[model]}; this check is for {names}")

    order = sorted(range(len(tasks)), key=lambda i: (FIRST.index(tasks[i][0].id) if tasks[i][0].id in FIRST else len(FIRST), i))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        running = {i: pool.submit(guarded, tasks[i]) for i in order}
        return Diagnosis(serial, [running[i].result() for i in range(len(tasks))])
