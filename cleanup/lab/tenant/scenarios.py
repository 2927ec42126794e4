"""Seeded tenant states. Each scenario (but "empty") also holds unrelated devices: two Windows PCs, an iPhone
and three other Macs, one of them with a serial that differs from the Mac's only in the last character.

The 2026 scenarios (``MODELS``) register the Macs as their model does: Jamf Device Compliance (a Workplace
device, no Intune record, Jamf Pro's compliance information) or Platform SSO (an AzureAd ``macOS`` device as
well). Their Entra records follow the tenant's ``dc_device`` knob (set it before ``seed``)."""

from __future__ import annotations

import time

from cleanup.errors import UsageError
from cleanup.lab.tenant import directory
from cleanup.lab.tenant.inventory import local_user
from cleanup.lab.tenant.model import OS_VERSION_FORMAT, MacIdentity, Tenant, new_guid

SCENARIOS = {
    "clean": "The Mac registered once everywhere: one Jamf record, one Entra device, one Intune record.",
    "intune-duplicates": "As clean, plus two older Intune records for the same serial (one managed by 'mdm').",
    "stale-entra": "As clean, plus a stale Entra device with the Mac's name and an old deviceId.",
    "two-jamf-records": "As clean, plus an older second Jamf record with the same serial.",
    "look-alikes": "As clean, plus Entra devices and a Mac whose names resemble the Mac's.",
    "wiped": "No records for the Mac at all; only unrelated devices.",
    "empty": "Nothing at all (benchmarks add their own records).",
    # each of these is "clean" with one cause of the article's troubleshooting table seeded
    "cause1-permissions": "As clean; the Jamf Pro app holds a second permission besides update_device_attributes (Cause 1).",
    "cause1-no-consent": "As clean; the Jamf Pro app was never granted admin consent (Cause 1).",
    "cause2-no-connector": "As clean; the Jamf Native macOS Connector app is not in the tenant (Cause 2).",
    "cause3-no-licence": "As clean; the Mac's user holds no licence that includes Intune (Cause 3).",
    "cause5-partner-disabled": "As clean; the Intune integration is off: Jamf partner unavailable, no heartbeat for 9 days (Cause 5).",
    "device-group-policy": "As clean; the macOS compliance policy is also assigned to a device group.",
    "unresponsive": "As clean; no Jamf Pro check-in for 3 days, Jamf reports the user's Entra registration UNRESPONSIVE.",
    "compliance-mismatch": "As clean; Intune reports the Mac compliant, its Entra device is not compliant.",
    # the 2026 integration (docs/registration-models.md)
    "device-compliance": "Jamf Device Compliance: one Jamf record reporting the Mac's Entra deviceId, one Entra Workplace device, "
    "no Intune record; the compliance partner enabled for macOS, the legacy partner absent.",
    "device-compliance-duplicates": "As device-compliance, plus older Entra devices of the Mac (an old Workplace record, a record of the other "
    "operatingSystem, MacMDM or macOS) and traps: a Windows PC with the Mac's name, devices with its name linked to other serials.",
    "platform-sso": "Platform SSO: an AzureAd macOS device with the Mac's PSSO deviceId, the Workplace record left from before PSSO; "
    "Jamf's compliance information points at the PSSO device; the compliance partner enabled.",
    "legacy-leftovers": "As device-compliance, plus the legacy integration's leftovers: Intune records of the serial managed by jamf, "
    "an old Workplace device; the legacy partner terminated.",
}
#: the registration model each 2026 scenario puts the tenant in (the others stay "legacy")
MODELS = {
    "device-compliance": "device-compliance",
    "device-compliance-duplicates": "device-compliance",
    "platform-sso": "platform-sso",
    "legacy-leftovers": "device-compliance",
}
#: the integration set-up each scenario breaks (the rest stays healthy)
_DIRECTORY_FAULTS = {
    "cause1-permissions": lambda d, mac: directory.break_jamf_app_permissions(d),
    "cause1-no-consent": lambda d, mac: directory.break_jamf_app_consent(d),
    "cause2-no-connector": lambda d, mac: directory.break_connector(d),
    "cause3-no-licence": lambda d, mac: directory.break_user_licence(d, mac.user_upn),
    "cause5-partner-disabled": lambda d, mac: directory.break_partner(d),
    "device-group-policy": lambda d, mac: directory.break_policy_groups(d),
}

DAY = 86400.0


def _other_char(ch: str) -> str:
    return "7" if ch != "7" else "8"


def _unrelated(t: Tenant, mac: MacIdentity, now: float, model: str = "legacy") -> None:
    t.add_entra_device("DESKTOP-7Q2K9LM", operating_system="Windows", os_version="10.0.22631.3593", trust_type="AzureAd", profile_type="RegisteredDevice")
    t.add_intune_device(
        "5CD3210QRS",
        "DESKTOP-7Q2K9LM",
        "",
        management_agent="mdm",
        operating_system="Windows",
        model="Latitude 7440",
        manufacturer="Dell Inc.",
        upn="bob@contoso.example",
    )
    pc2 = t.add_entra_device("LAPTOP-CAROL01", operating_system="Windows", os_version="10.0.22631.3593", trust_type="AzureAd")
    t.add_intune_device(
        "PF3ABC12",
        "LAPTOP-CAROL01",
        pc2.device_id,
        management_agent="mdm",
        operating_system="Windows",
        model="ThinkPad X1 Carbon",
        manufacturer="LENOVO",
        upn="carol@contoso.example",
    )
    phone = t.add_entra_device("iPhone-DAVE", operating_system="iOS", os_version="17.5", trust_type="Workplace")
    t.add_intune_device(
        "F2LXK0ABHG7Q", "iPhone-DAVE", phone.device_id, management_agent="mdm", operating_system="iOS", model="iPhone 15", upn="dave@contoso.example"
    )
    look_alike = mac.serial[:-1] + _other_char(mac.serial[-1])
    others = [
        ("C02YX2BCJG5H", "MBP-BOB", "bob@contoso.example"),
        ("FVFZQ3CDP3Y7", "MBA-CAROL", "carol@contoso.example"),
        (look_alike, "MBP-ERIN", "erin@contoso.example"),
    ]
    for serial, name, upn in others:
        if serial == mac.serial:
            serial = serial[:-2] + "QQ"
        if model == "legacy":
            _mac_everywhere(t, serial, name, upn, new_guid(), now)
        else:
            _dc_mac(t, serial, name, upn, new_guid(), now)


def _local_users(upn: str, device_id: str) -> list[dict]:
    user = upn.split("@")[0]
    return [local_user(user, full_name=user.title(), user_guid=new_guid().upper(), computer_aad_id=device_id, user_aad_id=new_guid(), aad_state="ACTIVATED")]


def _jamf_record(t: Tenant, serial: str, name: str, upn: str, device_id: str, now: float):
    """The Mac's Jamf Pro record, checked in minutes ago; its local user reports the Entra deviceId."""
    return t.add_jamf_computer(
        serial,
        name,
        username=upn.split("@")[0],
        email=upn,
        groups=["1", "2"],
        local_users=_local_users(upn, device_id),
        last_contact=now - 600,
        report_date=now - 900,
    )


def _mac_everywhere(t: Tenant, serial: str, name: str, upn: str, device_id: str, now: float) -> None:
    _jamf_record(t, serial, name, upn, device_id, now)
    t.add_entra_device(name, device_id, registered=now - 60 * DAY, last_sign_in=now - 3600)
    t.add_intune_device(serial, name, device_id, upn=upn, enrolled=now - 60 * DAY, last_sync=now - 1800)


def _dc_mac(t: Tenant, serial: str, name: str, upn: str, device_id: str, now: float, *, platform_sso: bool = False, entra_name: str | None = None) -> None:
    """A Mac registered through Jamf Device Compliance (or Platform SSO): the Jamf record's local user reports the
    Entra deviceId, Jamf reports it compliant, and Intune has no record of it."""
    record = _jamf_record(t, serial, name, upn, device_id, now)
    t.add_dc_device(entra_name or name, device_id, platform_sso=platform_sso, registered=now - 20 * DAY, last_sign_in=now - 3600)
    t.set_compliance(record.id, [device_id], state="COMPLIANT")


def _other_os(t: Tenant) -> str:
    return "macOS" if t.dc_device["operating_system"] == "MacMDM" else "MacMDM"


def _seed_2026(tenant: Tenant, scenario: str, mac: MacIdentity, now: float) -> None:
    _unrelated(tenant, mac, now, MODELS[scenario])
    current = mac.device_ids[0]
    _dc_mac(tenant, mac.serial, mac.name, mac.user_upn, current, now, platform_sso=scenario == "platform-sso")
    tenant.jamf_by_serial(mac.serial)[-1].groups.append("4")  # a static group too, as in the legacy scenarios
    if scenario == "platform-sso":  # the Workplace registration from before Platform SSO stays behind
        tenant.add_dc_device(mac.name, _extra_id(mac, 1), registered=now - 90 * DAY, last_sign_in=now - 25 * DAY, is_compliant=False)
    elif scenario == "device-compliance-duplicates":
        tenant.add_dc_device(mac.name, _extra_id(mac, 1), registered=now - 200 * DAY, last_sign_in=now - 150 * DAY, is_compliant=False)
        other = _other_os(tenant)
        tenant.add_dc_device(
            mac.name, _extra_id(mac, 2), operating_system=other, os_version=OS_VERSION_FORMAT[other], registered=now - 60 * DAY, last_sign_in=now - 40 * DAY
        )
        _traps(tenant, mac, now)
    elif scenario == "legacy-leftovers":
        old = _extra_id(mac, 1)
        tenant.add_entra_device(mac.name, old, registered=now - 400 * DAY, last_sign_in=now - 130 * DAY, is_compliant=False)
        for n, device_id in ((1, old), (2, _extra_id(mac, 2))):  # the second one's Entra device is long gone
            tenant.add_intune_device(
                mac.serial,
                mac.name,
                device_id,
                upn=mac.user_upn,
                enrolled=now - (400 + n * 60) * DAY,
                last_sync=now - (125 + n * 30) * DAY,
                compliance="noncompliant",
            )


def _traps(t: Tenant, mac: MacIdentity, now: float) -> None:
    """Devices with the Mac's name that are not the Mac's: a Windows PC, and two whose deviceId another serial's
    records claim (Jamf Pro's compliance information of one, an Intune record of the other)."""
    t.add_entra_device(mac.name, operating_system="Windows", os_version="10.0.22631.3593", trust_type="AzureAd", registered=now - 10 * DAY)
    loaner = "C02TRP1LNR01" if mac.serial != "C02TRP1LNR01" else "C02TRP1LNR02"
    _dc_mac(t, loaner, "MBP-LOANER", mac.user_upn, new_guid(), now, entra_name=mac.name)  # its Entra device carries the Mac's name
    other = t.add_entra_device(mac.name, registered=now - 300 * DAY, last_sign_in=now - 100 * DAY)
    t.add_intune_device(
        "C02TRP2MDM01" if mac.serial != "C02TRP2MDM01" else "C02TRP2MDM02",
        mac.name,
        other.device_id,
        management_agent="mdm",
        upn=mac.user_upn,
        enrolled=now - 300 * DAY,
        last_sync=now - 2 * DAY,
    )


def _extra_id(mac: MacIdentity, n: int) -> str:
    """The Mac's n-th older registration id if the caller gave one, else a fresh GUID."""
    return mac.device_ids[n] if len(mac.device_ids) > n else new_guid()


def seed(tenant: Tenant, scenario: str, mac: MacIdentity) -> Tenant:
    """Fill ``tenant`` for ``scenario``; ``mac.device_ids`` gets a fresh id first if it is empty."""
    if scenario not in SCENARIOS:
        raise UsageError(f"unknown tenant scenario '{scenario}' (known: {', '.join(SCENARIOS)})")
    if not mac.device_ids:
        mac.device_ids.append(new_guid())
    now = time.time()
    with tenant.lock:
        tenant.mac, tenant.scenario = mac, scenario
        if scenario in MODELS:
            tenant.set_registration_model(MODELS[scenario])
            _seed_2026(tenant, scenario, mac, now)
        else:
            _seed_records(tenant, scenario, mac, now)
        upns = [mac.user_upn] + [r.upn for r in tenant.intune.values() if r.upn]
        directory.seed_healthy(tenant.directory, upns)
        if scenario in _DIRECTORY_FAULTS:
            _DIRECTORY_FAULTS[scenario](tenant.directory, mac)
        if scenario in MODELS:
            directory.seed_device_compliance(tenant.directory, legacy="terminated" if scenario == "legacy-leftovers" else "absent")
    return tenant


def _seed_records(tenant: Tenant, scenario: str, mac: MacIdentity, now: float) -> None:
    if scenario == "empty":
        return
    _unrelated(tenant, mac, now)
    if scenario == "wiped":
        return
    user = mac.user_upn.split("@")[0]
    if scenario == "two-jamf-records":
        tenant.add_jamf_computer(
            mac.serial, mac.name, username=user, email=mac.user_upn, groups=["1"], last_contact=now - 120 * DAY, report_date=now - 120 * DAY, managed=True
        )
    _mac_everywhere(tenant, mac.serial, mac.name, mac.user_upn, mac.device_ids[0], now)
    tenant.jamf_by_serial(mac.serial)[-1].groups.append("4")  # a static group too, which a re-enrolled record must get back
    if scenario == "intune-duplicates":
        for n, agent in ((1, "jamf"), (2, "mdm")):
            old_id = _extra_id(mac, n)
            tenant.add_entra_device(mac.name, old_id, registered=now - (90 + n * 30) * DAY, last_sign_in=now - (30 + n * 10) * DAY)
            tenant.add_intune_device(
                mac.serial,
                mac.name,
                old_id,
                management_agent=agent,
                upn=mac.user_upn,
                enrolled=now - (90 + n * 30) * DAY,
                last_sync=now - (30 + n * 10) * DAY,
                compliance="noncompliant",
            )
    elif scenario == "stale-entra":
        tenant.add_entra_device(mac.name, _extra_id(mac, 1), registered=now - 200 * DAY, last_sign_in=now - 150 * DAY, is_compliant=False, is_managed=False)
    elif scenario == "look-alikes":
        twin_serial = "C02LK9ZZQ05P" if mac.serial != "C02LK9ZZQ05P" else "C02LK9ZZQ05R"
        _mac_everywhere(tenant, twin_serial, f"{mac.name}-2", "frank@contoso.example", new_guid(), now)
        tenant.add_entra_device(f"{mac.name.lower()}-old", new_guid(), registered=now - 300 * DAY, last_sign_in=now - 250 * DAY)
    elif scenario == "unresponsive":
        [record] = tenant.jamf_by_serial(mac.serial)
        record.last_contact, record.report_date = now - 3 * DAY, now - 3 * DAY
        assert record.local_users is not None  # _mac_everywhere seeds the Mac's local users
        record.local_users[0]["azureActiveDirectoryId"] = "UNRESPONSIVE"
    elif scenario == "compliance-mismatch":
        device = tenant.entra_by_device_id(mac.device_ids[0])
        assert device is not None  # _mac_everywhere registers the Mac's current deviceId
        device.is_compliant = False


def seed_escrowed_secrets(tenant: Tenant, serial: str, *, filevault: bool = True, laps: tuple[str, ...] = ("jamfadmin",), recovery_lock: bool = False) -> dict:
    """Give every live Jamf record of ``serial`` what Jamf Pro escrows for a managed Mac (lab.tenant.escrowed): a
    FileVault personal recovery key, LAPS passwords for ``laps`` and, if asked, a Recovery Lock password. Returns
    ``{computer id: the Escrowed entry}`` so a test can compare what cleanup saved."""
    from cleanup.lab.tenant.escrowed import laps_password, recovery_key

    out = {}
    with tenant.lock:
        for rec in tenant.jamf_by_serial(serial):
            out[rec.id] = tenant.escrow.set(
                rec.id,
                filevault_key=recovery_key() if filevault else None,
                recovery_lock=laps_password() if recovery_lock else None,
                laps={name: laps_password() for name in laps},
            )
    return out
