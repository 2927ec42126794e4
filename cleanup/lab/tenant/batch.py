"""``POST /v1.0/$batch``: up to 20 Graph requests, each handled like a standalone request.

Items inherit the outer request's authorization; each draws its own injected 429/5xx (429s carry
``Retry-After`` in the item's headers). ``dependsOn`` orders items; an item whose dependency failed gets 424.
Responses come back shuffled, as Graph does not promise any order.
"""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qs, unquote, urlsplit

from cleanup.lab.tenant.wire import Drop, Request, graph_error, json_response

MAX_ITEMS = 20


def _bad(req: Request, message: str):
    return graph_error(req, 400, "BadRequest", message)


def _order(items: list[dict]) -> list[dict] | str:
    """Items with each one's dependencies first; a string explains a broken ``dependsOn``."""
    by_id = {item["id"]: item for item in items}
    done: list[dict] = []
    state: dict[str, int] = {}

    def visit(item_id: str, chain: tuple) -> str | None:
        if state.get(item_id) == 2:
            return None
        if item_id in chain:
            return f"Circular dependency on request '{item_id}'."
        for dep in by_id[item_id].get("dependsOn") or []:
            if dep not in by_id:
                return f"Request '{item_id}' depends on unknown request '{dep}'."
            problem = visit(dep, chain + (item_id,))
            if problem:
                return problem
        state[item_id] = 2
        done.append(by_id[item_id])
        return None

    for item in items:
        problem = visit(item["id"], ())
        if problem:
            return problem
    return done


def _item_request(outer: Request, item: dict) -> Request:
    parts = urlsplit(item["url"])
    path = unquote(parts.path)
    if path.startswith("/v1.0/"):
        path = path[5:]
    headers = {k: v for k, v in outer.headers.items() if k in ("authorization", "client-request-id")}
    headers.update({str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()})
    body = item.get("body")
    return Request(
        method=str(item["method"]).upper(),
        path="/v1.0" + path,
        query=parse_qs(parts.query, keep_blank_values=True),
        headers=headers,
        body=json.dumps(body).encode() if body is not None else b"",
        in_batch=True,
    )


def batch(svc, req: Request):
    payload = req.json()
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        return _bad(req, "Invalid batch payload format.")
    if len(items) > MAX_ITEMS:
        return _bad(req, f"Number of requests in the batch ({len(items)}) exceeds the limit of {MAX_ITEMS}.")
    seen = set()
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "method", "url")):
            return _bad(req, "Each batch request needs string 'id', 'method' and 'url'.")
        if item["id"] in seen:
            return _bad(req, f"Batch request id '{item['id']}' is not unique.")
        if item["url"].startswith(("http://", "https://")):
            return _bad(req, "Batch request urls must be relative.")
        seen.add(item["id"])
    deletes = any(str(item["method"]).upper() == "DELETE" for item in items)
    if deletes and svc.drop_delete_batch():
        raise Drop()
    lose_answer = deletes and svc.lose_delete_batch_answer()
    ordered = _order(items)
    if isinstance(ordered, str):
        return _bad(req, ordered)
    statuses: dict[str, int] = {}
    responses = []
    for item in ordered:
        failed_dep = next((d for d in item.get("dependsOn") or [] if not 200 <= statuses.get(d, 0) < 300), None)
        if failed_dep is not None:
            statuses[item["id"]] = 424
            responses.append(
                {
                    "id": item["id"],
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"error": {"code": "FailedDependency", "message": f"Depends on request '{failed_dep}', which failed."}},
                }
            )
            continue
        resp = svc.handle_item(_item_request(req, item))
        statuses[item["id"]] = resp.status
        entry = {"id": item["id"], "status": resp.status, "headers": {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}}
        if resp.body:
            entry["body"] = resp.json()
        responses.append(entry)
    if lose_answer:
        raise Drop()
    rng = random.Random(svc.faults.seed) if svc.faults.seed is not None else random
    rng.shuffle(responses)
    return json_response(200, {"responses": responses})
