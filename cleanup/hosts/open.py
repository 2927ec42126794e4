"""The one place a host named on the command line is opened."""

from __future__ import annotations

import re

from cleanup.errors import UsageError
from cleanup.hosts.base import Host

KINDS = "`local` (this Mac), `sim:DIR` (a simulated Mac), `ssh://user@mac[:port]` or `none` (no Mac: cloud steps only)"


def open_host(spec: str, *, push_agent: bool = False) -> Host:
    """``local``, ``sim:DIR``, ``ssh://user@mac[:port]``, or ``none`` (no Mac: a cloud-only run). ``push_agent``
    (``--push-agent``, ssh only): a Mac without this version of cleanup is served by this one's artifact."""
    if not isinstance(spec, str):
        raise UsageError(f"invalid host: {spec!r}")
    if push_agent and not spec.startswith("ssh:"):
        raise UsageError("--push-agent works with --host ssh://user@mac only (it sends this cleanup to a remote Mac for the run)")
    if spec == "none":
        from cleanup.hosts.nohost import NoHost

        return NoHost()
    if spec == "local":
        from cleanup.hosts.local import LocalHost

        return LocalHost("/", "local")
    if spec.startswith("sim:"):
        from cleanup.hosts.local import open_sim_host

        return open_sim_host(spec[len("sim:") :])
    if spec.startswith("ssh:"):
        from cleanup.hosts.ssh import SshHost

        return SshHost(spec, push_agent=push_agent)  # a malformed ssh spec is a UsageError that never echoes a password
    shown = re.sub(r":[^:@/]*@", ":***@", spec[:120])  # never echo what may be a password
    raise UsageError(f"unknown host {shown!r}: use {KINDS}")
