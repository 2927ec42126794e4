"""`Jamf Conditional Access clean` as each logged-in user, before the Jamf framework goes (playbook step 1, jamf-ca-clean)."""

import os
import shutil

import pytest

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.plan import Change, ChangeKind
from cleanup.engine.runner import Runner, Selection
from cleanup.errors import UnsafePath
from cleanup.hosts import open_host
from cleanup.hosts.registration import JAMF_CA_PATHS
from tests.support.lab import run_cli
from tests.support.models2026 import ca_calls, remove_jamf_ca, replace_tool
from tests.support.simmac import item_label, login_kc

CA = JAMF_CA_PATHS[0]
JAMFAAD = "com.jamf.management.jamfAAD"


def _plan(mac, **options):
    ctx = mac.context(**options)
    step = mac.step("jamf-ca-clean")
    return ctx, step, mac.plan(ctx, step)


def test_numbered_1_before_the_framework_goes_and_the_article_numbers_still_name_the_article_steps():
    pb = load_playbook("cause6")
    ids = [s.id for s in pb.steps]
    step = pb.step("jamf-ca-clean")
    assert step.number == 1 and not step.destructive and ids.index("jamf-ca-clean") < ids.index("remove-mdm-profile") < ids.index("remove-framework")
    assert pb.step("2").id == "remove-mdm-profile" and pb.step("3").id == "remove-framework" and pb.step("1").id == "preflight"


def test_runs_as_each_logged_in_user_with_the_exact_argv(sim_mac):
    mac = sim_mac(scenario="device-compliance", logged_out=[])
    ctx, step, plan = _plan(mac)
    assert [c.details for c in plan.changes] == [
        {"argv": [CA, "clean"], "as_user": "alice", "uid": 501},
        {"argv": [CA, "clean"], "as_user": "bob", "uid": 502},
    ]
    assert plan.changes[0].target == f"/bin/launchctl asuser 501 /usr/bin/sudo -u alice '{CA}' clean"
    assert [mac.apply(ctx, step, c).text for c in plan.changes] == ["cleaned as alice", "cleaned as bob"]
    assert ca_calls(mac.root) == [{"verb": "clean", "user": "alice", "uid": 501}, {"verb": "clean", "user": "bob", "uid": 502}]
    for user in ("alice", "bob"):
        assert JAMFAAD not in {item_label(i) for i in mac.keychain(login_kc(user))["items"]}


def test_a_logged_out_user_is_named_and_left(sim_mac):
    mac = sim_mac(scenario="platform-sso")  # bob is logged out
    _, _, plan = _plan(mac)
    assert [c.details["as_user"] for c in plan.changes] == ["alice"]
    assert any(n.startswith("bob is not logged in") for n in plan.notes)


def test_the_other_spelling_is_used_when_it_is_the_one_there(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    os.unlink(mac.hp(CA))
    _, _, plan = _plan(mac)
    assert plan.changes[0].details["argv"] == [JAMF_CA_PATHS[1], "clean"]


@pytest.mark.parametrize(
    "scenario, change, reason",
    [
        ("default", None, "registration model unknown: the Mac shows neither Device Compliance nor Platform SSO"),
        ("device-compliance", "remove", "Jamf Conditional Access is not on this Mac"),
        ("device-compliance", "nobody", "nobody is logged in"),
    ],
)
def test_no_op_with_the_reason(sim_mac, scenario, change, reason):
    mac = sim_mac(scenario=scenario, users=["alice"], logged_out=["alice"] if change == "nobody" else [])
    if change == "remove":
        remove_jamf_ca(mac.root)
    _, _, plan = _plan(mac)
    assert not plan.changes and plan.noop_reason.startswith(reason), plan.noop_reason


def test_dry_run_names_each_user_and_changes_nothing(make_mac, state_dir):
    from cleanup.lab.simmac.snapshot import tree_manifest

    mac = make_mac(scenario="device-compliance", logged_out=[])
    before = tree_manifest(mac)
    res = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert f"run /bin/launchctl asuser 501 /usr/bin/sudo -u alice '{CA}' clean" in res.stdout
    assert f"run /bin/launchctl asuser 502 /usr/bin/sudo -u bob '{CA}' clean" in res.stdout
    assert tree_manifest(mac) == before and ca_calls(mac) == []


def test_never_as_root_or_a_user_that_is_not_there(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    ctx, step, _ = _plan(mac)
    for who, uid in (("root", 0), ("mallory", 503)):
        forged = Change(f"command:jamf-ca-clean:{who}", ChangeKind.RUN_COMMAND, "forged", {"argv": [CA, "clean"], "as_user": who, "uid": uid})
        with pytest.raises(UnsafePath):
            mac.apply(ctx, step, forged)
    assert ca_calls(mac.root) == []


def test_one_user_failing_is_reported_and_the_run_goes_on(make_mac, store):
    """An admin expects the reset to go on: what clean removes, steps 6 and 7 remove anyway."""
    mac = make_mac(scenario="device-compliance", logged_out=[])
    real = mac / (CA.lstrip("/") + ".real")
    shutil.copy2(mac / CA.lstrip("/"), real)
    replace_tool(
        mac,
        CA,
        f'#!/bin/sh\nif [ "$1" = clean ] && [ "$SIMMAC_USER" = bob ]; then echo "clean: keychain error -25308" >&2; exit 1; fi\nexec "{real}" "$@"\n',
    )
    runner = Runner(store, open_host(f"sim:{mac}"), load_playbook("cause6"), RunOptions(yes=True, autoresume=False))
    run = runner.start(Selection(only="device", stop="1"))
    assert run.status == "done" and run.step("jamf-ca-clean").state == "done"
    results = {e["key"]: e["result"] for e in _audit(store, run.run_id) if e.get("event") == "result"}
    assert results["command:jamf-ca-clean:alice"] == "cleaned as alice"
    assert results["command:jamf-ca-clean:bob"].startswith("not cleaned as bob (exit 1: 'clean: keychain error -25308'); the run goes on")
    assert [c["user"] for c in ca_calls(mac)] == ["alice"]  # bob's call never reached the tool


def _audit(store, run_id):
    import json

    return [json.loads(line) for line in (store.run_dir(run_id) / "audit.jsonl").read_text().splitlines()]
