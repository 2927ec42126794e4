"""Parsers for ``security(1)`` output: keychain items, keychain lists, identity preferences.

Pure functions: text in, facts out. ``parse_items`` never raises on odd input: lines it does not know
are ignored, values it cannot decode are kept as their raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ITEM_NOT_FOUND = 44  # exit status of find-*, delete-*-password, get-identity-preference for errSecItemNotFound
#: errSecInteractionNotAllowed as the low byte of an exit status (find-certificate, delete-*-password); dump-keychain
#: exits 1 for it instead, so only its text says "locked": see ``interaction_refused``
INTERACTION_NOT_ALLOWED = 36
NO_INTERACTION_TEXT = "User interaction is not allowed."
#: delete-certificate and delete-identity for a certificate that is not there: exit 1 and this text (no newline)
CERT_NOT_FOUND_TEXT = "Unable to delete certificate matching"

CERT_CLASS = 0x80001000
#: CSSM record types of keys -> key_kind
KEY_CLASSES: dict[int, str | None] = {
    0x0000000E: None,
    0x0000000F: "public",
    0x00000010: "private",
    0x00000011: "symmetric",
}
#: numeric attribute names of key records -> the names the rest of the tool uses
KEY_ATTR_NAMES = {"0x00000001": "labl", "0x00000002": "alis", "0x00000006": "klbl"}
#: numeric attribute names of password records: the label (Keychain Access "Name") is printed only as 0x00000007
PASSWORD_ATTR_NAMES = {"0x00000007": "labl"}
PASSWORD_CLASSES = ("genp", "inet")
#: attributes that are binary identifiers: always kept as upper hex (no 0x)
BINARY_ATTRS = frozenset({"hpky", "skid", "snbr", "issu", "subj", "klbl"})
#: attributes that are text (names matched by rules, or used to address an item): any UTF-8 is text, a
#: newline or a no-break space included; bytes that are not UTF-8 stay hex and are flagged ``undecodable``
TEXT_ATTRS = frozenset({"labl", "svce", "acct", "srvr", "desc", "icmt", "alis", "path", "sdmn"})


@dataclass(frozen=True)
class KeychainItem:
    keychain: str  # Mac path from the `keychain: "..."` line
    item_class: str  # "genp" | "inet" | "cert" | "key" | raw class text for anything else
    attrs: dict = field(hash=False)  # attribute name -> str | int | None
    sha1: str | None = None  # upper hex, from "SHA-1 hash:" lines
    sha256: str | None = None
    issuer_cn: str | None = None
    subject_cn: str | None = None
    key_kind: str | None = None  # keys: "private" | "public" | "symmetric" | None
    undecodable: frozenset = frozenset()  # text attributes whose bytes are not UTF-8 (kept as hex)

    def get(self, name: str) -> str | None:
        """An attribute as text (ints as decimal text); None when absent or <NULL>."""
        value = self.attrs.get(name)
        if value is None:
            return None
        return str(value)


def interaction_refused(stderr: str) -> bool:
    """security(1) needed its user and could not ask (a locked keychain, no GUI session): errSecInteractionNotAllowed.

    Its text is the signal, whatever the exit status: dump-keychain exits 1 for it, other verbs 36."""
    return NO_INTERACTION_TEXT.rstrip(".") in (stderr or "")


def certificate_not_found(returncode: int, stderr: str) -> bool:
    """``delete-certificate`` / ``delete-identity`` found no certificate to delete (exit 1, not 44)."""
    return returncode == 1 and CERT_NOT_FOUND_TEXT in (stderr or "")


# --------------------------------------------------------------------------- text helpers
_OCTAL = re.compile(r"\\([0-7]{3})|\\(.)", re.S)


def unescape_bytes(text: str) -> bytes:
    """Undo security(1)'s rendering: ``\\ooo`` octal bytes, ``\\"`` and ``\\\\``; other text as UTF-8."""
    out = bytearray()
    pos = 0
    for m in _OCTAL.finditer(text):
        out += text[pos : m.start()].encode("utf-8", "surrogateescape")
        if m.group(1) is not None:
            out.append(int(m.group(1), 8) & 0xFF)
        else:
            out += m.group(2).encode("utf-8", "surrogateescape")
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _unquote(text: str) -> str:
    """``"..."`` -> its unescaped content (decoded as UTF-8); unquoted text is returned stripped."""
    t = text.strip()
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        t = t[1:-1]
    return unescape_bytes(t).decode("utf-8", "replace")


def _printable_text(data: bytes) -> str | None:
    """``data`` as text when it is printable UTF-8 (trailing NULs of a C string allowed), else None."""
    stripped = data.rstrip(b"\0")
    if not stripped:
        return None if data else ""
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


_HEX_VALUE = re.compile(r'^0x(?P<hex>[0-9A-Fa-f]*)(?:\s+"(?P<txt>.*)")?$', re.S)
_ATTR_LINE = re.compile(r'^\s+(?:"(?P<name>[^"]*)"|(?P<num>0x[0-9A-Fa-f]+))\s*<(?P<type>[^>]*)>=(?P<value>.*)$')
_HASH_LINE = re.compile(r"^\s*SHA-(?P<alg>1|256) hash:\s*(?P<hex>[0-9A-Fa-f]+)\s*$")
_KEYCHAIN_LINE = re.compile(r"^\s*keychain:\s*(?P<value>.*)$")
_CLASS_LINE = re.compile(r"^\s*class:\s*(?P<value>.*)$")


def _utf8_text(data: bytes) -> str | None:
    """``data`` as text when it is UTF-8 (trailing NULs of a C string dropped), else None."""
    try:
        return data.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_value(name: str, vtype: str, raw: str) -> tuple[str | int | None, bool]:
    """One attribute value and whether it is a text attribute whose bytes are not text."""
    value = _decode_raw(name, vtype, raw)
    if isinstance(value, bytes):  # only a text attribute's value comes back as bytes
        text = _utf8_text(value)
        return (text, False) if text is not None else (value.hex().upper(), True)
    if name not in TEXT_ATTRS or value is None:
        return value, False
    return value, True  # printed in a form we do not know: the raw text is not the item's bytes


def _decode_raw(name: str, vtype: str, raw: str) -> bytes | str | int | None:
    """One attribute value, as described in the module doc and the spec; text attributes as their bytes."""
    raw = raw.strip()
    vtype = vtype.strip().lower()
    if raw == "<NULL>":
        return None
    if raw == "" and vtype not in ("uint32", "sint32"):
        raw = '""'  # an empty (not NULL) value: security(1) prints neither hex nor quotes
    data: bytes | None = None
    m = _HEX_VALUE.match(raw)
    if m:
        hexpart = m.group("hex")
        if vtype in ("uint32", "sint32"):  # security prints the 4 bytes as hex (plus a rendering if any is printable)
            if not hexpart or len(hexpart) > 16:
                return raw
            value = int(hexpart, 16)
            if vtype == "sint32" and len(hexpart) <= 8 and value & 0x80000000:
                value -= 1 << 32
            return value
        if len(hexpart) % 2 == 0:
            data = bytes.fromhex(hexpart)
        elif m.group("txt") is not None:
            data = unescape_bytes(m.group("txt"))
        else:
            return raw  # odd-length hex: keep the text as printed
    elif len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        data = unescape_bytes(raw[1:-1])
        if name in TEXT_ATTRS:
            return data
        if name not in BINARY_ATTRS:
            text = data.decode("utf-8", "replace")
            if vtype == "timedate":
                text = text.rstrip("\0")
            return text
    else:
        return raw  # something we do not know: the raw text
    if name in TEXT_ATTRS:
        return data
    if name in BINARY_ATTRS:
        return data.hex().upper()
    printable = _printable_text(data)
    return printable if printable is not None else data.hex().upper()


def _class_of(raw: str) -> tuple[str, str | None, bool]:
    """(item_class, key_kind, is_key) from a ``class:`` value."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return _unquote(value), None, False
    if re.fullmatch(r"0x[0-9A-Fa-f]+", value):
        n = int(value, 16)
        if n == CERT_CLASS:
            return "cert", None, False
        if n in KEY_CLASSES:
            return "key", KEY_CLASSES[n], True
    return value, None, False


class _Block:
    def __init__(self, keychain: str, sha1: str | None, sha256: str | None):
        self.keychain = keychain
        self.sha1 = sha1
        self.sha256 = sha256
        self.class_raw: str | None = None
        self.attrs: list[tuple[str, str, str]] = []  # (name, type, raw value)

    def build(self) -> KeychainItem:
        item_class, key_kind, is_key = _class_of(self.class_raw) if self.class_raw is not None else ("", None, False)
        attrs: dict = {}
        undecodable = set()
        aliases = PASSWORD_ATTR_NAMES if item_class in PASSWORD_CLASSES else {}
        for name, vtype, raw in self.attrs:
            if is_key and name in KEY_ATTR_NAMES:
                name = KEY_ATTR_NAMES[name]
            alias = aliases.get(name)
            value, bad = _decode_value(alias or name, vtype, raw)
            attrs[name] = value
            if alias:
                attrs[alias] = value
            if bad:
                undecodable.add(alias or name)
        issuer_cn = subject_cn = None
        if item_class == "cert":
            issuer_cn = _cn_from_hex(attrs.get("issu"))
            subject_cn = _cn_from_hex(attrs.get("subj"))
        return KeychainItem(
            keychain=self.keychain,
            item_class=item_class,
            attrs=attrs,
            sha1=self.sha1,
            sha256=self.sha256,
            issuer_cn=issuer_cn,
            subject_cn=subject_cn,
            key_kind=key_kind,
            undecodable=frozenset(undecodable),
        )


def _cn_from_hex(value) -> str | None:
    if not isinstance(value, str) or not value or len(value) % 2:
        return None
    try:
        der = bytes.fromhex(value)
    except ValueError:
        return None
    return der_name_common_name(der)


def _keychain_path(raw: str) -> str:
    """The ``keychain:`` value: a path printed like any value (quoted, or hex when it holds a backslash or non-ASCII)."""
    value = _decode_raw("path", "blob", raw)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else raw.strip()


def parse_items(text: str) -> list[KeychainItem]:
    """Items from ``find-certificate [-Z]``, ``find-generic-password``, ``find-internet-password`` or
    ``dump-keychain`` output. A block starts at ``keychain:`` or at the hash lines just before it.
    Passwords (``password:`` lines, from ``-g``) are never kept."""
    items: list[KeychainItem] = []
    current: _Block | None = None
    pending: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        m = _HASH_LINE.match(line)
        if m:
            if current is not None:
                items.append(current.build())
                current = None
            hexval = m.group("hex").upper()
            alg = m.group("alg")
            if (alg == "1" and len(hexval) == 40) or (alg == "256" and len(hexval) == 64):
                pending["sha" + alg] = hexval
            continue
        m = _KEYCHAIN_LINE.match(line)
        if m:
            if current is not None:
                items.append(current.build())
            current = _Block(_keychain_path(m.group("value")), pending.get("sha1"), pending.get("sha256"))
            pending = {}
            continue
        if current is None:
            continue  # junk before the first block
        m = _ATTR_LINE.match(line)
        if m:
            name = m.group("name") if m.group("name") is not None else m.group("num")
            current.attrs.append((name, m.group("type"), m.group("value")))
            continue
        m = _CLASS_LINE.match(line)
        if m and current.class_raw is None and not current.attrs:
            current.class_raw = m.group("value")
            continue
        # version:, attributes:, password:, PEM, anything else: ignored
    if current is not None:
        items.append(current.build())
    return items


def parse_keychain_list(text: str) -> list[str]:
    """Paths from ``security list-keychains`` (one quoted path per line, indented)."""
    out: list[str] = []
    for line in (text or "").splitlines():
        t = line.strip()
        if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
            path = _unquote(t)
        elif t.startswith("/"):
            path = t
        else:
            continue
        if path:
            out.append(path)
    return out


_PREF_SHA1 = re.compile(r"^\s*(?:SHA-1 hash:\s*)?(?P<hex>[0-9A-Fa-f]{40})\s*$")


def parse_identity_preference_sha1(text: str) -> str | None:
    """The SHA-1 (upper hex) of the preferred identity from ``get-identity-preference -Z``; None if none."""
    for line in (text or "").splitlines():
        m = _PREF_SHA1.match(line)
        if m:
            return m.group("hex").upper()
    return None


# --------------------------------------------------------------------------- DER
_OID_CN = bytes([0x55, 0x04, 0x03])  # 2.5.4.3


def _tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content_start, content_end) of the element at ``pos``; ValueError when malformed."""
    if pos + 2 > end:
        raise ValueError("truncated")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tag")
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise ValueError("bad length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise ValueError("truncated content")
    return tag, pos, pos + length


def _decode_string(tag: int, data: bytes) -> str:
    if tag in (0x0C,):  # UTF8String
        return data.decode("utf-8")
    if tag in (0x13, 0x16, 0x1A, 0x12):  # Printable, IA5, Visible, Numeric
        return data.decode("ascii")
    if tag == 0x14:  # T61String: latin-1 in practice
        return data.decode("latin-1")
    if tag == 0x1E:  # BMPString
        return data.decode("utf-16-be")
    if tag == 0x1C:  # UniversalString
        return data.decode("utf-32-be")
    raise ValueError("not a string")


def der_name_common_name(der: bytes) -> str | None:
    """The (first) commonName in a DER-encoded X.501 Name; None for anything malformed or without a CN."""
    try:
        buf = bytes(der)
        tag, start, end = _tlv(buf, 0, len(buf))
        if tag != 0x30 or end != len(buf):
            return None
        pos = start
        found: str | None = None
        while pos < end:
            set_tag, s_start, s_end = _tlv(buf, pos, end)
            if set_tag != 0x31:
                return None
            p = s_start
            while p < s_end:
                seq_tag, a_start, a_end = _tlv(buf, p, s_end)
                if seq_tag != 0x30:
                    return None
                oid_tag, o_start, o_end = _tlv(buf, a_start, a_end)
                if oid_tag != 0x06:
                    return None
                val_tag, v_start, v_end = _tlv(buf, o_end, a_end)
                if v_end != a_end:
                    return None
                if found is None and buf[o_start:o_end] == _OID_CN:
                    found = _decode_string(val_tag, buf[v_start:v_end])
                p = a_end
            pos = s_end
        return found
    except (ValueError, UnicodeDecodeError, IndexError, TypeError):
        return None
