"""Issue 9, keychain defects: keys taken along by certificate deletes, labels security(1) prints in hex,
users sharing a home, homes reached through a symlink, and a junk Workplace Join certificate."""

from __future__ import annotations

import hashlib

from cleanup.engine.action import Outcome
from cleanup.engine.plan import Change
from tests.support.simmac import SYSTEM_KC, login_kc


def _sha(seed: str, algo: str = "sha1") -> str:
    return hashlib.new(algo, seed.encode()).hexdigest().upper()


def _genp(svce: str, labl, acct: str = "acct") -> dict:
    return {
        "class": "genp",
        "svce": svce,
        "acct": acct,
        "labl": labl,
        "desc": None,
        "cdat": "20250608160530Z",
        "mdat": "20250608160530Z",
        "password": "secret:" + svce,
    }


def _cert(cn: str, issuer: str, hpky: str | None = None) -> dict:
    return {
        "class": "cert",
        "labl": cn,
        "alis": cn,
        "subject_cn": cn,
        "issuer_cn": issuer,
        "sha1": _sha("sha1:" + cn),
        "sha256": _sha("sha256:" + cn, "sha256"),
        "hpky": hpky or _sha("hpky:" + cn),
        "snbr": _sha("snbr:" + cn)[:32],
    }


def _key(kind: str, label: str, klbl: str) -> dict:
    return {"class": "key", "key_kind": kind, "labl": label, "klbl": klbl}


def _add_items(mac, path: str, *items: dict) -> None:
    kc = mac.keychain(path)
    kc["items"] += list(items)
    mac.write_keychain(path, kc)


def _wpj_cert(kc: dict) -> dict:
    return next(i for i in kc["items"] if i["class"] == "cert" and i["issuer_cn"] == "MS-ORGANIZATION-ACCESS")


def _keys(kc: dict, label: str) -> list[dict]:
    return [i for i in kc["items"] if i["class"] == "key" and i["labl"] == label]


def _cert_change(plan, sha1: str) -> Change:
    [change] = [c for c in plan.changes if c.kind == "delete-keychain-item" and c.details.get("sha1") == sha1]
    return change


# --------------------------------------------------------------------------- 1. keys taken along by a certificate


def test_identity_delete_is_not_used_when_a_jamf_key_shares_the_certificates_key_hash(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    cert = _wpj_cert(mac.keychain(login_kc("alice")))
    _add_items(mac, login_kc("alice"), _key("private", "JAMF", cert["hpky"]))
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)

    change = _cert_change(plan, cert["sha1"])
    assert change.details["argv"] == ["/usr/bin/security", "delete-certificate", "-Z", cert["sha1"], login_kc("alice")]
    why = [n for n in plan.notes if cert["labl"] in n and "JAMF" in n]
    assert len(why) == 1 and "alice" in why[0], plan.notes

    mac.apply_all(ctx, step, plan)
    kc = mac.keychain(login_kc("alice"))
    assert [k["key_kind"] for k in _keys(kc, "JAMF") if k["klbl"] == cert["hpky"]] == ["private"]
    assert not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]


def test_purge_removes_a_certificate_alone_when_its_private_key_is_not_matched(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    pair = _sha("pair:teams")
    cert = _cert("DeviceLogin.microsoft.com", "MS-Organization-P2P-Access [2025]", pair)
    _add_items(mac, login_kc("alice"), cert, _key("private", "Contoso Device Key", pair))
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)

    change = _cert_change(plan, cert["sha1"])
    assert change.details["argv"][1] == "delete-certificate", change.details["argv"]
    assert any("Contoso Device Key" in n and cert["labl"] in n for n in plan.notes), plan.notes

    assert mac.apply(ctx, step, change) == Outcome.done("removed")
    kc = mac.keychain(login_kc("alice"))
    assert _keys(kc, "Contoso Device Key") and not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]


def test_a_jamf_key_that_appears_after_planning_is_not_taken_by_the_identity_delete(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    cert = _wpj_cert(mac.keychain(login_kc("alice")))
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)
    change = _cert_change(plan, cert["sha1"])
    assert change.details["argv"][1] == "delete-identity"  # planned while the key pair was unambiguous

    _add_items(mac, login_kc("alice"), _key("private", "JAMF", cert["hpky"]))
    outcome = mac.apply(ctx, step, change)

    kc = mac.keychain(login_kc("alice"))
    assert [k for k in _keys(kc, "JAMF") if k["klbl"] == cert["hpky"]], outcome
    assert not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]
    assert "JAMF" in outcome.text


# --------------------------------------------------------------------------- 2. labels security(1) prints in hex


def test_labels_with_a_newline_or_a_no_break_space_are_matched_and_really_removed(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    nl = _genp("com.example.chat", "Company\nPortal")
    nbsp = _genp("com.example.meet", "Company\xa0Portal")
    multi = _genp("com.microsoft.CompanyPortal.multi", "multi\nline")  # matched by its service; the label must address it
    _add_items(mac, login_kc("alice"), nl, nbsp, multi)
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)

    planned = {c.details.get("svce"): c for c in plan.changes if c.details["keychain"] == login_kc("alice")}
    for item in (nl, nbsp, multi):
        assert item["svce"] in planned, plan.notes
        argv = planned[item["svce"]].details["argv"]
        assert argv[argv.index("-l") + 1] == item["labl"]
        assert mac.apply(ctx, step, planned[item["svce"]]) == Outcome.done("removed")
    left = {i.get("svce") for i in mac.keychain(login_kc("alice"))["items"]}
    assert not left & {"com.example.chat", "com.example.meet", "com.microsoft.CompanyPortal.multi"}


def test_a_label_security_cannot_address_is_refused_with_a_note_and_kept(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    binary = _genp("com.microsoft.CompanyPortal.binary", [0x4D, 0xFF, 0x00, 0x41])  # not UTF-8: no argv can carry it
    nul = _genp("com.microsoft.CompanyPortal.nul", "Company\0Portal")  # a NUL cannot be passed in argv
    _add_items(mac, login_kc("alice"), binary, nul)
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)

    for svce in ("com.microsoft.CompanyPortal.binary", "com.microsoft.CompanyPortal.nul"):
        assert not [c for c in plan.changes if c.details.get("svce") == svce]
        assert [n for n in plan.notes if n.startswith("refused") and svce in n and "alice" in n], plan.notes
    mac.apply_all(ctx, step, plan)
    left = {i.get("svce") for i in mac.keychain(login_kc("alice"))["items"]}
    assert {"com.microsoft.CompanyPortal.binary", "com.microsoft.CompanyPortal.nul"} <= left


def test_a_delete_that_removes_nothing_is_never_reported_already_gone(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.details.get("svce") == "com.microsoft.CompanyPortal.HockeySDK")
    argv = list(change.details["argv"])
    argv[argv.index("-l") + 1] = "636F6D2E6D6963726F736F6674"  # a label text the item does not have
    bent = Change(key=change.key, kind=change.kind, target=change.target, details={**change.details, "argv": argv})

    try:
        outcome = mac.apply(ctx, step, bent)
        text, unchanged = outcome.text, not outcome.changed
    except Exception as exc:
        text, unchanged = f"failed: {exc}", False
    assert not unchanged, text
    assert "still" in text
    assert [i for i in mac.keychain(login_kc("alice"))["items"] if i.get("svce") == "com.microsoft.CompanyPortal.HockeySDK"]


def test_the_fake_security_prints_labels_as_the_real_one_does(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    _add_items(mac, login_kc("alice"), _genp("com.example.nl", "multi\nline"), _genp("com.example.q", 'say "hi" \\o/'))
    user = next(u for u in mac.context().users if u.name == "alice")
    out = mac.host.run_as_user(user, ["/usr/bin/security", "dump-keychain", login_kc("alice")]).stdout
    blocks = {b.split('"svce"<blob>=')[1].splitlines()[0]: b for b in out.split("keychain: ")[1:] if '"svce"' in b}
    nl = blocks['"com.example.nl"']
    assert '    0x00000007 <blob>=0x6D756C74690A6C696E65  "multi\\012line"\n' in nl
    assert '"labl"' not in nl  # passwords print their label only as 0x00000007
    # a backslash is not printable for security(1): the value prints as hex, then its rendering with `"` raw
    raw = b'say "hi" \\o/'.hex().upper()
    assert f'    0x00000007 <blob>=0x{raw}  "say "hi" \\134o/"\n' in blocks['"com.example.q"']


# --------------------------------------------------------------------------- 3. two users, one home


def test_a_user_sharing_another_users_home_never_gets_that_keychain(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    mac.add_user_record("mallory", 608, "/Users/alice")
    ctx = mac.context()
    assert ctx.facts["entra_device_ids"].keys() == {"alice"}

    for ref in ("purge-keychains", "delete-keychain-entries"):
        step = mac.step(ref)
        plan = mac.plan(ctx, step)
        assert not plan.blocked, plan.blocked
        mine = [c for c in plan.changes if c.details["keychain"] == login_kc("alice")]
        assert mine and {c.details["owner"] for c in mine} == {"alice"}
        notes = [n for n in plan.notes if "mallory" in n]
        assert len(notes) == 1 and "/Users/alice" in notes[0] and "alice" in notes[0].replace("/Users/alice", ""), plan.notes
        assert set(mac.apply_all(ctx, step, plan)) <= {Outcome.done("removed"), Outcome.unchanged("already gone")}
    assert not [i for i in mac.keychain(login_kc("alice"))["items"] if i.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"]


# --------------------------------------------------------------------------- 4. a home through a symlink; junk certificates


def test_a_keychain_behind_a_symlinked_home_is_skipped_and_the_others_go_on(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    # carol's home is a link to a folder elsewhere; bob's Library/Keychains is a link to a folder elsewhere
    outside = mac.hp("/private/var/outside")
    (outside / "Library/Keychains").mkdir(parents=True)
    carol_kc = dict(mac.keychain(login_kc("alice")), owner="carol")
    mac.write_keychain("/private/var/outside/Library/Keychains/login.keychain-db", carol_kc)
    mac.hp("/Users/carol").symlink_to("../private/var/outside")
    mac.add_user_record("carol", 503, "/Users/carol")
    bob_lib = mac.hp("/Users/bob/Library/Keychains")
    moved = mac.hp("/private/var/bob-keychains")
    bob_lib.rename(moved)
    bob_lib.symlink_to("../../../private/var/bob-keychains")
    mac.set_state(logged_in=["alice", "bob", "carol"])
    outside_before = (outside / "Library/Keychains/login.keychain-db").read_bytes()
    bob_before = (moved / "login.keychain-db").read_bytes()

    ctx = mac.context()
    assert ctx.facts["entra_device_id"] == ctx.facts["entra_device_ids"]["alice"][0]
    assert ctx.facts["entra_device_ids"].keys() == {"alice"}
    for ref in ("purge-keychains", "delete-keychain-entries"):
        step = mac.step(ref)
        plan = mac.plan(ctx, step)
        assert not plan.blocked, plan.blocked
        assert {c.details["keychain"] for c in plan.changes} <= {SYSTEM_KC, login_kc("alice")}
        assert any(c.details["keychain"] == login_kc("alice") for c in plan.changes)
        for user, link in (("carol", "/Users/carol"), ("bob", "/Users/bob/Library/Keychains")):
            assert [n for n in plan.notes if user in n and link in n and "symlink" in n], plan.notes
        mac.apply_all(ctx, step, plan)
    assert (outside / "Library/Keychains/login.keychain-db").read_bytes() == outside_before
    assert (moved / "login.keychain-db").read_bytes() == bob_before


def test_a_junk_workplace_join_certificate_is_named_and_ignored_for_the_device_id(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    junk = _cert("not-a-guid", "MS-ORGANIZATION-ACCESS")
    _add_items(mac, login_kc("bob"), junk)
    ctx = mac.context()
    facts = ctx.facts
    assert "not-a-guid" not in [i for ids in facts["entra_device_ids"].values() for i in ids]
    assert facts["entra_device_id"] == facts["entra_device_ids"]["alice"][0]
    assert set(facts["entra_device_ids"]) == {"alice", "bob"}
    step0 = mac.plan(ctx, mac.step("facts"))
    named = [n for n in step0.notes if "not-a-guid" in n]
    assert len(named) == 1 and login_kc("bob") in named[0] and junk["sha1"] in named[0], step0.notes

    # It is still an MS-ORGANIZATION-ACCESS certificate: step 8's exact rule removes it, by its SHA-1 alone.
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)
    change = _cert_change(plan, junk["sha1"])
    assert change.details["argv"] == ["/usr/bin/security", "delete-certificate", "-Z", junk["sha1"], login_kc("bob")]
