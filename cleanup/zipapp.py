"""The device-side artifact: one zipapp of cleanup and the pure-Python packages its device side imports, run on the
Mac's own Python 3.11 or later with nothing installed (``python3 cleanup.pyz ARGS``; docs/deploy.md).

It is assembled from the running installation, offline: cleanup's own modules (without ``cleanup/lab``) and the
shipped playbooks, and the installed files of each distribution in :data:`DEVICE_DISTRIBUTIONS`, found with
importlib.metadata. The cloud stack is never in it, nor pydantic (compiled; typer's coercion runs on the standard
library inside the artifact, see cleanup/standalone_coercion.py). Entries are sorted and carry fixed timestamps:
the same installation gives the same bytes, so the SHA-256 identifies it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from cleanup import __version__
from cleanup.errors import UsageError

#: where a deploy puts it on the Mac (docs/deploy.md)
MAC_PATH = "/Library/Management/cleanup/cleanup.pyz"
#: what a device-side run imports besides the standard library (measured: --help, plan, run, diagnose, host-agent)
DEVICE_DISTRIBUTIONS = ("typer", "shellingham", "annotated-doc", "rich", "markdown-it-py", "mdurl", "pygments")
#: never in the artifact: the cloud half runs from a full install
CLOUD_STACK = ("requests", "urllib3", "msal", "pyjwt", "cryptography", "tenacity", "keyring", "certifi", "charset-normalizer", "idna")
#: required by a distribution above but left out, and why
LEFT_OUT = {
    "pydantic": "compiled (pydantic-core); inside the artifact typer coerces values with cleanup/standalone_coercion.py",
    "colorama": "Windows only",
    "pywin32-ctypes": "Windows only",
}
SHEBANG = b"#!/usr/bin/env python3\n"
_STAMP = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: every entry the same
MAIN = """\
# cleanup's device-side artifact (docs/deploy.md): python3 cleanup.pyz ARGS, on Python 3.11 or later
import sys

if sys.version_info < (3, 11):
    sys.exit("error: cleanup needs Python 3.11 or later; %s is %s" % (sys.executable, sys.version.split()[0]))
from cleanup.standalone import main

main()
"""


class BuildError(UsageError):
    """The running installation cannot make the artifact (a distribution missing, compiled, or unknown)."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str
    version: str
    size: int


def build(out: Path | None = None) -> Artifact:
    """Write the artifact to ``out`` (default ``dist/cleanup-VERSION.pyz``), atomically, and describe it."""
    out = Path(out) if out is not None else Path("dist") / f"cleanup-{__version__}.pyz"
    data = archive_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return Artifact(out, hashlib.sha256(data).hexdigest(), __version__, len(data))


def archive_bytes() -> bytes:
    """The artifact's bytes: the shebang line, then the zip of :func:`entries`, with an entry for each folder
    (zipimport finds a namespace package such as cleanup/engine only by its folder's entry)."""
    files = entries()
    folders = {str(parent) + "/" for name in files for parent in PurePosixPath(name).parents if str(parent) != "."}
    buf = io.BytesIO()
    buf.write(SHEBANG)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(folders | set(files)):
            info = zipfile.ZipInfo(name, _STAMP)
            if name in folders:
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10  # 0x10: the MS-DOS folder bit
                zf.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name])
    return buf.getvalue()


def entries() -> dict[str, bytes]:
    """Every file of the artifact: archive name -> bytes."""
    files: dict[str, bytes] = {"__main__.py": MAIN.encode()}
    files.update(_cleanup_files())
    versions = {}
    for name in DEVICE_DISTRIBUTIONS:
        dist = _distribution(name)
        versions[dist.metadata["Name"]] = dist.version
        files.update(_distribution_files(dist))
    manifest = {"cleanup": __version__, "python": ">=3.11", "mac_path": MAC_PATH, "distributions": dict(sorted(versions.items()))}
    files["cleanup-artifact.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


# ------------------------------------------------------------------------------------------ cleanup itself
def _cleanup_files() -> dict[str, bytes]:
    import cleanup
    from cleanup.engine.loader import available_playbooks

    pkg = Path(cleanup.__file__).resolve().parent
    files = {}
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg)
        if rel.parts[0] == "lab" or "__pycache__" in rel.parts or not stat.S_ISREG(os.lstat(path).st_mode):
            continue
        files[f"cleanup/{rel.as_posix()}"] = path.read_bytes()
    for name, playbook in available_playbooks().items():
        files[f"cleanup/playbooks/{name}.toml"] = playbook.read_bytes()
    return files


# ------------------------------------------------------------------------------------------ its dependencies
def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(name: str) -> metadata.Distribution:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise BuildError(f"cannot build the artifact: {name} is not installed in this Python ({name} is part of cleanup's device side)") from None
    _check_requirements(dist)
    return dist


def _check_requirements(dist: metadata.Distribution) -> None:
    """Every requirement of a carried distribution is carried, or left out on purpose: a new dependency is a decision."""
    known = {_key(n) for n in DEVICE_DISTRIBUTIONS} | {_key(n) for n in CLOUD_STACK} | {_key(n) for n in LEFT_OUT}
    for req in dist.requires or ():
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        name = _key(re.split(r"[\s<>=!~\[(@]", spec.strip(), maxsplit=1)[0])
        if name not in known:
            raise BuildError(
                f"cannot build the artifact: {dist.metadata['Name']} requires {name}, which cleanup/zipapp.py neither carries nor leaves out "
                "(add it to DEVICE_DISTRIBUTIONS, or to LEFT_OUT with the reason)"
            )


def _distribution_files(dist: metadata.Distribution) -> dict[str, bytes]:
    label = f"{dist.metadata['Name']} {dist.version}"
    if dist.files is None:
        raise BuildError(f"cannot build the artifact: {label} lists no files (no RECORD); reinstall it with pip")
    files = {}
    for entry in dist.files:
        rel = PurePosixPath(str(entry))
        if ".." in rel.parts or rel.is_absolute() or "__pycache__" in rel.parts or rel.suffix == ".pyc":
            continue  # scripts in bin/, byte code
        if rel.suffix in (".so", ".pyd", ".dylib"):
            raise BuildError(f"cannot build the artifact: {label} holds compiled code ({rel}); the artifact carries pure Python only")
        if rel.parts[0].endswith(".dist-info") and not _kept_metadata(rel):
            continue
        files[rel.as_posix()] = Path(str(dist.locate_file(entry))).read_bytes()
    return files


def _kept_metadata(rel: PurePosixPath) -> bool:
    """From a .dist-info folder: METADATA (importlib.metadata reads it) and the licence files."""
    return rel.name == "METADATA" or "licenses" in rel.parts or rel.name.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS"))
