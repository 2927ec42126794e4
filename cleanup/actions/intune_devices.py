"""Step 11: delete every Intune record of the Mac's serial (recorded in step 0; Macs only; re-read before the delete)."""

from __future__ import annotations

from typing import ClassVar

from cleanup.actions.graph_delete import GraphDelete
from cleanup.clients import records as R
from cleanup.engine.action import ActsOn, register
from cleanup.engine.plan import ChangeKind


@register
class DeleteIntuneRecords(GraphDelete):
    name = "intune_devices.delete"
    summary = "Delete every Intune managedDevice of the Mac's serial"
    acts_on = ActsOn.CLOUD
    destructive = True
    reads_cloud = True
    needs_read: ClassVar[tuple[str, ...]] = ("graph:read-managed",)  # duplicates.intune needs more
    needs_write = ("graph:delete-managed",)
    service = "intune"
    what = "Intune records"
    option = None  # every record of the serial goes: no choice to make
    kind = ChangeKind.DELETE_INTUNE_RECORD
    collection = "/deviceManagement/managedDevices"

    def identity(self, rec: dict) -> dict:
        return {"serialNumber": rec.get("serialNumber"), "deviceName": rec.get("deviceName"), "managementAgent": rec.get("managementAgent")}

    def changed(self, expected: dict, current: dict) -> str | None:
        if current.get("serialNumber") != expected["serialNumber"]:
            return f"its serial is now {current.get('serialNumber')!r}, not {expected['serialNumber']}"
        if not R.is_mac_intune(current):
            return f"it is not a Mac ({current.get('operatingSystem')})"
        return None

    def notes(self, facts: dict) -> list[str]:
        return ["Intune keeps no deleted records: these cannot be restored (each one's export stays in the run's folder)"] if facts.get("intune") else []

    def get_one(self, graph, oid):
        return graph.managed_device(oid)

    def delete_one(self, graph, oid):
        return graph.delete_managed_device(oid)
