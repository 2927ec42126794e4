"""What the cloud checks read, each thing once per diagnosis (thread-safe), with "cannot read" turned into
:class:`Unavailable`: a 403 names the permission the check needs; a missing configuration, a rejected
credential or a service that kept failing says so. Reads only: nothing here can change a service."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cleanup.clients import compliance as C
from cleanup.clients import symptoms as S
from cleanup.errors import CleanupError, ServiceError, Unavailable
from cleanup.identifiers import valid_guid

if TYPE_CHECKING:
    from cleanup.diagnose.registration import Registration

#: the least permission each read needs (named when the service answers 403)
READ_COMPUTERS = "Read Computers"
MANAGED_READ = "DeviceManagementManagedDevices.Read.All"
DEVICE_READ = "Device.Read.All"
SERVICE_CONFIG_READ = "DeviceManagementServiceConfig.Read.All"
APPLICATION_READ = "Application.Read.All"
ORGANIZATION_READ = "Organization.Read.All"
USER_READ = "User.Read.All"
CONFIGURATION_READ = "DeviceManagementConfiguration.Read.All"
GROUP_READ = "Group.Read.All"


class CloudData:
    """The cloud reads of one diagnosis, each done once (thread-safe)."""

    def __init__(self, cloud, serial: str, jamf_app_id: str | None = None):
        self.cloud = cloud
        self.serial = serial
        self.jamf_app_id = jamf_app_id
        self._lock = threading.Lock()
        self._memo: dict[tuple, tuple[threading.Lock, list]] = {}
        self.reg: Registration | None = None  # set by the runner: the Mac's registration model

    def _once(self, key: tuple, fetch):
        with self._lock:
            lock, slot = self._memo.setdefault(key, (threading.Lock(), []))
        with lock:
            if not slot:
                try:
                    slot.append((True, fetch()))
                except Unavailable as exc:
                    slot.append((False, exc))
        ok, value = slot[0]
        if not ok:
            raise value
        return value

    def _service(self, name: str):
        if self.cloud is None:
            raise Unavailable("no Jamf Pro / Graph configuration (`cleanup creds set jamf|graph`, or --config)")
        config = self.cloud.config
        if name == "jamf" and not config.jamf_configured():
            raise Unavailable("Jamf Pro is not configured (`cleanup creds set jamf`)")
        if name == "graph" and not config.graph_configured():
            raise Unavailable("Microsoft Graph is not configured (`cleanup creds set graph`)")
        return self.cloud.jamf if name == "jamf" else self.cloud.graph

    def _read(self, key: tuple, service: str, permission: str, fetch):
        def guarded():
            client = self._service(service)
            try:
                return fetch(client)
            except ServiceError as exc:
                if exc.status == 403:
                    kind = "Jamf Pro privilege" if service == "jamf" else "Graph application permission"
                    raise Unavailable(f"needs the {kind} {permission}: {exc.message}") from None
                raise Unavailable(exc.message) from None
            except CleanupError as exc:
                raise Unavailable(exc.message) from None

        return self._once(key, guarded)

    # -- the Mac's records -----------------------------------------------------------------------------

    def jamf_records(self) -> list[dict]:
        return self._read(("jamf",), "jamf", READ_COMPUTERS, lambda j: j.computers_by_serial(self.serial))

    def serial_intune_records(self) -> list[dict]:
        """Every Intune record of the serial, Mac or not."""
        return self._read(("intune",), "graph", MANAGED_READ, lambda g: g.managed_devices_by_serial(self.serial))

    def intune_records(self) -> list[dict]:
        """The serial's Mac records in Intune (records.is_mac_intune: what the delete steps would act on)."""
        return S.mac_records(self.serial_intune_records())

    def entra_by_device_id(self, device_id: str) -> list[dict]:
        return self._read(("entra-id", device_id.lower()), "graph", DEVICE_READ, lambda g: g.devices_by_device_id(device_id))

    def entra_by_name(self, name: str) -> list[dict]:
        return self._read(("entra-name", name.casefold()), "graph", DEVICE_READ, lambda g: g.devices_by_name(name))

    # -- the integration set-up ------------------------------------------------------------------------

    def partners(self) -> list[dict]:
        """The legacy partners (``deviceManagementPartners``)."""
        return self._read(("partners",), "graph", SERVICE_CONFIG_READ, lambda g: g.partners())

    def compliance_partners(self) -> list[dict]:
        """The 2026 partners (``complianceManagementPartners``), raw."""
        return self._read(("compliance-partners",), "graph", SERVICE_CONFIG_READ, C.compliance_partners)

    def device_compliance(self, computer_id: str) -> list[dict] | None:
        """Jamf Pro's device-compliance information of one computer (clients.compliance); None when the record is gone."""
        return self._read(("device-compliance", str(computer_id)), "jamf", READ_COMPUTERS, lambda j: C.device_compliance(j, computer_id))

    def jamf_pro_version(self) -> tuple[int, ...] | None:
        """The server's version when the Jamf client discovers it (``JamfClient.version()``); None when it cannot."""

        def fetch(jamf):
            discover = getattr(jamf, "version", None)
            found = discover() if callable(discover) else None
            return tuple(found) if isinstance(found, (tuple, list)) and all(isinstance(x, int) for x in found) else None

        try:
            return self._read(("jamf-version",), "jamf", READ_COMPUTERS, fetch)
        except Unavailable:
            return None

    def service_principals(self, flt: str) -> list[dict]:
        return self._read(("sp", flt), "graph", APPLICATION_READ, lambda g: g.service_principals(flt))

    def service_principal(self, object_id: str) -> dict | None:
        oid = valid_guid(object_id)
        return self._read(("sp-id", oid), "graph", APPLICATION_READ, lambda g: g.service_principal(oid))

    def assignments(self, object_id: str) -> list[dict]:
        oid = valid_guid(object_id)
        return self._read(("assignments", oid), "graph", APPLICATION_READ, lambda g: g.app_role_assignments(oid))

    def skus(self) -> list[dict]:
        return self._read(("skus",), "graph", ORGANIZATION_READ, lambda g: g.subscribed_skus())

    def licence_details(self, upn: str) -> list[dict] | None:
        """The user's licences; None when Entra has no such user."""
        return self._read(("licences", upn.lower()), "graph", USER_READ, lambda g: g.licence_details(upn))

    def policies(self) -> list[dict]:
        return self._read(("policies",), "graph", CONFIGURATION_READ, lambda g: g.compliance_policies())

    def group(self, group_id: str) -> dict | None:
        gid = valid_guid(group_id)
        return self._read(("group", gid), "graph", GROUP_READ, lambda g: g.group(gid))
