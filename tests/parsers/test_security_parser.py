"""security(1) output -> KeychainItem facts."""

from __future__ import annotations

import pytest

from cleanup.parsers.security import (
    INTERACTION_NOT_ALLOWED,
    ITEM_NOT_FOUND,
    KeychainItem,
    der_name_common_name,
    parse_identity_preference_sha1,
    parse_items,
    parse_keychain_list,
)


# ------------------------------------------------------------------ DER helpers (hand-built X.501 Names)
def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + length + content


OID = {"CN": bytes([0x55, 4, 3]), "O": bytes([0x55, 4, 10]), "C": bytes([0x55, 4, 6]), "OU": bytes([0x55, 4, 11])}


def name(*rdns: tuple[str, str, int]) -> bytes:
    """name(("C","US",0x13), ("CN","x",0x0C)) -> DER of a Name; string tag per attribute."""
    out = b""
    for key, value, tag in rdns:
        enc = {0x1E: "utf-16-be", 0x14: "latin-1"}.get(tag, "utf-8")
        atv = _tlv(0x30, _tlv(0x06, OID[key]) + _tlv(tag, value.encode(enc)))
        out += _tlv(0x31, atv)
    return _tlv(0x30, out)


MSOA = name(("CN", "MS-Organization-Access", 0x0C))
DEVICE_ID = "4f6b2a10-9c1e-4e57-a1d2-7b3c9e0f5a21"
WPJ_SUBJECT = name(("CN", DEVICE_ID, 0x0C))
APPLE_ROOT = name(("C", "US", 0x13), ("O", "Apple Inc.", 0x13), ("OU", "Apple Certification Authority", 0x13), ("CN", "Apple Root CA", 0x13))


def hexblob(data: bytes) -> str:
    return "0x" + data.hex().upper()


SHA1 = "09C58DE3212EC3B26CC1CA355B66D813044A447B"
SHA256 = "5C1B0E0F6A3C2D4E8F9A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E"

CERT_BLOCK = f"""SHA-256 hash: {SHA256}
SHA-1 hash: {SHA1}
keychain: "/Users/alice/Library/Keychains/login.keychain-db"
version: 512
class: 0x80001000
attributes:
    "alis"<blob>="{DEVICE_ID}"
    "cenc"<uint32>=0x00000003
    "ctyp"<uint32>=0x00000001
    "hpky"<blob>=0x3F1A9C0D22E4B5A6C7D8E9F0A1B2C3D4E5F60718  "?\\032\\234\\015"\\344\\265\\246\\307\\330\\351\\360\\241\\262\\303\\324\\345\\366\\007\\030"
    "issu"<blob>={hexblob(MSOA)}  "0\\0371\\0350\\033\\006\\003U\\004\\003\\014\\024MS-Organization-Access"
    "labl"<blob>="{DEVICE_ID}"
    "skid"<blob>=0x0102030405060708090A0B0C0D0E0F1011121314  "\\001\\002\\003\\004\\005\\006\\007\\010\\011\\012\\013\\014\\015\\016\\017\\020\\021\\022\\023\\024"
    "snbr"<blob>=0x1A2B3C4D5E6F
    "subj"<blob>={hexblob(WPJ_SUBJECT)}
"""

GENP_BLOCK = """keychain: "/Users/alice/Library/Keychains/login.keychain-db"
version: 512
class: "genp"
attributes:
    0x00000007 <blob>="com.microsoft.workplacejoin.thumbprint"
    0x00000008 <blob>=<NULL>
    "acct"<blob>="com.microsoft.workplacejoin.thumbprint"
    "cdat"<timedate>=0x32303235303630383136303533305A00  "20250608160530Z\\000"
    "crtr"<uint32>=<NULL>
    "cusi"<sint32>=<NULL>
    "desc"<blob>=<NULL>
    "gena"<blob>=<NULL>
    "icmt"<blob>=<NULL>
    "invi"<sint32>=<NULL>
    "labl"<blob>="com.microsoft.workplacejoin.thumbprint"
    "mdat"<timedate>=0x32303235303630383136303533305A00  "20250608160530Z\\000"
    "nega"<sint32>=<NULL>
    "prot"<blob>=<NULL>
    "scrp"<sint32>=<NULL>
    "svce"<blob>="com.microsoft.workplacejoin.thumbprint"
    "type"<uint32>=<NULL>
"""

INET_BLOCK = """keychain: "/Users/alice/Library/Keychains/login.keychain-db"
version: 512
class: "inet"
attributes:
    0x00000007 <blob>="device.login.microsoftonline.com"
    0x00000008 <blob>=<NULL>
    "acct"<blob>="alice@contoso.com"
    "atyp"<blob>="dflt"
    "cdat"<timedate>=0x32303235303630383136303533305A00  "20250608160530Z\\000"
    "crtr"<uint32>="aapl"
    "path"<blob>="/"
    "port"<uint32>=0x000001BB
    "ptcl"<uint32>="htps"
    "sdmn"<blob>=<NULL>
    "srvr"<blob>="device.login.microsoftonline.com"
    "nega"<sint32>=0xFFFFFFFF
"""

PRIVATE_KEY_BLOCK = """keychain: "/Users/alice/Library/Keychains/login.keychain-db"
version: 512
class: 0x00000010
attributes:
    0x00000000 <uint32>=0x00000010 
    0x00000001 <blob>="Microsoft Workplace Join Key"
    0x00000002 <blob>=<NULL>
    0x00000003 <uint32>=0x00000001 
    0x00000004 <uint32>=0x00000000 
    0x00000005 <blob>=0x00000000000000000000000000000000
    0x00000006 <blob>=0x3F1A9C0D22E4B5A6C7D8E9F0A1B2C3D4E5F60718  "?\\032\\234\\015"\\344\\265\\246\\307\\330\\351\\360\\241\\262\\303\\324\\345\\366\\007\\030"
    0x00000007 <blob>=<NULL>
    0x00000008 <blob>=0x7B38373139316361322D303835352D346366392D613365302D3061643665346536653161667D00  "{87191ca2-0855-4cf9-a3e0-0ad6e4e6e1af}\\000"
    0x00000009 <uint32>=0x0000002A  "\\000\\000\\000*"
    0x0000000A <uint32>=0x00000800 
"""


def test_constants():
    assert ITEM_NOT_FOUND == 44 and INTERACTION_NOT_ALLOWED == 36


def test_certificate_block():
    [item] = parse_items(CERT_BLOCK)
    assert item.keychain == "/Users/alice/Library/Keychains/login.keychain-db"
    assert item.item_class == "cert" and item.key_kind is None
    assert item.sha1 == SHA1 and item.sha256 == SHA256
    assert item.issuer_cn == "MS-Organization-Access"
    assert item.subject_cn == DEVICE_ID
    assert item.get("alis") == DEVICE_ID and item.get("labl") == DEVICE_ID
    assert item.attrs["ctyp"] == 1 and item.attrs["cenc"] == 3
    assert item.attrs["hpky"] == "3F1A9C0D22E4B5A6C7D8E9F0A1B2C3D4E5F60718"
    assert item.attrs["skid"] == "0102030405060708090A0B0C0D0E0F1011121314"
    assert item.attrs["snbr"] == "1A2B3C4D5E6F"
    assert item.attrs["issu"] == MSOA.hex().upper()  # raw hex kept
    assert item.attrs["subj"] == WPJ_SUBJECT.hex().upper()
    assert item.get("ctyp") == "1"


def test_generic_password_block():
    [item] = parse_items(GENP_BLOCK)
    assert item.item_class == "genp" and item.sha1 is None and item.issuer_cn is None
    assert item.get("acct") == "com.microsoft.workplacejoin.thumbprint"
    assert item.get("svce") == "com.microsoft.workplacejoin.thumbprint"
    assert item.attrs["0x00000007"] == "com.microsoft.workplacejoin.thumbprint"
    assert item.attrs["0x00000008"] is None
    assert item.attrs["cdat"] == "20250608160530Z"
    assert item.attrs["crtr"] is None and item.get("crtr") is None and item.get("desc") is None
    assert "crtr" in item.attrs
    assert item.get("nonexistent") is None


def test_internet_password_block():
    [item] = parse_items(INET_BLOCK)
    assert item.item_class == "inet"
    assert item.get("srvr") == "device.login.microsoftonline.com"
    assert item.attrs["ptcl"] == "htps" and item.attrs["crtr"] == "aapl"
    assert item.attrs["port"] == 443
    assert item.attrs["nega"] == -1
    assert item.get("path") == "/"


def test_private_key_block():
    [item] = parse_items(PRIVATE_KEY_BLOCK)
    assert item.item_class == "key" and item.key_kind == "private"
    assert item.get("labl") == "Microsoft Workplace Join Key"
    assert item.attrs["alis"] is None
    assert item.attrs["klbl"] == "3F1A9C0D22E4B5A6C7D8E9F0A1B2C3D4E5F60718"
    assert item.attrs["0x00000000"] == 16
    assert item.attrs["0x00000008"] == "{87191ca2-0855-4cf9-a3e0-0ad6e4e6e1af}"
    assert item.attrs["0x00000009"] == 42  # a uint32 printed as hex plus its rendering is still a number
    assert "0x00000001" not in item.attrs and "0x00000006" not in item.attrs


@pytest.mark.parametrize(
    "cls, kind",
    [("0x0000000F", "public"), ("0x00000010", "private"), ("0x00000011", "symmetric"), ("0x0000000E", None), ("0x0000000f", "public")],
)
def test_key_classes(cls, kind):
    text = f'keychain: "/k"\nclass: {cls}\nattributes:\n    0x00000001 <blob>="JAMF"\n    0x00000006 <blob>="abc"\n'
    [item] = parse_items(text)
    assert item.item_class == "key" and item.key_kind == kind
    assert item.get("labl") == "JAMF"
    assert item.get("klbl") == "616263"  # klbl is always upper hex, even when printed as text


@pytest.mark.parametrize("cls, expected", [('"ashp"', "ashp"), ("0x80001001", "0x80001001"), ('"cert"', "cert")])
def test_other_classes_raw(cls, expected):
    [item] = parse_items(f'keychain: "/k"\nclass: {cls}\nattributes:\n    "labl"<blob>="x"\n')
    assert item.item_class == expected and item.key_kind is None


def test_genp_numeric_names_not_mapped():
    [item] = parse_items('keychain: "/k"\nclass: "genp"\nattributes:\n    0x00000001 <blob>="x"\n    0x00000006 <blob>="y"\n')
    assert item.attrs == {"0x00000001": "x", "0x00000006": "y"}


def test_dump_keychain_many_blocks():
    text = GENP_BLOCK + INET_BLOCK + CERT_BLOCK + PRIVATE_KEY_BLOCK
    items = parse_items(text)
    assert [i.item_class for i in items] == ["genp", "inet", "cert", "key"]
    # hashes attach to the block after them, never to the one before
    assert items[1].sha1 is None and items[2].sha1 == SHA1 and items[3].sha1 is None


def test_find_certificate_several_with_hashes():
    second = CERT_BLOCK.replace(SHA1, "A" * 40).replace(SHA256, "B" * 64).replace(hexblob(MSOA), hexblob(APPLE_ROOT))
    items = parse_items(CERT_BLOCK + second)
    assert [(i.sha1, i.issuer_cn) for i in items] == [(SHA1, "MS-Organization-Access"), ("A" * 40, "Apple Root CA")]
    assert items[1].sha256 == "B" * 64


def test_certificate_without_hashes():
    text = "\n".join(l for l in CERT_BLOCK.splitlines() if not l.startswith("SHA-"))
    [item] = parse_items(text)
    assert item.sha1 is None and item.sha256 is None and item.issuer_cn == "MS-Organization-Access"


def test_lowercase_hash_is_uppercased():
    [item] = parse_items(CERT_BLOCK.replace(SHA1, SHA1.lower()))
    assert item.sha1 == SHA1


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_output(text):
    assert parse_items(text) == []


def test_junk_before_between_and_after():
    text = (
        "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n"
        '    "labl"<blob>="orphan attribute before any block"\n'
        + GENP_BLOCK
        + "some trailing junk line\n"
        + 'password: "hunter2"\n'
        + "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
        + "SHA-1 hash: ZZZ\n"
    )
    [item] = parse_items(text)
    assert item.get("acct") == "com.microsoft.workplacejoin.thumbprint"
    assert "hunter2" not in repr(item)


def test_trailing_hash_lines_without_block_are_dropped():
    items = parse_items(GENP_BLOCK + f"SHA-1 hash: {SHA1}\n")
    assert len(items) == 1 and items[0].sha1 is None


def test_label_with_quotes_and_escapes():
    text = (
        'keychain: "/Users/bob/Library/Keychains/login.keychain-db"\n'
        'class: "genp"\n'
        "attributes:\n"
        '    "labl"<blob>="Bob\'s "work" key"\n'
        '    "acct"<blob>="back\\134slash"\n'
        '    "svce"<blob>="say \\"hi\\""\n'
        '    "desc"<blob>="caf\\303\\251"\n'
        '    "gena"<blob>=""\n'
    )
    [item] = parse_items(text)
    assert item.get("labl") == 'Bob\'s "work" key'
    assert item.get("acct") == "back\\slash"
    assert item.get("svce") == 'say "hi"'
    assert item.get("desc") == "café"
    assert item.get("gena") == ""


def test_label_printed_as_hex_because_non_ascii():
    label = "Clé Microsoft Workplace Join"
    raw = label.encode()
    rendering = "".join(chr(b) if 32 <= b < 127 else f"\\{b:03o}" for b in raw)
    text = f'keychain: "/k"\nclass: "genp"\nattributes:\n    "labl"<blob>=0x{raw.hex().upper()}  "{rendering}"\n'
    [item] = parse_items(text)
    assert item.get("labl") == label


def test_binary_blob_stays_hex():
    text = 'keychain: "/k"\nclass: "genp"\nattributes:\n    "gena"<blob>=0x00FF10  "\\000\\377\\020"\n    "desc"<blob>=0xC3\n'
    [item] = parse_items(text)
    assert item.get("gena") == "00FF10"
    assert item.get("desc") == "C3"  # invalid UTF-8 -> hex


def test_unparsable_values_kept_raw():
    text = 'keychain: "/k"\nclass: 0x80001000\nattributes:\n    "issu"<blob>=0x3081...\n    "subj"<blob>=0xABC\n    "labl"<blob>=weird\n'
    [item] = parse_items(text)
    assert item.get("issu") == "0x3081..." and item.issuer_cn is None
    assert item.get("subj") == "0xABC" and item.subject_cn is None
    assert item.get("labl") == "weird"


def test_garbage_der_in_issu_gives_none():
    text = 'keychain: "/k"\nclass: 0x80001000\nattributes:\n    "issu"<blob>=0x3081FF0102\n    "subj"<blob>=0x\n'
    [item] = parse_items(text)
    assert item.issuer_cn is None and item.subject_cn is None and item.get("issu") == "3081FF0102"


def test_keychain_item_is_frozen():
    [item] = parse_items(GENP_BLOCK)
    assert isinstance(item, KeychainItem)
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        item.keychain = "/other"  # type: ignore[misc]
    hash(item)


# ------------------------------------------------------------------ der_name_common_name
@pytest.mark.parametrize(
    "der, cn",
    [
        (MSOA, "MS-Organization-Access"),
        (APPLE_ROOT, "Apple Root CA"),
        (name(("CN", "Zoë", 0x0C)), "Zoë"),
        (name(("CN", "BMP name", 0x1E)), "BMP name"),
        (name(("CN", "t61 é", 0x14)), "t61 é"),
        (name(("CN", "ia5", 0x16)), "ia5"),
        (name(("O", "no cn", 0x13)), None),
        (name(("CN", "first", 0x0C), ("CN", "second", 0x0C)), "first"),
        (name(("CN", "x" * 300, 0x0C)), "x" * 300),  # long-form lengths
        (_tlv(0x30, b""), None),
        (b"", None),
        (b"\x30", None),
        (b"\x30\x05\x31\x03", None),  # truncated
        (MSOA + b"\x00", None),  # trailing bytes
        (MSOA[:-1], None),
        (b"\x31\x00", None),  # not a SEQUENCE
        (_tlv(0x30, _tlv(0x30, b"")), None),  # RDN not a SET
        (_tlv(0x30, _tlv(0x31, _tlv(0x30, _tlv(0x06, OID["CN"]) + _tlv(0x04, b"oct")))), None),  # not a string type
        (_tlv(0x30, _tlv(0x31, _tlv(0x30, _tlv(0x06, OID["CN"]) + _tlv(0x13, b"\xff")))), None),  # bad ascii
        (b"\x30\x80\x00\x00", None),  # indefinite length
        (bytes(range(256)), None),
    ],
)
def test_der_name_common_name(der, cn):
    assert der_name_common_name(der) == cn


def test_der_matches_cryptography_if_available():
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.x509.oid import NameOID

    n = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Microsoft"),
            x509.NameAttribute(NameOID.COMMON_NAME, "MS-Organization-Access"),
        ]
    )
    assert der_name_common_name(n.public_bytes()) == "MS-Organization-Access"


# ------------------------------------------------------------------ list-keychains, identity preference
def test_parse_keychain_list():
    text = '    "/Users/alice/Library/Keychains/login.keychain-db"\n    "/Library/Keychains/System.keychain"\n'
    assert parse_keychain_list(text) == ["/Users/alice/Library/Keychains/login.keychain-db", "/Library/Keychains/System.keychain"]
    assert parse_keychain_list("") == []
    assert parse_keychain_list('\n  "/Users/a b/Library/Keychains/login.keychain-db"  \njunk\n') == ["/Users/a b/Library/Keychains/login.keychain-db"]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"SHA-1 hash: {SHA1}\n", SHA1),
        (f"{SHA1.lower()}\n", SHA1),
        (f"SHA-1 hash: {SHA1}\n-----BEGIN CERTIFICATE-----\nMIIB\n", SHA1),
        ("", None),
        ("security: SecIdentityCopyPreferred: The specified item could not be found in the keychain.\n", None),
        ("SHA-1 hash: 1234\n", None),
    ],
)
def test_parse_identity_preference_sha1(text, expected):
    assert parse_identity_preference_sha1(text) == expected
