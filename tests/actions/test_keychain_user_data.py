"""Issue 11, point 3: step 7 removes what the registration uses and keeps the users' own keychain data (Edge's and
Teams' Safe Storage keys, Teams, Outlook, Office, rights management, OneDrive, the user's own certificates), each
kept with its reason in the dry-run; the article's literal step 7 is one playbook line, and its dry-run names every
such item as a user-data loss."""

from __future__ import annotations

import re

import pytest

from cleanup.engine.loader import load_playbook, parse_playbook, playbook_errors
from tests.support.lab import run_cli
from tests.support.simmac import item_label, login_kc

#: the default scenario's items that are the user's own data (label -> the protect rule that keeps it)
USER_DATA = {
    "Microsoft Edge Safe Storage": "safe-storage-keys",
    "Microsoft Teams Safe Storage": "safe-storage-keys",
    "com.microsoft.teams": "teams",
    "com.helpshift.data_com.microsoft.Outlook": "outlook-accounts",
    "Microsoft Office Identities Cache 2": "office-identity",
    "MicrosoftOfficeRMSCredential": "rights-management",
    "com.microsoft.onedrive.cookies": "onedrive-oneauth",
    "Alice Microsoft Admin": "own-certificates",
}
REGISTRATION = {
    "com.microsoft.workplacejoin.thumbprint",
    "com.microsoft.CompanyPortal",
    "com.microsoft.CompanyPortal.HockeySDK",
    "com.microsoft.CompanyPortalMac.usercontext",
    "enterpriseregistration.windows.net",
    "https://device.login.microsoftonline.com",
    "com.microsoft.workplacejoin.deviceName",
    "com.jamf.management.jamfAAD",
    "DeviceLogin.microsoft.com",
}


def _literal() -> str:
    text = load_playbook("cause6").text
    assert text.count("\nliteral = false\n") == 1
    return text.replace("\nliteral = false\n", "\nliteral = true\n")


def _user_data_items(kc: dict) -> list[dict]:
    return [i for i in kc["items"] if item_label(i) in USER_DATA and i["class"] != "key"]


def test_the_default_scenario_carries_the_users_own_microsoft_items(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    labels = {item_label(i) for i in _user_data_items(mac.keychain(login_kc("alice")))}
    assert labels == set(USER_DATA)
    cert = next(i for i in mac.keychain(login_kc("alice"))["items"] if i.get("labl") == "Alice Microsoft Admin" and i["class"] == "cert")
    assert cert["issuer_cn"] == "Contoso Issuing CA 01"


def test_step_7_keeps_the_users_own_data_with_its_reason_and_removes_the_registrations(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    before = _user_data_items(mac.keychain(login_kc("alice")))
    ctx = mac.context()
    step = mac.step("purge-keychains")
    plan = mac.plan(ctx, step)

    planned = {c.details.get("labl") or c.details.get("svce") or c.details.get("srvr") for c in plan.changes}
    assert not planned & set(USER_DATA), planned
    assert planned >= REGISTRATION, REGISTRATION - planned
    reasons = {r["name"]: r["reason"] for r in step.params["protect"]}
    for label, rule in USER_DATA.items():
        kept = [
            n for n in plan.notes if n.startswith("kept ") and f"'{label}'" in n and "login keychain of alice" in n and f"protected by rule {rule!r}: " in n
        ]
        assert len(kept) == 1, (label, [n for n in plan.notes if label in n])
        assert reasons[rule] in kept[0]
    assert not [c for c in plan.changes if c.details.get("user_data_loss")]

    mac.apply_all(ctx, step, plan)
    kc = mac.keychain(login_kc("alice"))
    assert _user_data_items(kc) == before  # byte for byte
    assert not [i for i in kc["items"] if item_label(i) in REGISTRATION]


def test_the_literal_step_7_names_each_user_data_item_as_a_loss_and_still_keeps_the_jamf_keys(sim_mac):
    mac = sim_mac(users=["alice"], logged_out=[])
    mac.playbook = parse_playbook(_literal(), "literal.toml")
    ctx = mac.context()
    step = mac.step("purge-keychains")
    assert step.params["literal"] is True
    plan = mac.plan(ctx, step)

    reasons = {r["name"]: r["reason"] for r in step.params["protect"]}
    for label, rule in USER_DATA.items():
        [change] = [c for c in plan.changes if c.details.get("labl") == label and c.details["owner"] == "alice"]
        assert change.details["user_data_loss"] == reasons[rule]
        assert change.details["matched"].startswith("user-data loss")
        assert [n for n in plan.notes if n.startswith("user-data loss:") and f"'{label}'" in n and reasons[rule] in n]
    assert not [c for c in plan.changes if c.details["class"] == "key"]
    assert sum("JAMF keys are never removed" in n or "protected by rule 'jamf-keys'" in n for n in plan.notes) >= 4

    mac.apply_all(ctx, step, plan)
    kc = mac.keychain(login_kc("alice"))
    assert not _user_data_items(kc)
    assert len([i for i in kc["items"] if i["class"] == "key" and i["labl"] == "JAMF"]) == 2


def test_the_dry_run_shows_the_kept_items_and_in_literal_mode_the_losses(make_mac, state_dir, tmp_path):
    mac = make_mac(logged_out=["bob"])
    res = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert re.search(
        r"kept generic password labl='Microsoft Edge Safe Storage'.* in login keychain of alice: protected by rule 'safe-storage-keys': an app's own encryption key",
        res.stdout,
    )
    assert "user-data loss" not in res.stdout

    literal = tmp_path / "literal.toml"
    literal.write_text(_literal())
    res = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", "--playbook", literal, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    line = next(line for line in res.stdout.splitlines() if "delete" in line and "labl='Microsoft Edge Safe Storage'" in line)
    assert "[user-data loss (an app's own encryption key" in line
    assert re.search(r"user-data loss: certificate labl='Alice Microsoft Admin'.* is removed because the step is literal", res.stdout)


@pytest.mark.parametrize(
    "protect, expected",
    [
        ('name = "x"\ncontains = ["Safe Storage"]\nuser_data = true', r"reason: a user_data rule says what the item protects"),
        ('name = "x"\nnot_issued_by = ["Contoso"]\nclasses = ["genp"]', r"not_issued_by: only certificates have an issuer"),
        ('name = "x"\nreason = "keeps everything"', r"needs contains or not_issued_by"),
    ],
)
def test_a_protect_rule_that_cannot_do_what_it_says_is_refused(protect, expected):
    text = load_playbook("cause6").text.replace(
        '[[steps.params.protect]]\nname = "jamf-keys"', f'[[steps.params.protect]]\n{protect}\n\n[[steps.params.protect]]\nname = "jamf-keys"', 1
    )
    errors = playbook_errors(text, "x.toml")
    assert any(re.search(expected, e) for e in errors), errors


def test_a_literal_rule_still_names_only_the_articles_scope():
    text = load_playbook("cause6").text.replace(
        'contains = ["JAMF"]\n\n# What the registration uses.', 'contains = ["JAMF", "Chrome Safe Storage"]\n\n# What the registration uses.', 1
    )
    assert "Chrome Safe Storage" in text
    assert any("'Chrome Safe Storage' is outside the article's scope" in e for e in playbook_errors(text, "x.toml"))
