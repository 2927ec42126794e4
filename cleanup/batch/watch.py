"""The interface between a running batch and whoever watches it; kept apart from the batch machinery so that
the CLI can implement it without importing that machinery at start-up."""

from __future__ import annotations


class Watcher:
    """What a running batch tells whoever watches it (a progress bar, JSON Lines); by default, nothing."""

    def continuing(self, batch_id: str) -> None:
        """A scheduled run first finishes the batch the last one left (waits, retries)."""

    def started(self, batch_id: str, counts: dict[str, int]) -> None:
        """The run begins: the batch's Macs by state."""

    def mac(self, mac: dict) -> None:
        """One Mac's turn ended (done, failed, refused or waiting)."""

    def finished(self) -> None:
        """The run ended, or stopped on an error."""
