"""Step 6 and step 10 remove only what was planned: never across a mount point, never something that changed kind
or identity since the plan; one odd user never stops the others' files from being planned."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.reporter import Reporter
from cleanup.engine.runner import Runner, Selection
from cleanup.errors import CleanupError, SafetyRefusal, UnsafePath
from cleanup.hosts import open_host
from tests.support.lab import run_cli
from tests.support.mounts import is_mount, mounted
from tests.support.simmac import tree_bytes
from tests.support.sshd import running_sshd

# bob's is a real folder in the lab (alice's is a link trap)
CP_SUPPORT = "/Users/bob/Library/Application Support/com.microsoft.CompanyPortal"
SYSTEM_PREF = "/Library/Preferences/com.microsoft.CompanyPortal.plist"


def _share(mac, kind: str, tmp_path: Path):
    """A folder outside the Mac (bind) or a fresh file system (tmpfs) to mount inside bob's Company Portal folder."""
    point = mac.hp(CP_SUPPORT) / "Shares/team share"
    point.mkdir(parents=True)
    (mac.hp(CP_SUPPORT) / "Shares/cache.bin").write_bytes(b"x" * 100)
    outside = None
    if kind == "bind":
        outside = tmp_path / "outside-share"
        (outside / "sub").mkdir(parents=True)
        (outside / "sub/precious.txt").write_text("not the Mac's to delete\n")
        (outside / "top.txt").write_text("neither is this\n")
    return point, outside


def _plant_on_mount(point: Path) -> None:
    (point / "sub").mkdir(exist_ok=True)
    (point / "sub/precious.txt").write_text("not the Mac's to delete\n")
    (point / "top.txt").write_text("neither is this\n")


# --------------------------------------------------------------------------- 1. never across a mount point


@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_a_mount_inside_a_planned_folder_is_named_in_the_plan_and_left(sim_mac, tmp_path, kind):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    point, outside = _share(mac, kind, tmp_path)
    with mounted(kind, point, outside):
        if kind == "tmpfs":
            _plant_on_mount(point)
        on_mount = tree_bytes(point)
        assert "sub/precious.txt" in on_mount
        ctx = mac.context()
        step = mac.step("remove-files")
        plan = mac.plan(ctx, step)

        mount_mac = CP_SUPPORT + "/Shares/team share"
        change = next(c for c in plan.changes if c.details["path"] == CP_SUPPORT)
        assert mount_mac in change.target and "left" in change.target
        assert [n for n in plan.notes if mount_mac in n and "mount point" in n and "left" in n], plan.notes
        # the size counts what will go, not what is on the other file system
        assert change.details["size"] == len(b"x" * 100) + sum((mac.hp(CP_SUPPORT) / r).stat().st_size for r in ("data.json", "Logs/app.log"))

        outcome = mac.apply(ctx, step, change)

        assert tree_bytes(point) == on_mount  # nothing on the other file system was touched
        if outside is not None:
            assert tree_bytes(outside) == on_mount
        assert is_mount(point)
        # everything else in the planned folder went; the mount point and the folders holding it stay
        assert sorted(p.relative_to(mac.hp(CP_SUPPORT)).as_posix() for p in mac.hp(CP_SUPPORT).rglob("*") if not str(p).startswith(str(point) + "/")) == [
            "Shares",
            "Shares/team share",
        ]
        assert mount_mac in outcome.text and "left" in outcome.text and outcome.changed
        # the system copy of the same folder, with no mount in it, went as a whole
        for c in plan.changes:
            if c.details["path"] != CP_SUPPORT:
                mac.apply(ctx, step, c)
        assert not mac.hp("/Library/Application Support/com.microsoft.CompanyPortal").exists()
        assert tree_bytes(point) == on_mount


def test_a_real_run_over_a_mount_finishes_with_a_note_and_leaves_the_share(sim_mac, tmp_path, state_dir):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    point, outside = _share(mac, "bind", tmp_path)
    with mounted("bind", point, outside):
        before = tree_bytes(outside)
        res = run_cli("run", "--host", f"sim:{mac.root}", "--only", "device", "--from", "remove-files", "--to", "remove-files", "--yes", state_dir=state_dir)
        # done with a note, not blocked: the share is not the Mac's to remove, so retrying could never succeed
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Traceback" not in res.stderr
        out = " ".join((res.stdout + res.stderr).split())
        assert "team share" in out and "mount point" in out
        assert tree_bytes(outside) == before
        again = run_cli("plan", "--host", f"sim:{mac.root}", "--only", "device", "--from", "remove-files", "--to", "remove-files", state_dir=state_dir)
        assert again.returncode == 0, again.stderr
        assert "team share" in " ".join(again.stdout.split())
    assert not is_mount(point)


def test_a_planned_path_that_is_itself_a_mount_point_is_left_whole(sim_mac, tmp_path):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep\n")
    with mounted("bind", mac.hp(CP_SUPPORT), outside):
        ctx = mac.context()
        step = mac.step("remove-files")
        plan = mac.plan(ctx, step)
        assert not [c for c in plan.changes if c.details["path"] == CP_SUPPORT]
        assert [n for n in plan.notes if CP_SUPPORT in n and "mount point" in n], plan.notes
        mac.apply_all(ctx, step, plan)
        assert (outside / "precious.txt").read_text() == "keep\n"


# --------------------------------------------------------------------------- 2. only what was planned


def _swap_file_for_folder(mac, path: str) -> Path:
    host_path = mac.hp(path)
    host_path.unlink()
    host_path.mkdir()
    (host_path / "Thesis.docx").write_text("a user's document\n")
    return host_path / "Thesis.docx"


def test_a_planned_file_replaced_by_a_folder_is_refused_not_removed(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.details["path"] == SYSTEM_PREF)
    assert change.details["type"] == "file"
    doc = _swap_file_for_folder(mac, SYSTEM_PREF)

    with pytest.raises(UnsafePath) as exc:
        mac.apply(ctx, step, change)
    assert "planned as a file" in exc.value.message and "folder" in exc.value.message
    assert doc.read_text() == "a user's document\n"


def test_a_planned_file_replaced_by_another_file_is_refused(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.details["path"] == SYSTEM_PREF)
    other = mac.hp("/Library/Preferences/other.plist")
    other.write_text("another file\n")
    os.replace(other, mac.hp(SYSTEM_PREF))
    with pytest.raises(UnsafePath) as exc:
        mac.apply(ctx, step, change)
    assert "since the plan" in exc.value.message
    assert mac.hp(SYSTEM_PREF).read_text() == "another file\n"


def test_a_planned_folder_replaced_by_a_file_is_refused(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.details["path"] == CP_SUPPORT)
    shutil.rmtree(mac.hp(CP_SUPPORT))
    mac.hp(CP_SUPPORT).write_text("a user's file\n")
    with pytest.raises(UnsafePath) as exc:
        mac.apply(ctx, step, change)
    assert "planned as a folder" in exc.value.message
    assert mac.hp(CP_SUPPORT).read_text() == "a user's file\n"


class SwapOnConfirm(Reporter):
    """An operator who reads the plan while someone replaces the planned file with a folder, then says yes."""

    def __init__(self, mac):
        self.mac = mac
        self.outcomes: list[tuple[str, str]] = []
        self.doc: Path | None = None

    def confirm(self, step, plan):
        if step.id == "remove-files" and self.doc is None:
            self.doc = _swap_file_for_folder(self.mac, SYSTEM_PREF)
        return True

    def change_applied(self, step, change, outcome):
        self.outcomes.append((outcome, change.target))


def test_a_real_run_refuses_the_changed_path_and_its_audit_never_says_removed(sim_mac, store):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    reporter = SwapOnConfirm(mac)
    runner = Runner(store, mac.host, mac.playbook, RunOptions(yes=False, wait_seconds=0, autoresume=False), reporter)
    with pytest.raises(SafetyRefusal) as exc:
        runner.start(Selection(only="device", start="remove-files", stop="remove-files"))
    assert exc.value.exit_code == 4 and SYSTEM_PREF in exc.value.message
    assert reporter.doc.read_text() == "a user's document\n"
    assert not [o for o in reporter.outcomes if SYSTEM_PREF + " " in o[1]]
    records = AuditLog(store.run_dir(store.latest()) / "audit.jsonl").records()
    results = [r for r in records if r["event"] == "result" and r["key"] == f"path:{SYSTEM_PREF}"]
    assert [r["result"] for r in results] == ["failed"] and "planned as a file" in results[0]["reason"]
    state, _ = store.load(store.latest())
    assert state.step("remove-files").state == "failed"

    # resume plans the step again: the path is now planned as what it is (a folder), for the operator to see
    seen = {}

    class Look(Reporter):
        def confirm(self, step, plan):
            seen.update({c.details["path"]: c for c in plan.changes})
            return False

    again = Runner(store, mac.host, mac.playbook, RunOptions(yes=False, wait_seconds=0, autoresume=False), Look())
    with pytest.raises(CleanupError, match="not confirmed"):
        again.resume(store.latest())
    assert seen[SYSTEM_PREF].details["type"] == "dir" and "(dir," in seen[SYSTEM_PREF].target
    assert reporter.doc.exists()


def test_company_portal_bundle_replaced_after_planning_is_refused(sim_mac):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    ctx = mac.context()
    step = mac.step("remove-company-portal")
    plan = mac.plan(ctx, step)
    change = next(c for c in plan.changes if c.kind == "remove-path")
    app = mac.hp(change.details["path"])
    os.rename(app, app.with_name("Moved.app"))
    app.mkdir()
    (app / "keep.txt").write_text("another bundle\n")
    with pytest.raises(UnsafePath):
        mac.apply(ctx, step, change)
    assert (app / "keep.txt").exists()


@pytest.fixture
def ssh_host(mac_for_ssh, monkeypatch):
    with running_sshd() as server:
        for k, v in server.env(mac_for_ssh).items():
            monkeypatch.setenv(k, v)
        host = open_host(server.spec)
        try:
            yield host
        finally:
            host.close()


@pytest.fixture
def mac_for_ssh(make_mac):
    return make_mac("sshmac", logged_out=[]).resolve()


@pytest.mark.ssh
def test_over_ssh_the_agent_checks_the_planned_identity(ssh_host, mac_for_ssh):
    info = ssh_host.lstat(SYSTEM_PREF)
    assert info.kind == "file" and info.ino
    (mac_for_ssh / SYSTEM_PREF.lstrip("/")).unlink()
    (mac_for_ssh / SYSTEM_PREF.lstrip("/")).mkdir()
    doc = mac_for_ssh / SYSTEM_PREF.lstrip("/") / "Thesis.docx"
    doc.write_text("a user's document\n")
    with pytest.raises(UnsafePath) as exc:
        ssh_host.remove(SYSTEM_PREF, expect=info.identity)
    assert "planned as a file" in exc.value.message
    assert doc.exists()
    now = ssh_host.lstat(SYSTEM_PREF)
    assert now.kind == "dir"
    assert ssh_host.remove(SYSTEM_PREF, expect=now.identity) == ()
    assert not doc.exists()


# --------------------------------------------------------------------------- 3. one odd user never blocks the others


def test_a_user_whose_home_is_a_symlink_is_skipped_with_a_reason_and_the_others_are_planned(sim_mac, tmp_path, store):
    mac = sim_mac(users=["alice", "bob"], logged_out=[])
    elsewhere = tmp_path / "elsewhere-dave"
    for rel in ("Library/Preferences/com.microsoft.CompanyPortal.plist", "Library/Cookies/com.microsoft.CompanyPortal.binarycookies"):
        (elsewhere / rel).parent.mkdir(parents=True, exist_ok=True)
        (elsewhere / rel).write_text("outside the Mac\n")
    mac.add_user_record("dave", 503, "/Users/dave")
    os.symlink(elsewhere, mac.hp("/Users/dave"))
    before = tree_bytes(elsewhere)

    ctx = mac.context()
    step = mac.step("remove-files")
    plan = mac.plan(ctx, step)
    homes = {c.details["path"].split("/")[2] for c in plan.changes if c.details["path"].startswith("/Users/")}
    assert homes == {"alice", "bob"}
    dave = [n for n in plan.notes if "dave" in n]
    assert len(dave) == 1 and "symlink" in dave[0] and "left alone" in dave[0], plan.notes

    runner = Runner(store, mac.host, mac.playbook, RunOptions(yes=True, wait_seconds=0, autoresume=False))
    run = runner.start(Selection(only="device", start="remove-files", stop="remove-files"))
    assert run.step("remove-files").state == "done"
    assert tree_bytes(elsewhere) == before
    assert not mac.hp("/Users/bob/Library/Preferences/com.microsoft.CompanyPortal.plist").exists()
