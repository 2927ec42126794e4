"""The fake ``jamf``, ``profiles`` and ``open`` (MDM enrollment and the Jamf framework)."""

from __future__ import annotations

import os

from cleanup.lab.simmac import common as C
from cleanup.lab.simmac import tenant_link
from cleanup.lab.simmac.fakes import Ctx, Fail, out, usage

# --------------------------------------------------------------------------- jamf


def _reinstall_framework(ctx: Ctx) -> None:
    C.install_jamf_framework(ctx.root)
    if not os.path.isdir(ctx.host("/Applications/Self Service.app")):
        C.install_self_service(ctx.root)
    st = ctx.state
    for p in C.JAMF_PKGS:
        if p not in st["pkgs"]:
            st["pkgs"].append(p)
    st["mdm"]["enrolled"] = True
    st["mdm"]["user_approved"] = True
    tenant_link.on_enroll(ctx)


def _rm(hp: str) -> None:
    import shutil

    if os.path.islink(hp) or os.path.isfile(hp):
        os.unlink(hp)
    elif os.path.isdir(hp):
        shutil.rmtree(hp)


def _enforce_management(ctx: Ctx) -> None:
    """``jamf manage`` writes Jamf Pro's settings for this Mac into com.jamfsoftware.jamf.plist again (Jamf's own
    Device Compliance script repairs the plist this way): the server, and Device Compliance's values while Jamf Pro
    has Device Compliance for the Mac (the linked tenant's model; unlinked: the Mac's scenario). The plist's other keys stay."""
    import plistlib

    from cleanup.lab.simmac import sso_model

    path = ctx.host(sso_model.JAMF_PLIST)
    prefs: dict = {}
    if os.path.isfile(path) and not os.path.islink(path):
        try:
            with open(path, "rb") as f:
                prefs = plistlib.load(f)
        except (plistlib.InvalidFileException, ValueError):
            prefs = {}  # a damaged plist is written anew
    tenant = ctx.state.get("tenant")
    dc = tenant_link._tenant_model(tenant) in ("device-compliance", "platform-sso") if tenant else bool(ctx.state.get("sso"))
    for key in ("microsoftCAEnabled", "microsoftCANativeClientAppId", "microsoftCATenantDomainName"):
        prefs.pop(key, None)
    prefs.update(sso_model.jamf_prefs("device-compliance" if dc else "default", ctx.state["jamf_url"]))
    C.write_atomic(path, plistlib.dumps(prefs, sort_keys=True), 0o644)


def t_jamf(ctx: Ctx, argv: list[str]):
    use = "Usage: jamf <verb> [options]  (verbs: removeMdmProfile, removeFramework, policy, recon, version)"
    if not argv:
        usage(use)
    verb = argv[0].lower()
    args = argv[1:]
    if verb == "version":
        out(f"version={C.JAMF_VERSION}")
        return 0
    if verb == "help":
        out(use)
        return 0
    if verb not in ("removemdmprofile", "removeframework", "policy", "recon", "manage", "checkjssconnection"):
        usage(use)
    if not ctx.is_root:
        raise Fail(1, "This command requires root privileges.")
    url = ctx.state["jamf_url"]
    if verb == "removemdmprofile":
        ctx.lock()
        mdm = ctx.state["mdm"]
        if not mdm.get("enrolled"):
            out("No MDM Profile installed.")
            return 0
        if not mdm.get("removable", True):
            raise Fail(1, "Error: The MDM profile is not removable (installed via Automated Device Enrollment).")
        out("Removing MDM Profile...")
        mdm["enrolled"] = False
        mdm["user_approved"] = False
        ctx.save()
        out("Removed MDM Profile.")
        return 0
    if verb == "removeframework":
        import glob

        ctx.lock()
        out("Removing the Jamf management framework...")
        for mac in ("/usr/local/jamf", C.JAMF_LINK, C.JAMF_SUPPORT):
            _rm(C.host_path(ctx.root, mac))
        for pattern in ("/Library/LaunchDaemons/com.jamfsoftware.*", "/Library/LaunchAgents/com.jamf*"):
            for hp in sorted(glob.glob(glob.escape(C.host_path(ctx.root, os.path.dirname(pattern))) + "/" + os.path.basename(pattern))):
                _rm(hp)
        ctx.state["pkgs"] = [p for p in ctx.state["pkgs"] if not p.startswith("com.jamfsoftware")]
        ctx.save()
        out("Removed the Jamf management framework.")
        return 0
    if verb == "policy":
        entry = None
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-event", "-trigger") and i + 1 < len(args):
                entry = {"event": args[i + 1]}
                i += 2
            elif a == "-id" and i + 1 < len(args):
                entry = {"id": args[i + 1]}
                i += 2
            elif a in ("-verbose", "-forceNoRecon"):
                i += 1
            else:
                usage("Usage: jamf policy [-event <trigger>] [-id <id>] [-verbose]")
        if entry is None:
            entry = {"event": "recurring check-in"}
        ctx.lock()
        ctx.state["policies_run"].append(entry)
        tenant_link.on_policy(ctx, entry)
        ctx.save()
        if "event" in entry:
            out(f'Checking for policies triggered by "{entry["event"]}" for user "{ctx.state.get("console_user") or "root"}"...')
        else:
            out(f"Checking for policy ID {entry['id']}...")
            out(f"Executing Policy {entry['id']}")
        out(f"Submitting log to {url}/")
        return 0
    if verb == "recon":
        ctx.lock()
        ctx.state["recons"] = int(ctx.state.get("recons", 0)) + 1
        ctx.save()
        out(f"Retrieving inventory preferences from {url}/...")
        out("Locating accounts...")
        out("Locating applications...")
        out("Locating hard drive information...")
        out("Gathering application usage information...")
        out(f"Submitting data to {url}/...")
        out(f"<computer_id>{1000 + ctx.state['recons']}</computer_id>")
        return 0
    if verb == "manage":
        ctx.lock()
        _enforce_management(ctx)
        ctx.state["manages"] = int(ctx.state.get("manages", 0)) + 1
        ctx.save()
        out("Enforcing management framework...")
        return 0
    out(f"Checking availability of {url}/...")
    out("The JSS is available.")
    return 0


# --------------------------------------------------------------------------- profiles


def t_profiles(ctx: Ctx, argv: list[str]):
    use = "usage: profiles status -type enrollment | profiles renew -type enrollment"
    if len(argv) != 3 or argv[1] != "-type" or argv[2] != "enrollment" or argv[0] not in ("status", "renew"):
        usage(use)
    if argv[0] == "status":
        if ctx.state.get("tenant"):
            ctx.lock()
            tenant_link.apply_mdm_commands(ctx)
        mdm = ctx.state["mdm"]
        enrolled = bool(mdm.get("enrolled"))
        out(f"Enrolled via DEP: {'Yes' if enrolled and mdm.get('dep') else 'No'}")
        if enrolled:
            out("MDM enrollment: Yes (User Approved)" if mdm.get("user_approved") else "MDM enrollment: Yes")
            out(f"MDM server: {mdm.get('server')}")
        else:
            out("MDM enrollment: No")
        return 0
    if not ctx.is_root:
        raise Fail(1, "profiles: this command requires root privileges.")
    ctx.lock()
    if not ctx.state["mdm"].get("dep"):
        raise Fail(1, "profiles: The device is not assigned to an MDM server via Automated Device Enrollment.")
    _reinstall_framework(ctx)
    ctx.save()
    return 0


# --------------------------------------------------------------------------- open


def t_open(ctx: Ctx, argv: list[str]):
    use = "Usage: open [-a <application>] [-b <bundle identifier>] [-g] [-j] <url | file> ..."
    app = None
    targets = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-a", "-b") and i + 1 < len(argv):
            app = (a, argv[i + 1])
            i += 2
        elif a in ("-g", "-j", "-n", "-F", "-W"):
            i += 1
        elif a.startswith("-"):
            usage(use)
        else:
            targets.append(a)
            i += 1
    if app is None and not targets:
        usage(use)
    ctx.lock()
    st = ctx.state
    changed = False
    if app is not None:
        name = app[1]
        if app[0] == "-b":
            names = {"com.microsoft.CompanyPortalMac": "Company Portal", "com.jamfsoftware.selfservice.mac": "Self Service", "com.apple.Safari": "Safari"}
            if name not in names:
                raise Fail(1, f"Unable to find application with bundle identifier '{name}'")
            name = names[name]
        if name.endswith(".app"):
            name = name[:-4]
        if not os.path.isdir(ctx.host(f"/Applications/{name}.app")):
            raise Fail(1, f"Unable to find application named '{name}'")
        if name not in st["running_apps"]:
            st["running_apps"].append(name)
            changed = True
    for t in targets:
        if "://" in t:
            handled = True
            st["opened_urls"].append(t)
            changed = True
            jamf_url = (st.get("jamf_url") or "").rstrip("/")
            if jamf_url and t.startswith(jamf_url + "/enroll"):
                _reinstall_framework(ctx)
            elif t.startswith("jamfselfservice://"):
                if not os.path.isdir(ctx.host("/Applications/Self Service.app")):
                    handled = False
                else:
                    from urllib.parse import parse_qs, urlsplit

                    q = parse_qs(urlsplit(t).query)
                    if q.get("entity") == ["policy"] and q.get("id") and q.get("action", ["view"])[0] == "execute":
                        st["policies_run"].append({"id": q["id"][0], "via": "self-service"})
            elif not (t.startswith("http://") or t.startswith("https://")):
                handled = False
            if not handled:
                ctx.save()
                raise Fail(1, f"LSOpenURLsWithRole() failed with error -10814 for the URL {t}.")
        else:
            hp = ctx.host(t if t.startswith("/") else "/" + t)
            if not os.path.exists(hp):
                if changed:
                    ctx.save()
                raise Fail(1, f"The file {t} does not exist.")
            base = os.path.basename(t.rstrip("/"))
            if base.endswith(".app") and base[:-4] not in st["running_apps"]:
                st["running_apps"].append(base[:-4])
                changed = True
    if changed:
        ctx.save()
    return 0


# --------------------------------------------------------------------------- Jamf Conditional Access (jamfAAD)
