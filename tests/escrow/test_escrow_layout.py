"""cleanup.escrow sits beside the clients: it imports only clients, identifiers, readlimit and errors, and nothing
above it (the actions get the store from the run's options, never by import)."""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import module_imports

PACKAGE = Path(__file__).resolve().parents[2] / "cleanup"
ALLOWED = ("cleanup.escrow", "cleanup.clients", "cleanup.identifiers", "cleanup.readlimit", "cleanup.errors")


def _imports(path: Path) -> set[str]:
    return {m for m in module_imports(path) if m == "cleanup" or m.startswith("cleanup.")}


def test_the_escrow_package_imports_only_what_sits_below_it():
    for path in sorted((PACKAGE / "escrow").glob("*.py")):
        bad = sorted(m for m in _imports(path) if not m.startswith(ALLOWED))
        assert not bad, f"{path.name} imports {bad}"


def test_no_action_and_no_engine_module_imports_the_escrow_package():
    for folder in ("actions", "engine", "clients"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            assert not any(m.startswith("cleanup.escrow") for m in _imports(path)), f"{folder}/{path.name} imports cleanup.escrow"
