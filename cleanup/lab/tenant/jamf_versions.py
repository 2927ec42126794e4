"""The emulated Jamf Pro's version, and the one table of which routes each version serves.

A route the chosen version does not have yet, or has removed, answers 404 with the same Jamf error body as any
unknown endpoint; a deprecated route keeps working (Jamf: "they still work", at least a year), with no extra
header (no source shows Jamf Pro sending a Deprecation or Sunset header). Routes missing from the table are served
by every version. Each entry names its source: [F] found (S-keys of integration-2026.md §3 or the Jamf Pro
changelog page named), [F3] found only in a third-party source, [I] inferred or chosen here. Where no source gives
a removal version, the one chosen is marked [I]. docs/jamf-versions.md shows the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]

#: the oldest version emulated: API clients (OAuth client credentials) exist from 10.49.0, LAPS v2 from 10.46.0
MIN_VERSION: Version = (10, 49, 0)
#: the default: the newest version whose routes are the v1 ones the tests written before versions existed pin
#: (the v3 inventory arrived in 11.23.0); `--jamf-version 11.32.0` gives a current server
DEFAULT_VERSION: Version = (11, 22, 0)
#: a current server (v4 inventory, the v3 groups API, the v1 inventory removed): what `cleanup lab demo` emulates
CURRENT_VERSION: Version = (11, 32, 0)
BUILD = "t1752480000"  # the build stamp Jamf Pro appends ("11.30.0-t1752480000"); made up


@dataclass(frozen=True)
class RouteLife:
    route: str  # the emulator's route name, "METHOD /path/{template}"
    introduced: Version | None  # None: in every emulated version
    deprecated: Version | None
    removed: Version | None
    source: str


_V1_INVENTORY = "v1 inventory: deprecated 2025-06-30 [F3] S32 (citing Jamf) = 11.18.0 [I]; removed 11.31.0 [I] (a year of support, then gone)"
_V3_INVENTORY = "introduced [F] changelog 11.23.0 Additions; deprecated [F] S33 (11.30.0 Deprecations); removed 11.42.0 [I] (a year after)"
_V4_INVENTORY = "introduced [F] changelog 11.30.0 Additions, S34, S36 (delete), S38 (remove-mdm-profile)"
_CLASSIC_COMPUTERS = "deprecated [F] S48 (11.15.0, one year of support); removed 11.31.0 [I]"

TABLE: tuple[RouteLife, ...] = (
    RouteLife("POST /api/oauth/token", None, None, None, "API clients from 10.49.0 [F] jamf-pro-api.md"),
    RouteLife("GET /api/v1/jamf-pro-version", None, None, None, "[F3] no privilege (third-party gateway manifest); the lab asks for a token [I]"),
    RouteLife("GET /api/v1/computers-inventory", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife("GET /api/v1/computers-inventory/{cid}", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife("GET /api/v1/computers-inventory-detail/{cid}", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife("DELETE /api/v1/computers-inventory/{cid}", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife("GET /api/v1/computers-inventory/{cid}/filevault", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife("GET /api/v1/computers-inventory/{cid}/view-recovery-lock-password", None, (11, 18, 0), (11, 31, 0), _V1_INVENTORY),
    RouteLife(
        "POST /api/v1/computer-inventory/{cid}/remove-mdm-profile",
        None,
        None,
        None,
        "replaced Classic UnmanageDevice, deprecated 11.21 [F3] S39; no deprecation of its own found [I]",
    ),
    RouteLife("GET /api/v3/computers-inventory", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("GET /api/v3/computers-inventory/{cid}", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("GET /api/v3/computers-inventory-detail/{cid}", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("DELETE /api/v3/computers-inventory/{cid}", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("GET /api/v3/computers-inventory/{cid}/filevault", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("GET /api/v3/computers-inventory/{cid}/view-recovery-lock-password", (11, 23, 0), (11, 30, 0), (11, 42, 0), _V3_INVENTORY),
    RouteLife("GET /api/v4/computers-inventory", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("GET /api/v4/computers-inventory/{cid}", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("GET /api/v4/computers-inventory-detail/{cid}", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("DELETE /api/v4/computers-inventory/{cid}", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("GET /api/v4/computers-inventory/{cid}/filevault", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("GET /api/v4/computers-inventory/{cid}/view-recovery-lock-password", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("POST /api/v4/computers-inventory/{cid}/remove-mdm-profile", (11, 30, 0), None, None, _V4_INVENTORY),
    RouteLife("GET /api/v1/computer-groups", None, None, None, "current [F] S44"),
    RouteLife(
        "GET /api/v3/computer-groups/smart-group-membership/{gid}",
        (11, 28, 0),
        None,
        None,
        "the replacement of v2, deprecated in 11.28.0 [F] S45; that v3 starts in 11.28.0 [I]; body [F] S44-S47",
    ),
    RouteLife("GET /JSSResource/computergroups/name/{name}", None, None, None, "no source deprecates Classic computergroups [F] S48, S49"),
    RouteLife("GET /JSSResource/computergroups/id/{gid}", None, None, None, "no source deprecates Classic computergroups [F] S48, S49"),
    RouteLife("PUT /JSSResource/computergroups/id/{gid}", None, None, None, "no source deprecates Classic computergroups [F] S48, S49"),
    RouteLife("GET /JSSResource/computers/serialnumber/{serial}", None, (11, 15, 0), (11, 31, 0), _CLASSIC_COMPUTERS),
    RouteLife("DELETE /JSSResource/computers/id/{cid}", None, (11, 15, 0), (11, 31, 0), _CLASSIC_COMPUTERS),
    RouteLife("GET /api/v2/local-admin-password/{mid}/accounts", (10, 46, 0), None, None, "[F] S43 (v1 LAPS removed in 11.10)"),
    RouteLife("GET /api/v2/local-admin-password/{mid}/account/{username}/password", (10, 46, 0), None, None, "[F] S43 (v1 LAPS removed in 11.10)"),
)
_BY_ROUTE = {life.route: life for life in TABLE}

_VERSION_RE = re.compile(r"(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?")


class VersionError(ValueError):
    pass


def parse(text: str) -> Version:
    """A version as a person types it (``11.30.0`` or ``11.30``); VersionError if it is not one or is older than
    the oldest version emulated."""
    m = _VERSION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise VersionError(f"{text!r} is not a Jamf Pro version (like 11.30.0)")
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    if version < MIN_VERSION:
        raise VersionError(f"Jamf Pro {text} is older than the oldest version the lab emulates ({text_of(MIN_VERSION)}: API clients exist from it)")
    return version


def text_of(version: Version) -> str:
    return ".".join(map(str, version))


def reported(version: Version) -> str:
    """What ``GET /api/v1/jamf-pro-version`` says for this version."""
    return f"{text_of(version)}-{BUILD}"


def state(route: str, version: Version) -> str:
    """``served``, ``deprecated``, ``not-yet`` (introduced later) or ``removed`` for a route name at ``version``."""
    life = _BY_ROUTE.get(route)
    if life is None:
        return "served"
    if life.introduced is not None and version < life.introduced:
        return "not-yet"
    if life.removed is not None and version >= life.removed:
        return "removed"
    if life.deprecated is not None and version >= life.deprecated:
        return "deprecated"
    return "served"


def serves(route: str, version: Version) -> bool:
    return state(route, version) in ("served", "deprecated")
