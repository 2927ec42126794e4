"""Helpers for what a reset can give back: cloud-only runs against the emulated tenant, the Mac's re-enrollment as
the lab's fake tools report it, and the run folder's exports."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from tests.support.lab import run_cli


def lab_post(lab, path: str, body: dict) -> dict:
    """POST to the emulator's lab-only endpoints, as the simulated Mac's tools do."""
    ctx = ssl.create_default_context(cafile=str(lab.server.ca_pem))
    req = urllib.request.Request(lab.server.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


def cloud_run(lab, state_dir: Path, *extra: str, env: dict | None = None):
    """The cloud side of the reset for the lab's Mac (no Mac needed): it deletes, then pauses at verification
    (status 3) because nobody re-enrolled the Mac yet."""
    args = ["run", "--only", "cloud", "--serial", lab.serial, "--yes", "--wait-seconds", "0", "--no-wait", *extra]
    return run_cli(*args, env=env or lab.env(), state_dir=state_dir)


def reenroll(lab) -> dict:
    """The Mac enrolls again and runs the registration policy: a new Jamf Pro record, Entra device, Intune record."""
    new = lab_post(lab, "/_lab/jamf/enroll", {"serial": lab.serial, "name": lab.identity.name})
    lab_post(lab, "/_lab/register", {"serial": lab.serial, "name": lab.identity.name, "user_upn": lab.identity.user_upn})
    return new


def run_dir(store) -> Path:
    return store.run_dir(store.latest())


def exports(store) -> list[dict]:
    """The latest run's export files, parsed, with their file names."""
    folder = run_dir(store) / "exports"
    return [{**json.loads(p.read_text()), "name": p.name} for p in sorted(folder.glob("*.json"))]
