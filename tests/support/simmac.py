"""Mac paths and readers for the simulated Macs' keychains and folders."""

from __future__ import annotations

import os

SYSTEM_KC = "/Library/Keychains/System.keychain"


def login_kc(user: str) -> str:
    return f"/Users/{user}/Library/Keychains/login.keychain-db"


def item_label(item: dict) -> str:
    """A keychain item's label (of the sim's JSON form), falling back to its service or server."""
    return item.get("labl") or item.get("svce") or item.get("srvr") or ""


def tree_bytes(root) -> dict[str, bytes | str]:
    """Every entry below a host folder: file -> bytes, link -> 'link:<text>', dir -> 'dir' (links never followed)."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                with open(p, "rb") as f:
                    out[rel] = f.read()
    return out
