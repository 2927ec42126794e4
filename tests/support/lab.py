"""The real command line in a child process, simulated Macs' lab state, and driving a run through its pauses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from tests.support import zygoteclient as zygote

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, state_dir, env=None, input=None, timeout=180):
    """Run the real command line in a process of its own, as a user would (forked from tests/support/zygote.py
    when the environment allows, else a fresh interpreter)."""
    # no cloud configuration unless a test gives one: the user's own config must never leak into a test
    e = dict(os.environ, CLEANUP_STATE_DIR=str(state_dir), COLUMNS="250", CLEANUP_CONFIG=str(Path(state_dir).parent / "no-config.toml"))
    for k in [k for k in e if k.startswith("CLEANUP_") and k not in ("CLEANUP_STATE_DIR", "CLEANUP_CONFIG")]:
        del e[k]
    e.update(env or {})
    argv = [str(a) for a in args]
    if zygote.usable(env or {}):
        return zygote.run([sys.executable, "-m", "cleanup", *argv], argv, e, REPO, input, timeout)
    return subprocess.run(
        [sys.executable, "-m", "cleanup", *argv],
        capture_output=True,
        text=True,
        env=e,
        input=input,
        timeout=timeout,
        cwd=REPO,
    )


def start_cli(*args, env: dict):
    """``cleanup ARGS`` started, not waited for, as ``subprocess.Popen`` with its output to /dev/null: forked from
    tests/support/zygote.py when ``env`` (a whole environment) allows, else a fresh interpreter. The result has
    Popen's pid (the command's own), wait, poll, send_signal and kill."""
    argv = [str(a) for a in args]
    if zygote.usable({k: v for k, v in env.items() if os.environ.get(k) != v}):
        streams = dict.fromkeys(("stdin", "stdout", "stderr"), os.devnull)
        return zygote.popen([sys.executable, "-m", "cleanup", *argv], argv, env, REPO, streams)
    return subprocess.Popen([sys.executable, "-m", "cleanup", *argv], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def drive_cli(args, env, state_dir, rounds=6, resume_args=()):
    """`cleanup run ...`, then `cleanup resume --latest` after each pause, as an operator would."""
    res = run_cli(*args, env=env, state_dir=state_dir)
    outputs = [res]
    while res.returncode == 3 and rounds:
        rounds -= 1
        res = run_cli("resume", "--latest", *resume_args, env=env, state_dir=state_dir)
        outputs.append(res)
    return res, outputs


def lab_state(mac: Path) -> dict:
    return json.loads((mac / ".lab/state.json").read_text())


def set_lab_state(mac: Path, **changes) -> None:
    state = lab_state(mac)
    state.update(changes)
    (mac / ".lab/state.json").write_text(json.dumps(state))


def keychain(mac: Path, mac_path: str) -> dict:
    return json.loads((mac / mac_path.lstrip("/")).read_text())


def audit_events(state_dir: Path) -> list[dict]:
    """The audit log of the latest run in a state folder."""
    runs = sorted((state_dir / "runs").iterdir())
    return [json.loads(line) for line in (runs[-1] / "audit.jsonl").read_text().splitlines()]


def drive(store: StateStore, mac: Path, *, only="device", max_rounds=8, **options):
    """Run the cause6 playbook on a simulated Mac through every pause, as an operator resuming it would."""
    opts = RunOptions(yes=True, wait_seconds=0, autoresume=False, **options)
    runner = Runner(store, open_host(f"sim:{mac}"), load_playbook("cause6"), opts)
    pauses = []
    run_id = None
    for _ in range(max_rounds):
        try:
            run = runner.start(Selection(only=only)) if run_id is None else runner.resume(run_id)
            return run, pauses
        except Paused as p:
            pauses.append(p.message)
            run_id = run_id or runner.run_id
    raise AssertionError(f"run did not finish: {pauses}")


def one_error(res: subprocess.CompletedProcess, code: int) -> str:
    """The one `error:` line a refused command printed, having exited with ``code`` and no traceback."""
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    return errors[0]
