"""Helpers for the Jamf Pro version tests: an emulated server of a chosen version, and what it was asked."""

from __future__ import annotations

from cleanup.lab.tenant import jamf_versions

OLD = "10.49.0"  # the oldest emulated: v1 inventory, Classic groups
V3 = "11.28.0"  # v3 inventory, v1 Remove MDM Profile, v3 smart-group membership
CURRENT = "11.30.0"  # v4; the v1 and v3 routes are deprecated and still work
LATER = "11.32.0"  # v4; the v1 inventory and Classic computers routes are removed ([I], docs/jamf-versions.md)
VERSIONS = (OLD, V3, CURRENT, LATER)
EXPECTED_API = {OLD: "v1", V3: "v3", CURRENT: "v4", LATER: "v4"}


def at_jamf_version(server, text: str) -> jamf_versions.Version:
    """Make a freshly started emulated tenant serve as Jamf Pro ``text`` (before any client asked it)."""
    version = jamf_versions.parse(text)
    server.jamf_version = version
    return version


def jamf_routes_used(server) -> dict[str, int]:
    """The Jamf Pro (and Classic) routes requested so far, token requests left out, with their counts."""
    return {r: n for r, n in server.stats()["by_route"].items() if (" /api/" in r or " /JSSResource/" in r) and "/oauth/" not in r}


def unserved_or_deprecated(server) -> dict[str, str]:
    """Each route requested that the server's version does not serve, or serves as deprecated: route -> state."""
    version = server.jamf_version
    states = {r: jamf_versions.state(r, version) for r in jamf_routes_used(server)}
    return {r: s for r, s in states.items() if s != "served"}
