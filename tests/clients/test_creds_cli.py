"""`cleanup creds` end to end in child processes: set (secret on stdin), show, test, delete, the
no-keyring error, and a leak check: no secret in any output or file except the keyring's own store."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.support.clienthelpers import run_cli


@pytest.fixture
def cli_env(tmp_path, lab):
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "CLEANUP_CONFIG": str(tmp_path / "cfg" / "config.toml"),
        "PYTHON_KEYRING_BACKEND": "tests.support.keyring_backend.FileKeyring",
        "CLEANUP_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }


@pytest.mark.slow
def test_set_show_test_delete_without_leaks(tmp_path, lab, cli_env):
    creds = lab.credentials
    jamf = creds["jamf_clients"]["full"]
    graph = creds["graph_apps"]["full"]
    cert = creds["graph_apps"]["cert"]
    outputs: list[str] = []

    def cli(*args, input=None, env=None):
        result = run_cli(*args, env={**cli_env, **(env or {})}, input=input)
        outputs.extend([result.stdout, result.stderr])
        return result

    r = cli("creds", "set", "jamf", "--url", lab.url, "--client-id", jamf["client_id"], "--ca-bundle", lab.ca_pem, input=jamf["client_secret"] + "\n")
    assert r.returncode == 0, r.stderr
    assert "stored the Jamf Pro API client secret" in r.stdout
    r = cli(
        "creds",
        "set",
        "graph",
        "--tenant-id",
        creds["tenant_id"],
        "--client-id",
        graph["client_id"],
        "--authority-host",
        lab.url,
        "--graph-endpoint",
        lab.url,
        input=graph["client_secret"] + "\n",
    )
    assert r.returncode == 0, r.stderr

    config = tomllib.loads(Path(cli_env["CLEANUP_CONFIG"]).read_text())
    assert config["jamf"] == {"url": lab.url, "auth": "client", "client_id": jamf["client_id"]}
    assert config["graph"]["auth"] == "secret" and config["tls"]["ca_bundle"] == str(Path(lab.ca_pem).resolve())

    r = cli("creds", "show", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)["data"]
    assert shown["secrets"]["jamf-client-secret"]["source"] == "keyring (keyring backend FileKeyring)"
    assert shown["secrets"]["graph-client-secret"]["source"] == "keyring (keyring backend FileKeyring)"
    r = cli("creds", "show", env={"CLEANUP_GRAPH_CLIENT_SECRET": graph["client_secret"]})
    assert "graph-client-secret" in r.stdout and "environment (CLEANUP_GRAPH_CLIENT_SECRET)" in r.stdout

    r = cli("creds", "test")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Delete Computers" in r.stdout and "Device.ReadWrite.All" in r.stdout
    assert r.stdout.count("dry run: ok; run: ok") == 2

    # certificate auth: key + certificate in one PEM file; the thumbprint is computed
    pem = tmp_path / "app.pem"
    pem.write_text(cert["private_key_pem"] + cert["certificate_pem"])
    r = cli("creds", "set", "graph", "--client-id", cert["client_id"], "--certificate", pem)
    assert r.returncode == 0, r.stderr
    config = tomllib.loads(Path(cli_env["CLEANUP_CONFIG"]).read_text())
    assert config["graph"]["auth"] == "certificate"
    assert config["graph"]["thumbprint"] == cert["thumbprint"].upper().replace(":", "")
    r = cli("creds", "test", "graph", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["data"]["graph"]["run"] is True

    r = cli("creds", "delete", "jamf")
    assert r.returncode == 0 and f"removed jamf-client-secret for {jamf['client_id']}" in r.stdout
    r = cli("creds", "show", "--json")
    assert json.loads(r.stdout)["data"]["secrets"]["jamf-client-secret"]["source"] == "not set"
    r = cli("creds", "test", "jamf")
    assert r.returncode == 1  # no secret any more: the test says so and what to do
    assert "no Jamf Pro API client secret" in r.stderr and "CLEANUP_JAMF_CLIENT_SECRET" in r.stderr

    secret_values = [jamf["client_secret"], graph["client_secret"], cert["private_key_pem"].strip().splitlines()[1]]
    for text in outputs:
        for value in secret_values:
            assert value not in text
    keyring_store = Path(cli_env["CLEANUP_TEST_KEYRING"])
    assert cert["private_key_pem"].strip().splitlines()[1] in keyring_store.read_text()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path not in (keyring_store, pem):
            data = path.read_text(errors="replace")
            for value in secret_values:
                assert value not in data, path


def test_run_not_possible_is_exit_1_with_one_line(tmp_path, lab, cli_env):
    creds = lab.credentials
    env = {
        **cli_env,
        "CLEANUP_JAMF_URL": lab.url,
        "CLEANUP_JAMF_CLIENT_ID": creds["jamf_clients"]["readonly"]["client_id"],
        "CLEANUP_JAMF_CLIENT_SECRET": creds["jamf_clients"]["readonly"]["client_secret"],
        "CLEANUP_TENANT_ID": creds["tenant_id"],
        "CLEANUP_GRAPH_CLIENT_ID": creds["graph_apps"]["full"]["client_id"],
        "CLEANUP_GRAPH_CLIENT_SECRET": "wrong-" + creds["graph_apps"]["full"]["client_secret"],
        "CLEANUP_AUTHORITY_HOST": lab.url,
        "CLEANUP_GRAPH_ENDPOINT": lab.url,
        "CLEANUP_CA_BUNDLE": str(lab.ca_pem),
    }
    r = run_cli("creds", "test", env=env)
    assert r.returncode == 1
    assert "dry run: ok; run: NOT possible" in r.stdout
    assert "FAILED: Entra rejected the app credentials: AADSTS7000215" in r.stdout
    [line] = r.stderr.strip().splitlines()
    assert line == (
        "error: a run would not be possible: jamf: missing Jamf Pro privilege Delete Computers | "
        "graph: Entra rejected the app credentials: AADSTS7000215: Invalid client secret provided."
    )
    assert creds["graph_apps"]["full"]["client_secret"] not in r.stdout + r.stderr


def test_no_keyring_backend_is_a_clear_usage_error(tmp_path, lab, cli_env):
    env = {**cli_env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    r = run_cli("creds", "set", "jamf", "--url", lab.url, "--client-id", "abc", env=env, input="s3cret\n")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == (
        "error: no keyring backend on this machine: set CLEANUP_JAMF_CLIENT_SECRET in the environment instead (see `cleanup creds --help`)"
    )
    assert "s3cret" not in r.stdout + r.stderr


def test_secret_is_never_an_argument_and_bad_input_is_refused(lab, cli_env):
    r = run_cli("creds", "set", "jamf", "--url", lab.url, "--client-id", "abc", "--secret", "x", env=cli_env)
    assert r.returncode == 2  # typer: no such option
    r = run_cli("creds", "set", "jamf", "--url", "http://jamf.example.com", "--client-id", "abc", env=cli_env, input="s\n")
    assert r.returncode == 2 and "is not an https URL" in r.stderr
    r = run_cli("creds", "set", "jamf", "--url", lab.url, "--client-id", "abc", env=cli_env, input="\n")
    assert r.returncode == 2 and "no jamf pro api client secret given" in r.stderr


def test_terminal_prompt_hides_the_secret(tmp_path, lab, cli_env):
    import os
    import sys
    import termios

    from tests.support.clienthelpers import CLI_CODE, REPO
    from tests.support.ptykit import on_pty

    secret = "Typed-At-The-Prompt-123"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    env.update(cli_env, PYTHONPATH=str(REPO), COLUMNS="200")
    typed = []

    def respond(screen: str, fd: int) -> str | None:
        # type only once the prompt is up and echo is off (as a person would: getpass flushes earlier input)
        if not typed and "Jamf Pro API client secret:" in screen and not termios.tcgetattr(fd)[3] & termios.ECHO:
            typed.append(secret)
            return secret
        return None

    code, screen = on_pty([sys.executable, "-c", CLI_CODE, "creds", "set", "jamf", "--url", lab.url, "--client-id", "pty-client"], env, respond, timeout=30)
    answered = bool(typed)
    assert code == 0, screen
    assert answered and "stored the Jamf Pro API client secret for pty-client" in screen
    assert secret not in screen  # not echoed
    assert json.loads(Path(cli_env["CLEANUP_TEST_KEYRING"]).read_text()) == {"cleanup\x00jamf-client-secret:pty-client": secret}
