"""`--host ssh://user@mac[:port]`: what is accepted, what is refused (status 2), and the ssh command line."""

from __future__ import annotations

import pytest

from cleanup.errors import UsageError
from cleanup.hosts import open_host
from cleanup.hosts.ssh import SshHost, parse_ssh_spec, ssh_argv
from tests.support.lab import run_cli


@pytest.mark.parametrize(
    "spec, user, host, port, canonical",
    [
        ("ssh://admin@mac.corp.example", "admin", "mac.corp.example", None, "ssh://admin@mac.corp.example"),
        ("ssh://admin@mac.corp.example:2222", "admin", "mac.corp.example", 2222, "ssh://admin@mac.corp.example:2222"),
        ("ssh://it.tech@10.0.0.7:22", "it.tech", "10.0.0.7", 22, "ssh://it.tech@10.0.0.7:22"),
        ("ssh://root@[fe80::1]:2200", "root", "fe80::1", 2200, "ssh://root@[fe80::1]:2200"),
        ("ssh://root@[2001:DB8:0:0::1]", "root", "2001:db8::1", None, "ssh://root@[2001:db8::1]"),
        ("ssh://_adm-1@MBP-ALICE.local", "_adm-1", "mbp-alice.local", None, "ssh://_adm-1@mbp-alice.local"),
    ],
)
def test_good_specs(spec, user, host, port, canonical):
    t = parse_ssh_spec(spec)
    assert (t.user, t.host, t.port, t.spec) == (user, host, port, canonical)
    assert parse_ssh_spec(t.spec) == t  # the stored spec re-opens the same Mac on resume
    h = open_host(spec)
    assert isinstance(h, SshHost) and h.spec == canonical and h.device


@pytest.mark.parametrize(
    "spec, words",
    [
        ("ssh://mac", "no user"),
        ("ssh://u@", "no Mac"),
        ("ssh://@mac", "no user"),
        ("ssh://u@mac:0", "zero port"),
        ("ssh://u@mac:", "empty"),
        ("ssh://u@mac:99999", "invalid"),
        ("ssh://u@mac:ssh", "invalid"),
        ("ssh://u@mac/var/root", "path"),
        ("ssh://u@mac/", "path"),
        ("ssh://u@mac?x=1", "query"),
        ("ssh://u@mac#frag", "fragment"),
        ("ssh://u@-oProxyCommand=x", "not a host name"),
        ("ssh://-oProxyCommand=x@mac", "not a user name"),
        ("ssh://u v@mac", "spaces"),
        ("ssh://u@mac name", "spaces"),
        ("ssh://u@[not-v6]", "IPv6"),
        ("ssh:u@mac", "not an ssh host"),
        ("ssh//u@mac", "unknown host"),
    ],
)
def test_bad_specs(spec, words):
    with pytest.raises(UsageError) as exc:
        open_host(spec)
    assert words in exc.value.message and "\n" not in exc.value.message


def test_a_password_is_refused_and_never_echoed():
    with pytest.raises(UsageError) as exc:
        open_host("ssh://u:Hunter2-secret@mac")
    assert "password" in exc.value.message and "Hunter2" not in exc.value.message
    with pytest.raises(UsageError) as exc:
        open_host("ssh://u:Hunter2-secret@mac:notaport")
    assert "Hunter2" not in exc.value.message


@pytest.mark.parametrize("spec", ["ssh://mac", "ssh://u@", "ssh://u:pw@mac"])
def test_bad_specs_exit_2_from_the_command_line(spec, tmp_path):
    res = run_cli("run", "--host", spec, "--only", "device", "--yes", state_dir=tmp_path / "state")
    assert res.returncode == 2, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and ("ssh://user@mac[:port]" in errors[0] or "password" in errors[0])
    assert ":pw@" not in res.stderr
    assert not (tmp_path / "state" / "runs").exists()


def test_ssh_command_line_is_an_argv_with_batch_mode_and_connection_reuse():
    t = parse_ssh_spec("ssh://admin@[fe80::1]:2222")
    argv = ssh_argv(t, "sudo -n cleanup host-agent", "/tmp/cs", "/etc/cfg")
    assert argv[0] == "ssh" and argv[-3:] == ["admin@fe80::1", "--", "sudo -n cleanup host-agent"]
    opts = " ".join(argv)
    for o in (
        "-T",
        "BatchMode=yes",
        "ConnectTimeout=",
        "ServerAliveInterval=",
        "ControlMaster=auto",
        "ControlPath=/tmp/cs/%C",
        "ControlPersist=",
        "-p 2222",
        "-F /etc/cfg",
    ):
        assert o in opts
    assert "StrictHostKeyChecking" not in opts
    no_port = ssh_argv(parse_ssh_spec("ssh://admin@mac"), "x", "/tmp/cs")
    assert "-p" not in no_port and "-F" not in no_port  # the user's ssh config decides the port
