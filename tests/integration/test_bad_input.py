"""Bad input at every boundary: a clear 4xx sentence, and nothing half-made.

Each case is sent through the API; afterwards the daemon must list the same networks and
containers as before and the kernel must hold no new tagged link. Image tarballs with
entries that escape the root, device nodes and links pointing outside are neutralised on
import (the unit tests in tests/unit/test_runtime_tarsafe.py cover each rule; here one
hostile tarball goes through the real API).
"""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import time

import pytest

from .support import kernelstate

BIG = 2 << 20
NETWORK_CASES = [
    ({"Name": ""}, 400, "name is missing"),
    ({"Name": "a b"}, 400, "invalid network name"),
    ({"Name": "a/b"}, 400, "invalid network name"),
    ({"Name": "-ab"}, 400, "invalid network name"),
    ({"Name": "a\u0000b"}, 400, "invalid network name"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.9.0.0/33"}]}}, 400, "Invalid subnet"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "junk"}]}}, 400, "Invalid subnet"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.9.0.5/24"}]}}, 400,
     "invalid subnet 10.9.0.5/24: it should be 10.9.0.0/24"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "Gateway": "10.8.0.1"}]}},
     400, "no matching subnet for gateway"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.9.0.0/24", "IPRange": "10.8.0.0/25"}]}},
     400, "no matching subnet for range"),
    ({"Name": "x", "Options": {"com.docker.network.driver.mtu": "abc"}}, 400, "not an integer"),
    ({"Name": "x", "Options": {"com.docker.network.driver.mtu": "-5"}}, 400, "invalid MTU"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.enable_icc": "maybe"}}, 400,
     "expected true or false"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.name": "a" * 40}}, 400,
     "invalid bridge name"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.host_binding_ipv4": "nope"}}, 400,
     "invalid host binding address"),
    ({"Name": "x", "Driver": "nosuch"}, 404, "not found"),
    ({"Name": "x", "Options": ["a"]}, 400, "must be a JSON object"),
    ({"Name": "x", "Labels": {"a": 1}}, 400, "must be strings"),
    ([1, 2], 400, "must be a JSON object"),
    ({"Name": "big", "Labels": {"a": "x" * BIG}}, 400, "larger than"),
]
CONTAINER_CASES = [
    ("a%20b", {}, 400, "Invalid container name"),
    ("a/b", {}, 400, "Invalid container name"),
    ("c1", {"NetworkingConfig": {"EndpointsConfig": {"bridge": {
        "IPAMConfig": {"IPv4Address": "junk"}}}}}, 400, "invalid address"),
    ("c2", {"MacAddress": "zz:zz"}, 400, "invalid MAC address"),
    ("c3", {"MacAddress": "03:00:00:00:00:01"}, 400, "multicast"),
    ("c4", {"HostConfig": {"PortBindings": {"abc/tcp": [{"HostPort": "1"}]}}}, 400,
     "invalid port specification"),
    ("c5", {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "70000"}]}}}, 400,
     "invalid host port"),
    ("c6", {"HostConfig": {"NetworkMode": "container:nope"}}, 404, "No such container"),
]


def census(daemon) -> tuple:
    nets = sorted(n["Name"] for n in daemon.api("GET", "/networks").json())
    ctrs = sorted(c["Id"] for c in daemon.api("GET", "/containers/json?all=1").json())
    links = sorted(n for n in kernelstate.links(daemon.prefix())
                   if n.startswith(kernelstate.LEAK_PREFIXES))
    return nets, ctrs, links


@pytest.mark.parametrize("body,status,words", NETWORK_CASES)
def test_bad_network_create(daemon, body, status, words):
    before = census(daemon)
    r = daemon.api("POST", "/networks/create", body)
    assert r.status == status, r.body[:300]
    assert words in r.json()["message"]
    assert census(daemon) == before


@pytest.mark.parametrize("name,extra,status,words", CONTAINER_CASES)
def test_bad_container_create(daemon, busybox_image, name, extra, status, words):
    before = census(daemon)
    r = daemon.api("POST", f"/containers/create?name={name}",
                   {"Image": busybox_image, "Cmd": ["true"], **extra})
    assert r.status == status, r.body[:300]
    assert words in r.json()["message"]
    assert census(daemon) == before


def test_malformed_json_is_a_400(daemon):
    r = daemon.api("POST", "/networks/create", b"{nope")
    assert r.status == 400 and "invalid JSON" in r.json()["message"]


def test_an_endless_chunked_body_is_cut_off(daemon):
    """A body without Content-Length is read only up to the bound, then refused."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(daemon.socket)
    s.sendall(b"POST /networks/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    t0, sent = time.monotonic(), 0
    try:
        while sent < 8 * BIG:
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except OSError:  # the daemon answered and closed: what we want
        pass
    head = s.recv(4096)
    s.close()
    assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.1 413"), head[:200]
    assert time.monotonic() - t0 < 15


def hostile_tarball(outside: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        def add(info: tarfile.TarInfo, data: bytes = b"") -> None:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)

        d = tarfile.TarInfo("etc")
        d.type = tarfile.DIRTYPE
        add(d)
        add(tarfile.TarInfo("etc/ok"), b"fine")
        add(tarfile.TarInfo(f"../../../../..{outside}/escaped"), b"out")
        add(tarfile.TarInfo(f"{outside}/absolute"), b"abs")
        link = tarfile.TarInfo("etc/evil")
        link.type, link.linkname = tarfile.SYMTYPE, outside
        add(link)
        add(tarfile.TarInfo("etc/evil/through-link"), b"via symlink")
        hard = tarfile.TarInfo("etc/hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "../../../../etc/shadow"
        add(hard)
        dev = tarfile.TarInfo("dev-null")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        add(dev)
    return buf.getvalue()


def test_hostile_image_tarball_is_neutralised(daemon, tmp_path):
    outside = str(tmp_path / "outside")
    os.makedirs(outside)
    r = daemon.api("POST", "/images/create?fromSrc=-&repo=hostile:1", hostile_tarball(outside))
    assert r.status == 200 and b'"error' not in r.body, r.body[:300]
    try:
        assert os.listdir(outside) == [], "an entry escaped the image root"
        image = daemon.api("GET", "/images/hostile:1/json").json()
        root = daemon.data_root / "images" / image["Id"].removeprefix("sha256:") / "rootfs"
        assert (root / "etc" / "ok").read_text() == "fine"
        assert not (root / "dev-null").exists()
        assert not (root / "etc" / "hard").exists()
        evil = root / "etc" / "evil"
        assert not evil.is_symlink() or not (evil / "through-link").exists() or \
            os.path.realpath(evil / "through-link").startswith(str(root))
    finally:
        daemon.api("DELETE", "/images/hostile:1?force=1")
