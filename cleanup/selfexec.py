"""How this cleanup starts itself again (the resume daemon, a pushed agent): the same interpreter, and the same
zipapp when it runs from one, never a ``cleanup`` some PATH happens to find."""

from __future__ import annotations

import os
import sys

# taken when cleanup is imported: a relative `python3 cleanup.pyz` stays right after a change of directory
_HOLDER = os.path.abspath(os.path.dirname(os.path.dirname(__file__)))  # the folder (or archive) holding cleanup/


def zipapp_path() -> str | None:
    """The .pyz this cleanup runs from, or None when it is installed as a package."""
    return _HOLDER if os.path.isfile(_HOLDER) else None


def cleanup_argv() -> list[str]:
    pyz = zipapp_path()
    return [sys.executable, pyz] if pyz else [sys.executable, "-m", "cleanup"]
