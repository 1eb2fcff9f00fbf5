"""Importing a hostile tarball never writes outside the image root."""

import io
import os
import tarfile

import pytest

from tether.errors import InvalidArgument
from tether.runtime.rootfs import find_executable, resolve_in_root, resolve_user
from tether.runtime.tarsafe import clean_name, extract


def _add(tar, name, kind=tarfile.REGTYPE, data=b"x", link="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _archive(path, build, mode="w"):
    with tarfile.open(path, mode) as tar:
        build(tar)
    return str(path)


@pytest.fixture
def layout(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host")
    root = tmp_path / "box" / "root"
    root.mkdir(parents=True)
    return tmp_path, outside, root


def test_clean_name():
    assert clean_name("/etc/passwd") == "etc/passwd"
    assert clean_name("./a/../b") == "b"
    assert clean_name("../x") is None
    assert clean_name("a/../../x") is None
    assert clean_name("./") is None


def test_hostile_entries_stay_inside(layout):
    tmp, outside, root = layout

    def build(tar):
        _add(tar, "../../outside/dotdot", data=b"evil")
        _add(tar, "/abs/file", data=b"abs")
        _add(tar, "esc", tarfile.SYMTYPE, link="../../../outside")
        _add(tar, "esc/through-symlink", data=b"evil")
        _add(tar, "etcl", tarfile.SYMTYPE, link=str(outside))
        _add(tar, "etcl/abs-symlink", data=b"evil")
        _add(tar, "hard", tarfile.LNKTYPE, link="../../outside/secret")
        _add(tar, "dev/sda", tarfile.BLKTYPE)
        _add(tar, "dev/mem", tarfile.CHRTYPE)
        _add(tar, "ok", data=b"fine")
        _add(tar, "hardok", tarfile.LNKTYPE, link="ok")
        _add(tar, "bin/sh", tarfile.SYMTYPE, link="/bin/busybox")

    extract(_archive(tmp / "evil.tar", build), str(root))
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "host"
    assert (root / "abs" / "file").read_bytes() == b"abs"
    assert (root / "outside" / "through-symlink").read_bytes() == b"evil"
    assert (root / outside.relative_to("/") / "abs-symlink").read_bytes() == b"evil"
    assert not (root / "hard").exists()
    assert not (root / "dev" / "sda").exists() and not (root / "dev" / "mem").exists()
    assert os.stat(root / "hardok").st_ino == os.stat(root / "ok").st_ino
    assert os.readlink(root / "bin" / "sh") == "/bin/busybox"  # kept: resolved in the box


def test_file_replacing_a_symlink_does_not_write_through_it(layout):
    tmp, outside, root = layout

    def build(tar):
        _add(tar, "victim", tarfile.SYMTYPE, link=str(outside / "secret"))
        _add(tar, "victim", data=b"overwrite")

    extract(_archive(tmp / "swap.tar", build), str(root))
    assert (outside / "secret").read_text() == "host"
    assert (root / "victim").read_bytes() == b"overwrite"


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_compression_is_detected(layout, mode):
    tmp, _, root = layout
    size = extract(_archive(tmp / "c.tar", lambda t: _add(t, "a", data=b"abc"), mode),
                   str(root))
    assert (root / "a").read_bytes() == b"abc" and size == 3


def test_not_a_tarball(tmp_path):
    (tmp_path / "junk").write_bytes(b"this is not a tar archive at all" * 100)
    with pytest.raises(InvalidArgument):
        extract(str(tmp_path / "junk"), str(tmp_path))


def test_resolution_and_lookups_stay_in_root(layout):
    tmp, outside, root = layout
    (root / "bin").mkdir()
    (root / "bin" / "busybox").write_bytes(b"\x7fELF")
    os.chmod(root / "bin" / "busybox", 0o755)
    os.symlink("/bin/busybox", root / "bin" / "sh")
    os.symlink("../../../../../..", root / "up")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\nweb:x:33:34::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    assert resolve_in_root(str(root), "/bin/sh") == str(root / "bin" / "busybox")
    assert resolve_in_root(str(root), "/up/etc") == str(root / "etc")
    assert find_executable(str(root), "sh", ["PATH=/bin"])
    assert not find_executable(str(root), "nosuch", ["PATH=/bin"])
    assert not find_executable(str(root), "/etc/passwd", [])
    assert resolve_user(str(root), "web") == (33, 34)
    assert resolve_user(str(root), "web:staff") == (33, 50)
    assert resolve_user(str(root), "1000:1000") == (1000, 1000)
    with pytest.raises(InvalidArgument):
        resolve_user(str(root), "nobody")
