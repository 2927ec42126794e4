"""The test tree's layout: shared helpers live in tests/support; no test module or conftest imports another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def _imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import, relative ones resolved against ``package``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            if name == "tests":  # `from tests import conftest` names the module in the alias
                found += [(node.lineno, f"tests.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
    return found


def _allowed(name: str) -> bool:
    return not (name == "tests" or name.startswith("tests.")) or name == "tests.support" or name.startswith("tests.support.")


def test_test_modules_import_helpers_only_from_tests_support():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if SUPPORT in path.parents:
            continue
        rel = path.relative_to(TESTS.parent)
        package = ".".join(rel.with_suffix("").parts[:-1])
        tree = ast.parse(path.read_text(), filename=str(path))
        for lineno, name in _imported_modules(tree, package):
            if not _allowed(name):
                offenders.append(f"{rel}:{lineno}: imports {name}")
    assert not offenders, "move shared helpers to tests/support/:\n" + "\n".join(offenders)


def test_support_modules_import_no_test_module():
    offenders = []
    for path in sorted(SUPPORT.rglob("*.py")):
        rel = path.relative_to(TESTS.parent)
        package = ".".join(rel.with_suffix("").parts[:-1])
        for lineno, name in _imported_modules(ast.parse(path.read_text(), filename=str(path)), package):
            if not _allowed(name):
                offenders.append(f"{rel}:{lineno}: imports {name}")
    assert not offenders, "\n".join(offenders)
