"""Issue 11, point 4: steps 0, 7 and 8 against security(1) as a real Mac behaves. "Locked / not logged in" is
decided from the login session and errSecInteractionNotAllowed's text, never from exit 36: dump-keychain exits 1,
a refused password search reads as "not found", a delete a locked keychain refuses may print "password has been
deleted." and exit 36, and current macOS may still list a locked keychain's attributes (the lab's
``locked_keychains_list`` knob shows both outcomes). A certificate already gone is exit 1, reported "already gone"."""

from __future__ import annotations

import pytest

from cleanup.engine.action import Outcome
from cleanup.engine.plan import Change
from cleanup.errors import ChangeBlocked, StepFailed
from tests.support.simmac import SYSTEM_KC, login_kc


def _bob_changes(plan) -> list:
    return [c for c in plan.changes if c.details.get("owner") == "bob"]


@pytest.mark.parametrize("lists", [False, True], ids=["locked-refuses", "locked-lists"])
def test_a_logged_out_users_keychain_blocks_steps_7_and_8_and_the_rest_goes_on(sim_mac, lists):
    mac = sim_mac(users=["alice", "bob"], logged_out=["bob"])
    mac.set_state(locked_keychains_list=lists)
    bob_before = mac.hp(login_kc("bob")).read_bytes()
    ctx = mac.context()
    assert ctx.facts["entra_device_ids"]["alice"]  # one locked keychain does not drop the others
    assert ("bob" in ctx.facts["entra_device_ids"]) is lists  # a listed one still gives its deviceId

    for ref in ("purge-keychains", "delete-keychain-entries"):
        step = mac.step(ref)
        plan = mac.plan(ctx, step)
        assert [b for b in plan.blocked if "bob" in b] == plan.blocked and len(plan.blocked) == 1
        assert plan.waiting_for == ["login:bob"]
        assert not _bob_changes(plan) and any(c.details["owner"] == "alice" for c in plan.changes)
        waiting = [n for n in plan.notes if n.startswith("once bob logs in: ")]
        assert bool(waiting) is lists, plan.notes  # what would go, when security(1) could list it
        mac.apply_all(ctx, step, plan)
    assert mac.hp(login_kc("bob")).read_bytes() == bob_before

    mac.set_state(logged_in=["alice", "bob"])  # bob logs in: his keychain is planned as anyone's
    plan = mac.plan(mac.context(), mac.step("purge-keychains"))
    assert not plan.blocked and _bob_changes(plan)


def test_a_delete_that_a_locked_keychain_refuses_is_blocked_even_when_security_claims_it_deleted(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    mac.set_state(locked_keychains_list=True)
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    password = next(c for c in _bob_changes(plan) if c.details["class"] == "genp")
    cert = next(c for c in _bob_changes(plan) if c.details["class"] == "cert")
    mac.set_state(logged_in=["alice"])  # bob logs out between plan and apply
    before = mac.hp(login_kc("bob")).read_bytes()

    # control: security(1) itself prints the confirmation and exits 36, with no word of a lock
    user = next(u for u in ctx.users if u.name == "bob")
    res = mac.host.run_as_user(user, password.details["argv"])
    assert (res.returncode, res.stderr) == (36, "password has been deleted.\n")

    for change in (password, cert):
        with pytest.raises(ChangeBlocked) as exc:
            mac.apply(ctx, step, change)
        assert exc.value.waiting_for == "login:bob"
    assert mac.hp(login_kc("bob")).read_bytes() == before


def test_a_password_search_a_locked_keychain_refuses_is_blocked_not_already_gone(sim_mac):
    mac = sim_mac(users=["bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("purge-keychains")
    change = next(c for c in _bob_changes(mac.plan(ctx, step)) if c.details["class"] == "genp")
    mac.set_state(logged_in=[])  # bob logs out; security(1) now reports his items "not found" (exit 44)
    before = mac.hp(login_kc("bob")).read_bytes()
    with pytest.raises(ChangeBlocked):
        mac.apply(ctx, step, change)
    assert mac.hp(login_kc("bob")).read_bytes() == before


def test_without_ps_the_message_still_tells_a_locked_keychain(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=["bob"])
    mac.hp("/bin/ps").unlink()  # the session cannot be read: security(1)'s own words decide
    ctx = mac.context()
    assert ctx.facts["entra_device_ids"].keys() == {"alice"}
    plan = mac.plan(ctx, mac.step("purge-keychains"))
    assert len(plan.blocked) == 1 and "bob" in plan.blocked[0] and not _bob_changes(plan)


def test_a_certificate_already_gone_is_already_gone_and_one_still_there_fails(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)
    [device_login] = [c for c in plan.changes if c.details.get("labl") == "DeviceLogin.microsoft.com" and c.details["owner"] == "alice"]
    system_cert = next(c for c in plan.changes if c.details["keychain"] == SYSTEM_KC and c.details["class"] == "cert")

    # someone removed it after planning: security(1) says "Unable to delete certificate matching ..." (exit 1)
    alice = next(u for u in ctx.users if u.name == "alice")
    assert mac.host.run_as_user(alice, device_login.details["argv"]).returncode == 0
    assert mac.apply(ctx, step, device_login) == Outcome.unchanged("already gone")

    # a delete that finds nothing while the certificate is still there is never "already gone"
    argv = list(system_cert.details["argv"])
    argv[argv.index("-Z") + 1] = "0" * 40
    bent = Change(key=system_cert.key, kind=system_cert.kind, target=system_cert.target, details={**system_cert.details, "argv": argv})
    with pytest.raises(StepFailed, match="found nothing to delete"):
        mac.apply(ctx, step, bent)
    assert [i for i in mac.keychain(SYSTEM_KC)["items"] if i.get("sha1") == system_cert.details["sha1"]]


def test_the_identity_of_a_certificate_whose_key_is_not_visible_goes_as_the_certificate(sim_mac):
    mac = sim_mac(users=["alice"], scenario="secure-enclave", logged_out=[])
    ctx = mac.context()
    step = mac.step("delete-keychain-entries")
    plan = mac.plan(ctx, step)
    cert = next(c for c in plan.changes if c.details.get("class") == "cert")
    assert cert.details["argv"][1] == "delete-certificate"
    assert [n for n in plan.notes if "not visible" in n]
    assert mac.apply(ctx, step, cert) == Outcome.done("removed")
    assert not [i for i in mac.keychain(login_kc("alice"))["items"] if i.get("sha1") == cert.details["sha1"]]
