"""Nothing lost that cannot be got back: what Jamf Pro escrowed for the Mac's record (FileVault key, LAPS password,
Recovery Lock password) is saved before step 4 deletes the record, through the real CLI against the emulator."""

from __future__ import annotations

import json

import pytest

from cleanup.lab.tenant.model import JAMF_FULL_PRIVILEGES
from tests.support.escrowkit import file_store_env, files_holding, key_pair, keyring_env, seeded, values_of
from tests.support.lab import audit_events, one_error, run_cli, start_cli

TO_STEP_4 = ("--only", "cloud", "--yes", "--to", "delete-jamf-record")


def _run(lab, state_dir, env, *extra):
    return run_cli("run", *TO_STEP_4, "--serial", lab.serial, *extra, env=env, state_dir=state_dir)


def _jamf_of(lab) -> list[str]:
    return sorted(c.id for c in lab.tenant.jamf_by_serial(lab.serial))


def test_the_dry_run_shows_what_each_record_escrowed_and_where_it_goes_and_reads_no_secret(make_lab, state_dir, tmp_path):
    lab = make_lab("clean")
    secrets = seeded(lab, recovery_lock=True)
    [cid] = secrets
    env = lab.env(**keyring_env(tmp_path / "keyring.json"))
    res = run_cli("plan", "--only", "cloud", "--serial", lab.serial, "--json", env=env, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    step = {s["id"]: s for s in json.loads(res.stdout)["data"]["steps"]}["delete-jamf-record"]
    [change] = step["changes"]
    assert change["details"]["escrow"] == [{"kind": "filevault"}, {"kind": "recovery-lock"}, {"kind": "laps", "account": "jamfadmin"}]
    assert any(f"record {cid} holds" in n and "the keyring" in n for n in step["notes"])
    text = run_cli("plan", "--only", "cloud", "--serial", lab.serial, env=env, state_dir=state_dir)
    assert "LAPS password of 'jamfadmin'" in text.stdout and "FileVault personal recovery key" in text.stdout and "rotate" in text.stdout
    # no value was read (a LAPS view would rotate the password), none printed, nothing written
    assert lab.tenant.escrow.views == []
    assert not any(v in res.stdout + text.stdout for v in values_of(secrets))
    assert not state_dir.exists() and not (tmp_path / "keyring.json").exists()
    assert _jamf_of(lab) == [cid]


def test_a_run_saves_each_secret_to_the_keyring_before_the_delete_and_nowhere_else(make_lab, state_dir, tmp_path):
    lab = make_lab("clean")
    secrets = seeded(lab, recovery_lock=True)
    [cid] = secrets
    env = lab.env(**keyring_env(tmp_path / "keyring.json"))
    res = _run(lab, state_dir, env)
    assert res.returncode == 0, res.stderr
    assert ("jamf", cid) in lab.deleted()
    views = lab.tenant.escrow.views
    assert [v["kind"] for v in views if v["kind"] == "laps"] == ["laps"]  # the LAPS password was shown (and so rotated) once
    deleted_at = next(d["at"] for d in lab.tenant.deleted if d["id"] == cid)
    assert all(v["at"] < deleted_at for v in views)
    # the values are in the keyring, and in no file of the state folder, no output
    values = values_of(secrets)
    assert files_holding(state_dir, values) == []
    assert not any(v in res.stdout + res.stderr for v in values)
    listed = run_cli("escrow", "list", "--json", env=env, state_dir=state_dir)
    rows = json.loads(listed.stdout)["data"]["saved"]
    assert {(r["kind"], r["account"], r["record"]) for r in rows} == {("filevault", None, cid), ("recovery-lock", None, cid), ("laps", "jamfadmin", cid)}
    assert not any(v in listed.stdout for v in values)
    shown = run_cli("escrow", "show", lab.serial, "--yes", "--json", env=env, state_dir=state_dir)
    assert shown.returncode == 0, shown.stderr
    got = {(s["kind"], s["account"]): s["value"] for s in json.loads(shown.stdout)["data"]["secrets"]}
    assert got == {
        ("filevault", None): secrets[cid]["filevault"],
        ("recovery-lock", None): secrets[cid]["recovery-lock"],
        ("laps", "jamfadmin"): secrets[cid]["laps"]["jamfadmin"],
    }
    # the audit log says what was saved, kinds and accounts only
    [result] = [e for e in audit_events(state_dir) if e["event"] == "result" and e["kind"] == "delete-jamf-record"]
    assert result["changed"] and "saved first (" in result["result"] and "to the keyring" in result["result"] and "'jamfadmin'" in result["result"]


@pytest.mark.parametrize(
    ("without", "named"),
    [
        ("View Local Admin Password", "View Local Admin Password"),
        ("View Disk Encryption Recovery Key", "View Disk Encryption Recovery Key"),
        # the lab's view-recovery-lock-password wants View Recovery Lock; View Disk Encryption Recovery Key alone is
        # accepted beforehand (some Jamf Pro versions want that one), so the run reads it once to be sure
        ("View Recovery Lock", "View Recovery Lock"),
    ],
)
def test_without_the_privilege_to_read_a_secret_the_run_stops_before_any_change_naming_it(make_lab, state_dir, tmp_path, without, named):
    lab = make_lab("clean")
    seeded(lab, recovery_lock=True)
    lab.tenant.add_api_role("3", "cleanup without one view", [p for p in JAMF_FULL_PRIVILEGES if p != without])
    lab.tenant.add_jamf_client("partial", ["3"])
    before = lab.records()
    res = _run(lab, state_dir, lab.env(jamf="partial", **keyring_env(tmp_path / "keyring.json")))
    line = one_error(res, 1)
    assert named in line and "nothing was changed" in line and "--discard-escrowed-secrets" in res.stderr
    assert lab.records() == before and [v for v in lab.tenant.escrow.views if v["kind"] == "laps"] == []
    assert not (state_dir / "runs").exists() or not any((state_dir / "runs").iterdir())


def test_neither_a_keyring_nor_an_escrow_recipient_refuses_before_any_change(make_lab, state_dir):
    lab = make_lab("clean")
    seeded(lab)
    before = lab.records()
    res = _run(lab, state_dir, lab.env(**keyring_env(None)))
    line = one_error(res, 4)
    assert "nowhere to save" in line and "[escrow] recipient" in line
    assert lab.records() == before and lab.tenant.escrow.views == []
    # the dry-run says so too
    plan = run_cli("plan", "--only", "cloud", "--serial", lab.serial, env=lab.env(**keyring_env(None)), state_dir=state_dir)
    assert plan.returncode == 0 and "a run refuses before any change" in plan.stdout


def test_discard_escrowed_secrets_deletes_unsaved_and_is_recorded(make_lab, state_dir, store):
    lab = make_lab("clean")
    [cid] = seeded(lab)
    res = _run(lab, state_dir, lab.env(**keyring_env(None)), "--discard-escrowed-secrets")
    assert res.returncode == 0, res.stderr
    assert ("jamf", cid) in lab.deleted() and lab.tenant.escrow.views == []
    run, _ = store.load(store.latest())
    assert [o["kind"] for o in run.overrides] == ["discard-escrowed-secrets"]
    events = audit_events(state_dir)
    assert any(e["event"] == "override" and e["kind"] == "discard-escrowed-secrets" for e in events)
    [result] = [e for e in events if e["event"] == "result" and e["kind"] == "delete-jamf-record"]
    assert "NOT saved (--discard-escrowed-secrets)" in result["result"]


def test_on_a_machine_without_a_keyring_escrow_files_are_written_that_only_the_private_key_opens(make_lab, state_dir, tmp_path):
    lab = make_lab("clean")
    secrets = seeded(lab)
    [cid] = secrets
    private, public = key_pair(tmp_path / "keys")
    env = lab.env(**file_store_env(public))
    res = _run(lab, state_dir, env)
    assert res.returncode == 0, res.stderr
    assert ("jamf", cid) in lab.deleted()
    assert files_holding(state_dir, values_of(secrets)) == []  # the escrow files (in the state folder) are encrypted
    assert list((state_dir / "escrow").glob("*.escrow.json"))
    no_key = run_cli("escrow", "show", lab.serial, "--yes", env=env, state_dir=state_dir)
    assert "--key" in one_error(no_key, 2)
    shown = run_cli("escrow", "show", lab.serial, "--kind", "filevault", "--key", private, "--yes", env=env, state_dir=state_dir)
    assert shown.returncode == 0, shown.stderr
    assert f"FileVault personal recovery key: {secrets[cid]['filevault']}" in shown.stdout
    assert secrets[cid]["laps"]["jamfadmin"] not in shown.stdout  # --kind filevault shows that kind only


def test_a_save_that_fails_leaves_the_record_in_jamf_pro(make_lab, state_dir, tmp_path, store):
    from cleanup.engine.context import RunOptions
    from cleanup.engine.loader import load_playbook
    from cleanup.engine.runner import Runner, Selection
    from cleanup.errors import CleanupError, StepFailed
    from cleanup.hosts import open_host
    from cleanup.lab.tenant.clientfiles import lab_cloud_opener

    class LockedKeyring:
        name, problem = "keyring", None

        def where(self):
            return "the keyring (locked)"

        def save(self, *args):
            raise CleanupError("the keyring could not store entry cleanup-escrow/… (KeyringLocked)")

    lab = make_lab("clean")
    [cid] = seeded(lab)
    options = RunOptions(yes=True, serial=lab.serial, escrow=LockedKeyring())
    runner = Runner(store, open_host("none"), load_playbook("cause6"), options, cloud_opener=lab_cloud_opener(lab.client))
    with pytest.raises(StepFailed, match="was not deleted"):
        runner.start(Selection(only="cloud", stop="delete-jamf-record"))
    assert _jamf_of(lab) == [cid] and lab.deleted() == []
    run, _ = store.load(store.latest())
    assert run.step("delete-jamf-record").state == "failed"


def test_killed_between_the_saves_and_the_delete_resume_saves_again_and_deletes_once(make_lab, state_dir, tmp_path):
    import os

    lab = make_lab("clean")
    secrets = seeded(lab)
    [cid] = secrets
    env = lab.env(**keyring_env(tmp_path / "keyring.json"))
    proc = start_cli("run", *TO_STEP_4, "--serial", lab.serial, env=dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), **env))
    lab.server.faults.kill_on_delete = {"pid": proc.pid, "nth": 1, "when": "before"}  # after every save, before the DELETE
    assert proc.wait(timeout=120) == -9
    assert _jamf_of(lab) == [cid]
    res = run_cli("resume", "--latest", env=env, state_dir=state_dir)
    assert res.returncode == 0, res.stderr
    assert lab.deleted() == [("jamf", cid)]
    rows = json.loads(run_cli("escrow", "list", "--json", env=env, state_dir=state_dir).stdout)["data"]["saved"]
    assert [r["kind"] for r in rows].count("filevault") == 2  # saved again on resume; the first save is kept
    shown = json.loads(run_cli("escrow", "show", lab.serial, "--kind", "filevault", "--yes", "--json", env=env, state_dir=state_dir).stdout)
    assert {s["value"] for s in shown["data"]["secrets"]} == {secrets[cid]["filevault"]}


@pytest.mark.parametrize(
    ("also_without", "code", "said"),
    [
        (None, 0, None),  # each read is proved by reading (FileVault, Recovery Lock) or by step 0's listing (LAPS)
        ("View Local Admin Password", 1, "cannot confirm jamf View Local Admin Password"),
        ("View Disk Encryption Recovery Key", 1, "refused to show the FileVault personal recovery key"),
    ],
)
def test_when_the_privileges_cannot_be_read_each_secret_read_is_proved_before_any_change(make_lab, state_dir, tmp_path, also_without, code, said):
    lab = make_lab("clean")
    [cid] = seeded(lab, recovery_lock=True)
    lab.tenant.add_api_role("3", "no Read API Roles", [p for p in JAMF_FULL_PRIVILEGES if p not in ("Read API Roles", also_without)])
    lab.tenant.add_jamf_client("opaque", ["3"])
    res = _run(lab, state_dir, lab.env(jamf="opaque", **keyring_env(tmp_path / "keyring.json")))
    if code == 0:
        assert res.returncode == 0, res.stderr
        assert ("jamf", cid) in lab.deleted()
        return
    assert said in one_error(res, code) and _jamf_of(lab) == [cid]
    assert [v for v in lab.tenant.escrow.views if v["kind"] == "laps"] == []


def test_a_key_escrowed_after_step_0_is_saved_too(make_lab, state_dir, tmp_path):
    """Step 0 found no secret; the Mac escrows a FileVault key before step 4 (a rotation while the run was paused):
    step 4 finds it when it re-reads the record, and saves it before the delete."""
    lab = make_lab("clean")
    [cid] = _jamf_of(lab)
    key = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"
    service = lab.server.service
    handle = service.handle

    def escrow_at_step_4(req):
        if "computers-inventory-detail" in req.path:  # the export's read, in step 4, after step 0's reads
            with lab.tenant.lock:
                lab.tenant.escrow.set(cid, filevault_key=key)
        return handle(req)

    service.handle = escrow_at_step_4
    env = lab.env(**keyring_env(tmp_path / "keyring.json"))
    res = _run(lab, state_dir, env)
    assert res.returncode == 0, res.stderr
    assert ("jamf", cid) in lab.deleted()
    shown = run_cli("escrow", "show", lab.serial, "--yes", "--json", env=env, state_dir=state_dir)
    assert [(s["kind"], s["value"]) for s in json.loads(shown.stdout)["data"]["secrets"]] == [("filevault", key)]
