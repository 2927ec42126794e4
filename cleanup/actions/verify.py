"""After steps 12-13: poll (bounded, with backoff) until Jamf Pro has a new record for the serial and Entra and
Intune each have exactly one record for the Mac, managed by Jamf. ``cleanup verify RUN`` runs the same check.

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

    @property
    def fully_verified(self) -> bool:
        return self.verified and not self.warnings

    def summary(self) -> str:
        if self.verified:
            f = self.found
            text = f"verified: Jamf Pro record {f['jamf']}, Entra device {f['entra']}, Intune record {f['intune']}"
            return text + ("; but not fully: " + "; ".join(self.warnings) if self.warnings else "")
        return "not yet: " + "; ".join(self.missing)

    def to_json(self) -> dict:
        return {"verified": self.verified, "fully_verified": self.fully_verified, "found": self.found, "missing": self.missing, "warnings": self.warnings}


def check_registration(cloud, cloud_facts: dict) -> Verification:
    """One look at the three services for the serial recorded in step 0."""
    serial = cloud_facts["serial"]
    old_jamf = {r["id"] for r in cloud_facts.get("jamf", [])}
    old_intune = {r["id"] for r in cloud_facts.get("intune", [])}
    old_entra = {r["id"] for r in cloud_facts.get("entra", [])}
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
    jamf_managed = [d for d in intune if (d.get("managementAgent") or "").casefold() == "jamf"]
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
    return Verification(not missing, found, missing, warnings if not missing else [])


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
        while True:
            result = check_registration(ctx.cloud, facts)
            ctx.data["verification"] = result.to_json()
            if result.verified:
                plan.noop_reason = result.summary()
                plan.notes += result.warnings
                return None
            if time.monotonic() + interval > deadline:
                return Pause(
                    f"registration {result.summary()}; check again with `cleanup verify {ctx.run_id}` or `cleanup resume {ctx.run_id}`", kind=PauseKind.POLL
                )
            if ctx.wait_ui:
                ctx.wait_ui(time.time() + interval, "registration not complete yet: " + "; ".join(result.missing))
            else:
                time.sleep(interval)
            interval = min(interval * 2, p["max_interval_seconds"])
