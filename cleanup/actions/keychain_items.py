"""Reading keychains through ``security(1)`` and turning matched items into exact delete commands."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from cleanup.engine.context import RunContext
from cleanup.engine.plan import Change
from cleanup.errors import HostError
from cleanup.hosts.base import Host, LocalUser
from cleanup.parsers.security import INTERACTION_NOT_ALLOWED, KeychainItem, parse_items

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

    @property
    def who(self) -> str:
        return f"login keychain of {self.owner.name}" if self.owner else "System keychain"


def runner(host: Host, owner: LocalUser | None):
    return host.run if owner is None else partial(host.run_as_user, owner)


def keychains(ctx: RunContext) -> list[tuple[str, LocalUser | None]]:
    found: list[tuple[str, LocalUser | None]] = []
    if ctx.host.lstat(SYSTEM_KEYCHAIN):
        found.append((SYSTEM_KEYCHAIN, None))
    for user in ctx.users:
        path = f"{user.home}/{LOGIN_KEYCHAIN}"
        info = ctx.host.lstat(path)
        if info and info.kind == "file":
            found.append((path, user))
    return found


def read_keychain(host: Host, path: str, owner: LocalUser | None) -> KeychainView:
    run = runner(host, owner)
    dump = run([SECURITY, "dump-keychain", path])
    if dump.returncode == INTERACTION_NOT_ALLOWED:
        return KeychainView(path, owner, True, [])
    certs = run([SECURITY, "find-certificate", "-a", "-Z", path])
    for res in (dump, certs):
        if not res.ok:
            raise HostError(f"security could not read {path} (exit {res.returncode}): {res.stderr.strip()[:200]}")
    items = [i for i in parse_items(dump.stdout) if i.item_class != "cert"] + parse_items(certs.stdout)
    return KeychainView(path, owner, False, items)


def read_all(ctx: RunContext) -> list[KeychainView]:
    """Every keychain of the Mac, read concurrently (each login keychain as its user).

    In a dry-run nothing changes between steps, so each keychain is read once and shared by the steps.
    """
    found = keychains(ctx)
    cache = ctx.cache.setdefault("keychains", {}) if ctx.options.dry_run else {}
    todo = [(p, o) for p, o in found if p not in cache]
    for (path, _), view in zip(todo, in_parallel(lambda po: read_keychain(ctx.host, *po), todo)):
        cache[path] = view
    return [cache[p] for p, _ in found]


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


def is_protected_key(item: KeychainItem) -> bool:
    return item.item_class == "key" and _PROTECTED_KEY_WORD in (item.get("labl") or "").casefold()


def paired_private_key(view: KeychainView, cert: KeychainItem) -> KeychainItem | None:
    hpky = cert.get("hpky")
    for it in view.items:
        if it.item_class == "key" and it.key_kind == "private" and hpky and it.get("klbl") == hpky:
            return it
    return None


def _password_query(item: KeychainItem) -> list[tuple[str, str]]:
    names = (("-s", "svce"), ("-a", "acct"), ("-l", "labl")) if item.item_class == "genp" else (("-s", "srvr"), ("-a", "acct"), ("-l", "labl"))
    return [(flag, item.get(attr)) for flag, attr in names if item.get(attr)]


def _same_query(query: list[tuple[str, str]], other: KeychainItem, cls: str) -> bool:
    if other.item_class != cls:
        return False
    flags = {"-s": "svce" if cls == "genp" else "srvr", "-a": "acct", "-l": "labl"}
    return all(other.get(flags[f]) == v for f, v in query)


def item_key(view: KeychainView, item: KeychainItem) -> str:
    ident = item.sha1 if item.item_class == "cert" else "|".join(str(item.get(a) or "") for a in ("svce", "srvr", "acct", "labl", "klbl"))
    return f"keychain:{view.path}:{item.item_class}:{ident}"


def plan_deletions(view: KeychainView, chosen: list[tuple[KeychainItem, str]]) -> tuple[list[Change], list[str]]:
    """Exact delete commands for ``chosen`` (item, why) in one keychain; items that cannot be deleted safely become notes."""
    changes: list[Change] = []
    notes: list[str] = []
    chosen_ids = {id(i) for i, _ in chosen}
    seen_keys: dict[str, int] = {}
    for item, why in chosen:
        base = {"keychain": view.path, "owner": view.owner.name if view.owner else None, "class": item.item_class, "matched": why}
        label = describe(item)
        if is_protected_key(item):
            notes.append(f"kept {label} in {view.who}: JAMF keys are never removed")
            continue
        if item.item_class in ("genp", "inet"):
            query = _password_query(item)
            if not query:
                notes.append(f"skipped {label} in {view.who}: no attribute to address it exactly")
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
            key = paired_private_key(view, item)
            if key is not None and not is_protected_key(key):
                argv = [SECURITY, "delete-identity", "-Z", item.sha1, view.path]
                label += f" with its private key {key.get('labl')!r}"
            else:
                argv = [SECURITY, "delete-certificate", "-Z", item.sha1, view.path]
            base.update({"sha1": item.sha1, "labl": item.get("labl"), "issuer_cn": item.issuer_cn})
        elif item.item_class == "key":
            owner_cert = next((c for c in view.items if c.item_class == "cert" and c.get("hpky") and c.get("hpky") == item.get("klbl")), None)
            if owner_cert is not None and item.key_kind == "private":
                notes.append(
                    f"{label} in {view.who} is not removed on its own: security(1) deletes it only with its "
                    f"certificate {owner_cert.get('labl')!r} (delete-identity)"
                )
            else:
                notes.append(
                    f"cannot remove {label} in {view.who} with security(1), which cannot delete a key on its own: "
                    "delete it in Keychain Access"
                )
            continue
        else:
            notes.append(f"skipped {label} in {view.who}: unknown item class")
            continue
        key = item_key(view, item)
        n = seen_keys.get(key, 0)
        seen_keys[key] = n + 1
        if n:
            key += f"#{n}"
        changes.append(Change(key=key, kind="delete-keychain-item", target=f"{label} ({view.who})", details={**base, "argv": argv}))
    return changes, notes


def locked_reason(view: KeychainView) -> str:
    name = view.owner.name if view.owner else "root"
    return (
        f"{view.who} is locked ({name} is not logged in): its items cannot be listed or removed until "
        f"{name} logs in; `cleanup resume` retries"
    )
