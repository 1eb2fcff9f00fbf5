"""Overlay networks across three simulated hosts (network namespaces, one tetherd each),
joined by an underlay bridge, with etcd in a namespace of its own: real VXLAN packets."""

from __future__ import annotations

import json

import pytest

from .support import harness
from .support.cluster import Cluster, wait_for


@pytest.fixture(scope="module")
def cluster(daemon_factory, tmp_path_factory, busybox_tarball):
    c = Cluster(tmp_path_factory.mktemp("cluster"), daemon_factory)
    try:
        c.up(n_hosts=3)
        for d in c.hosts:
            harness.import_busybox(d, busybox_tarball)
        yield c
    finally:
        problems = c.down()
    if problems:
        pytest.fail("cluster teardown:\n" + "\n".join(problems), pytrace=False)


def run(d, name: str, network: str, *extra: str) -> str:
    r = d.docker("run", "-d", "--name", name, "--network", network, *extra, "busybox:local",
                 "sleep", "3600")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ip_of(d, name: str, network: str) -> str:
    info = d.api("GET", f"/containers/{name}/json").json()
    return info["NetworkSettings"]["Networks"][network]["IPAddress"]


def test_network_shows_on_every_host(cluster):
    h1, h2, h3 = cluster.hosts
    r = h1.docker("network", "create", "-d", "overlay", "--attachable", "ov1")
    assert r.returncode == 0, r.stderr
    net_id = r.stdout.strip()
    for d in (h2, h3):
        wait_for(lambda: d.api("GET", f"/networks/{net_id}").status == 200, what="mirror")
        info = d.api("GET", "/networks/ov1").json()
        assert info["Driver"] == "overlay" and info["Scope"] == "global"
        assert info["Attachable"] is True
        assert info["IPAM"]["Config"][0]["Subnet"] == "10.0.0.0/24"
    r = h2.docker("network", "create", "-d", "overlay", "ov1")
    assert r.returncode != 0 and "already exists" in r.stderr


def test_containers_reach_each_other_by_address_and_name(cluster):
    h1, h2, h3 = cluster.hosts
    for i, d in enumerate(cluster.hosts, 1):
        run(d, f"c{i}", "ov1")
    addresses = {ip_of(d, f"c{i}", "ov1") for i, d in enumerate(cluster.hosts, 1)}
    assert len(addresses) == 3
    for i, d in enumerate(cluster.hosts, 1):
        for j, other in enumerate(cluster.hosts, 1):
            if i == j:
                continue
            target = ip_of(other, f"c{j}", "ov1")
            wait_for(lambda: d.docker("exec", f"c{i}", "ping", "-c1", "-W1", target
                                      ).returncode == 0, what=f"c{i} -> {target}")
            r = d.docker("exec", f"c{i}", "ping", "-c1", "-W2", f"c{j}")
            assert r.returncode == 0, r.stdout + r.stderr
            assert target in r.stdout
