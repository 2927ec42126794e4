"""Secrets: environment over keyring, source() without values, a clear error without a keyring backend."""

from __future__ import annotations

import json

import pytest

from cleanup.clients.secrets import Secrets
from cleanup.errors import UsageError


def test_keyring_round_trip(file_keyring):
    secrets = Secrets(env={})
    assert secrets.get("jamf-client-secret", "client-1") is None
    assert secrets.source("jamf-client-secret", "client-1") == "not set"
    secrets.set("jamf-client-secret", "client-1", "s3cret-value")
    assert secrets.get("jamf-client-secret", "client-1") == "s3cret-value"
    assert secrets.get("jamf-client-secret", "client-2") is None  # per account
    assert secrets.source("jamf-client-secret", "client-1") == "keyring (keyring backend FileKeyring)"
    stored = json.loads(file_keyring.read_text())
    assert stored == {"cleanup\x00jamf-client-secret:client-1": "s3cret-value"}  # service + "name:account"
    assert secrets.delete("jamf-client-secret", "client-1") is True
    assert secrets.delete("jamf-client-secret", "client-1") is False
    assert secrets.get("jamf-client-secret", "client-1") is None


def test_environment_wins_over_keyring(file_keyring):
    Secrets(env={}).set("graph-client-secret", "app", "from-keyring")
    secrets = Secrets(env={"CLEANUP_GRAPH_CLIENT_SECRET": "from-env"})
    assert secrets.get("graph-client-secret", "app") == "from-env"
    assert secrets.source("graph-client-secret", "app") == "environment (CLEANUP_GRAPH_CLIENT_SECRET)"
    assert Secrets(env={"CLEANUP_GRAPH_CLIENT_SECRET": ""}).get("graph-client-secret", "app") == "from-keyring"


@pytest.mark.parametrize(
    "name, var",
    [
        ("jamf-client-secret", "CLEANUP_JAMF_CLIENT_SECRET"),
        ("jamf-password", "CLEANUP_JAMF_PASSWORD"),
        ("graph-client-secret", "CLEANUP_GRAPH_CLIENT_SECRET"),
        ("graph-private-key", "CLEANUP_GRAPH_PRIVATE_KEY"),
    ],
)
def test_fail_backend_gives_the_clear_error(fail_keyring, name, var):
    secrets = Secrets(env={})
    expected = f"no keyring backend on this machine: set {var} in the environment instead (see `cleanup creds --help`)"
    for call in (lambda: secrets.set(name, "acct", "x"), lambda: secrets.get(name, "acct"), lambda: secrets.delete(name, "acct")):
        with pytest.raises(UsageError) as info:
            call()
        assert str(info.value) == expected
    assert secrets.source(name, "acct") == f"not set (no keyring backend: use {var})"
    # the environment still works without any keyring
    assert Secrets(env={var: "v"}).get(name, "acct") == "v"


def test_unknown_secret_and_missing_account(file_keyring):
    with pytest.raises(UsageError, match="unknown secret"):
        Secrets(env={}).get("jamf-token", "x")
    with pytest.raises(UsageError, match="no account"):
        Secrets(env={}).set("jamf-password", "", "pw")
    with pytest.raises(UsageError, match="empty"):
        Secrets(env={}).set("jamf-password", "u", "")
