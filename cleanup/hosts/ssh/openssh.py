"""The OpenSSH client as cleanup uses it: the ``ssh://user@mac[:port]`` spec, the ``ssh`` command line, and
what its failures mean (one clear line each, telling apart "wait and try again" from "a person must act")."""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import stat
from dataclasses import dataclass
from urllib.parse import urlsplit

from cleanup import __version__
from cleanup.errors import SshError, Unreachable, UsageError

AGENT_ENV = "CLEANUP_SSH_AGENT"  # the remote command line that starts the agent
CONFIG_ENV = "CLEANUP_SSH_CONFIG"  # an ssh_config file passed with -F
CONTROL_DIR_ENV = "CLEANUP_SSH_CONTROL_DIR"  # where the connection sockets live
DEFAULT_AGENT = ("sudo", "-n", "cleanup", "host-agent")
CONNECT_TIMEOUT = 15
ALIVE_INTERVAL = 15
CONTROL_PERSIST = 60
HELLO_SECONDS = 60  # connect, log in, start the agent

_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$")
_PASSWORD_RE = re.compile(r"^(ssh://[^@/?#]*?):[^@/?#]*@")
_USE = "use ssh://user@mac[:port]"


# ------------------------------------------------------------------------------------------ spec
@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str  # IPv6 without brackets
    port: int | None  # None: ssh's own choice (the user's ssh config, else 22)

    @property
    def spec(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ssh://{self.user}@{host}" + (f":{self.port}" if self.port is not None else "")

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}"


def parse_ssh_spec(spec: str) -> SshTarget:
    """``ssh://user@host[:port]`` (IPv6 in brackets); anything else is a UsageError that never echoes a password."""
    if not isinstance(spec, str) or not spec.startswith("ssh://"):
        raise UsageError(f"not an ssh host: {re.sub(r':[^:@/]*@', ':***@', str(spec))!r}; {_USE}")
    shown = _PASSWORD_RE.sub(r"\1:***@", spec)
    if shown != spec:
        raise UsageError(f"ssh host {shown!r}: a password does not belong in the host; use an SSH key or agent")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in spec):
        raise UsageError(f"ssh host {spec!r} contains spaces or control characters; {_USE}")
    try:
        parts = urlsplit(spec)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid ssh host {spec!r} ({exc}); {_USE}") from None
    if parts.path or parts.query or parts.fragment or spec.endswith(("?", "#")):
        raise UsageError(f"ssh host {spec!r} has a path, query or fragment; {_USE}")
    if not parts.username:
        raise UsageError(f"ssh host {spec!r} names no user; {_USE}")
    if not _USER_RE.match(parts.username):
        raise UsageError(f"ssh host {spec!r}: {parts.username!r} is not a user name; {_USE}")
    host = parts.hostname or ""
    if not host:
        raise UsageError(f"ssh host {spec!r} names no Mac; {_USE}")
    if "[" in parts.netloc:
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise UsageError(f"ssh host {spec!r}: {host!r} is not an IPv6 address; {_USE}") from None
    elif not _HOST_RE.match(host):
        raise UsageError(f"ssh host {spec!r}: {host!r} is not a host name; {_USE}")
    if parts.netloc.endswith(":") or port == 0:
        raise UsageError(f"ssh host {spec!r} has an empty or zero port; {_USE}")
    return SshTarget(parts.username, host, port)


# ------------------------------------------------------------------------------------------ ssh
def control_dir() -> str:
    """A folder only this user can enter, for ssh's connection sockets (short: sockets have a path limit)."""
    d = os.environ.get(CONTROL_DIR_ENV) or f"/tmp/cleanup-ssh-{os.getuid()}"
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise SshError(f"cannot create the SSH socket folder {d}: {e.strerror}") from None
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise SshError(f"{d} is not a private folder of this user; remove it (cleanup keeps SSH connection sockets there)")
    return d


def remote_command() -> str:
    return os.environ.get(AGENT_ENV) or shlex.join(DEFAULT_AGENT)


def ssh_argv(target: SshTarget, command: str, sockets: str, config: str | None = None) -> list[str]:
    argv = [
        "ssh",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={CONNECT_TIMEOUT}",
        "-o",
        f"ServerAliveInterval={ALIVE_INTERVAL}",
        "-o",
        "ControlMaster=auto",
        "-o",
        f"ControlPath={sockets}/%C",
        "-o",
        f"ControlPersist={CONTROL_PERSIST}",
    ]
    if target.port is not None:
        argv += ["-p", str(target.port)]
    if config:
        argv += ["-F", config]
    return argv + [target.destination, "--", command]


_UNREACHABLE = (
    "connection refused",
    "timed out",
    "no route to host",
    "network is unreachable",
    "could not resolve",
    "nodename nor servname",
    "name or service not known",
    "connection closed",
    "connection reset",
    "kex_exchange_identification",
    "broken pipe",
    "host is down",
)


def _host_key_changed(low: str) -> bool:
    return "remote host identification has changed" in low or ("host key for" in low and "has changed" in low)


def _host_key_unknown(low: str) -> bool:
    return "host key verification failed" in low or "host key is known" in low


def _sudo_wants_password(low: str) -> bool:
    return "a password is required" in low or "a terminal is required" in low or "no tty present" in low


def _unreachable(code: int | None, low: str) -> bool:
    return code is None or code < 0 or code == 255 or any(p in low for p in _UNREACHABLE)


def agent_unusable(code: int | None, lines: list[str]) -> bool:
    """The Mac was reached and logged in to, but its installed agent cannot serve: not installed, too old, not
    allowed through sudo, or it failed to start. What ``--push-agent`` replaces; never a connection or login failure."""
    low = "\n".join(lines).lower()
    if _host_key_changed(low) or _host_key_unknown(low) or "permission denied (" in low:
        return False
    if _sudo_wants_password(low) or code == 127 or "command not found" in low or "no such command" in low:
        return True
    return not _unreachable(code, low)


def connect_error(target: SshTarget, command: str, code: int | None, lines: list[str]) -> SshError:
    """One clear line for a channel that ended before the agent said hello."""
    spec = target.spec
    low = "\n".join(lines).lower()
    meaningful = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("@") and "warning:" not in ln.lower()]
    last = meaningful[-1] if meaningful else ""
    if _host_key_changed(low):
        return SshError(
            f"the host key of {spec} does not match the one in known_hosts: refusing to connect "
            "(if the Mac was reinstalled, verify its new key, then update known_hosts with `ssh-keygen -R`)"
        )
    if _host_key_unknown(low):
        return SshError(
            f"the host key of {spec} is not in known_hosts: connect once with `ssh` yourself to verify and accept it (cleanup never accepts host keys)"
        )
    if "permission denied (" in low:
        methods = re.search(r"permission denied \(([^)]*)\)", low)
        return SshError(f"authentication to {spec} failed ({methods.group(1) if methods else 'publickey'}): check the user name and your SSH key or agent")
    if _sudo_wants_password(low):
        return SshError(f"`sudo -n` on {spec} asks for a password: allow {target.user} to run cleanup without one (NOPASSWD in sudoers) or connect as root")
    if "no such command" in low and "host-agent" in low:
        return SshError(f"the cleanup installed on {spec} has no host agent (too old): install cleanup {__version__} there, or add --push-agent")
    if code == 127 or "command not found" in low:
        return SshError(
            f"cleanup is not installed on {spec} (`{command}`: command not found): "
            f"install cleanup {__version__} on the Mac (e.g. `pipx install`) where root's sudo finds it, "
            f"add --push-agent to run this one there from a temporary folder (the Mac needs Python 3.11+), or set {AGENT_ENV}"
        )
    if code == 255 or any(p in low for p in _UNREACHABLE):
        reason = last.removeprefix("ssh: ")
        return Unreachable(f"cannot reach {spec}: {reason or 'ssh failed'}")
    if code is None or code < 0:
        return Unreachable(f"cannot reach {spec}: no answer within {HELLO_SECONDS}s")
    return SshError(f"the cleanup agent on {spec} did not start (exit {code}): {last or 'no output'}")
