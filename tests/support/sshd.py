"""A real OpenSSH server on 127.0.0.1 for the SSH tests, serving simulated Macs through `cleanup host-agent`.

Everything lives in a short folder under /tmp (ssh's control sockets have a path limit): host and client keys,
authorized_keys, sshd_config, a client ssh_config with the host key pinned in its known_hosts, and a stand-in
for the Mac's ``sudo`` (``sudo -n CMD`` runs CMD, or refuses like sudo does when the test asks for a password).
Without /usr/sbin/sshd the tests skip, except under CI, where that is a failure.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
REPO = Path(__file__).resolve().parents[2]

FAKE_SUDO = """#!/bin/sh
# The Mac's sudo for the lab: `sudo -n CMD ...` runs CMD unless the test made a password necessary.
if [ "$1" != "-n" ]; then echo "sudo: a terminal is required to read the password" >&2; exit 1; fi
shift
if [ -e {flag} ]; then echo "sudo: a password is required" >&2; exit 1; fi
if ! command -v "$1" >/dev/null 2>&1; then echo "sudo: $1: command not found" >&2; exit 1; fi
PYTHONPATH={repo}; PYTHONDONTWRITEBYTECODE=1; export PYTHONPATH PYTHONDONTWRITEBYTECODE
# root's temporary folder on this "Mac" (sudo resets the environment): a pushed agent's folder is made here
TMPDIR={tmp}; export TMPDIR
exec "$@"
"""


def require_sshd() -> None:
    if not os.path.exists(SSHD) or not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        why = "OpenSSH (server and client) is not installed; .ci/run installs openssh-server"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cleanup-test", "-f", str(path)], check=True)


class SshServer:
    """sshd on a free loopback port, logging in as the current user with a throwaway key."""

    def __init__(self):
        require_sshd()
        self.dir = Path(tempfile.mkdtemp(prefix="csh", dir="/tmp"))
        self.user = getpass.getuser()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        d = self.dir
        _keygen(d / "host_key")
        _keygen(d / "client_key")
        _keygen(d / "other_host_key")
        shutil.copy(d / "client_key.pub", d / "authorized_keys")
        (d / "sockets").mkdir(mode=0o700)
        (d / "bin").mkdir()
        sudo = d / "bin/sudo"
        (d / "root-tmp").mkdir(mode=0o700)
        sudo.write_text(FAKE_SUDO.format(flag=shlex.quote(str(d / "sudo-needs-password")), repo=shlex.quote(str(REPO)), tmp=shlex.quote(str(d / "root-tmp"))))
        sudo.chmod(0o755)
        root_login = "PermitRootLogin prohibit-password\n" if os.geteuid() == 0 else ""
        (d / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
            f"AuthorizedKeysFile {d}/authorized_keys\nUsePAM no\nStrictModes no\n{root_login}LogLevel ERROR\n"
        )
        self.pin_host_key(d / "host_key.pub")
        (d / "ssh_config").write_text(
            f"Host *\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n"
            "  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        )

    # ------------------------------------------------------------------------------ server
    def start(self) -> SshServer:
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation folder (systemd makes it)
        with open(self.dir / "sshd.log", "ab") as log:  # sshd keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.dir / "sshd_config")], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        self.close_masters()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.kill_sessions()

    def sessions(self) -> list[int]:
        """Pids of the per-connection sshd processes this server forked (Linux /proc)."""
        if self.proc is None:
            return []
        pids = []
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def kill_sessions(self) -> None:
        for pid in self.sessions():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def close_masters(self) -> None:
        """End the ControlPersist connections the tests' ssh clients left behind."""
        for sock in (self.dir / "sockets").iterdir():
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "cleanup-test"], capture_output=True, timeout=10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------------------ client side
    def pin_host_key(self, pub: Path) -> None:
        key = " ".join(pub.read_text().split()[:2])
        (self.dir / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {key}\n")

    @property
    def spec(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def agent_command(self, mac: Path) -> str:
        """The remote command that starts the agent for a simulated Mac, behind the stand-in `sudo -n`."""
        return f"{self.dir}/bin/sudo -n {shlex.quote(sys.executable)} -m cleanup host-agent --root {shlex.quote(str(mac))}"

    def env(self, mac: Path, agent: str | None = None) -> dict[str, str]:
        return {
            "CLEANUP_SSH_CONFIG": str(self.dir / "ssh_config"),
            "CLEANUP_SSH_CONTROL_DIR": str(self.dir / "sockets"),
            "CLEANUP_SSH_AGENT": agent if agent is not None else self.agent_command(mac),
        }

    def push_env(self, mac: Path, python: Path, artifact: Path | None = None, installed: str | None = None) -> dict[str, str]:
        """--push-agent to a "Mac" whose root runs ``python`` behind the stand-in sudo, with no cleanup installed
        unless ``installed`` is the remote command of one; the pushed agent serves the simulated Mac ``mac``."""
        env = self.env(mac, agent=installed or f"{self.dir}/bin/sudo -n /nonexistent/cleanup host-agent")
        env.update(CLEANUP_SSH_SUDO=f"{self.dir}/bin/sudo -n", CLEANUP_SSH_PYTHON=str(python), CLEANUP_LAB_AGENT_ROOT=str(mac))
        if artifact is not None:
            env["CLEANUP_AGENT_PYZ"] = str(artifact)
        return env

    @property
    def root_tmp(self) -> Path:
        """TMPDIR of the commands the stand-in sudo runs: where a pushed agent's private folder lives."""
        return self.dir / "root-tmp"

    def require_password(self, on: bool = True) -> None:
        flag = self.dir / "sudo-needs-password"
        flag.touch() if on else flag.unlink(missing_ok=True)


@contextmanager
def running_sshd():
    server = SshServer().start()
    try:
        yield server
    finally:
        server.cleanup()


def plan_without_inodes(plan: dict) -> dict:
    """A dry-run plan without the planned paths' device and inode numbers, which differ from one folder to another."""
    for step in plan["steps"]:
        for change in step.get("changes", ()):
            if change["kind"] == "remove-path":
                change["details"].pop("dev", None)
                change["details"].pop("ino", None)
    return plan


def plans_over_ssh_and_on_sim(sshd, a: Path, b: Path, tmp_path: Path, env: dict, *extra: str) -> tuple[dict, dict]:
    """The device dry-run of Mac ``a`` over SSH (with ``env`` and ``extra`` options) and of Mac ``b`` as ``sim:``, each
    with its host and root replaced and without inode numbers, so that the two compare equal when they plan alike."""
    from tests.support.lab import run_cli

    over_ssh = run_cli("plan", "--host", sshd.spec, "--only", "device", "--json", *extra, state_dir=tmp_path / "s1", env=env)
    on_sim = run_cli("plan", "--host", f"sim:{b}", "--only", "device", "--json", state_dir=tmp_path / "s2")
    assert over_ssh.returncode == 0 and on_sim.returncode == 0, over_ssh.stderr + on_sim.stderr
    plan_a = plan_without_inodes(json.loads(over_ssh.stdout.replace(sshd.spec, "<HOST>").replace(str(a), "<ROOT>"))["data"])
    plan_b = plan_without_inodes(json.loads(on_sim.stdout.replace(f"sim:{b}", "<HOST>").replace(str(b), "<ROOT>"))["data"])
    return plan_a, plan_b
