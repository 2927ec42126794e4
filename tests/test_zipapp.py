"""The device-side artifact (cleanup/zipapp.py, docs/deploy.md): one file a Jamf policy deploys and SSH pushes, run by
a Python that has none of cleanup's dependencies. It plans what a full install plans, holds no cloud stack and no
lab, says so in one line when asked for either, and restarts itself (the resume daemon) as the artifact."""

from __future__ import annotations

import json
import plistlib
import re
import zipfile
from importlib import metadata

import pytest

from cleanup import __version__
from cleanup.lab.simmac.snapshot import tree_manifest
from cleanup.standalone import CLOUD_MODULES, DEVICE_SIDE_ONLY
from cleanup.zipapp import BuildError, _check_requirements, build
from tests.support.artifact import bare_python, build_script, run_artifact
from tests.support.lab import one_error, run_cli

pytestmark = pytest.mark.early  # each test starts the artifact's interpreter several times (~1 s each to compile it)


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    return build(tmp_path_factory.mktemp("artifact") / "cleanup.pyz").path


@pytest.fixture(scope="module")
def python(tmp_path_factory):
    return bare_python(tmp_path_factory.mktemp("bare") / "venv")


# ------------------------------------------------------------------------------------------ it runs bare
def test_version_help_and_playbooks_run_from_an_interpreter_without_the_dependencies(pyz, python):
    res = run_artifact(python, pyz, "--version")
    assert (res.returncode, res.stdout) == (0, f"cleanup {__version__}\n"), res.stderr
    res = run_artifact(python, pyz, "--help")
    assert res.returncode == 0 and "plan" in res.stdout and "resume" in res.stdout, res.stderr
    res = run_artifact(python, pyz, "playbooks", "list", "--json")
    assert res.returncode == 0, res.stderr
    shipped = {p["name"]: p for p in json.loads(res.stdout)["data"]["playbooks"]}
    assert {"cause6", "duplicates"} <= set(shipped) and shipped["cause6"]["path"] == f"{pyz}/cleanup/playbooks/cause6.toml"
    res = run_artifact(python, pyz, "playbooks", "show", "cause6")
    assert res.returncode == 0 and "remove-files" in res.stdout, res.stderr


def test_a_lab_dry_run_from_the_artifact_plans_what_a_full_install_plans_and_changes_nothing(pyz, python, make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    before = tree_manifest(mac)
    env = {"CLEANUP_STATE_DIR": str(tmp_path / "state"), "CLEANUP_CONFIG": str(tmp_path / "none.toml")}
    res = run_artifact(python, pyz, "plan", "--host", f"sim:{mac}", "--only", "device", env=env)
    assert res.returncode == 0, res.stderr
    assert (
        "run /usr/local/jamf/bin/jamf removeFramework" in res.stdout
        and "remove /Library/Preferences/com.microsoft.CompanyPortal.plist" in res.stdout
        and "Nothing was changed." in res.stdout
    )
    from_artifact = run_artifact(python, pyz, "plan", "--host", f"sim:{mac}", "--only", "device", "--json", env=env)
    from_install = run_cli("plan", "--host", f"sim:{mac}", "--only", "device", "--json", state_dir=tmp_path / "state")
    assert from_artifact.returncode == 0 and from_install.returncode == 0, from_artifact.stderr + from_install.stderr
    plan = json.loads(from_artifact.stdout)["data"]
    assert plan == json.loads(from_install.stdout)["data"] and plan["total_changes"] > 40
    assert tree_manifest(mac) == before and not (tmp_path / "state").exists()
    res = run_artifact(python, pyz, "diagnose", "--host", f"sim:{mac}", "--json", env=env)  # the Mac's checks, read-only
    assert res.returncode == 0 and json.loads(res.stdout)["data"]["checks"], res.stderr


def test_bad_option_values_read_as_from_a_full_install(pyz, python, tmp_path):
    """Without pydantic in the artifact, typer's values are converted by cleanup/standalone_coercion.py."""
    for args in (("run", "--dry-run", "--wait-seconds", "soon"), ("batch", "run", "--concurrency", "0"), ("batch", "run", "--concurrency", "x")):
        bare = run_artifact(python, pyz, *args, env={"CLEANUP_STATE_DIR": str(tmp_path / "s"), "CLEANUP_CONFIG": str(tmp_path / "none.toml")})
        full = run_cli(*args, state_dir=tmp_path / "s")
        assert bare.returncode == full.returncode == 2
        said = [re.sub(r"[│╭╮╰╯─\s]+", " ", r.stderr).strip() for r in (bare, full)]
        assert said[0] == said[1] and "Invalid value for" in said[0], said


# ------------------------------------------------------------------------------------------ what it holds
def test_the_artifact_holds_no_cloud_stack_no_lab_and_no_compiled_code(pyz):
    names = zipfile.ZipFile(pyz).namelist()
    tops = {n.split("/")[0].split("-")[0] for n in names}
    assert not tops & CLOUD_MODULES and "pydantic" not in tops and "pydantic_core" not in tops
    assert not [n for n in names if n.startswith("cleanup/lab")]
    assert not [n for n in names if n.endswith((".so", ".pyc", ".dylib"))]
    assert {"__main__.py", "cleanup/cli/__init__.py", "cleanup/playbooks/cause6.toml", "typer/__init__.py", "rich/__init__.py"} <= set(names)
    manifest = json.loads(zipfile.ZipFile(pyz).read("cleanup-artifact.json"))
    assert manifest["cleanup"] == __version__ and manifest["distributions"]["typer"] == metadata.version("typer")


def test_two_builds_of_one_installation_give_the_same_sha256(tmp_path):
    first, second = build_script("-o", str(tmp_path / "a.pyz")), build_script("-o", str(tmp_path / "b.pyz"))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    hashes = [re.search(r"^sha256\s+([0-9a-f]{64})$", r.stdout, re.M) for r in (first, second)]
    assert hashes[0] and hashes[1] and hashes[0].group(1) == hashes[1].group(1)
    assert f"path    {tmp_path / 'a.pyz'}" in first.stdout and re.search(r"^size\s+\d+ bytes", first.stdout, re.M)
    assert (tmp_path / "a.pyz").read_bytes() == (tmp_path / "b.pyz").read_bytes()


def test_a_new_dependency_of_the_device_side_stops_the_build_until_someone_decides(tmp_path):
    info = tmp_path / "typer-9.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: typer\nVersion: 9.0\nRequires-Dist: rich\nRequires-Dist: fancy-new-thing>=1\n")
    with pytest.raises(BuildError, match=r"typer requires fancy-new-thing, which cleanup/zipapp\.py neither carries nor leaves out"):
        _check_requirements(metadata.PathDistribution(info))


# ------------------------------------------------------------------------------------------ what it refuses
def test_a_command_that_needs_the_cloud_says_where_to_run_it_and_records_nothing(pyz, python, make_mac, tmp_path):
    mac = make_mac(logged_out=[])
    config = tmp_path / "cloud.toml"
    config.write_text('[jamf]\nurl = "https://example.jamfcloud.com"\nclient_id = "abc"\n[graph]\ntenant_id = "contoso.onmicrosoft.com"\nclient_id = "x"\n')
    env = {"CLEANUP_STATE_DIR": str(tmp_path / "state"), "CLEANUP_CONFIG": str(config)}
    for args in (("plan", "--host", f"sim:{mac}"), ("run", "--host", f"sim:{mac}", "--yes"), ("creds", "test")):
        res = run_artifact(python, pyz, *args, env=env)
        assert one_error(res, 2) == f"error: {DEVICE_SIDE_ONLY}", args
        assert "--only device" in res.stderr
    assert not (tmp_path / "state/runs").exists()
    res = run_artifact(python, pyz, "lab", "mac", "create", str(tmp_path / "m2"), env=env)
    assert "the lab (simulated Mac, emulated tenant) is not part of the device-side artifact" in one_error(res, 2)


# ------------------------------------------------------------------------------------------ it starts itself again
RESTART_DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
import cleanup.actions
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts.local import LocalHost
this_mac = LocalHost(sys.argv[2], "local")  # the Mac itself, as `--host local` is: the daemon gets installed
runner = Runner(StateStore(sys.argv[3]), this_mac, load_playbook("cause6"), RunOptions(yes=True, wait_seconds=0, autoresume=True))
try:
    runner.start(Selection(only="device", stop="restart"))
except Paused as exc:
    print(runner.run_id, exc.message)
"""


@pytest.mark.slow
def test_a_run_from_the_artifact_installs_a_resume_daemon_that_starts_the_artifact_and_finishes_the_run(pyz, python, make_mac, tmp_path):
    import subprocess

    mac, state = make_mac(logged_out=[]), tmp_path / "state"
    res = subprocess.run([str(python), "-I", "-c", RESTART_DRIVER, str(pyz), str(mac), str(state)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "the Mac is restarting; the resume daemon continues at boot" in res.stdout, res.stderr
    run_id = res.stdout.split()[0]
    args = plistlib.loads((mac / "Library/LaunchDaemons/com.cleanup.resume.plist").read_bytes())["ProgramArguments"]
    assert args[:4] == [str(python), str(pyz), "resume", run_id] and args[args.index("--state-dir") + 1] == str(state)
    # what launchd starts at boot, on the simulated Mac rather than this computer's root
    env = {"CLEANUP_CONFIG": str(tmp_path / "none.toml")}
    res = run_artifact(python, pyz, *args[2:], "--host", f"sim:{mac}", env=env, timeout=300)
    assert res.returncode == 0 and f"run {run_id}: done" in res.stdout, res.stdout[-2000:] + res.stderr
    assert not (mac / "Library/LaunchDaemons/com.cleanup.resume.plist").exists()
