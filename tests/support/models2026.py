"""Helpers for the device side of the 2026 registration models on the simulated Mac (Device Compliance, Platform SSO)."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path

from cleanup.engine.context import RunOptions
from cleanup.engine.loader import load_playbook
from cleanup.engine.runner import Runner, Selection
from cleanup.engine.store import StateStore
from cleanup.errors import Paused
from cleanup.hosts import open_host
from cleanup.hosts.registration import JAMF_CA_PATHS
from tests.support.lab import lab_state

JAMF_PLIST = "/Library/Preferences/com.jamfsoftware.jamf.plist"
SSO_APPEX = "Applications/Company Portal.app/Contents/PlugIns/Mac SSO Extension.appex"


def ca_calls(mac: Path) -> list[dict]:
    """Every call of Jamf Conditional Access clean / gatherAADInfo / registerWithIntune the simulated Mac saw."""
    return list(lab_state(mac).get("jamf_ca_calls") or [])


def set_jamf_prefs(mac: Path, **values) -> None:
    path = mac / JAMF_PLIST.lstrip("/")
    prefs = plistlib.loads(path.read_bytes())
    prefs.update(values)
    path.write_bytes(plistlib.dumps(prefs, fmt=plistlib.FMT_BINARY))  # binary: it may hold any text


def replace_tool(mac: Path, mac_path: str, script: str) -> None:
    path = mac / mac_path.lstrip("/")
    path.write_text(script)
    os.chmod(path, 0o755)


def remove_jamf_ca(mac: Path) -> None:
    for p in JAMF_CA_PATHS:
        os.unlink(mac / p.lstrip("/"))


class Driver:
    """The cause6 playbook on one simulated Mac, run and resumed in-process as an operator would, pause by pause."""

    def __init__(self, store: StateStore, mac: Path, only: str | None = "device", playbook: str = "cause6", **options):
        opts = RunOptions(yes=True, wait_seconds=0, autoresume=False, **options)
        self.runner = Runner(store, open_host(f"sim:{mac}"), load_playbook(playbook), opts)
        self.only = only
        self.run_id: str | None = None
        self.store = store

    def step(self) -> Paused | None:
        """Start or resume once: the Paused that stopped it, or None when the run finished."""
        try:
            if self.run_id is None:
                self.runner.start(Selection(only=self.only))
            else:
                self.runner.resume(self.run_id)
        except Paused as p:
            self.run_id = self.run_id or self.runner.run_id
            return p
        self.run_id = self.run_id or self.runner.run_id
        return None

    def until(self, waiting_for: str, rounds: int = 8) -> Paused:
        """Resume through restarts and waits until a pause waits for ``waiting_for`` (e.g. ``psso-repair:alice``)."""
        for _ in range(rounds):
            p = self.step()
            if p is None:
                raise AssertionError(f"the run finished without waiting for {waiting_for}")
            if waiting_for in (p.pause.waiting_for if p.pause else ()):
                return p
        raise AssertionError(f"no pause for {waiting_for} in {rounds} rounds")

    def finish(self, rounds: int = 8) -> None:
        for _ in range(rounds):
            p = self.step()
            if p is None:
                return
        raise AssertionError("the run did not finish")

    def state(self):
        assert self.run_id is not None
        return self.store.load(self.run_id)[0]
