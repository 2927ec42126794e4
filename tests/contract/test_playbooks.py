"""The envelope of `playbooks list | show | validate`."""

from __future__ import annotations

from tests.support.envelope import failure, parse
from tests.support.lab import run_cli


def test_list(state_dir):
    data = parse(run_cli("playbooks", "list", "--json", state_dir=state_dir), "playbooks list")
    names = {p["name"]: p for p in data["playbooks"]}
    assert "cause6" in names and set(names["cause6"]) == {"name", "title", "steps", "path"}


def test_show(state_dir):
    data = parse(run_cli("playbooks", "show", "cause6", "--json", state_dir=state_dir), "playbooks show")
    assert set(data) == {"name", "title", "description", "steps"} and data["name"] == "cause6"
    data, _ = failure(run_cli("playbooks", "show", "no-such-playbook", "--json", state_dir=state_dir), "playbooks show", 2, "PlaybookError")
    assert data is None


def test_validate(tmp_path, state_dir):
    from cleanup.engine.loader import available_playbooks

    good = available_playbooks()["cause6"]
    assert parse(run_cli("playbooks", "validate", good, "--json", state_dir=state_dir), "playbooks validate") == {
        "file": str(good),
        "valid": True,
        "problems": [],
    }
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[step]]\nid = "x"\n')
    data, message = failure(run_cli("playbooks", "validate", bad, "--json", state_dir=state_dir), "playbooks validate", 2, "PlaybookError")
    assert data["valid"] is False and data["problems"][0] == message
