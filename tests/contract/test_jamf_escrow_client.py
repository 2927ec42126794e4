"""The Jamf Pro client's reads of what a record escrowed, against the emulator's real routes, shapes and
privileges: which secrets a record holds (Read Computers, no value), the values, and the LAPS rotation on view."""

from __future__ import annotations

import pytest

from cleanup.clients import jamf as J
from cleanup.errors import JamfError
from cleanup.lab.tenant.clientfiles import lab_cloud_opener
from cleanup.lab.tenant.model import JAMF_FULL_PRIVILEGES


@pytest.fixture
def escrow_lab(make_lab):
    lab = make_lab("two-jamf-records")
    records = sorted(lab.tenant.jamf_by_serial(lab.serial), key=lambda c: int(c.id))
    from cleanup.lab.tenant.scenarios import seed_escrowed_secrets

    entries = seed_escrowed_secrets(lab.tenant, lab.serial, recovery_lock=True)
    old = records[0].id
    lab.tenant.escrow.records.pop(old)  # the older record escrowed nothing
    cloud = lab_cloud_opener(lab.client)()
    yield lab, cloud, records, entries
    cloud.close()


def test_the_inventory_says_which_secrets_a_record_holds_and_never_their_values(escrow_lab):
    _lab, cloud, (old, new), entries = escrow_lab
    held = cloud.jamf.escrow_sections(new.id)
    assert held["diskEncryption"]["individualRecoveryKeyValidityStatus"] == "VALID" and held["security"]["recoveryLockEnabled"] is True
    assert entries[new.id].filevault_key not in str(held) and entries[new.id].recovery_lock not in str(held)
    empty = cloud.jamf.escrow_sections(old.id)
    assert empty["diskEncryption"]["individualRecoveryKeyValidityStatus"] == "NOT_APPLICABLE" and empty["security"]["recoveryLockEnabled"] is False
    assert cloud.jamf.escrow_sections("999999") is None


def test_the_values_come_from_their_own_routes(escrow_lab):
    _lab, cloud, (old, new), entries = escrow_lab
    body = cloud.jamf.filevault(new.id)
    assert set(body) == {
        "computerId",
        "name",
        "personalRecoveryKey",
        "bootPartitionEncryptionDetails",
        "individualRecoveryKeyValidityStatus",
        "institutionalRecoveryKeyPresent",
        "diskEncryptionConfigurationName",
    }
    assert body["personalRecoveryKey"] == entries[new.id].filevault_key
    assert cloud.jamf.recovery_lock_password(new.id) == entries[new.id].recovery_lock
    assert cloud.jamf.recovery_lock_password(old.id) is None
    assert cloud.jamf.laps_accounts(new.management_id) == ["jamfadmin"] and cloud.jamf.laps_accounts(old.management_id) == []
    # the route prefix of the inventory version lives in one place
    assert J.FILEVAULT.startswith(J.INVENTORY + "/") and J.RECOVERY_LOCK.startswith(J.INVENTORY + "/")


def test_viewing_a_laps_password_rotates_it_listing_the_accounts_does_not(escrow_lab):
    lab, cloud, (_, new), entries = escrow_lab
    lab.tenant.escrow.rotation_seconds = 0  # Jamf Pro rotates after its rotation time; here at once
    account = entries[new.id].laps["jamfadmin"]
    first = account.password
    cloud.jamf.laps_accounts(new.management_id)
    assert account.views == 0 and account.password == first
    assert cloud.jamf.laps_password(new.management_id, "jamfadmin") == first
    second = cloud.jamf.laps_password(new.management_id, "jamfadmin")
    assert second != first and account.rotations == 1


@pytest.mark.parametrize(
    ("privilege", "read"),
    [
        ("View Disk Encryption Recovery Key", lambda jamf, rec: jamf.filevault(rec.id)),
        ("View Recovery Lock", lambda jamf, rec: jamf.recovery_lock_password(rec.id)),
        ("View Local Admin Password", lambda jamf, rec: jamf.laps_accounts(rec.management_id)),
        ("View Local Admin Password", lambda jamf, rec: jamf.laps_password(rec.management_id, "jamfadmin")),
    ],
)
def test_each_read_needs_its_privilege(escrow_lab, privilege, read):
    from cleanup.clients.config import load_config
    from cleanup.clients.secrets import Secrets
    from cleanup.clients.session import open_session

    lab, _, (_, new), entries = escrow_lab
    lab.tenant.add_api_role("3", "without", [p for p in JAMF_FULL_PRIVILEGES if p != privilege])
    client = lab.tenant.add_jamf_client("without", ["3"])
    config = load_config(lab.client / "config.toml", env={"CLEANUP_JAMF_CLIENT_ID": client["client_id"]})
    with open_session(config, secrets=Secrets(env={"CLEANUP_JAMF_CLIENT_SECRET": client["client_secret"]})) as cloud, pytest.raises(JamfError) as caught:
        read(cloud.jamf, new)
    assert caught.value.status == 403 and caught.value.code == "INVALID_PRIVILEGE"
    assert entries[new.id].laps["jamfadmin"].views == 0


def test_a_management_id_that_is_not_a_uuid_never_reaches_a_url(escrow_lab):
    from cleanup.errors import UsageError

    _, cloud, _, _ = escrow_lab
    with pytest.raises(UsageError):
        cloud.jamf.laps_accounts("../../api/v1/auth")
