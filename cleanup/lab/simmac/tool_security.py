"""The fake ``/usr/bin/security`` (keychains are JSON files; see builder)."""

from __future__ import annotations

import os

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac.fakes import ERR, Ctx, Fail, err, out, usage

# --------------------------------------------------------------------------- security: formatting
# As SecurityTool's print_buffer: bytes that are all printable ASCII (a backslash is not) print quoted, with `"`
# raw; anything else prints as hex followed by one space, then (when some byte is printable) one more space and
# the quoted rendering, where a backslash or a byte that is not printable ASCII is an octal escape.


def _printable(c: int) -> bool:
    return 0x20 <= c <= 0x7E and c != 0x5C


def _esc(b: bytes) -> str:
    return "".join(chr(c) if _printable(c) else f"\\{c:03o}" for c in b)


def buf(b: bytes) -> str:
    ascii_ = any(_printable(c) for c in b)
    hex_ = not all(_printable(c) for c in b)
    out = ""
    if hex_:
        out = "0x" + b.hex().upper() + ("  " if ascii_ else " ")
    if ascii_:
        out += '"' + _esc(b) + '"'
    return out


def blob(v) -> str:
    if v is None:
        return "<NULL>"
    return buf(v.encode() if isinstance(v, str) else bytes(v))


def timedate(v) -> str:
    return "<NULL>" if v is None else blob(v.encode() + b"\0")


def u32(v) -> str:
    """A uint32 as security(1) prints it: its 4 bytes, big-endian, through the same rendering as a blob."""
    if v is None:
        return "<NULL>"
    if isinstance(v, str):  # a four-char code ("htps", "aapl")
        return buf(v.encode()[:4].ljust(4, b"\0"))
    return buf(int(v).to_bytes(4, "big", signed=int(v) < 0))


def hexblob(h) -> str:
    return "<NULL>" if not h else blob(bytes.fromhex(h))


def _attr(tag, fmt: str, value: str) -> str:
    name = buf(tag.encode()) if isinstance(tag, str) else u32(tag)  # "acct" or 0x00000007 + its trailing space
    return f"    {name}<{fmt}>={value}"


def _password_attrs(item: dict) -> list[tuple]:
    """The attributes of a generic (genp) or internet (inet) password, in the order security(1) prints them."""
    common = [
        (7, "blob", blob(item.get("labl"))),  # the label (Keychain Access "Name"): never printed as "labl"
        (8, "blob", "<NULL>"),
        ("acct", "blob", blob(item.get("acct"))),
    ]
    if item["class"] == "inet":
        common.append(("atyp", "blob", blob(item.get("atyp", "dflt"))))
    common += [
        ("cdat", "timedate", timedate(item.get("cdat"))),
        ("crtr", "uint32", u32(item.get("crtr"))),
        ("cusi", "sint32", "<NULL>"),
        ("desc", "blob", blob(item.get("desc"))),
    ]
    if item["class"] == "genp":
        common.append(("gena", "blob", blob(item.get("gena"))))
    common += [
        ("icmt", "blob", blob(item.get("icmt"))),
        ("invi", "sint32", "<NULL>"),
        ("mdat", "timedate", timedate(item.get("mdat"))),
        ("nega", "sint32", "<NULL>"),
    ]
    if item["class"] == "genp":
        return common + [
            ("prot", "blob", "<NULL>"),
            ("scrp", "sint32", "<NULL>"),
            ("svce", "blob", blob(item.get("svce"))),
            ("type", "uint32", "<NULL>"),
        ]
    return common + [
        ("path", "blob", blob(item.get("path"))),
        ("port", "uint32", u32(item.get("port", 0))),
        ("prot", "blob", "<NULL>"),
        ("ptcl", "uint32", u32(item.get("ptcl") or 0)),
        ("scrp", "sint32", "<NULL>"),
        ("sdmn", "blob", blob(item.get("sdmn"))),
        ("srvr", "blob", blob(item.get("srvr"))),
        ("type", "uint32", "<NULL>"),
    ]


def _cert_attrs(item: dict) -> list[tuple]:
    subj = item.get("subject_cn") or item.get("labl") or ""
    return [
        ("alis", "blob", blob(item.get("alis"))),
        ("cenc", "uint32", u32(3)),
        ("ctyp", "uint32", u32(1)),
        ("hpky", "blob", hexblob(item.get("hpky"))),
        ("issu", "blob", blob(C.der_name(item.get("issuer_cn") or ""))),
        ("labl", "blob", blob(item.get("labl"))),
        ("skid", "blob", hexblob(item.get("skid") or item.get("hpky"))),
        ("snbr", "blob", hexblob(item.get("snbr") or (item.get("sha1") or "")[:32])),
        ("subj", "blob", blob(C.der_name(subj))),
    ]


def _key_attrs(item: dict, kcls: int) -> list[tuple]:
    private = item.get("key_kind") == "private"
    p, q = (1 if private else 0), (0 if private else 1)
    flags = [1, 1, p, 0, p, 0, q, p, p, q, p, q, p]  # 0x0E..0x1A: permanent, private, ... decrypt, sign, verify ...
    return [
        (0, "uint32", u32(kcls)),
        (1, "blob", blob(item.get("labl"))),
        (2, "blob", "<NULL>"),
        (3, "uint32", u32(1)),
        (4, "uint32", u32(0)),
        (5, "uint32", u32(0)),
        (6, "blob", hexblob(item.get("klbl"))),
        (7, "blob", "<NULL>"),
        (8, "blob", blob(b"{87191102-0c2c-11d1-b86b-00c04fa4a8de}" + b"\0" * 8)),
        (9, "uint32", u32(0x2A)),
        (10, "uint32", u32(0x800)),
        (11, "uint32", u32(0x800)),
        (12, "blob", blob(bytes(8))),
        (13, "blob", blob(bytes(8))),
        *((0x0E + i, "uint32", u32(f)) for i, f in enumerate(flags)),
    ]


def block(kc_mac: str, item: dict) -> list[str]:
    cls = item["class"]
    lines = [f"keychain: {blob(kc_mac)}", "version: 512"]
    if cls in ("genp", "inet"):
        lines.append(f"class: {buf(cls.encode())}")
        attrs = _password_attrs(item)
    elif cls == "cert":
        lines.append(f"class: {u32(0x80001000)}")
        attrs = _cert_attrs(item)
    elif cls == "key":
        kcls = 0x10 if item.get("key_kind") == "private" else 0x0F
        lines.append(f"class: {u32(kcls)}")
        attrs = _key_attrs(item, kcls)
    else:
        attrs = []
    lines.append("attributes:")
    return lines + [_attr(*a) for a in attrs]


# --------------------------------------------------------------------------- security: keychains


NOT_FOUND = "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain."
NO_INTERACTION = "User interaction is not allowed."


class Keychain:
    def __init__(self, mac: str, hp: str, data: dict):
        self.mac = mac
        self.hp = hp
        self.data = data

    @property
    def owner(self) -> str:
        return self.data.get("owner", "root")

    @property
    def items(self) -> list[dict]:
        return self.data.setdefault("items", [])

    def save(self) -> None:
        C.save_keychain(self.hp, self.data)


def _login_mac(ctx: Ctx, name: str) -> str | None:
    home = ctx.home_of(name)
    return f"{home}/{C.LOGIN_KEYCHAIN_REL}" if home else None


def search_list(ctx: Ctx) -> list[str]:
    lst = []
    if not ctx.is_root:
        lm = _login_mac(ctx, ctx.me["name"])
        if lm:
            lst.append(lm)
    lst.append(C.SYSTEM_KEYCHAIN)
    return lst


def _kc_mac(ctx: Ctx, arg: str) -> str:
    import posixpath

    if arg.startswith("/"):
        return posixpath.normpath(arg)
    home = ctx.me.get("home") or "/var/root"
    base = f"{home}/Library/Keychains/{arg}"
    if not os.path.exists(ctx.host(base)) and os.path.exists(ctx.host(base + "-db")):
        base += "-db"
    return base


def open_keychains(ctx: Ctx, args: list[str], op: str, prefix: str, code: int = 36) -> list[Keychain]:
    """Open the named keychains (or the search list), checking access for ``op`` (see ``check_access``)."""
    explicit = bool(args)
    macs = [_kc_mac(ctx, a) for a in args] if explicit else search_list(ctx)
    kcs = []
    for mac in macs:
        hp = ctx.host(mac)
        if not os.path.isfile(hp):
            if explicit:
                raise Fail(50, f"security: SecKeychainOpen {mac}: The specified keychain could not be found.")
            continue
        try:
            data = C.load_keychain(hp)
        except Exception:
            raise Fail(50, f"security: SecKeychainOpen {mac}: The specified keychain is not a valid keychain file.") from None
        kc = Keychain(mac, hp, data)
        check_access(ctx, kc, op, prefix, code)
        kcs.append(kc)
    return kcs


def searchable(ctx: Ctx, args: list[str]) -> list[Keychain]:
    """The keychains a find-*/delete-*-password search sees. A search a locked keychain refuses finds nothing:
    SecurityTool's find_first_*_password turns any search error into errSecItemNotFound (exit 44)."""
    kcs = open_keychains(ctx, args, "open", "SecKeychainSearchCopyNext")
    return [kc for kc in kcs if unlocked(ctx, kc) or locked_keychains_list(ctx)]


def unlocked(ctx: Ctx, kc: Keychain) -> bool:
    """Unlocked for the caller: the System keychain, or a login keychain read by its own user while logged in."""
    if kc.owner == "root":
        return True
    return ctx.me["name"] == kc.owner and kc.owner in (ctx.state.get("logged_in") or [])


def locked_keychains_list(ctx: Ctx) -> bool:
    """Lab knob ``locked_keychains_list`` (state.json): whether the attributes of a locked keychain can still be
    listed. The reference leaves it open for current macOS; default False (every search is refused)."""
    return bool(ctx.state.get("locked_keychains_list"))


def check_access(ctx: Ctx, kc: Keychain, op: str, prefix: str, code: int = 36) -> None:
    """``op``: "open" (no check), "list" (attributes), "secret" (a password's data) or "write". A keychain that would
    need its user fails with errSecInteractionNotAllowed: exit ``code`` (dump-keychain 1, the other verbs its low
    byte, 36)."""
    if op == "open":
        return
    if kc.owner == "root":
        if op == "write" and not ctx.is_root:
            raise Fail(51, f"security: {prefix}: UNIX[Operation not permitted]")
        return
    if unlocked(ctx, kc) or (op == "list" and locked_keychains_list(ctx)):
        return
    raise Fail(code, f"security: {prefix}: {NO_INTERACTION}")


def _getopt(argv: list[str], spec: str, use: str):
    """POSIX short options as security(1) parses them (getopt(3)): clustered flags, ``-sVALUE`` or ``-s VALUE``,
    ``--`` ends options, the first operand ends them. (The getopt module would import gettext/re: ~8 ms a call.)"""
    d: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        j = 1
        while j < len(a):
            c = a[j]
            at = spec.find(c)
            if c == ":" or at < 0:
                usage(use)
            if at + 1 < len(spec) and spec[at + 1] == ":":
                value = a[j + 1 :]
                if not value:
                    i += 1
                    if i >= len(argv):
                        usage(use)
                    value = argv[i]
                d.setdefault(c, []).append(value)
                break
            d.setdefault(c, []).append("")
            j += 1
        i += 1
    return d, argv[i:]


_PW_ATTRS = {"a": "acct", "s": "svce", "l": "labl", "D": "desc", "j": "icmt", "c": "crtr", "C": "type", "G": "gena"}
_INET_ATTRS = {"a": "acct", "s": "srvr", "l": "labl", "p": "path", "r": "ptcl", "d": "sdmn", "D": "desc", "j": "icmt", "c": "crtr", "C": "type"}


def _match_attrs(item: dict, cls: str, opts: dict, attrs: dict) -> bool:
    if item.get("class") != cls:
        return False
    for flag, key in attrs.items():
        if flag in opts:
            want = opts[flag][-1]
            if key == "port":
                continue
            have = item.get(key)
            if have is None or str(have) != want:
                return False
    if cls == "inet" and "P" in opts:
        return str(item.get("port", 0)) == opts["P"][-1]
    return True


def _find_pw(ctx: Ctx, argv: list[str], cls: str):
    use = (
        f"usage: find-{'generic' if cls == 'genp' else 'internet'}-password [-a account] [-s "
        f"{'service' if cls == 'genp' else 'server'}] [-l label] [-g] [-w] [keychain...]"
    )
    spec = "a:c:C:D:G:j:l:s:gw" if cls == "genp" else "a:c:C:d:D:j:l:p:P:r:s:t:gw"
    opts, args = _getopt(argv, spec, use)
    attrs = _PW_ATTRS if cls == "genp" else _INET_ATTRS
    for kc in searchable(ctx, args):
        for item in kc.items:
            if _match_attrs(item, cls, opts, attrs):
                secret = unlocked(ctx, kc)  # a locked keychain may list attributes, never a password
                if "w" in opts:
                    if not secret:
                        return 36
                    out(item.get("password") or "")
                    return 0
                for line in block(kc.mac, item):
                    out(line)
                if "g" in opts:
                    err(f"password: {blob(item.get('password') or '') if secret else ''}")
                    return 0 if secret else 36
                return 0
    raise Fail(44, NOT_FOUND)


def _delete_pw(ctx: Ctx, argv: list[str], cls: str):
    kind = "generic" if cls == "genp" else "internet"
    use = f"usage: delete-{kind}-password [-a account] [-s {'service' if cls == 'genp' else 'server'}] [-l label] [keychain...]"
    spec = "a:c:C:D:G:j:l:s:" if cls == "genp" else "a:c:C:d:D:j:l:p:P:r:s:t:"
    opts, args = _getopt(argv, spec, use)
    attrs = _PW_ATTRS if cls == "genp" else _INET_ATTRS
    ctx.lock()
    for kc in searchable(ctx, args):
        for idx, item in enumerate(kc.items):
            if _match_attrs(item, cls, opts, attrs):
                for line in block(kc.mac, item):
                    out(line)
                # SecurityTool prints the confirmation whatever SecKeychainItemDelete returned, and exits with its status
                err("password has been deleted.")
                try:
                    check_access(ctx, kc, "write", "SecKeychainItemDelete")
                except Fail as refused:
                    return refused.code
                del kc.items[idx]
                kc.save()
                return 0
    raise Fail(44, NOT_FOUND)


def _certs(kcs: list[Keychain]):
    for kc in kcs:
        for item in kc.items:
            if item.get("class") == "cert":
                yield kc, item


def sec_find_certificate(ctx: Ctx, argv: list[str]):
    opts, args = _getopt(argv, "ac:e:mZ", "usage: find-certificate [-a] [-c name] [-e emailAddress] [-m] [-Z] [keychain...]")
    name = opts.get("c", [None])[-1]
    email = opts.get("e", [None])[-1]
    found = []
    for kc, item in _certs(open_keychains(ctx, args, "list", "SecKeychainSearchCopyNext")):
        if name is not None and name.casefold() not in _common_name(item).casefold():
            continue
        if email is not None and email != item.get("email"):
            continue
        found.append((kc, item))
        if "a" not in opts:
            break
    for kc, item in found:
        if "Z" in opts:
            out(f"SHA-256 hash: {item['sha256']}")
            out(f"SHA-1 hash: {item['sha1']}")
        for line in block(kc.mac, item):
            out(line)
    return 0


def sec_dump_keychain(ctx: Ctx, argv: list[str]):
    opts, args = _getopt(argv, "adir", "usage: dump-keychain [-adir] [keychain...]")
    # dump-keychain returns 1 for any search error (errSecInteractionNotAllowed included), never the status
    for kc in open_keychains(ctx, args, "secret" if "d" in opts else "list", "SecKeychainSearchCopyNext", code=1):
        for item in kc.items:
            for line in block(kc.mac, item):
                out(line)
            if "d" in opts and item.get("class") in ("genp", "inet"):
                out("data:")
                out(blob(item.get("password") or ""))
    return 0


def _common_name(item: dict) -> str:
    return item.get("subject_cn") or item.get("labl") or ""


def _cert_by_hash(kcs, sha1: str):
    return next(((kc, it) for kc, it in _certs(kcs) if (it.get("sha1") or "").upper() == sha1.upper()), None)


def _unique_by_name(kcs, name: str):
    """SecurityTool's find_unique_certificate for ``-c``: the common name contains ``name`` (case-insensitive);
    a whole-name match beats a partial one; two of the same kind are ambiguous (None, after an error line)."""
    found = None
    exact = False
    for kc, it in _certs(kcs):
        cn = _common_name(it)
        if name.casefold() not in cn.casefold():
            continue
        is_exact = cn.casefold() == name.casefold()
        if found is not None:
            if exact and not is_exact:
                continue
            if exact == is_exact:
                err(f'security: "{name}" is ambiguous, matches more than one certificate')
                return None
        found, exact = (kc, it), is_exact
    return found


def _delete_cert_like(ctx: Ctx, argv: list[str], identity: bool):
    what = "identity" if identity else "certificate"
    use = f"usage: delete-{what} [-c name] [-Z hash] [-t] [keychain...]"
    opts, args = _getopt(argv, "c:Z:t", use)
    if "Z" not in opts and "c" not in opts:
        usage(use)
    ctx.lock()
    kcs = searchable(ctx, args)  # a refused search ends find_unique_certificate's loop: "Unable to delete ..."
    key = opts["Z"][-1] if "Z" in opts else opts["c"][-1]
    found = _cert_by_hash(kcs, key) if "Z" in opts else _unique_by_name(kcs, key)
    if found is None:
        ERR.write(f'Unable to delete certificate matching "{key}"')  # SecurityTool prints no newline here
        return 1
    kc, cert = found
    check_access(ctx, kc, "write", "SecKeychainItemDelete")
    # delete-identity takes the private key whose hash is the certificate's public-key hash, when one is visible;
    # without one it deletes the certificate alone and still succeeds
    taken = None
    if identity:
        taken = next((k for k in kc.items if k.get("class") == "key" and k.get("key_kind") == "private" and k.get("klbl") == cert.get("hpky")), None)
    kc.data["items"] = [it for it in kc.items if it is not cert and it is not taken]
    kc.save()
    return 0


def _pref_keychains(ctx: Ctx, args: list[str], op: str, prefix: str) -> list[Keychain]:
    return open_keychains(ctx, args, op, prefix)


def sec_get_identity_preference(ctx: Ctx, argv: list[str]):
    opts, args = _getopt(argv, "s:u:Z", "usage: get-identity-preference [-s service] [-u keyUsage] [-Z] [keychain...]")
    if "s" not in opts:
        usage("usage: get-identity-preference [-s service] [-u keyUsage] [-Z] [keychain...]")
    svc = opts["s"][-1]
    kcs = _pref_keychains(ctx, args, "list", "SecIdentityCopyPreferred")
    notfound = "security: SecIdentityCopyPreferred: The specified item could not be found in the keychain."
    for kc in kcs:
        sha1 = (kc.data.get("identity_preferences") or {}).get(svc)
        if not sha1:
            continue
        for ckc, cert in _certs(kcs):
            if (cert.get("sha1") or "").upper() == sha1.upper():
                if "Z" in opts:
                    out(f"SHA-1 hash: {cert['sha1']}")
                for line in block(ckc.mac, cert):
                    out(line)
                return 0
        raise Fail(44, notfound)
    raise Fail(44, notfound)


def sec_set_identity_preference(ctx: Ctx, argv: list[str]):
    use = "usage: set-identity-preference [-n] [-c identity] [-s service] [-u keyUsage] [-Z hash] [keychain...]"
    opts, args = _getopt(argv, "nc:s:u:Z:", use)
    if "s" not in opts or not ("n" in opts or "c" in opts or "Z" in opts):
        usage(use)
    svc = opts["s"][-1]
    ctx.lock()
    # without a keychain argument the preference goes to (is cleared from) the default keychain
    kcs = _pref_keychains(ctx, args or search_list(ctx)[:1], "write", "SecIdentitySetPreferred")
    if "n" in opts:
        for kc in kcs:
            prefs = kc.data.get("identity_preferences") or {}
            if svc in prefs:
                del prefs[svc]
                kc.save()
        return 0
    found = _cert_by_hash(kcs, opts["Z"][-1]) if "Z" in opts else _unique_by_name(kcs, opts["c"][-1])
    if found is None:
        raise Fail(44, "security: SecIdentitySetPreferred: The specified item could not be found in the keychain.")
    target = kcs[0]
    target.data.setdefault("identity_preferences", {})[svc] = found[1]["sha1"]
    target.save()
    return 0


def sec_show_keychain_info(ctx: Ctx, argv: list[str]):
    _opts, args = _getopt(argv, "", "usage: show-keychain-info [keychain]")
    if len(args) > 1:
        usage("usage: show-keychain-info [keychain]")
    mac = _kc_mac(ctx, args[0]) if args else search_list(ctx)[0]
    hp = ctx.host(mac)
    if not os.path.isfile(hp):
        raise Fail(50, f"security: SecKeychainCopySettings {mac}: The specified keychain could not be found.")
    kc = Keychain(mac, hp, C.load_keychain(hp))
    check_access(ctx, kc, "secret", f"SecKeychainCopySettings {mac}")
    out(f'Keychain "{mac}" no-timeout')
    return 0


def sec_list_keychains(ctx: Ctx, argv: list[str]):
    opts, args = _getopt(argv, "d:", "usage: list-keychains [-d user|system|common|dynamic]")
    if args:
        usage("usage: list-keychains [-d user|system|common|dynamic]")
    dom = opts.get("d", ["user"])[-1]
    if dom not in ("user", "system", "common", "dynamic"):
        usage("usage: list-keychains [-d user|system|common|dynamic]")
    if dom == "system":
        lst = [C.SYSTEM_KEYCHAIN]
    elif dom == "dynamic":
        lst = []
    else:
        lst = search_list(ctx)
    for mac in lst:
        out(f'    "{mac}"')
    return 0


def sec_default_keychain(ctx: Ctx, argv: list[str]):
    if argv:
        usage("usage: default-keychain")
    out(f'    "{search_list(ctx)[0]}"')
    return 0


SECURITY = {
    "list-keychains": sec_list_keychains,
    "default-keychain": sec_default_keychain,
    "find-certificate": sec_find_certificate,
    "find-generic-password": lambda c, a: _find_pw(c, a, "genp"),
    "find-internet-password": lambda c, a: _find_pw(c, a, "inet"),
    "dump-keychain": sec_dump_keychain,
    "delete-generic-password": lambda c, a: _delete_pw(c, a, "genp"),
    "delete-internet-password": lambda c, a: _delete_pw(c, a, "inet"),
    "delete-certificate": lambda c, a: _delete_cert_like(c, a, False),
    "delete-identity": lambda c, a: _delete_cert_like(c, a, True),
    "get-identity-preference": sec_get_identity_preference,
    "set-identity-preference": sec_set_identity_preference,
    "show-keychain-info": sec_show_keychain_info,
}


def t_security(ctx: Ctx, argv: list[str]):
    while argv and argv[0] in ("-q", "-v", "-l", "-i"):
        argv = argv[1:]
    if not argv or argv[0] not in SECURITY:
        what = f'unknown command "{argv[0]}"' if argv else "no command"
        usage(f"security: {what}\nusage: security [-h] [-q] [-v] command [opt ...]")
    return SECURITY[argv[0]](ctx, argv[1:])
