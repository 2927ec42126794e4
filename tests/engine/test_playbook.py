"""The Cause 6 playbook is the article's procedure, and a bad playbook is refused with file, step and field named."""

import re

import pytest

from cleanup.engine.loader import load_playbook, parse_playbook, playbook_errors
from cleanup.errors import PlaybookError
from tests.support.lab import REPO, run_cli

REFERENCE = REPO.parent / "shared/reference/cause6-procedure.md"
CAUSE6 = (REPO / "playbooks/cause6.toml").read_text()


def test_cause6_has_the_article_steps_numbered_as_in_the_article():
    pb = load_playbook("cause6")
    numbers = [s.number for s in pb.steps]
    assert numbers == sorted(numbers) and numbers[0] == 0
    assert sorted(set(numbers)) == list(range(14))
    by_number = {s.number: s for s in pb.steps}
    assert by_number[2].action == "jamf.remove_mdm_profile"
    assert by_number[3].action == "jamf.remove_framework"
    assert [s.action for s in pb.steps if s.number == 6] == ["files.remove", "company_portal.remove_files"]  # the article's files, then Company Portal 5.x's
    assert by_number[9].action == "reboot.restart"
    assert [s.acts_on for s in pb.steps if s.number in (4, 5)] == ["cloud", "cloud"]
    assert {s.action for s in pb.steps if s.number == 11} == {"intune_devices.delete", "wait.settle"}


def test_every_step6_file_of_the_article_is_in_the_playbook():
    if not REFERENCE.exists():
        pytest.skip("shared reference not present beside the repo")
    text = REFERENCE.read_text()
    section = text.split("### Step 6")[1].split("The same list then continues")[0]
    listed = re.findall(r"`(/[^`]+)`", section)
    assert len(listed) >= 10
    paths = load_playbook("cause6").step("6").params["paths"]
    for p in listed:
        assert p in paths, p


def _replace_step6_paths(paths_toml: str) -> str:
    start = CAUSE6.index("paths = [")
    end = CAUSE6.index("]", start) + 1
    return CAUSE6[:start] + paths_toml + CAUSE6[end:]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[playbook\nname=", r"x\.toml: malformed TOML"),
        (CAUSE6.replace('action = "files.remove"', 'action = "files.shred"'), r"x\.toml: step 6 \(remove-files\): action: unknown action 'files.shred'"),
        (CAUSE6.replace('id = "restart"', 'id = "remove-files"'), r"step 9 \(remove-files\): id: duplicate id"),
        (CAUSE6.replace("number = 10\n", "number = 8\n"), r"step 8 \(remove-company-portal\): number: bad ordering"),
        (CAUSE6.replace("minutes = 30", 'minutes = "thirty"'), r"step 11 \(wait-30-minutes\): params\.minutes: expected float, got str"),
        (CAUSE6.replace("minutes = 30", "minutes = 30\nseconds = 5"), r"params\.seconds: unknown parameter"),
        (
            CAUSE6.replace('kind = "certificate"\nissuer', 'kind = "certificate"\nissuerr'),
            r"step 8 \(delete-keychain-entries\): params\.items\[2\]\.issuerr: unknown parameter",
        ),
        (CAUSE6.replace("destructive = true", "destructive = 1", 1), r"step 2 \(remove-mdm-profile\): destructive: expected bool"),
        (
            _replace_step6_paths('paths = ["/Library/Preferences/../../etc/sudoers"]'),
            r"params\.paths\[0\]: path '/Library/Preferences/\.\./\.\./etc/sudoers' is not normalised",
        ),
        (_replace_step6_paths('paths = ["/etc/sudoers"]'), r"params\.paths\[0\]: path '/etc/sudoers' is outside the allowed roots"),
        (_replace_step6_paths('paths = ["/Library/Preferences"]'), r"is too close to /Library"),
        (_replace_step6_paths('paths = ["/Library/Keychains/System.keychain"]'), r"is inside /Library/Keychains"),
        (_replace_step6_paths('paths = ["/Users/<username>/../root/Library/x/y"]'), r"not normalised"),
        (_replace_step6_paths('paths = ["/Library/<username>/Preferences/x"]'), r"may only stand for the home folder name"),
    ],
)
def test_bad_playbooks_name_file_step_and_field(text, expected):
    errors = playbook_errors(text, "x.toml")
    assert errors, "expected the playbook to be refused"
    assert re.search(expected, errors[0]) or any(re.search(expected, e) for e in errors), errors
    with pytest.raises(PlaybookError):
        parse_playbook(text, "x.toml")


def test_validate_command_one_line_and_exit_2(tmp_path, state_dir):
    bad = tmp_path / "bad.toml"
    bad.write_text(CAUSE6.replace('action = "files.remove"', 'action = "files.shred"'))
    res = run_cli("playbooks", "validate", bad, state_dir=state_dir)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "bad.toml: step 6 (remove-files): action: unknown action 'files.shred'" in res.stderr
    good = run_cli("playbooks", "validate", REPO / "playbooks/cause6.toml", state_dir=state_dir)
    assert good.returncode == 0 and "valid" in good.stdout


def test_show_json_lists_steps_with_params(state_dir):
    import json

    res = run_cli("playbooks", "show", "cause6", "--json", state_dir=state_dir)
    assert res.returncode == 0
    data = json.loads(res.stdout)["data"]
    step6 = next(s for s in data["steps"] if s["number"] == 6)
    assert step6["destructive"] is True and step6["acts_on"] == "device"
    assert "/Users/<username>/Library/Cookies/com.microsoft.CompanyPortal.binarycookies" in step6["params"]["paths"]


def test_playbook_data_not_code_a_new_path_is_an_edit(tmp_path):
    text = _replace_step6_paths('paths = ["/Library/Preferences/com.example.new.plist"]')
    pb = parse_playbook(text, str(tmp_path / "custom.toml"))
    assert pb.step("6").params["paths"] == ["/Library/Preferences/com.example.new.plist"]
