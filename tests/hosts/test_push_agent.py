"""``--push-agent`` over a real OpenSSH server: a "Mac" with a Python that has none of cleanup's dependencies and no
cleanup installed is served by this cleanup's artifact, pushed to a private temporary folder, checked by SHA-256,
and removed afterwards; a Mac with this version installed gets nothing pushed."""

from __future__ import annotations

import sys
import time

import pytest

from cleanup import __version__
from cleanup.errors import ConnectionLost, SshError
from cleanup.hosts import open_host
from cleanup.hosts.ssh import SshHost, push
from cleanup.lab.simmac.snapshot import tree_manifest
from cleanup.zipapp import build
from tests.support.artifact import bare_python
from tests.support.lab import run_cli
from tests.support.sshd import plans_over_ssh_and_on_sim, running_sshd

pytestmark = pytest.mark.ssh


@pytest.fixture(scope="module")
def sshd():
    with running_sshd() as server:
        yield server


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    return bare_python(tmp_path_factory.mktemp("bare") / "venv")


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    return build(tmp_path_factory.mktemp("artifact") / "cleanup.pyz").path


@pytest.fixture
def counted(python, tmp_path):
    """The Mac's Python behind a wrapper that notes each start of a bootstrap (one per pushed channel)."""
    log = tmp_path / "pushes.log"
    wrapper = tmp_path / "python3"
    wrapper.write_text(f'#!/bin/sh\necho push >> {log}\nexec {python} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def _pushes(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _use(monkeypatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def _empty_soon(folder, seconds: float = 10) -> list[str]:
    """What is left in ``folder`` once the agent had time to end (its bootstrap removes the folder after it)."""
    deadline = time.monotonic() + seconds
    while (left := sorted(p.name for p in folder.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# ------------------------------------------------------------------------------------------ (a) pushed, (b) removed
def test_a_mac_without_cleanup_is_planned_through_the_pushed_artifact_like_sim(sshd, python, make_mac, tmp_path):
    a, b = make_mac("a", logged_out=[]), make_mac("b", logged_out=[])
    before = tree_manifest(a)
    env = sshd.push_env(a, python)  # no CLEANUP_AGENT_PYZ: the artifact is built from this installation
    plan_a, plan_b = plans_over_ssh_and_on_sim(sshd, a, b, tmp_path, env, "--push-agent")
    assert plan_a == plan_b and plan_a["total_changes"] > 40
    assert tree_manifest(a) == before
    assert _empty_soon(sshd.root_tmp) == []


def test_the_pushed_agent_runs_from_a_root_private_folder_that_is_gone_afterwards(sshd, make_mac, pyz, counted, monkeypatch):
    wrapper, log = counted
    mac = make_mac(logged_out=[])
    _use(monkeypatch, sshd.push_env(mac, wrapper, artifact=pyz))
    host = open_host(sshd.spec, push_agent=True)
    try:
        assert host.boot_time() == 1764130000 and host.agent["pushed"] is True and host.agent["version"] == __version__
        assert host.agent["served"] == f"sim:{mac}"
        (folder,) = sshd.root_tmp.iterdir()
        assert folder.name.startswith("cleanup-agent-") and folder.stat().st_mode & 0o777 == 0o700
        assert [p.name for p in folder.iterdir()] == ["cleanup.pyz"] and (folder / "cleanup.pyz").stat().st_mode & 0o777 == 0o600
        assert (folder / "cleanup.pyz").read_bytes() == pyz.read_bytes()
    finally:
        host.close()
    assert _empty_soon(sshd.root_tmp) == [] and _pushes(log) == 1


def test_a_dropped_channel_pushes_again_and_each_folder_is_removed(sshd, make_mac, pyz, counted, monkeypatch):
    wrapper, log = counted
    mac = make_mac(logged_out=[])
    dropper = mac / "usr/local/bin/drop-connection"
    dropper.parent.mkdir(parents=True, exist_ok=True)
    dropper.write_text("#!/bin/sh\nkill -9 $PPID\nsleep 1\n")  # kills its caller, the agent, as a dying session would
    dropper.chmod(0o755)
    _use(monkeypatch, sshd.push_env(mac, wrapper, artifact=pyz))
    host = open_host(sshd.spec, push_agent=True)
    try:
        host.boot_time()
        with pytest.raises(ConnectionLost):
            host.run(["/usr/local/bin/drop-connection"])
        assert host.lstat("/Library/Preferences").kind == "dir" and host.agent["pushed"] is True
        assert _pushes(log) == 2
    finally:
        host.close()
    assert _empty_soon(sshd.root_tmp) == []


# ------------------------------------------------------------------------------------------ (c) a damaged transfer
def test_a_transfer_whose_hash_does_not_match_is_refused_and_nothing_runs(sshd, make_mac, pyz, counted, monkeypatch):
    wrapper, log = counted
    mac = make_mac(logged_out=[])
    before = tree_manifest(mac)
    _use(monkeypatch, sshd.push_env(mac, wrapper, artifact=pyz))
    data, sha256 = push.agent_artifact()
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF  # one bit pattern changed on the way
    monkeypatch.setattr(push, "_cache", (bytes(damaged), sha256))
    with pytest.raises(SshError) as exc:
        SshHost(sshd.spec, push_agent=True).boot_time()
    assert f"the agent pushed to {sshd.spec} was refused there: the artifact arrived damaged" in exc.value.message
    assert "nothing was run" in exc.value.message
    assert _pushes(log) == 1 and list(sshd.root_tmp.iterdir()) == []  # the bootstrap refused before it made a folder
    assert tree_manifest(mac) == before


# ------------------------------------------------------------------------------------------ (d) the installed version
def test_the_same_version_installed_is_used_and_nothing_is_pushed(sshd, make_mac, monkeypatch, tmp_path):
    mac = make_mac(logged_out=[])
    env = sshd.push_env(mac, tmp_path / "no-python-here", artifact=tmp_path / "no-artifact.pyz", installed=sshd.agent_command(mac))
    _use(monkeypatch, env)
    host = open_host(sshd.spec, push_agent=True)
    try:
        assert host.boot_time() == 1764130000 and "pushed" not in host.agent and host.agent["version"] == __version__
    finally:
        host.close()
    res = run_cli("plan", "--host", sshd.spec, "--only", "device", "--push-agent", state_dir=tmp_path / "s", env=env)
    assert res.returncode == 0 and "Nothing was changed." in res.stdout, res.stderr


OLD_AGENT = """
import json, sys
for line in sys.stdin:
    rid = json.loads(line)["id"]
    print(json.dumps({"id": rid, "ok": {"agent": "cleanup-host-agent", "protocol": 2, "version": "0.0.1", "served": "local"}}), flush=True)
"""


def test_another_version_installed_gets_this_one_pushed(sshd, make_mac, pyz, counted, monkeypatch, tmp_path):
    wrapper, log = counted
    mac = make_mac(logged_out=[])
    old = tmp_path / "old_agent.py"
    old.write_text(OLD_AGENT)
    _use(monkeypatch, sshd.push_env(mac, wrapper, artifact=pyz, installed=f"{sshd.dir}/bin/sudo -n {sys.executable} {old}"))
    host = open_host(sshd.spec, push_agent=True)
    try:
        assert host.boot_time() == 1764130000 and host.agent["pushed"] is True and host.agent["version"] == __version__
    finally:
        host.close()
    assert _pushes(log) == 1


# ------------------------------------------------------------------------------------------ (e) what the errors say
def test_without_push_agent_a_mac_without_cleanup_is_told_about_it(sshd, python, make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    res = run_cli("plan", "--host", sshd.spec, "--only", "device", state_dir=tmp_path / "s", env=sshd.push_env(mac, python))
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert res.returncode == 1 and len(errors) == 1, res.stderr
    assert "cleanup is not installed on" in errors[0] and "add --push-agent" in errors[0]


def test_sudo_asking_for_a_password_names_the_interpreter_the_rule_must_allow(sshd, python, make_mac, pyz, monkeypatch):
    _use(monkeypatch, sshd.push_env(make_mac(logged_out=[]), python, artifact=pyz))
    sshd.require_password()
    try:
        with pytest.raises(SshError) as exc:
            SshHost(sshd.spec, push_agent=True).boot_time()
    finally:
        sshd.require_password(False)
    assert f"allow {sshd.user} to run {python} as root without one (NOPASSWD in sudoers" in exc.value.message
    assert list(sshd.root_tmp.iterdir()) == []


def test_the_macs_python_is_the_first_supported_one_that_is_3_11_or_later(sshd, python, make_mac, monkeypatch, tmp_path):
    mac = make_mac(logged_out=[])
    env = sshd.push_env(mac, python)
    del env["CLEANUP_SSH_PYTHON"]
    _use(monkeypatch, env)
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\necho "Python 3.9.6" >&2\nexit 1\n')  # fails the version check, as an old interpreter does
    old.chmod(0o755)
    target = SshHost(sshd.spec).target
    assert push.find_python(target, (str(tmp_path / "absent"), str(old), str(python))) == str(python)
    with pytest.raises(SshError) as exc:
        push.find_python(target, (str(tmp_path / "absent"), str(old)))
    assert "has no Python 3.11 or later for the pushed agent: install the MacAdmins Python framework" in exc.value.message


def test_push_agent_is_refused_for_a_host_that_is_not_ssh(make_mac, tmp_path):
    res = run_cli("plan", "--host", f"sim:{make_mac()}", "--only", "device", "--push-agent", state_dir=tmp_path / "s")
    assert res.returncode == 2 and "error: --push-agent works with --host ssh://user@mac only" in res.stderr
