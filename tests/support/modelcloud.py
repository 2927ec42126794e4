"""Cloud-only resets on the 2026 tenant scenarios and what the Mac does afterwards, for the model tests
(`cleanup run --only cloud --serial SN`, the lab's /_lab/jamf/enroll and /_lab/register, `cleanup verify`)."""

from __future__ import annotations

import json
import ssl
import urllib.request

from tests.support.lab import run_cli


def post(lab, path: str, body: dict) -> dict:
    ctx = ssl.create_default_context(cafile=str(lab.server.ca_pem))
    req = urllib.request.Request(lab.server.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


def plan_steps(lab, state_dir, graph: str = "full") -> dict:
    """The cloud-only dry-run's steps by id."""
    res = run_cli("plan", "--only", "cloud", "--serial", lab.serial, "--json", env=lab.env(graph=graph), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    return {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}


def reset_cloud(lab, state_dir, graph: str = "full"):
    """Steps 0-11 and the verification, paused (nothing has re-registered yet)."""
    args = ("run", "--only", "cloud", "--serial", lab.serial, "--yes", "--wait-seconds", "0", "--no-wait")
    res = run_cli(*args, env=lab.env(graph=graph), state_dir=state_dir)
    assert res.returncode == 3 and "registration not yet" in res.stderr, res.stderr
    return res


def reregister(lab, **body) -> dict:
    """What the Mac does in steps 12-13: re-enroll, then register as the user (as the tenant's model makes it)."""
    post(lab, "/_lab/jamf/enroll", {"serial": lab.serial, "name": lab.identity.name, "user_upn": lab.identity.user_upn})
    return post(lab, "/_lab/register", {"serial": lab.serial, "name": lab.identity.name, "user_upn": lab.identity.user_upn, **body})


def verify_latest(lab, state_dir) -> tuple[int, dict]:
    res = run_cli("verify", "--latest", "--json", env=lab.env(), state_dir=state_dir)
    return res.returncode, json.loads(res.stdout)["data"]
