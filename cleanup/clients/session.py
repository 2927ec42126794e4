"""The one way to open the cloud side of a run or a batch: configuration, secrets and lazily opened Jamf Pro /
Graph clients."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from cleanup.clients.config import CloudConfig, load_config
from cleanup.clients.graph import GraphClient
from cleanup.clients.http import HttpSettings
from cleanup.clients.jamf import JamfClient
from cleanup.clients.secrets import Secrets
from cleanup.clients.throttle import Gate


class Cloud(Protocol):
    """What the readers of the cloud side rely on: a :class:`CloudSession`, or an object that forwards to one (a
    batch's shared session)."""

    @property
    def config(self) -> CloudConfig: ...

    @property
    def jamf(self) -> JamfClient: ...

    @property
    def graph(self) -> GraphClient: ...


class CloudSession:
    """What actions use as ``ctx.cloud``. Clients are created on first use, so a device-only run needs no
    cloud configuration at all."""

    def __init__(self, config: CloudConfig, secrets: Secrets | None = None, http_settings: HttpSettings | None = None, gate: Gate | None = None):
        self.config = config
        self.gate = gate  # a batch's shared Graph gate (cleanup.clients.throttle.Gate)
        self.secrets = secrets or Secrets()
        self.http_settings = http_settings or HttpSettings(ca_bundle=config.ca_bundle)
        self._jamf: JamfClient | None = None
        self._graph: GraphClient | None = None
        self._lock = threading.Lock()

    def configured(self) -> bool:
        """Is at least one of Jamf Pro and Graph configured?"""
        return self.config.jamf_configured() or self.config.graph_configured()

    @property
    def jamf(self) -> JamfClient:
        with self._lock:
            if self._jamf is None:
                self._jamf = JamfClient(self.config, self.secrets, self.http_settings)
            return self._jamf

    @property
    def graph(self) -> GraphClient:
        with self._lock:
            if self._graph is None:
                self._graph = GraphClient(self.config, self.secrets, self.http_settings)
                self._graph.http.gate = self.gate
            return self._graph

    def close(self) -> None:
        """Invalidate Jamf user tokens and close the connections."""
        with self._lock:
            jamf, graph, self._jamf, self._graph = self._jamf, self._graph, None, None
        if jamf is not None:
            jamf.close()
        if graph is not None:
            graph.close()

    def __enter__(self) -> CloudSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(config: Path | CloudConfig | None = None, *, gate: Gate | None = None, secrets: Secrets | None = None) -> CloudSession:
    """The one way to open the cloud side: the config (a file read with the environment, or one already loaded),
    the secrets (the keyring and environment unless given) and the HTTP settings (its CA bundle); ``gate`` is a
    batch's shared Graph gate. Nothing is connected until a client is first used."""
    if not isinstance(config, CloudConfig):
        config = load_config(config)
    return CloudSession(config, secrets or Secrets(), HttpSettings(ca_bundle=config.ca_bundle), gate=gate)
