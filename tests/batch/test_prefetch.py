"""Bulk lookups for a chunk of a batch's Macs (cleanup.batch.prefetch) against the emulated tenant: step 0 gives
the same facts with them as with its own reads, in a few requests, under faults too."""

from __future__ import annotations

import uuid

import pytest

from cleanup.actions.cloud_facts import gather
from cleanup.batch.prefetch import lookups
from cleanup.clients.records import ZERO_GUID
from cleanup.clients.session import CloudSession
from cleanup.engine.context import RunContext, RunOptions
from cleanup.errors import UsageError
from cleanup.lab.tenant import Faults
from cleanup.lab.tenant.fleet import add_duplicated_macs
from cleanup.lab.tenant.scenarios import _local_users
from tests.support.clienthelpers import cloud_parts


@pytest.fixture
def cloud_for():
    sessions: list[CloudSession] = []

    def make(lab, **kw) -> CloudSession:
        session = CloudSession(*cloud_parts(lab.server, **kw))
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.close()


def odd_fleet(lab, n: int = 24) -> tuple[list[str], dict]:
    """``n`` Macs with 2 stale registrations each, plus the cases step 0 must tell apart."""
    t = lab.tenant
    serials = add_duplicated_macs(t, n)
    extra: dict = {}
    # a PC enrolled with a Mac's serial: reported, never a Mac
    pc = t.add_entra_device("DESKTOP-SAMESN", operating_system="Windows", trust_type="AzureAd")
    t.add_intune_device(serials[0], "DESKTOP-SAMESN", pc.device_id, operating_system="Windows", management_agent="mdm")
    # look-alike serials: a prefix of a Mac's serial and one longer by a character
    t.add_mac(serials[1][:-1], "MBP-PREFIX", "p@contoso.example")
    t.add_mac(serials[1] + "Z", "MBP-LONGER", "l@contoso.example")
    # a Mac's Intune record pointing to an Entra device that is not a Mac
    win = t.add_entra_device("MAC-DUP-3", operating_system="Windows", trust_type="AzureAd")
    t.add_intune_device(serials[2], "MAC-DUP-3", win.device_id)
    # an Intune record without an Entra registration
    t.add_intune_device(serials[3], "MAC-DUP-4", ZERO_GUID)
    # a second Jamf record for a serial, reporting a deviceId only Entra knows (no Intune record)
    only_entra = t.add_entra_device("MAC-DUP-5", registered=0, last_sign_in=0)
    t.add_jamf_computer(serials[4], "MAC-DUP-5", local_users=_local_users("user5@contoso.example", only_entra.device_id))
    # a Jamf record reporting the zero GUID
    t.add_jamf_computer(serials[5], "MAC-DUP-6", local_users=_local_users("user6@contoso.example", ZERO_GUID))
    # a device run of serials[6]: its certificate names a deviceId that none of the services' records point to
    cert = t.add_entra_device("MAC-DUP-7")
    extra["facts"] = {serials[6]: {"entra_device_ids": {"user7": [cert.device_id.upper()]}, "computer_name": "MAC-DUP-7"}}
    return serials + ["NOREC0001"], extra  # and a Mac no service knows


def facts_of(cloud, serial: str, pre: dict | None, facts: dict | None = None, batch: bool = True) -> tuple[dict, list]:
    options = RunOptions(dry_run=True, serial=serial, batch_id="plan" if batch else None, lookups=pre)
    ctx = RunContext(host=None, options=options, facts=dict(facts or {}), cloud_opener=lambda: cloud)
    found, notes = gather(ctx, serial)
    found.pop("gathered_at")
    return found, notes


def test_gather_with_bulk_lookups_gives_the_same_facts(make_lab, cloud_for):
    lab = make_lab("empty", faults=Faults(ignore_managed_filter=True))  # Intune answers every lookup with everything
    serials, extra = odd_fleet(lab)
    cloud = cloud_for(lab)
    pre = {}
    for start in range(0, len(serials), 20):  # in chunks, as the batch runner does
        pre.update(lookups(cloud, serials[start : start + 20]))
    assert list(pre) == serials
    assert [d["id"] for d in pre[serials[0]]["intune"] if d["operatingSystem"] == "Windows"]  # the PC is in there
    assert pre["NOREC0001"] == {"jamf": [], "intune": [], "entra": {}, "claims": {}}
    for serial in serials:
        facts = extra["facts"].get(serial)
        for batch in (True, False):  # a batch's plan, and a dry-run (which also looks for look-alike names)
            want = facts_of(cloud, serial, None, facts, batch)
            assert facts_of(cloud, serial, pre[serial], facts, batch) == want, serial
    # what the cases gave, so the comparison above compared something
    assert any("is not a Mac (Windows)" in n for n in facts_of(cloud, serials[0], pre[serials[0]])[1])
    assert any("Entra device" in n and "is not a Mac" in n for n in facts_of(cloud, serials[2], pre[serials[2]])[1])
    assert len(facts_of(cloud, serials[4], pre[serials[4]])[0]["jamf"]) == 2
    dev7 = facts_of(cloud, serials[6], pre[serials[6]], extra["facts"][serials[6]])[0]
    assert any(e["found_by"].startswith("deviceId on the Mac's") for e in dev7["entra"])


def test_device_run_looks_up_only_what_the_bulk_reads_did_not_find(make_lab, cloud_for):
    lab = make_lab("empty")
    serials, extra = odd_fleet(lab, n=8)
    cloud = cloud_for(lab)
    pre = lookups(cloud, serials)
    lab.server.reset_stats()
    facts_of(cloud, serials[6], pre[serials[6]], extra["facts"][serials[6]])
    # the certificate's deviceId, and who else claims it (Intune by azureADDeviceId, Jamf Pro), nothing else
    assert lab.server.stats()["by_route"] == {"GET /v1.0/devices": 1, "GET /v1.0/deviceManagement/managedDevices": 1, "GET /api/v1/computers-inventory": 1}
    lab.server.reset_stats()
    facts_of(cloud, serials[7], pre[serials[7]])
    assert lab.server.stats()["total"] == 0


def test_twenty_macs_in_at_most_four_requests(make_lab, cloud_for):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 40)  # 3 deviceIds per Mac: 60 Entra lookups per chunk
    cloud = cloud_for(lab)
    lookups(cloud, serials[20:])  # the batch's first chunk takes the tokens
    lab.server.reset_stats()
    got = lookups(cloud, serials[:20])
    stats = lab.server.stats()
    assert stats["total"] <= 7, stats["by_route"]
    routes = stats["by_route"]  # counts $batch items under their own routes too
    # + the claim check (issue 9): one Intune lookup per deviceId (3 POSTs), one Jamf Pro query for the chunk
    assert stats["total"] == 7 and routes["GET /api/v1/computers-inventory"] == 2 and routes["POST /v1.0/$batch"] == 5
    assert stats["batch_items"] == 20 + 4 + 60  # 20 Intune serials; 60 Entra deviceIds, 15 per filter; 60 claims
    assert all(len(got[s]["intune"]) == 3 and len(got[s]["entra"]) == 3 and len(got[s]["jamf"]) == 1 for s in serials[:20])


def test_an_invalid_serial_raises_before_any_request(make_lab, cloud_for):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 3)
    cloud = cloud_for(lab)
    lab.server.reset_stats()
    for bad in ("DUP0000001'", "C02*", "dup00000001", "", None):
        with pytest.raises(UsageError):
            lookups(cloud, serials + [bad])
    assert lab.server.stats()["total"] == 0


def test_storm_of_429_and_5xx_on_batch_items_still_gives_the_right_answer(make_lab, cloud_for):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 20)
    want = lookups(cloud_for(lab), serials)
    lab.server.faults.update({"rate_429": 0.25, "rate_5xx": 0.15, "retry_after": 0, "seed": 7})
    cloud = cloud_for(lab)
    cloud.graph.batch_attempts = 20
    lab.server.reset_stats()
    assert lookups(cloud, serials) == want
    assert lab.server.stats()["by_route"]["POST /v1.0/$batch"] > 2  # items were sent again


def test_without_jamf_pro_the_jamf_part_is_left_to_step_0(make_lab, cloud_for):
    lab = make_lab("empty")
    serials = add_duplicated_macs(lab.tenant, 3)
    cloud = cloud_for(lab, jamf_url=None)
    assert not cloud.config.jamf_configured()
    lab.server.reset_stats()
    pre = lookups(cloud, serials)
    assert all(pre[s]["jamf"] is None and len(pre[s]["intune"]) == 3 for s in serials)
    assert not any(r.startswith(("GET /api", "POST /api")) for r in lab.server.stats()["by_route"])
    assert str(uuid.UUID(next(iter(pre[serials[0]]["entra"])))) == next(iter(pre[serials[0]]["entra"]))
