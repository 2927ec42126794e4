"""Where each Mac of a batch is: ``--host-template`` (``{serial}``, ``{name}``) or ``--hosts-file`` lines
``SERIAL HOST``, both checked before a batch creates anything."""

from __future__ import annotations

import string
from pathlib import Path

from cleanup.errors import UsageError
from cleanup.identifiers import SERIAL_RE
from cleanup.readlimit import read_text

TEMPLATE_FIELDS = ("serial", "name")
HOSTS_FILE_LIMIT = 8 << 20  # ten thousand `SERIAL HOST` lines take well under 1 MiB


def check_template(template: str | None) -> None:
    """Refuse a host template with odd braces or a field other than ``{serial}`` and ``{name}``: ``str.format``
    would raise on it halfway through a batch, or read attributes (``{serial.__class__}``)."""
    if template is None:
        return
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"--host-template {template!r}: {exc}", hint=_HINT) from None
    for _, field, spec, conversion in parts:
        if field is not None and (field not in TEMPLATE_FIELDS or spec or conversion):
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise UsageError(f"--host-template {template!r}: {{{shown}}} is not one of {{serial}}, {{name}}", hint=_HINT)


_HINT = "use {serial} and {name}, e.g. ssh://admin@{name}.corp.example; write {{ or }} for a literal brace"


def read_hosts_file(path: Path | None) -> dict[str, str]:
    """``{serial: host}`` from lines ``SERIAL HOST`` (# comments allowed); the whole file is refused on one odd line."""
    if path is None:
        return {}
    try:
        text = read_text(path, HOSTS_FILE_LIMIT, "hosts file")
    except OSError as exc:
        raise UsageError(f"cannot read the hosts file {path}: {exc.strerror or exc}") from None
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        parts = content.split()
        if len(parts) != 2 or not SERIAL_RE.fullmatch(parts[0]):
            raise UsageError(f"{path} line {n}: want `SERIAL HOST`, got {content!r}")
        out[parts[0]] = parts[1]
    return out
