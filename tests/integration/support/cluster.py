"""Simulated hosts for the overlay tests: network namespaces joined by an underlay bridge,
etcd members in namespaces of their own, and one tetherd per host.

Underlay 10.77.0.0/24 on bridge `ul0` (10.77.0.1) in the test session's (private) namespace: host i is
10.77.0.(10+i), etcd member j is 10.77.0.(100+j). Nothing leaves the session's namespace.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import harness
from .etcd import EtcdMember, start_cluster

UNDERLAY = "ul0"
PREFIX = "10.77.0"


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


def make_node(name: str, address: str) -> str:
    """A netns `name` with lo up and `eth0` (address/24) on the underlay bridge."""
    sh(f"ip netns add {name}")
    sh(f"ip link add ul-{name} type veth peer name eth0 netns {name}")
    sh(f"ip link set ul-{name} master {UNDERLAY} up")
    sh(f"ip -n {name} addr add {address}/24 dev eth0")
    sh(f"ip -n {name} link set eth0 up && ip -n {name} link set lo up")
    return f"/run/netns/{name}"


def remove_node(name: str) -> None:
    subprocess.run(f"ip link del ul-{name}; ip netns del {name}", shell=True,
                   capture_output=True)


def cut(name: str, up: bool) -> None:
    """Unplug (or plug back) a node's underlay cable."""
    sh(f"ip link set ul-{name} {'up' if up else 'down'}")


@dataclass
class Cluster:
    root: Path
    factory: harness.DaemonFactory
    hosts: list[harness.TestDaemon] = field(default_factory=list)
    etcd: list[EtcdMember] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    ttl: int = 3

    def up(self, n_hosts: int = 3, n_etcd: int = 1) -> "Cluster":
        sh(f"ip link add {UNDERLAY} type bridge && ip link set {UNDERLAY} up")
        sh(f"ip addr add {PREFIX}.1/24 dev {UNDERLAY}")  # the tests ask etcd for its health
        for j in range(n_etcd):
            name = f"etcd{j}"
            make_node(name, f"{PREFIX}.{100 + j}")
            self.nodes.append(name)
            self.etcd.append(EtcdMember(name, f"{PREFIX}.{100 + j}", self.root / name,
                                        netns=f"/run/netns/{name}"))
        start_cluster(self.etcd)
        for i in range(1, n_hosts + 1):
            self.start_host(i)
        return self

    def store_url(self) -> str:
        return "etcd://" + ",".join(m.client for m in self.etcd)

    def host_args(self, i: int) -> tuple[str, ...]:
        return ("--cluster-store", self.store_url(), "--cluster-advertise", "eth0",
                "--cluster-store-opt", f"discovery.ttl={self.ttl}",
                "--cluster-store-opt", "kv.timeout=3")

    def start_host(self, i: int) -> harness.TestDaemon:
        name = f"host{i}"
        if name not in self.nodes:
            make_node(name, f"{PREFIX}.{10 + i}")
            self.nodes.append(name)
        d = self.factory.start(name, netns=f"/run/netns/{name}", extra_args=self.host_args(i))
        self.hosts.append(d)
        return d

    def down(self) -> list[str]:
        problems = []
        for d in self.hosts:  # containers everywhere first: a network in use cannot go
            if d.alive():
                for c in d.api("GET", "/containers/json?all=1").json() or []:
                    d.api("DELETE", f"/containers/{c['Id']}?force=1")
        for d in reversed(self.hosts):
            if d in self.factory.live:
                problems += self.factory.finish(d)
        for m in self.etcd:
            m.stop()
        for name in self.nodes:
            remove_node(name)
        subprocess.run(f"ip link del {UNDERLAY}", shell=True, capture_output=True)
        return problems


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns a true value; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def running_cluster(name: str, daemon_factory, tmp_path_factory, busybox_tarball, **up):
    """A module fixture's body: a cluster up (`up` goes to Cluster.up), busybox imported on
    every host; yields it, then takes it down and fails the module if anything was left."""
    import pytest

    c = Cluster(tmp_path_factory.mktemp(name), daemon_factory)
    try:
        c.up(**up)
        for d in c.hosts:
            harness.import_busybox(d, busybox_tarball)
        yield c
    finally:
        problems = c.down()
    if problems:
        pytest.fail("cluster teardown:\n" + "\n".join(problems), pytrace=False)
