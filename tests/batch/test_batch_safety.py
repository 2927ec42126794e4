"""Batch safety (issue 9): a batch runs only its approved playbook and plan, and its reports account for every
deletion, also across a kill and a resume; a dry-run leaves nothing behind; a damaged ledger is one clear line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cleanup.lab.tenant.model import new_guid
from cleanup.lab.tenant.scenarios import DAY
from tests.support.cloudlab import fleet, stale_ids
from tests.support.envelope import batch_result
from tests.support.lab import REPO, run_cli, start_cli

RUN = ("batch", "run", "--rule", "duplicates", "--yes", "--max-deletions", "500")
DUPLICATES = REPO / "playbooks/duplicates.toml"


def killed_batch(lab, state_dir, *args, nth: int, when: str = "after", concurrency: int = 4) -> None:
    """Start `cleanup batch run` and have the emulator SIGKILL it around its nth delete."""
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), **lab.env())
    proc = start_cli(*RUN, *args, "--concurrency", str(concurrency), env=env)
    lab.server.faults.kill_on_delete = {"pid": proc.pid, "nth": nth, "when": when}
    assert proc.wait(timeout=300) == -9
    lab.server.faults.kill_on_delete = None


def ledger_path(state_dir: Path) -> Path:
    (batch,) = [p for p in (state_dir / "batches").iterdir() if not p.name.startswith(".")]
    return batch / "ledger.db"


def resume(lab, state_dir, *args):
    return run_cli("batch", "resume", "--latest", *args, env=lab.env(), state_dir=state_dir, timeout=600)


def one_error_line(res) -> str:
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr[-3000:]
    return errors[0]


def entra_only_playbook(tmp_path: Path, name: str) -> Path:
    """duplicates.toml without its Intune step, under another [playbook] name."""
    text = DUPLICATES.read_text()
    text = text[: text.index('[[steps]]\nid = "delete-stale-intune"')]
    text = text.replace('name = "duplicates"', f'name = "{name}"')
    path = tmp_path / f"{name}-custom.toml"
    path.write_text(text)
    return path


# -- 1. reports account for every deletion --------------------------------------------------------------------


def test_report_after_a_kill_and_resume_has_every_run_id_and_every_deleted_object(make_lab, state_dir):
    lab, serials = fleet(make_lab, n=12, latency_ms=10)
    want = stale_ids(lab, serials)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=len(want) // 2)
    res = resume(lab, state_dir, "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(Path(batch_result(res.stdout)["reports"]["json"]).read_text())
    macs = report["macs"]
    assert sorted(m["serial"] for m in macs) == sorted(serials)
    missing = [m["serial"] for m in macs if not m["run_id"]]
    assert missing == [], f"Macs with no run id in the report: {missing}"
    reported = [(d["service"], d["id"]) for m in macs for d in m["deleted"]]
    assert Counter(reported) == Counter(lab.deleted())  # every deletion the service saw, each exactly once
    assert set(reported) == want and report["summary"]["deleted_total"] == len(want)


# -- 2. a dry-run leaves nothing; --latest with no batch says so ----------------------------------------------


def test_dry_run_leaves_nothing_in_the_state_folder(make_lab, state_dir):
    lab, _ = fleet(make_lab, n=3)
    res = run_cli(*RUN, "--playbook", "duplicates", "--dry-run", env=lab.env(), state_dir=state_dir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "12 cloud object(s) would be deleted" in res.stdout
    left = sorted(str(p.relative_to(state_dir)) for p in state_dir.rglob("*")) if state_dir.exists() else []
    assert left == []


def test_resume_latest_without_a_batch_says_there_is_none(tmp_path, state_dir):
    res = run_cli("batch", "resume", "--latest", state_dir=state_dir)
    assert res.returncode == 2
    line = one_error_line(res)
    assert "no batch to resume" in line and "name the batch" not in line
    # a planning folder left by a killed `batch run` is not a batch, and the message says what it is
    from cleanup.batch.ledger import Ledger

    Ledger.create(state_dir, "duplicates", {}).close()
    res = run_cli("batch", "resume", "--latest", state_dir=state_dir)
    assert res.returncode == 2
    line = one_error_line(res)
    assert "no batch to resume" in line and ".planning-B-" in line and "name the batch" not in line


# -- 3. resume runs the approved playbook and plan, nothing else -----------------------------------------------


@pytest.mark.parametrize("name", ["duplicates", "entra-only"])
def test_resume_runs_the_approved_playbook_file_not_a_playbook_of_that_name(make_lab, state_dir, tmp_path, name):
    lab, serials = fleet(make_lab, n=8, latency_ms=10)
    entra = {o for o in stale_ids(lab, serials) if o[0] == "entra"}
    killed_batch(lab, state_dir, "--playbook", entra_only_playbook(tmp_path, name), nth=6)
    res = resume(lab, state_dir, "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    got = lab.deleted()
    assert [o for o in got if o[0] != "entra"] == []  # the approved playbook never deleted an Intune record
    assert set(got) == entra and max(Counter(got).values()) == 1


def test_a_deletion_outside_a_macs_approved_plan_is_refused_with_the_evidence(make_lab, state_dir):
    lab, serials = fleet(make_lab, n=8, latency_ms=10)
    want = stale_ids(lab, serials)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=1, when="before", concurrency=1)
    db = ledger_path(state_dir)
    conn = sqlite3.connect(db)
    pending = [r[0] for r in conn.execute("SELECT serial FROM macs WHERE state = 'pending' ORDER BY serial")]
    mac = pending[-1]
    # the plan was approved an hour ago; since then another stale registration of this Mac appeared
    (plan,) = conn.execute("SELECT plan FROM macs WHERE serial = ?", (mac,)).fetchone()
    plan = json.loads(plan)
    plan["cloud"]["gathered_at"] -= 3600
    conn.execute("UPDATE macs SET plan = ? WHERE serial = ?", (json.dumps(plan), mac))
    conn.commit()
    conn.close()
    t = lab.tenant
    name, now, old = t.intune_by_serial(mac)[0].device_name, time.time(), new_guid()
    late_entra = t.add_entra_device(name, old, registered=now - 90 * DAY, last_sign_in=now - 40 * DAY)
    late_intune = t.add_intune_device(mac, name, old, enrolled=now - 90 * DAY, last_sync=now - 40 * DAY)
    already = set(lab.deleted())
    res = resume(lab, state_dir, "--json")
    assert res.returncode == 1, res.stderr[-2000:]
    by = {m["serial"]: m for m in batch_result(res.stdout)["macs"]}
    assert by[mac]["state"] == "refused" and "approved plan" in by[mac]["outcome"]
    assert late_entra.id in by[mac]["outcome"] or late_intune.id in by[mac]["outcome"]
    assert {sn: m["state"] for sn, m in by.items() if sn != mac} == dict.fromkeys(set(serials) - {mac}, "done")
    got = lab.deleted()
    assert ("entra", late_entra.id) not in got and ("intune", late_intune.id) not in got
    assert set(got) == (want - stale_ids(lab, [mac])) | already and max(Counter(got).values()) == 1
    assert late_entra.id in t.entra and late_intune.id in t.intune


def _meta(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()


def _set_meta(db: Path, rows: dict) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM meta")
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())
    conn.close()


@pytest.mark.slow
def test_a_ledger_whose_meta_was_edited_is_refused_with_one_line_and_nothing_done(make_lab, state_dir, tmp_path):
    lab, serials = fleet(make_lab, n=4, latency_ms=10)
    want = stale_ids(lab, serials)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=1, when="before", concurrency=1)
    db = ledger_path(state_dir)
    original = _meta(db)
    options = json.loads(original["options"])
    other = tmp_path / "other.toml"
    other.write_text((REPO / "playbooks/cause6.toml").read_text())
    edits = [
        {"playbook": json.dumps("cause6")},
        {"playbook": json.dumps(str(other))},
        {"playbook_text": json.dumps(other.read_text())},
        {"evil": json.dumps(1)},
        {"options": json.dumps([1])},
        {"options": json.dumps({"evil": 1})},
        {"options": json.dumps({**options, "concurrency": "ten"})},
        {"options": json.dumps({**options, "hosts": ["x"]})},
    ]
    before = lab.records()
    for edit in edits:
        _set_meta(db, {**original, **edit})
        res = resume(lab, state_dir)
        assert res.returncode == 2, (edit, res.stderr[-2000:])
        assert "batch ledger" in one_error_line(res), edit
        assert lab.records() == before, edit
    _set_meta(db, original)
    res = resume(lab, state_dir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert set(lab.deleted()) == want


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True, capture_output=True)


def test_a_read_only_ledger_file_is_one_clear_line(make_lab, state_dir):
    lab, _ = fleet(make_lab, n=4, latency_ms=10)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=1, when="before", concurrency=1)
    db = ledger_path(state_dir)
    before = lab.records()
    try:  # root writes a 0444 file anyway: an immutable file is what a read-only ledger is to root
        _immutable(db, True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"chattr +i is not possible here: {exc}")
    try:
        res = resume(lab, state_dir)
    finally:
        _immutable(db, False)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "read-only" in one_error_line(res)
    assert lab.records() == before


def test_a_read_only_batch_folder_is_one_clear_line(make_lab, state_dir):
    lab, _ = fleet(make_lab, n=4, latency_ms=10)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=1, when="before", concurrency=1)
    folder = ledger_path(state_dir).parent
    # the read-only mount lives in a private mount namespace of the command only
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" "{folder}" && exec "$@"'
    probe = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", "true"], check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no private read-only bind mount here (needs CAP_SYS_ADMIN): {probe.stderr.strip()}")
    before = lab.records()
    env = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="250", **lab.env())
    res = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "cleanup", "batch", "resume", "--latest"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert "read-only" in one_error_line(res)
    assert lab.records() == before


# -- 5. options are checked before anything is created ----------------------------------------------------------


@pytest.mark.parametrize("template", ["{__class__}", "{serial", "{serial.__class__}", "sim:/labs/{serial!r}", "{0}", "serial}"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_bad_host_template_is_one_line_and_creates_nothing(tmp_path, state_dir, template, dry_run):
    (tmp_path / "serials.txt").write_text("C02TMPL00001\n")
    mode = ("--dry-run",) if dry_run else ("--yes",)
    res = run_cli("batch", "run", "--playbook", "cause6", "--serials-file", tmp_path / "serials.txt", "--host-template", template, *mode, state_dir=state_dir)
    assert res.returncode == 2, res.stderr[-2000:]
    line = one_error_line(res)
    assert "--host-template" in line and template in line
    assert not state_dir.exists()  # no state folder, no lock, no ledger


def test_an_edited_host_template_in_a_ledger_is_refused_on_resume(make_lab, state_dir):
    lab, _ = fleet(make_lab, n=2, latency_ms=10)
    killed_batch(lab, state_dir, "--playbook", "duplicates", nth=1, when="before", concurrency=1)
    conn = sqlite3.connect(ledger_path(state_dir))
    (value,) = conn.execute("SELECT value FROM meta WHERE key = 'options'").fetchone()
    options = {**json.loads(value), "host_template": "{serial.__class__}"}
    conn.execute("UPDATE meta SET value = ? WHERE key = 'options'", (json.dumps(options, sort_keys=True),))
    conn.commit()
    conn.close()
    before = lab.records()
    res = resume(lab, state_dir)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "was edited" in one_error_line(res) and "--host-template" in res.stderr
    assert lab.records() == before
