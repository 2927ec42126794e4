"""Files that point cleanup at a running tenant: ``config.toml``, ``secrets.env`` (0600) and ``tenant.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)  # O_CREAT's mode does not apply to an existing file


def _toml_str(value: str) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string for these values


def write_client_files(server, directory: Path) -> dict:
    """Write the three files for the full Jamf API client and the full Graph app; returns tenant.json's dict."""
    directory.mkdir(parents=True, exist_ok=True)
    creds = server.credentials
    jamf = creds["jamf_clients"]["full"]
    graph = creds["graph_apps"]["full"]
    ca = str(Path(server.ca_pem).resolve())
    config = "\n".join(
        [
            "[jamf]",
            f"url = {_toml_str(server.url)}",
            'auth = "client"',
            f"client_id = {_toml_str(jamf['client_id'])}",
            "",
            "[graph]",
            f"tenant_id = {_toml_str(creds['tenant_id'])}",
            f"client_id = {_toml_str(graph['client_id'])}",
            'auth = "secret"',
            f"authority_host = {_toml_str(server.url)}",
            f"endpoint = {_toml_str(server.url)}",
            "",
            "[tls]",
            f"ca_bundle = {_toml_str(ca)}",
            "",
        ]
    )
    _write(directory / "config.toml", config, 0o644)
    _write(directory / "secrets.env", f"CLEANUP_JAMF_CLIENT_SECRET={jamf['client_secret']}\nCLEANUP_GRAPH_CLIENT_SECRET={graph['client_secret']}\n", 0o600)
    info = {"url": server.url, "ca_pem": ca, "tenant_id": creds["tenant_id"]}
    _write(directory / "tenant.json", json.dumps(info, indent=2) + "\n", 0o644)
    return info


def lab_cloud_opener(directory: Path):
    """An in-process opener of cleanup's cloud session from the client files (the demo and benchmarks use it;
    the secrets go straight to the session, not into this process's environment)."""
    from cleanup.clients.config import load_config
    from cleanup.clients.secrets import Secrets
    from cleanup.clients.session import open_session

    config = load_config(Path(directory) / "config.toml", env={})
    lines = (Path(directory) / "secrets.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    return lambda: open_session(config, secrets=Secrets(env=env))
