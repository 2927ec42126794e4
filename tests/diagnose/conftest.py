"""Diagnose tests run against the same lab as the cloud tests: an emulated tenant over real HTTPS and a
simulated Mac linked to it."""

from __future__ import annotations

import plistlib
import time
from pathlib import Path

import pytest

from cleanup.clients.cloud import CloudSession
from cleanup.clients.http import HttpSettings
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from tests.cloud.conftest import make_lab  # noqa: F401

JAMFAAD = "Users/{user}/Library/Preferences/com.jamf.management.jamfAAD.plist"


def set_jamfaad(mac: Path, user: str, **prefs) -> None:
    """Rewrite a user's jamfAAD preferences on a simulated Mac (the builder's token is from 2025)."""
    path = mac / JAMFAAD.format(user=user)
    data = plistlib.loads(path.read_bytes())
    data.update(prefs)
    path.write_bytes(plistlib.dumps(data))


def fresh_token(mac: Path, user: str = "alice") -> None:
    set_jamfaad(mac, user, last_aad_token_timestamp=int(time.time()) - 3600)


@pytest.fixture
def cloud_of():
    """An in-process cloud session on a lab's client files (the full Graph app and Jamf API client);
    ``http`` overrides HTTP settings (e.g. fewer retries)."""
    sessions = []

    def make(lab, **http):
        session = lab_cloud_opener(lab.client)()
        if http:
            settings = HttpSettings(ca_bundle=session.config.ca_bundle, **http)
            session = CloudSession(session.config, session.secrets, settings)
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.close()


def by_id(checks) -> dict:
    return {c.id: c for c in checks}


def problems(checks) -> set[str]:
    return {c.id for c in checks if c.status == "problem"}
