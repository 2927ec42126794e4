"""The arrows of docs/architecture.md only point down: each package imports only the ones below it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cleanup"

#: package -> the cleanup packages it must never import
FORBIDDEN = {
    "engine": ("repair", "actions", "batch", "diagnose", "cli", "lab"),
    "actions": ("repair", "batch", "diagnose", "cli", "lab"),
    "batch": ("repair", "cli", "lab"),
    "diagnose": ("repair", "cli", "batch", "lab"),
    "repair": ("cli", "batch", "lab"),
    "hosts": ("repair", "engine", "actions", "batch", "diagnose", "cli", "lab"),
    "clients": ("repair", "engine", "actions", "batch", "diagnose", "cli", "lab"),
    "parsers": ("repair", "engine", "actions", "batch", "diagnose", "cli", "lab", "hosts", "clients"),
    "lab": ("cli",),
}


def _imported(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m.split(".")[1] for m in out if m.startswith("cleanup.") and m.count(".") >= 1}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package):
    for path in sorted((PACKAGE / package).rglob("*.py")):
        bad = sorted(_imported(path) & set(FORBIDDEN[package]))
        assert not bad, f"{path.relative_to(PACKAGE)} imports cleanup.{bad[0]}"


def test_only_the_lab_commands_of_the_cli_import_the_lab():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "lab" or (rel.parts[0] == "cli" and rel.name.startswith("lab")):
            continue
        assert "lab" not in _imported(path), f"{rel} imports the lab"
