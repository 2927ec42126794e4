"""What each host can do (asked, never read off its spec), the one dispatcher, and errors crossing the channel."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cleanup import errors
from cleanup.errors import SafetyRefusal, StateError, UnsafePath, UsageError
from cleanup.hosts import open_host
from cleanup.hosts.local import LocalHost
from cleanup.hosts.nohost import NoHost
from cleanup.hosts.ssh import SshHost
from cleanup.hosts.ssh import protocol as wire
from cleanup.hosts.ssh.agent import Agent
from tests.support.sshd import running_sshd

CAPABILITIES = ("device", "this_mac", "reconnects_after_restart")


def capabilities(host) -> tuple[bool, ...]:
    return tuple(getattr(host, name) for name in CAPABILITIES)


# ------------------------------------------------------------------------------------------ capabilities
def test_this_mac(mac):
    assert capabilities(open_host("local")) == (True, True, False)


def test_a_simulated_mac_is_not_this_mac(mac):
    assert capabilities(open_host(f"sim:{mac}")) == (True, False, False)


def test_a_mac_over_ssh_reconnects_after_its_restart():
    assert capabilities(open_host("ssh://admin@mac.example.com")) == (True, False, True)


def test_no_host_has_no_mac():
    assert capabilities(open_host("none")) == (False, False, False)


def test_every_host_can_be_closed_and_used_again(mac):
    for host in (open_host("local"), open_host(f"sim:{mac}"), open_host("none"), open_host("ssh://admin@mac.example.com")):
        assert host.close() is None
        host.close()
    sim = open_host(f"sim:{mac}")
    sim.close()
    assert sim.lstat("/Library") is not None


# ------------------------------------------------------------------------------------------ the dispatcher
def test_open_host_knows_each_kind(mac):
    assert type(open_host("local")) is LocalHost
    assert type(open_host(f"sim:{mac}")) is LocalHost
    assert type(open_host("ssh://admin@mac.example.com:2222")) is SshHost
    assert type(open_host("none")) is NoHost


@pytest.mark.parametrize("spec", ["", "Local", "mac.example.com", "sftp://u@mac", "/tmp/x", "simulated:/x", "none "])
def test_an_unknown_host_is_one_usage_line_naming_the_kinds(spec):
    with pytest.raises(UsageError) as exc:
        open_host(spec)
    message = exc.value.message
    assert message.startswith("unknown host") and "\n" not in message
    assert all(kind in message for kind in ("local", "sim:DIR", "ssh://", "none"))


def test_an_unknown_host_never_echoes_a_password():
    with pytest.raises(UsageError) as exc:
        open_host("sftp://u:Hunter2-secret@mac")
    assert "Hunter2" not in exc.value.message


def test_a_host_that_is_not_text_is_a_usage_error():
    with pytest.raises(UsageError):
        open_host(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ errors on the wire
@pytest.mark.parametrize(
    "error",
    [
        UnsafePath("refusing /Library/x: parent /Library is a symlink", hint="a link could redirect the operation"),
        SafetyRefusal("an odd serial number", hint="check the Mac"),
        StateError("the run is finished", hint="start a new one"),
        errors.LockHeld("another cleanup run holds the Mac"),
        errors.Unreachable("cannot reach the Mac"),
    ],
)
def test_an_error_keeps_its_class_message_and_hint(error):
    line = wire.encode(wire.answer_error(7, error, "remove"))
    again = wire.remote_error(wire.decode(line)["error"])
    assert type(again) is type(error)
    assert (again.message, again.hint) == (error.message, error.hint)


def test_an_error_of_a_class_outside_the_tree_arrives_as_its_nearest_one():
    class Private(StateError):
        pass

    again = wire.remote_error(wire.answer_error(1, Private("x", hint="y"), "run")["error"])
    assert type(again) is StateError and again.hint == "y"


@pytest.mark.parametrize(
    "error, cls",
    [
        (TypeError("argv must be a list"), TypeError),
        (ValueError("bad mode"), ValueError),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), ValueError),
        (OSError(5, "I/O error"), errors.HostError),
    ],
)
def test_other_exceptions_cross_as_bad_arguments_or_a_host_error(error, cls):
    again = wire.remote_error(wire.answer_error(1, error, "lstat")["error"])
    assert type(again) is cls


@pytest.mark.parametrize("record", [None, "boom", {"type": "NoSuchError", "message": "m"}, {"type": 3, "hint": 5}])
def test_a_malformed_error_record_is_a_host_error(record):
    assert type(wire.remote_error(record)) is errors.HostError


def test_an_agent_error_arrives_with_its_class_and_hint(mac):
    (mac / "Library/Linked").symlink_to("/tmp")
    agent = Agent(str(mac))
    assert "ok" in agent.handle({"id": 0, "op": "hello", "args": {}})
    answer = agent.handle({"id": 1, "op": "remove", "args": {"path": "/Library/Linked/x"}})
    raised = wire.remote_error(answer["error"])
    assert type(raised) is UnsafePath and raised.hint and "link" in raised.hint


def test_an_agent_error_arrives_over_ssh_as_the_same_class_with_its_hint(mac, monkeypatch):
    (mac / "Library/Linked").symlink_to("/tmp")
    with running_sshd() as sshd:
        for k, v in sshd.env(mac).items():
            monkeypatch.setenv(k, v)
        host = open_host(sshd.spec)
        try:
            with pytest.raises(UnsafePath) as exc:
                host.remove("/Library/Linked/x")
            assert "symlink" in exc.value.message and "redirect" in exc.value.hint
            with pytest.raises(UnsafePath):
                host.lstat("Library")  # not absolute: refused on the Mac, raised here
            assert host.lstat("/Library").kind == "dir"  # the channel survives an error
        finally:
            host.close()


# ------------------------------------------------------------------------------------------ imports
def _imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(m for m in sys.modules if m.startswith('cleanup'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_product_agent_knows_nothing_of_the_lab():
    for module in ("cleanup.hosts.ssh.agent", "cleanup.cli.agent"):
        assert not {m for m in _imported_after(module) if m.startswith("cleanup.lab")}, module


def test_no_import_circle_between_the_hosts():
    assert "cleanup.hosts.ssh" not in _imported_after("cleanup.hosts.local")
    assert "cleanup.hosts.ssh.agent" not in _imported_after("cleanup.hosts.ssh.client")
    assert "cleanup.hosts.ssh.client" not in _imported_after("cleanup.hosts.ssh.agent")
