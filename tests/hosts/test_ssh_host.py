"""SshHost against a real OpenSSH server on 127.0.0.1 serving a simulated Mac through `cleanup host-agent`."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from cleanup.errors import HostError, UnsafePath
from cleanup.hosts import open_host
from cleanup.hosts.ssh import ConnectionLost, SshError, SshHost, Unreachable
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import run_cli
from tests.support.sshd import running_sshd

pytestmark = pytest.mark.ssh


@pytest.fixture
def sshd():
    with running_sshd() as server:
        yield server


@pytest.fixture
def host(sshd, mac, monkeypatch):
    for k, v in sshd.env(mac).items():
        monkeypatch.setenv(k, v)
    h = open_host(sshd.spec)
    yield h
    h.close()


def _dropper(mac, name="drop-connection"):
    """A command on the Mac that kills its caller (the agent), as a dying sshd session would."""
    path = mac / "usr/local/bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nkill -9 $PPID\nsleep 1\n")
    path.chmod(0o755)
    return f"/usr/local/bin/{name}"


# ------------------------------------------------------------------------------------------ the Host calls
def test_every_host_call_reaches_the_simulated_mac(host, mac):
    assert isinstance(host, SshHost)
    res = host.run(["/usr/bin/id", "-u"])
    assert res.ok and res.stdout.strip() == "0" and res.argv == ("/usr/bin/id", "-u")
    assert host.agent["served"] == f"sim:{mac}" and host.agent["protocol"] == 2
    assert host.run(["/usr/bin/nope"]).returncode == 127
    upper = mac / "usr/local/bin/upper"
    upper.parent.mkdir(parents=True, exist_ok=True)
    upper.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write(sys.stdin.read().upper())\nsys.stderr.write('err')\n")
    upper.chmod(0o755)
    piped = host.run(["/usr/local/bin/upper"], input="héllo\n")
    assert (piped.stdout, piped.stderr) == ("HÉLLO\n", "err")
    info = host.lstat("/Library/Preferences")
    assert info.kind == "dir" and info.path == "/Library/Preferences" and info.size > 0
    assert host.lstat("/Library/nothing-here") is None
    assert "alice" in host.listdir("/Users")
    assert host.linked_parent("/Users/alice/Library") is None
    (mac / "Library/alias").symlink_to("Preferences")
    assert host.linked_parent("/Library/alias/x.plist") == "/Library/alias"
    assert host.lstat("/Library/alias").link_target == "Preferences"
    blob = bytes(range(256)) * 3
    host.write_file("/Library/blob.bin", blob, 0o600)
    assert (mac / "Library/blob.bin").read_bytes() == blob and (mac / "Library/blob.bin").stat().st_mode & 0o777 == 0o600
    assert host.read_bytes("/Library/blob.bin") == blob
    host.remove("/Library/blob.bin")
    assert not (mac / "Library/blob.bin").exists()
    assert host.boot_time() == 1764130000
    assert host.console_user() == "alice"


def test_errors_cross_the_wire_as_the_same_class(host, mac, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (mac / "Users/eve").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePath) as exc:
        host.remove("/Users/eve/outside.txt")
    assert "symlink" in exc.value.message and exc.value.hint
    assert outside.read_text() == "precious"
    with pytest.raises(UnsafePath):
        host.lstat("/Library/../etc")
    with pytest.raises(HostError) as exc:
        host.read_bytes("/Library/missing.plist")
    assert "no such file" in exc.value.message
    with pytest.raises(TypeError):
        host.run("/usr/bin/id -u")
    with pytest.raises(ValueError):
        host.write_file("/Library/x", b"x", 0o17777)
    assert host.run(["/usr/bin/id", "-u"]).ok  # the channel survives errors


def test_reads_reconnect_when_the_agent_or_the_connection_died_between_calls(host, sshd):
    host.lstat("/Library")
    first = host.agent["pid"]
    os.kill(first, signal.SIGKILL)
    assert host.lstat("/Library").kind == "dir"  # retried once on a fresh channel
    second = host.agent["pid"]
    assert second != first
    sshd.kill_sessions()  # the whole connection, shared master included
    time.sleep(0.2)
    assert "alice" in host.listdir("/Users")
    assert host.agent["pid"] != second
    assert host.run(["/usr/bin/id", "-u"]).ok


def test_a_command_whose_connection_drops_is_not_run_again(host, mac):
    cmd = _dropper(mac)
    with pytest.raises(ConnectionLost) as exc:
        host.run([cmd, "now"])
    assert exc.value.message.startswith(f"connection to {host.spec} lost during `{cmd} now`")
    assert exc.value.transient and "\n" not in exc.value.message
    assert host.run(["/usr/bin/id", "-u"]).ok  # the next call opens a new channel


def test_chatter_before_the_agent_starts_is_ignored(sshd, mac, monkeypatch):
    for k, v in sshd.env(mac, agent="echo 'Welcome to the Mac'; echo '{not json'; " + sshd.agent_command(mac)).items():
        monkeypatch.setenv(k, v)
    h = SshHost(sshd.spec)
    try:
        assert h.boot_time() == 1764130000
    finally:
        h.close()


def test_another_protocol_is_refused(sshd, mac, monkeypatch):
    fake = sshd.dir / "bin/old-agent"
    fake.write_text('#!/bin/sh\nread line\necho \'{"id": 0, "ok": {"agent": "cleanup-host-agent", "protocol": 99, "version": "9.9"}}\'\n')
    fake.chmod(0o755)
    for k, v in sshd.env(mac, agent=str(fake)).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SshError) as exc:
        SshHost(sshd.spec).lstat("/Library")
    assert "protocol 99 (cleanup 9.9)" in exc.value.message and "same version" in exc.value.message


def test_an_agent_for_a_folder_that_is_no_mac_says_so(sshd, tmp_path, monkeypatch):
    for k, v in sshd.env(tmp_path).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SshError) as exc:
        SshHost(sshd.spec).boot_time()
    assert "cannot serve" in exc.value.message and "not a simulated Mac" in exc.value.message


# ------------------------------------------------------------------------------------------ connection errors
def _run(sshd, mac, state_dir, spec=None, agent=None):
    before = tree_manifest(mac)
    res = run_cli("run", "--host", spec or sshd.spec, "--only", "device", "--yes", state_dir=state_dir, env=sshd.env(mac, agent=agent), timeout=60)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert res.returncode == 1, res.stderr
    assert len(errors) == 1, res.stderr
    assert tree_manifest(mac) == before  # nothing was done on the Mac
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())  # nor any run recorded
    return errors[0]


def test_unreachable_host(sshd, mac, state_dir):
    from tests.support.sshd import free_port

    port = free_port()
    line = _run(sshd, mac, state_dir, spec=f"ssh://{sshd.user}@127.0.0.1:{port}")
    assert line.startswith(f"error: cannot reach ssh://{sshd.user}@127.0.0.1:{port}: ") and "refused" in line


def test_changed_host_key_is_refused(sshd, mac, state_dir):
    sshd.pin_host_key(sshd.dir / "other_host_key.pub")
    line = _run(sshd, mac, state_dir)
    assert "host key" in line and "does not match" in line and "known_hosts" in line


def test_unknown_host_key_is_never_accepted(sshd, mac, state_dir):
    (sshd.dir / "known_hosts").write_text("")
    line = _run(sshd, mac, state_dir)
    assert "not in known_hosts" in line
    assert (sshd.dir / "known_hosts").read_text() == ""


def test_refused_login(sshd, mac, state_dir):
    (sshd.dir / "authorized_keys").write_text("")
    line = _run(sshd, mac, state_dir)
    assert "authentication to" in line and "publickey" in line


def test_sudo_asking_for_a_password(sshd, mac, state_dir):
    sshd.require_password()
    line = _run(sshd, mac, state_dir)
    assert "`sudo -n`" in line and "asks for a password" in line and "NOPASSWD" in line


@pytest.mark.parametrize("agent", ["{sudo} -n cleanup-not-installed host-agent", "cleanup-not-installed host-agent"])
def test_cleanup_missing_on_the_mac(sshd, mac, state_dir, agent):
    line = _run(sshd, mac, state_dir, agent=agent.format(sudo=sshd.dir / "bin/sudo"))
    assert "cleanup is not installed on" in line and "command not found" in line and "pipx install" in line


def test_transient_and_permanent_errors_are_told_apart(sshd, mac, monkeypatch):
    from tests.support.sshd import free_port

    for k, v in sshd.env(mac).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(Unreachable) as exc:
        SshHost(f"ssh://{sshd.user}@127.0.0.1:{free_port()}").boot_time()
    assert exc.value.transient
    sshd.require_password()
    with pytest.raises(SshError) as exc:
        SshHost(sshd.spec).boot_time()
    assert not exc.value.transient
