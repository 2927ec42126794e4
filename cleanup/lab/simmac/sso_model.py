"""The 2026 registration models of the simulated Mac: Jamf Device Compliance and Platform SSO.

Build-time data for the ``device-compliance`` and ``platform-sso`` scenarios (state, files, the PSSO device signing
certificate) and the values the fakes in ``tool_sso`` print. Stdlib only: the fakes import it too.

State (``state["sso"]``, absent in the older scenarios, which then behave as a Mac with Jamf 11.10 and no PSSO):
``jamf_ca_version``; ``psso`` (``device_id``, ``device_config``, ``login_config``, ``users``: user -> User
Configuration) or None; ``full_mode``; ``psso_status_shape`` (how ``getPSSOStatus`` prints its dictionary:
``unquoted`` by default, ``quoted``, ``status-only``); ``psso_timeouts`` (that many next calls print
``Warning:Timedout``); ``aad`` (user -> the Entra ID ``gatherAADInfo`` acquired). ``state["config_profiles"]``: the
installed configuration profiles besides the MDM profile.
"""

from __future__ import annotations

from cleanup.lab.simmac import common as C

# hashlib, base64 and uuid are imported where used: the fakes import this module on every ``profiles`` call

TENANT_ID = "5b7f3c1e-2a4d-4e8f-9c61-0d2a7e4b9f30"  # the emulated tenant's DEFAULT_TENANT_ID
TENANT_DOMAIN = "example.com"
USER_REGISTRATION_APP_ID = "b03c10a8-71c7-45f9-b44a-3335ab76e970"  # "User registration app for Device Compliance"
PSSO_CLIENT_ID = "8d0c6e2a-51f4-4b7e-9a3c-2e6f0d1b7c45"  # made up: the capture redacts it
CLOUD_HOST = "login.microsoftonline.com"
SSO_EXTENSION_ID = "com.microsoft.CompanyPortalMac.ssoextension"
SSO_APPEX = "/Applications/Company Portal.app/Contents/PlugIns/Mac SSO Extension.appex"
JAMF_PLIST = "/Library/Preferences/com.jamfsoftware.jamf.plist"
GROUP_CONTAINERS = ("UBF8T346G9.com.microsoft.entrabroker", "UBF8T346G9.com.microsoft.oneauth")
LEGACY_CA_VERSION = "11.10.1"  # Jamf Conditional Access ships with the Jamf framework (common.JAMF_VERSION)
CA_VERSION = "11.24.0"  # getPSSOStatus needs 11.21.1 or later
GET_PSSO_SINCE = (11, 21, 1)
CREATED = "2025-06-08T16:05:30Z"
ISSUER_OU = "82dbaca4-3e81-46ca-9c73-0950c1eaca97"
SCENARIOS = ("device-compliance", "platform-sso")
PSSO_PROFILE = {
    "installed_by": "mdm",  # Jamf Pro sends it: it leaves with the MDM profile and comes back after re-enrollment
    "identifier": "com.example.platformsso",
    "name": "Microsoft Platform SSO",
    "organization": "Example Corp",
    "uuid": "3F6C2B1A-9D4E-4F70-8A15-6B2C0D9E7F31",
    "payloads": [
        {
            "type": "com.apple.extensiblesso",
            "name": "Extensible Single Sign-On",
            "identifier": "com.apple.extensiblesso.3F6C2B1A-9D4E-4F70-8A15-6B2C0D9E7F31",
            "uuid": "7A1E5D3C-2B4F-4C6A-9E8D-1F0B3A5C7E92",
        }
    ],
}


#: Company Portal 5.x's own files in a home (integration reference, section 2: what its uninstaller removes);
#: written in the 2026 scenarios only, so the older ones stay as they were. (kind, path under ~/Library)
COMPANY_PORTAL_FILES = (
    ("dir", "Application Scripts/com.microsoft.CompanyPortalMac.ssoextension"),
    ("dir", "Application Support/com.microsoft.CompanyPortalMac"),
    ("dir", "Caches/com.microsoft.CompanyPortalMac"),
    ("dir", "Caches/CompanyPortalCache"),
    ("dir", "Caches/com.plausiblelabs.crashreporter.data/com.microsoft.CompanyPortalMac"),
    ("dir", "Containers/com.microsoft.CompanyPortalMac.ssoextension"),
    ("dir", "HTTPStorages/com.microsoft.CompanyPortalMac"),
    ("file", "HTTPStorages/com.microsoft.CompanyPortalMac.binarycookies"),
    ("dir", "Logs/Company Portal"),
    ("plist", "Preferences/com.microsoft.CompanyPortalMac.plist"),
    ("plist", "Preferences/group.com.microsoft.CompanyPortalMac.plist"),
    ("dir", "Saved Application State/com.microsoft.CompanyPortalMac.savedState"),
    ("dir", "WebKit/com.microsoft.CompanyPortalMac"),
    ("file", "Application Support/Google/Chrome/NativeMessagingHosts/com.microsoft.browsercore.json"),
    ("file", "Application Support/Microsoft Edge/NativeMessagingHosts/com.microsoft.browsercore.json"),
)


def installed_profiles(state: dict) -> list[dict]:
    """The configuration profiles on the Mac besides the MDM profile: those the MDM installed only while it is enrolled."""
    enrolled = bool((state.get("mdm") or {}).get("enrolled"))
    return [p for p in state.get("config_profiles") or [] if enrolled or p.get("installed_by") != "mdm"]


def psso_active(state: dict) -> dict | None:
    """The Platform SSO state while an Extensible SSO profile configures it, else None (no configuration: app-sso
    prints three ``(null)``). What macOS keeps of a registration while its profile is gone is not known [I]: the
    lab keeps it, and shows it again (stale) once the profile is back, until the user repairs it."""
    psso = (state.get("sso") or {}).get("psso")
    if not psso:
        return None
    sso_types = [pl.get("type") for p in installed_profiles(state) for pl in p.get("payloads") or []]
    return psso if "com.apple.extensiblesso" in sso_types else None


def hardware_uuid(serial: str) -> str:
    """``IOPlatformUUID`` as the fake ``ioreg`` prints it."""
    import hashlib

    h = hashlib.sha1(("uuid:" + serial).encode()).hexdigest().upper()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def psso_device_id(serial: str, n: int = 0) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hex=hashlib.sha256(f"psso-deviceid:{serial}:{n}".encode()).hexdigest()[:32], version=4))


def version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


# --------------------------------------------------------------------------- the PSSO device signing certificate


def _oid(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    body = bytes([40 * nums[0] + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        body += bytes(reversed(chunk))
    return C.der(0x06, body)


def _atv(oid: str, value: str, tag: int = 0x13) -> bytes:
    return C.der(0x30, _oid(oid) + C.der(tag, value.encode()))


def _seq(*parts: bytes) -> bytes:
    return C.der(0x30, b"".join(parts))


def _bits(data: bytes) -> bytes:
    return C.der(0x03, b"\x00" + data)


def _stream(seed: str, n: int) -> bytes:
    import hashlib

    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return out[:n]


def signing_certificate(device_id: str) -> bytes:
    """A DER certificate shaped like Entra's PSSO ``deviceSigningCertificate``: subject CN = the deviceId, issuer
    ``DC=net, DC=windows, CN=MS-Organization-Access, OU=82dbaca4-…`` (one multi-valued RDN, as captured), EC P-256 key,
    EKU clientAuth, 10 years. Deterministic; its signature is filler (nothing verifies it)."""
    rsa_sha256 = _seq(_oid("1.2.840.113549.1.1.11"), b"\x05\x00")
    issuer_atvs = sorted(
        [
            _atv("0.9.2342.19200300.100.1.25", "net", 0x16),
            _atv("0.9.2342.19200300.100.1.25", "windows", 0x16),
            _atv("2.5.4.3", "MS-Organization-Access"),
            _atv("2.5.4.11", ISSUER_OU),
        ]
    )
    issuer = _seq(C.der(0x31, b"".join(issuer_atvs)))
    subject = _seq(C.der(0x31, _atv("2.5.4.3", device_id)))
    validity = _seq(C.der(0x17, b"250608160530Z"), C.der(0x17, b"350608163530Z"))
    spki = _seq(_seq(_oid("1.2.840.10045.2.1"), _oid("1.2.840.10045.3.1.7")), _bits(b"\x04" + _stream("point:" + device_id, 64)))
    extensions = _seq(
        _seq(_oid("2.5.29.19"), C.der(0x01, b"\xff"), C.der(0x04, _seq())),
        _seq(_oid("2.5.29.37"), C.der(0x01, b"\xff"), C.der(0x04, _seq(_oid("1.3.6.1.5.5.7.3.2")))),
        _seq(_oid("2.5.29.15"), C.der(0x01, b"\xff"), C.der(0x04, C.der(0x03, b"\x07\x80"))),
    )
    serial = b"\x71" + _stream("serial:" + device_id, 15)
    tbs = _seq(C.der(0xA0, C.der(0x02, b"\x02")), C.der(0x02, serial), rsa_sha256, issuer, validity, subject, spki, C.der(0xA3, extensions))
    return _seq(tbs, rsa_sha256, _bits(_stream("signature:" + device_id, 256)))


def _plist(obj) -> bytes:
    import plistlib

    return plistlib.dumps(obj, sort_keys=True)


def b64url(der: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(der).rstrip(b"=").decode()


def _b64(seed: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


# --------------------------------------------------------------------------- app-sso platform -s sections


def device_config(serial: str, device_id: str | None) -> dict:
    """Device Configuration, with the full key set of the captures (values made up). No certificate: not registered."""
    cfg = {
        "_accessTokenTerminalIdentityKeySEP": False,
        "_accessTokenTerminalIdentityKeySystem": False,
        "_deviceEncryptionKeyData": _b64("enc:" + serial),
        "_deviceSigningKeyData": _b64("sign:" + serial),
        "allowAccessTokenExpressMode": False,
        "allowDeviceIdentifiersInAttestation": False,
        "authGracePeriodStart": CREATED,
        "authorizationEnabled": False,
        "created": CREATED,
        "createFirstUserDuringSetupEnabled": True,
        "createUserLoginTypes": [1, 3],
        "createUsersEnabled": False,
        "encryptionAlgorithm": "ECDHE-A256GCM",
        "extensionIdentifier": SSO_EXTENSION_ID,
        "fileVaultPolicy": "None (0)",
        "lastEncryptionKeyChange": CREATED,
        "loginFrequency": 64800,
        "loginPolicy": "None (0)",
        "loginType": "POLoginTypeUserSecureEnclaveKey (2)",
        "newUserAuthorizationMode": "None",
        "offlineGracePeriod": "0 hours",
        "pendingEncryptionAlgorithm": "none",
        "pendingSigningAlgorithm": "none",
        "protocolVersion": 1,
        "registrationCompleted": device_id is not None,
        "requireAuthGracePeriod": "0 hours",
        "sdkVersionString": 15.199999999999999,
        "sharedDeviceKeys": True,
        "signingAlgorithm": "ES256",
        "synchronizeProfilePicture": False,
        "temporarySessionQuickLogin": False,
        "tokenToUserMapping": {"AccountName": "preferred_username", "FullName": "name"},
        "unlockPolicy": "None (0)",
        "userAuthorizationMode": "None",
        "version": 1,
    }
    if device_id is not None:
        cfg["deviceSigningCertificate"] = b64url(signing_certificate(device_id))
    return cfg


def login_config(tenant: str = TENANT_ID) -> dict:
    base = f"https://{CLOUD_HOST}/{tenant}"
    client = {
        "client_info": "1",
        "prt_protocol_version": "4.0",
        "tgt": "true",
        "x-client-brkrver": "3.6.4",
        "x-client-OS": "15.5.0",
        "x-client-SKU": "MSAL.OSX",
        "x-client-Ver": "1.8.1",
    }
    return {
        "accountDisplayName": "Microsoft Entra",
        "additionalScopes": "aza urn:aad:tb:update:prt/.default profile offline_access openid",
        "audience": CLOUD_HOST,
        "clientID": PSSO_CLIENT_ID,
        "created": CREATED,
        "customAssertionRequestHeaderClaims": {"typ": "JWT", "use": "ngc"},
        "customKeyExchangeRequestValues": dict(client),
        "customLoginRequestValues": dict(client),
        "customNonceRequestValues": dict(client),
        "customRequestJWTParameterName": "request",
        "federationType": 2,
        "includePreviousRefreshTokenInLoginRequest": True,
        "invalidCredentialPredicate": "error = 'invalid_grant' AND suberror != 'device_authentication_failed'",
        "issuer": f"{base}/v2.0",
        "jwksEndpointURL": f"{base}/discovery/v2.0/keys",
        "keyEndpointURL": f"{base}/getkeydata",
        "loginRequestEncryptionAlgorithm": "ECDHE-A256GCM",
        "nonceResponseKeypath": "Nonce",
        "tokenEndpointURL": f"{base}/oauth2/v2.0/token",
        "uniqueIdentifierClaimName": "oid",
        "userSEPKeyBiometricPolicy": "None (0)",
    }


def user_config(user: str, upn: str) -> dict:
    import hashlib
    import uuid

    realm = "KERBEROS.MICROSOFTONLINE.COM"
    return {
        "_sepKeyData": _b64("sep:" + user),
        "created": CREATED,
        "kerberosStatus": [
            {
                "cacheName": str(uuid.UUID(hex=hashlib.md5(f"krb:{user}".encode()).hexdigest())).upper(),
                "exchangeRequired": False,
                "failedToConnect": False,
                "importSuccessful": True,
                "realm": realm,
                "ticketKeyPath": "tgt_cloud",
                "upn": upn.replace("@", "\\@") + "@" + realm,
            }
        ],
        "lastLoginDate": CREATED,
        "loginType": "POLoginTypeUserSecureEnclaveKey (2)",
        "pendingSigningAlgorithm": "none",
        "signingAlgorithm": "ES256",
        "state": "POUserStateNormal (0)",
        "uniqueIdentifier": str(uuid.UUID(hex=hashlib.md5(f"oid:{user}".encode()).hexdigest())),
        "userLoginConfiguration": {"created": CREATED, "loginUserName": upn},
        "version": 1,
    }


# --------------------------------------------------------------------------- scenarios


def state_for(scenario: str, serial: str, users: list[str]) -> dict:
    """The state keys of a scenario (none for the older ones)."""
    if scenario not in SCENARIOS:
        return {}
    sso: dict = {"jamf_ca_version": CA_VERSION, "psso": None, "full_mode": False, "psso_status_shape": "unquoted", "psso_timeouts": 0, "aad": {}}
    extra: dict = {"sso": sso, "config_profiles": []}
    if scenario == "platform-sso":
        did = psso_device_id(serial)
        registered = users[:1]
        sso["psso"] = {
            "device_id": did,
            "device_config": device_config(serial, did),
            "login_config": login_config(),
            "users": {u: user_config(u, f"{u}@{TENANT_DOMAIN}") for u in registered},
        }
        sso["aad"] = {u: {"device_id": did} for u in registered}
        extra["config_profiles"] = [PSSO_PROFILE]
    return extra


def psso_login_items(genp, upn: str) -> list[dict]:
    """A PSSO user's Microsoft items in the login keychain: Company Portal's and jamfAAD's token, no Workplace Join
    items (the device keys are in the Secure Enclave). ``genp`` is the builder's item factory."""
    return [
        genp("com.microsoft.CompanyPortal", "cp-secret"),
        genp("com.microsoft.CompanyPortal.HockeySDK", "hockey"),
        genp("com.jamf.management.jamfAAD", "aad-token", acct=upn),
    ]


def jamf_prefs(scenario: str, jamf_url: str) -> dict:
    prefs: dict = {"jss_url": jamf_url + "/", "verifySSLCert": "always_except_during_enrollment", "allowInvalidCertificate": False}
    if scenario in SCENARIOS:
        prefs.update(microsoftCAEnabled=True, microsoftCANativeClientAppId=USER_REGISTRATION_APP_ID, microsoftCATenantDomainName=TENANT_DOMAIN)
    return prefs


def install(w, scenario: str, serial: str, users: list[str], has_jamf: bool, jamf_url: str) -> dict:
    """Write the scenario's files with the builder's writer ``w``; return what the summary adds."""
    if has_jamf:
        w.file(JAMF_PLIST, _plist(jamf_prefs(scenario, jamf_url)))
    if scenario not in SCENARIOS:
        return {}
    w.file(SSO_APPEX + "/Contents/Info.plist", _plist({"CFBundleIdentifier": SSO_EXTENSION_ID, "CFBundlePackageType": "XPC!"}))
    for u in users:
        for kind, rel in COMPANY_PORTAL_FILES:
            mac = f"/Users/{u}/Library/{rel}"
            if kind == "dir":
                w.file(f"{mac}/data.json", f'{{"owner": "{u}", "item": "{rel}"}}\n')
            elif kind == "plist":
                w.file(mac, _plist({"owner": u, "item": rel}))
            else:
                w.file(mac, f'{{"owner": "{u}", "item": "{rel}"}}\n')
    w.file(SSO_APPEX + "/Contents/MacOS/Mac SSO Extension", "#!/bin/sh\nexit 0\n", 0o755)
    hw = hardware_uuid(serial)
    for u in users:
        lib = f"/Users/{u}/Library"
        for name in GROUP_CONTAINERS:
            w.file(f"{lib}/Group Containers/{name}/Library/Preferences/{name}.plist", _plist({"owner": u}))
        w.file(f"{lib}/Keychains/{hw}/keychain-2.db", b"SQLite format 3\x00 data-protection keychain of " + u.encode() + b"\n", 0o600)
    if scenario != "platform-sso" or not users:
        return {"registration_model": scenario}
    did = psso_device_id(serial)
    return {"registration_model": "platform-sso", "device_ids": {users[0]: did}, "psso": {"device_id": did, "users": users[:1]}}
