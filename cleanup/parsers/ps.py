"""Parsers for ``ps(1)`` output: who has a login session."""

from __future__ import annotations

LOGINWINDOW = "loginwindow"


def parse_loginwindow_uids(text: str) -> frozenset[int]:
    """The uids owning a ``loginwindow`` process in ``ps -axo uid=,comm=`` output (``comm`` is the executable's
    path on macOS, and may hold spaces). Each GUI login session has one: the console's, and every session
    switched out with fast user switching; at the login window it is root's. Lines it does not know are ignored."""
    uids = set()
    for line in (text or "").splitlines():
        uid, _, comm = line.strip().partition(" ")
        comm = comm.strip()
        if uid.isdigit() and comm.rsplit("/", 1)[-1] == LOGINWINDOW:
            uids.add(int(uid))
    return frozenset(uids)
