"""Reading a ``--json`` answer: every command prints one envelope (docs/json.md)."""

from __future__ import annotations

import json

KEYS = {"schema_version", "command", "exit_code", "data"}


def parse(res, command: str, exit_code: int = 0, errors: bool | None = None):
    """The envelope of a finished command, checked against the contract; its ``data``. ``errors``: whether the
    envelope must carry some (default: when the exit code is not 0)."""
    errors = bool(exit_code) if errors is None else errors
    assert res.returncode == exit_code, (res.returncode, res.stdout, res.stderr)
    env = json.loads(res.stdout)
    assert set(env) == (KEYS | {"errors"} if errors else KEYS), env.keys()
    assert env["schema_version"] == 1 and env["command"] == command and env["exit_code"] == exit_code
    if errors:
        assert all(set(e) == {"type", "message", "hint"} for e in env["errors"]) and env["errors"]
        assert res.stderr.strip(), "a failure says so on stderr too"
    return env["data"]


def failure(res, command: str, exit_code: int, error_type: str):
    """The envelope of a failed command; its first error's message (also the one line on stderr)."""
    data = parse(res, command, exit_code)
    err = json.loads(res.stdout)["errors"][0]
    assert err["type"] == error_type, err
    assert err["message"] in res.stderr
    return data, err["message"]


def json_lines(stdout: str) -> list[dict]:
    """A streaming command's --json output: one envelope per line."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def batch_result(stdout: str) -> dict:
    """`batch run | resume | status BATCH --json` (JSON Lines) read back as one dict: the last line's data (the
    summary), its exit_code and errors, and under "macs" each Mac's row (the "mac" or, for a dry-run, "plan" lines)."""
    lines = json_lines(stdout)
    last = lines[-1]
    macs = [ln["data"]["mac"] for ln in lines if ln["data"] and ln["data"].get("event") in ("mac", "plan")]
    return {**(last["data"] or {}), "exit_code": last["exit_code"], "errors": last.get("errors", []), "macs": macs}
