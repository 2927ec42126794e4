"""The 2026 scenarios of the simulated Mac against the emulated tenant: the deviceIds the Mac shows are the tenant's."""

import json
import os
import subprocess

from cleanup.hosts.local import open_sim_host
from cleanup.hosts.registration import read_registration_evidence

CA = "/Library/Application Support/JAMF/Jamf.app/Contents/MacOS/Jamf Conditional Access.app/Contents/MacOS/Jamf Conditional Access"


def test_register_with_intune_with_the_tenant(make_lab):
    lab = make_lab(mac_scenario="device-compliance")
    root = str(lab.mac)
    argv = ["/bin/launchctl", "asuser", "501", "/usr/bin/sudo", "-u", "alice", CA, "registerWithIntune"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMMAC_")}
    assert subprocess.run([root + argv[0], *argv[1:]], env=env, capture_output=True, timeout=60).returncode == 0
    with open(os.path.join(root, ".lab/state.json")) as f:
        new = json.load(f)["registrations"][-1]["deviceId"]
    with open(os.path.join(root, "Users/alice/Library/Keychains/login.keychain-db")) as f:
        certs = [i for i in json.load(f)["items"] if i["class"] == "cert" and i.get("issuer_cn") == "MS-ORGANIZATION-ACCESS"]
    assert certs[0]["labl"] == new and lab.tenant.entra_by_device_id(new) is not None


def test_platform_sso_device_id_is_in_the_tenant(make_lab):
    lab = make_lab(mac_scenario="platform-sso")
    did = lab.info["psso"]["device_id"]
    assert lab.identity.device_ids == [did] and lab.tenant.entra_by_device_id(did) is not None
    ev = read_registration_evidence(open_sim_host(str(lab.mac)), retry_delay=0)
    assert ev.psso_device_ids == (did,) and ev.msal_device_ids == {"alice": did}
