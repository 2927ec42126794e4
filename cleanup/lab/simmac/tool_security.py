"""The fake ``/usr/bin/security`` (keychains are JSON files; see builder)."""

from __future__ import annotations

import os

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac.fakes import Ctx, Fail, err, out, usage

# --------------------------------------------------------------------------- security: formatting


def _esc(b: bytes) -> str:
    """The quoted rendering: ``"`` raw, a backslash or a byte that is not printable ASCII as octal."""
    return "".join(chr(c) if 0x20 <= c <= 0x7E and c != 0x5C else f"\\{c:03o}" for c in b)


def blob(v) -> str:
    if v is None:
        return "<NULL>"
    b = v.encode() if isinstance(v, str) else bytes(v)
    printable = [0x20 <= c <= 0x7E for c in b]
    if all(printable):
        return '"' + _esc(b) + '"'
    s = "0x" + b.hex().upper()
    return s + ('  "' + _esc(b) + '"' if any(printable) else " ")  # a hex-only value ends with one space


def timedate(v) -> str:
    return "<NULL>" if v is None else blob(v.encode() + b"\0")


def u32(v) -> str:
    return "<NULL>" if v is None else f"0x{int(v):08X}"


def hexblob(h) -> str:
    return "<NULL>" if not h else blob(bytes.fromhex(h))


def block(kc_mac: str, item: dict) -> list[str]:
    cls = item["class"]
    lines = [f'keychain: "{kc_mac}"', "version: 512"]
    if cls == "genp":
        lines += [
            'class: "genp"',
            "attributes:",
            f"    0x00000007 <blob>={blob(item.get('labl'))}",
            "    0x00000008 <blob>=<NULL>",
            f'    "acct"<blob>={blob(item.get("acct"))}',
            f'    "cdat"<timedate>={timedate(item.get("cdat"))}',
            f'    "crtr"<uint32>={u32(item.get("crtr"))}',
            f'    "desc"<blob>={blob(item.get("desc"))}',
            f'    "gena"<blob>={blob(item.get("gena"))}',
            f'    "mdat"<timedate>={timedate(item.get("mdat"))}',
            f'    "svce"<blob>={blob(item.get("svce"))}',
        ]
    elif cls == "inet":
        ptcl = item.get("ptcl")
        lines += [
            'class: "inet"',
            "attributes:",
            f"    0x00000007 <blob>={blob(item.get('labl'))}",
            "    0x00000008 <blob>=<NULL>",
            f'    "acct"<blob>={blob(item.get("acct"))}',
            '    "atyp"<blob>="dflt"',
            f'    "cdat"<timedate>={timedate(item.get("cdat"))}',
            f'    "crtr"<uint32>={u32(item.get("crtr"))}',
            f'    "desc"<blob>={blob(item.get("desc"))}',
            '    "icmt"<blob>=<NULL>',
            f'    "mdat"<timedate>={timedate(item.get("mdat"))}',
            f'    "path"<blob>={blob(item.get("path"))}',
            f'    "port"<uint32>={u32(item.get("port", 0))}',
            f'    "ptcl"<uint32>={blob(ptcl) if ptcl else "0x00000000"}',
            '    "sdmn"<blob>=<NULL>',
            f'    "srvr"<blob>={blob(item.get("srvr"))}',
        ]
    elif cls == "cert":
        subj = item.get("subject_cn") or item.get("labl") or ""
        lines += [
            "class: 0x80001000",
            "attributes:",
            f'    "alis"<blob>={blob(item.get("alis"))}',
            '    "cenc"<uint32>=0x00000003',
            '    "ctyp"<uint32>=0x00000001',
            f'    "hpky"<blob>={hexblob(item.get("hpky"))}',
            f'    "issu"<blob>={blob(C.der_name(item.get("issuer_cn") or ""))}',
            f'    "labl"<blob>={blob(item.get("labl"))}',
            f'    "skid"<blob>={hexblob(item.get("skid") or item.get("hpky"))}',
            f'    "snbr"<blob>={hexblob(item.get("snbr") or (item.get("sha1") or "")[:32])}',
            f'    "subj"<blob>={blob(C.der_name(subj))}',
        ]
    elif cls == "key":
        private = item.get("key_kind") == "private"
        kcls = 0x10 if private else 0x0F
        lines += [
            f"class: 0x{kcls:08X}",
            "attributes:",
            f"    0x00000000 <uint32>=0x{kcls:08X}",
            f"    0x00000001 <blob>={blob(item.get('labl'))}",
            "    0x00000002 <blob>=<NULL>",
            "    0x00000003 <uint32>=0x00000001",
            "    0x00000004 <uint32>=0x00000000",
            "    0x00000005 <uint32>=0x00000000",
            f"    0x00000006 <blob>={hexblob(item.get('klbl'))}",
            "    0x00000007 <blob>=<NULL>",
            "    0x00000008 <blob>=" + blob(b"{87191102-0c2c-11d1-b86b-00c04fa4a8de}" + b"\0" * 8),
            "    0x00000009 <uint32>=0x0000002A",
            "    0x0000000A <uint32>=0x00000800",
            "    0x0000000B <uint32>=0x00000800",
            "    0x0000000C <blob>=0x0000000000000000",
            "    0x0000000D <blob>=0x0000000000000000",
            "    0x0000000E <uint32>=0x00000001",
            "    0x0000000F <uint32>=0x00000001",
            "    0x00000010 <uint32>=0x%08X" % (1 if private else 0),
            "    0x00000011 <uint32>=0x00000000",
            "    0x00000012 <uint32>=0x%08X" % (1 if private else 0),
            "    0x00000013 <uint32>=0x00000000",
            "    0x00000014 <uint32>=0x%08X" % (0 if private else 1),
            "    0x00000015 <uint32>=0x%08X" % (1 if private else 0),
            "    0x00000016 <uint32>=0x%08X" % (1 if private else 0),
            "    0x00000017 <uint32>=0x%08X" % (0 if private else 1),
            "    0x00000018 <uint32>=0x%08X" % (1 if private else 0),
            "    0x00000019 <uint32>=0x%08X" % (0 if private else 1),
            "    0x0000001A <uint32>=0x%08X" % (1 if private else 0),
        ]
    return lines


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


def open_keychains(ctx: Ctx, args: list[str], op: str, prefix: str) -> list[Keychain]:
    """Open the named keychains (or the search list), checking access for ``op`` ("read"/"write")."""
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
        check_access(ctx, kc, op, prefix)
        kcs.append(kc)
    return kcs


def unlocked(ctx: Ctx, kc: Keychain) -> bool:
    owner = kc.owner
    if owner == "root":
        return True
    return owner in (ctx.state.get("logged_in") or [])


def check_access(ctx: Ctx, kc: Keychain, op: str, prefix: str) -> None:
    if kc.owner == "root":
        if op == "write" and not ctx.is_root:
            raise Fail(51, f"security: {prefix}: UNIX[Operation not permitted]")
        return
    if ctx.me["name"] != kc.owner or not unlocked(ctx, kc):
        raise Fail(36, f"security: {prefix}: {NO_INTERACTION}")


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
    for kc in open_keychains(ctx, args, "read", "SecKeychainSearchCopyNext"):
        for item in kc.items:
            if _match_attrs(item, cls, opts, attrs):
                if "w" in opts:
                    out(item.get("password") or "")
                    return 0
                for line in block(kc.mac, item):
                    out(line)
                if "g" in opts:
                    err(f"password: {blob(item.get('password') or '')}")
                return 0
    raise Fail(44, NOT_FOUND)


def _delete_pw(ctx: Ctx, argv: list[str], cls: str):
    kind = "generic" if cls == "genp" else "internet"
    use = f"usage: delete-{kind}-password [-a account] [-s {'service' if cls == 'genp' else 'server'}] [-l label] [keychain...]"
    spec = "a:c:C:D:G:j:l:s:" if cls == "genp" else "a:c:C:d:D:j:l:p:P:r:s:t:"
    opts, args = _getopt(argv, spec, use)
    attrs = _PW_ATTRS if cls == "genp" else _INET_ATTRS
    ctx.lock()
    for kc in open_keychains(ctx, args, "read", "SecKeychainItemDelete"):
        for idx, item in enumerate(kc.items):
            if _match_attrs(item, cls, opts, attrs):
                check_access(ctx, kc, "write", "SecKeychainItemDelete")
                for line in block(kc.mac, item):
                    out(line)
                del kc.items[idx]
                kc.save()
                out("password has been deleted.")
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
    for kc, item in _certs(open_keychains(ctx, args, "read", "SecKeychainSearchCopyNext")):
        if name is not None and name not in (item.get("labl") or ""):
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
    for kc in open_keychains(ctx, args, "read", "SecKeychainSearchCopyNext"):
        for item in kc.items:
            for line in block(kc.mac, item):
                out(line)
            if "d" in opts and item.get("class") in ("genp", "inet"):
                out("data:")
                out(blob(item.get("password") or ""))
    return 0


def _select_certs(ctx, kcs, opts, what: str):
    if "Z" in opts:
        h = opts["Z"][-1].upper()
        key = h
        sel = [(kc, it) for kc, it in _certs(kcs) if (it.get("sha1") or "").upper() == h]
    elif "c" in opts:
        key = opts["c"][-1]
        sel = [(kc, it) for kc, it in _certs(kcs) if key in (it.get("labl") or "")]
    else:
        usage(f"usage: delete-{what} [-c name] [-Z hash] [-t] [keychain...]")
    return key, sel


def _delete_cert_like(ctx: Ctx, argv: list[str], identity: bool):
    what = "identity" if identity else "certificate"
    opts, args = _getopt(argv, "c:Z:t", f"usage: delete-{what} [-c name] [-Z hash] [-t] [keychain...]")
    ctx.lock()
    kcs = open_keychains(ctx, args, "read", "SecKeychainItemDelete")
    key, sel = _select_certs(ctx, kcs, opts, what)
    if identity:
        sel = [
            (kc, it) for kc, it in sel if any(k.get("class") == "key" and k.get("key_kind") == "private" and k.get("klbl") == it.get("hpky") for k in kc.items)
        ]
    if not sel:
        raise Fail(44, f'Unable to delete {what} matching "{key}"')
    if len(sel) > 1 and "Z" not in opts:
        raise Fail(1, f'security: delete-{what}: "{key}" is ambiguous ({len(sel)} {what}s match); use -Z')
    kc, cert = sel[0]
    check_access(ctx, kc, "write", "SecKeychainItemDelete")
    keep = []
    for it in kc.items:
        if it is cert:
            continue
        if identity and it.get("class") == "key" and it.get("key_kind") == "private" and it.get("klbl") == cert.get("hpky"):
            continue
        keep.append(it)
    kc.data["items"] = keep
    kc.save()
    return 0


def _pref_keychains(ctx: Ctx, args: list[str], op: str, prefix: str) -> list[Keychain]:
    return open_keychains(ctx, args, op, prefix)


def sec_get_identity_preference(ctx: Ctx, argv: list[str]):
    opts, args = _getopt(argv, "s:u:Z", "usage: get-identity-preference [-s service] [-u keyUsage] [-Z] [keychain...]")
    if "s" not in opts:
        usage("usage: get-identity-preference [-s service] [-u keyUsage] [-Z] [keychain...]")
    svc = opts["s"][-1]
    kcs = _pref_keychains(ctx, args, "read", "SecIdentityCopyPreferred")
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
    _key, sel = _select_certs(ctx, kcs, opts, "identity")
    if not sel:
        raise Fail(44, "security: SecIdentitySetPreferred: The specified item could not be found in the keychain.")
    target = kcs[0]
    target.data.setdefault("identity_preferences", {})[svc] = sel[0][1]["sha1"]
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
    check_access(ctx, kc, "read", f"SecKeychainCopySettings {mac}")
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
