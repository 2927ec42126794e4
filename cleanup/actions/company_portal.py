"""Step 10: remove Company Portal: quit it, remove the app bundle, forget its package receipt; then its own files in
every home (Company Portal 5.x's: what its uninstaller removes, which the article's step 6 list predates).

Not on a Mac where Platform SSO is in use: Company Portal hosts the SSO extension Platform SSO signs in with, so the
app and its files stay.
"""

from __future__ import annotations

from cleanup.actions.files import USER_TOKEN, path_problem, plan_paths, removal, remove_planned_path
from cleanup.actions.registration_model import psso_in_use
from cleanup.actions.scope import pkg_problem, process_problem
from cleanup.engine.action import Action, ActsOn, Outcome, Param, command_failed, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import UnsafePath
from cleanup.hosts import probes

KILLALL = "/usr/bin/killall"


def _app_problem(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) != 3 or parts[1] != "Applications" or not parts[2].endswith(".app") or parts[2] in (".app", "..app"):
        return f"{path!r} is not an app bundle directly in /Applications"
    return None


def _user_file_problem(path: str) -> str | None:
    if not path.startswith(f"/Users/{USER_TOKEN}/Library/"):
        return f"path {path!r} is not under /Users/{USER_TOKEN}/Library/"
    return path_problem(path)


def psso_keep_reason(reg: dict) -> str:
    users = [u["name"] for u in reg.get("users") or [] if u.get("psso_registered") or u.get("psso_status") == 2]
    who = f" (registered for {', '.join(users)})" if users else ""
    return (
        f"Platform SSO is in use on this Mac{who}: Company Portal hosts its SSO extension (Mac SSO Extension.appex), which Platform SSO "
        "signs in with, so Company Portal and its files stay; the registration is repaired after re-enrollment instead"
    )


@register
class RemoveCompanyPortal(Action):
    name = "company_portal.remove"
    summary = "Quit Company Portal, remove its bundle, pkgutil --forget its receipt"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {
        "app_path": Param("str", default="/Applications/Company Portal.app", check=_app_problem),
        "process_name": Param("str", default="Company Portal", check=process_problem),
        "pkg_ids": Param("str_list", default=["com.microsoft.CompanyPortalMac"], check=pkg_problem),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        p = step.params
        if psso_in_use(ctx):
            return StepPlan(noop_reason=psso_keep_reason(ctx.facts.get("registration") or {}))
        plan = StepPlan()
        info = ctx.host.lstat(p["app_path"])
        if info is not None:
            quit_argv = [KILLALL, p["process_name"]]
            plan.changes.append(Change("command:quit-company-portal", ChangeKind.RUN_COMMAND, " ".join(quit_argv) + " (if running)", {"argv": quit_argv}))
            if ctx.host.linked_parent(p["app_path"]):
                raise UnsafePath(f"{p['app_path']}: /Applications is a symlink; refusing")
            if (change := removal(p["app_path"], info, plan)) is not None:
                plan.changes.append(change)
        receipts = set(probes.installed_pkgs(ctx.host))
        for pkg in p["pkg_ids"]:
            if pkg in receipts:
                argv = [probes.PKGUTIL, "--forget", pkg]
                plan.changes.append(Change(f"receipt:{pkg}", ChangeKind.RUN_COMMAND, " ".join(argv), {"argv": argv}))
        if not plan.changes:
            plan.noop_reason = "Company Portal is not installed and has no package receipt"
        return plan

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        if change.kind == "remove-path":
            return remove_planned_path(ctx, change.details)
        res = ctx.host.run(change.details["argv"])
        if change.key == "command:quit-company-portal":
            return Outcome.done("quit") if res.ok else Outcome.unchanged("already quit (was not running)")
        if res.ok:
            return Outcome.done("receipt forgotten")
        if "no receipt" in res.stderr.lower():
            return Outcome.unchanged("already gone")
        raise command_failed(change.details["argv"], res)


@register
class RemoveCompanyPortalFiles(Action):
    name = "company_portal.remove_files"
    summary = "Remove Company Portal's own files in every home (5.x, what its uninstaller removes); kept where Platform SSO is in use"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {"paths": Param("str_list", required=True, check=_user_file_problem, help="Company Portal's files under every user's ~/Library")}

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if psso_in_use(ctx):
            return StepPlan(noop_reason=psso_keep_reason(ctx.facts.get("registration") or {}))
        return plan_paths(ctx, step.params["paths"], False)

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        return remove_planned_path(ctx, change.details)
