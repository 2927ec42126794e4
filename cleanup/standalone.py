"""The device-side artifact at run time: ``python3 cleanup.pyz ARGS`` enters :func:`main` (its ``__main__.py``).

The artifact (cleanup/zipapp.py, docs/deploy.md) holds cleanup without its cloud stack and without the lab. A
command that reaches for either gets one line saying where to run it instead, never an ImportError.
"""

from __future__ import annotations

import sys

from cleanup.errors import CleanupError, UsageError
from cleanup.selfexec import zipapp_path

#: the top-level modules of the cloud stack (requests, urllib3, msal, PyJWT, cryptography, tenacity, keyring,
#: certifi, charset-normalizer, idna): never in the artifact
CLOUD_MODULES = frozenset({"requests", "urllib3", "msal", "jwt", "cryptography", "tenacity", "keyring", "certifi", "charset_normalizer", "idna"})
DEVICE_SIDE_ONLY = "this cleanup is the device-side artifact: run the cloud half from a full install"
CLOUD_HINT = "on this Mac use `--only device`; run `cleanup run --only cloud --serial SN` (or `cleanup batch`) where cleanup is installed in full"


def main() -> None:
    from cleanup import standalone_coercion

    standalone_coercion.install()  # before any command line is parsed: pydantic is not in the artifact
    from cleanup.cli import main as cli_main

    try:
        cli_main(sys.argv[1:])
    except ModuleNotFoundError as exc:
        error = missing_part(exc)
        if error is None:
            raise
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        sys.exit(error.exit_code)


def missing_part(exc: ModuleNotFoundError) -> CleanupError | None:
    """The one-line error for a module this cleanup lacks on purpose (the cloud stack, the lab), else None."""
    name = exc.name or ""
    top = name.partition(".")[0]
    if top in CLOUD_MODULES:
        if zipapp_path() is not None:
            return UsageError(DEVICE_SIDE_ONLY, hint=CLOUD_HINT)
        return UsageError(f"the cloud half needs the {top} package, which is not installed: install cleanup with its dependencies")
    if name == "cleanup.lab" or name.startswith("cleanup.lab."):
        return UsageError("the lab (simulated Mac, emulated tenant) is not part of the device-side artifact: run `cleanup lab …` from a full install")
    return None
