import configparser
import csv
import hashlib
import io
import json
import plistlib
import re
import stat
from pathlib import Path

import pytest

from cleanup.batch.reports import CSV_HEADER, summary_rows, write_reports
from cleanup.engine.state import RunState, StepState
from cleanup.engine.store import StateStore

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = REPO / "scripts/schedule"
T0 = 1_795_000_000.0
EVIL_NAME = "<script>alert(1)</script>"
EVIL_OUTCOME = 'lookup failed: "><img src=x onerror=alert(2)> & more'
DONE_RUN = "C02AAAAAAAA1-20261126T070000Z-ab12"
MISSING_RUN = "C02BBBBBBBB2-20261126T070100Z-cd34"
CORRUPT_RUN = "C02CCCCCCCC3-20261126T070200Z-ef56"


def _stored_run(store: StateStore) -> None:
    steps = [
        StepState("facts", "done", T0, T0 + 2.5, 1, "recorded 3 Intune records"),
        StepState("delete-stale", "done", T0 + 3, T0 + 75, 1, "deleted 3 of 4 records"),
        StepState("verify", "skipped", None, None, 0, "not needed"),
    ]
    run = RunState(
        run_id=DONE_RUN,
        playbook="duplicates",
        playbook_sha256="",
        host="none",
        serial="C02AAAAAAAA1",
        computer_name=EVIL_NAME,
        created=T0,
        updated=T0,
        options={},
        facts={},
        steps=steps,
        status="done",
    )
    text = '[playbook]\nname = "duplicates"\n'
    run.playbook_sha256 = hashlib.sha256(text.encode()).hexdigest()
    store.create(run, text)
    # a run whose state file is damaged: the report must still be written
    store.run_dir(CORRUPT_RUN).mkdir(mode=0o700)
    (store.run_dir(CORRUPT_RUN) / "state.json").write_text("{not json")


def _ledger() -> dict:
    mac = dict(host="none", evidence={}, retryable=False, not_before=None)
    return {
        "format": "cleanup-batch/1",
        "batch_id": "B-20261126T070000Z-ab12",
        "playbook": "duplicates",
        "created": T0 - 60,
        "updated": T0 + 600,
        "options": {"max_deletions": 50},
        "macs": [
            {
                **mac,
                "serial": "C02AAAAAAAA1",
                "name": EVIL_NAME,
                "reasons": ["duplicate Intune records (3)"],
                "state": "done",
                "run_id": DONE_RUN,
                "attempts": 1,
                "outcome": "kept 1 record, deleted 3",
                "started": T0,
                "ended": T0 + 80,
                "deleted": [
                    {"service": "intune", "id": "11111111-aaaa-bbbb-cccc-000000000001", "target": "MBP (stale)"},
                    {"service": "intune", "id": "11111111-aaaa-bbbb-cccc-000000000002", "target": "MBP (stale)"},
                    {"service": "entra", "id": "22222222-aaaa-bbbb-cccc-000000000003", "target": "MBP device"},
                    {"service": "jamf", "id": "42", "target": "computer 42"},
                ],
            },
            {
                **mac,
                "serial": "C02BBBBBBBB2",
                "name": None,
                "reasons": ["duplicate Intune records (2)", "unresponsive"],
                "state": "failed",
                "run_id": MISSING_RUN,
                "attempts": 2,
                "outcome": EVIL_OUTCOME,
                "retryable": True,
                "started": T0 + 10,
                "ended": T0 + 20,
                "deleted": [],
            },
            {
                **mac,
                "serial": "C02CCCCCCCC3",
                "name": '=HYPERLINK("x")',
                "reasons": ["compliant in Intune only"],
                "state": "waiting",
                "run_id": CORRUPT_RUN,
                "attempts": 1,
                "outcome": "waiting 30 minutes",
                "not_before": T0 + 1800,
                "started": T0 + 5,
                "ended": None,
                "deleted": [],
            },
        ],
    }


@pytest.fixture
def reports(tmp_path):
    store = StateStore(tmp_path / "state")
    _stored_run(store)
    batch_dir = tmp_path / "state/batches/B-20261126T070000Z-ab12"
    return _write(batch_dir, _ledger(), store)


def _write(batch_dir, ledger: dict, store):
    meta = {k: v for k, v in ledger.items() if k != "macs"}
    return write_reports(batch_dir, meta, lambda: iter(ledger["macs"]), store)


def test_json_has_totals_steps_and_unavailable_runs(reports):
    data = json.loads(reports["json"].read_text())
    assert data["batch_id"] == "B-20261126T070000Z-ab12"
    summary = data["summary"]
    assert summary["macs"] == 3
    assert summary["by_state"] == {"pending": 0, "running": 0, "waiting": 1, "done": 1, "failed": 1, "refused": 0}
    assert summary["deleted"] == {"jamf": 1, "entra": 1, "intune": 2}
    assert summary["deleted_total"] == 4
    assert summary["wall_seconds"] == 80.0
    done, failed, waiting = data["macs"]
    assert done["steps"] == [
        {"id": "facts", "state": "done", "took_seconds": 2.5, "outcome": "recorded 3 Intune records"},
        {"id": "delete-stale", "state": "done", "took_seconds": 72.0, "outcome": "deleted 3 of 4 records"},
        {"id": "verify", "state": "skipped", "took_seconds": None, "outcome": "not needed"},
    ]
    assert done["run_status"] == "done" and done["seconds"] == 80.0
    assert done["evidence"] == {} and done["reasons"] == ["duplicate Intune records (3)"]
    for mac in (failed, waiting):  # run id pointing to nothing / a corrupt state file
        assert mac["steps"] is None and mac["steps_note"] == "run state unavailable"
    assert waiting["seconds"] is None


def test_csv_one_row_per_mac(reports):
    rows = list(csv.reader(io.StringIO(reports["csv"].read_text())))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 4
    by_serial = {r[0]: dict(zip(CSV_HEADER, r, strict=True)) for r in rows[1:]}
    done = by_serial["C02AAAAAAAA1"]
    assert (done["deleted_jamf"], done["deleted_entra"], done["deleted_intune"]) == ("1", "1", "2")
    assert done["deleted_ids"] == (
        "intune:11111111-aaaa-bbbb-cccc-000000000001;intune:11111111-aaaa-bbbb-cccc-000000000002;entra:22222222-aaaa-bbbb-cccc-000000000003;jamf:42"
    )
    assert done["state"] == "done" and done["attempts"] == "1" and done["run_id"] == DONE_RUN
    assert done["started"] == "2026-11-18T11:06:40Z" and done["seconds"] == "80.0"
    failed = by_serial["C02BBBBBBBB2"]
    assert failed["name"] == "" and failed["outcome"] == EVIL_OUTCOME and failed["deleted_ids"] == ""
    waiting = by_serial["C02CCCCCCCC3"]
    assert waiting["ended"] == "" and waiting["seconds"] == ""
    assert waiting["name"] == '\'=HYPERLINK("x")'  # a spreadsheet must not run it as a formula


def test_html_escapes_service_text_and_loads_nothing(reports):
    page = reports["html"].read_text()
    assert EVIL_NAME not in page and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&quot;&gt;&lt;img src=x onerror=alert(2)&gt; &amp; more" in page
    # self-contained: nothing fetched, only in-page links
    tags = " ".join(re.findall(r"<[^>]*>", page))
    assert not re.search(r"\b(src|action|formaction|srcset|background)\s*=", tags, re.I)
    assert "url(" not in page and "@import" not in page
    assert "http://" not in page and "https://" not in page
    hrefs = re.findall(r"href\s*=\s*\"([^\"]*)\"", tags, re.I)
    assert hrefs and all(h.startswith("#mac-") for h in hrefs)
    assert "default-src 'none'" in page
    # summary at the top, then one section per Mac with its steps, timings and deleted ids
    assert page.index("Deleted objects (4)") < page.index('id="mac-1"')
    assert page.count('<section class="mac') == 3
    section = page[page.index('id="mac-1"') : page.index('id="mac-2"')]
    assert "delete-stale" in section and "1 min 12 s" in section and "2.5 s" in section
    assert "22222222-aaaa-bbbb-cccc-000000000003" in section and "duplicate Intune records (3)" in section
    assert page.count("run state unavailable") == 2
    assert "wall time 1 min 20 s" in page


def test_files_are_private_and_replaced_atomically(reports, tmp_path):
    batch_dir = reports["json"].parent
    for path in reports.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ledger = _ledger()
    ledger["macs"] = ledger["macs"][:1]
    again = _write(batch_dir, ledger, None)  # no store: steps unavailable, still written
    assert sorted(p.name for p in batch_dir.iterdir()) == ["report.csv", "report.html", "report.json"]
    data = json.loads(again["json"].read_text())
    assert data["summary"]["macs"] == 1 and data["macs"][0]["steps_note"] == "run state unavailable"
    assert len(again["csv"].read_text().splitlines()) == 2
    assert stat.S_IMODE(again["html"].stat().st_mode) == 0o600


def test_summary_rows():
    assert list(summary_rows(_ledger()["macs"])) == [
        ("C02AAAAAAAA1", EVIL_NAME, "done", "kept 1 record, deleted 3", 4),
        ("C02BBBBBBBB2", "", "failed", EVIL_OUTCOME, 0),
        ("C02CCCCCCCC3", '=HYPERLINK("x")', "waiting", "waiting 30 minutes", 0),
    ]
    assert list(summary_rows(None)) == []


COMMAND = ["batch", "run", "--playbook", "duplicates", "--rule", "duplicates", "--yes", "--no-wait"]


def test_launchd_plist():
    plist = plistlib.loads((SCHEDULE / "com.example.cleanup-batch.plist").read_bytes())
    assert plist["Label"] == "com.example.cleanup-batch"
    assert plist["ProgramArguments"] == ["/usr/local/bin/cleanup", *COMMAND]
    assert plist["StartInterval"] == 3600
    assert plist["StandardOutPath"] == plist["StandardErrorPath"] == "/var/log/cleanup-batch.log"
    assert "CLEANUP_CONFIG" in plist["EnvironmentVariables"]
    assert not any("SECRET" in k or "PRIVATE_KEY" in k for k in plist["EnvironmentVariables"])


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string((SCHEDULE / name).read_text())
    return parser


def test_systemd_units():
    service = _unit("cleanup-batch.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].split() == ["/usr/local/bin/cleanup", *COMMAND]
    assert service["Service"]["EnvironmentFile"] == "/etc/cleanup/secrets.env"
    assert service["Service"]["SuccessExitStatus"] == "3"
    timer = _unit("cleanup-batch.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Timer"]["Unit"] == "cleanup-batch.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_cron_line_and_readme():
    lines = [
        ln for ln in (SCHEDULE / "cleanup-batch.cron").read_text().splitlines() if ln.strip() and not ln.startswith("#") and not re.match(r"^[A-Z_]+=", ln)
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    assert all(re.fullmatch(r"[\d*/,-]+", f) for f in fields[:5]) and fields[5] == "root"
    assert "/usr/local/bin/cleanup " + " ".join(COMMAND) in fields[6]
    readme = (SCHEDULE / "README.md").read_text()
    for needle in ("| 0 |", "| 3 |", "| 4 |", "| 1 |", "batch resume", "report.html", "--max-deletions"):
        assert needle in readme
