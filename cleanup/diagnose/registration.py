"""The Mac's registration model as a diagnosis sees it, and the Jamf Pro version its jamfAAD check depends on.

The model comes from ``cleanup.actions.registration_model.classify`` (the one judgement step 0 of a run makes too),
fed with what diagnose reads anyway: the Mac's evidence (``cleanup.hosts.registration``), the legacy and the 2026
partners, and the serial's Jamf Pro, Intune and Entra records. It is worked out once, by the first check that
asks; a read that fails is named in the evidence and leaves the model to the other facts (``unknown`` at worst,
never ``legacy`` by default).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cleanup.actions.registration_model import classify
from cleanup.clients import records as R
from cleanup.diagnose import model as M
from cleanup.diagnose.reads import CloudData
from cleanup.errors import Unavailable, UsageError
from cleanup.hosts.registration import evidence_facts
from cleanup.identifiers import valid_guid

if TYPE_CHECKING:
    from cleanup.diagnose.device import DeviceData
    from cleanup.hosts.registration import RegistrationEvidence

#: the recurring (2-hourly) gatherAADInfo LaunchAgent was removed in this Jamf Pro version (reference section 2)
NO_RECURRING_GATHER = (11, 5)
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: object) -> tuple[int, ...] | None:
    """``11.6.0-t1718000000`` -> (11, 6, 0); None for anything that does not start with a version."""
    m = _VERSION.match(text) if isinstance(text, str) else None
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in version)


class Registration:
    """What a diagnosis knows of the Mac's registration model; every part read once (thread-safe)."""

    def __init__(self, dev: DeviceData | None, data: CloudData, no_device: str | None = None):
        self.dev = dev
        self.data = data
        self.no_device = no_device
        self._lock = threading.Lock()
        self._classified: dict[str, Any] | None = None

    # -- the Mac ---------------------------------------------------------------------------------------

    def evidence(self) -> RegistrationEvidence:
        """The Mac's evidence; Unavailable when there is no Mac or it cannot be read."""
        if self.dev is None:
            raise Unavailable(self.no_device or "no Mac to check (name one with --host)")
        return self.dev.registration()

    def held_device_ids(self) -> dict[str, list[str]]:
        """user -> the Entra deviceIds the Mac's Platform SSO and MSAL name for that user (no keychain read)."""
        try:
            ev = self.evidence()
        except Unavailable:
            return {}
        out: dict[str, list[str]] = {}
        for u in ev.users:
            ids = []
            if u.platform_sso and u.platform_sso.registered and u.platform_sso.device_id:
                ids.append(u.platform_sso.device_id)
            if u.psso_status and u.psso_status.device_id:
                ids.append(u.psso_status.device_id)
            if ids:
                out[u.name] = list(dict.fromkeys(ids))
        return out

    def msal_upn(self) -> str | None:
        """The user MSAL names on the Mac (getPSSOStatus' registration UPN of a logged-in user), if exactly one."""
        try:
            ev = self.evidence()
        except Unavailable:
            return None
        upns = {u.psso_status.upn.strip() for u in ev.users if u.logged_in and u.psso_status and u.psso_status.upn and "@" in u.psso_status.upn}
        return upns.pop() if len(upns) == 1 else None

    def mac_device_ids(self) -> list[str]:
        """Every Entra deviceId the Mac holds: Platform SSO, MSAL and the Workplace Join certificates of the
        login keychains that can be read (the keychain read is the one the workplace-join check makes)."""
        ids = [did for found in self.held_device_ids().values() for did in found]
        if self.dev is not None:
            try:
                wpj = self.dev.workplace_join()
            except Unavailable:
                wpj = {"users": []}
            for u in wpj["users"]:
                for did in u["device_ids"]:
                    try:
                        ids.append(valid_guid(did))
                    except UsageError:
                        continue
        return list(dict.fromkeys(ids))

    # -- the model -------------------------------------------------------------------------------------

    def classification(self) -> dict[str, Any]:
        """classify()'s answer: ``{"model", "evidence", "leftovers", "device_compliance", "psso_device_id"}``."""
        with self._lock:
            if self._classified is None:
                self._classified = self._classify()
            return self._classified

    def model(self) -> str:
        return str(self.classification()["model"])

    def _classify(self) -> dict[str, Any]:
        notes: list[str] = []
        device = None
        with ThreadPoolExecutor(max_workers=1) as mac:  # the Mac's commands run while the cloud is read
            evidence = mac.submit(self.evidence)
            cloud, partners = self._cloud_facts(notes)
            try:
                device = evidence_facts(evidence.result())
            except Unavailable as exc:
                notes.append(f"the Mac's evidence was not read: {exc.why}")
        intune_read = cloud.pop("intune_read")
        cloud["entra"] = self._entra(cloud["intune"])
        found = classify(device, cloud, partners)
        if not intune_read:  # classify cannot tell "none" from "not read"
            found["evidence"] = [e for e in found["evidence"] if not e.startswith("Intune: no record of serial")]
        return found

    def _cloud_facts(self, notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        partners: dict[str, Any] = {"notes": notes}
        reads = (("legacy", "deviceManagementPartners", self.data.partners), ("compliance", "complianceManagementPartners", self.data.compliance_partners))
        for key, kind, read in reads:
            try:
                partners[key] = read()
            except Unavailable as exc:
                partners[key] = None
                notes.append(f"Graph {kind} not read: {exc.why}")
        intune_read = True
        try:
            intune = [R.intune_summary(r) for r in self.data.intune_records()]
        except Unavailable as exc:
            intune, intune_read = [], False
            notes.append(f"Intune records not read: {exc.why}")
        try:
            jamf = [R.jamf_summary(r) for r in self.data.jamf_records()]
        except Unavailable as exc:
            jamf = []
            notes.append(f"Jamf Pro records not read: {exc.why}")
        return {"serial": self.data.serial, "intune": intune, "jamf": jamf, "intune_read": intune_read}, partners

    def _entra(self, intune: list[dict]) -> list[dict]:
        """The Entra devices the Mac's registrations and its Intune records point to (reads the checks share)."""
        ids = [did for ids in self.held_device_ids().values() for did in ids]
        ids += [did for r in intune if (did := R.linked_device_id(r))]
        out: dict[str, dict] = {}
        for device_id in dict.fromkeys(ids):
            try:
                for dev in self.data.entra_by_device_id(valid_guid(device_id)):
                    out.setdefault(str(dev.get("id")), R.entra_summary(dev, "deviceId"))
            except (Unavailable, UsageError):
                continue
        return list(out.values())

    # -- Jamf Pro's version ----------------------------------------------------------------------------

    def jamf_version(self) -> tuple[tuple[int, ...] | None, str]:
        """(Jamf Pro's version, where it was read): the server's, which the Jamf client discovers for its routes
        anyway (``JamfClient.version()``, no extra request); else the jamf binary's of the Mac's newest record
        (``general.jamfBinaryVersion``), which Jamf Pro keeps in step with the server."""
        server = self.data.jamf_pro_version()
        if server:
            return server, "the Jamf Pro server (/api/v1/jamf-pro-version)"
        try:
            records = self.data.jamf_records()
        except Unavailable:
            records = []
        if records:
            summaries = [R.jamf_summary(r) for r in records]
            newest = R.newest_jamf(summaries)
            raw = records[summaries.index(newest)] if newest is not None else records[0]
            found = parse_version(R.get_path(raw, "general", "jamfBinaryVersion"))
            if found:
                return found, f"the jamf binary of Jamf Pro record {raw.get('id')} (general.jamfBinaryVersion)"
        return None, "unknown"


# -- the check -------------------------------------------------------------------------------------------


def registration_model(reg: Registration, now: float):
    """Which model the Mac is in, with each fact it was told from and the leftovers of an older model."""
    row = M.REGISTRATION_MODEL
    found = reg.classification()
    evidence = {"model": found["model"], "evidence": found["evidence"], "leftovers": found["leftovers"]}
    if found.get("psso_device_id"):
        evidence["psso_device_id"] = found["psso_device_id"]
    model = found["model"]
    if model not in M.ALL_MODELS:
        mac = f"; the Mac: {reg.no_device}" if reg.dev is None and reg.no_device else ""
        return row.unknown("the registration model cannot be told: " + _last_reason(found["evidence"]) + mac, **evidence)
    leftovers = f"; {len(found['leftovers'])} leftover(s) of an older model" if found["leftovers"] else ""
    return row.ok(f"the Mac is in {M.MODEL_NAMES[model]} ({model}){leftovers}", **evidence)


def _last_reason(lines: list[str]) -> str:
    reasons = [e for e in lines if e.startswith("model unknown:")]
    return reasons[-1].removeprefix("model unknown: ") if reasons else "no evidence either way"
