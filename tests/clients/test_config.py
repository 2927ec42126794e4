"""Config file + environment: loading, validation messages naming file and key, atomic save."""

from __future__ import annotations

import stat
import sys
import tomllib
from pathlib import Path

import pytest

from cleanup.clients.config import (
    CloudConfig,
    default_config_path,
    load_config,
    save_config,
)
from cleanup.errors import UsageError

GUID = "5b7f3c1e-2a4d-4e8f-9c61-0d2a7e4b9f30"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def ca(tmp_path) -> Path:
    return write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\n")


def test_missing_file_is_an_empty_config(tmp_path):
    cfg = load_config(tmp_path / "nope.toml", env={})
    assert cfg == CloudConfig(path=str(tmp_path / "nope.toml"))
    assert not cfg.jamf_configured() and not cfg.graph_configured()


def test_full_file_loads(tmp_path, ca):
    path = write(
        tmp_path / "c.toml",
        f"""
[jamf]
url = "https://example.jamfcloud.com/"
auth = "client"
client_id = "abc-123"
[graph]
tenant_id = "{GUID.upper()}"
client_id = "app-1"
auth = "certificate"
thumbprint = "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"
authority_host = "https://login.example.net"
endpoint = "https://graph.example.net"
[tls]
ca_bundle = "ca.pem"
""",
    )
    cfg = load_config(path, env={})
    assert cfg.jamf_url == "https://example.jamfcloud.com"  # trailing slash dropped
    assert cfg.jamf_configured() and cfg.graph_configured()
    assert cfg.tenant_id == GUID
    assert cfg.graph_thumbprint == "AABBCCDDEEFF00112233445566778899AABBCCDD"
    assert cfg.ca_bundle == str(ca.resolve())  # relative to the config file's folder
    assert cfg.path == str(path)


def test_domain_tenant_accepted(tmp_path):
    path = write(tmp_path / "c.toml", '[graph]\ntenant_id = "contoso.onmicrosoft.com"\nclient_id = "x"\n')
    assert load_config(path, env={}).tenant_id == "contoso.onmicrosoft.com"


@pytest.mark.parametrize(
    "body, needle",
    [
        ('[jamf]\nurl = "http://jamf.example.com"\n', "[jamf] url: 'http://jamf.example.com' is not an https URL"),
        ('[jamf]\nurl = "https://"\n', "[jamf] url: 'https://' is not an https URL with a host"),
        ('[jamf]\nurl = "https://user:pw@jamf.example.com"\n', "[jamf] url"),
        ('[graph]\nendpoint = "ftp://graph"\n', "[graph] endpoint"),
        ('[graph]\nauthority_host = "https://x:notaport"\n', "[graph] authority_host"),
        ('[graph]\ntenant_id = "not a tenant"\n', "[graph] tenant_id: 'not a tenant' is not a tenant id"),
        ('[jamf]\nauth = "password"\n', "[jamf] auth: 'password' is not one of client, user"),
        ('[graph]\nauth = "token"\n', "[graph] auth: 'token' is not one of secret, certificate"),
        ('[graph]\nthumbprint = "xyz"\n', "[graph] thumbprint"),
        ('[tls]\nca_bundle = "/no/such/ca.pem"\n', "[tls] ca_bundle: CA bundle '/no/such/ca.pem' does not exist"),
        ('[jamf]\nurl_typo = "https://x"\n', "unknown key 'url_typo' in [jamf]"),
        ('[intune]\nx = "1"\n', "unknown section [intune]"),
        ("[jamf]\nclient_id = 5\n", "[jamf] client_id must be a string"),
        ('[jamf]\nclient_id = "a b"\n', "[jamf] client_id"),
        ("[jamf\n", "not valid TOML"),
    ],
)
def test_validation_errors_name_file_and_key(tmp_path, body, needle):
    path = write(tmp_path / "bad.toml", body)
    with pytest.raises(UsageError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert str(path) in message and needle in message
    assert "\n" not in message


def test_environment_overrides_each_setting(tmp_path, ca):
    path = write(tmp_path / "c.toml", '[jamf]\nurl = "https://file.example.com"\nclient_id = "file-id"\n')
    env = {
        "CLEANUP_JAMF_URL": "https://env.example.com",
        "CLEANUP_JAMF_AUTH": "user",
        "CLEANUP_JAMF_CLIENT_ID": "env-id",
        "CLEANUP_JAMF_USERNAME": "helpdesk",
        "CLEANUP_TENANT_ID": GUID,
        "CLEANUP_GRAPH_CLIENT_ID": "app",
        "CLEANUP_GRAPH_AUTH": "certificate",
        "CLEANUP_GRAPH_THUMBPRINT": "ab" * 20,
        "CLEANUP_AUTHORITY_HOST": "https://login.example.org",
        "CLEANUP_GRAPH_ENDPOINT": "https://graph.example.org",
        "CLEANUP_CA_BUNDLE": str(ca),
    }
    cfg = load_config(path, env=env)
    assert (cfg.jamf_url, cfg.jamf_auth, cfg.jamf_client_id, cfg.jamf_username) == ("https://env.example.com", "user", "env-id", "helpdesk")
    assert cfg.jamf_account == "helpdesk" and cfg.jamf_configured()
    assert (cfg.tenant_id, cfg.graph_client_id, cfg.graph_auth, cfg.graph_thumbprint) == (GUID, "app", "certificate", "AB" * 20)
    assert (cfg.authority_host, cfg.graph_endpoint, cfg.ca_bundle) == ("https://login.example.org", "https://graph.example.org", str(ca.resolve()))


def test_bad_environment_value_names_the_variable(tmp_path):
    with pytest.raises(UsageError, match="environment variable CLEANUP_JAMF_URL: 'http://x' is not an https URL"):
        load_config(tmp_path / "none.toml", env={"CLEANUP_JAMF_URL": "http://x"})


def test_default_path(tmp_path, monkeypatch):
    assert default_config_path({"CLEANUP_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    if sys.platform != "darwin":
        assert default_config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "cleanup" / "config.toml"
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert default_config_path({}) == tmp_path / "home" / ".config" / "cleanup" / "config.toml"
    cfg = load_config(env={"CLEANUP_CONFIG": str(tmp_path / "y.toml"), "CLEANUP_JAMF_URL": "https://j.example.com"})
    assert cfg.path == str(tmp_path / "y.toml") and cfg.jamf_url == "https://j.example.com"


def test_save_merges_validates_and_is_private(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    save_config({"jamf": {"url": "https://a.example.com", "client_id": "id-1"}}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    save_config({"graph": {"tenant_id": GUID, "client_id": 'we"ird\\id'}}, path)
    data = tomllib.loads(path.read_text())
    assert data["jamf"] == {"url": "https://a.example.com", "client_id": "id-1"}  # kept
    assert data["graph"]["client_id"] == 'we"ird\\id'  # TOML escaping round-trips
    save_config({"jamf": {"client_id": None}}, path)
    assert "client_id" not in tomllib.loads(path.read_text())["jamf"]
    before = path.read_text()
    with pytest.raises(UsageError, match=r"\[jamf\] url"):
        save_config({"jamf": {"url": "http://insecure"}}, path)
    assert path.read_text() == before  # nothing half-written
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temp files left
