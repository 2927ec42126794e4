"""The Mac's cloud records as a run recorded them in step 0: the cloud actions' view of the run's context.
What the records mean (summaries, is-a-Mac, claims) is :mod:`cleanup.clients.records`."""

from __future__ import annotations

from cleanup.clients.records import pick
from cleanup.engine.context import RunContext
from cleanup.errors import UsageError


def cloud_facts(ctx: RunContext) -> dict:
    """The records step 0 gathered; a step that needs them cannot be planned without them."""
    cloud = ctx.facts.get("cloud")
    if not cloud:
        raise UsageError(
            "the Mac's cloud records were not gathered (no Jamf Pro / Graph connection when the run started)",
            hint="`cleanup creds set jamf|graph`, then start a new run",
        )
    return cloud


def chosen(ctx: RunContext, service: str, candidates: list[dict], what: str, option: str) -> list[dict]:
    """records.pick with the operator's picks of this run (its options, else those step 0 recorded)."""
    picks = ctx.options.choices.get(service) or ctx.facts.get("cloud", {}).get("choices", {}).get(service) or []
    return pick(picks, service, candidates, what, option)
