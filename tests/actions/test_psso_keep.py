"""What Platform SSO needs is never deleted: Company Portal and its SSO extension on a PSSO Mac, and on any Mac the
shared UBF8T346G9.* group containers and the data-protection keychain folder ~/Library/Keychains/<hardware UUID>."""

import os
import subprocess

import pytest

from cleanup.engine.loader import load_playbook, parse_playbook
from cleanup.engine.plan import Change, ChangeKind
from cleanup.errors import PlaybookError, UnsafePath
from cleanup.lab.simmac import sso_model
from cleanup.lab.simmac.builder import _genp
from cleanup.lab.simmac.psso_repair import repair
from tests.support.lab import REPO
from tests.support.models2026 import SSO_APPEX, Driver
from tests.support.simmac import item_label, login_kc, tree_bytes

CAUSE6 = (REPO / "playbooks/cause6.toml").read_text()
HW = sso_model.hardware_uuid("C02ZK1ABMD6M")
NEVER = [f"Users/{u}/Library/Group Containers/{g}" for u in ("alice", "bob") for g in sso_model.GROUP_CONTAINERS] + [
    f"Users/{u}/Library/Keychains/{HW}" for u in ("alice", "bob")
]
SSO_EXT = [
    f"Users/{u}/Library/{rel}"
    for u in ("alice", "bob")
    for rel in ("Containers/com.microsoft.CompanyPortalMac.ssoextension", "Application Scripts/com.microsoft.CompanyPortalMac.ssoextension")
]
SSO_ITEM = "com.microsoft.CompanyPortalMac.ssoextension"


def _snapshot(root, rels):
    return {r: tree_bytes(root / r) for r in rels}


def _profiles(mac) -> str:
    return subprocess.run([str(mac / "usr/bin/profiles"), "list"], capture_output=True, text=True, check=True).stdout


def test_a_platform_sso_mac_keeps_company_portal_its_extension_and_the_shared_folders(make_mac, store):
    mac = make_mac(scenario="platform-sso", logged_out=[])
    kept = _snapshot(mac, NEVER + SSO_EXT + ["Applications/Company Portal.app"])
    assert all(kept.values())
    drive = Driver(store, mac)
    drive.until("psso-repair:alice")
    repair(mac, "alice")
    drive.finish()
    state = drive.state()
    assert state.status == "done"
    assert _snapshot(mac, NEVER + SSO_EXT + ["Applications/Company Portal.app"]) == kept
    assert (mac / SSO_APPEX).is_dir()
    step10 = state.step("remove-company-portal")
    assert "Platform SSO is in use on this Mac (registered for alice)" in step10.outcome and "Company Portal and its files stay" in step10.outcome
    assert state.step("remove-company-portal-files").outcome == step10.outcome
    assert "com.example.platformsso" in _profiles(mac)  # back with the re-enrollment
    notes = state.step("purge-keychains").notes
    assert any(n.startswith("Platform SSO is in use on this Mac: its device keys are in the Secure Enclave") for n in notes)


@pytest.mark.slow
def test_a_device_compliance_mac_loses_company_portal_but_never_the_shared_folders(make_mac, store):
    mac = make_mac(scenario="device-compliance", logged_out=[])
    never = _snapshot(mac, NEVER)
    assert all(never.values()) and all((mac / p).exists() for p in SSO_EXT)
    Driver(store, mac).finish()
    assert _snapshot(mac, NEVER) == never
    assert not (mac / "Applications/Company Portal.app").exists()
    gone = [f"Users/alice/Library/{rel}" for _, rel in sso_model.COMPANY_PORTAL_FILES]
    assert [p for p in gone + SSO_EXT if os.path.lexists(mac / p)] == []


@pytest.mark.parametrize(
    "path",
    [
        "/Users/<username>/Library/Group Containers/UBF8T346G9.com.microsoft.entrabroker",
        "/Users/<username>/Library/Group Containers/ubf8t346g9.com.microsoft.oneauth/Library/Caches",
        "/Users/<username>/Library/Group Containers/UBF8T346G9.Office",
        "/Library/Group Containers/UBF8T346G9.com.microsoft.entrabroker",  # mirrored into every home
        f"/Users/<username>/Library/Keychains/{HW}",
        f"/Users/<username>/Library/keychains/{HW}/keychain-2.db",
    ],
)
def test_a_playbook_path_pointing_at_them_is_refused(path):
    start = CAUSE6.index("paths = [")
    step6 = CAUSE6[:start] + f'paths = ["{path}"]' + CAUSE6[CAUSE6.index("]", start) + 1 :]
    with pytest.raises(PlaybookError, match=r"group container|keychain"):
        parse_playbook(step6, "edited.toml")
    if path.startswith("/Users/"):
        start = CAUSE6.index("paths = [", CAUSE6.index('id = "remove-company-portal-files"'))
        step10 = CAUSE6[:start] + f'paths = ["{path}"]' + CAUSE6[CAUSE6.index("]", start) + 1 :]
        with pytest.raises(PlaybookError, match=r"step 6 \(remove-company-portal-files\): params\.paths\[0\]: .*(group container|keychain)"):
            parse_playbook(step10, "edited.toml")


def test_a_removal_of_them_is_refused_even_when_planned(sim_mac):
    mac = sim_mac(scenario="device-compliance")
    ctx = mac.context()
    before = _snapshot(mac.root, NEVER)
    for rel in NEVER:
        info = mac.host.lstat("/" + rel)
        forged = Change(f"path:/{rel}", ChangeKind.REMOVE_PATH, "forged", {"path": "/" + rel, "type": "dir", "dev": info.dev, "ino": info.ino})
        for step in ("remove-files", "remove-company-portal", "remove-company-portal-files"):
            with pytest.raises(UnsafePath, match=r"never removed|keychain folder"):
                mac.apply(ctx, mac.step(step), forged)
    assert _snapshot(mac.root, NEVER) == before


def test_step7_keeps_the_sso_extensions_items_only_where_platform_sso_is_in_use(sim_mac):
    kept = {}
    for scenario in ("platform-sso", "device-compliance"):
        mac = sim_mac(scenario=scenario, users=["alice"], logged_out=[])
        kc = mac.keychain(login_kc("alice"))
        kc["items"].append(_genp(SSO_ITEM, "extension-state", acct="alice@example.com"))
        mac.write_keychain(login_kc("alice"), kc)
        plan = mac.plan(mac.context(), mac.step("purge-keychains"))
        removed = {c.details.get("svce") for c in plan.changes}
        kept[scenario] = SSO_ITEM not in removed
        if scenario == "platform-sso":
            # what the lab's PSSO login keychain holds (sso_model.psso_login_items): Company Portal's and jamfAAD's
            # tokens, which Platform SSO does not use, go as on any Mac
            assert {item_label(i) for i in kc["items"]} >= {"com.microsoft.CompanyPortal", "com.jamf.management.jamfAAD"}
            assert {"com.microsoft.CompanyPortal", "com.jamf.management.jamfAAD"} <= removed
            assert any(f"svce='{SSO_ITEM}'" in n and "protected by rule 'platform-sso'" in n for n in plan.notes), plan.notes
    assert kept == {"platform-sso": True, "device-compliance": False}


def test_the_lab_takes_the_mdm_profiles_with_the_mdm_profile_and_brings_them_back(make_mac):
    mac = make_mac(scenario="platform-sso")
    app_sso = [str(mac / "usr/bin/sudo"), "-u", "alice", "/usr/bin/app-sso", "platform", "-s"]
    assert "registrationCompleted" in subprocess.run(app_sso, capture_output=True, text=True, check=True).stdout
    subprocess.run([str(mac / "usr/local/jamf/bin/jamf"), "removeMdmProfile"], capture_output=True, check=True)
    assert "com.example.platformsso" not in _profiles(mac)
    assert subprocess.run(app_sso, capture_output=True, text=True, check=True).stdout.count("(null)") == 3
    subprocess.run([str(mac / "usr/bin/profiles"), "renew", "-type", "enrollment"], capture_output=True, check=True)
    assert "com.example.platformsso" in _profiles(mac)
    assert sso_model.psso_device_id("C02ZK1ABMD6M") in str(load_state_psso(mac))


def load_state_psso(mac):
    from tests.support.lab import lab_state

    return sso_model.psso_active(lab_state(mac))


def test_the_shipped_playbook_keeps_the_article_list_and_adds_company_portal_5_as_a_sub_step_of_10():
    pb = load_playbook("cause6")
    assert len(pb.step("remove-files").params["paths"]) == 11
    files = pb.step("remove-company-portal-files").params["paths"]
    for _, rel in sso_model.COMPANY_PORTAL_FILES:
        assert f"/Users/<username>/Library/{rel}" in files
