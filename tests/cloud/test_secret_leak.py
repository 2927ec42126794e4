"""A secret never appears in output, logs, checkpoints, the audit log, reports or exception text — nor do the
access tokens obtained with it. Every command runs with recognisable secrets; then everything is searched."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lab import drive_cli, run_cli

JAMF_CANARY = "CANARY-jamf-S3cret-7f1d9a"
GRAPH_CANARY = "CANARY-graph-S3cret-c2e8b4"
WRONG_CANARY = "CANARY-wrong-S3cret-55aa01"


@pytest.mark.slow
def test_no_secret_or_token_leaks_into_any_output_or_file(make_lab, state_dir, tmp_path):
    lab = make_lab("intune-duplicates")
    lab.tenant.jamf_clients["full"]["client_secret"] = JAMF_CANARY
    lab.tenant.graph_apps["full"]["client_secret"] = GRAPH_CANARY
    env = lab.env(CLEANUP_JAMF_CLIENT_SECRET=JAMF_CANARY, CLEANUP_GRAPH_CLIENT_SECRET=GRAPH_CANARY)
    outputs = []
    for args in (
        ["plan", "--host", f"sim:{lab.mac}"],
        ["plan", "--host", f"sim:{lab.mac}", "--json"],
        ["-v", "plan", "--only", "cloud", "--serial", lab.serial],
    ):
        outputs.append(run_cli(*args, env=env, state_dir=state_dir))
    res, outs = drive_cli(["-v", "run", "--host", f"sim:{lab.mac}", "--yes", "--wait-seconds", "0"], env, state_dir)
    assert res.returncode == 0, [o.stderr for o in outs]
    outputs += outs
    for args in (
        ["status"],
        ["status", "--latest", "--json"],
        ["verify", "--latest"],
        ["verify", "--latest", "--json"],
        ["creds", "show"],
        ["creds", "show", "--json"],
        ["creds", "test"],
        ["creds", "test", "--json"],
    ):
        outputs.append(run_cli(*args, env=env, state_dir=state_dir))
    # failures print exception text: a wrong secret, with and without -v
    bad = dict(env, CLEANUP_GRAPH_CLIENT_SECRET=WRONG_CANARY, CLEANUP_JAMF_CLIENT_SECRET=WRONG_CANARY)
    for args in (
        ["plan", "--only", "cloud", "--serial", lab.serial],
        ["-v", "run", "--only", "cloud", "--serial", lab.serial, "--yes"],
        ["-v", "creds", "test"],
    ):
        res = run_cli(*args, env=bad, state_dir=state_dir)
        assert res.returncode != 0
        outputs.append(res)
    tokens = list(lab.server.service.tokens._graph) + list(lab.server.service.tokens._jamf)
    assert tokens, "the run must have obtained tokens"
    needles = [JAMF_CANARY, GRAPH_CANARY, WRONG_CANARY] + tokens
    for res in outputs:
        text = (res.stdout or "") + (res.stderr or "")
        for needle in needles:
            assert needle not in text, f"secret/token in the output of {res.args[3:]}"
    # every file the tool wrote: checkpoints, stored playbooks, audit logs, locks
    written = [p for p in Path(state_dir).rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in written) and any(p.name == "state.json" for p in written)
    for path in written + [p for p in lab.mac.rglob("*") if p.is_file() and not p.is_symlink()]:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"secret/token in {path}"
