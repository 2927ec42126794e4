import json
import os
import signal
import subprocess
import sys

from cleanup.lab.simmac import tree_digest

JAMF = "/usr/local/jamf/bin/jamf"


def test_jamf_remove_mdm_profile(make_sim):
    sim = make_sim()
    p = sim.run(JAMF, "removeMdmProfile")
    assert p.returncode == 0 and "Removing MDM Profile..." in p.stdout
    assert sim.state["mdm"]["enrolled"] is False
    p = sim.run("/usr/bin/profiles", "status", "-type", "enrollment")
    assert p.stdout == "Enrolled via DEP: No\nMDM enrollment: No\n"
    p = sim.run(JAMF, "removemdmprofile")
    assert (p.returncode, p.stdout) == (0, "No MDM Profile installed.\n")
    nr = make_sim(scenario="non-removable-mdm")
    # via the link (absolute Mac link text, resolved inside DIR by the fake sudo)
    p = nr.run("/usr/bin/sudo", "/usr/local/bin/jamf", "removeMDMProfile")
    assert p.returncode == 1 and "not removable" in p.stderr
    assert nr.state["mdm"]["enrolled"] is True
    p = sim.run(JAMF, "removeMdmProfile", user="alice")
    assert (p.returncode, p.stderr) == (1, "This command requires root privileges.\n")
    assert sim.run(JAMF, "version").stdout == "version=11.10.1-t1722263839\n"


def test_remove_framework_and_renew(sim):
    assert sim.run(JAMF, "removeMdmProfile").returncode == 0
    p = sim.run(JAMF, "removeFramework")
    assert p.returncode == 0 and p.stdout
    for mac in (
        "/usr/local/jamf",
        "/usr/local/bin/jamf",
        "/Library/Application Support/JAMF",
        "/Library/LaunchDaemons/com.jamfsoftware.task.1.plist",
        "/Library/LaunchDaemons/com.jamfsoftware.jamf.daemon.plist",
        "/Library/LaunchAgents/com.jamf.management.agent.plist",
    ):
        assert not os.path.lexists(sim.path(mac)), mac
    assert os.path.exists(sim.path("/Library/LaunchDaemons/com.example.backup.plist"))
    assert os.path.exists(sim.path("/Applications/Safari.app"))
    assert "com.jamfsoftware.jamf" not in sim.state["pkgs"]
    # non-root renew refused, root renew brings it all back
    assert sim.run("/usr/bin/profiles", "renew", "-type", "enrollment", user="alice").returncode == 1
    p = sim.run("/usr/bin/profiles", "renew", "-type", "enrollment")
    assert p.returncode == 0, p.stderr
    st = sim.state
    assert st["mdm"]["enrolled"] and st["mdm"]["user_approved"] and "com.jamfsoftware.jamf" in st["pkgs"]
    assert os.readlink(sim.path("/usr/local/bin/jamf")) == "/usr/local/jamf/bin/jamf"
    assert os.path.isfile(sim.path("/Library/LaunchDaemons/com.jamfsoftware.jamf.daemon.plist"))
    assert sim.run(JAMF, "recon").returncode == 0
    assert sim.state["recons"] == 1
    p = sim.run("/usr/bin/profiles", "status", "-type", "enrollment")
    assert p.stdout.splitlines()[1:] == ["MDM enrollment: Yes (User Approved)", "MDM server: https://example.jamfcloud.com/mdm/ServerURL"]


def test_renew_needs_dep_and_open_enroll_url(make_sim):
    sim = make_sim(scenario="no-jamf")
    p = sim.run("/usr/bin/profiles", "renew", "-type", "enrollment")
    assert p.returncode == 1 and "Automated Device Enrollment" in p.stderr
    url = "https://example.jamfcloud.com/enroll?invitation=123"
    p = sim.run("/usr/bin/open", url, user="alice")
    assert p.returncode == 0, p.stderr
    st = sim.state
    assert st["opened_urls"] == [url] and st["mdm"]["enrolled"] is True
    assert os.access(sim.path(JAMF), os.X_OK)
    p = sim.run("/usr/bin/open", "jamfselfservice://content?entity=policy&id=42&action=execute", user="alice")
    assert p.returncode == 0
    assert sim.state["policies_run"] == [{"id": "42", "via": "self-service"}]
    sim.run(JAMF, "policy", "-event", "intune")
    sim.run(JAMF, "policy", "-id", "7")
    assert sim.state["policies_run"][1:] == [{"event": "intune"}, {"id": "7"}]


def test_pkgutil_killall(sim):
    assert "com.microsoft.CompanyPortalMac\n" in sim.run("/usr/sbin/pkgutil", "--pkgs").stdout
    p = sim.run("/usr/sbin/pkgutil", "--pkg-info", "com.microsoft.CompanyPortalMac")
    assert p.stdout.splitlines()[0] == "package-id: com.microsoft.CompanyPortalMac"
    assert "volume: /" in p.stdout
    p = sim.run("/usr/sbin/pkgutil", "--forget", "com.microsoft.CompanyPortalMac")
    assert (p.returncode, p.stdout) == (0, "Forgot package 'com.microsoft.CompanyPortalMac' on '/'.\n")
    p = sim.run("/usr/sbin/pkgutil", "--forget", "com.microsoft.CompanyPortalMac")
    assert (p.returncode, p.stderr) == (1, "No receipt for 'com.microsoft.CompanyPortalMac' found at '/'.\n")
    assert sim.run("/usr/bin/killall", "Company Portal").returncode == 0
    p = sim.run("/usr/bin/killall", "Company Portal")
    assert (p.returncode, p.stderr) == (1, "No matching processes belonging to you were found\n")


def test_shutdown(sim):
    p = sim.run("/sbin/shutdown", "-r", "now", user="alice")
    assert (p.returncode, p.stderr) == (1, "shutdown: NOT super-user\n")
    assert sim.run("/usr/sbin/sysctl", "-n", "kern.boottime").stdout == "{ sec = 1764130000, usec = 0 } Wed Nov 26 04:06:40 2025\n"
    assert sim.run("/sbin/shutdown", "-r", "now").returncode == 0
    st = sim.state
    assert st["boottime"] > 1764130000 and st["running_apps"] == [] and st["logged_in"] == ["alice"]
    p = sim.run("/usr/sbin/sysctl", "kern.boottime")
    assert p.stdout.startswith(f"kern.boottime: {{ sec = {st['boottime']}, usec = 0 }} ")


def test_identity_tools(sim):
    p = sim.run("/usr/bin/dscl", ".", "-list", "/Users", "UniqueID")
    lines = p.stdout.splitlines()
    assert [l.split()[0] for l in lines] == sorted(l.split()[0] for l in lines)
    assert any(l.split() == ["alice", "501"] for l in lines) and any(l.split() == ["nobody", "-2"] for l in lines)
    assert len({l.rindex(" ") for l in lines}) == 1  # values in one column
    assert "bob" in sim.run("/usr/bin/dscl", ".", "-list", "/Users").stdout.split()
    p = sim.run("/usr/bin/dscl", ".", "-read", "/Users/alice", "NFSHomeDirectory")
    assert p.stdout == "NFSHomeDirectory: /Users/alice\n"
    p = sim.run("/usr/bin/dscl", ".", "-read", "/Users/zed", "NFSHomeDirectory")
    assert (p.returncode, p.stderr) == (56, "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n")
    assert sim.run("/usr/bin/stat", "-f", "%u", "/dev/console").stdout == "501\n"
    assert sim.run("/usr/bin/stat", "-f", "%Su", "/dev/console").stdout == "alice\n"
    sim.set_state(console_user=None)
    assert sim.run("/usr/bin/stat", "-f", "%u", "/dev/console").stdout == "0\n"
    assert sim.run("/usr/bin/stat", "-f", "%Su", "/dev/console").stdout == "root\n"
    assert sim.run("/usr/bin/id", "-u").stdout == "0\n"
    assert sim.run("/usr/bin/id", "-un", user="bob").stdout == "bob\n"
    sim.set_state(caller_uid=501)
    assert sim.run("/usr/bin/id", "-un").stdout == "alice\n"
    p = sim.run("/usr/bin/sudo", "-u", "bob", "/usr/bin/id", "-u")
    assert (p.returncode, p.stderr) == (1, "sudo: a password is required\n")
    p = sim.run("/bin/launchctl", "asuser", "501", "/usr/bin/id", "-u")
    assert p.returncode == 1 and "Could not switch to audit session" in p.stderr
    assert sim.run("/usr/bin/sw_vers").stdout == "ProductName:\t\tmacOS\nProductVersion:\t\t15.5\nBuildVersion:\t\t24F74\n"
    assert sim.run("/usr/bin/sw_vers", "-productVersion").stdout == "15.5\n"
    p = sim.run("/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice")
    assert '    "IOPlatformSerialNumber" = "C02ZK1ABMD6M"' in p.stdout.splitlines()
    assert any(l.startswith('    "IOPlatformUUID" = "') for l in p.stdout.splitlines())
    assert sim.run("/usr/sbin/scutil", "--get", "ComputerName").stdout == "MBP-ALICE\n"


def test_launchctl_sudo_keep_pid(sim):
    probe = sim.path("/usr/local/bin/pidprobe")
    with open(probe, "w") as f:
        f.write('#!/bin/sh\necho "$$ $SIMMAC_USER $SIMMAC_ASUSER"\n')
    os.chmod(probe, 0o755)
    proc = subprocess.Popen(
        [sim.path("/bin/launchctl"), "asuser", "501", "/usr/bin/sudo", "-u", "alice", "/usr/local/bin/pidprobe"], stdout=subprocess.PIPE, text=True
    )
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out.split() == [str(proc.pid), "alice", "501"]
    # a command by bare name is found on the Mac PATH inside DIR
    p = sim.run("/bin/launchctl", "asuser", "501", "sudo", "-u", "alice", "id", "-un")
    assert p.stdout == "alice\n"
    p = sim.run("/bin/launchctl", "asuser", "501", "/usr/local/jamf/bin/nothing")
    assert p.returncode == 127


PARENT = r"""
import subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True)
print("survived", p.returncode, flush=True)
"""


def _parent(sim, argv):
    """Run a fake from a small python parent; return the parent's returncode and output."""
    p = subprocess.run([sys.executable, "-c", PARENT, *[sim.path(argv[0]), *argv[1:]]], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def test_kill_fault(sim):
    before = tree_digest(sim.root)
    assert _parent(sim, ["/usr/bin/killall", "Nothing"]) == (0, "survived 1\n")
    assert tree_digest(sim.root) == before  # no faults.json: no counter file
    with open(sim.path("/.lab/faults.json"), "w") as f:
        json.dump({"kill_caller_before_call": 2, "kill_caller_after_call": 4}, f)
    assert _parent(sim, ["/usr/bin/id", "-u"]) == (0, "survived 0\n")  # call 1
    # call 2: killed before the effect
    rc, out = _parent(sim, ["/usr/bin/killall", "Company Portal"])
    assert (rc, out) == (-signal.SIGKILL, "")
    assert sim.state["running_apps"] == ["Company Portal"]
    # call 3 is a launchctl -> sudo -> security chain: counted once
    assert _parent(sim, ["/bin/launchctl", "asuser", "501", "/usr/bin/sudo", "-u", "alice", "/usr/bin/id", "-u"]) == (0, "survived 0\n")
    # call 4: effect first, then the parent dies
    rc, out = _parent(
        sim,
        [
            "/bin/launchctl",
            "asuser",
            "501",
            "/usr/bin/sudo",
            "-u",
            "alice",
            "/usr/bin/security",
            "delete-generic-password",
            "-s",
            "com.microsoft.CompanyPortal",
        ],
    )
    assert (rc, out) == (-signal.SIGKILL, "")
    assert not [i for i in sim.login("alice")["items"] if i.get("svce") == "com.microsoft.CompanyPortal"]
    with open(sim.path("/.lab/calls")) as f:
        assert f.read().strip() == "4"
    assert _parent(sim, ["/usr/bin/id", "-u"]) == (0, "survived 0\n")


def test_jamf_conditional_access_clean(sim):
    import plistlib

    ca = "/Library/Application Support/JAMF/Jamf.app/Contents/MacOS/Jamf Conditional Access.app/Contents/MacOS/Jamf Conditional Access"
    assert sim.run(ca, "clean").returncode == 1  # root
    assert sim.run(ca, "clean", user="bob").returncode == 1  # logged out
    p = sim.run(ca, "clean", user="alice")
    assert p.returncode == 0, p.stderr
    assert not [i for i in sim.login("alice")["items"] if i.get("svce") == "com.jamf.management.jamfAAD"]
    with open(sim.path("/Users/alice/Library/Preferences/com.jamf.management.jamfAAD.plist"), "rb") as f:
        assert "have_an_Azure_id" not in plistlib.load(f)
    assert [i for i in sim.login("bob")["items"] if i.get("svce") == "com.jamf.management.jamfAAD"]
