"""Host.remove and Host.lstat never cross into another file system: mount points are left, measured as nothing,
and named, locally and over SSH."""

from __future__ import annotations

import pytest

from cleanup.hosts import open_host
from tests.support.mounts import is_mount, mounted
from tests.support.sshd import running_sshd

TREE = "/Library/Application Support/com.microsoft.CompanyPortal"


def _tree(mac, tmp_path, name: str):
    """A planned-looking folder with two files and a mount point ``name`` in it; an outside folder to bind there."""
    base = mac / TREE.lstrip("/")
    (base / "Deep").mkdir(parents=True, exist_ok=True)
    (base / "Deep/cache.bin").write_bytes(b"c" * 10)
    point = base / "Deep" / name
    point.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep\n")
    return base, point, outside


def test_a_file_bind_mounted_over_a_file_is_left_and_named(mac, tmp_path):
    host = open_host(f"sim:{mac}")
    base = mac / TREE.lstrip("/")
    (base / "gone.txt").write_text("goes\n")
    (base / "over.txt").write_text("covered\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the Mac's\n")
    with mounted("bind", base / "over.txt", outside):
        info = host.lstat(TREE)
        assert info.mounts == (f"{TREE}/over.txt",)
        assert host.remove(TREE, info.identity) == (f"{TREE}/over.txt",)
        assert outside.read_text() == "not the Mac's\n"
        assert not (base / "gone.txt").exists() and is_mount(base / "over.txt")


@pytest.mark.parametrize("name", ["back\\slash and space", "tab\there"])
def test_mount_points_with_escaped_names_are_recognised(mac, tmp_path, name):
    host = open_host(f"sim:{mac}")
    base, point, outside = _tree(mac, tmp_path, name)
    with mounted("bind", point, outside):
        info = host.lstat(TREE)
        assert info.mounts == (f"{TREE}/Deep/{name}",)
        assert info.size == host.lstat(f"{TREE}/Deep/cache.bin").size + sum(p.stat().st_size for p in base.rglob("*") if p.is_file() and "Deep" not in p.parts)
        assert host.remove(TREE) == (f"{TREE}/Deep/{name}",)
        assert (outside / "precious.txt").read_text() == "keep\n"
        assert sorted(p.name for p in base.rglob("*") if point not in p.parents) == ["Deep", name]


@pytest.mark.ssh
def test_over_ssh_the_mount_points_left_come_back(mac, tmp_path, monkeypatch):
    base, point, _ = _tree(mac, tmp_path, "share")
    with mounted("tmpfs", point):
        (point / "on-the-share.txt").write_text("keep\n")
        with running_sshd() as server:
            for k, v in server.env(mac).items():
                monkeypatch.setenv(k, v)
            host = open_host(server.spec)
            try:
                info = host.lstat(TREE)
                assert info.mounts == (f"{TREE}/Deep/share",) and info.ino
                assert host.remove(TREE, info.identity) == (f"{TREE}/Deep/share",)
            finally:
                host.close()
        assert (point / "on-the-share.txt").read_text() == "keep\n"
        assert not (base / "Deep/cache.bin").exists()
