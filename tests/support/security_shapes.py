"""security(1) output as a real Mac prints it (macos-commands.md, `security`, with its Correction of 2026-12-01).

The lab's tests hold the simulated Mac's fake ``security`` to these texts; the parser's tests read them.
Values are the simulated Mac's (alice's default login keychain), so the fake must print them byte for byte.
"""

from __future__ import annotations

ALICE_KC = "/Users/alice/Library/Keychains/login.keychain-db"
BOB_KC = "/Users/bob/Library/Keychains/login.keychain-db"
CDAT = '0x32303235303630383136303533305A00  "20250608160530Z\\000"'
HEX_END = " "  # the one blank security(1) prints after a value it shows in hex only

#: the reference's generic password: the label only as 0x00000007, no "labl" line, the whole attribute list
GENP_THUMBPRINT = f"""keychain: "{ALICE_KC}"
version: 512
class: "genp"
attributes:
    0x00000007 <blob>="com.microsoft.workplacejoin.thumbprint"
    0x00000008 <blob>=<NULL>
    "acct"<blob>="com.microsoft.workplacejoin.thumbprint"
    "cdat"<timedate>={CDAT}
    "crtr"<uint32>=<NULL>
    "cusi"<sint32>=<NULL>
    "desc"<blob>=<NULL>
    "gena"<blob>=<NULL>
    "icmt"<blob>=<NULL>
    "invi"<sint32>=<NULL>
    "mdat"<timedate>={CDAT}
    "nega"<sint32>=<NULL>
    "prot"<blob>=<NULL>
    "scrp"<sint32>=<NULL>
    "svce"<blob>="com.microsoft.workplacejoin.thumbprint"
    "type"<uint32>=<NULL>
"""

#: an internet password: the same 0x00000007 label plus srvr, ptcl (a four-char code), path, port (hex-only: one
#: trailing space), sdmn, atyp
INET_DRS = f"""keychain: "{ALICE_KC}"
version: 512
class: "inet"
attributes:
    0x00000007 <blob>="enterpriseregistration.windows.net"
    0x00000008 <blob>=<NULL>
    "acct"<blob>="alice@example.com"
    "atyp"<blob>="dflt"
    "cdat"<timedate>={CDAT}
    "crtr"<uint32>=<NULL>
    "cusi"<sint32>=<NULL>
    "desc"<blob>=<NULL>
    "icmt"<blob>=<NULL>
    "invi"<sint32>=<NULL>
    "mdat"<timedate>={CDAT}
    "nega"<sint32>=<NULL>
    "path"<blob>="/EnrollmentServer/device/"
    "port"<uint32>=0x00000000{HEX_END}
    "prot"<blob>=<NULL>
    "ptcl"<uint32>="htps"
    "scrp"<sint32>=<NULL>
    "sdmn"<blob>=<NULL>
    "srvr"<blob>="enterpriseregistration.windows.net"
    "type"<uint32>=<NULL>
"""

#: the head of a certificate block and of a private key's: hex-only class values end in one space
CERT_HEAD = f'keychain: "{ALICE_KC}"\nversion: 512\nclass: 0x80001000 \nattributes:\n'
PRIVATE_KEY_HEAD = f'keychain: "{ALICE_KC}"\nversion: 512\nclass: 0x00000010 \nattributes:\n    0x00000000 <uint32>=0x00000010 \n'

#: errSecInteractionNotAllowed: dump-keychain exits 1 with it (never 36)
NO_INTERACTION = "security: SecKeychainSearchCopyNext: User interaction is not allowed.\n"
NOT_FOUND = "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n"
PASSWORD_DELETED = "password has been deleted.\n"  # on stderr


def cert_not_found(key: str) -> str:
    """delete-certificate / delete-identity of a certificate that is not there: exit 1, no newline after it."""
    return f'Unable to delete certificate matching "{key}"'


def genp_block(label_value: str, svce: str, acct: str, keychain: str = ALICE_KC) -> str:
    """A generic password block whose label prints as ``label_value`` (already rendered: quoted, or hex + quoted)."""
    return (
        GENP_THUMBPRINT.replace(ALICE_KC, keychain, 1)
        .replace('0x00000007 <blob>="com.microsoft.workplacejoin.thumbprint"', f"0x00000007 <blob>={label_value}")
        .replace('"acct"<blob>="com.microsoft.workplacejoin.thumbprint"', f'"acct"<blob>="{acct}"')
        .replace('"svce"<blob>="com.microsoft.workplacejoin.thumbprint"', f'"svce"<blob>="{svce}"')
    )
