"""`diagnose` per registration model (issue 12 point 4): each check says which models it applies to, the model's
own checks (compliance partner, Jamf's device-compliance information, the jamf plist, getPSSOStatus, app-sso), and
the false alarms of a Device Compliance or Platform SSO Mac gone, while they are still raised where they are real."""

from __future__ import annotations

import json
import time

from cleanup.diagnose import run_diagnose
from cleanup.hosts import open_host
from cleanup.lab.simmac.sso_model import psso_device_id
from tests.support.diagnose import fresh_token
from tests.support.diagnose_models import (
    DC_ONLY,
    LEGACY_ONLY,
    diagnose,
    edit_state,
    remove_workplace_join,
    serve_jamf_version,
    set_jamf_plist,
    statuses,
)
from tests.support.lab import run_cli

DC = ("device-compliance", "platform-sso")


def _device_only(mac) -> dict:
    return {c.id: c for c in run_diagnose(None, open_host(f"sim:{mac}"), None)}


# -- the model and the models each check applies to -------------------------------------------------------


def test_device_compliance_mac_has_no_problem_and_no_legacy_alarm(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    checks = diagnose(lab)
    model = checks["registration-model"]
    assert model.status == "ok" and model.evidence["model"] == "device-compliance"
    assert any("complianceManagementPartners" in e for e in model.evidence["evidence"])
    assert statuses(checks, "problem") == set()
    assert statuses(checks, "n/a") == LEGACY_ONLY | {"app-sso"}  # no Platform SSO on this Mac
    assert checks["intune-records"].status == "ok" and "as expected" in checks["intune-records"].finding
    partner = checks["compliance-partner"]
    assert partner.status == "ok" and partner.evidence["partners"][0]["macOsOnboarded"] is True
    [device_id] = lab.identity.device_ids
    jamf = checks["jamf-device-compliance"]
    assert jamf.status == "ok" and device_id in jamf.finding and jamf.evidence["device_compliance"][0]["state"] == "COMPLIANT"
    ca = checks["microsoft-ca-settings"]
    assert ca.status == "ok" and ca.evidence["microsoftCANativeClientAppId"] == "b03c10a8-71c7-45f9-b44a-3335ab76e970"
    assert checks["psso-status"].status == "ok" and checks["psso-status"].evidence["users"][0]["device_id"] == device_id
    assert checks["user-licence"].status == "ok" and checks["user-licence"].evidence["user_from"] == "getPSSOStatus"
    assert lab.deleted() == []


def test_each_check_names_its_models_in_json_and_table(make_lab, tmp_path):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    args = ["diagnose", "--host", f"sim:{lab.mac}"]
    r = run_cli(*args, "--json", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)["data"]
    models = {c["id"]: tuple(c["models"]) for c in report["checks"]}
    assert {i for i, m in models.items() if m == DC} == DC_ONLY
    assert {i for i, m in models.items() if m == ("legacy",)} == LEGACY_ONLY
    assert models["workplace-join"] == models["jamfaad-state"] == ("legacy", *DC)
    assert report["summary"] == {"ok": 19, "problem": 0, "unknown": 0, "n/a": 5}
    text = run_cli(*args, state_dir=tmp_path / "s", env=lab.env()).stdout
    assert "applies to" in text and "DC, PSSO" in text and "Registration model: device-compliance" in text
    assert "n/a     partner-connection: retired" in text and "5 not applicable" in text


def test_legacy_mac_skips_the_2026_checks(make_lab):
    lab = make_lab("clean")
    fresh_token(lab.mac)
    checks = diagnose(lab)
    assert checks["registration-model"].evidence["model"] == "legacy"
    assert statuses(checks, "n/a") == DC_ONLY and statuses(checks, "problem") == set()
    assert "this check is for Jamf Device Compliance, Platform SSO" in checks["app-sso"].finding


def test_cloud_only_diagnosis_of_a_dc_tenant_takes_the_tenants_model(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    checks = diagnose(lab, mac=False)
    model = checks["registration-model"]
    assert model.evidence["model"] == "device-compliance"
    assert any("cloud-only" in e for e in model.evidence["evidence"])
    assert checks["compliance-partner"].status == "ok" and checks["jamf-device-compliance"].status == "ok"
    assert checks["partner-connection"].status == "n/a"
    assert checks["app-sso"].status == "unknown" and "--host" in checks["app-sso"].finding


# -- the false alarms -----------------------------------------------------------------------------------


def test_platform_sso_mac_holds_no_workplace_join_items_and_that_is_fine(make_lab):
    lab = make_lab("platform-sso", mac_scenario="platform-sso")
    checks = diagnose(lab)
    psso_id = psso_device_id(lab.serial)
    assert checks["registration-model"].evidence["model"] == "platform-sso"
    wpj = checks["workplace-join"]
    assert wpj.status == "ok" and "Secure Enclave" in wpj.finding and psso_id in wpj.finding
    assert wpj.evidence["users"][0]["state"] == "none"
    sso = checks["app-sso"]
    assert sso.status == "ok" and psso_id in sso.finding and sso.evidence["users"][0]["secure_enclave"] is True
    assert checks["psso-status"].status == "ok" and checks["psso-status"].evidence["users"][0]["status"] == 2
    match = checks["registration-match"]
    assert match.status == "ok" and match.evidence["registrations"][0]["deviceId"] == psso_id
    # the tenant keeps the Workplace record from before Platform SSO: a real duplicate, held or not by the Mac
    dup = checks["entra-records"]
    assert statuses(checks, "problem") == {"entra-records"} and "1 held by the Mac" in dup.finding
    assert {d["trustType"] for d in dup.evidence["devices"]} == {"AzureAd", "Workplace"}


def test_no_workplace_join_at_all_still_alarms_on_a_legacy_mac(make_mac):
    psso = _device_only(make_mac("psso", scenario="platform-sso", users=["alice"]))["workplace-join"]
    assert psso.status == "ok" and psso.evidence["registrations_outside_the_keychain"][0]["seen_by"] == "Platform SSO (app-sso)"
    legacy = make_mac("legacy", users=["alice"])
    remove_workplace_join(legacy, "alice")
    found = _device_only(legacy)["workplace-join"]
    assert found.status == "problem" and "not registered" in found.finding


def test_stale_jamfaad_token_is_no_symptom_from_jamf_pro_11_5(make_lab, make_mac, monkeypatch):
    lab = make_lab("clean")  # the builder's token is from 2025; the emulator is Jamf Pro 11.22.0
    current = diagnose(lab)["jamfaad-state"]
    assert current.status == "ok" and "11.22.0" in current.finding and "gatherAADInfo was removed in 11.5" in current.finding
    assert current.evidence["jamf_pro_version"] == {"version": "11.22.0", "read_from": "the Jamf Pro server (/api/v1/jamf-pro-version)"}
    serve_jamf_version(monkeypatch, (11, 4, 0))
    old = diagnose(make_lab("clean", name="old"))["jamfaad-state"]
    assert old.status == "problem" and "older than 24 hours" in old.finding and old.evidence["jamf_pro_version"]["version"] == "11.4.0"
    unknown = _device_only(make_mac(users=["alice"]))["jamfaad-state"]
    assert unknown.status == "problem" and "version is unknown" in unknown.finding


# -- the model's own checks finding their problems -----------------------------------------------------


def test_legacy_leftovers_and_the_retired_partner(make_lab):
    lab = make_lab("legacy-leftovers", mac_scenario="device-compliance")
    checks = diagnose(lab)
    model = checks["registration-model"]
    assert model.evidence["model"] == "device-compliance" and len(model.evidence["leftovers"]) == 2
    intune = checks["intune-records"]
    assert intune.status == "problem" and "leftovers of the legacy integration" in intune.finding and intune.playbook == "cause6"
    partner = checks["partner-connection"]
    assert partner.status == "n/a" and "retired" in partner.finding and "terminated" in partner.finding and "2025-01-31" in partner.finding
    assert checks["compliance-mismatch"].status == "n/a"


def test_compliance_partner_state_and_heartbeat(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    with lab.tenant.lock:
        [partner] = lab.tenant.directory.compliance_partners
        partner.update(partnerState="unresponsive", heartbeat_age=3 * 86400.0)
    found = diagnose(lab, mac=False)["compliance-partner"]
    assert found.status == "problem" and "'unresponsive', not 'enabled'" in found.finding and "3.0 days ago" in found.finding
    with lab.tenant.lock:
        partner.update(partnerState="enabled", macOsOnboarded=False, heartbeat_age=60.0)
    found = diagnose(lab, mac=False)["compliance-partner"]
    assert found.status == "problem" and "not onboarded for macOS" in found.finding


def test_jamf_device_compliance_states_and_ids(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    t = lab.tenant
    [record] = t.jamf_by_serial(lab.serial)
    [device_id] = lab.identity.device_ids

    def check(**kw):
        t.set_compliance(record.id, kw.pop("ids", [device_id]), **kw)
        return diagnose(lab)["jamf-device-compliance"]

    found = check(applicable=False)
    assert found.status == "problem" and "not applicable" in found.finding and found.likely_cause.startswith("the Mac is not in")
    found = check(state="NON_COMPLIANT")
    assert found.status == "problem" and "NON_COMPLIANT" in found.finding and found.playbook is None
    found = check(state="UNKNOWN")
    assert found.status == "unknown" and "pending" in found.finding
    gone = "0b9e3c1a-7d2f-4e8a-9c5b-1f2e3d4c5b6a"
    found = check(ids=[gone], state="COMPLIANT")
    assert found.status == "problem" and gone in found.finding and "Entra does not have" in found.finding and found.playbook == "cause6"
    other = t.add_dc_device("MBP-OTHER").device_id
    found = check(ids=[other], state="COMPLIANT")
    assert found.status == "problem" and f"registered as {device_id}" in found.finding
    with t.lock:
        t.entra_by_device_id(device_id).is_compliant = False
    found = check(state="COMPLIANT")
    assert found.status == "problem" and "compliant in Jamf, non-compliant in Entra" in found.likely_cause


def test_jamf_plist_without_device_compliance(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    set_jamf_plist(lab.mac, microsoftCAEnabled=False)
    checks = diagnose(lab)
    ca = checks["microsoft-ca-settings"]
    assert checks["registration-model"].evidence["model"] == "device-compliance"  # the tenant's, the Mac says otherwise
    assert ca.status == "problem" and "microsoftCAEnabled is false" in ca.finding and ca.evidence["microsoftCAEnabled"] is False
    set_jamf_plist(lab.mac, microsoftCAEnabled=True, microsoftCANativeClientAppId="11111111-2222-4333-8444-555555555555")
    ca = diagnose(lab)["microsoft-ca-settings"]
    assert ca.status == "problem" and "not the User registration app" in ca.finding


def test_platform_sso_registration_not_done(make_lab):
    lab = make_lab("platform-sso", mac_scenario="platform-sso")

    def needs_registration(state):
        state["sso"]["psso"]["users"]["alice"]["state"] = "POUserStateNeedsRegistration (2)"

    edit_state(lab.mac, needs_registration)
    found = diagnose(lab)["app-sso"]
    assert found.status == "problem" and "POUserStateNeedsRegistration (2)" in found.finding and "Repair" in found.remedy

    def not_completed(state):
        state["sso"]["psso"]["device_config"]["registrationCompleted"] = False

    edit_state(lab.mac, not_completed)
    found = diagnose(lab)["app-sso"]
    assert found.status == "problem" and "registrationCompleted is false" in found.finding

    def user_gone(state):
        state["sso"]["psso"]["users"] = {}

    edit_state(lab.mac, user_gone)
    checks = diagnose(lab)
    psso = checks["psso-status"]
    assert psso.status == "problem" and "1 (MSALPlatformSSOEnabledNotRegistered)" in psso.finding


def test_getpssostatus_without_its_dictionary_is_no_alarm_and_without_a_registration_is(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    edit_state(lab.mac, lambda s: s["sso"].update(psso_status_shape="status-only"))
    bare = diagnose(lab)["psso-status"]
    assert bare.status == "ok" and bare.evidence["users"][0]["has_dictionary"] is False
    edit_state(lab.mac, lambda s: s["sso"].update(psso_status_shape="unquoted"))
    remove_workplace_join(lab.mac, "alice")
    checks = diagnose(lab)
    assert checks["psso-status"].status == "problem" and "MSAL sees no registration for alice" in checks["psso-status"].finding
    assert checks["workplace-join"].status == "problem"  # no registration anywhere: the alarm is real


def test_getpssostatus_that_times_out_twice_is_unknown(make_lab):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    edit_state(lab.mac, lambda s: s["sso"].update(psso_timeouts=2))
    started = time.monotonic()
    found = diagnose(lab)["psso-status"]
    assert found.status == "unknown" and "no status" in found.finding and time.monotonic() - started < 30


# -- hostile text from the Mac and the tenant -----------------------------------------------------------


def test_hostile_text_in_the_new_evidence_is_shown_literally(make_lab, tmp_path):
    lab = make_lab("device-compliance", mac_scenario="device-compliance")
    evil_domain = "[bold red]pwn[/]\n\x1b[2J fake: ok"
    set_jamf_plist(lab.mac, microsoftCAEnabled=True, microsoftCATenantDomainName=evil_domain)
    with lab.tenant.lock:
        [partner] = lab.tenant.directory.compliance_partners
        partner.update(displayName="Jamf [red]x[/]\r\nok  compliance-partner: fine", partnerState="rejected")
    r = run_cli("diagnose", "--host", f"sim:{lab.mac}", state_dir=tmp_path / "s", env=lab.env())
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\r" not in r.stdout
    assert "[bold red]pwn[/]\\n\\x1b[2J fake: ok" in r.stdout  # literally, one line
    assert "Jamf [red]x[/]\\r\\nok  compliance-partner: fine is 'rejected'" in r.stdout
    assert not any(line.startswith("ok  compliance-partner") for line in r.stdout.splitlines())
    data = json.loads(run_cli("diagnose", "--host", f"sim:{lab.mac}", "--json", state_dir=tmp_path / "s", env=lab.env()).stdout)["data"]
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["microsoft-ca-settings"]["evidence"]["microsoftCATenantDomainName"] == evil_domain
    assert checks["compliance-partner"]["status"] == "problem"
