"""The device-side artifact for the tests, and an interpreter with none of cleanup's dependencies to run it (a venv
made without pip: the standard library only), as a Mac's own Python is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.lab import REPO


def bare_python(folder: Path) -> Path:
    """A Python ≥ 3.11 in ``folder`` whose sys.path holds the standard library only (checked: typer does not import)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True, timeout=120)
    python = folder / "bin/python3"
    probe = subprocess.run([str(python), "-I", "-c", "import typer"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 1 and "No module named 'typer'" in probe.stderr, probe.stderr
    return python


def run_artifact(python: Path, pyz: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``PYTHON -I pyz ARGS``, as a policy script or the pushed agent starts it, in a folder that is not the project's."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("CLEANUP_", "PYTHON"))}
    e.update(COLUMNS="250", **(env or {}))
    return subprocess.run([str(python), "-I", str(pyz), *args], capture_output=True, text=True, env=e, cwd=pyz.parent, timeout=timeout)


def build_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts/build_zipapp.py"), *args], capture_output=True, text=True, cwd=REPO, timeout=120)
