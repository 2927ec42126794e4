"""The repair ladder's `jamf-manage` rung (playbooks/repair-jamf-manage.toml, docs/repair.md): ``jamf manage`` (Jamf
Pro's management settings enforced again, Device Compliance's values in com.jamfsoftware.jamf.plist among them: Jamf's
own Device Compliance script repairs the plist this way) and ``jamf recon`` (the inventory submitted: the Mac checks in
with Jamf Pro), both as root; then ``verify.jamf_framework`` checks what they left on the Mac.

Neither removes anything. Without the jamf binary they cannot run: the step fails, and the ladder climbs (re-enrolling,
the full reset's step 12, installs the framework again)."""

from __future__ import annotations

import plistlib
import re

from cleanup.actions.jamf_binary import JAMF
from cleanup.actions.scope import jamf_binary_problem
from cleanup.engine.action import Action, ActsOn, Outcome, Param, command_failed, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import HostError, StepFailed
from cleanup.hosts import probes
from cleanup.hosts.registration import JAMF_PLIST, MAX_PLIST_BYTES
from cleanup.parsers.jamfca import parse_jamf_plist

COMPUTER_ID = re.compile(r"<computer_id>\s*(\d+)\s*</computer_id>")
PARAMS = {"jamf_binary": Param("str", default=JAMF, check=jamf_binary_problem)}


def _no_framework(jamf: str, verb: str) -> StepFailed:
    return StepFailed(
        f"the Jamf framework is not installed ({jamf} is absent): `jamf {verb}` cannot run; re-enrolling the Mac (the full reset's step 12) installs it"
    )


class _JamfVerb(Action):
    """One ``jamf <verb>`` as root."""

    verb = ""
    acts_on = ActsOn.DEVICE
    params = PARAMS

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        jamf = step.params["jamf_binary"]
        if ctx.host.lstat(jamf) is None:
            raise _no_framework(jamf, self.verb)
        argv = [jamf, self.verb]
        return StepPlan(changes=[Change(f"command:jamf-{self.verb}", ChangeKind.RUN_COMMAND, " ".join(argv), {"argv": argv})])

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        argv = change.details["argv"]
        res = ctx.host.run(argv, timeout=900)  # recon gathers the whole inventory: minutes on a real Mac
        if res.returncode == 127:
            raise _no_framework(argv[0], self.verb)
        if not res.ok:
            raise command_failed(argv, res)
        return Outcome.done(self.done(res.stdout))

    def done(self, stdout: str) -> str:
        return "done"


@register
class JamfManage(_JamfVerb):
    name = "jamf.manage"
    summary = "Run `jamf manage` as root: Jamf Pro's management settings (Device Compliance's values in com.jamfsoftware.jamf.plist) enforced again"
    verb = "manage"

    def done(self, stdout: str) -> str:
        return "management framework enforced"


@register
class JamfRecon(_JamfVerb):
    name = "jamf.recon"
    summary = "Run `jamf recon` as root: the Mac submits its inventory (checks in with Jamf Pro)"
    verb = "recon"

    def done(self, stdout: str) -> str:
        m = COMPUTER_ID.search(stdout)
        return f"inventory submitted (Jamf Pro computer {m.group(1)})" if m else "inventory submitted"


def framework_problems(ctx: RunContext, jamf: str) -> tuple[list[str], list[str]]:
    """(problems, what was found) of the Jamf framework on the Mac now."""
    problems: list[str] = []
    found: list[str] = []
    if ctx.host.lstat(jamf) is None:
        problems.append(f"the jamf binary is absent ({jamf})")
    status = probes.enrollment(ctx.host)
    if not status.enrolled:
        problems.append("the Mac is not enrolled in MDM (profiles status -type enrollment)")
    else:
        found.append(f"MDM enrolled ({status.server})")
    info = ctx.host.lstat(JAMF_PLIST)
    if info is None or info.kind != "file" or info.size > MAX_PLIST_BYTES:
        problems.append(f"{JAMF_PLIST} is {'absent' if info is None else 'not a plist file it can read'}")
        return problems, found
    try:
        data = ctx.host.read_bytes(JAMF_PLIST)
        prefs = parse_jamf_plist(data)
    except (HostError, ValueError, plistlib.InvalidFileException) as exc:
        problems.append(f"{JAMF_PLIST} cannot be read: {getattr(exc, 'message', exc)}")
        return problems, found
    server = ctx.facts.get("jamf_url")
    if server and (prefs.jss_url or "").rstrip("/") != server.rstrip("/"):
        problems.append(f"{JAMF_PLIST} names Jamf Pro {prefs.jss_url!r}, not {server} (the Mac's MDM server)")
    if prefs.ca_enabled is not None or prefs.native_client_app_id:
        if prefs.device_compliance:
            found.append("Device Compliance on (microsoftCAEnabled true, the User registration app)")
        else:
            problems.append(
                f"Device Compliance's values after `jamf manage`: microsoftCAEnabled {prefs.ca_enabled}, client id {prefs.native_client_app_id!r} "
                "(Jamf Pro does not set Device Compliance up for this Mac: is it in the Applicable smart group?)"
            )
    return problems, found


@register
class VerifyJamfFramework(Action):
    name = "verify.jamf_framework"
    summary = "Check the Jamf framework after `jamf manage`/`recon`: the binary, MDM enrollment, com.jamfsoftware.jamf.plist, Device Compliance's values"
    acts_on = ActsOn.DEVICE
    params = PARAMS

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.options.dry_run:
            return StepPlan(noop_reason=f"would check the jamf binary, MDM enrollment and {JAMF_PLIST} (Device Compliance's values where it is set up)")
        problems, found = framework_problems(ctx, step.params["jamf_binary"])
        if problems:
            raise StepFailed("verification failed: " + "; ".join(problems))
        return StepPlan(noop_reason="verified: the Jamf framework is in place" + (f" ({'; '.join(found)})" if found else ""))
