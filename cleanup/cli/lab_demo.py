"""`cleanup lab demo`: the whole Cause 6 reset — device and cloud — on a simulated Mac against the emulated
Jamf Pro + Entra + Intune, live, with every pause a real run meets, then what changed in each system.

The demo drives the same Runner the CLI uses, against ``sim:DIR`` through the same LocalHost path and the
emulator over real HTTPS with the real msal. Where a person would act (log a user in, wait for the restart)
it says so and does the lab equivalent. The 30-minute wait is shortened by ``--wait-seconds`` (recorded).
"""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from dataclasses import replace
from pathlib import Path

from cleanup.cli.render import console, lit, print_cloud_records
from cleanup.cli.reporter import ConsoleReporter
from cleanup.engine.action import Pause
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from cleanup.lab.sessions import set_logged_in
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import diff_manifests, tree_manifest
from cleanup.lab.tenant.scenarios import seed_escrowed_secrets

KEYCHAIN_SUFFIXES = (".keychain", ".keychain-db")


def keychain_items(mac: Path) -> dict[str, list[str]]:
    """Lab view of every simulated keychain: Mac path -> item descriptions."""
    out = {}
    for path in sorted(mac.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name.endswith(KEYCHAIN_SUFFIXES):
            data = json.loads(path.read_text())
            names = []
            for it in data.get("items", []):
                label = it.get("labl") or it.get("svce") or it.get("srvr") or "?"
                kind = it["class"] if it["class"] != "key" else f"{it.get('key_kind')} key"
                names.append(f"{kind} {label!r}" + (" (new registration)" if it.get("lab_origin") else ""))
            names += [f"identity preference {svc}" for svc in data.get("identity_preferences", {})]
            out["/" + str(path.relative_to(mac))] = names
    return out


def _top_level(paths: list[str]) -> list[str]:
    tops: list[str] = []
    for p in paths:
        if not any(p.startswith(t + "/") for t in tops):
            tops.append(p)
    return tops


def cloud_view(tenant, serial: str, name: str) -> dict[str, list[str] | int]:
    """Lab view of the tenant for one Mac: what each system holds for its serial or name."""
    with tenant.lock:
        jamf = [f"computer {c.id} {c.name!r}" for c in tenant.jamf.values() if c.serial == serial]
        intune = [
            f"managedDevice {d.id} {d.device_name!r} ({d.management_agent}, Entra deviceId {d.aad_device_id})"
            for d in tenant.intune.values()
            if d.serial == serial
        ]
        linked = {d.aad_device_id.casefold() for d in tenant.intune.values() if d.serial == serial}
        entra = [
            f"device {d.id} {d.display_name!r} (deviceId {d.device_id})"
            for d in tenant.entra.values()
            if d.display_name.casefold().startswith(name.casefold()) or d.device_id.casefold() in linked
        ]
        others = len(tenant.jamf) + len(tenant.entra) + len(tenant.intune) - len(jamf) - len(entra) - len(intune)
    return {"Jamf Pro": jamf, "Entra ID": entra, "Intune": intune, "_others": others}


def show_cloud_change(before: dict, after: dict) -> None:
    for system in ("Jamf Pro", "Entra ID", "Intune"):
        gone = [r for r in before[system] if r not in after[system]]
        new = [r for r in after[system] if r not in before[system]]
        kept = [r for r in before[system] if r in after[system]]
        console.print(f"[bold]{system}[/]: deleted {len(gone)}, new {len(new)}, kept {len(kept)}")
        for r, mark in [(r, "-") for r in gone] + [(r, "+") for r in new] + [(r, "=") for r in kept]:
            console.print(f"   {mark} {r}", markup=False)
    console.print(f"Unrelated objects in the tenant: {before['_others']} before, {after['_others']} after (untouched)")


def lab_tenant(workdir: Path, info: dict, scenario: str, jamf_version=None):
    """The emulated tenant of ``scenario`` for the simulated Mac of ``info``, serving, with the Mac linked to it."""
    from cleanup.lab.simmac.tenant_link import link
    from cleanup.lab.tenant import MacIdentity, start_tenant

    ids = [info["device_ids"][u] for u in info["users"] if u in info["device_ids"]]
    mac_id = MacIdentity(serial=info["serial"], name=info["computer_name"], device_ids=ids, user_upn=f"{info['users'][0]}@example.com")
    server = start_tenant(workdir / "tenant", scenario=scenario, mac=mac_id, jamf_version=jamf_version)
    link(str(info["root"]), server.url, str(server.ca_pem))
    seed_escrowed_secrets(server.tenant, info["serial"])  # the Mac's record holds a FileVault key and a LAPS account
    return server


def _lab_cloud(workdir: Path, info: dict, scenario: str, jamf_version=None):
    from cleanup.lab.tenant.clientfiles import lab_cloud_opener

    server = lab_tenant(workdir, info, scenario, jamf_version)
    client_dir = workdir / "client"
    client_dir.mkdir(parents=True, exist_ok=True)
    server.write_client_files(client_dir)
    return server, lab_cloud_opener(client_dir)


def _demo_escrow(client_dir: Path, state_dir: Path):
    """The demo's escrow: files encrypted to a key pair made for it, in a folder that outlives the demo's (a
    temporary one by default), so the `cleanup escrow show` it prints works afterwards. Never the user's keyring."""
    from cleanup.clients.config import load_config
    from cleanup.escrow import open_escrow

    folder = Path(tempfile.mkdtemp(prefix="cleanup-demo-escrow-"))
    private, public = escrow_key_pair(folder)
    config = replace(load_config(client_dir / "config.toml", env={}), escrow_store="file", escrow_recipient=str(public), escrow_dir=str(folder / "saved"))
    return open_escrow(config, state_dir), private


def escrow_key_pair(folder: Path) -> tuple[Path, Path]:
    """A key pair made for a demo's escrow in ``folder``: (private key, 0600; public key, the [escrow] recipient)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    folder.mkdir(parents=True, exist_ok=True)
    key = x25519.X25519PrivateKey.generate()
    private = folder / "escrow-key.pem"
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public = folder / "escrow-recipient.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _show_escrow(escrow, private: Path, serial: str) -> None:
    from cleanup.clients.wire import ESCROW_KINDS
    from cleanup.escrow.index import read

    saved = [r for r in read(escrow.folder) if r.serial == serial]
    console.print(f"[bold]Saved before step 4 deleted the Jamf Pro record[/] ({lit(escrow.where())}):")
    for r in saved:
        console.print(f"   record {r.record}: {ESCROW_KINDS[r.kind]}" + (f" of {r.account!r}" if r.account else ""), markup=False)
    if any(r.kind == "filevault" for r in saved):
        command = ["cleanup", "escrow", "show", serial, "--kind", "filevault", "--escrow-dir", str(escrow.folder), "--key", str(private), "--yes"]
        console.print("[bold]The saved FileVault recovery key back[/] (the demo keeps the escrow folder):")
        console.print("   " + shlex.join(command), markup=False)


#: demo scenarios whose Mac is registered the 2026 way: the simulated Mac is built in the same scenario
MAC_SCENARIOS = ("device-compliance", "platform-sso")


def run_demo(workdir: Path, wait_seconds: float, scenario: str = "intune-duplicates", jamf_version=None) -> None:
    mac = workdir / "mac"
    store = StateStore(workdir / "state")
    mac_scenario = scenario if scenario in MAC_SCENARIOS else "default"
    info = create_sim_mac(mac, users=["alice", "bob"], logged_out=["bob"], scenario=mac_scenario)
    server, opener = _lab_cloud(workdir, info, scenario, jamf_version)
    try:
        escrow, private = _demo_escrow(workdir / "client", store.root)
        _demo(mac, store, info, server, opener, wait_seconds, scenario, escrow)
        _technician_summary(info["serial"])
        _show_escrow(escrow, private, info["serial"])
    finally:
        server.stop()


def _technician_summary(serial: str) -> None:
    from cleanup.cli.lab_personas import on_a_real_fleet

    on_a_real_fleet(
        "technician",
        [
            ("sudo cleanup plan", "on the Mac: the dry-run first"),
            (f"sudo cleanup run --serial {serial}", "on the Mac: all 13 steps; it resumes by itself after the restart"),
            (f"cleanup run --host ssh://admin@mac42.corp.example --serial {serial}", "or from a workstation (docs/ssh.md)"),
            ("cleanup status && cleanup resume --latest", "after a pause: a locked keychain, the wait, a crash"),
            (f"cleanup escrow show {serial} --kind filevault", "what step 4 saved before it deleted the Jamf Pro record"),
        ],
    )


def _demo(mac: Path, store: StateStore, info: dict, server, opener, wait_seconds: float, scenario: str, escrow) -> None:
    console.print(f"[bold]Simulated Mac {info['serial']} ({info['computer_name']})[/] in {mac}: alice at the console, bob logged out (locked keychain)")
    from cleanup.lab.tenant.jamf_versions import text_of

    console.print(f"[bold]Emulated Jamf Pro {text_of(server.jamf_version)} + Entra + Intune[/] at {server.url} (scenario {scenario!r}), real HTTPS and msal")
    before_tree, before_kc = tree_manifest(mac), keychain_items(mac)
    before_cloud = cloud_view(server.tenant, info["serial"], info["computer_name"])
    host = open_host(f"sim:{mac}")
    playbook = load_playbook("cause6")
    dry = Runner(None, host, playbook, RunOptions(dry_run=True, escrow=escrow), cloud_opener=opener).plan(Selection())
    planned = sum(len(p.changes) for _, p in dry.plans if p)
    console.print(
        f"[bold]Dry-run:[/] {planned} changes planned; the Mac is unchanged: {tree_manifest(mac) == before_tree}; "
        f"the tenant is unchanged: {cloud_view(server.tenant, info['serial'], info['computer_name']) == before_cloud}"
    )
    print_cloud_records(dry.facts.get("cloud"))
    model = (dry.facts.get("cloud") or {}).get("registration") or {}
    if model:
        console.print(f"[bold]Registration model:[/] {lit(model.get('model') or 'unknown')}")
        for line in model.get("evidence") or []:
            console.print(f"   {line}", markup=False)
    console.print(f"[bold]Running all 13 steps[/] (the 30-minute wait shortened to {wait_seconds:g} s by --wait-seconds, recorded as an override)")
    options = RunOptions(yes=True, wait_seconds=wait_seconds, autoresume=False, escrow=escrow)
    runner = Runner(store, host, playbook, options, ConsoleReporter(), cloud_opener=opener)
    run_id = None
    for _ in range(8):
        try:
            run = runner.start(Selection()) if run_id is None else runner.resume(run_id)
            break
        except Paused as stop:
            run_id = run_id or runner.run_id
            console.print("[yellow]paused:[/] ", end="")
            console.print(stop.message, markup=False)
            pause = stop.pause if isinstance(stop.pause, Pause) else None  # Paused.pause is a Pause or None
            waiting = pause.waiting_for if pause else ()
            logins = [w.split(":", 1)[1] for w in waiting if w.startswith("login:")]
            repairs = [w.split(":", 1)[1] for w in waiting if w.startswith("psso-repair:")]
            if repairs:
                from cleanup.lab.simmac.psso_repair import repair

                for user in repairs:
                    done = repair(mac, user)
                    console.print(
                        f">> {user} repairs Platform SSO as the pause says (lab: `cleanup lab mac psso-repair`): new deviceId {done['device_id']}, "
                        "then `cleanup resume`",
                        markup=False,
                        style="bold",
                    )
            elif logins:
                for user in logins:
                    console.print(f">> {user} logs in (lab: `cleanup lab mac login`), then `cleanup resume`", markup=False, style="bold")
                    set_logged_in(mac, user, True)
            else:
                console.print("[bold]>> the Mac is back[/], `cleanup resume` continues")
    else:  # pragma: no cover - the demo Mac always finishes
        raise RuntimeError("the demo did not finish")
    console.print(f"[bold green]run {run.run_id}: {run.status}[/] (state and audit log in {store.run_dir(run.run_id)})")
    console.print("[bold]In the cloud[/] (records of serial " + info["serial"] + "):")
    show_cloud_change(before_cloud, cloud_view(server.tenant, info["serial"], info["computer_name"]))
    removed, added, _ = diff_manifests(before_tree, tree_manifest(mac))
    added = [p for p in added if not p.startswith(".lab/")]  # the lab's own records (what the fakes showed), not the Mac's
    tops = _top_level(removed)
    console.print(f"[bold]On the Mac: removed {len(tops)} files and folders[/] ({len(removed)} paths in all):")
    for p in tops:
        console.print(f"   - /{p}", markup=False)
    after_kc = keychain_items(mac)
    for kc, items in before_kc.items():
        gone = [i for i in items if i not in after_kc.get(kc, [])]
        kept = [i for i in items if i in after_kc.get(kc, [])]
        console.print(f"[bold]{kc}[/]: removed {len(gone)}, kept {len(kept)}")
        for i in gone:
            console.print(f"   - {i}", markup=False)
        for i in kept:
            console.print(f"   = kept {i}", markup=False)
    for kc, items in after_kc.items():
        new = [i for i in items if i not in before_kc.get(kc, [])]
        if new:
            console.print(f"{kc}: {len(new)} new item(s) from the new registration: " + ", ".join(new[:3]) + (" …" if len(new) > 3 else ""), markup=False)
    if added:
        console.print("Added back by re-enrollment: " + ", ".join("/" + p for p in _top_level(added)), markup=False)
