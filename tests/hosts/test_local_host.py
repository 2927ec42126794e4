"""LocalHost against a simulated Mac rooted in tmp_path."""

from __future__ import annotations

import os
import stat
import sys
import time

import pytest

from cleanup.errors import HostError, UnsafePath, UsageError
from cleanup.hosts import open_host
from cleanup.hosts.base import CommandResult, LocalUser
from cleanup.hosts.local import LocalHost, check_mac_path

BAD_PATHS = [
    "relative/path",
    "Library/Preferences",
    "",
    "/",
    "//",
    "/Library/../etc",
    "/Library/..",
    "/..",
    "/Library/./Preferences",
    "/.",
    "/Library//Preferences",
    "//Library",
    "/Library/",
    "/Library/Preferences/",
    "/Library/a\0b",
]


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "mac"
    for d in ("Library/Preferences", "Users/alice/Library/Cookies", "usr/bin", "bin", "usr/sbin", "sbin"):
        (r / d).mkdir(parents=True)
    return r


@pytest.fixture
def host(root):
    return LocalHost(str(root), f"sim:{root}")


@pytest.fixture
def outside(tmp_path):
    """Things outside the simulated Mac that must never be touched."""
    o = tmp_path / "outside"
    (o / "dir" / "sub").mkdir(parents=True)
    (o / "dir" / "keep.txt").write_text("keep")
    (o / "dir" / "sub" / "deep.txt").write_text("deep")
    (o / "file.txt").write_text("precious")
    return o


def _assert_outside_intact(o):
    assert (o / "file.txt").read_text() == "precious"
    assert (o / "dir" / "keep.txt").read_text() == "keep"
    assert (o / "dir" / "sub" / "deep.txt").read_text() == "deep"


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")


# ---------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("bad", BAD_PATHS)
def test_check_mac_path_refuses(bad):
    with pytest.raises(UnsafePath):
        check_mac_path(bad)


@pytest.mark.parametrize("bad", BAD_PATHS)
@pytest.mark.parametrize("method", ["lstat", "linked_parent", "listdir", "read_bytes", "remove"])
def test_every_method_refuses_bad_paths(host, root, bad, method):
    before = sorted(p.name for p in root.iterdir())
    with pytest.raises(UnsafePath):
        getattr(host, method)(bad)
    assert sorted(p.name for p in root.iterdir()) == before


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_write_file_refuses_bad_paths(host, bad):
    with pytest.raises(UnsafePath):
        host.write_file(bad, b"x")


def test_non_string_path_refused(host):
    with pytest.raises(UnsafePath):
        host.remove(b"/Library")  # type: ignore[arg-type]


def test_check_mac_path_accepts_normal_paths():
    assert check_mac_path("/Library/Application Support/com.microsoft.CompanyPortal") == [
        "Library",
        "Application Support",
        "com.microsoft.CompanyPortal",
    ]
    assert check_mac_path("/Users/alice/Library/Cookies/.hidden..x") == ["Users", "alice", "Library", "Cookies", ".hidden..x"]


def test_root_mapping(host, root):
    assert host.map_path("/Library/Preferences") == f"{root}/Library/Preferences"
    assert LocalHost().map_path("/Library") == "/Library"
    with pytest.raises(UnsafePath):
        host.map_path("/")


# ---------------------------------------------------------------------------------------- remove
def test_remove_file(host, root):
    f = root / "Library/Preferences/com.microsoft.CompanyPortal.plist"
    f.write_bytes(b"plist")
    host.remove("/Library/Preferences/com.microsoft.CompanyPortal.plist")
    assert not f.exists()
    assert (root / "Library/Preferences").is_dir()


def test_remove_absent_is_not_an_error(host, root):
    host.remove("/Library/Preferences/nope.plist")
    host.remove("/Library/NoSuchDir/nope.plist")
    host.remove("/NoSuch/a/b/c")


def test_remove_when_parent_is_a_file_is_absent(host, root):
    (root / "Library/afile").write_text("x")
    host.remove("/Library/afile/child")
    assert (root / "Library/afile").read_text() == "x"


def test_remove_final_link_to_file_removes_only_link(host, root, outside):
    link = root / "Library/Preferences/com.jamfsoftware.selfservice.mac.plist"
    link.symlink_to(outside / "file.txt")
    host.remove("/Library/Preferences/com.jamfsoftware.selfservice.mac.plist")
    assert not os.path.lexists(link)
    _assert_outside_intact(outside)


def test_remove_final_link_to_dir_removes_only_link(host, root, outside):
    link = root / "Library/Application Support"
    link.symlink_to(outside / "dir", target_is_directory=True)
    host.remove("/Library/Application Support")
    assert not os.path.lexists(link)
    _assert_outside_intact(outside)


def test_remove_dangling_link(host, root):
    link = root / "Library/dangling"
    link.symlink_to("/nonexistent/target")
    host.remove("/Library/dangling")
    assert not os.path.lexists(link)


def test_remove_through_linked_parent_refused(host, root, outside):
    # /Users/bob -> outside/dir: removing /Users/bob/keep.txt would delete outside/dir/keep.txt
    (root / "Users/bob").symlink_to(outside / "dir", target_is_directory=True)
    with pytest.raises(UnsafePath) as exc:
        host.remove("/Users/bob/keep.txt")
    assert "/Users/bob/keep.txt" in exc.value.message
    assert "/Users/bob" in exc.value.message and str(outside / "dir") in exc.value.message
    with pytest.raises(UnsafePath):
        host.remove("/Users/bob/sub")
    with pytest.raises(UnsafePath):
        host.remove("/Users/bob/sub/deep.txt")
    _assert_outside_intact(outside)
    assert os.path.islink(root / "Users/bob")


def test_remove_through_relative_linked_parent_refused(host, root):
    (root / "Library/real").mkdir()
    (root / "Library/real/f").write_text("x")
    (root / "Library/alias").symlink_to("real")
    with pytest.raises(UnsafePath):
        host.remove("/Library/alias/f")
    assert (root / "Library/real/f").read_text() == "x"


def test_remove_tree_with_inner_links(host, root, outside):
    top = root / "Library/Application Support/com.microsoft.CompanyPortal"
    (top / "a/b/c").mkdir(parents=True)
    (top / "f1").write_bytes(b"1" * 10)
    (top / "a/f2").write_bytes(b"2" * 20)
    (top / "a/b/c/f3").write_bytes(b"3")
    (top / "a/.hidden").write_text("h")
    (top / "a/link-to-outside-dir").symlink_to(outside / "dir", target_is_directory=True)
    (top / "a/b/link-to-outside-file").symlink_to(outside / "file.txt")
    (top / "a/b/c/dangling").symlink_to("../../nowhere")
    os.mkfifo(top / "a/fifo")
    (top / "ro").mkdir()
    (top / "ro/x").write_text("x")
    os.chmod(top / "ro", 0o555)
    host.remove("/Library/Application Support/com.microsoft.CompanyPortal")
    assert not os.path.lexists(top)
    assert (root / "Library/Application Support").is_dir()
    _assert_outside_intact(outside)


def test_remove_empty_dir(host, root):
    (root / "Library/empty").mkdir()
    host.remove("/Library/empty")
    assert not (root / "Library/empty").exists()


def test_remove_deep_tree(host, root):
    d = root / "Library/deep"
    p = d
    for i in range(60):
        p = p / f"d{i}"
    p.mkdir(parents=True)
    (p / "leaf").write_text("x")
    host.remove("/Library/deep")
    assert not d.exists()


def test_remove_root_refused(host, root):
    with pytest.raises(UnsafePath):
        host.remove("/")
    assert root.is_dir()


def test_sim_root_below_a_link_is_trusted(tmp_path):
    real = tmp_path / "real"
    (real / "Library").mkdir(parents=True)
    (real / "Library/f").write_text("x")
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    h = LocalHost(str(tmp_path / "alias"), "sim")
    assert h.listdir("/Library") == ["f"]
    h.remove("/Library/f")
    assert not (real / "Library/f").exists()


@needs_proc
def test_no_fd_leaks(host, root, outside):
    (root / "Users/bob").symlink_to(outside / "dir", target_is_directory=True)
    before = _fds()
    for _ in range(5):
        top = root / "Library/tree"
        (top / "a/b").mkdir(parents=True)
        (top / "a/b/f").write_text("x")
        (top / "a/l").symlink_to(outside / "dir")
        host.remove("/Library/tree")
        host.remove("/Library/absent")
        host.remove("/Nope/absent")
        with pytest.raises(UnsafePath):
            host.remove("/Users/bob/keep.txt")
        with pytest.raises(UnsafePath):
            host.read_bytes("/Users/bob/keep.txt")
        with pytest.raises(UnsafePath):
            host.listdir("/Users/bob")
        host.write_file("/Library/Preferences/x.plist", b"data")
        assert host.read_bytes("/Library/Preferences/x.plist") == b"data"
        host.listdir("/Library")
        host.listdir("/Library/absent")
        host.lstat("/Library")
        host.linked_parent("/Users/bob/x")
        with pytest.raises(HostError):
            host.write_file("/Library/NoDir/x", b"")
        host.run(["/usr/bin/true-ish"])  # missing -> 127
    assert _fds() == before
    _assert_outside_intact(outside)


# ---------------------------------------------------------------------------------------- lstat & co
def test_lstat_kinds(host, root, outside):
    f = root / "Library/Preferences/a.plist"
    f.write_bytes(b"12345")
    os.chmod(f, 0o640)
    info = host.lstat("/Library/Preferences/a.plist")
    assert info.kind == "file" and info.size == 5 and info.mode == 0o640 and info.uid == os.getuid()
    assert info.path == "/Library/Preferences/a.plist" and info.link_target is None

    (root / "Library/link").symlink_to(outside / "dir")
    info = host.lstat("/Library/link")
    assert info.kind == "link" and info.link_target == str(outside / "dir")

    assert host.lstat("/Library/absent") is None
    assert host.lstat("/Library/Preferences/a.plist/below") is None

    os.mkfifo(root / "Library/fifo")
    assert host.lstat("/Library/fifo").kind == "other"


def test_lstat_dir_size_does_not_follow_links(host, root, outside):
    d = root / "Library/tree"
    (d / "sub").mkdir(parents=True)
    (d / "a").write_bytes(b"x" * 100)
    (d / "sub/b").write_bytes(b"y" * 23)
    (d / "sub/outlink").symlink_to(outside / "dir")
    (d / "filelink").symlink_to(outside / "file.txt")
    info = host.lstat("/Library/tree")
    assert info.kind == "dir" and info.size == 123


def test_linked_parent(host, root, outside):
    assert host.linked_parent("/Users/alice/Library/Cookies/x") is None
    (root / "Users/bob").symlink_to(outside / "dir")
    assert host.linked_parent("/Users/bob/Library/Cookies/x") == "/Users/bob"
    assert host.linked_parent("/Users/bob") is None  # the final component is not a parent
    (root / "Users/alice/Library/file").write_text("x")
    assert host.linked_parent("/Users/alice/Library/file/x") == "/Users/alice/Library/file"
    assert host.linked_parent("/Nope/a/b") is None
    assert host.linked_parent("/Library") is None


def test_listdir(host, root, outside):
    for n in ("b", "a", "C", ".hidden"):
        (root / "Library/Preferences" / n).write_text("")
    assert host.listdir("/Library/Preferences") == [".hidden", "C", "a", "b"]
    assert host.listdir("/Library/absent") == []
    (root / "Library/ln").symlink_to(outside / "dir")
    with pytest.raises(UnsafePath):
        host.listdir("/Library/ln")
    (root / "Users/bob").symlink_to(outside / "dir")
    with pytest.raises(UnsafePath):
        host.listdir("/Users/bob/sub")
    with pytest.raises(HostError):
        host.listdir("/Library/Preferences/a")


def test_read_bytes(host, root, outside):
    (root / "Library/Preferences/p").write_bytes(b"\x00\x01binary")
    assert host.read_bytes("/Library/Preferences/p") == b"\x00\x01binary"
    (root / "Library/Preferences/ln").symlink_to(outside / "file.txt")
    with pytest.raises(UnsafePath):
        host.read_bytes("/Library/Preferences/ln")
    (root / "Users/bob").symlink_to(outside / "dir")
    with pytest.raises(UnsafePath):
        host.read_bytes("/Users/bob/keep.txt")
    with pytest.raises(HostError):
        host.read_bytes("/Library/Preferences/absent")
    with pytest.raises(HostError):
        host.read_bytes("/Library/Preferences")
    os.mkfifo(root / "Library/fifo")
    with pytest.raises(HostError):
        host.read_bytes("/Library/fifo")  # must not hang


# ---------------------------------------------------------------------------------------- write_file
def test_write_file_creates_and_replaces_atomically(host, root):
    p = root / "Library/Preferences/new.plist"
    host.write_file("/Library/Preferences/new.plist", b"one", 0o600)
    assert p.read_bytes() == b"one"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    ino = p.stat().st_ino
    host.write_file("/Library/Preferences/new.plist", b"two")
    assert p.read_bytes() == b"two"
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert p.stat().st_ino != ino  # replaced by rename, not rewritten in place
    assert sorted(os.listdir(root / "Library/Preferences")) == ["new.plist"]  # no temp left


def test_write_file_mode_ignores_umask(host, root):
    old = os.umask(0o077)
    try:
        host.write_file("/Library/Preferences/m", b"", 0o755)
    finally:
        os.umask(old)
    assert stat.S_IMODE((root / "Library/Preferences/m").stat().st_mode) == 0o755


def test_write_file_replaces_a_link_not_its_target(host, root, outside):
    (root / "Library/Preferences/ln").symlink_to(outside / "file.txt")
    host.write_file("/Library/Preferences/ln", b"new")
    assert not os.path.islink(root / "Library/Preferences/ln")
    assert (root / "Library/Preferences/ln").read_bytes() == b"new"
    _assert_outside_intact(outside)


def test_write_file_parents(host, root, outside):
    with pytest.raises(HostError):
        host.write_file("/Library/NoSuchDir/x", b"x")
    (root / "Users/bob").symlink_to(outside / "dir")
    with pytest.raises(UnsafePath):
        host.write_file("/Users/bob/new.txt", b"x")
    assert not (outside / "dir/new.txt").exists()
    with pytest.raises(ValueError):
        host.write_file("/Library/x", b"x", 0o10000)


def test_write_file_onto_directory_fails_cleanly(host, root):
    (root / "Library/adir").mkdir()
    with pytest.raises(HostError):
        host.write_file("/Library/adir", b"x")
    assert sorted(os.listdir(root / "Library")) == ["Preferences", "adir"]


# ---------------------------------------------------------------------------------------- run
def _script(root, mac_path, body, mode=0o755):
    p = root / mac_path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(p, mode)
    return p


def test_run_maps_argv0_and_captures(host, root):
    _script(root, "/usr/bin/security", 'echo "0=$0 args=$*"; echo "err: $LC_ALL" >&2; exit 3')
    res = host.run(["/usr/bin/security", "find-certificate", "-a", "-Z"])
    assert isinstance(res, CommandResult)
    assert res.argv == ("/usr/bin/security", "find-certificate", "-a", "-Z")
    assert res.returncode == 3 and not res.ok
    assert res.stdout == f"0={root}/usr/bin/security args=find-certificate -a -Z\n"
    assert res.stderr == "err: C\n"


def test_run_path_is_mapped(host, root):
    _script(root, "/usr/sbin/pkgutil", 'echo "$PATH"')
    res = host.run(["pkgutil", "--pkgs"])  # bare name: found through the mapped PATH
    assert res.ok
    assert res.stdout.strip() == ":".join(f"{root}{d}" for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"))


def test_run_local_root_path_unmapped():
    res = LocalHost().run([sys.executable, "-c", "import os; print(os.environ['PATH']); print(os.environ['LC_ALL'])"])
    assert res.ok
    assert res.stdout.splitlines() == ["/usr/bin:/bin:/usr/sbin:/sbin", "C"]


def test_run_missing_executable_is_127(host):
    res = host.run(["/usr/local/jamf/bin/jamf", "removeFramework"])
    assert res.returncode == 127 and "not found" in res.stderr
    assert res.argv == ("/usr/local/jamf/bin/jamf", "removeFramework")
    res = host.run(["no-such-command-anywhere"])
    assert res.returncode == 127


def test_run_rejects_string_argv(host):
    with pytest.raises(TypeError):
        host.run("/bin/ls -l")
    with pytest.raises(TypeError):
        host.run([])


def test_run_rejects_unsafe_argv0(host):
    with pytest.raises(UnsafePath):
        host.run(["/usr/bin/../../../bin/sh", "-c", "true"])


def test_run_timeout_raises_host_error_without_input(host, root):
    _script(root, "/bin/sleepy", "/bin/sleep 30 & /bin/sleep 30")
    t0 = time.monotonic()
    with pytest.raises(HostError) as exc:
        host.run(["/bin/sleepy", "arg1"], timeout=0.5, input="SECRET-TOKEN")
    assert time.monotonic() - t0 < 10
    assert "/bin/sleepy" in exc.value.message and "timed out" in exc.value.message
    assert "SECRET-TOKEN" not in str(exc.value) and "SECRET-TOKEN" not in repr(exc.value)


def test_run_input_and_utf8_replace(host, root):
    _script(root, "/bin/catty", "/bin/cat; printf '\\377\\n'")
    res = host.run(["/bin/catty"], input="héllo\n")
    assert res.stdout == "héllo\n\ufffd\n"


def test_run_stdin_is_not_inherited(host, root):
    _script(root, "/bin/readin", "/bin/cat; echo done")
    res = host.run(["/bin/readin"], timeout=10)
    assert res.stdout == "done\n"


def test_run_as_user_wraps(host, root):
    _script(root, "/bin/launchctl", 'echo "$@"')
    res = host.run_as_user(LocalUser("alice", 501, "/Users/alice"), ["/usr/bin/security", "list-keychains"])
    assert res.stdout.strip() == "asuser 501 /usr/bin/sudo -u alice /usr/bin/security list-keychains"


# ---------------------------------------------------------------------------------------- open_host
def test_open_local():
    h = open_host("local")
    assert isinstance(h, LocalHost) and h.root == "/" and h.spec == "local"


def test_open_sim(tmp_path, monkeypatch):
    (tmp_path / "mac/.lab").mkdir(parents=True)
    (tmp_path / "mac/.lab/state.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    h = open_host("sim:mac")
    assert isinstance(h, LocalHost)
    assert h.root == str(tmp_path / "mac") and h.spec == f"sim:{tmp_path / 'mac'}"


@pytest.mark.parametrize("spec", ["sim:", "sim:/definitely/not/here"])
def test_open_sim_not_a_sim(spec):
    with pytest.raises(UsageError) as exc:
        open_host(spec)
    assert "not a simulated Mac" in exc.value.message or "needs a directory" in exc.value.message


def test_open_sim_dir_without_state(tmp_path):
    with pytest.raises(UsageError) as exc:
        open_host(f"sim:{tmp_path}")
    assert "is not a simulated Mac" in exc.value.message and "cleanup lab mac create" in exc.value.message


def test_open_ssh_is_handed_to_the_ssh_host():
    from cleanup.hosts.ssh import SshHost

    h = open_host("ssh://admin@mac.example.com")
    assert isinstance(h, SshHost) and h.spec == "ssh://admin@mac.example.com"  # nothing connects until first use


@pytest.mark.parametrize("spec", ["", "Local", "mac.example.com", "/tmp/x", "simulated:/x"])
def test_open_unknown(spec):
    with pytest.raises(UsageError) as exc:
        open_host(spec)
    assert "local" in exc.value.message and "sim:DIR" in exc.value.message
