"""`cleanup lab demo`: the device-side Cause 6 reset on a simulated Mac, live, with every pause a real run meets.

The demo drives the same Runner the CLI uses, against ``sim:DIR`` through the same LocalHost path; where a
person would act (log a user in, wait for the restart) it says so and does the lab equivalent.
"""

from __future__ import annotations

import json
from pathlib import Path

from cleanup.cli.render import console
from cleanup.cli.reporter import ConsoleReporter
from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from cleanup.lab.sessions import set_logged_in
from cleanup.lab.simmac.builder import create_sim_mac
from cleanup.lab.simmac.snapshot import diff_manifests, tree_manifest

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
                names.append(f"{kind} {label!r}")
            names += [f"identity preference {svc}" for svc in data.get("identity_preferences", {})]
            out["/" + str(path.relative_to(mac))] = names
    return out


def _top_level(paths: list[str]) -> list[str]:
    tops: list[str] = []
    for p in paths:
        if not any(p.startswith(t + "/") for t in tops):
            tops.append(p)
    return tops


def run_demo(workdir: Path, wait_seconds: float) -> None:
    mac = workdir / "mac"
    store = StateStore(workdir / "state")
    info = create_sim_mac(mac, users=["alice", "bob"], logged_out=["bob"])
    console.print(f"[bold]Simulated Mac {info['serial']} ({info['computer_name']})[/] in {mac}: alice at the console, bob logged out (locked keychain)")
    before_tree, before_kc = tree_manifest(mac), keychain_items(mac)
    host = open_host(f"sim:{mac}")
    playbook = load_playbook("cause6")
    selection = Selection(only="device")
    dry = Runner(None, host, playbook, RunOptions(dry_run=True)).plan(selection)
    planned = sum(len(p.changes) for _, p in dry.plans if p)
    console.print(f"[bold]Dry-run:[/] {planned} changes planned (see `cleanup plan --host sim:{mac}`); the Mac is unchanged: {tree_manifest(mac) == before_tree}")
    console.print("[bold]Running the device-side reset[/] (cloud steps 4, 5, 11 are excluded with --only device)")
    options = RunOptions(yes=True, wait_seconds=wait_seconds, autoresume=False)
    runner = Runner(store, host, playbook, options, ConsoleReporter())
    run_id = None
    for _ in range(6):
        try:
            run = runner.start(selection) if run_id is None else runner.resume(run_id)
            break
        except Paused as pause:
            run_id = run_id or store.latest()
            console.print(f"[yellow]paused:[/] {pause.message}")
            if "bob" in pause.message and "locked" in pause.message:
                console.print("[bold]>> bob logs in[/] (lab: `cleanup lab mac login`), then `cleanup resume`")
                set_logged_in(mac, "bob", True)
            else:
                console.print("[bold]>> the Mac is back[/], `cleanup resume` continues")
    else:  # pragma: no cover - the demo Mac always finishes
        raise RuntimeError("the demo did not finish")
    console.print(f"[bold green]run {run.run_id}: {run.status}[/] (state and audit log in {store.run_dir(run.run_id)})")
    removed, added, _ = diff_manifests(before_tree, tree_manifest(mac))
    tops = _top_level(removed)
    console.print(f"[bold]Removed {len(tops)} files and folders[/] ({len(removed)} paths in all):")
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
    if added:
        console.print("Added back by re-enrollment: " + ", ".join("/" + p for p in _top_level(added)), markup=False)
