"""The lab's restarting agent: a simulated Mac that goes off the network at its restart; the product's does not."""

from __future__ import annotations

import io
import json
import time

import pytest

from cleanup.hosts.ssh.agent import Agent
from cleanup.lab.simmac import agent as lab_agent

SHUTDOWN = ["/sbin/shutdown", "-r", "now"]


def _hello(agent):
    assert "ok" in agent.handle({"id": 0, "op": "hello", "args": {}})
    return agent


def test_the_product_agent_answers_a_restart_whatever_the_lab_knob(mac):
    (mac / lab_agent.OFFLINE_KNOB).write_text("3")
    answer = _hello(Agent(str(mac))).handle({"id": 1, "op": "run", "args": {"argv": SHUTDOWN}})
    assert answer["ok"]["returncode"] == 0
    assert not (mac / lab_agent.OFFLINE_UNTIL).exists()


def test_without_the_knob_the_lab_agent_answers_a_restart(mac):
    answer = _hello(lab_agent.RestartingAgent(str(mac))).handle({"id": 1, "op": "run", "args": {"argv": SHUTDOWN}})
    assert answer["ok"]["returncode"] == 0


def test_with_the_knob_a_restart_goes_unanswered_and_the_mac_refuses_for_a_while(mac, capsys):
    (mac / lab_agent.OFFLINE_KNOB).write_text("30")
    agent = _hello(lab_agent.RestartingAgent(str(mac)))
    with pytest.raises(SystemExit) as down:
        agent.handle({"id": 1, "op": "run", "args": {"argv": SHUTDOWN}})
    assert down.value.code == lab_agent.EXIT_OFFLINE
    assert float((mac / lab_agent.OFFLINE_UNTIL).read_text()) > time.time() + 20
    assert lab_agent.main(["--root", str(mac)]) == lab_agent.EXIT_OFFLINE
    assert lab_agent.OFFLINE_TEXT in capsys.readouterr().err


def test_once_back_the_lab_agent_serves_the_protocol(mac):
    (mac / lab_agent.OFFLINE_UNTIL).write_text(f"{time.time() - 1}\n")
    out = io.BytesIO()
    stdin = io.BytesIO(b'{"id": 0, "op": "hello", "args": {}}\n{"id": 1, "op": "boot_time", "args": {}}\n')
    assert lab_agent.serve(str(mac), stdin, out, agent=lab_agent.RestartingAgent(str(mac))) == 0
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == [0, 1] and isinstance(answers[1]["ok"], int)
