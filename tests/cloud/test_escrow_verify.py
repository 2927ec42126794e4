"""After re-enrollment, verification says whether Jamf Pro holds a valid FileVault key for the new record: when
the deleted record escrowed one and the new one holds none, the Mac is not called fully verified, and the
message says what to do."""

from __future__ import annotations

import json

from tests.support.escrowkit import keyring_env, seeded
from tests.support.lab import run_cli


def test_a_new_record_without_a_valid_filevault_key_is_not_fully_verified_until_the_key_is_re_escrowed(make_lab, state_dir, tmp_path):
    lab = make_lab("clean")
    seeded(lab)
    env = lab.env(**keyring_env(tmp_path / "keyring.json"))
    res = run_cli("run", "--only", "cloud", "--serial", lab.serial, "--yes", "--to", "delete-jamf-record", env=env, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    new = lab.tenant.add_mac(lab.serial, lab.info["computer_name"], "alice@example.com")  # re-enrolled and registered
    new_id = new["jamf"].id
    res = run_cli("verify", "--latest", "--json", env=env, state_dir=state_dir)
    assert res.returncode == 3, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["verified"] is True and data["fully_verified"] is False
    assert data["found"]["jamf"] == new_id and data["found"]["filevault"] == "NOT_APPLICABLE"
    [warning] = data["warnings"]
    assert (
        f"new record {new_id}" in warning and "re-escrow it by rotating the key" in warning and f"cleanup escrow show {lab.serial} --kind filevault" in warning
    )
    assert "not fully" in res.stderr
    text = run_cli("verify", "--latest", env=env, state_dir=state_dir)
    assert text.returncode == 3 and "verified: Jamf Pro record" in text.stdout and "but not fully" in text.stdout
    lab.tenant.escrow.set(new_id, filevault_key="NEWK-EY00-0000-0000-0000-0001")  # the key rotated and escrowed again
    res = run_cli("verify", "--latest", "--json", env=env, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["fully_verified"] is True and data["found"]["filevault"] == "VALID" and data["warnings"] == []
