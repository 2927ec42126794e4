"""Verification of a Platform SSO Mac: the Device Compliance checks for the Platform SSO deviceId, and the Mac's
registration completed with that deviceId (read on the Mac; for `cleanup verify RUN`, what the repair step
recorded)."""

from __future__ import annotations

import json

from cleanup.actions.verify import check_registration, psso_from_mac
from cleanup.clients.session import CloudSession
from cleanup.engine.context import RunContext, RunOptions
from cleanup.hosts import open_host, probes
from cleanup.lab.tenant.model import new_guid
from tests.support.clienthelpers import cloud_parts
from tests.support.modelcloud import reregister, reset_cloud, verify_latest


def _as_platform_sso(store, record: dict | None = None) -> None:
    """The run as a device run of a Platform SSO Mac records it: step 0's model, and the repair step's record."""
    run, _ = store.load(store.latest())
    path = store.run_dir(run.run_id) / "state.json"
    data = json.loads(path.read_text())
    data["facts"]["cloud"]["registration"]["model"] = "platform-sso"
    if record is not None:
        data["steps"][0]["data"]["psso"] = record
    path.write_text(json.dumps(data))


def test_psso_verified_only_with_the_registration_completed_for_the_device_jamf_reports(make_lab, state_dir, store):
    lab = make_lab("platform-sso")
    reset_cloud(lab, state_dir)
    new_id = new_guid()
    reg = reregister(lab, model="platform-sso", device_id=new_id)
    run, _ = store.load(store.latest())
    facts = {**run.facts["cloud"], "registration": {**run.facts["cloud"]["registration"], "model": "platform-sso"}}
    with CloudSession(*cloud_parts(lab.server)) as cloud:
        unknown = check_registration(cloud, facts, None)
        assert not unknown.verified and any("Platform SSO registration is not confirmed" in m for m in unknown.missing)
        broken = check_registration(cloud, facts, {"registered": False, "device_id": None, "source": "app-sso platform -s as alice"})
        assert not broken.verified and any("Platform SSO registration not completed (app-sso" in m for m in broken.missing)
        other = new_guid()
        wrong = check_registration(cloud, facts, {"registered": True, "device_id": other, "source": "app-sso platform -s as alice"})
        assert not wrong.verified and any(f"not the Mac's Platform SSO deviceId {other}" in m for m in wrong.missing)
        ok = check_registration(cloud, facts, {"registered": True, "device_id": new_id, "source": "app-sso platform -s as alice"})
    assert ok.verified and ok.model == "platform-sso", ok.missing
    assert ok.found["entra"] == reg["entra_id"] and ok.found["trust_type"] == "AzureAd" and ok.found["psso"]["device_id"] == new_id
    assert ok.summary().startswith("verified (Platform SSO): ")


def test_cleanup_verify_without_a_mac_uses_the_repair_steps_record(make_lab, state_dir, store):
    lab = make_lab("platform-sso")
    reset_cloud(lab, state_dir)
    new_id = new_guid()
    reregister(lab, model="platform-sso", device_id=new_id)
    _as_platform_sso(store)
    code, data = verify_latest(lab, state_dir)
    assert code == 3 and data["model"] == "platform-sso" and any("not confirmed" in m for m in data["missing"])
    _as_platform_sso(store, {"user": "alice", "device_id": new_id.upper(), "checked_at": 1.0})
    code, data = verify_latest(lab, state_dir)
    assert code == 0 and data["verified"] and data["found"]["psso"] == {"device_id": new_id, "source": "recorded by the repair step for alice"}


def test_the_platform_sso_state_is_read_on_the_mac(make_lab):
    lab = make_lab("platform-sso", mac_scenario="platform-sso")
    plain = make_lab("device-compliance", name="plain", mac_scenario="device-compliance")
    for mac, registered, device_id in ((lab, True, lab.info["psso"]["device_id"]), (plain, False, None)):
        host = open_host(f"sim:{mac.mac}")
        users = [{"name": u.name, "uid": u.uid, "home": u.home} for u in probes.local_users(host)]
        ctx = RunContext(host=host, options=RunOptions(), facts={"users": users, "console_user": "alice"})
        assert psso_from_mac(ctx, None) == {"registered": registered, "device_id": device_id, "source": "app-sso platform -s as alice"}
