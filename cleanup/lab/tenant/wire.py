"""Requests, responses and the error bodies of each service, independent of the HTTP server.

Handlers take a :class:`Request` and return a :class:`Response`, so ``$batch`` items can run through the
same code as standalone requests.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, overload
from urllib.parse import parse_qs

JSON = "application/json"


class Drop(Exception):
    """Close the connection without answering."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    auth: Any = None  # set by the dispatcher: Jamf Pro's (grant, privileges), Graph's GraphGrant
    in_batch: bool = False

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @overload
    def arg(self, name: str) -> str | None: ...
    @overload
    def arg(self, name: str, default: str) -> str: ...
    @overload
    def arg(self, name: str, default: str | None) -> str | None: ...

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload, headers: dict | None = None, pretty: bool = False) -> Response:
    text = json.dumps(payload, indent=2) if pretty else json.dumps(payload, separators=(",", ":"))
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    return Response(status, text.encode(), h)


def empty(status: int, headers: dict | None = None) -> Response:
    return Response(status, b"", dict(headers or {}))


def jamf_error(status: int, code: str, description: str, field_name: str | None = None, headers: dict | None = None) -> Response:
    body = {"httpStatus": status, "errors": [{"code": code, "field": field_name, "description": description, "id": "0"}]}
    return json_response(status, body, headers=headers, pretty=True)


def _now_graph() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def graph_error(req: Request | None, status: int, code: str, message: str, headers: dict | None = None) -> Response:
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": _now_graph(),
                "request-id": request_id,
                "client-request-id": (req.header("client-request-id") if req else None) or request_id,
            },
        }
    }
    h = {"request-id": request_id}
    h.update(headers or {})
    return json_response(status, body, headers=h)


def entra_error(status: int, error: str, code: int, description: str) -> Response:
    trace = str(uuid.uuid4())
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    correlation = str(uuid.uuid4())
    body = {
        "error": error,  # Entra separates the description's parts with CRLF
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
    }
    return json_response(status, body)


# -- routing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str  # "GET /v1.0/devices/{id}", the key in stats
    kind: str  # lab | discovery | entra_token | jamf_token | jamf | graph
    handler: object


class RouteTable:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, kind: str):
        """Decorator: ``template`` uses ``{name}`` for one path segment (``{rest*}`` for the remainder)."""
        regex = re.sub(r"\\\{(\w+)\\\*\\\}", r"(?P<\1>.+)", re.escape(template))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        pattern = re.compile("^" + regex + "$")

        def register(fn):
            self.routes.append(Route(method, pattern, f"{method} {template}", kind, fn))
            return fn

        return register

    def match(self, method: str, path: str) -> tuple[Route | None, re.Match | None, bool]:
        """(route, match, path_known): path_known is True when only the method did not match."""
        path_known = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, m, True
                path_known = True
        return None, None, path_known
