"""symptoms.entra_ties: across a fleet, which Entra devices are one Mac's (Entra has no serial): by the deviceId its
Jamf Pro or Intune records name, else by the exact name of its Jamf Pro record; never a device another serial
names, never a name two serials share, never a non-Mac."""

from __future__ import annotations

from cleanup.clients.symptoms import BY_DEVICE_ID, BY_NAME, entra_ties

A, B = "C02AAAAAAAA1", "C02BBBBBBBB2"


def jamf(cid: str, serial: str, name: str, *ids: str) -> dict:
    return {"id": cid, "serial": serial, "name": name, "last_contact": None, "aad_device_ids": list(ids)}


def entra(oid: str, did: str, name: str, os_name: str = "MacMDM") -> dict:
    return {"id": oid, "deviceId": did, "displayName": name, "operatingSystem": os_name}


def intune(oid: str, serial: str, did: str, os_name: str = "macOS") -> dict:
    return {"id": oid, "serialNumber": serial, "azureADDeviceId": did, "operatingSystem": os_name}


def ties(*args) -> dict[str, list[tuple[str, str]]]:
    return {s: [(t["device"]["id"], t["tie"]) for t in tied] for s, tied in entra_ties(*args).items()}


def test_a_mac_with_a_current_device_and_older_ones_of_its_name_has_all_three():
    jamf_ = [jamf("1", A, "MBP-ALICE", "d-cur")]
    entra_ = [entra("cur", "d-cur", "MBP-ALICE"), entra("old", "d-old", "mbp-alice"), entra("psso", "d-psso", "MBP-ALICE", "macOS")]
    assert ties(jamf_, [], entra_) == {A: [("cur", BY_DEVICE_ID), ("old", BY_NAME), ("psso", BY_NAME)]}


def test_the_traps_are_nobodys_or_their_own_serials():
    jamf_ = [jamf("1", A, "MBP-ALICE", "d-cur"), jamf("2", B, "MBP-LOANER", "d-loaner")]
    entra_ = [
        entra("cur", "d-cur", "MBP-ALICE"),
        entra("pc", "d-pc", "MBP-ALICE", "Windows"),  # not a Mac
        entra("loaner", "d-loaner", "MBP-ALICE"),  # the Mac's name, another serial's deviceId
        entra("mdm", "d-mdm", "MBP-ALICE"),  # the Mac's name, another serial's Intune record points to it
        entra("shared", "d-shared", "MBP-ALICE"),
    ]
    intune_ = [intune("i-mdm", "C02OTHER0001", "d-mdm"), intune("i-a", A, "d-shared"), intune("i-b", B, "d-shared")]
    got = ties(jamf_, intune_, entra_)
    assert got[A] == [("cur", BY_DEVICE_ID)]  # d-shared is named by two serials: neither's
    assert got[B] == [("loaner", BY_DEVICE_ID)] and got["C02OTHER0001"] == [("mdm", BY_DEVICE_ID)]


def test_a_name_two_serials_carry_ties_no_device_and_intune_links_count():
    jamf_ = [jamf("1", A, "MacBook Pro"), jamf("2", B, "MacBook Pro")]
    entra_ = [entra("x", "d-x", "MacBook Pro"), entra("y", "d-y", "MacBook Pro")]
    assert ties(jamf_, [intune("i-y", A, "d-y"), intune("i-pc", A, "d-x", "Windows")], entra_) == {A: [("y", BY_DEVICE_ID)]}
