import json
import os
import subprocess
import sys

import pytest

from cleanup.lab.simmac import create_sim_mac


class Sim:
    def __init__(self, root, summary):
        self.root = str(root)
        self.summary = summary

    def path(self, mac: str) -> str:
        return os.path.join(self.root, mac.lstrip("/"))

    def run(self, *argv, env=None, user=None):
        """Run a fake by its Mac path. ``user``: run via launchctl asuser + sudo -u (as the product does)."""
        argv = list(argv)
        if user is not None:
            uid = self.summary["uids"][user]
            argv = ["/bin/launchctl", "asuser", str(uid), "/usr/bin/sudo", "-u", user, *argv]
        full_env = dict(os.environ)
        for k in ("SIMMAC_USER", "SIMMAC_COUNTED", "SIMMAC_KILL_AFTER", "SIMMAC_ASUSER"):
            full_env.pop(k, None)
        full_env.update(env or {})
        return subprocess.run([self.path(argv[0]), *argv[1:]], capture_output=True, text=True, env=full_env, timeout=30)

    @property
    def state(self) -> dict:
        with open(self.path("/.lab/state.json")) as f:
            return json.load(f)

    def set_state(self, **kw):
        st = self.state
        st.update(kw)
        with open(self.path("/.lab/state.json"), "w") as f:
            json.dump(st, f)

    def keychain(self, mac: str) -> dict:
        with open(self.path(mac)) as f:
            return json.load(f)

    def login(self, user: str) -> dict:
        return self.keychain(f"/Users/{user}/Library/Keychains/login.keychain-db")


@pytest.fixture
def make_sim(tmp_path):
    n = [0]

    def make(**kw):
        n[0] += 1
        root = tmp_path / f"mac{n[0]}"
        return Sim(root, create_sim_mac(root, **kw))

    return make


@pytest.fixture
def sim(make_sim):
    return make_sim()


PY = sys.executable
