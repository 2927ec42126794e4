"""Which Jamf Pro API routes a server of a given version gets (docs/jamf-versions.md).

The client asks the server once (``GET /api/v1/jamf-pro-version``) and picks, from that version, the newest
inventory routes the server has: v4 from 11.30.0, v3 from 11.23.0, v1 before. Remove MDM Profile is v4 from
11.30.0 and the singular v1 route before (v3 has none). Smart-group membership is read through
``/api/v3/computer-groups`` from 11.28.0. A server whose version cannot be learnt (the route answers 404, or
its answer does not read as a version) gets the oldest routes, the ones this tool always used.

Static groups stay on the Classic API on every version: no Jamf Pro API version reads a static computer
group's members, and ``PUT /api/v3/computer-groups/static-groups/{id}`` replaces the whole membership, so
adding one computer there would drop a member someone else added in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cleanup.clients.wire import INVENTORY, INVENTORY_V3, INVENTORY_V4, REMOVE_MDM, REMOVE_MDM_V4, SMART_GROUP_MEMBERSHIP

Version = tuple[int, ...]

V3_INVENTORY_FROM: Version = (11, 23, 0)
V4_INVENTORY_FROM: Version = (11, 30, 0)
V3_GROUPS_FROM: Version = (11, 28, 0)

_VERSION_RE = re.compile(r"\s*v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?")


def parse_version(value: object) -> Version | None:
    """``(major, minor, patch)`` of a Jamf Pro version as the server writes it (``11.30.0-t1752480000``,
    ``10.49.0``, ``11.5``); None when it does not start with one."""
    if not isinstance(value, str):
        return None
    m = _VERSION_RE.match(value)
    if m is None:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def version_text(version: Version | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"


@dataclass(frozen=True)
class JamfRoutes:
    """The routes one server gets. ``inventory`` is the base of the search, of one record (``/{id}``), its
    delete and the escrow reads; ``detail`` every section of one record."""

    api: str  # "v1", "v3" or "v4": the inventory API version, as shown to people
    inventory: str
    remove_mdm: str
    smart_group_membership: str | None  # None: read smart groups through the Classic API

    @property
    def detail(self) -> str:
        return self.inventory + "-detail/{id}"

    @property
    def filevault(self) -> str:
        return self.inventory + "/{id}/filevault"

    @property
    def recovery_lock(self) -> str:
        return self.inventory + "/{id}/view-recovery-lock-password"


def routes_for(version: Version | None) -> JamfRoutes:
    """The routes for a server of ``version``; the oldest ones when it is not known."""
    smart = SMART_GROUP_MEMBERSHIP if version is not None and version >= V3_GROUPS_FROM else None
    if version is not None and version >= V4_INVENTORY_FROM:
        return JamfRoutes("v4", INVENTORY_V4, REMOVE_MDM_V4, smart)
    if version is not None and version >= V3_INVENTORY_FROM:
        return JamfRoutes("v3", INVENTORY_V3, REMOVE_MDM, smart)
    return JamfRoutes("v1", INVENTORY, REMOVE_MDM, smart)
