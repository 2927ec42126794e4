"""Hosts: the Mac the tool acts on (this Mac, a simulated Mac; SSH comes later)."""

from cleanup.hosts.base import CommandResult, Host, LocalUser, PathInfo

__all__ = ["CommandResult", "Host", "LocalUser", "PathInfo", "open_host"]


def open_host(spec: str) -> Host:
    """``local``, ``sim:DIR``, or ``none`` (no Mac: a cloud-only run)."""
    if spec == "none":
        from cleanup.hosts.nohost import NoHost

        return NoHost()
    from cleanup.hosts.local import open_local_host

    return open_local_host(spec)
