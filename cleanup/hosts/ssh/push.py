"""``--push-agent``: run this cleanup's device-side artifact (cleanup/zipapp.py) as the host agent of a Mac that has
no cleanup, or another version, installed.

One SSH command, as the login user, finds the Mac's Python (:data:`SUPPORTED_PYTHONS`, the first that is 3.11 or
later). The agent's channel then runs ``sudo -n PYTHON -I -c BOOTSTRAP SIZE SHA256 host-agent``: the bootstrap
(:data:`BOOTSTRAP`, standard library only, as root) reads exactly SIZE bytes of the artifact from the channel,
refuses them unless their SHA-256 is the one given, writes them into a fresh folder only root can enter, runs
``PYTHON -I cleanup.pyz host-agent`` on the same channel (the host protocol goes on from there), and removes the
folder when the agent ends. Each new channel (a reconnect after the restart, a dropped connection) pushes again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import subprocess
import threading
import zlib

from cleanup import __version__
from cleanup.errors import SshError
from cleanup.hosts.ssh.openssh import CONFIG_ENV, HELLO_SECONDS, SshTarget, connect_error, control_dir, ssh_argv

PYTHON_ENV = "CLEANUP_SSH_PYTHON"  # the Mac's interpreter, named explicitly (skips the search)
SUDO_ENV = "CLEANUP_SSH_SUDO"  # how the pushed agent becomes root on the Mac (default `sudo -n`; empty when logged in as root)
ARTIFACT_ENV = "CLEANUP_AGENT_PYZ"  # a prebuilt artifact to push instead of building one from this installation
LAB_ROOT_ENV = "CLEANUP_LAB_AGENT_ROOT"  # the lab's: the pushed agent serves the simulated Mac in this folder
DEFAULT_SUDO = ("sudo", "-n")
#: the Mac's interpreters, in the order they are tried (docs/deploy.md); /usr/bin/python3 only with the Command Line
#: Tools installed (without them it opens an install dialog) and only if it is 3.11 or later, which it rarely is
SUPPORTED_PYTHONS = (
    "/Library/ManagedFrameworks/Python/Python3.framework/Versions/Current/bin/python3",  # MacAdmins Python
    "/usr/local/bin/managed_python3",  # MacAdmins Python's link
    "/Library/Frameworks/Python.framework/Versions/3.14/bin/python3",  # python.org
    "/Library/Frameworks/Python.framework/Versions/3.13/bin/python3",
    "/Library/Frameworks/Python.framework/Versions/3.12/bin/python3",
    "/Library/Frameworks/Python.framework/Versions/3.11/bin/python3",
    "/opt/homebrew/bin/python3",  # Homebrew, Apple silicon
    "/usr/local/bin/python3",  # Homebrew on Intel, python.org's link
    "/usr/bin/python3",  # Apple's, from the Command Line Tools
)
NO_PYTHON = 3  # the search's exit status when no interpreter fits
DAMAGED = 86  # the bootstrap's exit status when the bytes are not the artifact announced
_DAMAGED_MARK = "cleanup-push: "
_MAX_ARTIFACT = 64 << 20
# one line of POSIX sh, free of `!` and newlines, so that whatever login shell the user has (zsh, bash, tcsh) hands it on
_FIND = (
    'for p in "$@"; do [ -x "$p" ] || continue; '
    'if [ "$p" = /usr/bin/python3 ]; then /usr/bin/xcode-select -p >/dev/null 2>&1 || continue; fi; '
    '"$p" -I -c "import sys; sys.exit(sys.version_info < (3, 11))" </dev/null >/dev/null 2>&1 && { echo "$p"; exit 0; }; '
    f"done; exit {NO_PYTHON}"
)
BOOTSTRAP = f"""\
import hashlib, os, shutil, signal, subprocess, sys, tempfile
size, want, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
data = bytearray()
while len(data) < size:
    chunk = os.read(0, min(1 << 20, size - len(data)))  # the fd itself: never a byte of what follows the artifact
    if not chunk:
        break
    data += chunk
if len(data) != size or hashlib.sha256(data).hexdigest() != want:
    sys.stderr.write("{_DAMAGED_MARK}the artifact arrived damaged (%d of %d bytes, SHA-256 not the one announced): nothing was run\\n" % (len(data), size))
    sys.exit({DAMAGED})
home = tempfile.mkdtemp(prefix="cleanup-agent-")
try:
    pyz = os.path.join(home, "cleanup.pyz")
    with os.fdopen(os.open(pyz, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as fh:
        fh.write(data)
    del data
    child = subprocess.Popen([sys.executable, "-I", pyz] + args)
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda n, _f: child.send_signal(n))
    code = child.wait()
finally:
    shutil.rmtree(home, ignore_errors=True)
sys.exit(code if code >= 0 else 128 - code)
"""

_cache: tuple[bytes, str] | None = None
_cache_lock = threading.Lock()


# ------------------------------------------------------------------------------------------ the artifact
def agent_artifact() -> tuple[bytes, str]:
    """The artifact to push and its SHA-256, made once per process: ``CLEANUP_AGENT_PYZ``, else the zipapp this
    cleanup runs from, else one built from this installation."""
    global _cache
    with _cache_lock:
        if _cache is None:
            data = _artifact_bytes()
            _cache = (data, hashlib.sha256(data).hexdigest())
        return _cache


def _artifact_bytes() -> bytes:
    from cleanup.selfexec import zipapp_path

    path = os.environ.get(ARTIFACT_ENV) or zipapp_path()
    if not path:
        from cleanup.zipapp import archive_bytes

        return archive_bytes()
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_ARTIFACT + 1)
    except OSError as exc:
        raise SshError(f"cannot read the agent artifact {path} ({ARTIFACT_ENV}): {exc.strerror or exc}") from None
    if len(data) > _MAX_ARTIFACT or not data.startswith(b"#!"):
        raise SshError(f"{path} ({ARTIFACT_ENV}) is not a cleanup artifact (build one with `python scripts/build_zipapp.py`)")
    return data


# ------------------------------------------------------------------------------------------ the Mac's Python
def find_python(target: SshTarget, candidates: tuple[str, ...] = SUPPORTED_PYTHONS) -> str:
    """The Mac's interpreter for the pushed agent: ``CLEANUP_SSH_PYTHON``, else the first supported one that is
    3.11 or later, found with one SSH command as the login user."""
    named = os.environ.get(PYTHON_ENV)
    if named:
        return _checked_python(named, PYTHON_ENV)
    command = shlex.join(["/bin/sh", "-c", _FIND, "sh", *candidates])
    argv = ssh_argv(target, command, control_dir(), os.environ.get(CONFIG_ENV) or None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANUP_")}
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", env=env, timeout=HELLO_SECONDS)
    except FileNotFoundError:
        raise SshError("the OpenSSH client (`ssh`) is not installed on this computer") from None
    except subprocess.TimeoutExpired:
        raise connect_error(target, command, None, []) from None
    found = [ln.strip() for ln in res.stdout.splitlines() if ln.startswith("/")]
    if res.returncode == 0 and found:
        return _checked_python(found[-1], f"the Python found on {target.spec}")
    if res.returncode == NO_PYTHON:
        raise SshError(
            f"{target.spec} has no Python 3.11 or later for the pushed agent: install the MacAdmins Python framework "
            f"(github.com/macadmins/python) or python.org's Python 3.11+, or name one with {PYTHON_ENV}"
        )
    raise connect_error(target, command, res.returncode, res.stderr.splitlines())


def _checked_python(path: str, source: str) -> str:
    if not path.startswith("/") or re.search(r"[\s\x00-\x1f\x7f]", path):
        raise SshError(f"{source}: {path!r} is not an absolute path to an interpreter")
    return path


# ------------------------------------------------------------------------------------------ the channel
def push_command(python: str, size: int, sha256: str) -> str:
    """The agent channel's remote command: the bootstrap as root, then the agent it starts."""
    sudo = shlex.split(os.environ[SUDO_ENV]) if SUDO_ENV in os.environ else list(DEFAULT_SUDO)
    agent = ["host-agent"]
    lab_root = os.environ.get(LAB_ROOT_ENV)
    if lab_root:
        agent += ["--root", lab_root]
    # base64 of the compressed source: one word, whatever the login shell does with quotes and newlines
    code = base64.b64encode(zlib.compress(BOOTSTRAP.encode(), 9)).decode("ascii")
    loader = f"import base64,zlib;exec(zlib.decompress(base64.b64decode('{code}')))"
    return shlex.join([*sudo, python, "-I", "-c", loader, str(size), sha256, *agent])


def push_failure(target: SshTarget, python: str, code: int | None, lines: list[str]) -> SshError | None:
    """What a push channel that ended before the agent's hello means, when it is about the push; else None."""
    low = "\n".join(lines).lower()
    mark = next((ln for ln in lines if ln.startswith(_DAMAGED_MARK)), None)
    if code == DAMAGED and mark:
        return SshError(f"the agent pushed to {target.spec} was refused there: {mark.removeprefix(_DAMAGED_MARK)}")
    if "a password is required" in low or "a terminal is required" in low or "no tty present" in low:
        return SshError(
            f"`sudo -n` on {target.spec} asks for a password: allow {target.user} to run {python} as root without one "
            "(NOPASSWD in sudoers, docs/deploy.md) or connect as root"
        )
    if "command not found" in low or "no such file" in low or code == 127:
        return SshError(f"{python} is not on {target.spec} (or sudo cannot run it): name the Mac's Python with {PYTHON_ENV}")
    return None


def version_mismatch(target: SshTarget, version: object) -> SshError:
    return SshError(
        f"the agent pushed to {target.spec} is cleanup {version}, this is cleanup {__version__}: "
        f"push an artifact of this version ({ARTIFACT_ENV}, `python scripts/build_zipapp.py`)"
    )
