"""Do our credentials allow what a run needs? Needs are named by purpose, mapped to each service's terms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cleanup.errors import UsageError

if TYPE_CHECKING:
    from cleanup.clients.session import Cloud


@dataclass(frozen=True)
class Need:
    service: str  # "jamf" | "graph"
    name: str  # the permission to name in messages
    any_of: tuple[str, ...] = ()  # one of these suffices (Graph app roles)
    all_of: tuple[str, ...] = ()  # each of these is required (Jamf privileges)
    write: bool = False


NEEDS: dict[str, Need] = {
    "jamf:read-computers": Need("jamf", "Read Computers", all_of=("Read Computers",)),
    "jamf:delete-computers": Need("jamf", "Delete Computers", all_of=("Delete Computers",), write=True),
    "jamf:read-groups": Need("jamf", "Read Smart Computer Groups", all_of=("Read Smart Computer Groups", "Read Static Computer Groups")),
    "jamf:remove-mdm": Need("jamf", "Send Computer Unmanage Command", all_of=("Send Computer Unmanage Command",), write=True),
    "jamf:update-static-groups": Need("jamf", "Update Static Computer Groups", all_of=("Update Static Computer Groups",), write=True),
    # reading what Jamf Pro escrowed for a record, to save it before step 4 deletes the record
    "jamf:view-filevault": Need("jamf", "View Disk Encryption Recovery Key", all_of=("View Disk Encryption Recovery Key",)),
    "jamf:view-laps": Need("jamf", "View Local Admin Password", all_of=("View Local Admin Password",)),
    # which privilege view-recovery-lock-password requires is not confirmed: either is accepted here, and the
    # run reads the password once before any change to prove it (cleanup.actions.escrowed)
    "jamf:view-recovery-lock": Need("jamf", "View Recovery Lock", any_of=("View Recovery Lock", "View Disk Encryption Recovery Key")),
    "graph:read-devices": Need("graph", "Device.Read.All", any_of=("Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")),
    "graph:delete-devices": Need("graph", "Device.ReadWrite.All", any_of=("Device.ReadWrite.All", "Directory.ReadWrite.All"), write=True),
    "graph:read-managed": Need(
        "graph", "DeviceManagementManagedDevices.Read.All", any_of=("DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All")
    ),
    "graph:delete-managed": Need("graph", "DeviceManagementManagedDevices.ReadWrite.All", any_of=("DeviceManagementManagedDevices.ReadWrite.All",), write=True),
}

DRY_RUN_NEEDS = ["jamf:read-computers", "jamf:read-groups", "graph:read-devices", "graph:read-managed"]
RUN_NEEDS = DRY_RUN_NEEDS + ["jamf:delete-computers", "graph:delete-devices", "graph:delete-managed"]
OPTIONAL_NEEDS = ["jamf:remove-mdm"]  # only for Macs whose MDM profile cannot be removed on the device
#: only for records that escrowed a FileVault key, LAPS passwords or a Recovery Lock password (saved before step 4)
ESCROW_NEEDS = {"filevault": "jamf:view-filevault", "laps": "jamf:view-laps", "recovery-lock": "jamf:view-recovery-lock"}
OPTIONAL_NEEDS += list(ESCROW_NEEDS.values())


@dataclass(frozen=True)
class Missing:
    need: str
    permission_name: str
    service: str
    known: bool  # False: could not be checked beforehand (it may well be granted)

    def __str__(self) -> str:
        if self.known:
            where = "Jamf Pro privilege" if self.service == "jamf" else "Graph application permission"
            return f"missing {where} {self.permission_name}"
        return f"cannot confirm {self.permission_name}: grant Read API Roles to check it beforehand"


def needs_for(service: str, needs: list[str]) -> list[str]:
    return [n for n in needs if _need(n).service == service]


def _need(name: str) -> Need:
    try:
        return NEEDS[name]
    except KeyError:
        raise UsageError(f"unknown permission need {name!r}") from None


def _check_jamf(cloud: Cloud, needs: list[str]) -> list[Missing]:
    missing: list[Missing] = []
    privileges = cloud.jamf.privileges()
    probes: dict[str, Callable[[], bool]] = {"jamf:read-computers": cloud.jamf.can_read_inventory, "jamf:read-groups": cloud.jamf.can_read_groups}
    for name in needs:
        need = _need(name)
        if privileges is not None:
            missing += [Missing(name, p, "jamf", True) for p in need.all_of if p not in privileges]
            if need.any_of and not privileges.intersection(need.any_of):
                missing.append(Missing(name, need.name, "jamf", True))
        elif not need.write and name in probes:
            if not probes[name]():
                missing.append(Missing(name, need.name, "jamf", True))
        else:
            missing.append(Missing(name, need.name, "jamf", False))
    return missing


def _check_graph(cloud: Cloud, needs: list[str]) -> list[Missing]:
    roles = cloud.graph.roles()
    return [Missing(n, _need(n).name, "graph", True) for n in needs if not roles.intersection(_need(n).any_of)]


def check(cloud: Cloud, needs: list[str]) -> list[Missing]:
    """What of ``needs`` our credentials lack (``cloud`` is a :class:`~cleanup.clients.session.CloudSession`)."""
    for name in needs:
        _need(name)
    missing: list[Missing] = []
    if needs_for("jamf", needs):
        missing += _check_jamf(cloud, needs_for("jamf", needs))
    if needs_for("graph", needs):
        missing += _check_graph(cloud, needs_for("graph", needs))
    return missing
