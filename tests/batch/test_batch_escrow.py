"""A batch deletes Jamf Pro records too: each run saves what its record escrowed first. On a server without a
keyring that is an escrow file encrypted to the [escrow] recipient; with neither, a Mac whose record holds
secrets is refused and keeps its record, the others are repaired."""

from __future__ import annotations

import json
import time

from cleanup.lab.tenant.scenarios import _mac_everywhere, seed_escrowed_secrets
from tests.support.envelope import batch_result
from tests.support.escrowkit import file_store_env, files_holding, key_pair, keyring_env
from tests.support.lab import run_cli

PLAYBOOK = """
[playbook]
name = "jamf-records"
title = "Delete the Jamf Pro records of the Macs"
description = "Steps 0, 1 and 4 of cause6: the cloud facts, the cloud preflight, the Jamf Pro record."

[[steps]]
id = "cloud-facts"
number = 0
title = "Record the Mac's records"
action = "cloud.gather"
acts_on = "cloud"
destructive = false

[[steps]]
id = "cloud-preflight"
number = 1
title = "Check the permissions"
action = "cloud.preflight"
acts_on = "cloud"
destructive = false

[[steps]]
id = "delete-jamf-record"
number = 4
title = "Delete the computer's inventory record in Jamf Pro"
action = "jamf_inventory.delete"
acts_on = "cloud"
destructive = true
"""


def _fleet(lab, tmp_path) -> tuple[list[str], dict]:
    serials = [f"C02ESCRW{i:04d}" for i in (1, 2, 3)]
    now = time.time()
    for i, serial in enumerate(serials, 1):
        _mac_everywhere(lab.tenant, serial, f"MBP-ESCROW-{i}", f"user{i}@example.com", f"00000000-0000-4000-8000-00000000000{i}", now)
    secrets = {sn: seed_escrowed_secrets(lab.tenant, sn) for sn in serials[:2]}  # the third escrowed nothing
    (tmp_path / "serials.txt").write_text("\n".join(serials) + "\n")
    (tmp_path / "jamf-records.toml").write_text(PLAYBOOK)
    return serials, secrets


def _batch(lab, tmp_path, state_dir, env):
    args = ("batch", "run", "--playbook", tmp_path / "jamf-records.toml", "--serials-file", tmp_path / "serials.txt", "--yes", "--json")
    return run_cli(*args, env=lab.env(**env), state_dir=state_dir, timeout=300)


def test_a_batch_on_a_server_without_a_keyring_saves_to_escrow_files_first(make_lab, state_dir, tmp_path):
    lab = make_lab("empty")
    serials, secrets = _fleet(lab, tmp_path)
    private, public = key_pair(tmp_path / "keys")
    env = file_store_env(public)
    res = _batch(lab, tmp_path, state_dir, env)
    out = batch_result(res.stdout)
    assert res.returncode == 0, res.stderr[-2000:]
    assert {m["serial"]: m["state"] for m in out["macs"]} == dict.fromkeys(serials, "done")
    assert all(not lab.tenant.jamf_by_serial(sn) for sn in serials)
    values = [v for by_id in secrets.values() for e in by_id.values() for v in (e.filevault_key, *(a.password for a in e.laps.values()))]
    assert files_holding(state_dir, values) == []  # escrow files, ledger, reports, states, audit logs: no value
    for sn, by_id in secrets.items():
        [entry] = by_id.values()
        shown = run_cli("escrow", "show", sn, "--key", private, "--yes", "--json", env=lab.env(**env), state_dir=state_dir)
        got = {(s["kind"], s["account"]): s["value"] for s in json.loads(shown.stdout)["data"]["secrets"]}
        assert got == {("filevault", None): entry.filevault_key, ("laps", "jamfadmin"): entry.laps["jamfadmin"].password}


def test_a_batch_with_nowhere_to_save_refuses_the_macs_that_escrowed_secrets_and_repairs_the_rest(make_lab, state_dir, tmp_path):
    lab = make_lab("empty")
    serials, _ = _fleet(lab, tmp_path)
    res = _batch(lab, tmp_path, state_dir, keyring_env(None))
    out = batch_result(res.stdout)
    states = {m["serial"]: m["state"] for m in out["macs"]}
    assert states == {serials[0]: "refused", serials[1]: "refused", serials[2]: "done"}, res.stderr[-2000:]
    assert all(lab.tenant.jamf_by_serial(sn) for sn in serials[:2]) and not lab.tenant.jamf_by_serial(serials[2])
    assert lab.tenant.escrow.views == []
    by = {m["serial"]: m for m in out["macs"]}
    assert "nowhere to save" in by[serials[0]]["outcome"]
