"""Jamf Pro: a computer's whole inventory record (for its export before a delete) and static group membership.

Static groups are read and written through the Classic API on every Jamf Pro version. Its ``computer_additions``
adds the computers it names and leaves every other member alone. The Jamf Pro API's
``PUT /api/v3/computer-groups/static-groups/{id}`` replaces the whole membership set instead: a read-modify-write
there would drop a member someone else added in between; and no Jamf Pro API version reads a static group's
members. Smart groups are never written: Jamf Pro computes their members.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cleanup.clients.wire import CLASSIC_GROUP_ID, INVENTORY
from cleanup.errors import JamfError
from cleanup.identifiers import valid_object_id

if TYPE_CHECKING:
    from cleanup.clients.jamf import JamfClient

DETAIL = INVENTORY + "-detail/{id}"  # the oldest route; a client reads through its server's (JamfClient.routes.detail)


def full_record(jamf: JamfClient, computer_id: str) -> dict[str, Any] | None:
    """The computer's inventory record with every section, as Jamf Pro returns it; None when it is gone (404).
    Nothing from the FileVault, LAPS or Recovery Lock endpoints: those are separate requests this never makes."""
    cid = valid_object_id(computer_id)
    path = jamf.routes.detail.format(id=cid)
    body = jamf.get_or_none(path)
    if body is None:
        return None
    if not isinstance(body, dict):
        raise JamfError(f"Jamf Pro GET {path}: expected a computer record", method="GET", url=jamf.url + path, status=200)
    return body


def memberships(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A record's groups (its GROUP_MEMBERSHIPS section) as ``{"id", "name", "smart"}``; entries without an id are
    left out."""
    out = []
    for g in record.get("groupMemberships") or []:
        if isinstance(g, dict) and str(g.get("groupId") or "").isdigit():
            out.append({"id": str(g["groupId"]), "name": g.get("groupName"), "smart": bool(g.get("smartGroup"))})
    return out


def static_group(jamf: JamfClient, group_id: str) -> dict[str, Any] | None:
    """One computer group by id (Classic API): ``{"id", "name", "smart", "members"}`` (member ids as strings);
    None when there is no such group (404)."""
    path = CLASSIC_GROUP_ID.format(id=valid_object_id(group_id))
    body = jamf.get_or_none(path)
    if body is None:
        return None
    group = body.get("computer_group") if isinstance(body, dict) else None
    if not isinstance(group, dict):
        raise JamfError(f"Jamf Pro GET {path}: answer without a computer_group", method="GET", url=jamf.url + path, status=200)
    members = [str(c.get("id")) for c in group.get("computers") or [] if isinstance(c, dict) and c.get("id") is not None]
    return {"id": str(group.get("id")), "name": group.get("name"), "smart": bool(group.get("is_smart")), "members": members}


def add_to_static_group(jamf: JamfClient, group_id: str, computer_id: str) -> None:
    """Add one computer to a static group, leaving its other members as they are (Classic ``computer_additions``).
    Adding a member twice keeps it a member, so a request re-sent after a lost answer does no harm."""
    gid, cid = valid_object_id(group_id), valid_object_id(computer_id)
    path = CLASSIC_GROUP_ID.format(id=gid)
    xml = f"<computer_group><computer_additions><computer><id>{cid}</id></computer></computer_additions></computer_group>"
    response = jamf.send_xml("PUT", path, xml)
    if response.status_code not in (200, 201):
        raise jamf._fail(response, "PUT", path)
