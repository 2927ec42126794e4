"""profiles, sysinfo and dscl parsers: fixture text -> expected facts."""

from __future__ import annotations

import pytest

from cleanup.parsers.dscl import parse_read_value, parse_uid_list
from cleanup.parsers.profiles import EnrollmentStatus, parse_enrollment_status
from cleanup.parsers.sysinfo import (
    parse_boottime,
    parse_ioreg_platform,
    parse_pkgutil_pkgs,
    parse_stat_uid,
    parse_sw_vers,
)

# ------------------------------------------------------------------ profiles
ENROLLMENT_CASES = [
    (
        "Enrolled via DEP: No\nMDM enrollment: Yes (User Approved)\nMDM server: https://example.jamfcloud.com/mdm/ServerURL\n",
        EnrollmentStatus(dep=False, enrolled=True, user_approved=True, server="https://example.jamfcloud.com/mdm/ServerURL"),
    ),
    (
        "Enrolled via DEP: Yes\nMDM enrollment: Yes\nMDM server: https://x.example/mdm\n",
        EnrollmentStatus(dep=True, enrolled=True, user_approved=False, server="https://x.example/mdm"),
    ),
    ("Enrolled via DEP: No\nMDM enrollment: No\n", EnrollmentStatus(dep=False, enrolled=False, user_approved=False, server=None)),
    ("  Enrolled via DEP:   No  \r\n MDM enrollment:  No\r\n\n", EnrollmentStatus(False, False, False, None)),
]


@pytest.mark.parametrize("text, expected", ENROLLMENT_CASES)
def test_parse_enrollment_status(text, expected):
    assert parse_enrollment_status(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "profiles: command not found\n",
        "MDM enrollment: Yes\n",  # no DEP line
        "Enrolled via DEP: No\n",  # no enrollment line
        "Enrolled via DEP: Maybe\nMDM enrollment: Yes\n",
        "Enrolled via DEP: No\nMDM enrollment: sort of\n",
    ],
)
def test_parse_enrollment_status_malformed(text):
    with pytest.raises(ValueError):
        parse_enrollment_status(text)


# ------------------------------------------------------------------ sysinfo
@pytest.mark.parametrize(
    "text, expected",
    [
        ("{ sec = 1764130000, usec = 0 } Wed Nov 26 04:06:40 2026\n", 1764130000),
        ("kern.boottime: { sec = 1764130000, usec = 123456 } Wed Nov 26 04:06:40 2026\n", 1764130000),
        ("{ sec = 5, usec = 0 }", 5),
        ("kern.boottime = { sec = 42, usec = 7 }", 42),
    ],
)
def test_parse_boottime(text, expected):
    assert parse_boottime(text) == expected


@pytest.mark.parametrize("text", ["", "1764130000", "{ sec = , usec = 0 }", "sysctl: unknown oid 'kern.boottime'", "{ sec = -1, usec = 0 }"])
def test_parse_boottime_malformed(text):
    with pytest.raises(ValueError):
        parse_boottime(text)


def test_parse_sw_vers():
    text = "ProductName:\t\tmacOS\nProductVersion:\t\t14.5\nBuildVersion:\t\t23F79\n"
    assert parse_sw_vers(text) == {"ProductName": "macOS", "ProductVersion": "14.5", "BuildVersion": "23F79"}
    old = "ProductName:\tMac OS X\nProductVersion:\t10.15.7\nBuildVersion:\t19H2\n"
    assert parse_sw_vers(old)["ProductName"] == "Mac OS X"
    extra = text + "ProductVersionExtra:\t(a)\n"
    assert parse_sw_vers(extra)["ProductVersionExtra"] == "(a)"
    with pytest.raises(ValueError):
        parse_sw_vers("")
    with pytest.raises(ValueError):
        parse_sw_vers("command not found\n")


IOREG = """+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000222, registered, matched, active, busy 0 (182 ms), retain 35>
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
      "#address-cells" = <02000000>
      "IOPlatformSerialNumber" = "C02XK1JHJG5J"
      "manufacturer" = <"Apple Inc.">
      "IOPlatformUUID" = "6C2B7A1E-8F3D-5A4B-9C0D-1E2F3A4B5C6D"
      "model" = <"MacBookPro18,3">
    }
"""


def test_parse_ioreg_platform():
    assert parse_ioreg_platform(IOREG) == {"serial": "C02XK1JHJG5J", "uuid": "6C2B7A1E-8F3D-5A4B-9C0D-1E2F3A4B5C6D"}


@pytest.mark.parametrize(
    "text",
    ["", IOREG.replace('"IOPlatformSerialNumber"', '"Other"'), IOREG.replace('"IOPlatformUUID"', '"X"'), "garbage"],
)
def test_parse_ioreg_platform_malformed(text):
    with pytest.raises(ValueError):
        parse_ioreg_platform(text)


def test_parse_pkgutil_pkgs():
    text = "com.apple.pkg.CLTools_Executables\ncom.microsoft.CompanyPortalMac\n\ncom.jamf.protect  \n"
    assert parse_pkgutil_pkgs(text) == ["com.apple.pkg.CLTools_Executables", "com.microsoft.CompanyPortalMac", "com.jamf.protect"]
    assert parse_pkgutil_pkgs("") == []


@pytest.mark.parametrize("text, uid", [("501\n", 501), ("0", 0), ("  502 \n", 502)])
def test_parse_stat_uid(text, uid):
    assert parse_stat_uid(text) == uid


@pytest.mark.parametrize("text", ["", "root", "-1", "501 502", "stat: /dev/console: stat: No such file or directory"])
def test_parse_stat_uid_malformed(text):
    with pytest.raises(ValueError):
        parse_stat_uid(text)


# ------------------------------------------------------------------ dscl
DSCL_LIST = """_amavisd                 83
_analyticsd              263
daemon                   1
nobody                   -2
root                     0
alice                    501
bob.smith                502

"""


def test_parse_uid_list():
    assert parse_uid_list(DSCL_LIST) == [
        ("_amavisd", 83),
        ("_analyticsd", 263),
        ("daemon", 1),
        ("nobody", -2),
        ("root", 0),
        ("alice", 501),
        ("bob.smith", 502),
    ]
    assert parse_uid_list("") == []
    assert parse_uid_list("odd name\t503\r\n") == [("odd name", 503)]  # names kept raw


@pytest.mark.parametrize("text", ["alice\n", "alice abc\n", "alice 501\njunk line here\n", "501\n"])
def test_parse_uid_list_malformed(text):
    with pytest.raises(ValueError):
        parse_uid_list(text)


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ("NFSHomeDirectory: /Users/alice\n", "NFSHomeDirectory", "/Users/alice"),
        ("NFSHomeDirectory:\n /Users/John Smith\n", "NFSHomeDirectory", "/Users/John Smith"),
        ("RealName:\n Alice Liddell\nNFSHomeDirectory: /Users/alice\nUniqueID: 501\n", "NFSHomeDirectory", "/Users/alice"),
        ("RealName:\n Alice Liddell\nNFSHomeDirectory: /Users/alice\n", "RealName", "Alice Liddell"),
        ("UniqueID: 501\n", "NFSHomeDirectory", None),
        ("", "NFSHomeDirectory", None),
        ("No such key: NFSHomeDirectory\n", "NFSHomeDirectory", None),
        ("dsAttrTypeNative:NFSHomeDirectory: /x\n", "NFSHomeDirectory", None),
        ("NFSHomeDirectory:\nUniqueID: 501\n", "NFSHomeDirectory", None),
        ("NFSHomeDirectory:\n /Users/a b\n /Users/c d\n", "NFSHomeDirectory", "/Users/a b"),
        ("NFSHomeDirectory: /Users/alice\r\n", "NFSHomeDirectory", "/Users/alice"),
    ],
)
def test_parse_read_value(text, key, expected):
    assert parse_read_value(text, key) == expected
