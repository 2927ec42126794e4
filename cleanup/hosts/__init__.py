"""Hosts: the Mac the tool acts on (this Mac, a simulated Mac, a Mac over SSH)."""

from cleanup.hosts.base import CommandResult, Host, LocalUser, PathInfo

__all__ = ["CommandResult", "Host", "LocalUser", "PathInfo", "open_host"]


def open_host(spec: str) -> Host:
    """``local``, ``sim:DIR``, ``ssh://user@mac[:port]``, or ``none`` (no Mac: a cloud-only run)."""
    if spec == "none":
        from cleanup.hosts.nohost import NoHost

        return NoHost()
    if isinstance(spec, str) and spec.startswith("ssh:"):
        from cleanup.hosts.ssh import open_ssh_host

        return open_ssh_host(spec)
    from cleanup.hosts.local import open_local_host

    return open_local_host(spec)
