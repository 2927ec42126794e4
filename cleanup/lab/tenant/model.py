"""The live state of the emulated tenant: records with indexes, credentials, fault settings.

One ``RLock`` (``Tenant.lock``) guards everything; the HTTP handlers hold it while they read or change state.
Deletions honour an eventual-consistency delay: the record disappears from GET-by-id at once but stays in
collection/filter results (a "ghost") until the delay has passed, as Graph does.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

from cleanup.lab.tenant.directory import Directory
from cleanup.lab.tenant.escrowed import JamfEscrow
from cleanup.lab.tenant.keys import app_certificate
from cleanup.lab.tenant.records import INTUNE_MDM_APP_ID, EntraDevice, IntuneDevice, JamfComputer

DEFAULT_TENANT_ID = "5b7f3c1e-2a4d-4e8f-9c61-0d2a7e4b9f30"
JAMF_FULL_PRIVILEGES = [
    "Read Computers",
    "Delete Computers",
    "Read Smart Computer Groups",
    "Read Static Computer Groups",
    "Update Static Computer Groups",
    "Send Computer Unmanage Command",
    "Read API Roles",
    # what cleanup reads to save a record's escrowed secrets before step 4 deletes it (lab.tenant.escrowed)
    "View Disk Encryption Recovery Key",
    "View Local Admin Password",
    "View Recovery Lock",
]
JAMF_READONLY_PRIVILEGES = ["Read Computers", "Read Smart Computer Groups", "Read Static Computer Groups", "Read API Roles"]
#: what `cleanup diagnose` reads besides devices: the partner connection, app registrations, licences,
#: compliance policies and their groups
GRAPH_DIAGNOSE_ROLES = [
    "DeviceManagementServiceConfig.Read.All",
    "Application.Read.All",
    "Organization.Read.All",
    "User.Read.All",
    "DeviceManagementConfiguration.Read.All",
    "Group.Read.All",
]
GRAPH_FULL_ROLES = ["Device.ReadWrite.All", "DeviceManagementManagedDevices.ReadWrite.All", *GRAPH_DIAGNOSE_ROLES]
GRAPH_READONLY_ROLES = ["Device.Read.All", "DeviceManagementManagedDevices.Read.All", *GRAPH_DIAGNOSE_ROLES]
#: how the Mac is registered: the legacy Intune integration, Jamf Device Compliance, or Platform SSO (+ Device Compliance)
REGISTRATION_MODELS = ("legacy", "device-compliance", "platform-sso")
DC_INFO_SHAPES = ("array", "object")
#: which operatingSystem a Device Compliance (Company Portal Workplace Join) registration gets is an open question
#: of the reference: the tenant's `dc_device` knob chooses it and the mdmAppId
DC_OPERATING_SYSTEMS = ("MacMDM", "macOS")
#: OS version formats the reference reports: MacMDM records "15.7 (24G222)", macOS (PSSO) records "15.7.0"
OS_VERSION_FORMAT = {"MacMDM": "15.7 (24G222)", "macOS": "15.7.0"}
COMPLIANCE_VENDOR = "Microsoft Intune"  # [I]: Jamf's example says "Vendor A"; its device information is "only for Intune"


@dataclass
class MacIdentity:
    """The simulated Mac whose records a scenario seeds. ``seed`` fills ``device_ids`` if it is empty."""

    serial: str = "C02ZK1ABMD6M"
    name: str = "MBP-ALICE"
    device_ids: list[str] = field(default_factory=list)  # first = the current registration
    user_upn: str = "alice@contoso.example"


@dataclass
class Faults:
    """Fault injection; every field may be changed while the server runs."""

    latency_ms: float = 0
    rate_429: float = 0.0
    retry_after: float = 1  # whole seconds in Retry-After; 0 allowed so tests run fast
    rate_5xx: float = 0.0
    drop_rate: float = 0.0
    graph_token_lifetime: int = 3599
    jamf_token_lifetime: int = 599
    jamf_user_token_lifetime: int = 1800
    consistency_delay: float = 0.0
    ignore_managed_filter: bool = False
    intune_write_limit: int = 200
    intune_window: float = 20.0
    kill_on_delete: dict | None = None
    drop_batch_deletes_after: int | None = None  # answer this many $batch POSTs with DELETEs, then drop the rest
    lose_delete_batch_answers: int = 0  # act on this many $batch POSTs with DELETEs, then lose their answer
    seed: int | None = None
    token_faults: bool = False  # also inject 429/5xx/drops on the token endpoints
    #: seconds from a Device Compliance registration until Jamf Pro reports it COMPLIANT (UNKNOWN until then)
    compliance_delay: float = 0.0
    #: complianceVendorDeviceInformation as Jamf's example sends it ("array" of objects) or as its schema says ("object")
    dc_info_shape: str = "array"

    def update(self, changes: dict) -> None:
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        if "dc_info_shape" in changes and changes["dc_info_shape"] not in DC_INFO_SHAPES:
            raise ValueError(f"dc_info_shape must be one of {', '.join(DC_INFO_SHAPES)}")
        for key, value in changes.items():
            setattr(self, key, value)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class ComplianceInfo:
    """Jamf Pro's device-compliance information of one computer (Device Compliance): the Entra deviceIds it reports
    compliance for and the state. ``state`` None: UNKNOWN until ``compliant_at``, then COMPLIANT."""

    computer_id: str
    device_ids: list[str]
    applicable: bool = True
    state: str | None = None
    compliant_at: float = 0.0
    vendor: str = COMPLIANCE_VENDOR

    def state_at(self, now: float) -> str:
        return self.state or ("COMPLIANT" if now >= self.compliant_at else "UNKNOWN")


class Tenant:
    """Jamf inventory, Entra devices, Intune managed devices, groups and credentials."""

    def __init__(self, tenant_id: str = DEFAULT_TENANT_ID):
        self.lock = threading.RLock()
        self.tenant_id = tenant_id
        self.mac: MacIdentity | None = None
        self.scenario: str | None = None
        self._seq = 0
        self._next_jamf_id = 1
        self.jamf: dict[str, JamfComputer] = {}
        self.entra: dict[str, EntraDevice] = {}
        self.intune: dict[str, IntuneDevice] = {}
        self._jamf_by_serial: dict[str, list[str]] = {}
        self._entra_by_device_id: dict[str, str] = {}
        self._entra_by_name: dict[str, list[str]] = {}
        self._intune_by_serial: dict[str, list[str]] = {}
        self._intune_by_aad: dict[str, list[str]] = {}
        self.ghosts: dict[str, list[tuple[float, object]]] = {"jamf": [], "entra": [], "intune": []}
        self.groups: dict[str, dict] = {
            "1": {"id": "1", "name": "All Managed Clients", "smartGroup": True},
            "2": {"id": "2", "name": "Intune Registered Macs", "smartGroup": True},
            "3": {"id": "3", "name": "Cause6 Remediation", "smartGroup": False},
            "4": {"id": "4", "name": "Design Team Macs", "smartGroup": False},
        }
        self.mdm_commands: list[dict] = []
        self.deleted: list[dict] = []
        self.escrow = JamfEscrow()  # FileVault keys, Recovery Lock and LAPS passwords of the Jamf records
        self.directory = Directory(tenant_id)  # the integration set-up (apps, licences, partner, policies)
        self.registration_model = "legacy"  # what /_lab/register creates (scenarios and POST /_lab/model set it)
        #: the Entra device a Device Compliance registration creates (the reference leaves it open)
        self.dc_device: dict[str, Any] = {"operating_system": "MacMDM", "mdm_app_id": INTUNE_MDM_APP_ID, "management_type": None}
        self.compliance: dict[str, ComplianceInfo] = {}  # Jamf computer id -> its device-compliance information
        self._pending_compliance: list[ComplianceInfo] = []  # not yet COMPLIANT: their Entra devices follow when due
        self._seed_credentials()

    # -- credentials ---------------------------------------------------------------------------------

    def _seed_credentials(self) -> None:
        self.api_roles: dict[str, dict] = {
            "1": {"id": "1", "displayName": "cleanup full", "privileges": list(JAMF_FULL_PRIVILEGES)},
            "2": {"id": "2", "displayName": "cleanup read-only", "privileges": list(JAMF_READONLY_PRIVILEGES)},
        }
        self.jamf_clients: dict[str, dict] = {}
        self.add_jamf_client("full", ["1"], client_id="0f3b8c2a-6d1e-4f7a-9b25-3c8e1d0a4f61")
        self.add_jamf_client("readonly", ["2"], client_id="7c2d9e4f-1a3b-4c5d-8e6f-2b1a0c9d8e7f")
        self.jamf_users: dict[str, dict] = {}
        self.add_jamf_user("admin", "lab-admin", JAMF_FULL_PRIVILEGES)
        self.add_jamf_user("readonly", "lab-helpdesk", JAMF_READONLY_PRIVILEGES)
        self.graph_apps: dict[str, dict] = {}
        self.add_graph_app("full", GRAPH_FULL_ROLES, client_id="3e1f5a7c-9b2d-4e6f-8a0c-1d3b5f7e9a2c")
        self.add_graph_app("readonly", GRAPH_READONLY_ROLES, client_id="9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a")
        self.add_graph_app("cert", GRAPH_FULL_ROLES, client_id="b4a39281-7f6e-4d5c-a3b2-c1d0e9f8a7b6", certificate=True)

    def add_jamf_client(self, name: str, role_ids: list[str], client_id: str | None = None) -> dict:
        entry = {"client_id": client_id or new_guid(), "client_secret": secrets.token_urlsafe(24), "role_ids": list(role_ids)}
        with self.lock:
            self.jamf_clients[name] = entry
        return entry

    def add_api_role(self, role_id: str, display_name: str, privileges: list[str]) -> dict:
        with self.lock:
            self.api_roles[role_id] = {"id": role_id, "displayName": display_name, "privileges": list(privileges)}
            return self.api_roles[role_id]

    def add_jamf_user(self, name: str, username: str, privileges: list[str]) -> dict:
        entry = {"username": username, "password": secrets.token_urlsafe(18), "privileges": list(privileges)}
        with self.lock:
            self.jamf_users[name] = entry
        return entry

    def add_graph_app(self, name: str, roles: list[str], client_id: str | None = None, certificate: bool = False) -> dict:
        entry: dict = {"client_id": client_id or new_guid(), "roles": list(roles)}
        if certificate:
            key_pem, cert_pem, sha1, sha256 = app_certificate(name)
            entry.update(private_key_pem=key_pem, certificate_pem=cert_pem, thumbprint=sha1, thumbprint_sha256=sha256)
        else:
            entry["client_secret"] = secrets.token_urlsafe(30)
        with self.lock:
            self.graph_apps[name] = entry
        return entry

    def graph_app_by_client_id(self, client_id: str) -> dict | None:
        return next((a for a in self.graph_apps.values() if a["client_id"] == client_id), None)

    def jamf_client_by_id(self, client_id: str) -> dict | None:
        return next((c for c in self.jamf_clients.values() if c["client_id"] == client_id), None)

    def jamf_client_privileges(self, client: dict) -> list[str]:
        privs: list[str] = []
        for role_id in client["role_ids"]:
            privs.extend(self.api_roles.get(role_id, {}).get("privileges", []))
        return privs

    @property
    def credentials(self) -> dict:
        with self.lock:
            return copy.deepcopy(
                {
                    "tenant_id": self.tenant_id,
                    "jamf_clients": self.jamf_clients,
                    "jamf_users": self.jamf_users,
                    "graph_apps": self.graph_apps,
                }
            )

    # -- adding records ------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_jamf_computer(self, serial: str, name: str, **overrides) -> JamfComputer:
        now = time.time()
        with self.lock:
            cid = str(overrides.pop("id", None) or self._next_jamf_id)
            self._next_jamf_id = max(self._next_jamf_id, int(cid) + 1) if cid.isdigit() else self._next_jamf_id
            values: dict[str, Any] = dict(udid=str(uuid.uuid4()).upper(), last_contact=now - 300, report_date=now - 600, management_id=new_guid(), groups=["1"])
            values.update(overrides)
            rec = JamfComputer(id=cid, name=name, serial=serial, seq=self._next_seq(), **values)
            self.jamf[cid] = rec
            self._jamf_by_serial.setdefault(serial.upper(), []).append(cid)
            return rec

    def add_entra_device(self, display_name: str, device_id: str | None = None, **overrides) -> EntraDevice:
        now = time.time()
        with self.lock:
            values: dict[str, Any] = dict(id=new_guid(), last_sign_in=now - 3600, registered=now - 86400 * 30)
            values.update(overrides)
            if device_id and self.directory.reserved_device_id(device_id):
                raise ValueError(f"deviceId {device_id} is reserved by a soft-deleted device: a new registration cannot use it")
            rec = EntraDevice(device_id=device_id or new_guid(), display_name=display_name, seq=self._next_seq(), **values)
            self.entra[rec.id] = rec
            self._entra_by_device_id[rec.device_id.lower()] = rec.id
            self._entra_by_name.setdefault(display_name.lower(), []).append(rec.id)
            return rec

    def add_intune_device(self, serial: str, device_name: str, aad_device_id: str = "", **overrides) -> IntuneDevice:
        now = time.time()
        with self.lock:
            values: dict[str, Any] = dict(id=new_guid(), enrolled=now - 86400 * 30, last_sync=now - 1800)
            values.update(overrides)
            rec = IntuneDevice(serial=serial, device_name=device_name, aad_device_id=aad_device_id, seq=self._next_seq(), **values)
            self.intune[rec.id] = rec
            self._intune_by_serial.setdefault(serial.upper(), []).append(rec.id)
            if aad_device_id:
                self._intune_by_aad.setdefault(aad_device_id.lower(), []).append(rec.id)
            return rec

    def add_dc_device(self, display_name: str, device_id: str | None = None, *, platform_sso: bool = False, **overrides) -> EntraDevice:
        """An Entra device as the 2026 models create it: a Device Compliance (Company Portal) Workplace registration
        shaped by ``dc_device``, or a Platform SSO join (AzureAd, macOS, mdmAppId as ``dc_device`` says)."""
        knobs = self.dc_device
        os_name = "macOS" if platform_sso else knobs["operating_system"]
        values: dict[str, Any] = dict(
            operating_system=os_name,
            os_version=OS_VERSION_FORMAT[os_name],
            trust_type="AzureAd" if platform_sso else "Workplace",
            mdm_app_id=knobs["mdm_app_id"],
            management_type=knobs["management_type"],
        )
        values.update(overrides)
        return self.add_entra_device(display_name, device_id, **values)

    def set_registration_model(self, model: str, dc_device: dict | None = None) -> None:
        if model not in REGISTRATION_MODELS:
            raise ValueError(f"unknown registration model {model!r} (known: {', '.join(REGISTRATION_MODELS)})")
        knobs = dict(self.dc_device, **(dc_device or {}))
        if set(knobs) != set(self.dc_device):
            raise ValueError(f"dc_device takes {', '.join(sorted(self.dc_device))}")
        if knobs["operating_system"] not in DC_OPERATING_SYSTEMS:
            raise ValueError(f"dc_device.operating_system must be one of {', '.join(DC_OPERATING_SYSTEMS)}")
        if knobs["mdm_app_id"] not in (None, INTUNE_MDM_APP_ID):
            raise ValueError(f"dc_device.mdm_app_id must be null or Intune's {INTUNE_MDM_APP_ID}")
        if knobs["management_type"] is not None and not isinstance(knobs["management_type"], str):
            raise ValueError("dc_device.management_type must be a string or null")
        with self.lock:
            self.registration_model, self.dc_device = model, knobs

    def set_compliance(
        self, computer_id: str, device_ids: list[str], *, state: str | None = None, delay: float = 0.0, applicable: bool = True
    ) -> ComplianceInfo:
        """Jamf Pro reports compliance of ``computer_id`` for ``device_ids``: ``state`` fixed, or UNKNOWN for
        ``delay`` seconds, then COMPLIANT (the Entra devices turn compliant then too: Jamf → Intune → Entra)."""
        with self.lock:
            info = ComplianceInfo(computer_id, [d.lower() for d in device_ids], applicable, state, time.time() + delay)
            self.compliance[computer_id] = info
            if state is None and delay > 0:
                self._pending_compliance.append(info)
                for did in info.device_ids:
                    dev = self.entra_by_device_id(did)
                    if dev:
                        dev.is_compliant = False
            return info

    def settle_compliance(self, now: float | None = None) -> None:
        """The registrations whose delay has passed: their Entra devices are compliant now."""
        if not self._pending_compliance:
            return
        now = time.time() if now is None else now
        with self.lock:
            due = [i for i in self._pending_compliance if now >= i.compliant_at]
            self._pending_compliance = [i for i in self._pending_compliance if now < i.compliant_at]
            for info in due:
                if self.compliance.get(info.computer_id) is not info:
                    continue  # replaced or its record deleted
                for did in info.device_ids:
                    dev = self.entra_by_device_id(did)
                    if dev:
                        dev.is_compliant = True

    def add_mac(
        self,
        serial: str,
        name: str,
        user_upn: str = "",
        device_id: str | None = None,
        jamf: bool = True,
        entra: bool = True,
        intune: bool = True,
        **jamf_overrides,
    ) -> dict:
        """A Mac registered everywhere (Jamf record, Entra device, Intune record linked to it)."""
        with self.lock:
            out: dict = {}
            device_id = device_id or new_guid()
            if jamf:
                out["jamf"] = self.add_jamf_computer(serial, name, username=user_upn.split("@")[0], email=user_upn, **jamf_overrides)
            if entra:
                out["entra"] = self.add_entra_device(name, device_id)
            if intune:
                out["intune"] = self.add_intune_device(serial, name, device_id, upn=user_upn)
            if user_upn and user_upn.lower() not in self.directory.users:
                self.directory.add_user(user_upn)
            out["device_id"] = device_id
            return out

    def add_flagged_macs(self, count: int, prefix: str = "FLG") -> list[str]:
        """``count`` Macs registered everywhere (serials ``<prefix>00000001``...); returns the serials."""
        serials = []
        with self.lock:
            for i in range(1, count + 1):
                serial = f"{prefix}{i:08d}"
                self.add_mac(serial, f"MAC-{prefix}-{i}", f"user{i}@contoso.example")
                serials.append(serial)
        return serials

    # -- lookups (live records only; ghosts are added by the collection views) -------------------------

    def jamf_by_serial(self, serial: str) -> list[JamfComputer]:
        return [self.jamf[i] for i in self._jamf_by_serial.get(serial.upper(), ())]

    def entra_by_device_id(self, device_id: str) -> EntraDevice | None:
        oid = self._entra_by_device_id.get(device_id.lower())
        return self.entra.get(oid) if oid else None

    def entra_by_name(self, name: str) -> list[EntraDevice]:
        return [self.entra[i] for i in self._entra_by_name.get(name.lower(), ())]

    def intune_by_serial(self, serial: str) -> list[IntuneDevice]:
        return [self.intune[i] for i in self._intune_by_serial.get(serial.upper(), ())]

    def intune_by_aad(self, device_id: str) -> list[IntuneDevice]:
        return [self.intune[i] for i in self._intune_by_aad.get(device_id.lower(), ())]

    def ghost_records(self, kind: str, now: float | None = None) -> list:
        now = time.time() if now is None else now
        live = [(t, r) for t, r in self.ghosts[kind] if t > now]
        self.ghosts[kind] = live
        return [r for _, r in live]

    # -- deleting ------------------------------------------------------------------------------------

    def _forget(self, kind: str, rec, delay: float, via: str) -> None:
        now = time.time()
        if delay > 0:
            self.ghosts[kind].append((now + delay, rec))
        self.deleted.append(
            {
                "service": kind,
                "id": rec.id,
                "at": now,
                "via": via,
                "name": getattr(rec, "name", None) or getattr(rec, "display_name", None) or getattr(rec, "device_name", None),
            }
        )

    def delete_jamf(self, cid: str, delay: float = 0.0, via: str = "api") -> bool:
        with self.lock:
            rec = self.jamf.pop(cid, None)
            if rec is None:
                return False
            ids = self._jamf_by_serial.get(rec.serial.upper(), [])
            if cid in ids:
                ids.remove(cid)
            self.compliance.pop(cid, None)
            self._forget("jamf", rec, delay, via)
            return True

    def delete_entra(self, oid: str, delay: float = 0.0, via: str = "api") -> bool:
        with self.lock:
            rec = self.entra.pop(oid, None)
            if rec is None:
                return False
            if self._entra_by_device_id.get(rec.device_id.lower()) == oid:
                del self._entra_by_device_id[rec.device_id.lower()]
            names = self._entra_by_name.get(rec.display_name.lower(), [])
            if oid in names:
                names.remove(oid)
            self._forget("entra", rec, delay, via)
            self.directory.keep_deleted(rec)  # soft-deleted where the tenant keeps deleted devices
            return True

    def restore_entra(self, oid: str) -> EntraDevice | None:
        """Bring a soft-deleted Entra device back (the same object id and deviceId); None if it is not soft-deleted."""
        with self.lock:
            rec = self.directory.take_deleted(oid)
            if rec is None:
                return None
            self.ghosts["entra"] = [(t, g) for t, g in self.ghosts["entra"] if g is not rec]
            self.entra[rec.id] = rec
            self._entra_by_device_id[rec.device_id.lower()] = rec.id
            self._entra_by_name.setdefault(rec.display_name.lower(), []).append(rec.id)
            return rec

    def delete_intune(self, iid: str, delay: float = 0.0, via: str = "api") -> bool:
        with self.lock:
            rec = self.intune.pop(iid, None)
            if rec is None:
                return False
            for index, key in ((self._intune_by_serial, rec.serial.upper()), (self._intune_by_aad, rec.aad_device_id.lower())):
                ids = index.get(key, [])
                if iid in ids:
                    ids.remove(iid)
            self._forget("intune", rec, delay, via)
            return True

    def record_mdm_command(self, computer_id: str, command: str) -> dict:
        with self.lock:
            rec = self.jamf.get(computer_id)
            entry = {"deviceId": computer_id, "serial": rec.serial if rec else None, "commandUuid": new_guid(), "command": command, "at": time.time()}
            self.mdm_commands.append(entry)
            return entry

    def counts(self) -> dict:
        with self.lock:
            return {"jamf": len(self.jamf), "entra": len(self.entra), "intune": len(self.intune)}
