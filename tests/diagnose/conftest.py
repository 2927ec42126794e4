"""Diagnose tests run against the same lab as the cloud tests: an emulated tenant over real HTTPS and a
simulated Mac linked to it."""

from __future__ import annotations

import pytest

from cleanup.clients.http import HttpSettings
from cleanup.clients.session import CloudSession
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from tests.support.cloudlab import make_lab  # noqa: F401 - the emulated tenant fixture


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
