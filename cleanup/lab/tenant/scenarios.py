"""Seeded tenant states. Each scenario (but "empty") also holds unrelated devices: two Windows PCs, an iPhone
and three other Macs, one of them with a serial that differs from the Mac's only in the last character."""

from __future__ import annotations

import time

from cleanup.errors import UsageError
from cleanup.lab.tenant.model import MacIdentity, Tenant, new_guid

SCENARIOS = {
    "clean": "The Mac registered once everywhere: one Jamf record, one Entra device, one Intune record.",
    "intune-duplicates": "As clean, plus two older Intune records for the same serial (one managed by 'mdm').",
    "stale-entra": "As clean, plus a stale Entra device with the Mac's name and an old deviceId.",
    "two-jamf-records": "As clean, plus an older second Jamf record with the same serial.",
    "look-alikes": "As clean, plus Entra devices and a Mac whose names resemble the Mac's.",
    "wiped": "No records for the Mac at all; only unrelated devices.",
    "empty": "Nothing at all (benchmarks add their own records).",
}

DAY = 86400.0


def _other_char(ch: str) -> str:
    return "7" if ch != "7" else "8"


def _unrelated(t: Tenant, mac: MacIdentity, now: float) -> None:
    t.add_entra_device("DESKTOP-7Q2K9LM", operating_system="Windows", os_version="10.0.22631.3593",
                       trust_type="AzureAd", profile_type="RegisteredDevice")
    t.add_intune_device("5CD3210QRS", "DESKTOP-7Q2K9LM", "", management_agent="mdm", operating_system="Windows",
                        model="Latitude 7440", manufacturer="Dell Inc.", upn="bob@contoso.example")
    pc2 = t.add_entra_device("LAPTOP-CAROL01", operating_system="Windows", os_version="10.0.22631.3593",
                             trust_type="AzureAd")
    t.add_intune_device("PF3ABC12", "LAPTOP-CAROL01", pc2.device_id, management_agent="mdm",
                        operating_system="Windows", model="ThinkPad X1 Carbon", manufacturer="LENOVO",
                        upn="carol@contoso.example")
    phone = t.add_entra_device("iPhone-DAVE", operating_system="iOS", os_version="17.5", trust_type="Workplace")
    t.add_intune_device("F2LXK0ABHG7Q", "iPhone-DAVE", phone.device_id, management_agent="mdm",
                        operating_system="iOS", model="iPhone 15", upn="dave@contoso.example")
    look_alike = mac.serial[:-1] + _other_char(mac.serial[-1])
    others = [("C02YX2BCJG5H", "MBP-BOB", "bob@contoso.example"),
              ("FVFZQ3CDP3Y7", "MBA-CAROL", "carol@contoso.example"),
              (look_alike, "MBP-ERIN", "erin@contoso.example")]
    for serial, name, upn in others:
        if serial == mac.serial:
            serial = serial[:-2] + "QQ"
        _mac_everywhere(t, serial, name, upn, new_guid(), now)


def _local_users(upn: str, device_id: str) -> list[dict]:
    user = upn.split("@")[0]
    return [{"uid": "501", "userGuid": new_guid().upper(), "username": user, "fullName": user.title(), "admin": True,
             "homeDirectory": f"/Users/{user}", "homeDirectorySize": None, "fileVault2Enabled": True,
             "userAccountType": "LOCAL", "passwordMinLength": None, "passwordMaxAge": None,
             "passwordMinComplexCharacters": None, "passwordHistoryDepth": None, "passwordRequireAlphanumeric": None,
             "computerAzureActiveDirectoryId": device_id, "userAzureActiveDirectoryId": new_guid(),
             "azureActiveDirectoryId": "ACTIVATED"}]


def _mac_everywhere(t: Tenant, serial: str, name: str, upn: str, device_id: str, now: float) -> None:
    t.add_jamf_computer(serial, name, username=upn.split("@")[0], email=upn, groups=["1", "2"],
                        local_users=_local_users(upn, device_id), last_contact=now - 600, report_date=now - 900)
    t.add_entra_device(name, device_id, registered=now - 60 * DAY, last_sign_in=now - 3600)
    t.add_intune_device(serial, name, device_id, upn=upn, enrolled=now - 60 * DAY, last_sync=now - 1800)


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
        if scenario == "empty":
            return tenant
        _unrelated(tenant, mac, now)
        if scenario == "wiped":
            return tenant
        user = mac.user_upn.split("@")[0]
        if scenario == "two-jamf-records":
            tenant.add_jamf_computer(mac.serial, mac.name, username=user, email=mac.user_upn, groups=["1"],
                                     last_contact=now - 120 * DAY, report_date=now - 120 * DAY, managed=True)
        _mac_everywhere(tenant, mac.serial, mac.name, mac.user_upn, mac.device_ids[0], now)
        if scenario == "intune-duplicates":
            for n, agent in ((1, "jamf"), (2, "mdm")):
                old_id = _extra_id(mac, n)
                tenant.add_entra_device(mac.name, old_id, registered=now - (90 + n * 30) * DAY,
                                        last_sign_in=now - (30 + n * 10) * DAY)
                tenant.add_intune_device(mac.serial, mac.name, old_id, management_agent=agent, upn=mac.user_upn,
                                         enrolled=now - (90 + n * 30) * DAY, last_sync=now - (30 + n * 10) * DAY,
                                         compliance="noncompliant")
        elif scenario == "stale-entra":
            tenant.add_entra_device(mac.name, _extra_id(mac, 1), registered=now - 200 * DAY,
                                    last_sign_in=now - 150 * DAY, is_compliant=False, is_managed=False)
        elif scenario == "look-alikes":
            twin_serial = "C02LK9ZZQ05P" if mac.serial != "C02LK9ZZQ05P" else "C02LK9ZZQ05R"
            _mac_everywhere(tenant, twin_serial, f"{mac.name}-2", "frank@contoso.example", new_guid(), now)
            tenant.add_entra_device(f"{mac.name.lower()}-old", new_guid(), registered=now - 300 * DAY,
                                    last_sign_in=now - 250 * DAY)
    return tenant
