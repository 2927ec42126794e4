"""Re-read and delete Graph objects, one request each, or in ``$batch`` requests when there are several."""

from __future__ import annotations

from cleanup.actions.cloud_delete import DELETED, GONE, CloudDelete
from cleanup.clients.wire import error_message
from cleanup.engine.action import Outcome
from cleanup.engine.context import RunContext
from cleanup.errors import CleanupError


class GraphDelete(CloudDelete):
    collection = ""  # "/devices" | "/deviceManagement/managedDevices"

    def _path(self, oid: str) -> str:
        return f"{self.collection}/{oid}"

    def read(self, ctx: RunContext, ids: list[str]) -> dict[str, dict | None]:
        graph = ctx.cloud.graph
        if len(ids) == 1:
            return {ids[0]: self.get_one(graph, ids[0])}
        answers = graph.batch([{"id": str(n), "method": "GET", "url": self._path(oid)} for n, oid in enumerate(ids)])
        out: dict[str, dict | None] = {}
        for n, oid in enumerate(ids):
            ans = answers[str(n)]
            if ans["status"] == 404:
                out[oid] = None
            elif 200 <= ans["status"] < 300:
                out[oid] = ans["body"]
            else:
                raise CleanupError(f"Graph GET {self._path(oid)}: HTTP {ans['status']} {_code(ans)}")
        return out

    def get_one(self, graph, oid: str) -> dict | None:
        raise NotImplementedError

    def delete_one(self, graph, oid: str) -> bool:
        raise NotImplementedError

    def delete(self, ctx: RunContext, ids: list[str]) -> dict[str, Outcome | Exception]:
        graph = ctx.cloud.graph
        if len(ids) == 1:
            return {ids[0]: DELETED if self.delete_one(graph, ids[0]) else GONE}
        results = graph.batch_delete([self._path(oid) for oid in ids])
        out: dict[str, Outcome | Exception] = {}
        for oid in ids:
            res = results[self._path(oid)]
            if isinstance(res, CleanupError):  # an answer lost (outcome unknown), or the batch stopped before it
                out[oid] = res
            else:
                out[oid] = {"deleted": DELETED, "already gone": GONE}.get(res) or CleanupError(f"Graph DELETE {self._path(oid)}: {res}")
        return out


def _code(answer: dict) -> str:
    body = answer.get("body")
    err = body.get("error") if isinstance(body, dict) else None
    return f"{err.get('code')}: {error_message(err)}" if isinstance(err, dict) else ""
