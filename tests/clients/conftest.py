"""Fixtures for the cloud clients: one emulated tenant per session, a file keyring, a clean environment."""

from __future__ import annotations

import os
from dataclasses import fields

import keyring
import keyring.core
import pytest


@pytest.fixture(autouse=True)
def _no_cleanup_env(monkeypatch):
    """The developer's own CLEANUP_* settings must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("CLEANUP_") and name not in ("CLEANUP_STATE_DIR",):
            monkeypatch.delenv(name)


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    """Select the file-backed test keyring (through PYTHON_KEYRING_BACKEND, as a user would)."""
    store = tmp_path / "keyring.json"
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.clients.keyring_backend.FileKeyring")
    monkeypatch.setenv("CLEANUP_TEST_KEYRING", str(store))
    keyring.core.init_backend()
    assert type(keyring.get_keyring()).__name__ == "FileKeyring"
    yield store
    keyring.set_keyring(previous)


@pytest.fixture
def fail_keyring(monkeypatch):
    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()
    yield
    keyring.set_keyring(previous)


# -- the emulated tenant ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def tenant(tmp_path_factory):
    from cleanup.lab.tenant import start_tenant

    server = start_tenant(tmp_path_factory.mktemp("tenant"), scenario="look-alikes")
    yield server
    server.stop()


@pytest.fixture
def lab(tenant):
    """The session tenant with default faults and fresh stats; faults are restored afterwards."""
    from cleanup.lab.tenant import Faults

    defaults = {f.name: getattr(Faults(), f.name) for f in fields(Faults)}
    tenant.faults.update(defaults)
    tenant.reset_stats()
    yield tenant
    tenant.faults.update(defaults)


FAST = dict(backoff_base=0.01, backoff_max=0.05, timeout=(3, 10), max_total_seconds=30)


def cloud_parts(server, *, jamf: str = "full", jamf_user: str | None = None, graph: str = "full",
                jamf_secret: str | None = None, graph_secret: str | None = None, ca: str | None = "lab", **over):
    """(CloudConfig, Secrets, HttpSettings) for one of the tenant's Jamf clients/users and Graph apps.
    Secrets come from an explicit environment mapping (no keyring involved)."""
    from cleanup.clients.config import CloudConfig
    from cleanup.clients.http import HttpSettings
    from cleanup.clients.secrets import Secrets

    creds = server.credentials
    env: dict[str, str] = {}
    values: dict = dict(jamf_url=server.url, tenant_id=creds["tenant_id"], authority_host=server.url,
                        graph_endpoint=server.url, ca_bundle=str(server.ca_pem) if ca == "lab" else ca)
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


@pytest.fixture
def make_cloud(lab):
    """Factory for CloudSessions against the lab tenant; all are closed after the test."""
    from cleanup.clients.cloud import CloudSession

    sessions = []

    def make(**kw) -> CloudSession:
        session = CloudSession(*cloud_parts(lab, **kw))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
