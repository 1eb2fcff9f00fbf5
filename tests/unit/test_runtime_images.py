"""ImageStore: import, references, tags moving between images, rmi rules, log tails."""

import io
import os
import tarfile

import pytest

from tether.errors import Conflict, InvalidArgument, NotFound
from tether.runtime.images import ImageStore, normalize_tag
from tether.runtime.logs import tail_offset


def _tarball(content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("bin/hello")
        info.size, info.mode = len(content), 0o755
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


async def _chunks(data: bytes, size: int = 7):
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def _import(store, content=b"hi", tags=("busybox:local",), changes=('CMD ["sh"]',)):
    return await store.import_tarball(_chunks(_tarball(content)), repo_tags=tags,
                                      changes=changes, message="m")


def test_normalize_tag():
    assert normalize_tag("busybox") == "busybox:latest"
    assert normalize_tag("busybox:local") == "busybox:local"
    assert normalize_tag("localhost:5000/x") == "localhost:5000/x:latest"


async def test_import_and_lookup(tmp_path):
    store = ImageStore(str(tmp_path))
    img = await _import(store)
    assert img.id.startswith("sha256:") and len(img.id) == 71
    assert img.repo_tags == ("busybox:local",) and img.cmd == ("sh",)
    assert img.comment == "m" and img.size == 2
    assert open(os.path.join(store.rootfs(img.id), "bin", "hello"), "rb").read() == b"hi"
    for ref in ("busybox:local", img.id, img.id[7:], img.id[7:19], img.id[:14]):
        assert (await store.get(ref)).id == img.id
    with pytest.raises(NotFound, match="No such image: nosuch:latest"):
        await store.get("nosuch")
    reopened = ImageStore(str(tmp_path))
    assert reopened.cached(img.id) == img and reopened.count() == 1


async def test_tag_moves_and_old_image_is_untagged(tmp_path):
    store = ImageStore(str(tmp_path))
    old = await _import(store, b"one")
    new = await _import(store, b"two")
    assert (await store.get(old.id)).repo_tags == ()
    assert (await store.get("busybox:local")).id == new.id
    assert len(await store.list()) == 2


async def test_bad_change_and_bad_tarball_leave_nothing(tmp_path):
    store = ImageStore(str(tmp_path))
    with pytest.raises(InvalidArgument):
        await _import(store, changes=("RUN x",))
    with pytest.raises(InvalidArgument):
        await store.import_tarball(_chunks(b"garbage" * 200), repo_tags=("x:y",), changes=())
    assert await store.list() == []
    assert os.listdir(tmp_path / "images" / "tmp") == []


async def test_remove_rules(tmp_path):
    store = ImageStore(str(tmp_path))
    img = await _import(store, tags=("a:1", "b:1"))
    with pytest.raises(Conflict):
        await store.remove(img.id)
    assert await store.remove("a:1") == [{"Untagged": "a:1"}]
    with pytest.raises(Conflict):
        await store.remove("b:1", in_use=True)
    assert await store.remove("b:1") == [{"Untagged": "b:1"}, {"Deleted": img.id}]
    assert not os.path.exists(store.rootfs(img.id))
    with pytest.raises(NotFound):
        await store.remove(img.id)


def test_tail_offset(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"a\nb\nc\n")
    assert path.read_bytes()[tail_offset(str(path), 2):] == b"b\nc\n"
    assert tail_offset(str(path), 10) == 0
    assert tail_offset(str(path), 0) == 6
    path.write_bytes(b"a\nb")
    assert path.read_bytes()[tail_offset(str(path), 1):] == b"b"
