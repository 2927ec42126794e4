"""The modules a Python file imports, read from its syntax tree (the layout tests)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

#: the cloud half's libraries: the device side (a Jamf policy, the host agent, the zipapp) must never load them
CLOUD_STACK = ("requests", "urllib3", "msal", "jwt", "cryptography", "tenacity", "keyring")

_PROBE = """
import json, sys
from cleanup.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps([code, sorted({m.split('.')[0] for m in sys.modules} & set(%r))]), file=sys.stderr)
"""


def module_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def cloud_stack_loaded(*args: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run ``cleanup ARGS`` in a fresh interpreter; the cloud-stack modules it loaded (it must exit 0)."""
    res = subprocess.run([sys.executable, "-c", _PROBE % (CLOUD_STACK,), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    code, loaded = json.loads(res.stderr.strip().splitlines()[-1])
    assert code == 0, res.stdout + res.stderr
    return loaded
