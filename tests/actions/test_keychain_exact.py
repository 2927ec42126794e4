"""Step 8 (keychain.delete_exact): the Workplace Join items and identity preferences, and nothing else."""

from __future__ import annotations

from cleanup.engine.action import Outcome
from tests.support.simmac import SYSTEM_KC, login_kc

WPJ_ACCOUNTS = {"com.microsoft.workplacejoin.thumbprint", "com.microsoft.workplacejoin.registeredUserPrincipalName"}
PREFS = {"https://enterpriseregistration.windows.net", "https://enterpriseregistration.windows.net/"}


def _ident(item: dict) -> tuple:
    return (item["class"], item.get("key_kind"), item.get("labl"), item.get("svce"), item.get("acct"), item.get("sha1"))


def _wpj_cert(kc: dict) -> dict:
    return next(i for i in kc["items"] if i["class"] == "cert" and i["issuer_cn"] == "MS-ORGANIZATION-ACCESS")


def test_delete_exact_removes_the_workplace_join_items_and_nothing_else(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    paths = [SYSTEM_KC, login_kc("alice")]
    before = {p: mac.keychain(p) for p in paths}
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)

    cert = _wpj_cert(before[login_kc("alice")])
    ident = [c for c in plan.changes if c.kind == "delete-keychain-item" and c.details.get("sha1") == cert["sha1"]]
    assert len(ident) == 1
    assert ident[0].details["argv"] == ["/usr/bin/security", "delete-identity", "-Z", cert["sha1"], login_kc("alice")]
    assert {c.details.get("acct") for c in plan.changes if c.details.get("class") == "genp"} == WPJ_ACCOUNTS
    prefs = [c for c in plan.changes if c.kind == "clear-identity-preference"]
    assert {c.details["service"] for c in prefs} == PREFS
    assert all(c.details["sha1"] == cert["sha1"] and c.details["owner"] == "alice" for c in prefs)
    assert len(plan.changes) == 5
    assert not [c for c in plan.changes if c.details["keychain"] == SYSTEM_KC]

    assert set(mac.apply_all(ctx, step, plan)) == {Outcome.done("removed")}

    assert mac.keychain(SYSTEM_KC) == before[SYSTEM_KC]
    old, new = before[login_kc("alice")], mac.keychain(login_kc("alice"))
    private = next(i for i in old["items"] if i["class"] == "key" and i["key_kind"] == "private" and i["klbl"] == cert["hpky"])
    expected_gone = {_ident(cert), _ident(private)} | {_ident(i) for i in old["items"] if i["class"] == "genp" and i["acct"] in WPJ_ACCOUNTS}
    assert len(expected_gone) == 4
    assert [i for i in old["items"] if _ident(i) not in expected_gone] == new["items"]  # the rest, byte for byte
    assert new["identity_preferences"] == {}


def test_secure_enclave_key_is_reported_and_only_the_certificate_goes(sim_mac):
    mac = sim_mac(users=["alice"], scenario="secure-enclave", logged_out=[])
    old = mac.keychain(login_kc("alice"))
    cert = _wpj_cert(old)
    assert not [i for i in old["items"] if i["class"] == "key" and i.get("klbl") == cert["hpky"]]
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)

    change = next(c for c in plan.changes if c.kind == "delete-keychain-item" and c.details.get("sha1") == cert["sha1"])
    assert change.details["argv"] == ["/usr/bin/security", "delete-certificate", "-Z", cert["sha1"], login_kc("alice")]
    notes = [n for n in plan.notes if "not visible" in n]
    assert len(notes) == 1 and cert["labl"] in notes[0] and "alice" in notes[0] and "only the certificate" in notes[0]

    mac.apply_all(ctx, step, plan)
    new = mac.keychain(login_kc("alice"))
    gone = [i for i in old["items"] if i not in new["items"]]
    assert sorted(i.get("labl") for i in gone) == sorted([cert["labl"], *WPJ_ACCOUNTS])
    assert [i for i in old["items"] if i["class"] == "key"] == [i for i in new["items"] if i["class"] == "key"]
    assert new["identity_preferences"] == {}


def test_delete_exact_on_a_locked_keychain_is_blocked_and_untouched(sim_mac):
    mac = sim_mac(users=["bob"], logged_out=["bob"])
    bob_before = mac.hp(login_kc("bob")).read_bytes()
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)
    assert [b for b in plan.blocked if "bob" in b] == plan.blocked and len(plan.blocked) == 1
    assert not [c for c in plan.changes if c.details["keychain"] == login_kc("bob")]
    assert plan.changes == [] and plan.status == "blocked"  # the System keychain holds no Workplace Join item
    assert mac.hp(login_kc("bob")).read_bytes() == bob_before


def test_every_workplace_join_certificate_goes_even_when_two_share_one_private_key(sim_mac):
    """A Mac registered several times (the very case Cause 6 is about) can hold more than one
    MS-ORGANIZATION-ACCESS certificate for the same key pair. Each must really be removed, and no change
    may be reported "already gone" while its item is still in the keychain."""
    mac = sim_mac(users=["alice"], logged_out=[])
    kc = mac.keychain(login_kc("alice"))
    first = _wpj_cert(kc)
    second = dict(
        first,
        labl="11111111-2222-4333-8444-555555555555",
        alis="11111111-2222-4333-8444-555555555555",
        subject_cn="11111111-2222-4333-8444-555555555555",
        sha1="11F6AD8EC52A2984ABAAFD7C3B516503785C2072",
        sha256="2" * 64,
    )
    kc["items"].append(second)
    mac.write_keychain(login_kc("alice"), kc)
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)
    certs = [c for c in plan.changes if c.kind == "delete-keychain-item" and c.details["class"] == "cert"]
    assert {c.details["sha1"] for c in certs} == {first["sha1"], second["sha1"]}

    outcomes = {c.details.get("sha1") or c.key: mac.apply(ctx, step, c) for c in plan.changes}

    left = [i for i in mac.keychain(login_kc("alice"))["items"] if i["class"] == "cert" and i["issuer_cn"] == "MS-ORGANIZATION-ACCESS"]
    assert left == [], f"outcomes {outcomes}; still in the keychain: {[i['labl'] for i in left]}"
