"""Actions, one module per family. ``ACTIONS`` maps the names playbooks use to action objects."""

from __future__ import annotations

from cleanup.actions.base import Action


def _registry() -> dict[str, Action]:
    from cleanup.actions import (
        cloud_facts,
        cloud_preflight,
        company_portal,
        duplicates,
        enrollment,
        entra_devices,
        facts,
        files,
        intune_devices,
        jamf_binary,
        jamf_inventory,
        keychain,
        preflight,
        reboot,
        registration,
        verify,
        wait,
    )

    actions: list[Action] = [
        facts.GatherFacts(),
        preflight.Preflight(),
        jamf_binary.RemoveMdmProfile(),
        jamf_binary.RemoveFramework(),
        files.RemovePaths(),
        keychain.PurgeMatching(),
        keychain.DeleteExact(),
        reboot.Restart(),
        company_portal.RemoveCompanyPortal(),
        wait.Wait(),
        enrollment.TriggerEnrollment(),
        registration.StartRegistration(),
        cloud_facts.GatherCloudFacts(),
        cloud_preflight.CloudPreflight(),
        jamf_inventory.DeleteJamfRecord(),
        entra_devices.DeleteEntraDevice(),
        intune_devices.DeleteIntuneRecords(),
        verify.VerifyRegistration(),
        duplicates.DeleteStaleEntra(),
        duplicates.DeleteStaleIntune(),
    ]
    return {a.name: a for a in actions}


_ACTIONS: dict[str, Action] | None = None


def get_actions() -> dict[str, Action]:
    global _ACTIONS
    if _ACTIONS is None:
        _ACTIONS = _registry()
    return _ACTIONS
