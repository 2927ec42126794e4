"""Steps 12-13 verified: not yet (status 3, with what is missing), then `cleanup verify` once it happened."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest

from tests.support.lab import drive_cli, lab_state, run_cli, set_lab_state


def _lab_post(lab, path: str, body: dict) -> dict:
    ctx = ssl.create_default_context(cafile=str(lab.server.ca_pem))
    req = urllib.request.Request(lab.server.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_registration_not_seen_pauses_with_what_is_missing_then_verify_confirms_it(make_lab, state_dir, store):
    lab = make_lab("clean")
    set_lab_state(lab.mac, tenant=None)  # the Mac re-enrolls and runs the policy, but nothing reaches the tenant yet
    res, _outs = drive_cli(["run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0", "--no-wait"], lab.env(), state_dir, resume_args=["--no-wait"])
    assert res.returncode == 3 and "registration not yet" in res.stderr and "no new Jamf Pro record" in res.stderr
    run, _ = store.load(store.latest())
    assert run.step("verify-registration").state == "paused" and run.step("start-registration").state == "done"
    res = run_cli("verify", "--latest", "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 3 and json.loads(res.stdout)["data"]["verified"] is False
    # the registration arrives: a new Jamf record; Entra device and Intune record from the policy
    info = lab_state(lab.mac)
    _lab_post(lab, "/_lab/jamf/enroll", {"serial": info["serial"], "name": info["computer_name"]})
    res = run_cli("verify", "--latest", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 3 and "Intune has 0 new record(s)" in res.stdout
    _lab_post(lab, "/_lab/register", {"serial": info["serial"], "name": info["computer_name"], "user_upn": "alice@example.com"})
    res = run_cli("verify", "--latest", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0 and "verified" in res.stdout
    res = run_cli("resume", "--latest", "--no-wait", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    run, _ = store.load(store.latest())
    assert run.status == "done" and run.step("verify-registration").outcome.startswith("verified")
