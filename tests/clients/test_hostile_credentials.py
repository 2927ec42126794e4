"""A private key that is not one (garbage, an EC key, a key with someone else's certificate) is one line naming
where it came from, status 2: never a traceback, never a word of the key."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from cleanup.clients.secrets import Secrets, check_private_key
from cleanup.errors import ConfigError
from tests.support.clienthelpers import fresh_serial, run_cli

GARBAGE = "GARBAGE-KEY-4f7c1e9a-not-pem"
NOT_A_KEY = "-----BEGIN PRIVATE KEY-----\nR0FSQkFHRS1JTi1QRU0tQkxPQ0s=\n-----END PRIVATE KEY-----\n"


def _ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture
def cert_env(tmp_path, lab):
    """Certificate auth against the lab tenant, configured in the environment; the key is the test's."""
    creds = lab.credentials
    app, jamf = creds["graph_apps"]["cert"], creds["jamf_clients"]["full"]
    return {
        "CLEANUP_JAMF_URL": lab.url,
        "CLEANUP_JAMF_CLIENT_ID": jamf["client_id"],
        "CLEANUP_JAMF_CLIENT_SECRET": jamf["client_secret"],
        "HOME": str(tmp_path),
        "CLEANUP_CONFIG": str(tmp_path / "none.toml"),
        "CLEANUP_STATE_DIR": str(tmp_path / "state"),
        "CLEANUP_TENANT_ID": creds["tenant_id"],
        "CLEANUP_GRAPH_CLIENT_ID": app["client_id"],
        "CLEANUP_GRAPH_AUTH": "certificate",
        "CLEANUP_GRAPH_THUMBPRINT": app["thumbprint"],
        "CLEANUP_AUTHORITY_HOST": lab.url,
        "CLEANUP_GRAPH_ENDPOINT": lab.url,
        "CLEANUP_CA_BUNDLE": str(lab.ca_pem),
        "PYTHON_KEYRING_BACKEND": "tests.support.keyring_backend.FileKeyring",
        "CLEANUP_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }


def _one_line(res, *secret_parts: str, code: int = 2) -> str:
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.stderr
    for part in secret_parts:
        assert part not in res.stdout + res.stderr
    return errors[0]


@pytest.mark.parametrize("key", [GARBAGE, NOT_A_KEY], ids=["garbage", "not-a-key"])
def test_a_garbage_key_in_the_environment(cert_env, key):
    env = {**cert_env, "CLEANUP_GRAPH_PRIVATE_KEY": key}
    # `creds test` reports every service's failure as "a run would not be possible" (status 1)
    for args, code in ((("plan", "--only", "cloud", "--serial", fresh_serial()), 2), (("creds", "test", "graph"), 1)):
        line = _one_line(run_cli(*args, env=env), key, "R0FSQkFHRS1JTi1QRU0tQkxPQ0s", code=code)
        assert "CLEANUP_GRAPH_PRIVATE_KEY" in line and "not a PEM private key" in line, line


def test_an_ec_key_is_not_an_entra_app_key(cert_env):
    key = _ec_key()
    line = _one_line(run_cli("plan", "--only", "cloud", "--serial", fresh_serial(), env={**cert_env, "CLEANUP_GRAPH_PRIVATE_KEY": key}), key.splitlines()[1])
    assert "CLEANUP_GRAPH_PRIVATE_KEY" in line and "not an RSA private key" in line, line


def test_a_garbage_key_in_the_keyring(cert_env, lab):
    client_id = lab.credentials["graph_apps"]["cert"]["client_id"]
    with open(cert_env["CLEANUP_TEST_KEYRING"], "w") as fh:
        json.dump({f"cleanup\x00graph-private-key:{client_id}": GARBAGE}, fh)
    line = _one_line(run_cli("plan", "--only", "cloud", "--serial", fresh_serial(), env=cert_env), GARBAGE)
    assert f"graph-private-key:{client_id}" in line and "not a PEM private key" in line, line


def test_the_good_key_still_works(cert_env, lab):
    key = lab.credentials["graph_apps"]["cert"]["private_key_pem"]
    res = run_cli("creds", "test", "graph", env={**cert_env, "CLEANUP_GRAPH_PRIVATE_KEY": key})
    assert res.returncode == 0, res.stdout + res.stderr


def test_private_key_names_its_exact_source(file_keyring, lab):
    app = lab.credentials["graph_apps"]["cert"]
    with pytest.raises(ConfigError) as info:
        Secrets(env={"CLEANUP_GRAPH_PRIVATE_KEY": GARBAGE}).private_key("graph-private-key", "app-1")
    assert "environment variable CLEANUP_GRAPH_PRIVATE_KEY" in info.value.message and GARBAGE not in info.value.message
    Secrets(env={}).set("graph-private-key", "app-1", GARBAGE)
    with pytest.raises(ConfigError, match="keyring entry 'graph-private-key:app-1'"):
        Secrets(env={}).private_key("graph-private-key", "app-1")
    Secrets(env={}).set("graph-private-key", "app-1", app["private_key_pem"])
    assert Secrets(env={}).private_key("graph-private-key", "app-1") == app["private_key_pem"]
    assert Secrets(env={}).private_key("graph-private-key", "app-2") is None


def _foreign_certificate() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_certificate_with_the_key_must_belong_to_it(lab):
    app = lab.credentials["graph_apps"]["cert"]
    both = app["private_key_pem"] + app["certificate_pem"]
    assert check_private_key(both, "k") == both
    with pytest.raises(ConfigError, match="certificate that is not valid PEM"):
        check_private_key(app["private_key_pem"] + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "k")
    with pytest.raises(ConfigError, match="does not belong to its private key"):
        check_private_key(app["private_key_pem"] + _foreign_certificate(), "k")
