"""The host of a cloud-only run (``--only cloud --serial SN``): a Mac that was wiped, is offline or far away."""

from __future__ import annotations

from typing import Sequence

from cleanup.errors import HostError
from cleanup.hosts.base import CommandResult, Host, PathInfo

SPEC = "none"


class NoHost(Host):
    spec = SPEC
    device = False

    def _refuse(self, *_a, **_k):
        raise HostError("this run has no Mac to act on (cloud steps only); name one with --host")

    def run(self, argv: Sequence[str], *, timeout: float = 120, input: str | None = None) -> CommandResult:
        self._refuse()

    def lstat(self, path: str) -> PathInfo | None:
        self._refuse()

    def linked_parent(self, path: str) -> str | None:
        self._refuse()

    def listdir(self, path: str) -> list[str]:
        self._refuse()

    def read_bytes(self, path: str) -> bytes:
        self._refuse()

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._refuse()

    def remove(self, path: str) -> None:
        self._refuse()
