"""Where :class:`CloudSession` used to live: kept so that existing imports go on working. New code opens a
session with :func:`cleanup.clients.session.open_session`."""

from __future__ import annotations

from pathlib import Path

from cleanup.clients.session import CloudSession, open_session

__all__ = ["CloudSession", "open_cloud"]


def open_cloud(config_path: Path | None = None) -> CloudSession:
    """The same as ``open_session(config_path)``."""
    return open_session(config_path)
