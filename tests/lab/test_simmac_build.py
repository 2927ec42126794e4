import os
import plistlib
import shutil
import time

import pytest

from cleanup.lab.simmac import (
    SCENARIOS,
    create_sim_mac,
    diff_manifests,
    tree_digest,
    tree_manifest,
)
from cleanup.lab.simmac.common import FAKE_TOOLS


def items(kc, cls=None, labl=None):
    return [i for i in kc["items"] if (cls is None or i["class"] == cls) and (labl is None or i.get("labl") == labl)]


def test_default_layout(sim):
    s = sim.summary
    assert s["users"] == ["alice", "bob"] and s["uids"] == {"alice": 501, "bob": 502}
    assert s["console_user"] == "alice" and s["logged_in"] == ["alice"]
    st = sim.state
    assert st["format"] == "simmac/1" and st["serial"] == "C02ZK1ABMD6M" and st["caller_uid"] == 0
    assert st["mdm"] == {"enrolled": True, "dep": True, "user_approved": True, "server": "https://example.jamfcloud.com/mdm/ServerURL", "removable": True}
    # users database
    with open(sim.path("/var/db/dslocal/nodes/Default/users/alice.plist"), "rb") as f:
        rec = plistlib.load(f)
    assert rec["name"] == ["alice"] and rec["uid"] == ["501"] and rec["home"] == ["/Users/alice"]
    for sysuser in ("root", "daemon", "_www", "nobody"):
        assert os.path.exists(sim.path(f"/var/db/dslocal/nodes/Default/users/{sysuser}.plist"))
    # fakes at their Mac paths, executable
    for mac in list(FAKE_TOOLS.values()) + ["/usr/local/jamf/bin/jamf"]:
        assert os.access(sim.path(mac), os.X_OK), mac
    assert os.readlink(sim.path("/usr/local/bin/jamf")) == "/usr/local/jamf/bin/jamf"
    # article files: system and per user
    assert os.path.isfile(sim.path("/Library/Application Support/com.microsoft.CompanyPortal.usercontext.info"))
    assert os.path.isdir(sim.path("/Library/Application Support/com.microsoft.CompanyPortal"))
    assert os.path.isfile(sim.path("/Users/alice/Library/Cookies/com.jamf.management.jamfAAD.binarycookies"))
    assert os.path.isdir(sim.path("/Users/bob/Library/Saved Application State/com.microsoft.CompanyPortal.savedState"))
    with open(sim.path("/Users/bob/Library/Preferences/com.jamf.management.jamfAAD.plist"), "rb") as f:
        assert plistlib.load(f)["have_an_Azure_id"] is True
    # symlink traps
    link = sim.path("/Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies")
    assert os.readlink(link) == "../../../alice/Documents/payroll.xlsx"
    assert os.path.isfile(link)  # resolves to the real document
    link = sim.path("/Users/alice/Library/Application Support/com.microsoft.CompanyPortal")
    assert not os.path.isabs(os.readlink(link))
    assert os.path.realpath(link) == os.path.realpath(sim.path("/System/Library/Trap"))
    # keychains
    alice = sim.login("alice")
    assert alice["owner"] == "alice" and alice["format"] == "simkeychain/1"
    cert = next(c for c in items(alice, "cert") if c["issuer_cn"] == "MS-ORGANIZATION-ACCESS")
    assert cert["labl"] == s["device_ids"]["alice"]
    keys = items(alice, "key", "Microsoft Workplace Join Key")
    assert sorted(k["key_kind"] for k in keys) == ["private", "public"] and all(k["klbl"] == cert["hpky"] for k in keys)
    assert alice["identity_preferences"]["https://enterpriseregistration.windows.net/"] == cert["sha1"]
    assert len(items(alice, "key", "JAMF")) == 2
    assert len(items(sim.keychain("/Library/Keychains/System.keychain"), "key", "JAMF")) == 2
    assert items(alice, "genp", "Fortune Teller")


def test_three_users_parent_link_trap(make_sim):
    sim = make_sim(users=["ann", "ben", "cat"])
    assert sim.summary["logged_in"] == ["ann", "ben", "cat"]
    sas = sim.path("/Users/cat/Library/Saved Application State")
    assert os.path.islink(sas) and not os.path.isabs(os.readlink(sas))
    assert os.path.isdir(os.path.join(sas, "com.microsoft.CompanyPortal.savedState"))
    assert os.path.isdir(sim.path("/Users/Shared/SavedState-cat/com.microsoft.CompanyPortal.savedState"))


def test_scenarios(make_sim):
    clean = make_sim(scenario="clean")
    assert not os.path.exists(clean.path("/Applications/Company Portal.app"))
    assert os.path.exists(clean.path("/usr/local/jamf/bin/jamf"))
    assert not os.path.exists(clean.path("/Library/Application Support/com.microsoft.CompanyPortal"))
    assert not os.path.lexists(clean.path("/Users/bob/Library/Cookies/com.microsoft.CompanyPortal.binarycookies"))
    assert not [i for i in clean.login("alice")["items"] if "microsoft" in str(i).lower()]
    assert "com.microsoft.CompanyPortalMac" not in clean.state["pkgs"]

    nj = make_sim(scenario="no-jamf")
    assert not os.path.lexists(nj.path("/usr/local/jamf")) and not os.path.lexists(nj.path("/usr/local/bin/jamf"))
    assert nj.state["mdm"]["enrolled"] is False
    assert not [p for p in nj.state["pkgs"] if p.startswith("com.jamfsoftware")]

    assert make_sim(scenario="non-removable-mdm").state["mdm"]["removable"] is False

    evil = make_sim(scenario="unsafe-username")
    with open(evil.path("/var/db/dslocal/nodes/Default/users/evil.plist"), "rb") as f:
        rec = plistlib.load(f)
    assert rec["name"] == ["../root"] and rec["uid"] == ["503"]

    se = make_sim(scenario="secure-enclave")
    kc = se.login("alice")
    assert not items(kc, "key", "Microsoft Workplace Join Key")
    assert [c for c in items(kc, "cert") if c["issuer_cn"] == "MS-ORGANIZATION-ACCESS"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError) as e:
        create_sim_mac(tmp_path / "x", scenario="nope")
    for name in SCENARIOS:
        assert name in str(e.value)
    with pytest.raises(ValueError):
        create_sim_mac(tmp_path / "y", users=["../root"])
    with pytest.raises(ValueError):
        create_sim_mac(tmp_path / "y", users=["Alice"])
    with pytest.raises(ValueError):
        create_sim_mac(tmp_path / "y", users=["a", "b"], logged_out=["c"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ValueError):
        create_sim_mac(tmp_path / "full")
    (tmp_path / "empty").mkdir()
    create_sim_mac(tmp_path / "empty")


def test_deterministic(tmp_path):
    root = tmp_path / "m"
    for scenario in SCENARIOS:
        create_sim_mac(root, scenario=scenario)
        d1 = tree_digest(root)
        shutil.rmtree(root)
        create_sim_mac(root, scenario=scenario)
        assert tree_digest(root) == d1, scenario
        shutil.rmtree(root)


def test_hundred_users_fast(tmp_path):
    t = time.monotonic()
    s = create_sim_mac(tmp_path / "big", users=[f"user{i}" for i in range(100)])
    assert time.monotonic() - t < 2.0
    assert s["uids"]["user99"] == 600


def test_manifest_and_diff(sim):
    before = tree_manifest(sim.root)
    kind, _mode, digest = before["usr/local/bin/jamf"]
    assert kind == "link" and len(digest) == 64
    assert before["Users/alice/Documents"][0] == "dir"
    assert before["usr/bin/security"][0] == "file" and before["usr/bin/security"][1] == 0o755
    os.unlink(sim.path("/Users/alice/Documents/notes.txt"))
    with open(sim.path("/Users/alice/Documents/new.txt"), "w") as f:
        f.write("x")
    with open(sim.path("/Users/alice/Documents/payroll.xlsx"), "ab") as f:
        f.write(b"x")
    removed, added, changed = diff_manifests(before, tree_manifest(sim.root))
    assert removed == ["Users/alice/Documents/notes.txt"]
    assert added == ["Users/alice/Documents/new.txt"]
    assert "Users/alice/Documents/payroll.xlsx" in changed
