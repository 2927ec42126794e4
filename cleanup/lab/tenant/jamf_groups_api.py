"""Jamf Pro Classic API computer groups by id: read one, and change a static group's members; and the Jamf Pro
API's smart-group membership (``GET /api/v3/computer-groups/smart-group-membership/{id}`` → ``{"members": [1, 2]}``,
integers, S44-S47; a static group's or an unknown id answers 404 [I]).

``PUT /JSSResource/computergroups/id/{id}`` takes XML only. ``computer_additions`` adds the computers it names and
``computer_deletions`` removes them; every other member stays. A smart group's members cannot be set (409), nor
can a computer that does not exist be added (409); the answer to a change is 201 with
``<computer_group><id>N</id></computer_group>``. Classic errors are small HTML pages.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cleanup.lab.tenant.jamf_api import _classic_404, _denied, group_answer
from cleanup.lab.tenant.wire import Request, Response, jamf_error, json_response


def _classic_error(status: int, reason: str, message: str) -> Response:
    html = f"<html><head><title>Status page</title></head><body><p>{reason}</p><p>{message}</p></body></html>"
    return Response(status, html.encode(), {"Content-Type": "text/html;charset=UTF-8"})


def _group(svc, gid: str) -> dict | None:
    return svc.tenant.groups.get(gid)


def get_group(svc, req: Request, gid: str):
    with svc.tenant.lock:
        group = _group(svc, gid)
        return _classic_404() if group is None else group_answer(svc, req, group)


def _ids(root: ET.Element, tag: str) -> list[str]:
    return [(c.findtext("id") or "").strip() for c in root.findall(f"{tag}/computer")]


def update_group(svc, req: Request, gid: str):
    try:
        root = ET.fromstring(req.body or b"")
    except ET.ParseError:
        return _classic_error(400, "Bad Request", "Error parsing XML")
    if root.tag != "computer_group":
        return _classic_error(400, "Bad Request", "Error parsing XML")
    with svc.tenant.lock:
        group = _group(svc, gid)
        if group is None:
            return _classic_404()
        denied = _denied(req, "Update Smart Computer Groups" if group["smartGroup"] else "Update Static Computer Groups")
        if denied:
            return denied
        adds, removes = _ids(root, "computer_additions"), _ids(root, "computer_deletions")
        if (adds or removes) and group["smartGroup"]:
            return _classic_error(409, "Conflict", "Error: Problem with computer group: the members of a smart group cannot be set")
        records = svc.tenant.jamf
        if any(cid not in records for cid in adds + removes):
            return _classic_error(409, "Conflict", "Error: Problem with computer in computer_additions")
        for cid in adds:
            if gid not in records[cid].groups:
                records[cid].groups.append(gid)
        for cid in removes:
            if gid in records[cid].groups:
                records[cid].groups.remove(gid)
    body = f'<?xml version="1.0" encoding="UTF-8"?><computer_group><id>{gid}</id></computer_group>'
    return Response(201, body.encode(), {"Content-Type": "text/xml;charset=UTF-8"})


def smart_group_membership(svc, req: Request, gid: str):
    denied = _denied(req, "Read Smart Computer Groups")
    if denied:
        return denied
    with svc.tenant.lock:
        group = _group(svc, gid)
        if group is None or not group["smartGroup"]:
            return jamf_error(404, "INVALID_ID", f"Smart Computer Group with id {gid} does not exist")
        members = sorted(int(c.id) for c in svc.tenant.jamf.values() if gid in c.groups and c.id.isdigit())
    return json_response(200, {"members": members}, pretty=True)


def register(routes) -> None:
    routes.add("GET", "/JSSResource/computergroups/id/{gid}", "jamf")(get_group)
    routes.add("PUT", "/JSSResource/computergroups/id/{gid}", "jamf")(update_group)
    routes.add("GET", "/api/v3/computer-groups/smart-group-membership/{gid}", "jamf")(smart_group_membership)
