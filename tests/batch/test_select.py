"""`cleanup batch select`: a Jamf group, a file of serials, and the article's symptoms as rules."""

from __future__ import annotations

import json
import time

from tests.support.lab import run_cli


def _select(lab, state_dir, *args):
    res = run_cli("batch", "select", *args, "--json", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    return {r["serial"]: r for r in json.loads(res.stdout)["data"]["macs"]}


def test_rules_flag_exactly_the_macs_with_each_symptom(make_lab, state_dir):
    lab = make_lab("empty")
    t = lab.tenant
    ok = t.add_mac("C02HEALTHY01", "MBP-OK", "ok@contoso.example")
    stale = t.add_mac("C02STALE0001", "MBP-STALE", "s@contoso.example")
    stale["jamf"].last_contact = time.time() - 3 * 86400
    deact = t.add_mac("C02DEACT0001", "MBP-DEACT", "d@contoso.example", local_users=[{"username": "d", "azureActiveDirectoryId": "DEACTIVATED"}])
    mismatch = t.add_mac("C02MISMATCH1", "MBP-MIS", "m@contoso.example")
    mismatch["entra"].is_compliant = False
    unresponsive = _select(lab, state_dir, "--rule", "unresponsive")
    assert list(unresponsive) == ["C02STALE0001"] and unresponsive["C02STALE0001"]["evidence"]["jamf_id"] == stale["jamf"].id
    assert list(_select(lab, state_dir, "--rule", "aad-deactivated")) == ["C02DEACT0001"]
    assert list(_select(lab, state_dir, "--rule", "compliance-mismatch")) == ["C02MISMATCH1"]
    both = _select(lab, state_dir, "--rule", "unresponsive", "--rule", "aad-deactivated")
    assert sorted(both) == ["C02DEACT0001", "C02STALE0001"]
    assert ok["jamf"].serial not in both and deact["jamf"].serial in both


def test_a_jamf_group_and_a_file_of_serials(make_lab, state_dir, tmp_path):
    lab = make_lab("empty")
    t = lab.tenant
    a = t.add_mac("C02GROUPED01", "MBP-G1", "g1@contoso.example", groups=["3"])
    t.add_mac("C02OUTSIDE01", "MBP-OUT", "o@contoso.example", groups=["1"])
    rows = _select(lab, state_dir, "--group", "Cause6 Remediation")
    assert list(rows) == ["C02GROUPED01"] and rows["C02GROUPED01"]["name"] == a["jamf"].name
    f = tmp_path / "serials.txt"
    f.write_text("# flagged by the helpdesk\nC02FILE00001\n\nC02FILE00002  # second\n")
    assert sorted(_select(lab, state_dir, "--serials-file", f)) == ["C02FILE00001", "C02FILE00002"]
    f.write_text("C02FILE00001\nC02*\n")
    res = run_cli("batch", "select", "--serials-file", f, env=lab.env(), state_dir=state_dir)
    assert res.returncode == 2 and "line 2" in res.stderr and "not an Apple serial" in res.stderr
    bad = run_cli("batch", "select", "--group", "No Such Group", env=lab.env(), state_dir=state_dir)
    assert bad.returncode != 0 and len([ln for ln in bad.stderr.splitlines() if ln.startswith("error:")]) == 1


def test_bulk_jamf_lookup_files_records_by_exact_serial_only(make_lab):
    from cleanup.errors import UsageError
    from cleanup.lab.tenant.clientfiles import lab_cloud_opener

    lab = make_lab("empty")
    t = lab.tenant
    t.add_jamf_computer("C02BULK00001", "MBP-B1")
    t.add_jamf_computer("C02BULK00001", "MBP-B1-OLD")
    t.add_jamf_computer("C02BULK000011", "LOOKALIKE")  # a longer serial with the same start
    t.add_jamf_computer("C02BULK00002", "MBP-B2")
    with lab_cloud_opener(lab.client)() as cloud:
        got = cloud.jamf.computers_by_serials(["C02BULK00001", "C02BULK00002", "C02BULK00009"], chunk=2)
        assert sorted(r["general"]["name"] for r in got["C02BULK00001"]) == ["MBP-B1", "MBP-B1-OLD"]
        assert [r["general"]["name"] for r in got["C02BULK00002"]] == ["MBP-B2"] and got["C02BULK00009"] == []
        assert set(got) == {"C02BULK00001", "C02BULK00002", "C02BULK00009"}
        try:
            cloud.jamf.computers_by_serials(["C02BULK00001", "C02*"])
        except UsageError:
            pass
        else:
            raise AssertionError("a wildcard serial reached the query")
