"""Fixtures for the cloud clients: one emulated tenant per session, a file keyring, a clean environment."""

from __future__ import annotations

import os
from dataclasses import fields

import keyring
import keyring.core
import pytest

from tests.support.clienthelpers import cloud_parts


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
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_backend.FileKeyring")
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


@pytest.fixture
def make_cloud(lab):
    """Factory for CloudSessions against the lab tenant; all are closed after the test."""
    from cleanup.clients.session import CloudSession

    sessions = []

    def make(**kw) -> CloudSession:
        session = CloudSession(*cloud_parts(lab, **kw))
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
