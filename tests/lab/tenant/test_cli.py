"""`cleanup lab tenant` (the Typer sub-app) in a child process, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[3]
# Runs the sub-app the way cleanup's main() does: our errors become one line and their exit code.
RUNNER = """
import sys
from cleanup.cli.lab_tenant import app
from cleanup.errors import CleanupError
try:
    app(args=sys.argv[1:], prog_name="cleanup lab tenant")
except CleanupError as exc:
    print(f"error: {exc.message}", file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def _run(*args, **kw):
    return subprocess.run([sys.executable, "-c", RUNNER, *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=60, **kw)


def test_scenarios_listed():
    r = _run("scenarios")
    assert r.returncode == 0
    assert "intune-duplicates" in r.stdout and "look-alikes" in r.stdout


def test_unknown_scenario_is_a_usage_error(tmp_path):
    r = _run("start", tmp_path, "--scenario", "nope")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "unknown tenant scenario 'nope'" in r.stderr


def test_start_serves_until_interrupted(tmp_path):
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            "start",
            str(tmp_path),
            "--scenario",
            "stale-entra",
            "--serial",
            "C02TESTCLI01",
            "--name",
            "MBP-CLI",
            "--token-lifetime",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "tenant listening on https://127.0.0.1:" in out, out + proc.stderr.read()
        assert f"export CLEANUP_CONFIG={(tmp_path / 'config.toml').resolve()}" in out
        assert "stale-entra" in out and "C02TESTCLI01" in out
        url = out.split("tenant listening on ", 1)[1].split()[0]
        ca = str(tmp_path / "tls" / "ca.pem")
        secrets = dict(line.split("=", 1) for line in (tmp_path / "secrets.env").read_text().splitlines())
        tenant_json = (tmp_path / "tenant.json").read_text()
        assert url in tenant_json
        config = tomllib.loads((tmp_path / "config.toml").read_text())
        r = requests.post(
            url + "/api/oauth/token",
            verify=ca,
            timeout=10,
            data={"grant_type": "client_credentials", "client_id": config["jamf"]["client_id"], "client_secret": secrets["CLEANUP_JAMF_CLIENT_SECRET"]},
        )
        assert r.json()["expires_in"] == 120
        inv = requests.get(
            url + "/api/v1/computers-inventory",
            verify=ca,
            timeout=10,
            headers={"Authorization": "Bearer " + r.json()["access_token"]},
            params={"filter": "hardware.serialNumber==C02TESTCLI01", "section": "GENERAL"},
        ).json()
        assert inv["results"][0]["general"]["name"] == "MBP-CLI"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "tenant stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
