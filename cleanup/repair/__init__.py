"""The lightest fix first: ``cleanup repair`` reads the diagnosis, runs the lightest rung of the ladder that fixes
what it found (each rung a playbook, run by the same Runner with the same checkpoints), verifies it, and climbs one
rung when the verification fails, up to the full Cause 6 reset (docs/repair.md).

- ``rungs``: the ladder, each rung with the findings it fixes and the registration models it applies to;
- ``choice``: which rung a diagnosis calls for, and why;
- ``ladder``: a Mac's ladder on disk (the rungs tried, their runs), so a paused rung is continued;
- ``climb``: the command's domain function (dry-run and run).
"""

from cleanup.repair.climb import Repair, RepairOptions, RepairResult
from cleanup.repair.rungs import LADDER

__all__ = ["LADDER", "Repair", "RepairOptions", "RepairResult"]
