"""The simulated Mac's ``security`` prints what a real Mac prints (macos-commands.md, `security`, Correction of
2026-12-01): labels of passwords only as 0x00000007, hex-only values with one trailing space, quoted values with
`"` raw and octal escapes, dump-keychain's exit 1 on a locked keychain, delete-certificate's exit 1 when nothing
is there, delete-identity without a visible private key, "password has been deleted." on stderr."""

from __future__ import annotations

import json

from tests.support.security_shapes import (
    ALICE_KC,
    BOB_KC,
    CERT_HEAD,
    GENP_THUMBPRINT,
    INET_DRS,
    NO_INTERACTION,
    NOT_FOUND,
    PASSWORD_DELETED,
    PRIVATE_KEY_HEAD,
    cert_not_found,
    genp_block,
)

SECURITY = "/usr/bin/security"


def _add(sim, user: str, *items: dict) -> None:
    path = sim.path(f"/Users/{user}/Library/Keychains/login.keychain-db")
    kc = sim.login(user)
    kc["items"] += list(items)
    with open(path, "w") as f:
        json.dump(kc, f)


def _genp(svce: str, labl, acct: str = "a") -> dict:
    return {"class": "genp", "svce": svce, "acct": acct, "labl": labl, "cdat": "20250608160530Z", "mdat": "20250608160530Z", "password": "x"}


def _blocks(text: str) -> list[str]:
    return ["keychain: " + b for b in text.split("keychain: ")[1:]]


def test_a_generic_password_is_the_references_block_byte_for_byte(sim):
    p = sim.run(SECURITY, "find-generic-password", "-a", "com.microsoft.workplacejoin.thumbprint", ALICE_KC, user="alice")
    assert (p.returncode, p.stdout) == (0, GENP_THUMBPRINT)
    assert '"labl"' not in p.stdout


def test_an_internet_password_has_the_same_label_attribute_and_its_own(sim):
    p = sim.run(SECURITY, "find-internet-password", "-s", "enterpriseregistration.windows.net", ALICE_KC, user="alice")
    assert (p.returncode, p.stdout) == (0, INET_DRS)


def test_hex_only_class_lines_and_values_end_in_one_space(sim):
    out = sim.run(SECURITY, "dump-keychain", ALICE_KC, user="alice").stdout
    blocks = _blocks(out)
    certs = [b for b in blocks if "class: 0x80001000" in b]
    private = [b for b in blocks if "class: 0x00000010" in b]
    assert certs and all(b.startswith(CERT_HEAD) for b in certs)
    assert private and all(b.startswith(PRIVATE_KEY_HEAD) for b in private)
    assert '    "cenc"<uint32>=0x00000003 \n' in certs[0]
    # a uint32 with a printable byte is hex, two spaces, and its rendering
    assert '    0x00000009 <uint32>=0x0000002A  "\\000\\000\\000*"\n' in private[0]
    for line in out.splitlines():
        value = line.split(">=", 1)[1] if ">=" in line else line.split(": ", 1)[-1]
        if value.startswith("0x") and '"' not in value:
            assert value.endswith(" ") and not value.endswith("  "), line


def test_quoted_values_print_quotes_raw_and_a_backslash_or_non_ascii_as_octal(sim):
    _add(
        sim, "alice", _genp("com.example.q", 'say "hi"'), _genp("com.example.bs", "back\\slash"), _genp("com.example.e", "Café"), _genp("com.example.empty", "")
    )
    out = sim.run(SECURITY, "dump-keychain", ALICE_KC, user="alice").stdout
    by_svce = {b.split('"svce"<blob>=')[1].splitlines()[0]: b for b in _blocks(out) if '"svce"' in b}
    assert by_svce['"com.example.q"'] == genp_block('"say "hi""', "com.example.q", "a")
    # a backslash or a non-ASCII byte makes the value hex, followed by its rendering
    backslash, cafe = b"back\\slash".hex().upper(), "Café".encode().hex().upper()
    assert by_svce['"com.example.bs"'] == genp_block(f'0x{backslash}  "back\\134slash"', "com.example.bs", "a")
    assert by_svce['"com.example.e"'] == genp_block(f'0x{cafe}  "Caf\\303\\251"', "com.example.e", "a")
    assert "    0x00000007 <blob>=\n" in by_svce['"com.example.empty"']  # an empty value prints nothing


def test_dump_keychain_of_a_locked_keychain_exits_1_never_36(sim):
    p = sim.run(SECURITY, "dump-keychain", BOB_KC, user="bob")  # bob is logged out
    assert (p.returncode, p.stdout, p.stderr) == (1, "", NO_INTERACTION)


def test_the_knob_lets_a_locked_keychain_list_its_attributes_and_nothing_more(sim):
    sim.set_state(locked_keychains_list=True)
    p = sim.run(SECURITY, "dump-keychain", BOB_KC, user="bob")
    assert p.returncode == 0 and p.stdout.count('keychain: "') == len(sim.login("bob")["items"])
    assert sim.run(SECURITY, "find-certificate", "-a", "-Z", BOB_KC, user="bob").returncode == 0
    # no secret, no change: SecurityTool prints the confirmation whatever the delete returned, and exits with its status
    p = sim.run(SECURITY, "delete-generic-password", "-s", "com.microsoft.CompanyPortal", BOB_KC, user="bob")
    assert (p.returncode, p.stderr) == (36, PASSWORD_DELETED) and p.stdout.startswith(f'keychain: "{BOB_KC}"')
    assert [i for i in sim.login("bob")["items"] if i.get("svce") == "com.microsoft.CompanyPortal"]
    sha1 = next(i["sha1"] for i in sim.login("bob")["items"] if i["class"] == "cert")
    p = sim.run(SECURITY, "delete-certificate", "-Z", sha1, BOB_KC, user="bob")
    assert (p.returncode, p.stderr) == (36, "security: SecKeychainItemDelete: User interaction is not allowed.\n")
    assert sim.run(SECURITY, "dump-keychain", "-d", BOB_KC, user="bob").returncode == 1


def test_a_password_search_a_locked_keychain_refuses_is_not_found(sim):
    p = sim.run(SECURITY, "delete-generic-password", "-s", "com.microsoft.CompanyPortal", BOB_KC, user="bob")
    assert (p.returncode, p.stdout, p.stderr) == (44, "", NOT_FOUND)


def test_password_has_been_deleted_goes_to_stderr(sim):
    p = sim.run(SECURITY, "delete-generic-password", "-a", "com.microsoft.workplacejoin.thumbprint", ALICE_KC, user="alice")
    assert (p.returncode, p.stdout, p.stderr) == (0, GENP_THUMBPRINT, PASSWORD_DELETED)


def test_deleting_a_certificate_that_is_gone_exits_1_not_44(sim):
    cert = next(i for i in sim.login("alice")["items"] if i["class"] == "cert" and i["labl"] == "DeviceLogin.microsoft.com")
    assert sim.run(SECURITY, "delete-certificate", "-Z", cert["sha1"], ALICE_KC, user="alice").returncode == 0
    for verb in ("delete-certificate", "delete-identity"):
        p = sim.run(SECURITY, verb, "-Z", cert["sha1"], ALICE_KC, user="alice")
        assert (p.returncode, p.stdout, p.stderr) == (1, "", cert_not_found(cert["sha1"]))


def test_delete_identity_without_a_visible_private_key_deletes_the_certificate_and_exits_0(make_sim):
    sim = make_sim(scenario="secure-enclave")
    cert = next(i for i in sim.login("alice")["items"] if i["class"] == "cert" and i["issuer_cn"] == "MS-ORGANIZATION-ACCESS")
    keys_before = [i for i in sim.login("alice")["items"] if i["class"] == "key"]
    p = sim.run(SECURITY, "delete-identity", "-Z", cert["sha1"], ALICE_KC, user="alice")
    assert (p.returncode, p.stderr) == (0, "")
    kc = sim.login("alice")
    assert not [i for i in kc["items"] if i.get("sha1") == cert["sha1"]]
    assert [i for i in kc["items"] if i["class"] == "key"] == keys_before


def test_delete_certificate_by_name_is_case_insensitive_and_refuses_ambiguity(sim):
    p = sim.run(SECURITY, "delete-certificate", "-c", "devicelogin", ALICE_KC, user="alice")
    assert p.returncode == 0 and not [i for i in sim.login("alice")["items"] if i.get("labl") == "DeviceLogin.microsoft.com"]
    _add(sim, "alice", dict(next(i for i in sim.login("bob")["items"] if i["class"] == "cert"), labl="Admin A", subject_cn="Admin A", sha1="A" * 40))
    _add(sim, "alice", dict(next(i for i in sim.login("bob")["items"] if i["class"] == "cert"), labl="Admin B", subject_cn="Admin B", sha1="B" * 40))
    p = sim.run(SECURITY, "delete-certificate", "-c", "Admin", ALICE_KC, user="alice")
    assert p.returncode == 1 and p.stderr.endswith(cert_not_found("Admin")) and "ambiguous" in p.stderr


def test_ps_shows_a_loginwindow_for_each_login_session(sim):
    # alice is at the console, bob is logged out
    p = sim.run("/bin/ps", "-axo", "uid=,comm=")
    lines = [line.split(None, 1) for line in p.stdout.splitlines()]
    assert p.returncode == 0 and p.stdout.startswith("    0 /sbin/launchd\n")
    loginwindows = [int(uid) for uid, comm in lines if comm.endswith("/loginwindow")]
    assert loginwindows == [501]
    sim.set_state(logged_in=["alice", "bob"])  # bob logs in too (fast user switching)
    lines = [line.split(None, 1) for line in sim.run("/bin/ps", "-axo", "uid=,comm=").stdout.splitlines()]
    assert sorted(int(uid) for uid, comm in lines if comm.endswith("/loginwindow")) == [501, 502]
    sim.set_state(logged_in=[], console_user=None)  # the login window: root's loginwindow
    lines = [line.split(None, 1) for line in sim.run("/bin/ps", "-axo", "uid=,comm=").stdout.splitlines()]
    assert [int(uid) for uid, comm in lines if comm.endswith("/loginwindow")] == [0]
