"""The actions, one module per family. Importing this package registers every one of them with the engine
(``cleanup.engine.action.registry()``); the CLI does it once. Adding an action is one module here plus its line
in a playbook (and its name in the import below)."""

from __future__ import annotations

from cleanup.actions import (  # noqa: F401 - imported for their @register
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
