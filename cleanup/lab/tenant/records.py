"""The three kinds of record the emulated tenant keeps, and their JSON views as each service renders them.

Records use ``__slots__`` so a benchmark tenant with ten thousand Macs stays small.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field


def iso(ts: float, millis: bool = False) -> str:
    """UTC ISO-8601 with a ``Z`` (Jamf uses milliseconds, Graph whole seconds)."""
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    if millis:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class JamfComputer:
    id: str
    udid: str
    name: str
    serial: str
    last_contact: float
    report_date: float
    management_id: str
    managed: bool = True
    mdm_capable: bool = True
    user_approved_mdm: bool = True
    ade: bool = False
    username: str = ""
    email: str = ""
    mac_address: str = ""
    alt_mac_address: str = ""
    model: str = "MacBook Pro (14-inch, 2023)"
    os_version: str = "14.5"
    groups: list = field(default_factory=list)  # group ids (strings)
    local_users: list | None = None  # list of dicts as Jamf renders them
    seq: int = 0

    def general(self) -> dict:
        return {
            "name": self.name,
            "lastIpAddress": "10.0.0.20",
            "lastReportedIp": "10.0.0.20",
            "jamfBinaryVersion": "11.6.0-t1718000000",
            "platform": "Mac",
            "barcode1": None,
            "barcode2": None,
            "assetTag": None,
            "remoteManagement": {"managed": self.managed, "managementUsername": "jamfadmin"},
            "supervised": self.ade,
            "mdmCapable": {"capable": self.mdm_capable, "capableUsers": [self.username] if self.username else []},
            "reportDate": iso(self.report_date, True),
            "lastContactTime": iso(self.last_contact, True),
            "lastCloudBackupDate": None,
            "lastEnrolledDate": iso(self.report_date, True),
            "mdmProfileExpiration": None,
            "initialEntryDate": iso(self.report_date, True)[:10],
            "distributionPoint": None,
            "enrollmentMethod": None,
            "site": {"id": "-1", "name": "None"},
            "itunesStoreAccountActive": False,
            "enrolledViaAutomatedDeviceEnrollment": self.ade,
            "userApprovedMdm": self.user_approved_mdm,
            "declarativeDeviceManagementEnabled": False,
            "extensionAttributes": [],
            "managementId": self.management_id,
        }

    def hardware(self) -> dict:
        return {
            "make": "Apple",
            "model": self.model,
            "modelIdentifier": "Mac15,3",
            "serialNumber": self.serial,
            "processorType": "Apple M3",
            "macAddress": self.mac_address,
            "altMacAddress": self.alt_mac_address,
            "appleSilicon": True,
            "extensionAttributes": [],
        }

    def user_and_location(self) -> dict:
        return {
            "username": self.username,
            "realname": self.username,
            "email": self.email,
            "position": None,
            "phone": None,
            "departmentId": None,
            "buildingId": None,
            "room": None,
            "extensionAttributes": [],
        }


#: Entra's mdmAppId of Microsoft Intune
INTUNE_MDM_APP_ID = "0000000a-0000-0000-c000-000000000000"


@dataclass(slots=True)
class EntraDevice:
    id: str  # directory object id (what DELETE takes)
    device_id: str  # registration id (CN of the Mac's WPJ certificate)
    display_name: str
    operating_system: str = "MacMDM"
    os_version: str = "14.5"
    account_enabled: bool = True
    last_sign_in: float | None = None
    registered: float | None = None
    is_compliant: bool | None = True
    is_managed: bool | None = True
    trust_type: str | None = "Workplace"
    physical_ids: list = field(default_factory=list)
    ownership: str | None = "Company"
    profile_type: str | None = "RegisteredDevice"
    mdm_app_id: str | None = INTUNE_MDM_APP_ID  # the MDM that manages it (None: no MDM)
    management_type: str | None = None  # in the beta docs; whether v1.0 has it is not verified (the lab renders it)
    seq: int = 0

    def view(self) -> dict:
        return {
            "id": self.id,
            "deletedDateTime": None,
            "accountEnabled": self.account_enabled,
            "approximateLastSignInDateTime": iso(self.last_sign_in) if self.last_sign_in else None,
            "complianceExpirationDateTime": None,
            "deviceId": self.device_id,
            "deviceOwnership": self.ownership,
            "displayName": self.display_name,
            "isCompliant": self.is_compliant,
            "isManaged": self.is_managed,
            "managementType": self.management_type,
            "mdmAppId": self.mdm_app_id,
            "operatingSystem": self.operating_system,
            "operatingSystemVersion": self.os_version,
            "physicalIds": list(self.physical_ids),
            "profileType": self.profile_type,
            "registrationDateTime": iso(self.registered) if self.registered else None,
            "trustType": self.trust_type,
        }


@dataclass(slots=True)
class IntuneDevice:
    id: str
    device_name: str
    serial: str
    aad_device_id: str
    management_agent: str = "jamf"
    operating_system: str = "macOS"
    os_version: str = "14.5"
    enrolled: float = 0.0
    last_sync: float = 0.0
    compliance: str = "compliant"
    upn: str = ""
    model: str = "MacBook Pro"
    manufacturer: str = "Apple"
    aad_registered: bool | None = True
    seq: int = 0

    def view(self) -> dict:
        return {
            "id": self.id,
            "userId": None,
            "deviceName": self.device_name,
            "managedDeviceOwnerType": "company",
            "enrolledDateTime": iso(self.enrolled),
            "lastSyncDateTime": iso(self.last_sync),
            "operatingSystem": self.operating_system,
            "complianceState": self.compliance,
            "jailBroken": "Unknown",
            "managementAgent": self.management_agent,
            "osVersion": self.os_version,
            "azureADRegistered": self.aad_registered,
            "deviceEnrollmentType": "unknown",
            "emailAddress": self.upn,
            "azureADDeviceId": self.aad_device_id,
            "deviceRegistrationState": "registered",
            "deviceCategoryDisplayName": "Unknown",
            "isSupervised": False,
            "userPrincipalName": self.upn,
            "model": self.model,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial,
            "userDisplayName": self.upn.split("@")[0] if self.upn else "",
            "managementCertificateExpirationDate": "0001-01-01T00:00:00Z",
        }
