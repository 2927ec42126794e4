"""Commands run on the Mac get a minimal environment: never an API secret of the operator's shell."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile

import pytest

from cleanup.errors import CleanupError
from cleanup.hosts import open_host
from cleanup.hosts.ssh.agent import Agent

SECRETS = {
    "CLEANUP_JAMF_CLIENT_SECRET": "jamf-s3cret",
    "CLEANUP_GRAPH_CLIENT_SECRET": "graph-s3cret",
    "CLEANUP_GRAPH_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----",
    "AWS_SECRET_ACCESS_KEY": "aws-s3cret",
    "GITHUB_TOKEN": "ghp_s3cret",
}
ENV_DUMP = "/usr/local/bin/env-dump"  # a program of the Mac's that prints what it was given


@pytest.fixture
def dumping_mac(mac, monkeypatch):
    tool = mac / ENV_DUMP.lstrip("/")
    tool.parent.mkdir(parents=True, exist_ok=True)
    tool.write_text(f"#!{sys.executable}\nimport json, os; print(json.dumps(dict(os.environ)))\n")
    tool.chmod(0o755)
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    return mac


def _leaks(env: dict) -> list[str]:
    return sorted(k for k, v in env.items() if k.startswith("CLEANUP_") or v in SECRETS.values())


def test_a_command_on_the_mac_sees_no_secret_of_the_parent(dumping_mac):
    res = open_host(f"sim:{dumping_mac}").run([ENV_DUMP])
    assert res.ok, res.stderr
    env = json.loads(res.stdout)
    assert _leaks(env) == []
    assert env["LC_ALL"] == "C"  # stable output for the parsers
    assert all(p.startswith(str(dumping_mac)) for p in env["PATH"].split(":"))  # the Mac's own system path


def test_a_command_the_host_agent_runs_sees_no_secret(dumping_mac):
    agent = Agent(str(dumping_mac))
    assert "ok" in agent.handle({"id": 0, "op": "hello", "args": {}})
    answer = agent.handle({"id": 1, "op": "run", "args": {"argv": [ENV_DUMP]}})
    env = json.loads(answer["ok"]["stdout"])
    assert _leaks(env) == []


def test_the_fake_tools_still_find_their_mac_without_an_inherited_variable(dumping_mac):
    res = open_host(f"sim:{dumping_mac}").run(["/usr/sbin/sysctl", "-n", "kern.boottime"])
    assert res.ok and "sec" in res.stdout, res.stderr


def test_the_ssh_client_gets_no_cleanup_secret(tmp_path, monkeypatch):
    # ssh hands its environment to a ProxyCommand (and to the Mac, under a broad SendEnv): dump it through one
    dump = tmp_path / "ssh-env.json"
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n  ProxyCommand {sys.executable} -c \"import json, os; open('{dump}', 'w').write(json.dumps(dict(os.environ)))\"\n")
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CLEANUP_SSH_CONFIG", str(config))
    sockets = tempfile.mkdtemp(prefix="csk", dir="/tmp")  # ssh's control socket paths must stay short
    monkeypatch.setenv("CLEANUP_SSH_CONTROL_DIR", sockets)
    host = open_host("ssh://admin@127.0.0.1:1")
    with pytest.raises(CleanupError) as failed:
        host.run(["/usr/bin/true"])
    shutil.rmtree(sockets)
    assert dump.exists(), failed.value
    env = json.loads(dump.read_text())
    assert sorted(k for k in env if k.startswith("CLEANUP_")) == []
    assert "HOME" in env  # ssh still finds the operator's keys and known_hosts
