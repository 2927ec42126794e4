import re

from cleanup.lab.simmac import tree_digest

NOT_FOUND = "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n"
ALICE_KC = "/Users/alice/Library/Keychains/login.keychain-db"
BOB_KC = "/Users/bob/Library/Keychains/login.keychain-db"
SYS_KC = "/Library/Keychains/System.keychain"


def wpj(sim, user="alice"):
    return next(i for i in sim.login(user)["items"] if i["class"] == "cert" and i["issuer_cn"] == "MS-ORGANIZATION-ACCESS")


def test_list_keychains(sim):
    p = sim.run("/usr/bin/security", "list-keychains", user="alice")
    assert p.returncode == 0
    assert p.stdout == f'    "{ALICE_KC}"\n    "{SYS_KC}"\n'
    assert sim.run("/usr/bin/security", "list-keychains").stdout == f'    "{SYS_KC}"\n'


def test_find_generic_password_block(sim):
    p = sim.run("/usr/bin/security", "find-generic-password", "-s", "com.microsoft.workplacejoin.thumbprint", "-g", user="alice")
    assert p.returncode == 0, p.stderr
    assert p.stdout == (
        f'keychain: "{ALICE_KC}"\n'
        "version: 512\n"
        'class: "genp"\n'
        "attributes:\n"
        '    0x00000007 <blob>="com.microsoft.workplacejoin.thumbprint"\n'
        "    0x00000008 <blob>=<NULL>\n"
        '    "acct"<blob>="com.microsoft.workplacejoin.thumbprint"\n'
        '    "cdat"<timedate>=0x32303235303630383136303533305A00  "20250608160530Z\\000"\n'
        '    "crtr"<uint32>=<NULL>\n'
        '    "cusi"<sint32>=<NULL>\n'
        '    "desc"<blob>=<NULL>\n'
        '    "gena"<blob>=<NULL>\n'
        '    "icmt"<blob>=<NULL>\n'
        '    "invi"<sint32>=<NULL>\n'
        '    "mdat"<timedate>=0x32303235303630383136303533305A00  "20250608160530Z\\000"\n'
        '    "nega"<sint32>=<NULL>\n'
        '    "prot"<blob>=<NULL>\n'
        '    "scrp"<sint32>=<NULL>\n'
        '    "svce"<blob>="com.microsoft.workplacejoin.thumbprint"\n'
        '    "type"<uint32>=<NULL>\n'
    )
    assert p.stderr == f'password: "{wpj(sim)["sha1"]}"\n'
    p = sim.run("/usr/bin/security", "find-generic-password", "-s", "nope", ALICE_KC, user="alice")
    assert (p.returncode, p.stdout, p.stderr) == (44, "", NOT_FOUND)
    p = sim.run("/usr/bin/security", "find-internet-password", "-s", "login.microsoftonline.com", user="alice")
    assert p.returncode == 0 and 'class: "inet"' in p.stdout and '"srvr"<blob>="login.microsoftonline.com"' in p.stdout
    assert '"ptcl"<uint32>="htps"' in p.stdout


def test_find_certificate_Z(sim):
    cert = wpj(sim)
    did = sim.summary["device_ids"]["alice"]
    p = sim.run("/usr/bin/security", "find-certificate", "-a", "-Z", "-c", did, ALICE_KC, user="alice")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"SHA-256 hash: {cert['sha256']}" and re.fullmatch(r"SHA-256 hash: [0-9A-F]{64}", lines[0])
    assert lines[1] == f"SHA-1 hash: {cert['sha1']}" and re.fullmatch(r"SHA-1 hash: [0-9A-F]{40}", lines[1])
    assert lines[2:6] == [f'keychain: "{ALICE_KC}"', "version: 512", "class: 0x80001000 ", "attributes:"]
    attrs = [l[4:].split("<")[0] for l in lines[6:]]
    assert attrs == ['"alis"', '"cenc"', '"ctyp"', '"hpky"', '"issu"', '"labl"', '"skid"', '"snbr"', '"subj"']
    assert lines[6] == f'    "alis"<blob>="{did}"'
    assert lines[9].startswith(f'    "hpky"<blob>=0x{cert["hpky"]}  "')
    issu = re.match(r'    "issu"<blob>=0x([0-9A-F]+)', lines[10]).group(1)
    der = bytes.fromhex(issu)
    assert der[0] == 0x30 and der.endswith(b"\x06\x03\x55\x04\x03\x0c\x16MS-ORGANIZATION-ACCESS")
    # without -Z: no hash lines; no match: exit 0, no output
    p = sim.run("/usr/bin/security", "find-certificate", "-c", did, user="alice")
    assert p.stdout.startswith('keychain: "')
    p = sim.run("/usr/bin/security", "find-certificate", "-a", "-c", "no-such-cert", user="alice")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")


def test_locked_keychain_and_access(sim):
    # bob is logged out: his keychain is locked even for bob; dump-keychain exits 1, find-certificate 36
    for code, argv in ((1, ["dump-keychain", BOB_KC]), (36, ["find-certificate", "-a", "-Z", BOB_KC])):
        p = sim.run("/usr/bin/security", *argv, user="bob")
        assert (p.returncode, p.stderr) == (code, "security: SecKeychainSearchCopyNext: User interaction is not allowed.\n")
    # a password search the keychain refuses finds nothing (SecurityTool's find_first_*_password): "not found"
    for verb in ("find-generic-password", "delete-generic-password"):
        p = sim.run("/usr/bin/security", verb, "-s", "com.microsoft.CompanyPortal", BOB_KC, user="bob")
        assert (p.returncode, p.stderr) == (44, NOT_FOUND)
    p = sim.run("/usr/bin/security", "show-keychain-info", BOB_KC, user="bob")
    assert (p.returncode, p.stderr) == (36, f"security: SecKeychainCopySettings {BOB_KC}: User interaction is not allowed.\n")
    # root cannot use alice's (unlocked) keychain either; alice can
    p = sim.run("/usr/bin/security", "dump-keychain", ALICE_KC)
    assert p.returncode == 1
    p = sim.run("/usr/bin/security", "show-keychain-info", ALICE_KC, user="alice")
    assert (p.returncode, p.stdout) == (0, f'Keychain "{ALICE_KC}" no-timeout\n')
    # System keychain: readable by a user, deletes need root
    p = sim.run("/usr/bin/security", "find-generic-password", "-s", "AirPort", SYS_KC, user="alice")
    assert p.returncode == 0
    p = sim.run("/usr/bin/security", "delete-generic-password", "-s", "AirPort", SYS_KC, user="alice")
    assert p.returncode == 51


def test_dump_keychain_keys(sim):
    p = sim.run("/usr/bin/security", "dump-keychain", ALICE_KC, user="alice")
    assert p.returncode == 0
    out = p.stdout
    assert out.count(f'keychain: "{ALICE_KC}"') == len(sim.login("alice")["items"])
    assert "SHA-1 hash" not in out
    cert = wpj(sim)
    blocks = out.split('keychain: "')[1:]
    wpj_keys = [b for b in blocks if '0x00000001 <blob>="Microsoft Workplace Join Key"' in b]
    assert len(wpj_keys) == 2
    classes = sorted(re.search(r"class: (0x[0-9A-F]{8})", b).group(1) for b in wpj_keys)
    assert classes == ["0x0000000F", "0x00000010"]
    for b in wpj_keys:
        assert f"    0x00000006 <blob>=0x{cert['hpky']}" in b
    priv = next(b for b in wpj_keys if "class: 0x00000010" in b)
    assert "    0x00000000 <uint32>=0x00000010" in priv


def test_delete_generic_password(sim):
    p = sim.run("/usr/bin/security", "delete-generic-password", "-a", "com.microsoft.workplacejoin.thumbprint", ALICE_KC, user="alice")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f'keychain: "{ALICE_KC}"\n') and p.stderr == "password has been deleted.\n"
    assert not [i for i in sim.login("alice")["items"] if i.get("acct") == "com.microsoft.workplacejoin.thumbprint"]
    p = sim.run("/usr/bin/security", "delete-generic-password", "-a", "com.microsoft.workplacejoin.thumbprint", ALICE_KC, user="alice")
    assert (p.returncode, p.stderr) == (44, NOT_FOUND)
    # exact match only: "https://device.login.microsoftonline.com" does not remove the "/" variant
    assert sim.run("/usr/bin/security", "delete-generic-password", "-s", "https://device.login.microsoftonline.com", user="alice").returncode == 0
    svcs = [i.get("svce") for i in sim.login("alice")["items"]]
    assert "https://device.login.microsoftonline.com/" in svcs and "https://device.login.microsoftonline.com" not in svcs
    p = sim.run("/usr/bin/security", "delete-internet-password", "-s", "login.microsoftonline.com", user="alice")
    assert p.returncode == 0 and p.stderr == "password has been deleted.\n"


def test_delete_identity_and_certificate(sim):
    cert = wpj(sim)
    p = sim.run("/usr/bin/security", "delete-identity", "-Z", cert["sha1"], ALICE_KC, user="alice")
    assert (p.returncode, p.stdout) == (0, ""), p.stderr
    kc = sim.login("alice")
    assert not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]
    wpj_keys = [i for i in kc["items"] if i["class"] == "key" and i["labl"] == "Microsoft Workplace Join Key"]
    assert [k["key_kind"] for k in wpj_keys] == ["public"]
    assert len([i for i in kc["items"] if i["class"] == "key" and i["labl"] == "JAMF"]) == 2
    p = sim.run("/usr/bin/security", "delete-identity", "-Z", cert["sha1"], ALICE_KC, user="alice")
    assert (p.returncode, p.stderr) == (1, f'Unable to delete certificate matching "{cert["sha1"]}"')
    p = sim.run("/usr/bin/security", "delete-certificate", "-c", "DeviceLogin.microsoft.com", ALICE_KC, user="alice")
    assert p.returncode == 0
    p = sim.run("/usr/bin/security", "delete-certificate", "-c", "DeviceLogin.microsoft.com", ALICE_KC, user="alice")
    assert (p.returncode, p.stderr) == (1, 'Unable to delete certificate matching "DeviceLogin.microsoft.com"')


def test_delete_identity_secure_enclave(make_sim):
    sim = make_sim(scenario="secure-enclave")
    cert = wpj(sim)
    # the private key is not visible: delete-identity deletes the certificate alone and still exits 0
    assert sim.run("/usr/bin/security", "delete-identity", "-Z", cert["sha1"], user="alice").returncode == 0
    assert not [i for i in sim.login("alice")["items"] if i.get("sha1") == cert["sha1"]]
    assert sim.run("/usr/bin/security", "delete-certificate", "-Z", cert["sha1"], user="alice").returncode == 1


def test_identity_preferences(sim):
    cert = wpj(sim)
    svc = "https://enterpriseregistration.windows.net"
    p = sim.run("/usr/bin/security", "get-identity-preference", "-s", svc, "-Z", user="alice")
    assert p.returncode == 0
    assert p.stdout.startswith(f"SHA-1 hash: {cert['sha1']}\nkeychain: ")
    p = sim.run("/usr/bin/security", "set-identity-preference", "-n", "-s", svc, user="alice")
    assert (p.returncode, p.stdout) == (0, "")
    p = sim.run("/usr/bin/security", "get-identity-preference", "-s", svc, "-Z", user="alice")
    assert (p.returncode, p.stderr) == (44, "security: SecIdentityCopyPreferred: The specified item could not be found in the keychain.\n")
    assert sim.run("/usr/bin/security", "get-identity-preference", "-s", svc + "/", "-Z", user="alice").returncode == 0


def test_usage_errors(sim):
    p = sim.run("/usr/bin/security", "frobnicate")
    assert p.returncode == 2 and "usage" in p.stderr
    assert sim.run("/usr/bin/security", "find-generic-password", "-Q").returncode == 2
    assert sim.run("/usr/local/jamf/bin/jamf", "dance").returncode == 2


def test_read_only_commands_leave_tree_identical(sim):
    before = tree_digest(sim.root)
    for argv, user in [
        (["/usr/bin/security", "dump-keychain"], "alice"),
        (["/usr/bin/security", "find-certificate", "-a", "-Z"], "alice"),
        (["/usr/bin/security", "find-generic-password", "-s", "com.microsoft.CompanyPortal"], "alice"),
        (["/usr/bin/security", "show-keychain-info", ALICE_KC], "alice"),
        (["/usr/bin/security", "get-identity-preference", "-s", "https://enterpriseregistration.windows.net", "-Z"], "alice"),
        (["/usr/bin/profiles", "status", "-type", "enrollment"], None),
        (["/usr/sbin/pkgutil", "--pkgs"], None),
        (["/usr/bin/dscl", ".", "-list", "/Users", "UniqueID"], None),
        (["/usr/sbin/sysctl", "-n", "kern.boottime"], None),
        (["/usr/bin/stat", "-f", "%u", "/dev/console"], None),
    ]:
        assert sim.run(*argv, user=user).returncode == 0, argv
    assert tree_digest(sim.root) == before
