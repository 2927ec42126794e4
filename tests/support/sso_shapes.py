"""Text in the shapes of ``app-sso platform -s`` and ``Jamf Conditional Access getPSSOStatus``, built from data, for the
parser tests (integration reference, section 2). Values are made up; the layout is the captured one."""

from __future__ import annotations

import json

from cleanup.lab.simmac import sso_model

DEVICE_ID = "34b1ba9a-3b2d-4c6c-ab4b-615f4b143eab"
TENANT = "0dde70e6-f430-449f-8bce-f4d0a9eca2a4"
TIME = "Time: 2026-03-05 16:36:57 +0000"


def app_sso_object(obj: dict) -> str:
    """An object as app-sso prints it: one-space indent before ``{``, two-space indent, ``" : "``."""
    return " " + json.dumps(obj, indent=2, separators=(",", " : "))


def app_sso_text(device: dict | None = None, login: dict | None = None, user: dict | None = None, tokens: bool = False, order=None) -> str:
    sections = {"Device Configuration": device, "Login Configuration": login, "User Configuration": user}
    out = [TIME, ""]
    for name in order or sections:
        value = sections[name]
        out += [f"{name}:", app_sso_object(value) if value is not None else " (null)", ""]
    if tokens:
        out += ["SSO Tokens:", "Received:", "2026-04-25T09:17:44Z", "Expiration:", "2026-05-09T09:17:43Z (Not Expired)", ""]
    return "\n".join(out) + "\n"


def registered_device(device_id: str = DEVICE_ID) -> dict:
    return sso_model.device_config("C02ZK1ABMD6M", device_id)


def psso_status_text(status: str = "2", pairs: list[tuple[str, str]] | None = None, quoted: bool = False) -> str:
    pairs = pairs if pairs is not None else reference_pairs()
    q = '"' if quoted else ""
    body = ", ".join(f'AnyHashable("{k}"): {q}{v}{q}' for k, v in pairs)
    return f"{status}\nextraDeviceInformation [{body}]\n"


def reference_pairs(device_id: str = DEVICE_ID) -> list[tuple[str, str]]:
    """The reference's sample, in its order."""
    return [
        ("isSSOExtensionInFullMode", "No"),
        ("primary_registration_metadata_upn", "alice@contoso.com"),
        ("primary_registration_metadata_cloud_host", "login.microsoftonline.com"),
        ("primary_registration_metadata_device_id", device_id),
        ("primary_registration_metadata_tenant_id", TENANT),
    ]
