"""Applying one planned keychain delete: as the keychain's user, on the planned path only, and confirmed by
reading the keychain again (what security(1) printed is never taken as the outcome)."""

from __future__ import annotations

from cleanup.actions.keychain_items import (
    SECURITY,
    identity_problem,
    is_locked,
    item_identity,
    locked_failure,
    read_keychain,
    runner,
)
from cleanup.engine.action import Outcome
from cleanup.engine.context import RunContext
from cleanup.engine.plan import Change
from cleanup.errors import ChangeBlocked, StepFailed, UnsafePath
from cleanup.hosts.base import Host, LocalUser
from cleanup.parsers.security import ITEM_NOT_FOUND, certificate_not_found, parse_items


def owner_of(ctx: RunContext, change: Change) -> LocalUser | None:
    name = change.details.get("owner")
    if name is None:
        return None
    user = next((u for u in ctx.users if u.name == name), None)
    if user is None:
        raise StepFailed(f"{change.target}: its keychain's user {name} is no longer a local user; nothing was run")
    return user


def check_keychain_path(host: Host, path: str) -> None:
    """The planned keychain is still a file reached without any symlink (security(1) would follow one)."""
    linked = host.linked_parent(path)
    info = host.lstat(path) if not linked else None
    if linked or (info is not None and info.kind != "file"):
        raise UnsafePath(f"{path}: {linked or path} became a symlink or not a folder/file after planning; refusing to hand it to security(1)")


def identity_argv(host: Host, owner: LocalUser | None, details: dict) -> tuple[list[str], str | None]:
    """The planned ``delete-identity``, or ``delete-certificate`` with the reason when the keys sharing the
    certificate's hash are no longer exactly the one planned key (checked right before the delete)."""
    argv = details["argv"]
    alone = [argv[0], "delete-certificate", *argv[2:]]
    view = read_keychain(host, details["keychain"], owner)
    keys = [k for k in view.items if k.item_class == "key" and k.get("klbl") == details.get("hpky")]
    private = [k for k in keys if k.key_kind == "private"]
    problem = identity_problem(keys, planned=True)
    if problem is None and private and private[0].get("labl") != details.get("key"):
        problem = f"its private key is now {private[0].get('labl')!r}, not the planned {details.get('key')!r}"
    if view.locked or not private:
        return alone, None  # nothing for delete-identity to take along: the certificate goes alone either way
    return (alone, problem) if problem else (argv, None)


def items_left(host: Host, owner: LocalUser | None, details: dict) -> int:
    """How many items with the planned item's identity the keychain holds now (read again after its delete)."""
    path = details["keychain"]
    cert = details["class"] == "cert"
    argv = [SECURITY, "find-certificate", "-a", "-Z", path] if cert else [SECURITY, "dump-keychain", path]
    res = runner(host, owner)(argv)
    if is_locked(res):
        raise ChangeBlocked(f"{path} locked before the delete could be confirmed; it is read again once its user logs in", waiting_for=_login(owner))
    if not res.ok:
        raise StepFailed(f"cannot confirm the delete in {path}: security could not read it again (exit {res.returncode}): {res.stderr.strip()[:200]}")
    ident = details["identity"]
    return sum(1 for i in parse_items(res.stdout) if item_identity(i) == ident)


def _login(owner: LocalUser | None) -> str | None:
    return f"login:{owner.name}" if owner else None


def _found_nothing(argv: list[str], res) -> bool:
    """security(1) said it found nothing to delete: exit 44 for passwords, exit 1 and its text for certificates."""
    if argv[1] in ("delete-certificate", "delete-identity"):
        return certificate_not_found(res.returncode, res.stderr)
    return res.returncode == ITEM_NOT_FOUND


def delete_confirmed(ctx: RunContext, change: Change) -> Outcome:
    """Run a planned delete and report what the keychain shows afterwards, never what the command claimed."""
    d = change.details
    owner = owner_of(ctx, change)
    check_keychain_path(ctx.host, d["keychain"])
    run = runner(ctx.host, owner)
    argv, alone = identity_argv(ctx.host, owner, d) if d["argv"][1] == "delete-identity" else (d["argv"], None)
    res = run(argv)
    if locked_failure(ctx, owner, res):
        raise ChangeBlocked(f"{d['keychain']} is locked; {change.target} stays until its user logs in", waiting_for=_login(owner))
    if items_left(ctx.host, owner, d) <= d["same"] - d["nth"] - 1:
        if not res.ok:
            return Outcome.unchanged("already gone")
        return Outcome.done(f"removed the certificate alone: {alone}" if alone else "removed")
    if res.ok:
        raise StepFailed(f"{change.target}: security(1) reported it deleted, but it is still in {d['keychain']}")
    if _found_nothing(argv, res):
        raise StepFailed(
            f"{change.target} is still in {d['keychain']}: `{' '.join(argv)}` found nothing to delete "
            "(security(1) cannot address this item exactly); remove it in Keychain Access"
        )
    raise StepFailed(f"security failed on {change.target} (exit {res.returncode}): {res.stderr.strip()[:200]}")
