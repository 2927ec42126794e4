"""The parser reads security(1) output as a real Mac prints it (the shapes the lab's fake is held to), and tells
"locked" and "not found" apart the way security(1) really reports them."""

from __future__ import annotations

from cleanup.parsers.ps import parse_loginwindow_uids
from cleanup.parsers.security import certificate_not_found, interaction_refused, parse_items
from tests.support.security_shapes import (
    ALICE_KC,
    GENP_THUMBPRINT,
    INET_DRS,
    NO_INTERACTION,
    NOT_FOUND,
    PASSWORD_DELETED,
    cert_not_found,
    genp_block,
)


def test_a_generic_passwords_label_is_read_from_0x00000007():
    [item] = parse_items(GENP_THUMBPRINT)
    assert item.item_class == "genp" and item.keychain == ALICE_KC
    assert item.get("labl") == "com.microsoft.workplacejoin.thumbprint"
    assert item.get("svce") == item.get("acct") == "com.microsoft.workplacejoin.thumbprint"
    assert item.undecodable == frozenset()


def test_an_internet_password_with_a_hex_only_port_and_a_four_char_protocol():
    [item] = parse_items(INET_DRS)
    assert item.get("labl") == "enterpriseregistration.windows.net"
    assert item.get("srvr") == "enterpriseregistration.windows.net" and item.get("acct") == "alice@example.com"
    assert item.attrs["port"] == 0 and item.attrs["ptcl"] == "htps" and item.get("path") == "/EnrollmentServer/device/"
    assert item.undecodable == frozenset()


def test_a_label_that_differs_from_its_service_is_kept_apart():
    [item] = parse_items(genp_block('"Microsoft Edge Safe Storage"', "Microsoft Edge Safe Storage", "Microsoft Edge"))
    assert (item.get("labl"), item.get("acct")) == ("Microsoft Edge Safe Storage", "Microsoft Edge")
    [item] = parse_items(genp_block('"Work account"', "com.example.mail", "alice"))
    assert item.get("labl") == "Work account" and item.get("svce") == "com.example.mail"


def test_quoted_values_with_raw_quotes_and_hex_values_with_octal_renderings():
    [item] = parse_items(genp_block('"say "hi""', "s", "a"))
    assert item.get("labl") == 'say "hi"'
    raw = 'back\\slash "q" Café'.encode()
    rendering = "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x5C else f"\\{b:03o}" for b in raw)
    [item] = parse_items(genp_block(f'0x{raw.hex().upper()}  "{rendering}"', "s", "a"))
    assert item.get("labl") == 'back\\slash "q" Café' and item.undecodable == frozenset()


def test_an_empty_value_prints_nothing_and_is_empty_text():
    [item] = parse_items(genp_block("", "s", "a"))
    assert item.get("labl") == "" and item.undecodable == frozenset()


def test_a_keychain_path_printed_in_hex_is_decoded():
    path = "/Users/zoë/Library/Keychains/login.keychain-db".encode()
    rendering = "".join(chr(b) if 0x20 <= b <= 0x7E else f"\\{b:03o}" for b in path)
    text = GENP_THUMBPRINT.replace(f'keychain: "{ALICE_KC}"', f'keychain: 0x{path.hex().upper()}  "{rendering}"')
    [item] = parse_items(text)
    assert item.keychain == path.decode()


def test_locked_is_told_by_the_message_whatever_the_exit_status():
    assert interaction_refused(NO_INTERACTION)  # dump-keychain: exit 1
    assert interaction_refused("security: SecKeychainItemDelete: User interaction is not allowed.\n")  # exit 36
    assert not interaction_refused(NOT_FOUND) and not interaction_refused(PASSWORD_DELETED) and not interaction_refused("")


def test_a_certificate_that_is_not_there_is_exit_1_with_its_text():
    assert certificate_not_found(1, cert_not_found("09C58DE3212EC3B26CC1CA355B66D813044A447B"))
    assert not certificate_not_found(44, cert_not_found("X"))
    assert not certificate_not_found(1, "security: SecKeychainItemDelete: User interaction is not allowed.")


def test_login_sessions_from_ps():
    text = (
        "    0 /sbin/launchd\n"
        "  501 /System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow\n"
        "  502 /System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow\n"
        "  501 /Applications/Company Portal.app/Contents/MacOS/Company Portal\n"
        "  503 /Users/eve/bin/not-loginwindow\n"
        "junk\n"
    )
    assert parse_loginwindow_uids(text) == frozenset({501, 502})
    assert parse_loginwindow_uids("") == frozenset()
