"""Labels as security(1) really prints them (macos-commands.md, Correction of 2026-12-01)."""

from __future__ import annotations

from cleanup.parsers.security import parse_items


def _genp(*attrs: str) -> str:
    return 'keychain: "/k"\nversion: 512\nclass: "genp"\nattributes:\n' + "".join(f"    {a}\n" for a in attrs)


def test_a_passwords_label_is_its_0x00000007_attribute():
    [item] = parse_items(_genp('0x00000007 <blob>="Company Portal"', "0x00000008 <blob>=<NULL>", '"svce"<blob>="com.microsoft.CompanyPortal"'))
    assert item.get("labl") == "Company Portal"
    assert item.get("svce") == "com.microsoft.CompanyPortal"


def test_an_internet_passwords_label_is_its_0x00000007_attribute():
    text = 'keychain: "/k"\nclass: "inet"\nattributes:\n    0x00000007 <blob>="DRS web"\n    "srvr"<blob>="x.example"\n'
    [item] = parse_items(text)
    assert item.get("labl") == "DRS web"


def test_a_label_with_a_newline_printed_in_hex_is_decoded():
    [item] = parse_items(_genp('0x00000007 <blob>=0x6D756C74690A6C696E65  "multi\\012line"'))
    assert item.get("labl") == "multi\nline"
    assert item.undecodable == frozenset()


def test_a_label_with_a_no_break_space_printed_in_hex_is_decoded():
    raw = "Microsoft\xa0Teams".encode()
    [item] = parse_items(_genp(f'0x00000007 <blob>=0x{raw.hex().upper()}  "Microsoft\\302\\240Teams"'))
    assert item.get("labl") == "Microsoft\xa0Teams"


def test_a_hex_only_value_with_its_trailing_space_is_decoded():
    [item] = parse_items(_genp("0x00000007 <blob>=0x0A09 "))
    assert item.get("labl") == "\n\t"


def test_a_quoted_value_keeps_raw_double_quotes_and_octal_backslashes():
    [item] = parse_items(_genp('0x00000007 <blob>="say "hi" \\134o/"'))
    assert item.get("labl") == 'say "hi" \\o/'


def test_a_label_that_is_not_text_is_kept_as_hex_and_flagged():
    [item] = parse_items(_genp('0x00000007 <blob>=0x4DFF0041  "M\\377\\000A"'))
    assert item.get("labl") == "4DFF0041"
    assert item.undecodable == frozenset({"labl"})
