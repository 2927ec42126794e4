"""``profiles show -type configuration``: which installed profiles carry an Extensible SSO payload."""

import pytest

from cleanup.parsers.config_profiles import EXTENSIBLE_SSO, parse_profiles_show

SHOW = """_computerlevel[1] attribute: name: MDM Profile
_computerlevel[1] attribute: profileIdentifier: 00000000-0000-0000-A000-4A414D460003
_computerlevel[1] payload count = 1
_computerlevel[1] \tpayload[1] name\t= MDM
_computerlevel[1] \tpayload[1] type\t= com.apple.mdm
_computerlevel[2] attribute: name: Microsoft Platform SSO
_computerlevel[2] attribute: profileIdentifier: com.example.platformsso
_computerlevel[2] attribute: configurationDescription:
_computerlevel[2] payload count = 2
_computerlevel[2]      payload[1] name  = Extensible Single Sign-On
_computerlevel[2]      payload[1] type  = com.apple.extensiblesso
_computerlevel[2]      payload[1] identifier  = com.apple.extensiblesso.3F6C
_computerlevel[2]      payload[2] type  = com.apple.security.pkcs1
alice[1] attribute: profileIdentifier: com.example.user
There are 3 configuration profiles installed
"""


def test_payload_types_per_profile():
    found = parse_profiles_show(SHOW)
    assert [(p.scope, p.identifier) for p in found] == [
        ("_computerlevel", "00000000-0000-0000-A000-4A414D460003"),
        ("_computerlevel", "com.example.platformsso"),
        ("alice", "com.example.user"),
    ]
    sso = [p for p in found if EXTENSIBLE_SSO in p.payload_types]
    assert [p.name for p in sso] == ["Microsoft Platform SSO"]
    assert sso[0].payload_types == (EXTENSIBLE_SSO, "com.apple.security.pkcs1")
    assert sso[0].payloads[0].identifier == "com.apple.extensiblesso.3F6C"


def test_none_installed():
    assert parse_profiles_show("There are no configuration profiles installed\n") == ()


def test_not_profiles_output():
    with pytest.raises(ValueError):
        parse_profiles_show("profiles: this command requires root privileges.\n")
