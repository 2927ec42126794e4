"""Dispatch of one request (or one ``$batch`` item): statistics, latency, injected faults, auth, handler.

Faults are drawn per request on the Jamf and Graph APIs (and on token endpoints only with
``Faults.token_faults``); never on ``/_lab/*`` or OIDC discovery. Batch items draw 429/5xx per item, no drops.
A Jamf Pro route the emulated version does not serve (:mod:`cleanup.lab.tenant.jamf_versions`) answers like an
unknown endpoint; it is still counted under its route, and under ``not_served``.
"""

from __future__ import annotations

import math
import os
import random
import signal
import threading
import time
from collections import Counter

from cleanup.lab.tenant import compliance_api, directory_api, entra_api, graph_api, jamf_api, jamf_versions, lab_api
from cleanup.lab.tenant.model import Faults, Tenant
from cleanup.lab.tenant.tokens import TokenStore
from cleanup.lab.tenant.wire import (
    Drop,
    Request,
    Response,
    RouteTable,
    graph_error,
    jamf_error,
    json_response,
)

ROUTES = RouteTable()
for _module in (entra_api, jamf_api, graph_api, directory_api, lab_api, compliance_api):
    _module.register(ROUTES)

_FAULTED_KINDS = {"jamf", "graph"}
_TOKEN_KINDS = {"entra_token", "jamf_token"}


class Service:
    """Everything a handler needs: ``tenant``, ``faults``, ``tokens``, ``url``; plus the shared counters."""

    def __init__(self, tenant: Tenant, faults: Faults, url: str = "", jamf_version: jamf_versions.Version | None = None):
        self.tenant = tenant
        self.faults = faults
        self.url = url
        self.jamf_version: jamf_versions.Version = jamf_version or jamf_versions.DEFAULT_VERSION
        self.v4_remove_mdm_answer = "command"  # or "empty": the v4 route's answer is not captured (jamf_api)
        self.not_served: Counter = Counter()  # requests a route got that the emulated version does not serve
        self.tokens = TokenStore()
        self._lock = threading.Lock()
        self._rng = random.Random(faults.seed)
        self._rng_seed = faults.seed
        self.by_route: Counter = Counter()
        self.total = 0
        self.batch_items = 0
        self._deletes = 0  # DELETEs seen since kill_on_delete was (re)set
        self._kill_fired = False
        self._armed: dict | None = None
        self._delete_batches: tuple[int | None, int] = (None, 0)  # (drop_batch_deletes_after it counts for, POSTs)
        self._intune_windows: dict[str, tuple[float, int]] = {}  # client id -> (window start, writes)

    # -- statistics ----------------------------------------------------------------------------------

    def stats(self) -> dict:
        with self._lock:
            return {
                "total": self.total,
                "by_route": dict(self.by_route),
                "tokens": self.tokens.issued,
                "batch_items": self.batch_items,
                "jamf_version": jamf_versions.text_of(self.jamf_version),
                "not_served": dict(self.not_served),
            }

    def reset_stats(self) -> None:
        """Counters back to zero, and Intune's write windows with them: a test's throttling starts fresh."""
        with self._lock:
            self._intune_windows.clear()
            self.by_route.clear()
            self.not_served.clear()
            self.total = 0
            self.batch_items = 0
            self.tokens.issued = 0

    # -- faults --------------------------------------------------------------------------------------

    def _draw(self) -> float:
        with self._lock:
            if self.faults.seed != self._rng_seed:  # a new seed set at runtime restarts the sequence
                self._rng = random.Random(self.faults.seed)
                self._rng_seed = self.faults.seed
            return self._rng.random()

    def retry_after(self) -> str:
        return str(max(0, math.ceil(self.faults.retry_after)))

    def _fault(self, req: Request, kind: str, allow_drop: bool) -> Response | None:
        f = self.faults
        if allow_drop and f.drop_rate and self._draw() < f.drop_rate:
            raise Drop()
        if f.rate_5xx and self._draw() < f.rate_5xx:
            status = (503, 500, 502)[int(self._draw() * 3) % 3]
            return self.error(
                req, kind, status, "ServiceUnavailable" if status == 503 else "InternalServerError", "The service is temporarily unavailable (injected fault)."
            )
        if f.rate_429 and self._draw() < f.rate_429:
            return self.error(req, kind, 429, "TooManyRequests", "Too many requests (injected fault).", headers={"Retry-After": self.retry_after()})
        return None

    @staticmethod
    def error(req: Request, kind: str, status: int, code: str, message: str, headers: dict | None = None):
        if kind in ("graph",) or req.path.startswith("/v1.0"):
            return graph_error(req, status, code, message, headers)
        if kind in ("jamf", "jamf_token"):
            return jamf_error(status, code.upper(), message, headers=headers)
        return json_response(status, {"error": code, "error_description": message}, headers=headers)

    def count_delete(self) -> str | None:
        """Count a DELETE of a Jamf/Entra/Intune record (batch items too); "before"/"after" when the hook fires.

        ``nth`` counts from the moment ``kill_on_delete`` was set (a new dict object re-arms it).
        """
        hook = self.faults.kill_on_delete
        with self._lock:
            if hook is not self._armed:  # a newly set hook counts from zero
                self._armed, self._deletes, self._kill_fired = hook, 0, False
            self._deletes += 1
            if not hook or self._kill_fired or self._deletes != int(hook.get("nth", 1)):
                return None
            self._kill_fired = True
        return hook.get("when", "before")

    def drop_delete_batch(self) -> bool:
        """Count a $batch POST carrying DELETEs; True once ``drop_batch_deletes_after`` of them were answered
        (counted from the moment it was set): the connection then closes unanswered, the items not acted on."""
        after = self.faults.drop_batch_deletes_after
        with self._lock:
            armed, seen = self._delete_batches
            if after != armed:
                seen = 0
            self._delete_batches = (after, seen + 1)
        return after is not None and seen >= after

    def lose_delete_batch_answer(self) -> bool:
        """True for the next ``lose_delete_batch_answers`` $batch POSTs carrying DELETEs: the service acts on
        them and the connection then closes before the answer (a client resending the POST gets 404s)."""
        with self._lock:
            if self.faults.lose_delete_batch_answers <= 0:
                return False
            self.faults.lose_delete_batch_answers -= 1
            return True

    def kill_target(self) -> None:
        hook = self.faults.kill_on_delete or {}
        try:
            os.kill(int(hook["pid"]), signal.SIGKILL)
        except (KeyError, ValueError, ProcessLookupError, PermissionError):
            pass

    def intune_write(self, client_id: str) -> int:
        """Count one Intune write; returns 0 if allowed, else the seconds until the window ends."""
        now = time.monotonic()
        with self._lock:
            start, writes = self._intune_windows.get(client_id, (now, 0))
            if now - start >= self.faults.intune_window:
                start, writes = now, 0
            if writes >= self.faults.intune_write_limit:
                self._intune_windows[client_id] = (start, writes)
                return max(1, math.ceil(start + self.faults.intune_window - now))
            self._intune_windows[client_id] = (start, writes + 1)
            return 0

    # -- dispatch ------------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        """A request from the network (raises :class:`Drop` to close the connection unanswered)."""
        route, match, path_known = ROUTES.match(req.method, req.path)
        is_lab = req.path.startswith("/_lab/")
        if not is_lab:
            with self._lock:
                self.total += 1
                if route:
                    self.by_route[route.name] += 1
            if self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000.0)
        if route is None:
            return self._unknown(req, path_known)
        if not jamf_versions.serves(route.name, self.jamf_version):
            with self._lock:
                self.not_served[route.name] += 1
            return self._unknown(req, False)
        if route.kind in _FAULTED_KINDS or (route.kind in _TOKEN_KINDS and self.faults.token_faults):
            faulted = self._fault(req, route.kind, allow_drop=True)
            if faulted is not None:
                return faulted
        return self._run(route, match, req)

    def handle_item(self, req: Request) -> Response:
        """One ``$batch`` item (a Graph request with a path under /v1.0)."""
        route, match, _ = ROUTES.match(req.method, req.path)
        with self._lock:
            self.batch_items += 1
            if route:
                self.by_route[route.name] += 1
        if route is None or route.kind != "graph" or route.name.endswith("$batch"):
            return graph_error(req, 400, "BadRequest", f"Resource not found for the segment in '{req.path}'.")
        faulted = self._fault(req, "graph", allow_drop=False)
        return faulted if faulted is not None else self._run(route, match, req)

    def _run(self, route, match, req: Request) -> Response:
        if route.kind == "graph":
            denied = graph_api.authenticate(self, req)
            if denied is not None:
                return denied
        elif route.kind == "jamf":
            denied = jamf_api.authenticate(self, req)
            if denied is not None:
                return denied
        return route.handler(self, req, **match.groupdict())

    def _unknown(self, req: Request, path_known: bool) -> Response:
        status = 405 if path_known else 404
        if req.path.startswith("/v1.0"):
            return graph_error(req, 400 if not path_known else 405, "BadRequest", f"Resource not found for the segment '{req.path.rsplit('/', 1)[-1]}'.")
        if req.path.startswith(("/api/", "/JSSResource/")):
            return jamf_error(status, "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED", "No such endpoint." if status == 404 else "Method not allowed.")
        return json_response(status, {"error": "not_found" if status == 404 else "method_not_allowed"})
