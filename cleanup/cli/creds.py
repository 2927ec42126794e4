"""`cleanup creds set|show|delete|test`: cloud settings in the config file, secrets in the OS keyring.

Secrets are read from a hidden prompt (or one line of stdin when it is not a terminal), never from an
argument, and are never printed: `show` tells where each secret comes from, not what it is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from cleanup import readlimit
from cleanup.cli import output, render
from cleanup.cli.common import JsonOpt
from cleanup.clients.config import (
    FIELDS,
    CloudConfig,
    default_config_path,
    load_config,
    save_config,
)
from cleanup.clients.secrets import Secrets, describe, env_var
from cleanup.errors import CleanupError, UsageError

app = typer.Typer(help="Cloud credentials: Jamf Pro and Microsoft Graph (Entra/Intune).", no_args_is_help=True)
set_app = typer.Typer(help="Store settings and a secret for one service.", no_args_is_help=True)
app.add_typer(set_app, name="set")

ConfigOpt = typer.Option(None, "--config", help="Config file (default: CLEANUP_CONFIG or the per-user config folder).")
CaBundleOpt = typer.Option(None, "--ca-bundle", help="PEM bundle to trust (e.g. a TLS-inspecting proxy's CA); saved as [tls] ca_bundle.")


def _save(path: Path, section: str, values: dict, ca_bundle: Path | None) -> None:
    changes = {section: values}
    if ca_bundle is not None:
        changes["tls"] = {"ca_bundle": str(Path(ca_bundle).expanduser().resolve())}
    if values or ca_bundle is not None:
        save_config(changes, path)


def _path(config: Path | None) -> Path:
    return Path(config).expanduser() if config else default_config_path()


def _say(text: str) -> None:
    render.console.print(text, markup=False, highlight=False)


def _read_secret(label: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        value = typer.prompt(label, hide_input=True, default="", show_default=False)
    else:
        value = (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")
    if not value.strip():
        raise UsageError(f"no {label.lower()} given (type it at the prompt or pipe it on stdin)")
    return value


def _store(secrets: Secrets, name: str, account: str, path: Path) -> None:
    value = _read_secret(describe(name))
    secrets.set(name, account, value)
    _say(f"stored the {describe(name)} for {account} in keyring ({secrets.backend_name()}); settings in {path}")
    if os.environ.get(env_var(name)):
        _say(f"note: {env_var(name)} is set in this environment and takes precedence over the keyring")


def _ensure_keyring(secrets: Secrets, name: str, path: Path) -> None:
    """Fail before prompting when there is nowhere to store the secret (the settings are already saved)."""
    if secrets.backend_name() is None:
        raise UsageError(
            f"no keyring backend on this machine: set {env_var(name)} in the environment instead (see `cleanup creds --help`)",
            f"the other settings were saved in {path}",
        )


@set_app.command("jamf")
def set_jamf(
    url: str | None = typer.Option(None, "--url", help="Jamf Pro URL, e.g. https://example.jamfcloud.com"),
    client_id: str | None = typer.Option(None, "--client-id", help="API client id (API client auth, preferred)."),
    username: str | None = typer.Option(None, "--username", help="User account (legacy user auth)."),
    ca_bundle: Path | None = CaBundleOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Save the Jamf Pro URL and identity; the secret or password is prompted for (or read from stdin)."""
    if client_id and username:
        raise UsageError("give --client-id or --username, not both")
    path = _path(config)
    current = load_config(path)
    values: dict[str, str] = {}
    if url:
        values["url"] = url
    if client_id:
        values.update(auth="client", client_id=client_id)
    elif username:
        values.update(auth="user", username=username)
    if not (url or current.jamf_url):
        raise UsageError("the Jamf Pro URL is not configured yet: pass --url")
    auth = values.get("auth", current.jamf_auth)
    account = client_id or username or current.jamf_account
    if not account:
        raise UsageError("pass --client-id (API client) or --username (user account)")
    _save(path, "jamf", values, ca_bundle)
    name = "jamf-client-secret" if auth == "client" else "jamf-password"
    secrets = Secrets()
    _ensure_keyring(secrets, name, path)
    _store(secrets, name, account, path)


@set_app.command("graph")
def set_graph(
    tenant_id: str | None = typer.Option(None, "--tenant-id", help="Entra tenant id (GUID or domain)."),
    client_id: str | None = typer.Option(None, "--client-id", help="Application (client) id of the Entra app."),
    certificate: Path | None = typer.Option(None, "--certificate", help="PEM file with the private key and the certificate (certificate auth)."),
    authority_host: str | None = typer.Option(None, "--authority-host", help="Default https://login.microsoftonline.com"),
    graph_endpoint: str | None = typer.Option(None, "--graph-endpoint", help="Default https://graph.microsoft.com"),
    ca_bundle: Path | None = CaBundleOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Save the tenant and app; the client secret is prompted for, or --certificate stores the key."""
    path = _path(config)
    current = load_config(path)
    values: dict[str, str | None] = {"tenant_id": tenant_id, "client_id": client_id, "authority_host": authority_host, "endpoint": graph_endpoint}
    values = {k: v for k, v in values.items() if v}
    account = client_id or current.graph_client_id
    if not (tenant_id or current.tenant_id):
        raise UsageError("the Entra tenant is not configured yet: pass --tenant-id")
    if not account:
        raise UsageError("the Entra app is not configured yet: pass --client-id")
    secrets = Secrets()
    if certificate is not None:
        key_pem, thumbprint = _read_certificate(certificate)
        values.update(auth="certificate", thumbprint=thumbprint)
        _save(path, "graph", values, ca_bundle)
        _ensure_keyring(secrets, "graph-private-key", path)
        secrets.set("graph-private-key", account, key_pem)
        _say(f"stored the {describe('graph-private-key')} for {account} in keyring ({secrets.backend_name()}); thumbprint {thumbprint}; settings in {path}")
        return
    values["auth"] = "secret"
    _save(path, "graph", {**values, "thumbprint": None}, ca_bundle)
    _ensure_keyring(secrets, "graph-client-secret", path)
    _store(secrets, "graph-client-secret", account, path)


def _read_certificate(path: Path) -> tuple[str, str]:
    """(private key PEM, SHA-1 thumbprint) from a PEM file holding the key and its certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        text = readlimit.read_text(path, readlimit.CONFIG_LIMIT, "certificate file")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the certificate file ({type(exc).__name__})") from None
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("-----BEGIN "):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(current) + "\n")
                current = None
    keys = [b for b in blocks if "PRIVATE KEY-----" in b.splitlines()[0]]
    certs = [b for b in blocks if b.startswith("-----BEGIN CERTIFICATE-----")]
    if len(keys) != 1 or not certs:
        raise UsageError(f"{path}: expected one private key and its certificate (PEM)")
    if "ENCRYPTED" in keys[0].splitlines()[0]:
        raise UsageError(f"{path}: the private key is encrypted; export it without a password")
    try:
        key = serialization.load_pem_private_key(keys[0].encode(), password=None)
        cert = x509.load_pem_x509_certificate(certs[0].encode())
    except (ValueError, TypeError):
        raise UsageError(f"{path}: the private key or certificate is not valid PEM") from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise UsageError(f"{path}: the first certificate does not belong to the private key")
    return keys[0], cert.fingerprint(hashes.SHA1()).hex().upper()


# -- show -------------------------------------------------------------------------------------------


def _secret_names(cfg: CloudConfig) -> list[tuple[str, str | None]]:
    jamf = ("jamf-client-secret", cfg.jamf_client_id) if cfg.jamf_auth == "client" else ("jamf-password", cfg.jamf_username)
    graph = ("graph-client-secret" if cfg.graph_auth == "secret" else "graph-private-key", cfg.graph_client_id)
    return [jamf, graph]


def describe_credentials(cfg: CloudConfig, secrets: Secrets) -> dict:
    path = Path(cfg.path) if cfg.path else default_config_path()
    settings = {}
    for (section, key), (field, var) in FIELDS.items():
        value = getattr(cfg, field)
        source = f"environment ({var})" if os.environ.get(var) else ("config file" if value else "not set")
        settings[f"{section}.{key}"] = {"value": value, "source": source}
    return {
        "config_path": str(path),
        "config_exists": path.is_file(),
        "settings": settings,
        "secrets": {name: {"account": account, "source": secrets.source(name, account)} for name, account in _secret_names(cfg)},
    }


@app.command("show")
def show(config: Path | None = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """Each setting and where each secret comes from (environment, keyring, not set); never secret values."""
    cfg = load_config(_path(config))
    data = describe_credentials(cfg, Secrets())
    if as_json:
        return output.answer(data)
    _say(f"config file: {data['config_path']}" + ("" if data["config_exists"] else " (not found)"))
    for key, item in data["settings"].items():
        if item["value"] is not None:
            _say(f"  {key} = {item['value']}  [{item['source']}]")
    for name, item in data["secrets"].items():
        _say(f"  {name} ({item['account'] or 'no account'}): {item['source']}")


# -- delete -----------------------------------------------------------------------------------------


@app.command("delete")
def delete(
    service: str = typer.Argument(..., help="jamf or graph"),
    config: Path | None = ConfigOpt,
) -> None:
    """Remove the service's secrets from the keyring (the config file and environment are left alone)."""
    if service not in ("jamf", "graph"):
        raise UsageError(f"{service!r} is not a service: use jamf or graph")
    cfg = load_config(_path(config))
    if service == "jamf":
        entries = [("jamf-client-secret", cfg.jamf_client_id), ("jamf-password", cfg.jamf_username)]
    else:
        entries = [("graph-client-secret", cfg.graph_client_id), ("graph-private-key", cfg.graph_client_id)]
    configured = [(n, a) for n, a in entries if a]
    if not configured:
        raise UsageError(f"{service} has no client id or user name configured: nothing to delete")
    secrets = Secrets()
    for name, account in configured:
        removed = secrets.delete(name, account)
        _say(f"{'removed' if removed else 'no'} {name} for {account}{' from the keyring' if removed else ' in the keyring'}")
        if os.environ.get(env_var(name)):
            _say(f"note: {env_var(name)} is still set in this environment")


# -- test -------------------------------------------------------------------------------------------


def _test_service(cloud, service: str) -> dict:
    from cleanup.clients import permissions as perm

    cfg = cloud.config
    configured = cfg.jamf_configured() if service == "jamf" else cfg.graph_configured()
    entry: dict = {"configured": configured, "authenticated": False}
    if not configured:
        entry["error"] = f"not configured: run `cleanup creds set {service}`"
        return entry
    try:
        if service == "jamf":
            privileges = cloud.jamf.privileges()
            entry["privileges"] = sorted(privileges) if privileges is not None else None
        else:
            entry["roles"] = sorted(cloud.graph.roles())
        entry["authenticated"] = True
        dry = perm.check(cloud, perm.needs_for(service, perm.DRY_RUN_NEEDS))
        run = perm.check(cloud, perm.needs_for(service, perm.RUN_NEEDS))
        optional = perm.check(cloud, perm.needs_for(service, perm.OPTIONAL_NEEDS))
    except CleanupError as exc:
        entry["error"] = exc.message
        return entry
    entry["dry_run"] = not any(m.known for m in dry)
    entry["run"] = not any(m.known for m in run)
    entry["missing"] = [str(m) for m in run]
    entry["optional_missing"] = [str(m) for m in optional]
    return entry


@app.command("test")
def test(
    service: str | None = typer.Argument(None, help="jamf or graph (default: both)"),
    config: Path | None = ConfigOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Authenticate and tell whether the permissions suffice for a dry run (reads) and a run (deletes)."""
    from cleanup.clients.session import open_session

    if service not in (None, "jamf", "graph"):
        raise UsageError(f"{service!r} is not a service: use jamf or graph")
    services = [service] if service else ["jamf", "graph"]
    cfg = load_config(_path(config))
    with open_session(cfg) as cloud:
        report: dict[str, Any] = {s: _test_service(cloud, s) for s in services}
    report["run_possible"] = all(report[s].get("run") for s in services)
    if not as_json:
        for s in services:
            _print_service(s, report[s], cfg)
    if not report["run_possible"]:
        output.partial(report)
        raise CleanupError(f"a run would not be possible: {_why_not(report, services)}")
    if as_json:
        output.answer(report)


def _why_not(report: dict, services: list[str]) -> str:
    reasons = []
    for s in services:
        entry = report[s]
        if entry.get("error"):
            reasons.append(f"{s}: {entry['error']}")
        elif not entry.get("run"):
            reasons.append(f"{s}: " + "; ".join(m for m in entry["missing"] if m.startswith("missing")))
    return " | ".join(reasons)


def _print_service(service: str, entry: dict, cfg: CloudConfig) -> None:
    title = (
        f"Jamf Pro {cfg.jamf_url} ({cfg.jamf_auth} {cfg.jamf_account})"
        if service == "jamf"
        else f"Microsoft Graph {cfg.graph_endpoint} (tenant {cfg.tenant_id}, app {cfg.graph_client_id})"
    )
    _say(title)
    if not entry["authenticated"]:
        _say(f"  FAILED: {entry.get('error')}")
        return
    _say("  authenticated")
    if service == "jamf":
        privileges = entry.get("privileges")
        _say("  privileges: " + (", ".join(privileges) if privileges is not None else "cannot be read (grant Read API Roles to see them)"))
    else:
        _say("  app roles: " + (", ".join(entry.get("roles") or []) or "none"))
    _say(f"  dry run: {'ok' if entry['dry_run'] else 'NOT possible'}; run: {'ok' if entry['run'] else 'NOT possible'}")
    for line in entry["missing"] + [f"optional: {m}" for m in entry["optional_missing"]]:
        _say(f"  - {line}")
