"""``--host ssh://user@mac[:port]``: the workstation's client, the Mac's agent, the protocol between them, and
the OpenSSH client they ride on.

The public names load on first use, so the agent on the Mac never loads the workstation's client.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cleanup.errors import ConnectionLost, SshError, Unreachable
    from cleanup.hosts.ssh.client import SshHost
    from cleanup.hosts.ssh.openssh import SshTarget, parse_ssh_spec, ssh_argv

_WHERE = {
    "ConnectionLost": "cleanup.errors",
    "SshError": "cleanup.errors",
    "Unreachable": "cleanup.errors",
    "SshHost": "cleanup.hosts.ssh.client",
    "SshTarget": "cleanup.hosts.ssh.openssh",
    "parse_ssh_spec": "cleanup.hosts.ssh.openssh",
    "ssh_argv": "cleanup.hosts.ssh.openssh",
}
__all__ = ["ConnectionLost", "SshError", "SshHost", "SshTarget", "Unreachable", "parse_ssh_spec", "ssh_argv"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
