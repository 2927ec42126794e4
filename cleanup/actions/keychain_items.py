"""Reading keychains through ``security(1)`` and turning matched items into exact delete commands."""

from __future__ import annotations

import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from cleanup.engine.context import RunContext
from cleanup.engine.plan import Change, ChangeKind, StepPlan
from cleanup.errors import HostError
from cleanup.hosts.base import CommandResult, Host, LocalUser
from cleanup.hosts.probes import gui_session_uids, home_is_safe
from cleanup.parsers.security import (
    KeychainItem,
    interaction_refused,
    parse_items,
)

SECURITY = "/usr/bin/security"
SYSTEM_KEYCHAIN = "/Library/Keychains/System.keychain"
LOGIN_KEYCHAIN = "Library/Keychains/login.keychain-db"
READ_WORKERS = 4  # security(1) calls in flight at once: one keychain per user

# Removing these breaks the Mac's Jamf enrollment (the article's one exception); no rule can override it.
_PROTECTED_KEY_WORD = "jamf"

TEXT_FIELDS = {
    "genp": ("labl", "svce", "acct", "desc"),
    "inet": ("labl", "srvr", "acct"),
    "cert": ("labl", "alis", "subject_cn", "issuer_cn"),
    "key": ("labl",),
}


@dataclass
class KeychainView:
    path: str
    owner: LocalUser | None  # None: the System keychain, handled as root
    locked: bool
    items: list[KeychainItem]
    #: locked, yet security(1) listed its attributes: its items are known, none can be changed until its user logs in
    listed: bool = False

    @property
    def who(self) -> str:
        return f"login keychain of {self.owner.name}" if self.owner else "System keychain"


def runner(host: Host, owner: LocalUser | None):
    return host.run if owner is None else partial(host.run_as_user, owner)


def keychains(ctx: RunContext, notes: list[str]) -> list[tuple[str, LocalUser | None]]:
    """The keychain files to read, each with the user it is read and changed as; ``notes`` says who is skipped."""
    found: list[tuple[str, LocalUser | None]] = []
    if reachable(ctx.host, SYSTEM_KEYCHAIN, "the System keychain", notes):
        found.append((SYSTEM_KEYCHAIN, None))
    for user in keychain_owners(ctx.users, notes):
        path = f"{user.home}/{LOGIN_KEYCHAIN}"
        if reachable(ctx.host, path, f"the login keychain of {user.name}", notes):
            found.append((path, user))
    return found


def keychain_owners(users: list[LocalUser], notes: list[str]) -> list[LocalUser]:
    """The users whose login keychain is handled: one per home folder.

    A home shared by several users holds one keychain, which belongs to the user whose home is
    /Users/<name>; read as anybody else it looks locked forever, and changed as anybody else it is the
    wrong user's. When no single user is its owner by name, that keychain is left alone.
    """
    by_home: dict[str, list[LocalUser]] = {}
    for user in users:
        if not user.home.startswith("/") or user.home == "/" or posixpath.normpath(user.home) != user.home:
            notes.append(f"user {user.name} (UID {user.uid}): home {user.home!r} is not a normalised absolute path; their login keychain is skipped")
            continue
        by_home.setdefault(user.home.casefold(), []).append(user)  # macOS volumes are case-insensitive
    owners = []
    for sharing in by_home.values():
        named = [u for u in sharing if home_is_safe(u)]
        owner = sharing[0] if len(sharing) == 1 else named[0] if len(named) == 1 else None
        if owner is not None:
            owners.append(owner)
        for user in sharing:
            if user is owner:
                continue
            others = ", ".join(u.name for u in sharing if u is not user)
            whose = (
                f"it is {owner.name}'s and is read and changed only as {owner.name}" if owner else "whose keychain it is cannot be told, so it is left alone"
            )
            notes.append(f"user {user.name} (UID {user.uid}) shares the home {user.home} with {others}: no login keychain is handled as {user.name} ({whose})")
    return owners


def reachable(host: Host, path: str, what: str, notes: list[str]) -> bool:
    """True when ``path`` is a keychain file reached without any symlink; a note says why not otherwise."""
    linked = host.linked_parent(path)
    if linked:
        info = host.lstat(linked)
        if info is not None:
            why = f"is a symlink (to {info.link_target})" if info.kind == "link" else "is not a folder"
            notes.append(f"skipped {what}: {linked} {why}; keychain paths are never followed through a symlink")
        return False
    info = host.lstat(path)
    if info is None:
        return False
    if info.kind != "file":
        target = f" (to {info.link_target})" if info.kind == "link" else ""
        notes.append(f"skipped {what}: {path} is a {'symlink' if info.kind == 'link' else info.kind}{target}, not a keychain file; never followed")
        return False
    return True


def is_locked(res: CommandResult) -> bool:
    """security(1) could not ask the keychain's user: errSecInteractionNotAllowed's text, whatever the exit status
    (dump-keychain exits 1 for it, other verbs 36; 36 alone proves nothing)."""
    return not res.ok and interaction_refused(res.stderr)


_ASK = frozenset({-1})  # logged_in's default: ask the Mac now


def logged_in(ctx: RunContext, owner: LocalUser | None, uids: frozenset[int] | None = _ASK) -> bool | None:
    """Whether ``owner`` has a login session, so that their login keychain is unlocked; None when it cannot be told.

    The session is asked of the Mac (who owns a ``loginwindow``, then who is at the console), never of
    security(1): a locked keychain does not always make it fail. ``uids``: a ``gui_session_uids`` answer already read."""
    if owner is None:
        return True  # the System keychain
    found = gui_session_uids(ctx.host) if uids is _ASK else uids
    if found is not None:
        return owner.uid in found
    return True if ctx.facts.get("console_user") == owner.name else None


def locked_failure(ctx: RunContext, owner: LocalUser | None, res: CommandResult) -> bool:
    """A failed security(1) change that failed because the keychain is locked: it said so, or its user is not logged in."""
    return not res.ok and owner is not None and (interaction_refused(res.stderr) or logged_in(ctx, owner) is False)


def read_keychain(host: Host, path: str, owner: LocalUser | None, session: bool | None = None) -> KeychainView:
    """One keychain, read as its user. ``session``: whether its user is logged in (None: unknown).

    Locked is decided by the session and by errSecInteractionNotAllowed's text, never by an exit status alone. A
    locked keychain whose attributes security(1) still lists (current macOS may allow it) comes back ``listed``."""
    run = runner(host, owner)
    dump = run([SECURITY, "dump-keychain", path])
    certs = run([SECURITY, "find-certificate", "-a", "-Z", path]) if dump.ok else dump
    for res in (dump, certs):
        if not res.ok and (interaction_refused(res.stderr) or (owner is not None and session is False)):
            return KeychainView(path, owner, True, [])
        if not res.ok:
            raise HostError(f"security could not read {path} (exit {res.returncode}): {res.stderr.strip()[:200]}")
    items = [i for i in parse_items(dump.stdout) if i.item_class != "cert"] + parse_items(certs.stdout)
    locked = owner is not None and session is False
    return KeychainView(path, owner, locked, items, listed=locked)


def read_all(ctx: RunContext, notes: list[str] | None = None, uids: frozenset[int] | None = _ASK) -> list[KeychainView]:
    """Every keychain of the Mac, read concurrently (each login keychain as its user).

    With ``notes``, a keychain that is skipped (symlinked path, shared home) or cannot be read is named
    there and the others go on; without, a read error raises. In a dry-run nothing changes between steps,
    so each keychain is read once and shared by the steps. ``uids``: a ``gui_session_uids`` answer already read.
    """
    sink: list[str] = [] if notes is None else notes
    found = keychains(ctx, sink)
    cache = ctx.cache.setdefault("keychains", {}) if ctx.options.dry_run else {}
    todo = [(p, o) for p, o in found if p not in cache]
    if uids is _ASK:
        uids = gui_session_uids(ctx.host) if any(o is not None for _, o in todo) else None
    sessions = {p: logged_in(ctx, o, uids) for p, o in todo}
    for (path, owner), view in zip(todo, in_parallel(lambda po: _read_or_error(ctx.host, po[0], po[1], sessions[po[0]]), todo), strict=True):
        if isinstance(view, HostError):
            if notes is None:
                raise view
            sink.append(f"skipped the {KeychainView(path, owner, False, []).who}: {view.message}")
            continue
        cache[path] = view
    return [cache[p] for p, _ in found if p in cache]


def _read_or_error(host: Host, path: str, owner: LocalUser | None, session: bool | None) -> KeychainView | HostError:
    try:
        return read_keychain(host, path, owner, session)
    except HostError as exc:
        return exc


def in_parallel(fn, items: list) -> list:
    """``[fn(i) for i in items]`` with a few security(1) calls in flight (keychains of different users)."""
    if len(items) < 2:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return list(pool.map(fn, items))


def item_text(item: KeychainItem) -> dict[str, str]:
    fields = TEXT_FIELDS.get(item.item_class, ("labl",))
    values = {"issuer_cn": item.issuer_cn, "subject_cn": item.subject_cn}
    out = {}
    for f in fields:
        v = values[f] if f in values else item.get(f)
        if isinstance(v, str) and v:
            out[f] = v
    return out


def describe(item: KeychainItem) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in item_text(item).items() if k != "desc")
    kind = {"genp": "generic password", "inet": "internet password", "cert": "certificate"}.get(item.item_class, item.item_class)
    if item.item_class == "key":
        kind = f"{item.key_kind or ''} key".strip()
    return f"{kind} {shown}".strip()


def fold(text: str) -> str:
    """Text as rules compare it: case-folded, any run of white space (newline, no-break space) as one space."""
    return " ".join(text.split()).casefold()


def is_protected_key(item: KeychainItem) -> bool:
    return item.item_class == "key" and _PROTECTED_KEY_WORD in fold(item.get("labl") or "")


def keys_sharing_hash(items: list[KeychainItem], cert: KeychainItem) -> list[KeychainItem]:
    """Every key whose hash (klbl) is the certificate's public-key hash: the ones delete-identity could take."""
    hpky = cert.get("hpky")
    return [it for it in items if it.item_class == "key" and hpky and it.get("klbl") == hpky]


def paired_private_key(view: KeychainView, cert: KeychainItem) -> KeychainItem | None:
    return next((k for k in keys_sharing_hash(view.items, cert) if k.key_kind == "private"), None)


def identity_problem(keys: list[KeychainItem], planned: bool) -> str | None:
    """Why ``delete-identity`` must not be used with these keys (those sharing the certificate's hash), or None.

    The identity delete takes a private key without naming it: it is used only when exactly one private key
    can be taken, it is no JAMF key, and that key is itself planned to go (``planned``)."""
    jamf = [k for k in keys if is_protected_key(k)]
    if jamf:
        return f"the JAMF key {jamf[0].get('labl')!r} shares its public-key hash, and JAMF keys are never removed"
    private = [k for k in keys if k.key_kind == "private"]
    if len(private) > 1:
        names = ", ".join(repr(k.get("labl")) for k in private)
        return f"its public-key hash matches {len(private)} private keys ({names}): security(1) could take any of them"
    if private and not planned:
        return f"its private key {private[0].get('labl')!r} is not matched by the rules"
    return None


_PASSWORD_FLAGS = {"genp": (("-s", "svce"), ("-a", "acct"), ("-l", "labl")), "inet": (("-s", "srvr"), ("-a", "acct"), ("-l", "labl"))}


def _password_query(item: KeychainItem) -> list[tuple[str, str]]:
    return [(flag, value) for flag, attr in _PASSWORD_FLAGS[item.item_class] if (value := item.get(attr))]


def _unaddressable(item: KeychainItem) -> str | None:
    """Which attribute of a password cannot be given to security(1) as it is stored, or None."""
    for _, attr in _PASSWORD_FLAGS[item.item_class]:
        value = item.get(attr)
        if attr in item.undecodable:
            return f"its {attr} is not text (printed as hex {value})"
        if value and "\0" in value:
            return f"its {attr} {value!r} holds a NUL byte, which no argument can carry"
    return None


def _same_query(query: list[tuple[str, str]], other: KeychainItem, cls: str) -> bool:
    if other.item_class != cls:
        return False
    flags = {"-s": "svce" if cls == "genp" else "srvr", "-a": "acct", "-l": "labl"}
    return all(other.get(flags[f]) == v for f, v in query)


def item_key(view: KeychainView, item: KeychainItem) -> str:
    ident = item.sha1 if item.item_class == "cert" else "|".join(str(item.get(a) or "") for a in ("svce", "srvr", "acct", "labl", "klbl"))
    return f"keychain:{view.path}:{item.item_class}:{ident}"


def item_identity(item: KeychainItem) -> list:
    """What tells an item apart when a keychain is read again: a certificate's SHA-1, a password's names."""
    if item.item_class == "cert":
        return ["cert", item.sha1]
    return [item.item_class, *(item.get(a) for a in ("svce", "srvr", "acct", "labl"))]


def plan_deletions(
    view: KeychainView, chosen: list[tuple[KeychainItem, str]], keys_go_with_certs: bool = False, losses: dict[int, str] | None = None
) -> tuple[list[Change], list[str]]:
    """Exact delete commands for ``chosen`` (item, why) in one keychain; items that cannot be deleted safely become notes.

    ``keys_go_with_certs``: a chosen certificate's own private key is planned with it (step 8's exact items);
    otherwise that key goes only when it is chosen itself. ``losses``: id(item) -> why deleting it loses user data
    (recorded on its change as ``user_data_loss``)."""
    changes: list[Change] = []
    notes: list[str] = []
    chosen_ids = {id(i) for i, _ in chosen}
    identities = [item_identity(i) for i in view.items]
    seen_keys: dict[str, int] = {}
    for item, why in chosen:
        base: dict[str, Any] = {"keychain": view.path, "owner": view.owner.name if view.owner else None, "class": item.item_class, "matched": why}
        if losses and id(item) in losses:
            base["user_data_loss"] = losses[id(item)]
        label = describe(item)
        if is_protected_key(item):
            notes.append(f"kept {label} in {view.who}: JAMF keys are never removed")
            continue
        if item.item_class in ("genp", "inet"):
            query = _password_query(item)
            if not query:
                notes.append(f"skipped {label} in {view.who}: no attribute to address it exactly")
                continue
            unaddressable = _unaddressable(item)
            if unaddressable:
                notes.append(f"refused {label} in {view.who}: security(1) cannot address it exactly ({unaddressable}); remove it in Keychain Access")
                continue
            others = [o for o in view.items if id(o) not in chosen_ids and _same_query(query, o, item.item_class)]
            if others:
                notes.append(f"refused {label} in {view.who}: the delete would also match {describe(others[0])}")
                continue
            verb = "delete-generic-password" if item.item_class == "genp" else "delete-internet-password"
            argv = [SECURITY, verb] + [x for pair in query for x in pair] + [view.path]
            base.update({k: item.get(k) for k in ("svce", "srvr", "acct", "labl") if item.get(k)})
        elif item.item_class == "cert":
            if not item.sha1:
                notes.append(f"skipped {label} in {view.who}: no SHA-1 to address it exactly")
                continue
            keys = keys_sharing_hash(view.items, item)
            private = [k for k in keys if k.key_kind == "private"]
            problem = identity_problem(keys, keys_go_with_certs or any(id(k) in chosen_ids for k in private))
            if private and problem is None:
                argv = [SECURITY, "delete-identity", "-Z", item.sha1, view.path]
                label += f" with its private key {private[0].get('labl')!r}"
                base["key"] = private[0].get("labl")
            else:
                argv = [SECURITY, "delete-certificate", "-Z", item.sha1, view.path]
                if problem:
                    notes.append(f"certificate {item.get('labl')!r} in {view.who} is removed alone (delete-certificate), its keys stay: {problem}")
            base.update({"sha1": item.sha1, "labl": item.get("labl"), "issuer_cn": item.issuer_cn, "hpky": item.get("hpky")})
        elif item.item_class == "key":
            owner_cert = next((c for c in view.items if c.item_class == "cert" and c.get("hpky") and c.get("hpky") == item.get("klbl")), None)
            if owner_cert is not None and item.key_kind == "private":
                notes.append(
                    f"{label} in {view.who} is not removed on its own: security(1) deletes it only with its "
                    f"certificate {owner_cert.get('labl')!r} (delete-identity)"
                )
            else:
                notes.append(f"cannot remove {label} in {view.who} with security(1), which cannot delete a key on its own: delete it in Keychain Access")
            continue
        else:
            notes.append(f"skipped {label} in {view.who}: unknown item class")
            continue
        key = item_key(view, item)
        n = seen_keys.get(key, 0)
        seen_keys[key] = n + 1
        if n:
            key += f"#{n}"
        ident = item_identity(item)
        # identical items are deleted one by one: after the n-th delete, at most `same - n - 1` are left
        base.update({"identity": ident, "same": identities.count(ident), "nth": n})
        changes.append(Change(key=key, kind=ChangeKind.DELETE_KEYCHAIN_ITEM, target=f"{label} ({view.who})", details={**base, "argv": argv}))
    return changes, notes


def locked_reason(view: KeychainView) -> str:
    name = view.owner.name if view.owner else "root"
    seen = f"its {len(view.items)} item(s) could be listed, but " if view.listed else "its items cannot be listed and "
    return f"{view.who} is locked ({name} is not logged in): {seen}none can be removed until {name} logs in; `cleanup resume` retries"


def block_locked(plan: StepPlan, view: KeychainView, changes: list[Change], notes: list[str]) -> None:
    """A locked keychain blocks the step; what it would change once its user logs in is named in the notes."""
    plan.blocked.append(locked_reason(view))
    if view.owner:
        plan.waiting_for.append(f"login:{view.owner.name}")
        plan.notes += [f"once {view.owner.name} logs in: {c.target}  [{c.details.get('matched', '')}]" for c in changes]
    plan.notes += notes
