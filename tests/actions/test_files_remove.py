"""Step 6 (files.remove): only the listed paths go; links are removed as links; nothing is reached through one."""

from __future__ import annotations

import os
import shutil

import pytest

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.errors import PlaybookError, UnsafePath
from cleanup.lab.simmac.snapshot import diff_manifests, tree_manifest
from tests.conftest import drive

PAYROLL = "Users/alice/Documents/payroll.xlsx"
TRAP = "System/Library/Trap"
BOB_COOKIE = "/Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies"
ALICE_CP = "/Users/alice/Library/Application Support/com.microsoft.CompanyPortal"
CAROL_SAS = "/Users/carol/Library/Saved Application State"
SHARED_SAS = "Users/Shared/SavedState-carol"


def _tree_bytes(root) -> dict[str, bytes | str]:
    """Every entry below ``root``: file -> bytes, link -> 'link:<text>', dir -> 'dir' (never following links)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                with open(p, "rb") as f:
                    out[rel] = f.read()
    return out


def _run_step6(store, mac):
    """A real run of step 6 only (facts and preflight always run first)."""
    runner = Runner(store, mac.host, mac.playbook, RunOptions(yes=True, wait_seconds=0, autoresume=False))
    return runner.start(Selection(only="device", start="remove-files", stop="remove-files"))


# --------------------------------------------------------------------------- symlink traps, on a real run


UNRELATED = [
    "Users/alice/Documents/notes.txt",
    "Users/bob/Documents/notes.txt",
    PAYROLL,
    "Users/alice/Library/Preferences/com.apple.finder.plist",
    "Users/alice/Library/Preferences/com.microsoft.Word.plist",  # Microsoft, but not an article item
    "Users/bob/Library/Preferences/com.microsoft.Word.plist",
    "Library/Preferences/com.microsoft.autoupdate2.plist",
    "Library/Preferences/com.apple.loginwindow.plist",
    "Library/LaunchDaemons/com.example.backup.plist",  # another vendor's daemon (Jamf's own go with step 3)
    "Applications/Safari.app/Contents/Info.plist",
    "System/Library/Trap/README",
    "System/Library/Trap/Logs/important.log",
]


def test_real_run_removes_trap_links_as_links_and_keeps_targets_and_unrelated_files(sim_mac, store):
    mac = sim_mac(logged_out=[])  # alice and bob, both logged in: the whole device run completes
    root = mac.root
    assert os.path.islink(mac.hp(BOB_COOKIE)) and os.path.islink(mac.hp(ALICE_CP))
    trap = _tree_bytes(root / TRAP)
    assert trap, "the sim must have a trap directory with content"
    unrelated = {p: (root / p).read_bytes() for p in UNRELATED}

    run, _ = drive(store, root)

    assert run.status == "done"
    assert not os.path.lexists(mac.hp(BOB_COOKIE))  # the links themselves are gone ...
    assert not os.path.lexists(mac.hp(ALICE_CP))
    assert _tree_bytes(root / TRAP) == trap  # ... and what they pointed at is byte-identical
    assert {p: (root / p).read_bytes() for p in UNRELATED} == unrelated
    for d in ("Users/alice/Documents", "Users/alice/Library/Preferences", "Users/bob/Library/Cookies",
              "Library/Application Support", "Library/Preferences", "Library/LaunchDaemons"):
        assert (root / d).is_dir() and not (root / d).is_symlink()
    # and the article's own items did go, for the system and both users
    for gone in ("Library/Preferences/com.microsoft.CompanyPortal.plist",
                 "Users/alice/Library/Cookies/com.jamf.management.jamfAAD.binarycookies",
                 "Users/bob/Library/Application Support/com.microsoft.CompanyPortal"):
        assert not os.path.lexists(root / gone)


def test_linked_parent_is_refused_in_the_plan_and_its_target_is_untouched(sim_mac):
    mac = sim_mac(users=["alice", "bob", "carol"], logged_out=[])
    assert os.path.islink(mac.hp(CAROL_SAS))
    shared_before = _tree_bytes(mac.root / SHARED_SAS)
    assert "com.microsoft.CompanyPortal.savedState/data.json" in shared_before
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)

    planned = [c.details["path"] for c in plan.changes]
    assert not [p for p in planned if p.startswith(CAROL_SAS + "/")]
    for name in ("com.jamfsoftware.selfservice.mac.savedState", "com.microsoft.CompanyPortal.savedState"):
        assert any(n.startswith(f"refused {CAROL_SAS}/{name}") and CAROL_SAS in n and "symlink" in n for n in plan.notes), plan.notes
    # the other users' copies of the same items are planned normally
    assert "/Users/alice/Library/Saved Application State/com.microsoft.CompanyPortal.savedState" in planned
    assert "/Users/bob/Library/Saved Application State/com.microsoft.CompanyPortal.savedState" in planned

    mac.apply_all(ctx, step, plan)
    assert os.path.islink(mac.hp(CAROL_SAS)) and os.readlink(mac.hp(CAROL_SAS)) == "../../Shared/SavedState-carol"
    assert _tree_bytes(mac.root / SHARED_SAS) == shared_before
    assert not os.path.lexists(mac.hp("/Users/alice/Library/Saved Application State/com.microsoft.CompanyPortal.savedState"))


# --------------------------------------------------------------------------- TOCTOU between plan and apply


@pytest.mark.parametrize(
    "planned, parent",
    [
        ("/Users/alice/Library/Preferences/com.microsoft.CompanyPortal.plist", "/Users/alice/Library/Preferences"),
        ("/Users/bob/Library/Application Support/com.microsoft.CompanyPortal", "/Users/bob/Library/Application Support"),
        ("/Library/Preferences/com.jamfsoftware.selfservice.mac.plist", "/Library/Preferences"),
    ],
)
def test_parent_swapped_for_a_link_after_planning_is_refused(sim_mac, planned, parent):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.details["path"] == planned)

    # An attacker (or a racing process) swaps the parent folder for a link to a folder elsewhere that
    # holds an entry of the same name.
    outside = mac.root / "Users/Shared/Outside"
    name = os.path.basename(planned)
    if change.details["type"] == "dir":
        (outside / name / "sub").mkdir(parents=True)
        (outside / name / "sub/precious.txt").write_text("must survive\n")
    else:
        outside.mkdir(parents=True)
        (outside / name).write_text("must survive\n")
    (outside / "other.txt").write_text("also must survive\n")
    before = _tree_bytes(outside)
    os.rename(mac.hp(parent), str(mac.hp(parent)) + ".moved")
    depth = parent.count("/") - 1
    os.symlink("../" * depth + "Users/Shared/Outside", mac.hp(parent))

    with pytest.raises(UnsafePath):
        mac.apply(ctx, step, change)

    assert _tree_bytes(outside) == before
    assert os.path.islink(mac.hp(parent))


def test_planned_folder_swapped_for_a_link_after_planning_removes_only_the_link(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    target = "/Users/bob/Library/Application Support/com.microsoft.CompanyPortal"
    change = next(c for c in plan.changes if c.details["path"] == target)
    assert change.details["type"] == "dir"
    trap_before = _tree_bytes(mac.root / TRAP)

    shutil.rmtree(mac.hp(target))
    os.symlink("../../../../System/Library/Trap", mac.hp(target))
    mac.apply(ctx, step, change)

    assert not os.path.lexists(mac.hp(target))
    assert _tree_bytes(mac.root / TRAP) == trap_before


# --------------------------------------------------------------------------- only listed paths


def _inside_any(path: str, roots: set[str]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def test_real_step6_run_removes_only_planned_paths(sim_mac, store):
    mac = sim_mac(users=["alice", "bob", "carol"], logged_out=["bob"])
    ctx = mac.context()
    plan = mac.plan(ctx, mac.step("remove-files"))
    planned = {c.details["path"].lstrip("/") for c in plan.changes}
    assert len(planned) > 20
    before = tree_manifest(mac.root)

    run = _run_step6(store, mac)
    assert run.step("remove-files").state == "done"

    after = tree_manifest(mac.root)
    removed, added, changed = diff_manifests(before, after)
    assert added == [] and changed == []
    stray = [p for p in removed if not _inside_any(p, planned)]
    assert stray == []
    # and every planned path really went (the run did its job)
    assert {p for p in planned if p in before} <= set(removed)


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
