"""The tenant's integration set-up that ``cleanup diagnose`` reads: service principals and their app role
assignments, licences, the Intune partner connection, compliance policies and Entra groups.

Kept apart from the device records (other tests count those). ``seed_healthy`` builds a working Jamf Pro
integration; the ``break_*`` functions each seed one cause of the article's troubleshooting table.
Timestamps that a live service keeps fresh (the partner heartbeat) are stored as ages and rendered at
request time, so a long-running lab tenant stays healthy.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any

INTUNE_API_APP_ID = "c161e42e-d4df-4a3d-9b42-e7a3c31f59d4"  # "Microsoft Intune API"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # "Microsoft Graph"
JAMF_PRO_APP_NAME = "Jamf Pro"
CONNECTOR_APP_NAME = "Jamf Native macOS Connector"
INTUNE_PLAN = ("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A")
E3_SKU = ("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3")
E3_PLANS = [INTUNE_PLAN, ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"), ("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE")]
MAC_POLICY_TYPE = "#microsoft.graph.macOSCompliancePolicy"
WINDOWS_POLICY_TYPE = "#microsoft.graph.windows10CompliancePolicy"
#: Entra device soft delete (preview, 2026): registered (Workplace) and joined (AzureAd) devices are kept 30 days;
#: hybrid-joined (ServerAd) ones and devices without a recognised trust type (created via Graph) go at once
SOFT_DELETED_TRUST_TYPES = frozenset({"Workplace", "AzureAd"})
SOFT_DELETE_SECONDS = 30 * 86400
DC_PARTNER_NAME = "Jamf Device Compliance"  # [I] the portal's label of the partner (reference §1)
DC_USER_GROUP = "Jamf Device Compliance Users"
#: who may restore a soft-deleted device: Microsoft names these roles only (no custom role, no app permission)
DEVICE_RESTORE_ROLES = frozenset({"Cloud Device Administrator", "Intune Administrator", "Global Administrator"})


def _guid(seed: str) -> str:
    """Stable ids, so two tenants seeded alike look alike."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "cleanup-lab:" + seed))


class Directory:
    """Plain data; the HTTP handlers render it. Guarded by ``Tenant.lock``."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self.service_principals: dict[str, dict] = {}  # object id -> record
        self.assignments: dict[str, list[dict]] = {}  # principal object id -> app role assignments
        self.skus: dict[str, dict] = {}  # skuId -> {part, plans, prepaid, status}
        self.users: dict[str, dict] = {}  # lower-case UPN -> {id, upn, skus}
        self._user_ids: dict[str, str] = {}  # object id -> lower-case UPN
        self.partners: list[dict] = []  # the legacy integration's deviceManagementPartners
        self.compliance_partners: list[dict] = []  # complianceManagementPartners (Jamf Device Compliance)
        self.policies: list[dict] = []
        self.groups: dict[str, dict] = {}
        #: False: the tenant keeps no soft-deleted devices (soft delete not available): every device delete is final
        self.keeps_deleted_devices = True
        self.deleted_devices: dict[str, tuple[float, Any]] = {}  # object id -> (deleted at, EntraDevice)
        #: directory roles held by the lab's Graph apps (by their lab name), as an admin would assign them
        self.app_directory_roles: dict[str, set[str]] = {"full": {"Cloud Device Administrator"}, "cert": {"Cloud Device Administrator"}}

    # -- service principals ----------------------------------------------------------------------------

    def add_service_principal(self, display_name: str, app_id: str | None = None, app_roles: Sequence[str] = ()) -> dict:
        app_id = app_id or _guid("app:" + display_name)
        sp: dict[str, Any] = {
            "id": _guid("sp:" + app_id),
            "appId": app_id,
            "displayName": display_name,
            "accountEnabled": True,
            "created": time.time() - 400 * 86400,
            "appRoles": [
                {
                    "id": _guid(f"role:{app_id}:{v}"),
                    "value": v,
                    "displayName": v.replace("_", " "),
                    "description": v,
                    "allowedMemberTypes": ["Application"],
                    "isEnabled": True,
                    "origin": "Application",
                }
                for v in app_roles
            ],
        }
        self.service_principals[sp["id"]] = sp
        self.assignments.setdefault(sp["id"], [])
        return sp

    def by_app_id(self, app_id: str) -> dict | None:
        return next((s for s in self.service_principals.values() if s["appId"].lower() == app_id.lower()), None)

    def by_name(self, name: str) -> dict | None:
        return next((s for s in self.service_principals.values() if s["displayName"] == name), None)

    def remove_service_principal(self, name: str) -> None:
        sp = self.by_name(name)
        if sp:
            del self.service_principals[sp["id"]]
            self.assignments.pop(sp["id"], None)

    def grant(self, principal: dict, resource: dict, role_value: str) -> dict:
        """An application permission with admin consent: an appRoleAssignment of the resource's role."""
        role = next(r for r in resource["appRoles"] if r["value"] == role_value)
        seed = f"assignment:{principal['id']}:{role['id']}"
        raw = uuid.UUID(_guid(seed)).bytes + uuid.UUID(_guid(seed + ":2")).bytes
        entry = {
            "id": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "appRoleId": role["id"],
            "created": time.time() - 300 * 86400,
            "principalDisplayName": principal["displayName"],
            "principalId": principal["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": resource["displayName"],
            "resourceId": resource["id"],
        }
        self.assignments.setdefault(principal["id"], []).append(entry)
        return entry

    # -- soft-deleted devices --------------------------------------------------------------------------

    def keep_deleted(self, device: Any, now: float | None = None) -> bool:
        """A deleted Entra device goes to the deleted items if the tenant keeps them and its trust type is kept."""
        if not self.keeps_deleted_devices or device.trust_type not in SOFT_DELETED_TRUST_TYPES:
            return False
        self.deleted_devices[device.id] = (time.time() if now is None else now, device)
        return True

    def expire_deleted(self, now: float | None = None) -> None:
        """Hard-delete what has been soft-deleted for 30 days (its deviceId is free again)."""
        limit = (time.time() if now is None else now) - SOFT_DELETE_SECONDS
        for oid in [oid for oid, (at, _) in self.deleted_devices.items() if at <= limit]:
            del self.deleted_devices[oid]

    def deleted_device(self, object_id: str) -> tuple[float, Any] | None:
        self.expire_deleted()
        return self.deleted_devices.get(object_id.lower())

    def reserved_device_id(self, device_id: str) -> bool:
        """A soft-deleted device keeps its deviceId: no new registration may use it."""
        self.expire_deleted()
        return any(d.device_id.lower() == device_id.lower() for _, d in self.deleted_devices.values())

    def take_deleted(self, object_id: str) -> Any | None:
        found = self.deleted_device(object_id)
        return self.deleted_devices.pop(object_id.lower())[1] if found else None

    def may_restore_devices(self, app_name: str) -> bool:
        return bool(self.app_directory_roles.get(app_name, set()) & DEVICE_RESTORE_ROLES)

    # -- licences --------------------------------------------------------------------------------------

    def add_sku(self, sku_id: str, part: str, plans: list[tuple[str, str]], prepaid: int = 5000, status: str = "Enabled") -> dict:
        sku = {"skuId": sku_id, "part": part, "plans": list(plans), "prepaid": prepaid, "status": status}
        self.skus[sku_id] = sku
        return sku

    def add_user(self, upn: str, sku_ids: list[str] | None = None) -> dict:
        """A user (by UPN) holding ``sku_ids`` (default: the E3 licence, which includes Intune)."""
        user: dict[str, Any] = {"id": _guid("user:" + upn.lower()), "upn": upn, "skus": list(E3_SKU[:1] if sku_ids is None else sku_ids)}
        self.users[upn.lower()] = user
        self._user_ids[user["id"]] = upn.lower()
        return user

    def user(self, key: str) -> dict | None:
        """By userPrincipalName (any case) or object id, as /users/{key} resolves it."""
        key = key.lower()
        return self.users.get(key) or self.users.get(self._user_ids.get(key, ""))

    def consumed(self, sku_id: str) -> int:
        return sum(sku_id in u["skus"] for u in self.users.values())

    # -- Intune ----------------------------------------------------------------------------------------

    def add_group(self, name: str, rule: str | None = None) -> dict:
        group: dict[str, Any] = {
            "id": _guid("group:" + name),
            "displayName": name,
            "groupTypes": ["DynamicMembership"] if rule else [],
            "membershipRule": rule,
            "membershipRuleProcessingState": "On" if rule else None,
            "created": time.time() - 500 * 86400,
        }
        self.groups[group["id"]] = group
        return group

    def add_policy(self, name: str, odata_type: str, targets: list[dict]) -> dict:
        policy = {"id": _guid("policy:" + name), "displayName": name, "@odata.type": odata_type, "created": time.time() - 200 * 86400, "targets": list(targets)}
        self.policies.append(policy)
        return policy

    def policy(self, name: str) -> dict | None:
        return next((p for p in self.policies if p["displayName"] == name), None)

    def jamf_partner(self) -> dict | None:
        return next((p for p in self.partners if "jamf" in p["displayName"].lower()), None)

    def add_compliance_partner(
        self,
        display_name: str = DC_PARTNER_NAME,
        state: str = "enabled",
        *,
        mac_os: bool = True,
        heartbeat_age: float | None = 600.0,
        groups: Sequence[dict] = (),
    ) -> dict:
        """An Intune compliance partner; macOS assigned to ``groups`` (user groups, as Jamf's set-up asks)."""
        partner = {
            "id": _guid("compliance-partner:" + display_name),
            "displayName": display_name,
            "partnerState": state,
            "macOsOnboarded": mac_os,
            "heartbeat_age": heartbeat_age,
            "mac_groups": [g["id"] for g in groups],
        }
        self.compliance_partners.append(partner)
        return partner

    def terminate_legacy_partner(self, days_ago: float = 120.0) -> None:
        """The legacy connection was terminated (Intune removes its Macs 90 days later): no heartbeat since."""
        partner = self.jamf_partner()
        if partner:
            partner.update(partnerState="terminated", heartbeat_age=days_ago * 86400.0)

    def remove_legacy_partner(self) -> None:
        self.partners = [p for p in self.partners if "jamf" not in p["displayName"].lower()]


def group_target(group: dict) -> dict:
    return {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group["id"]}


def seed_healthy(d: Directory, upns: list[str]) -> Directory:
    """A working integration: Jamf partner enabled and heart-beating; the Jamf Pro app with exactly
    ``update_device_attributes`` on the Intune API (consented); the connector app; E3 licences with Intune
    for every user in ``upns``; a macOS compliance policy assigned to a user group (and a Windows one to a
    device group, which the Jamf rule does not concern)."""
    graph = d.add_service_principal("Microsoft Graph", GRAPH_APP_ID, ["Device.Read.All", "Device.ReadWrite.All", "User.Read.All"])
    intune = d.add_service_principal(
        "Microsoft Intune API", INTUNE_API_APP_ID, ["update_device_attributes", "send_device_attributes", "get_device_compliance", "scep_challenge_provider"]
    )
    jamf_app = d.add_service_principal(JAMF_PRO_APP_NAME)
    d.grant(jamf_app, intune, "update_device_attributes")
    connector = d.add_service_principal(CONNECTOR_APP_NAME, _guid("app:jamf-native-macos-connector"))
    d.grant(connector, intune, "update_device_attributes")
    d.grant(connector, graph, "User.Read.All")
    d.add_sku(*E3_SKU, plans=E3_PLANS)
    for upn in dict.fromkeys(upns):
        d.add_user(upn)
    d.partners.append(
        {
            "id": _guid("partner:jamf"),
            "displayName": "Jamf",
            "partnerState": "enabled",
            "partnerAppType": "multiTenantApp",
            "singleTenantAppId": None,
            "isConfigured": True,
            "heartbeat_age": 600.0,
        }
    )
    mac_users = d.add_group("All Mac Users", '(user.extensionAttribute1 -eq "mac")')
    staff = d.add_group("Staff")
    windows = d.add_group("All Windows PCs", '(device.deviceOSType -eq "Windows")')
    d.add_policy("macOS baseline", MAC_POLICY_TYPE, [group_target(mac_users), group_target(staff)])
    d.add_policy("Windows baseline", WINDOWS_POLICY_TYPE, [group_target(windows)])
    return d


# -- one cause each (the article's numbering) --------------------------------------------------------------


def _seeded(found: dict | None) -> dict:
    """What ``seed_healthy`` created, which each ``break_*`` function changes."""
    assert found is not None, "seed_healthy seeds it"
    return found


def break_jamf_app_permissions(d: Directory) -> None:
    """Cause 1: the Jamf Pro app holds a second permission besides update_device_attributes."""
    d.grant(_seeded(d.by_name(JAMF_PRO_APP_NAME)), _seeded(d.by_app_id(GRAPH_APP_ID)), "Device.ReadWrite.All")


def break_jamf_app_consent(d: Directory) -> None:
    """Cause 1: the Jamf Pro app was never granted admin consent (no app role assignment at all)."""
    d.assignments[_seeded(d.by_name(JAMF_PRO_APP_NAME))["id"]] = []


def break_connector(d: Directory) -> None:
    """Cause 2: the Jamf Native macOS Connector is not in the tenant."""
    d.remove_service_principal(CONNECTOR_APP_NAME)


def break_user_licence(d: Directory, upn: str) -> None:
    """Cause 3: the Mac's user holds no licence with Intune."""
    d.add_user(upn, [])


def break_partner(d: Directory) -> None:
    """Cause 5: the Intune integration is off in Jamf Pro: Intune sees the partner unavailable, no heartbeat
    for days."""
    partner = _seeded(d.jamf_partner())
    partner.update(partnerState="unavailable", heartbeat_age=9 * 86400.0)


def seed_device_compliance(d: Directory, legacy: str = "absent") -> dict:
    """The 2026 set-up: the Jamf Device Compliance partner enabled for macOS (assigned to a user group) and
    heart-beating; the legacy partner ``absent`` or ``terminated``."""
    if legacy == "terminated":
        d.terminate_legacy_partner()
    else:
        d.remove_legacy_partner()
    return d.add_compliance_partner(groups=[d.add_group(DC_USER_GROUP)])


def break_policy_groups(d: Directory) -> None:
    """A macOS compliance policy also assigned to a device group (Jamf supports user groups only)."""
    macs = d.add_group("All Macs (devices)", '(device.deviceOSType -eq "MacMDM")')
    _seeded(d.policy("macOS baseline"))["targets"].append(group_target(macs))
