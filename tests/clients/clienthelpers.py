"""Helpers shared by the client tests (a uniquely named module: test folders here have no __init__.py)."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def fresh_serial(prefix: str = "JT") -> str:
    """A valid serial nobody else in the session tenant uses."""
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10))


# The real main(), with `creds` registered here if the lead has not wired it into the app yet.
CLI_CODE = (
    "import sys\n"
    "from cleanup.cli import app, main\n"
    "from cleanup.cli import creds\n"
    "if not any(g.name == 'creds' for g in app.registered_groups):\n"
    "    app.add_typer(creds.app, name='creds')\n"
    "main(sys.argv[1:])\n"
)


def run_cli(*args, env: dict, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`cleanup creds ...` in a child process through the real main() (registering creds if the lead has not)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    full_env.update(PYTHONPATH=str(REPO), COLUMNS="200", **env)
    return subprocess.run([sys.executable, "-c", CLI_CODE, *map(str, args)], capture_output=True, text=True,
                          env=full_env, input=input, timeout=timeout, cwd=REPO)
