"""A playbook can narrow what an action does, never widen it: each refusal named by file, step and field, with one
line and exit 2, before anything on the Mac or in the state folder changes."""

import re

import pytest

from cleanup.engine.loader import playbook_errors
from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import REPO, one_error, run_cli

CAUSE6 = (REPO / "playbooks/cause6.toml").read_text()


def _step_block(step_id: str) -> str:
    start = CAUSE6.index(f'id = "{step_id}"')
    end = CAUSE6.find("[[steps]]", start)
    return CAUSE6[start : end if end != -1 else len(CAUSE6)]


def _edit_step(step_id: str, old: str, new: str) -> str:
    block = _step_block(step_id)
    assert old in block, (step_id, old)
    return CAUSE6.replace(block, block.replace(old, new, 1))


def _with_params(step_id: str, params: str) -> str:
    block = _step_block(step_id)
    return CAUSE6.replace(block, block.rstrip("\n") + "\n\n[steps.params]\n" + params + "\n\n")


def _rules(contains: str) -> str:
    start = CAUSE6.index('contains = ["Microsoft"')
    end = CAUSE6.index("\n", start)
    return CAUSE6[:start] + f"contains = {contains}" + CAUSE6[end:]


def _exact_account(account: str) -> str:
    return CAUSE6.replace('account = "com.microsoft.workplacejoin.thumbprint"', f'account = "{account}"', 1)


REFUSED = [
    (
        "undestructive-files",
        _edit_step("remove-files", "destructive = true", "destructive = false"),
        r"step 6 \(remove-files\): destructive: action files\.remove is destructive",
    ),
    ("undestructive-keychain", _edit_step("purge-keychains", "destructive = true", "destructive = false"), r"step 7 \(purge-keychains\): destructive:"),
    (
        "device-action-in-a-cloud-step",
        _edit_step("remove-files", 'acts_on = "device"', 'acts_on = "cloud"'),
        r"step 6 \(remove-files\): acts_on: action files\.remove acts on the device, not 'cloud'",
    ),
    ("device-action-as-operator", _edit_step("restart", 'acts_on = "device"', 'acts_on = "operator"'), r"step 9 \(restart\): acts_on:"),
    ("cloud-action-on-the-device", _edit_step("delete-jamf-record", 'acts_on = "cloud"', 'acts_on = "device"'), r"step 4 \(delete-jamf-record\): acts_on:"),
    (
        "restart-command",
        _with_params("restart", 'command = ["/usr/bin/security", "delete-certificate", "-c", "Apple Root CA"]'),
        r"step 9 \(restart\): params\.command: unknown parameter",
    ),
    ("one-letter-rule", _rules('["e"]'), r"step 7 \(purge-keychains\): params\.rules\[0\]: contains\[0\]: 'e' is too short"),
    ("chrome-rule", _rules('["Microsoft", "Chrome Safe Storage"]'), r"params\.rules\[0\]: contains\[1\]: 'Chrome Safe Storage' is outside the article's scope"),
    ("wifi-exact-item", _exact_account("HomeWiFi"), r"step 8 \(delete-keychain-entries\): params\.items\[0\]: account: 'HomeWiFi' is outside"),
    (
        "jamf-binary",
        _with_params("remove-framework", 'jamf_binary = "/bin/rm"'),
        r"step 3 \(remove-framework\): params\.jamf_binary: '/bin/rm' is not the jamf binary",
    ),
    (
        "pkg-id",
        _with_params("remove-company-portal", 'pkg_ids = ["com.apple.pkg.Core"]'),
        r"params\.pkg_ids\[0\]: 'com\.apple\.pkg\.Core' is not a Company Portal package id",
    ),
    ("process", _with_params("remove-company-portal", 'process_name = "loginwindow"'), r"params\.process_name: 'loginwindow' is not Company Portal's process"),
    ("wait-inf", CAUSE6.replace("minutes = 30", "minutes = inf"), r"step 11 \(wait-30-minutes\): params\.minutes: inf is not a number this tool accepts"),
    ("wait-huge", CAUSE6.replace("minutes = 30", "minutes = 1e308"), r"params\.minutes: 1e\+308 is not a number"),
    ("wait-a-year", CAUSE6.replace("minutes = 30", "minutes = 525600"), r"params\.minutes: must be more than 0 and at most 10080"),
    ("nan-timeout", CAUSE6.replace("timeout_minutes = 10", "timeout_minutes = nan"), r"params\.timeout_minutes: nan is not a number"),
    ("deep-nesting", CAUSE6 + "\n[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n", r"x\.toml: malformed TOML: nested too deeply"),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in REFUSED])
def test_a_playbook_that_widens_an_action_is_refused(text, expected):
    errors = playbook_errors(text, "x.toml")
    assert any(re.search(expected, e) for e in errors), errors


def test_a_protect_rule_may_name_anything_it_only_keeps_items():
    text = CAUSE6.replace(
        '[[steps.params.protect]]\nname = "jamf-keys"\ncontains = ["JAMF"]',
        '[[steps.params.protect]]\nname = "jamf-keys"\ncontains = ["JAMF", "e", "Chrome Safe Storage"]',
    )
    assert "Chrome Safe Storage" in text
    assert playbook_errors(text, "x.toml") == []


def test_the_shipped_playbooks_stay_valid():
    for name in ("cause6", "duplicates"):
        assert playbook_errors((REPO / f"playbooks/{name}.toml").read_text(), f"{name}.toml") == []


@pytest.mark.parametrize("case", ["undestructive-files", "restart-command", "one-letter-rule", "deep-nesting"])
def test_run_and_validate_refuse_it_before_anything_changes(case, tmp_path, make_mac, state_dir):
    text, expected = next((t, e) for i, t, e in REFUSED if i == case)
    playbook = tmp_path / "x.toml"
    playbook.write_text(text)
    assert re.search(expected, one_error(run_cli("playbooks", "validate", playbook, state_dir=state_dir), 2))
    mac = make_mac(logged_out=[])
    before = tree_manifest(mac)
    line = one_error(run_cli("run", "--playbook", playbook, "--host", f"sim:{mac}", "--only", "device", "--yes", state_dir=state_dir), 2)
    assert "x.toml" in line
    assert tree_manifest(mac) == before
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())


@pytest.mark.parametrize("kind", ["huge", "nul", "dev-zero", "fifo"])
def test_a_hostile_playbook_file_gets_one_line(kind, tmp_path, state_dir):
    import os

    path = tmp_path / "x.toml"
    if kind == "huge":
        path.write_text(CAUSE6 + "\n# " + "x" * (2 << 20) + "\n")
    elif kind == "nul":
        path.write_bytes(CAUSE6.encode().replace(b"[playbook]", b"[play\x00book]"))
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    line = one_error(run_cli("playbooks", "validate", path, state_dir=state_dir, timeout=30), 2)
    assert {"huge": "larger than", "nul": "NUL byte", "dev-zero": "not a regular file", "fifo": "not a regular file"}[kind] in line
