"""The runtime's pure parts: --change instructions, safe tar extraction (the OCI bundle:
test_runtime_bundle.py)."""

import io
import os
import tarfile

import pytest

from tether.errors import InvalidArgument
from tether.runtime.changes import parse_changes
from tether.runtime.images import normalize_tag
from tether.runtime.tarsafe import extract


def test_changes_as_docker_import_applies_them():
    cfg = parse_changes(['CMD ["sh"]', "ENV A=1 B=\"two words\"", "EXPOSE 80 53/udp 8000-8001",
                         "WORKDIR /srv", "WORKDIR app", "LABEL team=net", "USER nobody",
                         "ENTRYPOINT /init --fast"])
    assert cfg.cmd == ("sh",)
    assert cfg.entrypoint == ("/bin/sh", "-c", "/init --fast")
    assert cfg.env[0].startswith("PATH=") and "A=1" in cfg.env and "B=two words" in cfg.env
    assert cfg.exposed_ports == ("80/tcp", "53/udp", "8000/tcp", "8001/tcp")
    assert cfg.working_dir == "/srv/app" and cfg.labels == {"team": "net"}
    assert cfg.user == "nobody"


def test_env_replaces_in_place_and_path_is_kept_when_given():
    cfg = parse_changes(["ENV PATH=/x", "ENV A=1", "ENV A=2"])
    assert cfg.env == ("PATH=/x", "A=2")


@pytest.mark.parametrize("change", ["FROM busybox", "RUN true", "EXPOSE http", "ENV =1"])
def test_bad_changes_are_refused(change):
    with pytest.raises(InvalidArgument):
        parse_changes([change])


def make_tar(path, entries):
    with tarfile.open(path, "w") as tf:
        for name, kind, target in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(target)
                tf.addfile(info, io.BytesIO(target))
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, target
                tf.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, target
                tf.addfile(info)
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
                tf.addfile(info)


def test_tar_entries_cannot_escape_the_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    archive = tmp_path / "evil.tar"
    make_tar(archive, [
        ("bin/ok", "file", b"fine"),
        ("../escaped", "file", b"no"),
        ("/abs", "file", b"kept inside"),
        ("link", "sym", str(outside)),          # a symlink may point anywhere...
        ("link/through", "file", b"no"),        # ...but nothing is written through it
        ("hard", "hard", "../../etc/passwd"),
        ("dev/null", "chr", None),
    ])
    extract(str(archive), str(root))
    assert (root / "bin/ok").read_bytes() == b"fine"
    assert (root / "abs").read_bytes() == b"kept inside"
    assert not (tmp_path / "escaped").exists()
    assert list(outside.iterdir()) == []
    assert not (root / "dev/null").exists()
    hard = root / "hard"
    assert not hard.exists() or os.path.realpath(hard).startswith(str(root))


def test_not_a_tarball_is_refused(tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"definitely not a tar archive" * 100)
    with pytest.raises(InvalidArgument):
        extract(str(bad), str(tmp_path))


def test_tags_are_normalised():
    assert normalize_tag("busybox") == "busybox:latest"
    assert normalize_tag("busybox:local") == "busybox:local"
    assert normalize_tag("registry:5000/img") == "registry:5000/img:latest"
