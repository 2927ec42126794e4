"""The append-only audit log (JSON lines): each change is recorded before and after it is applied."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record}, sort_keys=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """All complete records; a line cut short by a crash is ignored."""
        from cleanup import readlimit
        from cleanup.errors import StateError

        try:
            data = readlimit.read_bytes(self.path, readlimit.AUDIT_LIMIT, "audit log", StateError)
        except FileNotFoundError:
            return []
        text = data.decode("utf-8", errors="replace")  # a crash can leave a torn or zero-filled tail: skipped below
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def dangling_intents(self, step_id: str) -> dict[str, dict[str, Any]]:
        """Changes of a step whose intent was logged but whose result was not (the process died in between)."""
        open_: dict[str, dict[str, Any]] = {}
        for r in self.records():
            if r.get("step") != step_id or "key" not in r:
                continue
            if r.get("event") == "intent":
                open_[r["key"]] = r
            elif r.get("event") == "result":
                open_.pop(r["key"], None)
        return open_

    def applied_keys(self, step_id: str) -> set[str]:
        """Changes of a step whose result says they took effect (in an earlier attempt of the step, if any)."""
        return {r["key"] for r in self.records() if r.get("step") == step_id and r.get("event") == "result" and "key" in r and r.get("changed") is True}
