"""Build the device-side artifact: one zipapp of cleanup for the Mac's own Python 3.11+ (docs/deploy.md).

    python scripts/build_zipapp.py                  # dist/cleanup-VERSION.pyz in the project folder
    python scripts/build_zipapp.py -o PATH          # somewhere else

It is made from this installation, offline (cleanup/zipapp.py), and prints its path, size and SHA-256: the
hash a policy or package checks before it runs the artifact. The same installation gives the same hash.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cleanup import __version__
from cleanup.errors import CleanupError
from cleanup.zipapp import build

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build cleanup's device-side zipapp.")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "dist" / f"cleanup-{__version__}.pyz", help="where to write it")
    args = parser.parse_args(argv)
    try:
        artifact = build(args.output)
    except CleanupError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"path    {artifact.path}")
    print(f"size    {artifact.size} bytes ({artifact.size / 1048576:.1f} MiB)")
    print(f"sha256  {artifact.sha256}")
    print(f"version {artifact.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
