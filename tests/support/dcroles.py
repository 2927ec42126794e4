"""The devices of the device-compliance-duplicates lab scenario by role, and a command's error lines."""

from __future__ import annotations


def _errors(res) -> list[str]:
    return [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]


def _dc_duplicates(lab) -> dict:
    """The device-compliance-duplicates scenario's devices with the Mac's name, by role."""
    t, sn = lab.tenant, lab.serial
    with t.lock:
        [jamf] = t.jamf_by_serial(sn)
        current = jamf.local_users[0]["computerAzureActiveDirectoryId"]
        named = [d for d in t.entra.values() if d.display_name == lab.identity.name]
        claimed_by = {d.aad_device_id for d in t.intune.values() if d.serial != sn} | {
            u["computerAzureActiveDirectoryId"] for c in t.jamf.values() if c.serial != sn for u in c.local_users or []
        }
        return {
            "current": next(d for d in named if d.device_id == current),
            "old": [d for d in named if d.device_id != current and d.operating_system != "Windows" and d.device_id not in claimed_by],
            "pc": next(d for d in named if d.operating_system == "Windows"),
            "theirs": [d for d in named if d.device_id in claimed_by],
        }
