"""Device-side runs of a simulated Mac over a real SSH server: the same outcome as over sim:DIR, through the
restart (waited for in the same process), through a dropped connection, and within the reboot bound."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from cleanup.engine.audit import AuditLog
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.hosts.ssh import SshHost
from cleanup.lab.simmac.builder import BOOTTIME, create_sim_mac
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import REPO, lab_state, run_cli
from tests.support.sshd import plans_over_ssh_and_on_sim, running_sshd

pytestmark = pytest.mark.ssh

DEVICE_RUN = ("--only", "device", "--yes", "--wait-seconds", "0")


@pytest.fixture(scope="module")
def sshd():
    with running_sshd() as server:
        yield server


def final(mac: Path):
    """The Mac after a run, comparable across folders: the tree (the fakes name their folder) and the lab state."""
    tree = {}
    for path, entry in tree_manifest(mac).items():
        if path == ".lab" or path.startswith(".lab/"):
            continue
        if entry[0] == "file" and str(mac).encode() in (data := (mac / path).read_bytes()):
            entry = (entry[0], entry[1], hashlib.sha256(data.replace(str(mac).encode(), b"<ROOT>")).hexdigest())
        tree[path] = entry
    sim = lab_state(mac)
    sim.pop("boottime")
    return tree, sim


def audit(state_dir: Path) -> list[dict]:
    store = StateStore(state_dir)
    (run_id,) = store.run_ids()
    return AuditLog(store.run_dir(run_id) / "audit.jsonl").records()


def applied(state_dir: Path) -> Counter:
    return Counter(r["key"] for r in audit(state_dir) if r.get("event") == "result" and r.get("changed"))


def run_state(state_dir: Path):
    store = StateStore(state_dir)
    return store.load(store.latest())[0]


# ------------------------------------------------------------------------------------------ same as sim:DIR
def test_dry_run_over_ssh_plans_what_sim_plans_and_changes_nothing(sshd, make_mac, tmp_path):
    a, b = make_mac("a", logged_out=[]), make_mac("b", logged_out=[])
    before = tree_manifest(a)
    plan_a, plan_b = plans_over_ssh_and_on_sim(sshd, a, b, tmp_path, sshd.env(a))
    assert plan_a == plan_b and plan_a["total_changes"] > 40
    assert tree_manifest(a) == before
    assert not (tmp_path / "s1").exists()


def test_full_device_run_over_ssh_continues_through_the_restart_like_sim(sshd, make_mac, tmp_path):
    a, b = make_mac("a", logged_out=[]), make_mac("b", logged_out=[])
    res = run_cli("run", "--host", sshd.spec, *DEVICE_RUN, state_dir=tmp_path / "s1", env=sshd.env(a))
    assert res.returncode == 0, res.stderr  # one process: the restart was waited for, not a pause
    assert "paused" not in res.stderr
    codes = [
        run_cli("run", "--host", f"sim:{b}", *DEVICE_RUN, state_dir=tmp_path / "s2").returncode,
        run_cli("resume", "--latest", state_dir=tmp_path / "s2").returncode,
    ]
    assert codes == [3, 0]  # over sim:DIR the restart pauses the run
    assert final(a) == final(b)
    assert applied(tmp_path / "s1") == applied(tmp_path / "s2") and set(applied(tmp_path / "s1").values()) == {1}
    state = run_state(tmp_path / "s1")
    assert state.host == sshd.spec and state.status == "done"
    restart = state.step("restart")
    assert restart.state == "done" and restart.data["boot_before"] == BOOTTIME
    assert restart.data["boot_after"] == lab_state(a)["boottime"] != BOOTTIME


# ------------------------------------------------------------------------------------------ dropped connection
class Recording(SshHost):
    """Notes every call that makes the Mac run one of its tools, in order (the fakes count the same calls)."""

    def __init__(self, spec: str):
        super().__init__(spec)
        self.calls: list[str] = []

    def run(self, argv, **kw):
        self.calls.append(" ".join(argv))
        return super().run(argv, **kw)

    def boot_time(self):
        self.calls.append("sysctl -n kern.boottime")
        return super().boot_time()

    def console_user(self):
        self.calls.append("stat /dev/console")
        return super().console_user()


@pytest.fixture(scope="module")
def baseline(sshd, tmp_path_factory):
    """An uninterrupted run over ssh: the Mac's tool calls in order, the final Mac, the changes applied."""
    tmp = tmp_path_factory.mktemp("baseline")
    mac = tmp / "mac"
    create_sim_mac(mac, logged_out=[])
    (mac / ".lab/faults.json").write_text("{}")  # counts the calls, injects nothing
    host = Recording(sshd.spec)
    with pytest.MonkeyPatch.context() as mp:
        for k, v in sshd.env(mac).items():
            mp.setenv(k, v)
        try:
            opts = RunOptions(yes=True, wait_seconds=0, autoresume=False)
            run = Runner(StateStore(tmp / "state"), host, load_playbook("cause6"), opts).start(Selection(only="device"))
        finally:
            host.close()
    assert run.status == "done"
    assert len(host.calls) == int((mac / ".lab/calls").read_text())  # each call is exactly one counted tool call
    return host.calls, final(mac), applied(tmp / "state")


def _interrupted(sshd, mac: Path, state_dir: Path, fault: dict) -> str:
    (mac / ".lab/faults.json").write_text(json.dumps(fault))
    res = run_cli("run", "--host", sshd.spec, *DEVICE_RUN, state_dir=state_dir, env=sshd.env(mac))
    assert res.returncode == 1, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.stderr
    again = run_cli("resume", "--latest", state_dir=state_dir, env=sshd.env(mac))
    assert again.returncode == 0, again.stderr
    return errors[0]


def test_connection_dropped_mid_run_then_resume_applies_every_change_once(sshd, baseline, mac, state_dir):
    calls, base_final, base_applied = baseline
    target = "security delete-generic-password"  # in the middle of step 7's many deletions
    n = next(i for i, c in enumerate(calls, 1) if target in c)
    line = _interrupted(sshd, mac, state_dir, {"kill_caller_before_call": n})  # the agent dies as the call arrives
    assert f"connection to {sshd.spec} lost during `" in line and target in line
    assert final(mac) == base_final
    assert applied(state_dir) == base_applied and set(base_applied.values()) == {1}


def test_connection_dropped_after_a_once_only_command_ran_is_not_repeated(sshd, baseline, mac, state_dir):
    calls, base_final, _ = baseline
    n = next(i for i, c in enumerate(calls, 1) if "jamf policy -event" in c)
    _interrupted(sshd, mac, state_dir, {"kill_caller_after_call": n})  # the policy ran; its answer was lost
    assert lab_state(mac)["policies_run"] == [{"event": "intune-registration"}]
    assert final(mac) == base_final


# ------------------------------------------------------------------------------------------ the restart
def restarting(sshd, mac: Path) -> dict[str, str]:
    """The environment of a run whose simulated Mac goes off the network when it restarts (the lab's agent)."""
    product = sshd.agent_command(mac)
    lab = product.replace(" -m cleanup host-agent ", " -m cleanup.lab.simmac.agent ")
    assert lab != product
    return sshd.env(mac, agent=lab)


def test_restart_waits_while_the_mac_is_unreachable_then_continues(sshd, mac, state_dir):
    (mac / ".lab/restart_offline_seconds").write_text("3")
    res = run_cli("run", "--host", sshd.spec, *DEVICE_RUN, "--to", "10", state_dir=state_dir, env=restarting(sshd, mac))
    assert res.returncode == 0 and "paused" not in res.stderr, res.stderr
    assert (mac / ".lab/offline_until").exists()  # the knob fired: the channel dropped and the Mac refused for 3 s
    state = run_state(state_dir)
    restart = state.step("restart")
    assert restart.state == "done" and restart.ended - restart.started >= 3
    assert restart.data["boot_after"] != restart.data["boot_before"]
    results = [r for r in audit(state_dir) if r.get("key") == "restart" and r["event"] == "result"]
    assert len(results) == 1 and results[0]["result"].startswith("restart requested (the connection closed as the Mac went down)")
    assert state.status == "done" and state.step("remove-company-portal").state == "done"  # went on after it


def test_a_mac_that_does_not_come_back_in_time_pauses_the_run(sshd, mac, state_dir, tmp_path):
    text = (REPO / "playbooks/cause6.toml").read_text()
    block = 'action = "reboot.restart"\nacts_on = "device"\ndestructive = true\n'
    assert block in text
    playbook = tmp_path / "quick-restart.toml"
    playbook.write_text(text.replace(block, block + "\n[steps.params]\nreconnect_minutes = 0.03\n"))
    (mac / ".lab/restart_offline_seconds").write_text("600")
    res = run_cli("run", "--playbook", playbook, "--host", sshd.spec, *DEVICE_RUN, "--to", "9", state_dir=state_dir, env=restarting(sshd, mac))
    assert res.returncode == 3, res.stderr
    paused = [ln for ln in res.stderr.splitlines() if ln.startswith("paused:")]
    assert len(paused) == 1 and "has not come back within 0.03 min" in paused[0] and "cannot reach" in paused[0]
    assert run_state(state_dir).step("restart").state == "paused"
    (mac / ".lab/offline_until").unlink()  # the Mac is up again
    res = run_cli("resume", "--latest", state_dir=state_dir, env=restarting(sshd, mac))
    assert res.returncode == 0, res.stderr
    restart = run_state(state_dir).step("restart")
    assert restart.state == "done" and "restarted" in restart.outcome
    assert applied(state_dir)["restart"] == 1  # the new boot time was seen: no second restart
