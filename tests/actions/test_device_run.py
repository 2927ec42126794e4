"""A real device-side run of the whole playbook (steps 0-13, through the restart and the wait) on a Mac
full of traps: the article's items go; link targets, unrelated files and unrelated keychain items do not."""

from __future__ import annotations

import os

from tests.support.lab import drive
from tests.support.simmac import SYSTEM_KC, item_label, login_kc, tree_bytes

TRAP = "System/Library/Trap"
BOB_COOKIE = "/Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies"  # -> alice's payroll.xlsx
ALICE_CP = "/Users/alice/Library/Application Support/com.microsoft.CompanyPortal"  # -> /System/Library/Trap
UNRELATED_FILES = [
    "Users/alice/Documents/notes.txt",
    "Users/bob/Documents/notes.txt",
    "Users/alice/Documents/payroll.xlsx",
    "Users/alice/Library/Preferences/com.apple.finder.plist",
    "Users/alice/Library/Preferences/com.microsoft.Word.plist",  # Microsoft, but not an article item
    "Users/bob/Library/Preferences/com.microsoft.Word.plist",
    "Library/Preferences/com.microsoft.autoupdate2.plist",
    "Library/Preferences/com.apple.loginwindow.plist",
    "Library/LaunchDaemons/com.example.backup.plist",  # another vendor's daemon (Jamf's own go in step 3)
    "Applications/Safari.app/Contents/Info.plist",
]
UNRELATED_ITEMS = {
    "CorpWiFi",  # AirPort network password
    "Slack Safe Storage",
    "Chrome Safe Storage",
    "Fortune Teller",  # "...tune": a careless matcher would take it for Intune
    "com.apple.account.IdentityServices.token",
    "Apple Root CA",
    "JAMF",  # the JAMF public and private keys: the article's exception
}
ARTICLE_ITEMS = {
    "com.microsoft.workplacejoin.thumbprint",
    "com.microsoft.workplacejoin.registeredUserPrincipalName",
    "com.microsoft.CompanyPortal",
    "com.microsoft.CompanyPortal.HockeySDK",
    "enterpriseregistration.windows.net",
    "https://device.login.microsoftonline.com",
    "https://device.login.microsoftonline.com/",
    "DeviceLogin.microsoft.com",
    "com.jamf.management.jamfAAD",
}


def _items(kc: dict, labels: set[str]) -> list[dict]:
    return [i for i in kc["items"] if item_label(i) in labels]


def test_full_device_run_keeps_link_targets_and_everything_unrelated(sim_mac, store):
    mac = sim_mac(logged_out=[])  # alice and bob, both logged in, so every step can finish
    root = mac.root
    assert os.path.islink(mac.hp(BOB_COOKIE)) and os.path.islink(mac.hp(ALICE_CP))
    trap = tree_bytes(root / TRAP)
    assert len(trap) >= 3
    files = {p: (root / p).read_bytes() for p in UNRELATED_FILES}
    keychains = [SYSTEM_KC, login_kc("alice"), login_kc("bob")]
    items = {p: _items(mac.keychain(p), UNRELATED_ITEMS) for p in keychains}
    assert {item_label(i) for i in items[login_kc("alice")]} == UNRELATED_ITEMS
    assert len([i for i in items[SYSTEM_KC] if i["class"] == "key"]) == 2

    run, _ = drive(store, root)
    assert run.status == "done"

    # step 6: the links are gone, as links; what they pointed at is byte-identical
    assert not os.path.lexists(mac.hp(BOB_COOKIE))
    assert not os.path.lexists(mac.hp(ALICE_CP))
    assert tree_bytes(root / TRAP) == trap
    assert {p: (root / p).read_bytes() for p in UNRELATED_FILES} == files
    for d in (
        "Users/alice/Documents",
        "Users/alice/Library/Preferences",
        "Users/bob/Library/Cookies",
        "Library/Application Support",
        "Library/Preferences",
        "Library/LaunchDaemons",
    ):
        assert (root / d).is_dir() and not (root / d).is_symlink()
    for gone in (
        "Library/Preferences/com.microsoft.CompanyPortal.plist",
        "Users/alice/Library/Cookies/com.jamf.management.jamfAAD.binarycookies",
        "Users/bob/Library/Application Support/com.microsoft.CompanyPortal",
    ):
        assert not os.path.lexists(root / gone)

    # steps 7 and 8: unrelated items (and the JAMF keys) are byte for byte the same; the article's items went
    for p in keychains:
        kc = mac.keychain(p)
        assert _items(kc, UNRELATED_ITEMS) == items[p], p
        assert not _items(kc, ARTICLE_ITEMS), p
        assert not [i for i in kc["items"] if i.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"]
        assert kc["identity_preferences"] == {}
