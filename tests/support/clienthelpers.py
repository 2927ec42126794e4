"""Helpers shared by the client tests."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

from tests.support import zygoteclient as zygote

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
    if zygote.usable(env):  # forked from the tests' command-line server, as tests/support/lab.run_cli does
        argv = [str(a) for a in args]
        return zygote.run([sys.executable, "-c", CLI_CODE, *argv], argv, full_env, REPO, input, timeout)
    return subprocess.run(
        [sys.executable, "-c", CLI_CODE, *map(str, args)], capture_output=True, text=True, env=full_env, input=input, timeout=timeout, cwd=REPO
    )


FAST = dict(backoff_base=0.01, backoff_max=0.05, timeout=(3, 10), max_total_seconds=30)


def cloud_parts(
    server,
    *,
    jamf: str = "full",
    jamf_user: str | None = None,
    graph: str = "full",
    jamf_secret: str | None = None,
    graph_secret: str | None = None,
    ca: str | None = "lab",
    **over,
):
    """(CloudConfig, Secrets, HttpSettings) for one of the tenant's Jamf clients/users and Graph apps.
    Secrets come from an explicit environment mapping (no keyring involved)."""
    from cleanup.clients.config import CloudConfig
    from cleanup.clients.http import HttpSettings
    from cleanup.clients.secrets import Secrets

    creds = server.credentials
    env: dict[str, str] = {}
    values: dict = dict(
        jamf_url=server.url,
        tenant_id=creds["tenant_id"],
        authority_host=server.url,
        graph_endpoint=server.url,
        ca_bundle=str(server.ca_pem) if ca == "lab" else ca,
    )
    if jamf_user:
        user = creds["jamf_users"][jamf_user]
        values.update(jamf_auth="user", jamf_username=user["username"])
        env["CLEANUP_JAMF_PASSWORD"] = jamf_secret or user["password"]
    else:
        client = creds["jamf_clients"][jamf]
        values.update(jamf_client_id=client["client_id"])
        env["CLEANUP_JAMF_CLIENT_SECRET"] = jamf_secret or client["client_secret"]
    app = creds["graph_apps"][graph]
    values["graph_client_id"] = app["client_id"]
    if "private_key_pem" in app:
        values.update(graph_auth="certificate", graph_thumbprint=app["thumbprint"])
        env["CLEANUP_GRAPH_PRIVATE_KEY"] = app["private_key_pem"]
    else:
        env["CLEANUP_GRAPH_CLIENT_SECRET"] = graph_secret or app["client_secret"]
    values.update(over)
    config = CloudConfig(**values)
    return config, Secrets(env=env), HttpSettings(ca_bundle=config.ca_bundle, **FAST)
