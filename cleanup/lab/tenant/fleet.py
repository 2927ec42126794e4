"""Fleets for batch tests and benchmarks: many Macs, each with stale duplicate registrations."""

from __future__ import annotations

import time

from cleanup.lab.tenant.model import Tenant, new_guid
from cleanup.lab.tenant.scenarios import DAY, _mac_everywhere


def add_duplicated_macs(tenant: Tenant, count: int, stale: int = 2, prefix: str = "DUP") -> list[str]:
    """``count`` Macs registered once correctly (Jamf reports the current Entra deviceId) plus ``stale`` older
    registrations each (an Entra device and an Intune record per old deviceId). Returns the serials."""
    now = time.time()
    serials = []
    for i in range(1, count + 1):
        serial = f"{prefix}{i:08d}"
        name = f"MAC-{prefix}-{i}"
        upn = f"user{i}@contoso.example"
        _mac_everywhere(tenant, serial, name, upn, new_guid(), now)
        for k in range(1, stale + 1):
            old = new_guid()
            tenant.add_entra_device(name, old, registered=now - (60 + k) * DAY, last_sign_in=now - (10 + k) * DAY)
            tenant.add_intune_device(serial, name, old, upn=upn, enrolled=now - (60 + k) * DAY, last_sync=now - (10 + k) * DAY)
        serials.append(serial)
    return serials
