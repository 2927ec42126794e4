"""The emulator's Entra device soft delete, as Microsoft documents it (integration-2026 §4), through cleanup's own
Graph client over HTTPS: a deleted registered or joined device answers 404 to every read, is listed under
``/beta/directory/deletedItems/microsoft.graph.device``, keeps its deviceId reserved and comes back with
``POST …/restore`` (200 and the object); hybrid and trust-less devices are hard-deleted; after 30 days it is gone."""

from __future__ import annotations

import pytest

from cleanup.clients.session import CloudSession
from cleanup.errors import GraphError
from tests.support.clienthelpers import cloud_parts


def _graph(lab, app: str = "full"):
    config, secrets, http = cloud_parts(lab.server, graph=app)
    return CloudSession(config, secrets, http).graph


def test_a_deleted_registered_device_is_soft_deleted_404_everywhere_its_device_id_reserved_and_restorable(make_lab):
    lab = make_lab("clean")
    graph = _graph(lab)
    [dev] = graph.devices_by_device_id(lab.identity.device_ids[0])
    assert dev["trustType"] == "Workplace"
    assert graph.delete_device(dev["id"]) is True
    # while soft-deleted: every read answers 404, lists leave it out
    assert graph.device(dev["id"]) is None
    assert graph.devices_by_device_id(dev["deviceId"]) == [] and dev["id"] not in {d["id"] for d in graph.all_devices()}
    [deleted] = graph.deleted_devices()
    assert deleted["id"] == dev["id"] and deleted["deviceId"] == dev["deviceId"] and deleted["deletedDateTime"]
    # its deviceId stays reserved: no new registration can use it
    with pytest.raises(ValueError, match="reserved"):
        lab.tenant.add_entra_device("MBP-NEW", dev["deviceId"])
    restored = graph.restore_deleted_device(dev["id"])
    assert restored is not None and restored["id"] == dev["id"] and restored["deviceId"] == dev["deviceId"]
    assert restored["@odata.type"] == "#microsoft.graph.device" and restored["deletedDateTime"] is None
    assert graph.device(dev["id"])["deviceId"] == dev["deviceId"] and graph.deleted_devices() == []
    assert graph.restore_deleted_device(dev["id"]) is None  # not among the deleted items any more: 404


def test_hybrid_and_trustless_devices_are_hard_deleted_and_a_tenant_may_keep_none(make_lab):
    lab = make_lab("empty")
    graph = _graph(lab)
    hybrid = lab.tenant.add_entra_device("HYBRID-PC", trust_type="ServerAd", operating_system="Windows")
    created = lab.tenant.add_entra_device("GRAPH-MADE", trust_type=None)
    for dev in (hybrid, created):
        assert graph.delete_device(dev.id) is True
    assert graph.deleted_devices() == []
    lab.tenant.add_entra_device("REUSED", hybrid.device_id)  # a hard-deleted device's deviceId is free again
    lab.tenant.directory.keeps_deleted_devices = False
    registered = lab.tenant.add_entra_device("MBP-GONE")
    assert graph.delete_device(registered.id) is True
    assert graph.deleted_devices() == [] and graph.restore_deleted_device(registered.id) is None


def test_soft_deleted_devices_are_purged_after_30_days(make_lab):
    lab = make_lab("empty")
    graph = _graph(lab)
    dev = lab.tenant.add_entra_device("MBP-OLD")
    assert graph.delete_device(dev.id) is True
    at, rec = lab.tenant.directory.deleted_devices[dev.id]
    lab.tenant.directory.deleted_devices[dev.id] = (at - 30 * 86400 - 1, rec)
    assert graph.deleted_devices() == [] and graph.restore_deleted_device(dev.id) is None
    lab.tenant.add_entra_device("MBP-OLD-2", dev.device_id)  # its deviceId is free again


def test_restoring_needs_write_permission_and_a_device_administrator_role(make_lab):
    lab = make_lab("empty")
    dev = lab.tenant.add_entra_device("MBP-ROLE")
    assert _graph(lab).delete_device(dev.id) is True
    assert [d["id"] for d in _graph(lab, "readonly").deleted_devices()] == [dev.id]  # reading needs a read permission only
    with pytest.raises(GraphError) as err:
        _graph(lab, "readonly").restore_deleted_device(dev.id)
    assert err.value.status == 403
    lab.tenant.directory.app_directory_roles["full"] = set()  # Device.ReadWrite.All, but no role
    with pytest.raises(GraphError) as err:
        _graph(lab).restore_deleted_device(dev.id)
    assert err.value.status == 403 and "Authorization_RequestDenied" in err.value.message
    lab.tenant.directory.app_directory_roles["full"] = {"Intune Administrator"}
    assert _graph(lab).restore_deleted_device(dev.id)["id"] == dev.id
