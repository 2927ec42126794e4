"""``<username>`` stands only for real local users (UID >= 500, home /Users/<name>); a bent name stops everything."""

from __future__ import annotations

import pytest

from cleanup.errors import SafetyRefusal
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import drive

COOKIE = "Library/Cookies/com.microsoft.CompanyPortal.binarycookies"
PREF = "Library/Preferences/com.microsoft.CompanyPortal.plist"


def _plant(mac, home: str) -> list[str]:
    """Put two article items in ``home`` (a Mac path) and return their host-relative paths."""
    rels = [f"{home.lstrip('/')}/{COOKIE}", f"{home.lstrip('/')}/{PREF}"]
    for rel in rels:
        p = mac.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"{rel} must survive\n")
    return rels


def test_username_expands_only_to_real_local_users(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    # Accounts the product must leave alone although their homes hold article items:
    mac.add_user_record("_svc", 499, "/Users/_svc")  # a service account just below the first real UID
    mac.add_user_record("daemon2", 1, "/Users/daemon2")
    mac.add_user_record("nobody2", -2, "/Users/nobody2")
    # ...and one that counts: UID 500 is the first real one
    mac.add_user_record("admin", 500, "/Users/admin")
    planted = {u: _plant(mac, f"/Users/{u}") for u in ("_svc", "daemon2", "nobody2", "admin")}
    planted["root"] = _plant(mac, "/var/root")  # root's home, for completeness

    ctx = mac.context()
    assert [(u.name, u.uid, u.home) for u in ctx.users] == [("admin", 500, "/Users/admin"), ("alice", 501, "/Users/alice"), ("bob", 502, "/Users/bob")]

    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    planned = [c.details["path"] for c in plan.changes]
    homes = {p.split("/")[2] for p in planned if p.startswith("/Users/")}
    assert homes == {"admin", "alice", "bob"}
    assert not [p for p in planned if not (p.startswith("/Library/") or p.split("/")[2] in homes)]

    mac.apply_all(ctx, step, plan)
    for u in ("_svc", "daemon2", "nobody2", "root"):
        for rel in planted[u]:
            assert (mac.root / rel).read_text() == f"{rel} must survive\n", rel
    for rel in planted["admin"]:
        assert not (mac.root / rel).exists()


def test_a_user_whose_home_is_not_users_name_is_left_alone_with_a_note(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    mac.add_user_record("eve", 600, "/private/var/eve")
    planted = _plant(mac, "/private/var/eve")
    ctx = mac.context()
    assert "eve" in [u.name for u in ctx.users]
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    assert not [c for c in plan.changes if "eve" in c.details["path"]]
    assert any("eve" in n and "/private/var/eve" in n for n in plan.notes), plan.notes
    mac.apply_all(ctx, step, plan)
    assert all((mac.root / rel).exists() for rel in planted)


def test_unsafe_username_refuses_before_anything_changes(sim_mac, store):
    mac = sim_mac(scenario="unsafe-username", logged_out=[])
    before = tree_manifest(mac.root)

    with pytest.raises(SafetyRefusal) as exc:
        mac.context()  # step 0 on its own
    # refused where the name is read, naming the record (not merely tripped over later by a bent path)
    assert "user database" in exc.value.message and "'../root'" in exc.value.message

    with pytest.raises(SafetyRefusal):
        drive(store, mac.root)  # a real run: stops in step 0, before any destructive step

    assert tree_manifest(mac.root) == before
    assert not (store.root / "runs").exists() or not any((store.root / "runs").iterdir())
