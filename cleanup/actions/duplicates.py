"""The duplicates playbook: keep the Mac's current registration, delete its stale Intune records and Entra devices.

The Entra device kept, first rule that finds one:

1. the device the Mac reports now: its Platform SSO deviceId (the Mac's evidence, when the run read it), the
   Entra deviceId Jamf Pro records for it (its local users' ``computerAzureActiveDirectoryId``), the device ids of
   Jamf Pro's device-compliance information. Two different devices reported so refuse the Mac (status 4);
2. the Entra device of the Intune record kept;
3. the device seen last: ``approximateLastSignInDateTime``. Entra moves it only when it changed by more than about
   14 days (±5), so sign-ins within ``SIGN_IN_SLACK`` of the latest are a tie, decided by ``registrationDateTime``.

The Intune record kept: one pointing to a deviceId reported now (of several, the one synced last), else the one
that synced last. Deleted are the other Mac devices found by deviceId and the other Intune records. Never the
last device or record of a Mac, never one that is not a Mac, never a device another serial claims, nor one the
Mac itself holds (its Platform SSO registration, a Workplace Join certificate) or the kept record points to. A
device found by the computer name only is listed and kept; only the operator's ``--entra-device ID`` deletes it.
No device access is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cleanup.actions.entra_devices import DeleteEntraDevice, refuse_claimed_in_jamf
from cleanup.actions.intune_devices import DeleteIntuneRecords
from cleanup.clients import records as R
from cleanup.engine.action import register
from cleanup.engine.context import RunContext
from cleanup.engine.model import Step
from cleanup.engine.plan import StepPlan
from cleanup.errors import Ambiguous, SafetyRefusal

#: approximateLastSignInDateTime is updated only when it changed by more than 14 days (±5): closer is a tie
SIGN_IN_SLACK = 19 * 86400.0
PSSO = "the Mac's Platform SSO registration"
OPTION = "--entra-device"
#: registration models (step 0's classification) whose current registration has no Intune record
LEFTOVER_MODELS = ("device-compliance", "platform-sso")


def _did(dev: dict) -> str:
    return (dev.get("deviceId") or "").strip().casefold()


def reported_now(facts: dict, device: dict | None = None) -> dict[str, list[str]]:
    """deviceId (lower case) -> where it was read as the Mac's current registration. ``facts``: step 0's cloud
    facts; ``device``: the Mac's evidence (``ctx.facts["registration"]``), None when the run did not read it."""
    out: dict[str, list[str]] = {}

    def add(did: object, why: str) -> None:
        key = did.strip().casefold() if isinstance(did, str) else ""
        if key and key != R.ZERO_GUID and why not in out.setdefault(key, []):
            out[key].append(why)

    for did in (device or {}).get("psso_device_ids") or []:
        add(did, f"{PSSO} (app-sso platform -s)")
    add(((facts.get("registration") or {}).get("psso_device_id")), f"{PSSO} (step 0's registration model)")
    for j in facts.get("jamf") or []:
        for did in j.get("aad_device_ids") or []:
            add(did, f"the Entra deviceId Jamf Pro records for computer {j['id']}")
        info = j.get("device_compliance")
        for entry in info if isinstance(info, list) else []:
            for did in entry.get("device_ids") or [] if isinstance(entry, dict) else []:
                add(did, f"Jamf Pro's device-compliance information of computer {j['id']}")
    return out


def _refuse_jamf_disagreement(facts: dict) -> None:
    """Jamf Pro records of the serial naming different Entra deviceIds: its current registration is unknown."""
    by_record = {j["id"]: {d.casefold() for d in j.get("aad_device_ids") or [] if d != R.ZERO_GUID} for j in facts.get("jamf") or []}
    reported = set().union(*by_record.values())
    if len(reported) > 1:
        listing = "; ".join(f"{R.describe('jamf', j)} reports {', '.join(sorted(by_record[j['id']])) or 'none'}" for j in facts["jamf"])
        raise Ambiguous(
            f"Jamf Pro reports {len(reported)} different Entra deviceIds for serial {facts.get('serial')}, so its current registration is unknown: {listing}",
            hint="delete the stale Jamf Pro record (after checking it in the portal), then run again",
        )


def seen_last(devices: list[dict]) -> tuple[dict, str]:
    """The device seen last, and why (see SIGN_IN_SLACK); ``devices`` must not be empty."""

    def signed(d: dict) -> float | None:
        return R.parse_time(d.get("approximateLastSignInDateTime"))

    def registered(d: dict) -> float:
        return R.parse_time(d.get("registrationDateTime")) or 0.0

    times = [t for d in devices if (t := signed(d)) is not None]
    if not times:
        return max(devices, key=lambda d: (registered(d), d["id"])), "it registered last (no sign-in time is recorded)"
    latest = max(times)
    near = [d for d in devices if (t := signed(d)) is not None and latest - t <= SIGN_IN_SLACK]
    keep = max(near, key=lambda d: (registered(d), signed(d) or 0.0, d["id"]))
    if len(near) == 1:
        return keep, "it signed in last (approximateLastSignInDateTime)"
    return keep, (
        f"it registered last of the {len(near)} devices that signed in within 19 days of the latest sign-in "
        "(Entra updates approximateLastSignInDateTime only every ~14 days, so those are a tie)"
    )


@dataclass
class Decision:
    """What the duplicates playbook keeps and deletes for one Mac, with the reasons for people."""

    entra: dict | None = None
    entra_why: str = ""
    intune: dict | None = None
    intune_why: str = ""
    stale_entra: list[dict] = field(default_factory=list)  # before the claim check
    picked: bool = False
    notes: list[str] = field(default_factory=list)


def _current_device(devices: list[dict], reported: dict[str, list[str]], facts: dict) -> tuple[dict, str] | None:
    hits: dict[str, list[dict]] = {}
    for d in devices:
        if _did(d) in reported:
            hits.setdefault(_did(d), []).append(d)
    if len(hits) > 1:
        listing = "; ".join(f"{R.describe('entra', devs[0])}: {', '.join(reported[did])}" for did, devs in hits.items())
        raise Ambiguous(
            f"{len(hits)} Entra devices of serial {facts.get('serial')} are each reported as the Mac's current registration: {listing}",
            hint="check them in the portal; if Jamf Pro's inventory is behind, update it (`sudo jamf recon` on the Mac) and run again, "
            f"or choose the stale ones to delete with {OPTION} ID",
        )
    if not hits:
        return None
    [(did, devs)] = hits.items()
    keep, _ = seen_last(devs)
    return keep, f"its deviceId is {reported[did][0]}"


def _intune_keeper(facts: dict, reported: dict[str, list[str]]) -> tuple[dict | None, str]:
    intune = [r for r in facts.get("intune") or [] if R.is_mac_intune(r)]
    if not intune:
        return None, "no Intune record"
    by_sync = sorted(intune, key=lambda r: R.parse_time(r.get("lastSyncDateTime")) or 0.0)
    current = [r for r in by_sync if R.linked_device_id(r) in reported or str(r.get("id") or "").casefold() in reported]
    if current:
        r = current[-1]
        why = reported.get(R.linked_device_id(r) or "") or reported.get(str(r.get("id")).casefold()) or []
        return r, f"it points to the Mac's current registration ({', '.join(why)})"
    return by_sync[-1], "it synced last (no record points to a deviceId the Mac or Jamf Pro reports now)"


def decide(facts: dict, device: dict | None = None, picks: list[str] | tuple[str, ...] = ()) -> Decision:
    """The keeper and the stale devices of one Mac (pure). ``picks``: the operator's ``--entra-device`` ids, the
    devices to delete instead of the stale ones found. Ambiguous / SafetyRefusal (status 4) when it cannot be safe."""
    found = [d for d in facts.get("entra") or [] if R.is_mac_entra(d)]
    others = [d for d in facts.get("entra_other") or [] if R.is_mac_entra(d)]
    by_name_only = bool(facts.get("entra_by_name_only"))
    everyone = found + others
    chosen = R.pick(list(picks), "entra", everyone, "Entra devices", OPTION) if picks else []
    reported_all = reported_now(facts, device)
    own = {did for did, why in reported_all.items() if any(w.startswith(PSSO) for w in why)} | {_did(d) for d in everyone if R.on_certificate(d)}
    for dev in chosen:
        if _did(dev) in own:
            raise SafetyRefusal(
                f"{R.describe('entra', dev)} is the Mac's own current registration ({dev.get('found_by')}); the duplicates playbook never deletes it",
                hint="to replace a broken registration, run the cause6 reset",
            )
    picked = {_did(d) for d in chosen}
    if chosen and all(_did(d) in picked for d in everyone):
        raise SafetyRefusal(
            f"{OPTION} names every Entra device of serial {facts.get('serial')}; the duplicates playbook keeps one",
            hint="leave the current one out (the cause6 reset replaces them all)",
        )
    _refuse_jamf_disagreement(facts)
    reported = {did: why for did, why in reported_all.items() if did not in picked}
    out = Decision(picked=bool(chosen))
    out.intune, out.intune_why = _intune_keeper(facts, reported)
    model = (facts.get("registration") or {}).get("model")
    if out.intune and model in LEFTOVER_MODELS and R.linked_device_id(out.intune) not in reported:
        out.intune_why += (
            f"; the Mac is in the {model} model, so this is a leftover of the legacy integration: the duplicates playbook "
            "never deletes a Mac's last Intune record, the cause6 reset deletes leftovers in step 11"
        )
    rest = [d for d in everyone if _did(d) not in picked]
    current = _current_device(rest, reported, facts)
    kept_record_did = R.linked_device_id(out.intune) if out.intune else None
    candidates = [d for d in found if _did(d) not in picked] if not by_name_only else []
    if current:
        out.entra, out.entra_why = current
    elif kept_record_did and (of_record := [d for d in candidates if _did(d) == kept_record_did]):
        out.entra, out.entra_why = seen_last(of_record)[0], f"the Intune record kept ({out.intune['id']}) points to it"  # type: ignore[index]
    elif candidates:
        out.entra, out.entra_why = seen_last(candidates)
    for did, why in reported_all.items():
        if any(w.startswith(PSSO) for w in why) and not any(_did(d) == did for d in everyone):
            out.notes.append(f"no Entra device has the deviceId of {PSSO} ({did})")
    if chosen:
        out.stale_entra = chosen
        return out
    if by_name_only:
        return out  # a name alone never deletes: the step notes name each device with its --entra-device
    protected = set(reported) | own | {kept_record_did or "", _did(out.entra) if out.entra else ""}
    for d in found:
        if d is out.entra:
            continue
        if _did(d) in protected:
            out.notes.append(f"kept {R.describe('entra', d)}: {_protected_why(d, reported, own, kept_record_did)}")
        else:
            out.stale_entra.append(d)
    return out


def _protected_why(dev: dict, reported: dict[str, list[str]], own: set[str], kept_record_did: str | None) -> str:
    did = _did(dev)
    if did in own:
        return f"the Mac holds it ({dev.get('found_by')})"
    if did in reported:
        return ", ".join(reported[did])
    if did == kept_record_did:
        return "the Intune record kept points to it (a Mac's last Intune record is never deleted)"
    return "it shares its deviceId with the device kept"


def _decision(ctx: RunContext, facts: dict) -> Decision:
    picks = ctx.options.choices.get("entra") or (facts.get("choices") or {}).get("entra") or []
    return decide(facts, ctx.facts.get("registration"), picks)


def _keep_notes(d: Decision) -> list[str]:
    return ([f"kept {R.describe('entra', d.entra)}: {d.entra_why}"] if d.entra else []) + d.notes


@register
class DeleteStaleIntune(DeleteIntuneRecords):
    name = "duplicates.intune"
    summary = "Delete the Mac's stale Intune records, keeping the current one"
    needs_read = ("jamf:read-computers", "graph:read-managed")

    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        keep = _decision(ctx, facts).intune
        return [r for r in facts.get("intune") or [] if keep is not None and r["id"] != keep["id"] and R.is_mac_intune(r)]

    def notes(self, facts: dict) -> list[str]:
        return super().notes(facts) if len(facts.get("intune") or []) > 1 else []

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = super().plan(ctx, step)
        if not plan.cannot_plan:
            d = _decision(ctx, ctx.facts["cloud"])
            plan.notes[:0] = [f"kept {R.describe('intune', d.intune)}: {d.intune_why}"] if d.intune else []
        return plan


@register
class DeleteStaleEntra(DeleteEntraDevice):
    name = "duplicates.entra"
    summary = "Delete the Mac's stale Entra devices, keeping the one it reports now (else the one seen last)"
    needs_read = ("jamf:read-computers", "graph:read-devices", "graph:read-managed")

    def targets(self, ctx: RunContext, facts: dict) -> list[dict]:
        d = _decision(ctx, facts)
        if d.picked:
            refuse_claimed_in_jamf(ctx, facts, d.stale_entra)
        return R.unclaimed(facts, d.stale_entra, refuse=lambda dev: d.picked)

    def notes(self, facts: dict) -> list[str]:
        by_name = (facts.get("entra") or []) if facts.get("entra_by_name_only") else []
        picks = (facts.get("choices") or {}).get("entra") or []
        notes = [
            f"kept {R.describe('entra', d)}: found by the computer name only, never deleted on that alone; after checking it in the "
            f"portal, add {OPTION} {d['id']} to delete it"
            for d in by_name + (facts.get("entra_other") or [])
            if not R.claimed(facts, d) and d["id"] not in picks
        ]
        return notes + R.claim_notes(facts, by_name + (facts.get("entra_other") or []))

    def plan(self, ctx: RunContext, step: Step) -> StepPlan:
        plan = super().plan(ctx, step)
        if not plan.cannot_plan:
            d = _decision(ctx, ctx.facts["cloud"])
            plan.notes[:0] = _keep_notes(d) + R.claim_notes(ctx.facts["cloud"], d.stale_entra)
        return plan
