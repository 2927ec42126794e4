"""The generated reference pages (docs/cli.md, docs/actions.md, docs/exit-codes.md) match the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("cli.md", "actions.md", "exit-codes.md")


def _generate(out: Path, columns: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    env["COLUMNS"] = columns  # the terminal's width must not change the output
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    res = _generate(out, "60")
    assert res.returncode == 0, f"scripts/gen_docs.py failed:\n{res.stderr}"
    return out


@pytest.mark.parametrize("page", PAGES)
def test_generated_page_is_fresh(generated: Path, page: str) -> None:
    committed = ROOT / "docs" / page
    assert committed.exists(), f"docs/{page} is missing: run python scripts/gen_docs.py"
    want = (generated / page).read_text(encoding="utf-8")
    have = committed.read_text(encoding="utf-8")
    if have != want:
        diff = [f"line {i + 1}: have {a!r}, want {b!r}" for i, (a, b) in enumerate(zip(have.splitlines(), want.splitlines(), strict=False)) if a != b][:3]
        if not diff:
            diff = [f"{len(have.splitlines())} lines, want {len(want.splitlines())}"]
        pytest.fail(f"docs/{page} is stale: run python scripts/gen_docs.py\n" + "\n".join(diff))


def test_generator_is_deterministic(generated: Path, tmp_path: Path) -> None:
    assert _generate(tmp_path, "200").returncode == 0
    for page in PAGES:
        assert (tmp_path / page).read_bytes() == (generated / page).read_bytes(), f"{page} depends on the terminal"
