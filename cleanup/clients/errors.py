"""Errors of the cloud clients. Messages are one line and never carry a secret or a token."""

from __future__ import annotations

from cleanup.clients.http import ServiceError
from cleanup.errors import CleanupError


class AuthError(CleanupError):
    """A service rejected our credentials, or a token could not be obtained."""


class JamfError(ServiceError):
    """Jamf Pro answered with an error status we do not handle; ``code`` is the first error code of the body."""

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None, **kw):
        super().__init__(message, hint, **kw)
        self.code = code


class GraphError(ServiceError):
    """Microsoft Graph answered with an error; ``code`` is ``error.code`` of the body."""

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None, **kw):
        super().__init__(message, hint, **kw)
        self.code = code
