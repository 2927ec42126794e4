"""The fake tools' server (cleanup/lab/simmac/fakeserver.py) changes how fast a fake starts, never what it does:
the same output, errors, exit statuses and side effects as the plain `python -S` scripts, and the caller still deals
with one process of its own."""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac import create_sim_mac, fakeserver, load_state

ROOT_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"}

READ_ONLY = [
    ["/usr/bin/id", "-u"],
    ["/usr/bin/id", "-un"],
    ["/usr/bin/sw_vers"],
    ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
    ["/usr/bin/security", "list-keychains"],
    ["/usr/bin/security", "bogus"],  # usage error, exit 2
    ["/usr/bin/dscl", ".", "-read", "/Users/nobody-here"],  # not found
    ["/usr/bin/profiles", "status", "-type", "enrollment"],
    ["/usr/local/jamf/bin/jamf", "version"],
    ["/bin/launchctl", "asuser", "501", "/usr/bin/sudo", "-u", "alice", "/usr/bin/security", "dump-keychain"],
    ["/bin/launchctl", "asuser", "501", "/usr/bin/nothing-there"],  # exit 127 from the chain
    ["/usr/bin/sudo", "-u", "nobody-here", "/usr/bin/id"],
]


@pytest.fixture
def server(tmp_path):
    srv = fakeserver.start(str(tmp_path))
    if srv is None:
        if os.environ.get("CI"):
            pytest.fail("no C compiler: the fake tools' server cannot be built")
        pytest.skip("no C compiler")
    yield srv
    srv.stop(remove_launcher=True)


def _use(monkeypatch, launcher: str | None) -> None:
    """The shebang the next fakes written get: the launcher, or the plain `python -S` (None)."""
    if launcher is None:
        monkeypatch.delenv(fakeserver.LAUNCHER_ENV, raising=False)
    else:
        monkeypatch.setenv(fakeserver.LAUNCHER_ENV, launcher)


def _mac(path, monkeypatch, launcher: str | None):
    _use(monkeypatch, launcher)
    create_sim_mac(path, users=["alice", "bob"])
    return path


def _run(mac, argv, timeout=30, **kw):
    return subprocess.run([str(mac) + argv[0], *argv[1:]], capture_output=True, text=True, env=ROOT_ENV, timeout=timeout, **kw)


def _shebang(mac, tool="id") -> str:
    return (mac / "usr/bin" / tool).read_text().splitlines()[0]


def _replot(mac, monkeypatch, launcher: str | None):
    """Rewrite every fake of ``mac`` with the other shebang (same Mac, same state)."""
    _use(monkeypatch, launcher)
    for tool, path in C.FAKE_TOOLS.items():
        if os.path.isfile(str(mac) + path):
            C.install_fake(str(mac), tool, path)


def test_a_fake_through_the_server_answers_exactly_as_the_plain_script(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    assert _shebang(mac) == f"#!{server.launcher}"
    served = [_run(mac, argv) for argv in READ_ONLY]
    _replot(mac, monkeypatch, None)
    assert _shebang(mac).endswith(" -S")
    plain = [_run(mac, argv) for argv in READ_ONLY]
    for argv, a, b in zip(READ_ONLY, served, plain, strict=True):
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), argv
    assert {r.returncode for r in served} >= {0, 1, 2, 127}  # the list covers failures, not only successes


def test_changes_made_through_the_server_are_the_plain_scripts_changes(server, tmp_path, monkeypatch):
    steps = [["/usr/local/jamf/bin/jamf", "removeMdmProfile"], ["/usr/local/jamf/bin/jamf", "removeFramework"], ["/sbin/shutdown", "-r", "now"]]
    results = {}
    for name, launcher in (("served", server.launcher), ("plain", None)):
        mac = _mac(tmp_path / name, monkeypatch, launcher)
        out = [(r.returncode, r.stdout.replace(str(mac), "DIR"), r.stderr) for r in (_run(mac, s) for s in steps)]
        state = load_state(str(mac))
        results[name] = (out, state["mdm"], os.path.exists(str(mac) + "/usr/local/jamf"), state["boottime"] > 0)
    assert results["served"] == results["plain"]


def test_standard_input_and_a_closed_stdin_reach_the_fake(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    probe = mac / "usr/local/bin/readprobe"
    probe.write_text("#!/bin/sh\ncat\n")
    probe.chmod(0o755)
    # the chain ends in a program that is not a fake: the launcher runs it with the caller's stdin
    r = _run(mac, ["/bin/launchctl", "asuser", "501", "/usr/local/bin/readprobe"], input="secret\n")
    assert (r.returncode, r.stdout) == (0, "secret\n")
    r = subprocess.run([str(mac) + "/usr/bin/id", "-u"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=ROOT_ENV, timeout=30)
    assert (r.returncode, r.stdout) == (0, "0\n")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _blocked_shutdown(mac):
    """`shutdown -r now` waiting for the Mac's state lock, which the test holds."""
    lock = os.open(str(mac / C.LAB_DIR), os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    proc = subprocess.Popen([str(mac) + "/sbin/shutdown", "-r", "now"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ROOT_ENV)
    return lock, proc


def _wait_for(pred, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_killing_the_callers_process_kills_the_fake_before_it_changes_anything(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    before = load_state(str(mac))["boottime"]
    lock, proc = _blocked_shutdown(mac)
    assert _wait_for(lambda: len(_children(server.proc.pid)) == 1)  # the forked fake, waiting for the lock
    proc.kill()  # as a timeout kills the command's process group
    proc.wait()
    assert _wait_for(lambda: _children(server.proc.pid) == [])
    os.close(lock)
    time.sleep(0.2)
    assert load_state(str(mac))["boottime"] == before


def test_a_fake_killed_by_a_signal_reads_as_killed_by_that_signal(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    lock, proc = _blocked_shutdown(mac)
    assert _wait_for(lambda: len(_children(server.proc.pid)) == 1)
    [fake] = _children(server.proc.pid)
    os.kill(fake, signal.SIGTERM)
    proc.communicate(timeout=10)
    os.close(lock)
    assert proc.returncode == -signal.SIGTERM


def test_the_caller_kill_fault_kills_the_program_that_ran_the_tool(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    (mac / C.FAULTS_REL).write_text(json.dumps({"kill_caller_before_call": 1}))
    r = subprocess.run(["/bin/sh", "-c", f"'{mac}/usr/bin/id' -u; echo survived"], capture_output=True, text=True, env=ROOT_ENV, timeout=30)
    assert r.returncode == -signal.SIGKILL and "survived" not in r.stdout


def test_one_worker_runs_call_after_call_and_no_call_sees_what_the_last_one_had(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    assert _run(mac, ["/usr/bin/sudo", "-u", "bob", "/usr/bin/id", "-un"]).stdout == "bob\n"  # sudo sets the user for its command
    [worker] = _children(server.proc.pid)
    r = _run(mac, ["/usr/bin/id", "-un"], cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "root\n", "")  # not bob: each call gets only its launcher's environment
    r = _run(mac, ["/usr/bin/security", "bogus"])
    assert r.returncode == 2 and r.stdout == "" and "bogus" in r.stderr  # nothing of the last call's output either
    assert _children(server.proc.pid) == [worker]  # and the caller saw its pipes end: run() returned
    assert os.readlink(f"/proc/{worker}/cwd") == "/"  # it keeps no caller's folder busy between calls


def test_a_call_that_leaves_a_file_open_ends_its_worker_and_the_next_call_gets_a_fresh_one(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    _run(mac, ["/usr/bin/id", "-u"])
    [first] = _children(server.proc.pid)
    # a changing fake takes the Mac's lock and leaves it to the end of its process, as on the plain scripts
    r = _run(mac, ["/usr/local/jamf/bin/jamf", "removeMdmProfile"])
    assert r.returncode == 0, r.stderr
    assert _wait_for(lambda: first not in _children(server.proc.pid))
    again = _run(mac, ["/usr/local/jamf/bin/jamf", "removeMdmProfile"], timeout=10)  # the lock is free again
    assert again.returncode in (0, 1) and _children(server.proc.pid) != [first]


def test_without_the_server_the_launcher_runs_the_plain_script(server, tmp_path, monkeypatch):
    mac = _mac(tmp_path / "mac", monkeypatch, server.launcher)
    served = _run(mac, ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"])
    server.stop()  # the socket goes, the launcher stays
    assert os.access(server.launcher, os.X_OK) and not os.path.exists(server.socket_path)
    alone = _run(mac, ["/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"])
    assert (alone.returncode, alone.stdout, alone.stderr) == (served.returncode, served.stdout, served.stderr)
    assert served.returncode == 0 and "IOPlatformSerialNumber" in served.stdout


def test_the_server_refuses_a_script_that_is_not_a_fake(server, tmp_path):
    script = tmp_path / "other"
    script.write_text(f"#!{server.launcher}\nprint('not a fake')\n")
    script.chmod(0o755)
    r = subprocess.run([str(script)], capture_output=True, text=True, env=ROOT_ENV, timeout=30)
    assert r.returncode == 126 and "not a fake tool" in r.stderr and r.stdout == ""


def test_no_compiler_means_the_plain_scripts(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert fakeserver.start(str(tmp_path)) is None
