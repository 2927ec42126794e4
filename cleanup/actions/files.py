"""Step 6: remove the article's files and folders, at the system path and under every real user's home.

Only paths the playbook lists, under the roots below, after expansion and normalisation. A symlink is
removed as a link, never followed; a path reached through a linked parent is refused; a path that changed
kind or identity since the plan is refused; a mount point inside a planned folder is left (and named).
"""

from __future__ import annotations

import posixpath
import re

from cleanup.engine.action import Action, ActsOn, Outcome, Param, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import UnsafePath
from cleanup.hosts.base import Identity, PathInfo
from cleanup.hosts.probes import home_is_safe

USER_TOKEN = "<username>"
# (root, how many components a path must have below it)
PERMITTED_ROOTS = (("/Library", 2), (f"/Users/{USER_TOKEN}/Library", 2))
FORBIDDEN = ("/Library/Keychains", f"/Users/{USER_TOKEN}/Library/Keychains")
#: never removed on any Mac, whatever a playbook says: the Microsoft apps' shared group containers (team UBF8T346G9:
#: Office, Teams, Edge and the SSO extension share them), and every keychain folder, the data-protection keychain
#: ~/Library/Keychains/<hardware UUID> included (keychains are changed with security(1) only)
_PROTECTED = re.compile(r"^(?:/users/[^/]+)?/library/(?:group containers/ubf8t346g9\.[^/]*|keychains)(?:/|$)")


def protected_problem(path: str) -> str | None:
    """Why a Mac path (or a playbook path with ``<username>``) may never be removed, or None."""
    folded = path.casefold()  # macOS volumes are case-insensitive by default
    m = _PROTECTED.match(folded.replace(USER_TOKEN.casefold(), "user", 1))
    if m is None:
        return None
    if "/keychains" in m.group(0):
        return f"path {path!r} is inside a keychain folder (changed with security(1) only; ~/Library/Keychains/<hardware UUID> is the data-protection keychain)"
    return f"path {path!r} is a shared Microsoft group container (UBF8T346G9.*: Office, Teams, Edge and the SSO extension use it), which is never removed"


def path_problem(path: str) -> str | None:
    """Why a playbook path may not be used, or None."""
    if not path.startswith("/"):
        return f"path {path!r} is not absolute"
    parts = path.split("/")[1:]
    if any(p in ("", ".", "..") for p in parts) or posixpath.normpath(path) != path or "\0" in path:
        return f"path {path!r} is not normalised (no '..', '.', '//' or trailing '/')"
    if USER_TOKEN in path and not path.startswith(f"/Users/{USER_TOKEN}/"):
        return f"path {path!r}: {USER_TOKEN} may only stand for the home folder name, as /Users/{USER_TOKEN}/..."
    if path.count(USER_TOKEN) > 1:
        return f"path {path!r}: {USER_TOKEN} may appear once"
    folded = path.casefold()  # macOS volumes are case-insensitive by default: /Library/keychains is the keychain folder
    for bad in FORBIDDEN:
        if folded == bad.casefold() or folded.startswith(bad.casefold() + "/"):
            return f"path {path!r} is inside {bad} (keychains are changed with security(1) only)"
    if (why := protected_problem(path)) is not None:
        return why
    for root, depth in PERMITTED_ROOTS:
        if path.startswith(root + "/"):
            if len(path[len(root) + 1 :].split("/")) < depth:
                return f"path {path!r} is too close to {root} (a whole folder of the system); name the item itself"
            return None
    allowed = ", ".join(r for r, _ in PERMITTED_ROOTS)
    return f"path {path!r} is outside the allowed roots ({allowed})"


def expand(ctx: RunContext, paths: list[str], mirror: bool) -> tuple[list[str], list[str]]:
    """Concrete Mac paths for every real local user; notes for users that are left out."""
    templates = list(paths)
    if mirror:
        templates += [f"/Users/{USER_TOKEN}{p}" for p in paths if p.startswith("/Library/")]
    out: list[str] = []
    notes: list[str] = []
    users = []
    for u in ctx.users:
        if not home_is_safe(u):
            notes.append(f"user {u.name}: home {u.home!r} is not /Users/{u.name}; their files are left alone")
        elif (odd := home_problem(ctx, u.home)) is not None:
            notes.append(f"user {u.name}: {odd}; their files are left alone (never followed)")
        else:
            users.append(u)
    for t in templates:
        expanded = [t.replace(f"/Users/{USER_TOKEN}/", f"{u.home}/", 1) for u in users] if USER_TOKEN in t else [t]
        for p in expanded:
            # names are checked when read from the user database; check the result again all the same
            if posixpath.normpath(p) == p and ".." not in p.split("/") and p not in out:
                out.append(p)
    return out, notes


def home_problem(ctx: RunContext, home: str) -> str | None:
    """Why a home is not a plain folder that paths can be expanded into (a symlink, a file), or None."""
    linked = ctx.host.linked_parent(f"{home}/Library")
    if linked is None:
        return None
    info = ctx.host.lstat(linked)
    if linked == home and info is not None and info.kind == "link":
        return f"home {home} is a symlink (-> {info.link_target})"
    return f"{linked} is a symlink or not a folder"


def removal(path: str, info: PathInfo, plan: StepPlan) -> Change | None:
    """The planned removal of what ``info`` saw, naming the mount points it leaves; None when it is one itself."""
    if path in info.mounts:
        plan.notes.append(f"left {path}: it is a mount point (another file system is never removed)")
        return None
    for m in info.mounts:
        plan.notes.append(f"left {m}: a mount point inside {path} (another file system is never removed; it and the folders holding it stay)")
    if info.kind == "link":
        target = f"{path} (symlink to {info.link_target}; the link only)"
    else:
        left = f"; mount point(s) left: {', '.join(info.mounts)}" if info.mounts else ""
        target = f"{path} ({info.kind}, {info.size} bytes{left})"
    details = {"path": path, "type": info.kind, "size": info.size, "link_target": info.link_target, "dev": info.dev, "ino": info.ino}
    return Change(key=f"path:{path}", kind=ChangeKind.REMOVE_PATH, target=target, details=details)


@register
class RemovePaths(Action):
    name = "files.remove"
    summary = "Remove listed files and folders (system and per user), never following symlinks"
    acts_on = ActsOn.DEVICE
    destructive = True
    params = {
        "paths": Param("str_list", required=True, check=path_problem),
        "mirror_in_user_homes": Param("bool", default=True, help="also check each /Library path under every user's ~/Library"),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        return plan_paths(ctx, step.params["paths"], step.params["mirror_in_user_homes"])

    def apply(self, ctx: RunContext, step: Step, change: Change) -> Outcome:
        return remove_planned_path(ctx, change.details)


def plan_paths(ctx: RunContext, templates: list[str], mirror: bool) -> StepPlan:
    """The plan removing what exists of a step's paths (``<username>`` expanded for every real user)."""
    plan = StepPlan()
    paths, plan.notes = expand(ctx, templates, mirror)
    plan_removals(ctx, paths, plan)
    if not plan.changes:
        plan.noop_reason = f"none of the {len(paths)} paths exists"
    return plan


def plan_removals(ctx: RunContext, paths: list[str], plan: StepPlan) -> None:
    """The removal of each path that exists, reached without a symlinked parent and not protected, into ``plan``."""
    for path in paths:
        if (why := protected_problem(path)) is not None:
            plan.notes.append(f"refused {path}: {why}")
            continue
        linked = ctx.host.linked_parent(path)
        if linked:
            if ctx.host.lstat(linked) is not None:
                plan.notes.append(f"refused {path}: its parent {linked} is a symlink or not a folder (never followed)")
            continue
        info = ctx.host.lstat(path)
        if info is None:
            continue
        if (change := removal(path, info, plan)) is not None:
            plan.changes.append(change)


def remove_planned_path(ctx: RunContext, planned: dict) -> Outcome:
    """Remove a path that was planned, only while it is still the object planned (kind, device, inode); the
    host re-checks every parent as it walks (no link is followed) and never crosses a mount point."""
    path = planned["path"]
    if (why := protected_problem(path)) is not None:
        raise UnsafePath(f"refused {path}: {why}")
    if ctx.host.lstat(path) is None:
        return Outcome.unchanged("already gone")
    if ctx.host.linked_parent(path):
        raise UnsafePath(f"{path}: a parent became a symlink after planning; refusing")
    left = ctx.host.remove(path, Identity(planned["type"], planned.get("dev", 0), planned.get("ino", 0)))
    if left:
        # done, not blocked: another file system is never ours to remove, so a retry could never do more
        return Outcome.done(f"removed; left the mount point(s) {', '.join(left)} and the folders holding them (another file system is never crossed)")
    return Outcome.done("removed")
