"""Step 7 (keychain.purge_matching): broad rules, but never the JAMF keys, never an unrelated item,
never a locked keychain, never a delete that could hit a second item; login keychains are changed as their user."""

from __future__ import annotations

import hashlib

import pytest

from cleanup.engine.action import Outcome
from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.errors import ChangeBlocked
from tests.support.simmac import SYSTEM_KC, item_label, login_kc

# That unrelated items (Wi-Fi, Slack/Chrome Safe Storage, "Fortune Teller", the Apple certificate, com.apple.*
# tokens) survive steps 7 and 8 is checked after a real run in test_device_run.py, and item by item in the
# data-driven cases of test_keychain_fixtures.py.


def _jamf_keys(kc: dict) -> list[dict]:
    return [i for i in kc["items"] if i["class"] == "key" and "jamf" in (i.get("labl") or "").casefold()]


def _by_label(kc: dict, label: str) -> list[dict]:
    return [i for i in kc["items"] if item_label(i) == label]


def _cause6_literal_without_protect() -> str:
    """Step 7 as the article words it (literal = true), with no protect rule at all."""
    text = load_playbook("cause6").text.replace("\nliteral = false\n", "\nliteral = true\n", 1)
    start = text.index("[[steps.params.protect]]")
    end = text.index("[[steps]]", start)
    edited = text[:start] + text[end:]
    assert "protect" not in edited.split('id = "purge-keychains"')[1].split("[[steps]]")[1]
    return edited


def _add_jamf_identity_cert(mac, kc_path: str) -> dict:
    """A JAMF certificate whose private key is the JAMF key: delete-identity on it would take the key too."""
    kc = mac.keychain(kc_path)
    key = next(i for i in _jamf_keys(kc) if i["key_kind"] == "private")
    seed = "jamf-identity:" + kc_path
    cert = {
        "class": "cert",
        "labl": "JAMF Device Identity",
        "alis": "JAMF Device Identity",
        "subject_cn": "JAMF Device Identity",
        "issuer_cn": "JAMF Built-in Certificate Authority",
        "sha1": hashlib.sha1(seed.encode()).hexdigest().upper(),
        "sha256": hashlib.sha256(seed.encode()).hexdigest().upper(),
        "hpky": key["klbl"],
        "snbr": "01",
    }
    kc["items"].append(cert)
    mac.write_keychain(kc_path, kc)
    return cert


# --------------------------------------------------------------------------- the JAMF keys


def test_jamf_keys_survive_even_without_the_playbooks_protect_rule(sim_mac):
    # the article's literal wording takes every JAMF reference: the strongest rules there are
    mac = sim_mac(users=["alice"], logged_out=[])  # alice's login keychain holds JAMF keys, as does the System one
    mac.playbook = parse_playbook(_cause6_literal_without_protect(), "no-protect.toml")
    step = mac.step("purge-keychains")
    assert step.params["protect"] == [] and step.params["literal"] is True
    certs = {p: _add_jamf_identity_cert(mac, p) for p in (SYSTEM_KC, login_kc("alice"))}
    keys_before = {p: _jamf_keys(mac.keychain(p)) for p in certs}
    assert all(len(k) == 2 for k in keys_before.values())

    ctx = mac.context()
    plan = mac.plan(ctx, step)

    assert not [c for c in plan.changes if c.details["class"] == "key"]
    jamf_cert_changes = [c for c in plan.changes if c.details.get("labl") == "JAMF Device Identity"]
    assert len(jamf_cert_changes) == 2  # the certificate is a JAMF reference: it goes ...
    for c in jamf_cert_changes:  # ... but never as an identity, which would take the JAMF private key along
        assert c.details["argv"][1] == "delete-certificate", c.details["argv"]
    assert sum("JAMF keys are never removed" in n for n in plan.notes) >= 4, plan.notes

    # Only certificate deletes can take a key along (delete-identity); apply every one of them.
    cert_changes = [c for c in plan.changes if c.details["class"] == "cert"]
    assert {mac.apply(ctx, step, c) for c in cert_changes} == {Outcome.done("removed")}
    for path, cert in certs.items():
        kc = mac.keychain(path)
        assert _jamf_keys(kc) == keys_before[path]
        assert not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]


# --------------------------------------------------------------------------- as the keychain's user


def test_login_keychain_changes_run_as_their_user(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    owners = {(c.details["keychain"], c.details["owner"]) for c in plan.changes}
    assert owners == {(SYSTEM_KC, None), (login_kc("alice"), "alice"), (login_kc("bob"), "bob")}

    label = "com.microsoft.CompanyPortal.HockeySDK"
    for user in ("alice", "bob"):
        change = next(c for c in plan.changes if c.details["owner"] == user and c.details.get("labl") == label)
        # control: the simulated security(1) refuses root a login keychain's search (reported as "not found") ...
        res = mac.host.run(change.details["argv"])
        assert res.returncode == 44 and _by_label(mac.keychain(login_kc(user)), label)
        # ... so the product's successful delete proves it ran as that user
        assert mac.apply(ctx, step, change) == Outcome.done("removed")
        assert not _by_label(mac.keychain(login_kc(user)), label)
    # and a System keychain item is changed as root
    change = next(c for c in plan.changes if c.details["owner"] is None and c.details["class"] == "genp")
    assert mac.apply(ctx, step, change) == Outcome.done("removed")


# --------------------------------------------------------------------------- locked keychains


def test_locked_keychain_blocks_the_step_and_is_not_touched(sim_mac):
    mac = sim_mac(users=["bob"], logged_out=["bob"])  # nobody at the console; only the System keychain is open
    bob_kc = mac.hp(login_kc("bob"))
    bob_before = bob_kc.read_bytes()
    ctx = mac.context()
    step = mac.step("purge-keychains")

    plan = mac.plan(ctx, step)
    assert len(plan.blocked) == 1 and "bob" in plan.blocked[0] and "locked" in plan.blocked[0]
    assert {c.details["keychain"] for c in plan.changes} == {SYSTEM_KC}  # nothing planned in bob's keychain
    mac.apply_all(ctx, step, plan)
    assert bob_kc.read_bytes() == bob_before

    # With everything else done, what is left is the blocked keychain: the step is blocked, not a no-op.
    again = mac.plan(ctx, step)
    assert again.changes == [] and again.status == "blocked"
    assert any("bob" in b for b in again.blocked)
    assert bob_kc.read_bytes() == bob_before


def test_keychain_locked_between_plan_and_apply_is_blocked_not_forced(sim_mac):
    mac = sim_mac(users=["bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    bob_changes = [c for c in plan.changes if c.details["owner"] == "bob"]
    assert bob_changes
    mac.set_state(logged_in=[])  # bob logs out: his keychain locks
    bob_before = mac.hp(login_kc("bob")).read_bytes()
    for change in bob_changes[:3]:
        with pytest.raises(ChangeBlocked) as exc:
            mac.apply(ctx, step, change)
        assert login_kc("bob") in str(exc.value)
    assert mac.hp(login_kc("bob")).read_bytes() == bob_before


# --------------------------------------------------------------------------- ambiguous deletes


def _genp(svce, acct, labl, desc, password):
    return {"class": "genp", "svce": svce, "acct": acct, "labl": labl, "desc": desc, "cdat": "20250608160530Z", "mdat": "20250608160530Z", "password": password}


def test_a_delete_that_could_hit_another_item_is_refused(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    # Same service and account. The one to purge has no label (its description names Intune), so the only
    # delete query for it (-s ... -a ...) also matches the other one, which no rule matches.
    keep = _genp("com.example.sync", "alice", "Example Sync", None, "keep-me")
    purge = _genp("com.example.sync", "alice", None, "Microsoft Intune sync token", "purge-me")
    kc = mac.keychain(login_kc("alice"))
    others = [i for i in kc["items"] if i.get("svce") in ("com.microsoft.CompanyPortal", "Slack Safe Storage")]
    kc["items"] = [keep, purge, *others]  # the one to keep comes first: a loose delete would take it
    mac.write_keychain(login_kc("alice"), kc)

    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    assert not [c for c in plan.changes if c.details.get("svce") == "com.example.sync"]
    refused = [n for n in plan.notes if n.startswith("refused") and "com.example.sync" in n]
    assert len(refused) == 1 and "Example Sync" in refused[0] and "alice" in refused[0], plan.notes
    assert any(c.details.get("svce") == "com.microsoft.CompanyPortal" for c in plan.changes)  # the rest goes on

    mac.apply_all(ctx, step, plan)
    left = [i for i in mac.keychain(login_kc("alice"))["items"] if i.get("svce") == "com.example.sync"]
    assert sorted(i["password"] for i in left) == ["keep-me", "purge-me"]

    # Why this matters: the only query that could address the purge item deletes the first match: the wrong one.
    user = ctx.users[0]
    res = mac.host.run_as_user(user, ["/usr/bin/security", "delete-generic-password", "-s", "com.example.sync", "-a", "alice", login_kc("alice")])
    assert res.returncode == 0
    left = [i["password"] for i in mac.keychain(login_kc("alice"))["items"] if i.get("svce") == "com.example.sync"]
    assert left == ["purge-me"]
