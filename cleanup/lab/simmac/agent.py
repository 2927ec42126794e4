"""The host agent of a simulated Mac that restarts like a real one: the lab's stand-in for ``cleanup host-agent``.

``python -m cleanup.lab.simmac.agent --root DIR`` serves the simulated Mac in DIR exactly as the product's agent
does, plus one knob: when ``DIR/.lab/restart_offline_seconds`` holds a number, a successful ``/sbin/shutdown``
drops the connection without an answer and, for that many seconds, the Mac refuses connections the way the ssh
client reports an unreachable Mac. ``DIR/.lab/offline_until`` records when it is back (remove it: back now).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from cleanup.hosts.ssh.agent import Agent, serve
from cleanup.lab.simmac.common import FAKE_TOOLS

OFFLINE_KNOB = ".lab/restart_offline_seconds"
OFFLINE_UNTIL = ".lab/offline_until"
#: what a Mac going down looks like to the ssh client (it reports the connection as unreachable)
OFFLINE_TEXT = "Connection closed by remote host (the simulated Mac is restarting)"
EXIT_OFFLINE = 255


def offline_seconds(root: str) -> float | None:
    try:
        with open(os.path.join(root, OFFLINE_KNOB)) as f:
            return float(f.read().strip() or 0)
    except (OSError, ValueError):
        return None


def is_offline(root: str) -> bool:
    try:
        with open(os.path.join(root, OFFLINE_UNTIL)) as f:
            return time.time() < float(f.read().strip())
    except (OSError, ValueError):
        return False


def _say_down() -> None:
    sys.stderr.write(OFFLINE_TEXT + "\n")
    sys.stderr.flush()


class RestartingAgent(Agent):
    """The product's agent; a restart with the knob set takes the simulated Mac off the network for a while."""

    def op_run(self, argv, timeout=120, input=None) -> dict[str, Any]:
        answer = super().op_run(argv, timeout=timeout, input=input)
        seconds = offline_seconds(self.root)
        if answer["returncode"] == 0 and list(argv[:1]) == [FAKE_TOOLS["shutdown"]] and seconds is not None:
            with open(os.path.join(self.root, OFFLINE_UNTIL), "w") as f:
                f.write(f"{time.time() + seconds}\n")
            _say_down()
            raise SystemExit(EXIT_OFFLINE)  # not an Exception: the agent lets it through, and the request goes unanswered
        return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleanup.lab.simmac.agent")
    parser.add_argument("--root", required=True, help="the simulated Mac's folder")
    root = os.path.abspath(parser.parse_args(argv).root)
    if is_offline(root):
        _say_down()
        return EXIT_OFFLINE
    return serve(root, agent=RestartingAgent(root))


if __name__ == "__main__":
    sys.exit(main())
