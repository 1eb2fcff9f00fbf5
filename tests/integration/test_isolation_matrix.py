"""The isolation matrix of the local drivers, probed with ICMP, TCP and UDP.

Networks: two user bridges (A, B), an internal bridge (I), an icc=false bridge (N), the
default bridge (D), an internal macvlan without parent (M, tether's stub parent); plus a
`--network none` container and the host itself. Every probe is one real packet exchange
from inside the source's namespace (the host probes from its own). What each pair must do
is written out in EXPECTED; every pair not listed must be unreachable. Overlay isolation
needs several hosts and is probed in test_overlay.py.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from .support.probes import PROTOS, probe, start_server

NETWORKS = {
    "A": {}, "B": {}, "I": {"Internal": True},
    "N": {"Options": {"com.docker.network.bridge.enable_icc": "false"}},
    "M": {"Driver": "macvlan", "Internal": True},
}
# container -> its network (D: the default bridge, none: --network none)
CONTAINERS = {"a1": "A", "a2": "A", "b1": "B", "i1": "I", "i2": "I", "n1": "N", "n2": "N",
              "d1": "D", "d2": "D", "m1": "M", "m2": "M", "z": "none"}
SOURCES = ("a1", "b1", "i1", "n1", "d1", "m1", "z", "host")  # one per network is enough
EXPECTED = {("a1", "a2"), ("i1", "i2"), ("d1", "d2"), ("m1", "m2")}
# the host holds every bridge's gateway address, so it reaches their containers (internal
# and icc=false ones too, as in Docker); a macvlan's containers are not reachable from it
HOST_REACHES = {c for c, net in CONTAINERS.items() if net in ("A", "B", "I", "N", "D")}


def api_ok(r, status=(200, 201, 204)):
    assert r.status in status, r.body[:300]
    return r.json() if r.body else None


@pytest.fixture(scope="module")
def world(daemon, busybox_image):
    nets, servers, info = [], [], {}
    for key, extra in NETWORKS.items():
        nets.append(api_ok(daemon.api("POST", "/networks/create", {"Name": f"mx{key}", **extra}))["Id"])
    try:
        for name, key in CONTAINERS.items():
            mode = {"D": "bridge", "none": "none"}.get(key, f"mx{key}")
            api_ok(daemon.api("POST", f"/containers/create?name=mx{name}", {
                "Image": busybox_image, "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": mode}}))
            api_ok(daemon.api("POST", f"/containers/mx{name}/start"))
            c = daemon.api("GET", f"/containers/mx{name}/json").json()
            eps = list(c["NetworkSettings"]["Networks"].values())
            info[name] = {"netns": c["NetworkSettings"]["SandboxKey"],
                          "ip": eps[0]["IPAddress"] if eps else ""}
            servers.append(start_server(info[name]["netns"]))
        yield info
    finally:
        for p in servers:
            p.kill()
            p.wait()
        for name in CONTAINERS:
            daemon.api("DELETE", f"/containers/mx{name}?force=1")
        for net in nets:
            daemon.api("DELETE", f"/networks/{net}")


def test_isolation_matrix(world):
    pairs = [(s, t) for s, t in itertools.product(SOURCES, CONTAINERS)
             if s != t and world[t]["ip"]]
    jobs = [(s, t, p) for s, t in pairs for p in PROTOS]

    def run(job):
        s, t, p = job
        return job, probe(world[s]["netns"] if s != "host" else None, world[t]["ip"], p)

    with ThreadPoolExecutor(24) as pool:
        results = dict(pool.map(run, jobs))
    wrong = []
    for (s, t, p), ok in sorted(results.items()):
        want = (t in HOST_REACHES) if s == "host" else (s, t) in EXPECTED
        if ok != want:
            wrong.append(f"{s} -> {t} over {p}: {'reached' if ok else 'blocked'}, "
                         f"expected {'reached' if want else 'blocked'}")
    assert not wrong, "\n".join(wrong)
