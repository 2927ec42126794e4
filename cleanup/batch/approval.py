"""What a batch approved, and the guard that holds its runs to it.

A batch's plan is approved once (``--max-deletions``, the operator's ``--yes``); from then on the batch runs the
playbook text that was approved, never one looked up by name or path, and each Mac's run may delete only the
objects its approved plan listed: any other delete is refused before a request leaves.
"""

from __future__ import annotations

import re

from cleanup.batch.ledger import Ledger
from cleanup.engine.loader import parse_playbook
from cleanup.engine.model import Playbook
from cleanup.errors import PlaybookError, SafetyRefusal, StateError

# the objects a DELETE can address: Graph object paths (absolute or not) and Jamf Pro inventory records
GRAPH_OBJECT_RE = re.compile(r"^(?:https://[^/]+/v1\.0)?/(devices|deviceManagement/managedDevices)/([^/?#]+)$")
GRAPH_SERVICES = {"devices": "entra", "deviceManagement/managedDevices": "intune"}
JAMF_OBJECT_RE = re.compile(r"^/api/v1/computers-inventory/([^/?#]+)$")


def approved_playbook(ledger: Ledger) -> Playbook:
    """The playbook whose plan the batch approved: the text stored in the ledger (its hash checked on load)."""
    where = f"batch ledger {ledger.path}"
    try:
        playbook = parse_playbook(ledger.meta["playbook_text"], source=f"batch {ledger.batch_id}")
    except PlaybookError as exc:
        raise StateError(f"{where}: its approved playbook does not load ({exc.message}); nothing was done") from None
    if playbook.name != ledger.meta["playbook"]:
        raise StateError(f"{where} was edited (playbook {ledger.meta['playbook']!r}, but its approved playbook is {playbook.name!r}); nothing was done")
    return playbook


def approved_keys(plan: dict | None) -> frozenset[str]:
    """The cloud objects (``service:id``) a Mac's approved plan deletes: the only ones its run may delete."""
    return frozenset((plan or {}).get("approved") or ())


class ApprovedDeletes:
    """One Mac's view of the batch's cloud session: everything passes except a delete of an object that is not in
    the Mac's approved plan, which is refused before any request leaves (whatever step or action asks for it)."""

    def __init__(self, cloud, serial: str, approved: frozenset[str]):  # cloud: the batch's SharedCloud
        self._cloud = cloud
        self.serial = serial
        self.approved = approved

    def __getattr__(self, name):
        return getattr(self._cloud, name)

    @property
    def graph(self):
        return _GuardedGraph(self._cloud.graph, self)

    @property
    def jamf(self):
        return _GuardedJamf(self._cloud.jamf, self)

    def check(self, service: str | None, oid: str, what: str) -> None:
        if service is None or f"{service}:{oid}" not in self.approved:
            approved = ", ".join(sorted(self.approved)) or "nothing"
            raise SafetyRefusal(
                f"Mac {self.serial}: {what} is not in the batch's approved plan for this Mac (approved: {approved}); refusing, nothing of it was deleted",
                hint="the Mac's records changed since the plan was approved: plan it again in a new batch",
            )

    def check_graph_path(self, path: str) -> None:
        m = GRAPH_OBJECT_RE.match(path)
        self.check(GRAPH_SERVICES[m.group(1)] if m else None, m.group(2) if m else "", f"DELETE {path}")

    def close(self) -> None:
        pass


class _Guarded:
    """A client seen through a Mac's guard: every call passes, the delete methods below check first."""

    def __init__(self, client, guard: ApprovedDeletes):
        self._client = client
        self._guard = guard

    def __getattr__(self, name):
        return getattr(self._client, name)


class _GuardedGraph(_Guarded):
    def delete_device(self, object_id: str) -> bool:
        self._guard.check("entra", object_id, f"Entra device {object_id}")
        return self._client.delete_device(object_id)

    def delete_managed_device(self, managed_id: str) -> bool:
        self._guard.check("intune", managed_id, f"Intune record {managed_id}")
        return self._client.delete_managed_device(managed_id)

    def batch_delete(self, paths: list[str]) -> dict[str, str]:
        for path in paths:
            self._guard.check_graph_path(path)
        return self._client.batch_delete(paths)

    def batch(self, requests: list[dict]) -> dict[str, dict]:
        for r in requests:
            if str(r.get("method", "")).upper() == "DELETE":
                self._guard.check_graph_path(str(r.get("url", "")))
        return self._client.batch(requests)

    def request(self, method: str, path_or_url: str, *args, **kwargs):
        if method.upper() == "DELETE":
            self._guard.check_graph_path(path_or_url)
        return self._client.request(method, path_or_url, *args, **kwargs)


class _GuardedJamf(_Guarded):
    def delete_computer(self, computer_id) -> bool:
        self._guard.check("jamf", str(computer_id), f"Jamf Pro computer {computer_id}")
        return self._client.delete_computer(computer_id)

    def request(self, method: str, path: str, *args, **kwargs):
        if method.upper() == "DELETE":
            m = JAMF_OBJECT_RE.match(path)
            self._guard.check("jamf" if m else None, m.group(1) if m else "", f"DELETE {path}")
        return self._client.request(method, path, *args, **kwargs)
