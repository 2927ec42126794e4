"""Bytecode written once, in the controller, before the workers start. The build machines set
PYTHONDONTWRITEBYTECODE, so without this every fresh interpreter the suite starts compiles ~200 of cleanup's modules
(~0.2 s each time), and every xdist worker rewrites and compiles all ~200 test modules for pytest's assertions
(~4 s each; docs/benchmarks.md)."""

from __future__ import annotations

import compileall
import os
import types
from pathlib import Path


def write(config, repo: Path) -> None:
    compileall.compile_dir(str(repo / "cleanup"), quiet=1)
    compileall.compile_dir(str(repo / "tests/support"), quiet=1)
    if config.getoption("assertmode") == "rewrite":
        _rewrite_tests(config, sorted(p for p in (repo / "tests").rglob("*.py") if p.name.startswith("test_") or p.name == "conftest.py"))


def _rewrite_tests(config, files: list[Path]) -> None:
    """The test modules as pytest's import hook rewrites them, into the cache it reads first (one process a core)."""
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    if not all(hasattr(rewrite, name) for name in ("_rewrite_test", "_read_pyc", "_write_pyc", "get_cache_dir", "PYC_TAIL")):
        return  # another pytest: the workers rewrite as they would have anyway
    shares = max(1, min(4, len(os.sched_getaffinity(0))))
    children = []
    for share in range(1, shares):
        pid = os.fork()
        if pid == 0:
            try:
                _rewrite_share(rewrite, config, files[share::shares])
            finally:
                os._exit(0)
        children.append(pid)
    _rewrite_share(rewrite, config, files[0::shares])
    for pid in children:
        os.waitpid(pid, 0)


def _rewrite_share(rewrite, config, files: list[Path]) -> None:
    quiet = types.SimpleNamespace(trace=lambda message: None)
    for fn in files:
        cache = rewrite.get_cache_dir(fn)
        pyc = cache / (fn.name[:-3] + rewrite.PYC_TAIL)
        if rewrite._read_pyc(fn, pyc) is not None:
            continue
        try:
            source_hash, code = rewrite._rewrite_test(fn, config)
            cache.mkdir(exist_ok=True)
        except (OSError, SyntaxError):
            continue  # the worker's own import reports it
        rewrite._write_pyc(quiet, code, source_hash, pyc)
