"""`cleanup diagnose --format jamf-ea`: the Mac's Entra registration as one line for a Jamf Pro extension attribute.

Device side only and read-only: the same reads as the device checks (the login keychains, each read as its user,
and the Mac's registration evidence: app-sso, getPSSOStatus, the jamf and jamfAAD plists), never the cloud. The
answer is one of the fixed STATES (docs/jamf.md names the evidence of each), optionally followed by a RUN_SUFFIX when
the Mac's run lock names an unfinished cleanup run. Whatever happens, :func:`result_line` returns one line; an error
is ``Unknown: <reason>``. Nothing the Mac holds reaches the line except through :func:`clean` (reasons only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cleanup.actions.keychain_items import LOGIN_KEYCHAIN, KeychainView, in_parallel, keychain_owners, paired_private_key, reachable, read_keychain
from cleanup.diagnose.device import WPJ_ISSUER, WPJ_THUMBPRINT
from cleanup.errors import CleanupError, HostError, UsageError
from cleanup.hosts import probes
from cleanup.hosts.base import Host, LocalUser
from cleanup.hosts.registration import RegistrationEvidence, UserEvidence, read_registration_evidence
from cleanup.hosts.runlock import MAC_LOCK_DIR, MAC_LOCK_NAME
from cleanup.identifiers import guid_or_none, valid_serial

REGISTERED_PSSO = "Registered (Platform SSO)"
REGISTERED_DC = "Registered (Device Compliance)"
REGISTERED_LEGACY = "Registered (legacy)"
NOT_REGISTERED = "Not registered"
DUPLICATES = "Duplicate registrations"
PSSO_INCOMPLETE = "Platform SSO registration incomplete"
WPJ_INCOMPLETE = "Workplace Join incomplete"
SE_NOT_ACQUIRED = "Workplace Join key in Secure Enclave, not acquired"
NOT_ACQUIRED = "Entra ID not acquired"
KEYCHAIN_LOCKED = "Keychain locked"
UNKNOWN = "Unknown"
#: every state, most urgent first (the order the judgement tries them in); smart groups match these strings
STATES = (
    DUPLICATES,
    PSSO_INCOMPLETE,
    WPJ_INCOMPLETE,
    SE_NOT_ACQUIRED,
    NOT_ACQUIRED,
    REGISTERED_PSSO,
    REGISTERED_DC,
    REGISTERED_LEGACY,
    KEYCHAIN_LOCKED,
    NOT_REGISTERED,
    UNKNOWN,
)
#: appended when the Mac's run lock names a run that is not finished: "; cleanup run paused"
RUN_SUFFIX = "; cleanup run "
RUN_STATES = {"paused": "paused", "failed": "failed", "running": "in progress"}
RUN_UNREADABLE = "unfinished"  # the lock names a run whose state cannot be read here
MAX_REASON = 160
SAFE = str.maketrans("<>&", "()+")  # what <result> cannot hold
NEEDS_USER = ("POUserStateNeedsRegistration", "POUserStateNeedsNewKeys")
RETRY_DELAY = 1.0  # getPSSOStatus after a time-out: sooner than the reader's 5 s, an extension attribute must be quick


def clean(text: str, limit: int = MAX_REASON) -> str:
    """``text`` made safe inside ``<result>``: one line of printable ASCII, no ``<``, ``>`` or ``&``, at most ``limit``."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = text.translate(SAFE).encode("ascii", "replace").decode("ascii")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def result_line(spec: str, serial: str | None = None) -> str:
    """The extension attribute's line for the Mac at ``spec``; never raises."""
    try:
        from cleanup.hosts import open_host

        if serial is not None:
            valid_serial(serial)
        host = open_host(spec)
        try:
            text = summary(host, serial)
        finally:
            host.close()
    except CleanupError as exc:
        text = f"{UNKNOWN}: {clean(exc.message)}"
    except Exception as exc:  # an extension attribute answers with one line whatever breaks
        text = f"{UNKNOWN}: {clean(f'{type(exc).__name__}: {exc}')}"
    except KeyboardInterrupt:
        text = f"{UNKNOWN}: interrupted"
    return f"<result>{clean(text, MAX_REASON + 20)}</result>"


# -- what the Mac shows, per user ---------------------------------------------------------------------------


@dataclass
class UserFacts:
    name: str
    keychain: str = "none"  # read | locked | unread | none (no login keychain)
    wpj_ids: list[str] = field(default_factory=list)  # deviceIds of the MS-ORGANIZATION-ACCESS certificates
    wpj_complete: bool = False  # a certificate and its thumbprint password
    wpj_partial: bool = False  # one without the other
    wpj_key_here: bool = False  # the certificate's private key is in the login keychain (not in the Secure Enclave)
    msal_id: str | None = None  # the deviceId getPSSOStatus reports
    msal_status: int | None = None
    psso_registered: bool = False  # the device's Platform SSO registration completed and this user has their own
    psso_id: str | None = None
    psso_incomplete: bool = False
    aad: bool | None = None  # jamfAAD's have_an_Azure_id

    @property
    def registered(self) -> bool:
        return self.wpj_complete or bool(self.msal_id) or self.psso_registered

    def device_ids(self) -> set[str]:
        return {i for i in (*self.wpj_ids, self.msal_id, self.psso_id) if i}


def _from_keychain(u: UserFacts, view: KeychainView) -> None:
    u.keychain = "locked" if view.locked else "read"
    if view.locked and not view.listed:
        return
    certs = [i for i in view.items if i.item_class == "cert" and (i.issuer_cn or "").casefold() == WPJ_ISSUER]
    accounts = {i.get("acct") or "" for i in view.items if i.item_class == "genp"}
    wpj_passwords = any(a.startswith("com.microsoft.workplacejoin.") for a in accounts)
    u.wpj_ids = sorted({g for c in certs if (g := guid_or_none(c.get("labl") or c.subject_cn))})
    u.wpj_complete = bool(certs) and WPJ_THUMBPRINT in accounts
    u.wpj_partial = bool(certs or wpj_passwords) and not u.wpj_complete
    u.wpj_key_here = any(paired_private_key(view, c) is not None for c in certs)


def _from_evidence(u: UserFacts, ev: UserEvidence) -> None:
    if ev.psso_status is not None:
        u.msal_status = ev.psso_status.status
        u.msal_id = guid_or_none(ev.psso_status.device_id)
    if ev.jamfaad is not None:
        u.aad = ev.jamfaad.have_an_azure_id
    st = ev.platform_sso
    if st is None or not st.configured:
        return
    u.psso_id = guid_or_none(st.device_id) if st.registered else None
    state = st.user.state.name if st.user and st.user.state else None
    u.psso_registered = st.registered and st.user is not None and state not in NEEDS_USER
    u.psso_incomplete = not u.psso_registered


def login_keychains(host: Host, users: list[LocalUser], sessions: frozenset[int] | None, notes: list[str]) -> dict[str, KeychainView]:
    """user -> their login keychain, read as they are (as step 0 reads it; the System keychain says nothing here)."""
    todo = []
    for user in keychain_owners(users, notes):
        path = f"{user.home}/{LOGIN_KEYCHAIN}"
        if reachable(host, path, f"the login keychain of {user.name}", notes):
            todo.append((path, user))

    def read(item: tuple[str, LocalUser]) -> KeychainView | None:
        path, user = item
        try:
            return read_keychain(host, path, user, None if sessions is None else user.uid in sessions)
        except HostError as exc:
            notes.append(f"skipped the login keychain of {user.name}: {exc.message}")
            return None

    views = in_parallel(read, todo)
    return {user.name: view for (_, user), view in zip(todo, views, strict=True) if view is not None}


def read_users(host: Host, users: list[LocalUser], sessions: frozenset[int] | None) -> tuple[list[UserFacts], RegistrationEvidence, list[str]]:
    """Each user's facts, the Mac's evidence and the notes of login keychains that could not be read (both reads at once)."""
    notes: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        views_f = pool.submit(login_keychains, host, users, sessions, notes)
        ev = read_registration_evidence(host, retry_delay=RETRY_DELAY, users=users, sessions=sessions)
        views = views_f.result()
    facts = []
    notes = [n for n in notes if n.startswith("skipped the login keychain of ")]
    for user in users:
        u = UserFacts(user.name)
        if user.name in views:
            _from_keychain(u, views[user.name])
        elif any(n.startswith(f"skipped the login keychain of {user.name}:") for n in notes):
            u.keychain = "unread"
        found = next((e for e in ev.users if e.name == user.name), None)
        if found is not None:
            _from_evidence(u, found)
        facts.append(u)
    return facts, ev, notes


# -- the judgement -------------------------------------------------------------------------------------------


def judge(users: list[UserFacts], device_compliance: bool, notes: Sequence[str] = ()) -> str:
    """The state of STATES the facts show, most urgent first (docs/jamf.md)."""
    ids = set().union(*(u.device_ids() for u in users)) if users else set()
    if len(ids) > 1:
        return DUPLICATES
    if any(u.psso_incomplete or u.msal_status == 1 for u in users):
        return PSSO_INCOMPLETE
    # passwords without a certificate are no leftover where MSAL sees the registration (its keys in the Secure Enclave)
    if any(u.wpj_partial and not (u.msal_id or u.psso_registered) for u in users):
        return WPJ_INCOMPLETE
    registered = [u for u in users if u.registered]
    for u in registered:
        if u.aad is not True and not u.psso_registered and not (u.wpj_complete and u.wpj_key_here):
            return SE_NOT_ACQUIRED
    if any(u.aad is not True for u in registered):
        return NOT_ACQUIRED
    if any(u.psso_registered for u in registered):
        return REGISTERED_PSSO
    if registered:
        return REGISTERED_DC if device_compliance else REGISTERED_LEGACY
    if any(u.keychain == "locked" for u in users):
        return KEYCHAIN_LOCKED
    if notes:
        return f"{UNKNOWN}: {clean(notes[0])}"
    return NOT_REGISTERED


def run_note(host: Host) -> str:
    """RUN_SUFFIX and the state of the unfinished run the Mac's run lock names, or "" (read only: no lock taken)."""
    path = f"{MAC_LOCK_DIR}/{MAC_LOCK_NAME}"
    try:
        info = host.lstat(path)
        if info is None or info.kind != "file" or info.size > 4096:
            return ""
        note = json.loads(host.read_bytes(path).decode("utf-8", "replace") or "{}")
    except (CleanupError, OSError, ValueError):
        return ""
    if not isinstance(note, dict) or not isinstance(note.get("run"), str) or not isinstance(note.get("state_dir"), str):
        return ""  # no run named: the last one finished, or a run is only starting
    from cleanup.engine.store import StateStore

    try:
        run, _ = StateStore(Path(note["state_dir"])).load(note["run"])
    except (CleanupError, OSError):
        return RUN_SUFFIX + RUN_UNREADABLE
    status = RUN_STATES.get(str(run.status))
    return RUN_SUFFIX + status if status else ""


def summary(host: Host, serial: str | None = None) -> str:
    """The state text (without the tags) of the Mac at ``host``; raises CleanupError when it cannot be read."""
    if not host.device:
        raise UsageError("no Mac to read (name one with --host)")
    # read-only commands, all at once (a Mac answers each in well under a second; sw_vers decides first)
    with ThreadPoolExecutor(max_workers=6) as pool:
        mac_f = pool.submit(probes.require_mac, host)
        users_f = pool.submit(probes.local_users, host)
        uid_f = pool.submit(probes.effective_uid, host)
        sessions_f = pool.submit(probes.gui_session_uids, host)
        note_f = pool.submit(run_note, host)
        serial_f = pool.submit(probes.serial_number, host) if serial else None
        mac_f.result()
        if uid_f.result() != 0:
            raise UsageError("not run as root: an extension attribute runs as root to read every user's registration")
        if serial_f is not None and (found := serial_f.result()) != serial:
            raise UsageError(f"the Mac is {found}, not {serial}")
        facts, ev, notes = read_users(host, users_f.result(), sessions_f.result())
        dc = ev.jamf_prefs is not None and ev.jamf_prefs.device_compliance
        return judge(facts, dc, notes) + note_f.result()
