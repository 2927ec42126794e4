"""``app-sso platform -s``: every section (null) or an object, the deviceId from the signing certificate, odd shapes."""

import base64
import sys

import pytest

from cleanup.lab.simmac import sso_model
from cleanup.parsers.appsso import decode_signing_certificate, parse_platform_state
from tests.support.sso_shapes import DEVICE_ID, app_sso_text, registered_device

ALL_NULL = "Time: 2025-06-18 20:42:20 +0000\n\nDevice Configuration:\n (null)\n\nLogin Configuration:\n (null)\n\nUser Configuration:\n (null)\n\n"


def _user(upn="alice@contoso.com"):
    return sso_model.user_config("alice", upn)


def test_all_null_is_no_platform_sso():
    state = parse_platform_state(ALL_NULL)
    assert not state.configured and not state.registered
    assert state.device_id is None and state.certificate is None and state.notes == ()
    assert state.time == "2025-06-18 20:42:20 +0000"


def test_configured_but_not_registered():
    device = sso_model.device_config("C02ZK1ABMD6M", None)
    state = parse_platform_state(app_sso_text(device))
    assert state.configured and not state.registered
    assert state.registration_completed is False and state.certificate is None
    assert state.login_type is not None and (state.login_type.name, state.login_type.code) == ("POLoginTypeUserSecureEnclaveKey", 2)
    assert state.secure_enclave and state.extension_identifier == "com.microsoft.CompanyPortalMac.ssoextension"


def test_registered_device_id_is_the_certificate_cn():
    text = app_sso_text(registered_device(), sso_model.login_config(), _user(), tokens=True)
    state = parse_platform_state(text)
    assert state.registered and state.device_id == DEVICE_ID
    cert = state.certificate
    assert cert is not None and cert.decoded and cert.issuer_ok and cert.issuer_ou == sso_model.ISSUER_OU
    assert state.tenant_id == sso_model.TENANT_ID
    assert state.user is not None and state.user.normal and state.user.login_user_name == "alice@contoso.com"
    # the upn is printed escaped and with the realm: alice\@contoso.com@KERBEROS.MICROSOFTONLINE.COM
    assert [(k.realm, k.upn) for k in state.user.kerberos] == [("KERBEROS.MICROSOFTONLINE.COM", "alice@contoso.com")]
    assert state.tokens is not None and state.tokens.expired is False and state.tokens.expiration == "2026-05-09T09:17:43Z"


def test_key_material_is_never_kept():
    state = parse_platform_state(app_sso_text(registered_device(), sso_model.login_config(), _user()))

    def keys(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield k
                yield from keys(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from keys(v)

    assert state.user is not None
    found = list(keys(state.device)) + list(keys(state.user.config))
    assert "deviceSigningCertificate" in found and not [k for k in found if k.startswith("_")]


def test_unknown_keys_order_and_odd_floats():
    device = {"zzNewKey": {"nested": [1, 2]}, "sdkVersionString": 15.199999999999999, "registrationCompleted": True, **registered_device()}
    device = dict(reversed(list(device.items())))
    text = app_sso_text(device, None, None, order=["User Configuration", "Device Configuration", "Login Configuration"])
    state = parse_platform_state(text.replace('"sdkVersionString" : 15.2', '"sdkVersionString" : 1e999'))
    assert state.registered and state.device_id == DEVICE_ID and state.notes == ()


def test_not_json_reads_the_top_level_values():
    good = app_sso_text(registered_device())
    odd = good.replace('"loginFrequency" : 64800,', '"loginFrequency" : <NSNumber 64800>,')
    state = parse_platform_state(odd.replace("\n", "\r\n"))
    assert state.registered and state.device_id == DEVICE_ID
    assert any("not valid JSON" in n for n in state.notes)


@pytest.mark.parametrize(
    "encode",
    [
        lambda der: base64.urlsafe_b64encode(der).rstrip(b"=").decode(),  # as captured: base64url, no padding
        lambda der: base64.b64encode(der).decode(),  # plain base64 with padding
    ],
)
def test_certificate_encodings(encode):
    der = sso_model.signing_certificate(DEVICE_ID)
    cert = decode_signing_certificate(encode(der))
    assert cert.device_id == DEVICE_ID and cert.problem is None


def test_certificate_not_trusted_when_odd():
    assert decode_signing_certificate("!!!").device_id is None
    junk = decode_signing_certificate(base64.b64encode(b"not a certificate").decode())
    assert junk.device_id is None and junk.sha1 and "not a DER certificate" in (junk.problem or "")
    not_guid = decode_signing_certificate(sso_model.b64url(sso_model.signing_certificate("MBP-ALICE")))
    assert not_guid.device_id is None and "not a GUID" in (not_guid.problem or "")


def test_certificate_from_another_issuer_gives_no_device_id(monkeypatch):
    der = sso_model.signing_certificate(DEVICE_ID).replace(b"MS-Organization-Access", b"MS-Organization-Xccess")
    cert = decode_signing_certificate(sso_model.b64url(der))
    assert cert.decoded and cert.subject_cn == DEVICE_ID and not cert.issuer_ok
    assert cert.device_id is None and "not MS-Organization-Access" in (cert.problem or "")


def test_without_cryptography_the_certificate_is_present_but_the_device_id_unknown(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import cryptography now raises ImportError
    monkeypatch.setitem(sys.modules, "cryptography.x509", None)
    state = parse_platform_state(app_sso_text(registered_device()))
    assert state.registered and state.device_id is None
    assert state.certificate is not None and not state.certificate.decoded and state.certificate.sha1
    assert any("certificate present, deviceId unknown" in n for n in state.notes)


def test_registration_completed_odd_value():
    device = registered_device()
    device["registrationCompleted"] = "maybe"
    state = parse_platform_state(app_sso_text(device))
    assert state.registration_completed is None and not state.registered
    assert any("registrationCompleted" in n for n in state.notes)


def test_not_app_sso_output():
    with pytest.raises(ValueError):
        parse_platform_state("app-sso: unrecognized option `--state'\nUsage: app-sso ...\n")
