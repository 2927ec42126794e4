"""Step 6 (files.remove): only the listed paths go; links are removed as links; nothing is reached through one."""

from __future__ import annotations

import os
import shutil

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.errors import PlaybookError, UnsafePath
from cleanup.lab.simmac.snapshot import diff_manifests, tree_manifest
from tests.support.simmac import tree_bytes

TRAP = "System/Library/Trap"
CAROL_SAS = "/Users/carol/Library/Saved Application State"
SHARED_SAS = "Users/Shared/SavedState-carol"


def _run_step6(store, mac):
    """A real run of step 6 only (facts and preflight always run first)."""
    runner = Runner(store, mac.host, mac.playbook, RunOptions(yes=True, wait_seconds=0, autoresume=False))
    return runner.start(Selection(only="device", start="remove-files", stop="remove-files"))


# --------------------------------------------------------------------------- TOCTOU between plan and apply


SWAPS = [
    # (planned path, the parent swapped for a link after planning)
    ("/Users/alice/Library/Preferences/com.microsoft.CompanyPortal.plist", "/Users/alice/Library/Preferences"),
    ("/Users/bob/Library/Application Support/com.microsoft.CompanyPortal", "/Users/bob/Library/Application Support"),
    ("/Users/bob/Library/Cookies/com.jamf.management.jamfAAD.binarycookies", "/Users/bob"),
    ("/Library/Preferences/com.jamfsoftware.selfservice.mac.plist", "/Library/Preferences"),
]


def test_paths_swapped_for_links_after_planning_are_never_followed(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    for i, (planned, parent) in enumerate(SWAPS):
        change = next(c for c in plan.changes if c.details["path"] == planned)
        # An attacker (or a racing process) swaps the parent folder for a link to a folder elsewhere that
        # holds an entry of the same name at the same place.
        outside = mac.root / f"Users/Shared/Outside{i}"
        twin = outside / planned[len(parent) + 1 :]
        if change.details["type"] == "dir":
            (twin / "sub").mkdir(parents=True)
            (twin / "sub/precious.txt").write_text("must survive\n")
        else:
            twin.parent.mkdir(parents=True)
            twin.write_text("must survive\n")
        (outside / "other.txt").write_text("also must survive\n")
        before = tree_bytes(outside)
        os.rename(mac.hp(parent), str(mac.hp(parent)) + ".moved")
        os.symlink("../" * (parent.count("/") - 1) + f"Users/Shared/Outside{i}", mac.hp(parent))
        assert mac.host.lstat(planned) is not None  # the planned path "exists" again, through the link

        with pytest.raises(UnsafePath):
            mac.apply(ctx, step, change)

        assert tree_bytes(outside) == before, planned
        assert os.path.islink(mac.hp(parent))

    # The planned folder itself swapped for a link to a system folder: never its target, and not even the link,
    # which is not what was planned (a new plan would name it as a link, to be removed as a link only).
    target = "/Users/alice/Library/Application Support/com.jamfsoftware.selfservice.mac"
    change = next(c for c in plan.changes if c.details["path"] == target)
    assert change.details["type"] == "dir"
    trap_before = tree_bytes(mac.root / TRAP)
    shutil.rmtree(mac.hp(target))
    os.symlink("../../../../System/Library/Trap", mac.hp(target))
    with pytest.raises(UnsafePath):
        mac.apply(ctx, step, change)
    assert os.path.islink(mac.hp(target))
    assert tree_bytes(mac.root / TRAP) == trap_before
    replanned = next(c for c in mac.plan(ctx, step).changes if c.details["path"] == target)
    assert replanned.details["type"] == "link"
    mac.apply(ctx, step, replanned)
    assert not os.path.lexists(mac.hp(target))
    assert tree_bytes(mac.root / TRAP) == trap_before


# --------------------------------------------------------------------------- only listed paths


def _inside_any(path: str, roots: set[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def test_real_step6_run_removes_only_planned_paths_and_refuses_linked_parents(sim_mac, store):
    # The third user's whole "Saved Application State" folder is a link to /Users/Shared/SavedState-carol,
    # which holds folders named like the article's items.
    mac = sim_mac(users=["alice", "bob", "carol"], logged_out=["bob"])
    assert os.path.islink(mac.hp(CAROL_SAS))
    shared_before = tree_bytes(mac.root / SHARED_SAS)
    assert "com.microsoft.CompanyPortal.savedState/data.json" in shared_before
    before = tree_manifest(mac.root)

    run = _run_step6(store, mac)
    st = run.step("remove-files")
    assert st.state == "done"

    # paths under the linked parent are refused, and the refusal is in the plan's notes (kept with the run)
    for name in ("com.jamfsoftware.selfservice.mac.savedState", "com.microsoft.CompanyPortal.savedState"):
        assert [n for n in st.notes if n.startswith(f"refused {CAROL_SAS}/{name}:") and "symlink" in n], st.notes
    assert os.path.islink(mac.hp(CAROL_SAS)) and os.readlink(mac.hp(CAROL_SAS)) == "../../Shared/SavedState-carol"
    assert tree_bytes(mac.root / SHARED_SAS) == shared_before

    # what the run planned, from its own audit log (an intent is logged before each change)
    records = AuditLog(store.run_dir(run.run_id) / "audit.jsonl").records()
    intents = [r for r in records if r["event"] == "intent" and r["step"] == "remove-files"]
    planned = {r["details"]["path"].lstrip("/") for r in intents}
    assert len(planned) == len(intents) > 20
    assert not [p for p in planned if p.startswith(CAROL_SAS.lstrip("/") + "/")]
    # the same items of the other users were planned normally
    assert "Users/alice/Library/Saved Application State/com.microsoft.CompanyPortal.savedState" in planned
    assert "Users/bob/Library/Saved Application State/com.microsoft.CompanyPortal.savedState" in planned
    assert not [r for r in records if r["event"] == "intent" and r["step"] != "remove-files"]

    after = tree_manifest(mac.root)
    removed, added, changed = diff_manifests(before, after)
    assert added == [] and changed == []
    stray = [p for p in removed if not _inside_any(p, planned)]
    assert stray == []
    assert planned <= set(removed)  # and every planned path really went: the run did its job


# --------------------------------------------------------------------------- playbook paths are checked at load


STEP6_TEMPLATE = """
[playbook]
name = "edited"

[[steps]]
id = "remove-files"
number = 6
title = "edited step 6"
action = "files.remove"
acts_on = "device"
destructive = true

[steps.params]
paths = [{path}]
"""


@pytest.mark.parametrize(
    "path",
    [
        "/Library/Application Support/../../etc/passwd",
        "/Library/Preferences/../Keychains/System.keychain",
        "/Users/<username>/Library/../Documents/payroll.xlsx",
        "/Users/<username>/../alice/Library/Preferences/x.plist",
        "/Library/./Preferences/com.microsoft.CompanyPortal.plist",
        "/Library//Preferences/com.microsoft.CompanyPortal.plist",
        "/Library/Preferences/com.microsoft.CompanyPortal.plist/",
        "Library/Preferences/com.microsoft.CompanyPortal.plist",
        "/etc/passwd",
        "/System/Library/Trap",
        "/Applications/Company Portal.app",
        "/Users/alice/Library/Preferences/com.microsoft.CompanyPortal.plist",
        "/Users/<username>/Documents/payroll.xlsx",
        "/Users/Shared/x",
        "/private/var/root/Library/Preferences/x.plist",
        "/Library",
        "/Library/Preferences",
        "/Users/<username>/Library/Cookies",
        "/Library/Keychains/System.keychain",
        "/Users/<username>/Library/Keychains/login.keychain-db",
        "/Library/Application Support/<username>/x",
        "/Users/<username>/Library/<username>/x",
    ],
)
def test_playbook_path_outside_the_rules_is_rejected_at_load(path):
    text = STEP6_TEMPLATE.format(path='"' + path + '"')
    with pytest.raises(PlaybookError) as exc:
        parse_playbook(text, "edited.toml")
    assert "params.paths[0]" in exc.value.message


@pytest.mark.parametrize(
    "path",
    [
        # the file system of a Mac is case-insensitive: these ARE the keychain files
        "/Library/keychains/System.keychain",
        "/Library/KEYCHAINS/System.keychain",
        "/Users/<username>/Library/keychains/login.keychain-db",
    ],
)
def test_keychain_folders_are_refused_whatever_their_case(path):
    text = STEP6_TEMPLATE.format(path='"' + path + '"')
    with pytest.raises(PlaybookError):
        parse_playbook(text, "edited.toml")


def test_the_shipped_playbook_paths_are_accepted():
    step = load_playbook("cause6").step("remove-files")
    assert len(step.params["paths"]) == 11 and step.params["mirror_in_user_homes"] is True
