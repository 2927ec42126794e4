"""A checkpoint is checked whole, against the run state's schema, before anything of a resume runs: a field of
the wrong type is one line naming the file and the field (status 2), and the Mac is left as it was."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cleanup.engine.state import RunState
from cleanup.engine.statecheck import check_run_state
from cleanup.engine.store import StateStore
from cleanup.errors import StateError
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import one_error, run_cli
from tests.support.treecopy import copy_tree, restore


def _set(path: str, value):
    def change(state: dict) -> None:
        *parents, last = path.split(".")
        node = state
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def _step_of(step_id: str, key: str, value):
    def change(state: dict) -> None:
        next(s for s in state["steps"] if s["id"] == step_id)[key] = value

    return change


#: (damage, the field the error must name)
DAMAGE = {
    "users-a-string": (_set("facts.users", "alice"), "facts.users"),
    "options-a-list": (_set("options", []), "options"),
    "choices-a-string": (_set("options.choices", "x"), "options.choices"),
    "unknown-step-state": (_step_of("remove-company-portal", "state", "exploded"), "state"),
    "steps-not-a-list": (_set("steps", {"facts": "done"}), "steps"),
    "uid-a-string": (_set("facts.users.0.uid", "501"), "facts.users[0].uid"),
    "boot-before-a-string": (_step_of("restart", "data", {"boot_before": "yesterday"}), "data.boot_before"),
    "attempts-a-flag": (_step_of("restart", "attempts", True), "attempts"),
    "serial-a-wildcard": (_set("serial", "C02*"), "serial"),
    "cloud-record-id-a-number": (_set("facts.cloud", {"serial": "C02ZK1ABMD6M", "jamf": [{"id": 7}], "entra": [], "intune": []}), "facts.cloud.jamf[0].id"),
}


def _paused_run(mac: Path, state_dir: Path) -> Path:
    """A real `cleanup run` on a simulated Mac, paused at the restart (step 9): steps 10 and on still to do."""
    create_sim_mac(mac, logged_out=[])
    res = run_cli("run", "--host", f"sim:{mac}", "--only", "device", "--yes", "--no-autoresume", state_dir=state_dir)
    assert res.returncode == 3 and "restarting" in res.stderr, res.stdout + res.stderr
    store = StateStore(state_dir)
    return store.run_dir(store.latest())


@pytest.fixture(scope="module")
def _paused_template(tmp_path_factory):
    """One real paused run; each test gets a fresh copy of it at the same place (its files name that place)."""
    tmp = tmp_path_factory.mktemp("paused")
    live, pristine = tmp / "live", tmp / "pristine"
    run_dir = _paused_run(live / "mac", live / "state")
    copy_tree(str(live), str(pristine))
    return live, pristine, run_dir


@pytest.fixture
def paused_run(_paused_template):
    live, pristine, run_dir = _paused_template
    restore(str(pristine), str(live))
    return live / "mac", run_dir


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> dict:
    """The state of one such run, for the checks that only read it."""
    tmp = tmp_path_factory.mktemp("checkpoint")
    return json.loads((_paused_run(tmp / "mac", tmp / "state") / "state.json").read_text())


def test_the_checkpoint_of_a_real_run_fits_the_schema(checkpoint):
    data = copy.deepcopy(checkpoint)
    check_run_state(data, "state file")
    assert RunState.from_json(data, "state file").status == "paused"


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_each_damaged_field_is_named(checkpoint, name):
    damage, field = DAMAGE[name]
    data = copy.deepcopy(checkpoint)
    damage(data)
    with pytest.raises(StateError) as info:
        RunState.from_json(data, "state file /x/state.json")
    message = info.value.message
    assert message.startswith("state file /x/state.json is damaged: ") and field in message, message
    assert "\n" not in message


def test_unknown_keys_are_refused_in_a_step_but_allowed_in_facts(checkpoint):
    data = copy.deepcopy(checkpoint)
    extra = copy.deepcopy(data)
    extra["facts"]["a_later_fact"] = {"any": ["shape"]}
    check_run_state(extra, "state file")
    data["steps"][0]["colour"] = "blue"
    with pytest.raises(StateError, match=r"steps\[0\]\.colour is not a field"):
        check_run_state(data, "state file")


def test_a_step_id_used_twice_is_refused(checkpoint):
    data = copy.deepcopy(checkpoint)
    data["steps"][1]["id"] = data["steps"][0]["id"]
    with pytest.raises(StateError, match=r"steps\[1\]\.id"):
        check_run_state(data, "state file")


def test_a_foreign_document_is_left_to_the_format_check():
    for data in ([], "x", {"format": "something-else/3"}):
        check_run_state(data, "state file")  # RunState.from_json reports these as "not a cleanup run state"
        with pytest.raises(StateError, match="not a cleanup run state"):
            RunState.from_json(data, "state file")


@pytest.mark.parametrize("name", ["users-a-string", "options-a-list", "choices-a-string", "unknown-step-state", "steps-not-a-list"])
def test_resume_of_a_damaged_checkpoint_runs_nothing(paused_run, name):
    mac, run_dir = paused_run
    state_dir = mac.parent / "state"
    damage, field = DAMAGE[name]
    data = json.loads((run_dir / "state.json").read_text())
    damage(data)
    (run_dir / "state.json").write_text(json.dumps(data))
    files = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    before = tree_manifest(mac)
    line = one_error(run_cli("resume", run_dir.name, state_dir=state_dir), 2)
    assert f"{run_dir / 'state.json'} is damaged" in line and field in line, line
    assert tree_manifest(mac) == before  # Company Portal (step 10) and the rest untouched
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == files  # no audit record, no checkpoint write


def test_resume_of_the_undamaged_checkpoint_does_act(paused_run):
    """The control for the test above: the same checkpoint, untouched, goes on with step 10."""
    mac, run_dir = paused_run
    state_dir = mac.parent / "state"
    before = tree_manifest(mac)
    res = run_cli("resume", run_dir.name, "--wait-seconds", "0", state_dir=state_dir)
    assert res.returncode in (0, 3), res.stdout + res.stderr
    assert tree_manifest(mac) != before
