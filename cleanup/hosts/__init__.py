"""Hosts: the Mac the tool acts on (this Mac, a simulated Mac, a Mac over SSH, or none for a cloud-only run)."""

from cleanup.hosts.base import CommandResult, Host, LocalUser, PathInfo
from cleanup.hosts.open import open_host

__all__ = ["CommandResult", "Host", "LocalUser", "PathInfo", "open_host"]
