"""After steps 12-13: poll (bounded, with backoff) until Jamf Pro has a new record for the serial and Entra and
Intune each have exactly one record for the Mac, managed by Jamf. ``cleanup verify RUN`` runs the same check.

Per registration model (step 0's ``cloud["registration"]``; a run recorded before models were known is legacy):

- legacy: as above;
- Device Compliance: the new Jamf Pro record; the deviceId the Mac now holds (what Jamf Pro reports for the new
  record's users, else what its device-compliance information names) is exactly one Entra device, enabled; the
  deviceIds step 5 deleted are gone (a soft-deleted device counts as gone); Jamf Pro's device-compliance
  information for the new record is applicable. Its compliance state is reported: COMPLIANT or NON_COMPLIANT is
  the policy's verdict and does not stop verification; UNKNOWN means Jamf has not sent it yet ("pending"): the
  poll keeps waiting for it within its bound, then ends verified with the state reported as pending. No Intune
  record is expected; a new one managed by jamf is a warning (the legacy integration still registers the Mac);
- Platform SSO: the Device Compliance checks for the Platform SSO deviceId, and ``app-sso`` showing the
  registration completed with that deviceId (read on the Mac; without one, what the repair step recorded);
- unknown: the legacy check when Intune has a new record of the serial, else the Device Compliance check.

The new record's FileVault key is reported too (``individualRecoveryKeyValidityStatus``): when step 4 deleted a
record that escrowed one and the new record holds no valid key, the Mac is not called fully verified, and the
summary says to re-escrow the key by rotating it. Waiting does not bring that key, so the poll does not wait for it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cleanup.actions.recorded import cloud_facts
from cleanup.clients import records as R
from cleanup.engine.action import Action, ActsOn, Param, Pause, PauseKind, positive_at_most, register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan


@dataclass
class Verification:
    verified: bool
    found: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    #: why a verified registration is not fully verified (the new record's FileVault key)
    warnings: list[str] = field(default_factory=list)
    #: the registration model checked (legacy, device-compliance, platform-sso)
    model: str = "legacy"
    #: what a verified registration still waits for without being held back by it (Jamf's compliance state)
    pending: list[str] = field(default_factory=list)

    @property
    def fully_verified(self) -> bool:
        return self.verified and not self.warnings

    def summary(self) -> str:
        if self.verified:
            f = self.found
            if self.model == "legacy":
                text = f"verified: Jamf Pro record {f['jamf']}, Entra device {f['entra']}, Intune record {f['intune']}"
            else:
                text = (
                    f"verified ({MODEL_NAMES.get(self.model, self.model)}): Jamf Pro record {f['jamf']}, Entra device {f['entra']} "
                    f"(deviceId {f['device_id']}), compliance {f.get('compliance_state') or 'not reported'}"
                )
            text += ("; pending: " + "; ".join(self.pending)) if self.pending else ""
            return text + ("; but not fully: " + "; ".join(self.warnings) if self.warnings else "")
        return "not yet: " + "; ".join(self.missing)

    def to_json(self) -> dict:
        return {
            "verified": self.verified,
            "fully_verified": self.fully_verified,
            "found": self.found,
            "missing": self.missing,
            "warnings": self.warnings,
            "model": self.model,
            "pending": self.pending,
        }


MODEL_NAMES = {"device-compliance": "Device Compliance", "platform-sso": "Platform SSO"}
ZERO = R.ZERO_GUID


def model_checked(cloud_facts: dict) -> str:
    """The model step 0 classified; legacy for a run recorded before models were known."""
    reg = cloud_facts.get("registration")
    return str(reg.get("model")) if isinstance(reg, dict) and reg.get("model") else "legacy"


def check_registration(cloud, cloud_facts: dict, psso: dict | None = None) -> Verification:
    """One look at the services for the serial recorded in step 0, as the run's registration model expects.
    ``psso``: the Mac's Platform SSO state ``{"registered": bool, "device_id", "source"}`` (None: not known)."""
    serial = cloud_facts["serial"]
    old_jamf = {r["id"] for r in cloud_facts.get("jamf", [])}
    old_intune = {r["id"] for r in cloud_facts.get("intune", [])}
    missing: list[str] = []
    warnings: list[str] = []
    found: dict = {}
    now_jamf = cloud.jamf.computers_by_serial(serial)
    missing += _jamf_leftovers(cloud, serial, [str(r.get("id")) for r in now_jamf if str(r.get("id")) in old_jamf])
    new_jamf = [R.jamf_summary(r) for r in now_jamf if str(r.get("id")) not in old_jamf]
    if not new_jamf:
        missing.append(f"no new Jamf Pro record for serial {serial} (re-enrollment not seen yet)")
    else:
        found["jamf"] = new_jamf[-1]["id"]
        warnings += _filevault(cloud, cloud_facts, found)
    intune = [d for d in cloud.graph.managed_devices_by_serial(serial) if R.is_mac_intune(d) and d["id"] not in old_intune]
    model = model_checked(cloud_facts)
    if model == "unknown":
        model = "legacy" if intune else "device-compliance"
        found["model_checked_because"] = "model unknown in step 0: " + ("Intune has a new record of the serial" if intune else "Intune has no new record")
    pending: list[str] = []
    if model == "legacy":
        _legacy(cloud, cloud_facts, serial, intune, found, missing)
    else:
        pending = _device_compliance(cloud, cloud_facts, new_jamf[-1] if new_jamf else None, model, psso, found, missing)
        jamf_managed = [d for d in intune if _jamf_managed(d)]
        warnings += [
            f"{R.describe('intune', d)} is new and managed by jamf: on a {MODEL_NAMES[model]} Mac the legacy integration should not register it "
            "(is the legacy Intune integration still enabled in Jamf Pro?)"
            for d in jamf_managed
        ]
        found["intune"] = [d["id"] for d in jamf_managed] or None
    return Verification(not missing, found, missing, warnings if not missing else [], model, pending if not missing else [])


def _jamf_managed(d: dict) -> bool:
    return (d.get("managementAgent") or "").casefold() == "jamf"


def _legacy(cloud, cloud_facts: dict, serial: str, intune: list[dict], found: dict, missing: list[str]) -> None:
    """As before models: exactly one new Intune record, managed by jamf, and the one Entra device it points to."""
    old_entra = {r["id"] for r in cloud_facts.get("entra", [])}
    jamf_managed = [d for d in intune if _jamf_managed(d)]
    if len(intune) != 1 or len(jamf_managed) != 1:
        missing.append(f"Intune has {len(intune)} new record(s) for serial {serial}, {len(jamf_managed)} managed by Jamf (want exactly one)")
    else:
        found["intune"] = jamf_managed[0]["id"]
        did = jamf_managed[0].get("azureADDeviceId")
        devices = [d for d in cloud.graph.devices_by_device_id(did) if d["id"] not in old_entra] if did and did != R.ZERO_GUID else []
        if len(devices) != 1:
            missing.append(f"Entra has {len(devices)} device(s) with deviceId {did or '(none reported by Intune)'} (want exactly one)")
        else:
            found["entra"] = devices[0]["id"]
            found["device_id"] = did


def _guid(text: object) -> str | None:
    t = text.strip().casefold() if isinstance(text, str) else ""
    return t if len(t) == 36 and t != ZERO else None


def old_device_ids(cloud_facts: dict) -> list[str]:
    """The deviceIds of the Entra devices step 5 deletes (found by deviceId, or picked; none another Mac claims)."""
    picks = set((cloud_facts.get("choices") or {}).get("entra") or [])
    found = [] if cloud_facts.get("entra_by_name_only") and not picks else cloud_facts.get("entra") or []
    if picks:
        found = [d for d in found + (cloud_facts.get("entra_other") or []) if d["id"] in picks]
    return list(dict.fromkeys(g for d in R.unclaimed(cloud_facts, found) if (g := _guid(d.get("deviceId")))))


def _device_compliance(cloud, cloud_facts: dict, new: dict | None, model: str, psso: dict | None, found: dict, missing: list[str]) -> list[str]:
    """The Device Compliance (and Platform SSO) checks; returns what is pending."""
    from cleanup.clients.compliance import device_compliance

    old = old_device_ids(cloud_facts)
    if old:
        still = {did: devs for did, devs in cloud.graph.devices_by_device_ids(old).items() if devs}
        missing += [
            f"old Entra device {d['id']} (deviceId {did}, recorded in step 0) is still there: it should have gone in step 5"
            for did, devs in still.items()
            for d in devs
        ]
    if model == "platform-sso":
        if psso is None:
            missing.append("the Mac's Platform SSO registration is not confirmed (no Mac to read and no record of the repair step)")
        elif not psso.get("registered"):
            missing.append(f"Platform SSO registration not completed ({psso.get('source')})")
        else:
            found["psso"] = {"device_id": psso.get("device_id"), "source": psso.get("source")}
    if new is None:
        return []
    info = device_compliance(cloud.jamf, new["id"])
    candidates = _new_device_ids(new, info, psso if model == "platform-sso" else None, set(old))
    found["device_id_sources"] = candidates
    pending: list[str] = []
    did = next((ids[0] for ids in candidates.values() if len(ids) == 1), None)
    several = next((ids for ids in candidates.values() if len(ids) > 1), None)
    if several and did is None:
        missing.append(f"Jamf Pro reports several new deviceIds for record {new['id']} ({', '.join(several)}): want one")
    elif did is None:
        missing.append(f"no new Entra deviceId for Jamf Pro record {new['id']} yet (its users' registration and device-compliance information name none)")
    else:
        devices = cloud.graph.devices_by_device_id(did)
        enabled = [d for d in devices if d.get("accountEnabled") is not False]
        if len(devices) != 1 or not enabled:
            state = "" if len(devices) != 1 else " (disabled)"
            missing.append(f"Entra has {len(devices)} device(s) with deviceId {did}{state} (want exactly one, enabled)")
        else:
            found["entra"], found["device_id"], found["trust_type"] = devices[0]["id"], did, devices[0].get("trustType")
    if "platform_sso" in candidates:
        # Jamf Pro must report the Platform SSO device, or compliance goes to another Entra device (before 11.9)
        others = sorted({g for k, ids in candidates.items() if k != "platform_sso" for g in ids} - {did})
        if others:
            missing.append(
                f"Jamf Pro reports deviceId {', '.join(others)} for record {new['id']}, not the Mac's Platform SSO deviceId {did} "
                "(its compliance would go to another Entra device)"
            )
    if info is None:
        missing.append(f"Jamf Pro record {new['id']} is gone (no device-compliance information)")
    elif not info:
        missing.append(f"Jamf Pro has no device-compliance information for record {new['id']} yet")
    elif not any(i["applicable"] for i in info):
        missing.append(f"Jamf Pro's device-compliance information for record {new['id']} is not applicable (is the Mac in the Applicable smart group?)")
    else:
        entry = next(i for i in info if i["applicable"])
        found["compliance_state"] = entry["state"]
        if entry["state"] == "UNKNOWN":
            pending.append(f"compliance state pending: Jamf Pro has not sent record {new['id']}'s compliance yet (UNKNOWN)")
    return pending


def _new_device_ids(new: dict, info: list[dict] | None, psso: dict | None, old: set[str]) -> dict[str, list[str]]:
    """Where the new deviceId comes from, first that names one wins: the Platform SSO registration, the new
    record's users (computerAzureActiveDirectoryId), its device-compliance information; old deviceIds left out."""
    out: dict[str, list[str]] = {}
    if psso and psso.get("registered") and (g := _guid(psso.get("device_id"))):
        out["platform_sso"] = [g]
    users = [g for d in new.get("aad_device_ids") or [] if (g := _guid(d)) and g not in old]
    if users:
        out["jamf_users"] = list(dict.fromkeys(users))
    dc = [g for i in info or [] for d in i.get("device_ids") or [] if (g := _guid(d)) and g not in old]
    if dc:
        out["device_compliance"] = list(dict.fromkeys(dc))
    return out


def _filevault(cloud, cloud_facts: dict, found: dict) -> list[str]:
    """The new record's FileVault key validity (in ``found``), and a warning when it holds no valid key although a
    record step 4 deleted held one (or Jamf Pro reports its key invalid)."""
    new_id = found["jamf"]
    sections = cloud.jamf.escrow_sections(new_id) or {}
    status = R.get_path(sections, "diskEncryption", "individualRecoveryKeyValidityStatus")
    found["filevault"] = status
    had_key = any(item.get("kind") == "filevault" for r in cloud_facts.get("jamf", []) for item in (r.get("escrow") or {}).get("items") or [])
    if status == "VALID" or not (had_key or status == "INVALID"):
        return []
    serial = cloud_facts["serial"]
    return [
        f"Jamf Pro holds no valid FileVault personal recovery key for the new record {new_id} (individualRecoveryKeyValidityStatus {status}): "
        f"re-escrow it by rotating the key (a FileVault escrow profile scoped to the Mac, then a new personal recovery key, e.g. "
        f"`fdesetup changerecovery -personal` or a Jamf Pro policy); until then the key saved before step 4 is the one: "
        f"`cleanup escrow show {serial} --kind filevault`"
    ]


def _jamf_leftovers(cloud, serial: str, listed: list[str]) -> list[str]:
    """Old Jamf Pro records of the serial (recorded in step 0) still there; each re-read, as a list may still show
    a record deleted moments ago."""
    return [
        f"old Jamf Pro record {cid} of serial {serial} (recorded in step 0) is still there: delete it in Jamf Pro "
        f"(or run again with --jamf-record {cid}), then check again"
        for cid in listed
        if cloud.jamf.computer(cid) is not None
    ]


def psso_record(steps) -> dict | None:
    """What the Platform SSO repair step recorded (``data["psso"]``: user, device_id, checked_at) in ``steps`` (a
    run's StepStates), or None."""
    for st in steps:
        rec = (st.data or {}).get("psso")
        if isinstance(rec, dict):
            return rec
    return None


def psso_from_record(rec: dict | None) -> dict | None:
    """The Platform SSO state the repair step confirmed (it records only a completed registration)."""
    if not rec or not rec.get("device_id"):
        return None
    return {"registered": True, "device_id": str(rec["device_id"]).casefold(), "source": f"recorded by the repair step for {rec.get('user')}"}


def psso_from_mac(ctx: RunContext, rec: dict | None) -> dict | None:
    """``app-sso platform -s`` as the user the repair step recorded (else the first user the Mac's evidence showed
    registered, else the console user), read now; None without a Mac or such a user."""
    if not getattr(ctx.host, "device", False):
        return None
    from cleanup.hosts.registration import read_platform_sso

    device = ctx.facts.get("registration") or {}
    names = [(rec or {}).get("user")] + [u.get("name") for u in device.get("users") or [] if u.get("psso_registered")] + [ctx.facts.get("console_user")]
    users = {u.name: u for u in ctx.users}
    user = next((users[n] for n in names if n in users), None)
    if user is None:
        return None
    state, why = read_platform_sso(ctx.host, user)
    if state is None:
        return {"registered": False, "device_id": None, "source": f"app-sso as {user.name}: {why}"}
    did = state.device_id.casefold() if state.registered and state.device_id else None
    return {"registered": state.registered, "device_id": did, "source": f"app-sso platform -s as {user.name}"}


def _run_psso_record(ctx: RunContext) -> dict | None:
    """The repair step's record, from the run's saved state (the verify step cannot see other steps' data)."""
    if not ctx.state_dir or not ctx.run_id:
        return None
    from pathlib import Path

    from cleanup.engine.store import StateStore
    from cleanup.errors import CleanupError

    try:
        run, _ = StateStore(Path(ctx.state_dir)).load(ctx.run_id)
    except CleanupError:
        return None
    return psso_record(run.steps)


@register
class VerifyRegistration(Action):
    name = "verify.registration"
    summary = "Check that Jamf Pro, Entra and Intune each have the Mac's new registration (bounded polling)"
    acts_on = ActsOn.CLOUD
    reads_cloud = True
    needs_read = ("jamf:read-computers", "graph:read-devices", "graph:read-managed")
    pauses = frozenset({PauseKind.POLL})
    params = {
        "timeout_minutes": Param(
            "float", default=10.0, check=positive_at_most(24 * 60), help="How long to poll before pausing (resume or `cleanup verify` later)."
        ),
        "first_interval_seconds": Param("float", default=5.0, check=positive_at_most(3600)),
        "max_interval_seconds": Param("float", default=60.0, check=positive_at_most(3600)),
    }

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        if ctx.cloud_opener is None and ctx.options.dry_run:
            return StepPlan(cannot_plan="no Jamf Pro / Graph connection is configured")
        cloud_facts(ctx)
        return StepPlan(noop_reason="checks the new registration after re-enrollment (read-only)")

    def finish(self, ctx: RunContext, step: Step, plan: StepPlan) -> Pause | None:
        facts = cloud_facts(ctx)
        p = step.params
        deadline = time.monotonic() + (0 if ctx.options.no_wait else p["timeout_minutes"] * 60)
        interval = p["first_interval_seconds"]
        psso_rec = _run_psso_record(ctx) if model_checked(facts) == "platform-sso" else None
        while True:
            psso = (psso_from_mac(ctx, psso_rec) or psso_from_record(psso_rec)) if model_checked(facts) == "platform-sso" else None
            result = check_registration(ctx.cloud, facts, psso)
            ctx.data["verification"] = result.to_json()
            # pending (Jamf's compliance state not sent yet) is waited for within the bound, then reported
            if result.verified and (not result.pending or time.monotonic() + interval > deadline):
                plan.noop_reason = result.summary()
                plan.notes += result.warnings + result.pending
                return None
            if time.monotonic() + interval > deadline:
                return Pause(
                    f"registration {result.summary()}; check again with `cleanup verify {ctx.run_id}` or `cleanup resume {ctx.run_id}`", kind=PauseKind.POLL
                )
            if ctx.wait_ui:
                ctx.wait_ui(time.time() + interval, "registration not complete yet: " + "; ".join(result.missing or result.pending))
            else:
                time.sleep(interval)
            interval = min(interval * 2, p["max_interval_seconds"])
