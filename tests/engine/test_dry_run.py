"""Helpdesk's dry-run: exactly what would be removed, on the very same code path, changing nothing."""

import json

from cleanup.lab.simmac.snapshot import tree_manifest
from tests.support.lab import run_cli


def _plan(mac, state_dir, *extra):
    res = run_cli("plan", "--host", f"sim:{mac}", "--json", *extra, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["data"]


def test_dry_run_changes_nothing_and_records_no_run(make_mac, state_dir):
    mac = make_mac()
    before = tree_manifest(mac)
    for args in (("plan", "--host", f"sim:{mac}"), ("run", "--dry-run", "--host", f"sim:{mac}", "--json")):
        res = run_cli(*args, state_dir=state_dir)
        assert res.returncode == 0, res.stderr
    assert tree_manifest(mac) == before  # files, links, modes, keychain contents
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())


def test_plan_lists_concrete_files_with_kind_and_size(make_mac, state_dir):
    mac = make_mac()
    plan = _plan(mac, state_dir)
    step6 = next(s for s in plan["steps"] if s["number"] == 6)
    by_path = {c["details"]["path"]: c["details"] for c in step6["changes"]}
    # system copy and per-user copies (the memdocs #79/#317 correction)
    assert "/Library/Preferences/com.microsoft.CompanyPortal.plist" in by_path
    assert "/Users/alice/Library/Preferences/com.microsoft.CompanyPortal.plist" in by_path
    assert "/Users/bob/Library/Saved Application State/com.microsoft.CompanyPortal.savedState" in by_path
    d = by_path["/Users/alice/Library/Cookies/com.jamf.management.jamfAAD.binarycookies"]
    assert d["type"] == "file" and d["size"] == (mac / "Users/alice/Library/Cookies/com.jamf.management.jamfAAD.binarycookies").stat().st_size
    link = by_path["/Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies"]
    assert link["type"] == "link" and "alice/Documents" in link["link_target"]
    assert plan["total_changes"] == sum(len(s.get("changes", [])) for s in plan["steps"])


def test_plan_lists_keychain_items_with_rule_and_sha1_and_never_jamf_keys(make_mac, state_dir):
    mac = make_mac(logged_out=[])
    plan = _plan(mac, state_dir)
    step7 = next(s for s in plan["steps"] if s["number"] == 7)
    details = [c["details"] for c in step7["changes"]]
    assert all("rule" in d["matched"] for d in details)
    certs = [d for d in details if d["class"] == "cert"]
    assert certs and all(len(d["sha1"]) == 40 for d in certs)
    assert not any((d.get("labl") or "") == "JAMF" for d in details)
    assert any("JAMF keys are never removed" in n or "protected by rule 'jamf-keys'" in n for n in step7["notes"])
    step8 = next(s for s in plan["steps"] if s["number"] == 8)
    wpj = [c["details"] for c in step8["changes"] if c["details"].get("issuer_cn") == "MS-ORGANIZATION-ACCESS"]
    assert len(wpj) == 2 and all(d["argv"][1] == "delete-identity" for d in wpj)
    prefs = [c for c in step8["changes"] if c["kind"] == "clear-identity-preference"]
    assert {c["details"]["service"] for c in prefs} == {"https://enterpriseregistration.windows.net", "https://enterpriseregistration.windows.net/"}


def test_plan_reports_locked_keychain_and_unplannable_cloud_steps(make_mac, state_dir):
    mac = make_mac()  # bob is logged out: his login keychain is locked
    plan = _plan(mac, state_dir)
    step7 = next(s for s in plan["steps"] if s["number"] == 7)
    assert any("login keychain of bob is locked" in b for b in step7["blocked"])
    for n in (4, 5):
        s = next(s for s in plan["steps"] if s["number"] == n)
        assert s["status"] == "cannot-plan" and "no Jamf Pro / Graph connection" in s["cannot_plan"]
    assert plan["facts"]["entra_device_id"] == "1991d161-0f46-4b3f-9930-b329544a2fb6" or plan["facts"]["entra_device_id"]


def test_only_and_from_to_limit_the_plan(make_mac, state_dir):
    mac = make_mac()
    plan = _plan(mac, state_dir, "--only", "device", "--from", "6", "--to", "8")
    status = {s["id"]: s["status"] for s in plan["steps"]}
    assert status["facts"] != "excluded" and status["preflight"] != "excluded"  # the device's facts and preflight always run
    assert status["cloud-facts"] == status["cloud-preflight"] == "excluded"  # --only device: no cloud at all
    assert status["remove-mdm-profile"] == status["delete-jamf-record"] == status["restart"] == "excluded"
    assert status["remove-files"] == "would-change"


def test_text_plan_is_readable(make_mac, state_dir):
    mac = make_mac()
    res = run_cli("plan", "--host", f"sim:{mac}", state_dir=state_dir)
    assert res.returncode == 0
    assert "dry-run, nothing is changed" in res.stdout
    assert "remove /Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies (symlink to" in res.stdout
    assert "Nothing was changed." in res.stdout
