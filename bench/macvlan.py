#!/usr/bin/env python3
"""macvlan: attach/detach cost and throughput to a LAN host, against bridge networks.

    bench/macvlan.py            (BENCH_ROUNDS=N to change the number of rounds)

The "LAN" is a namespace behind a veth pair whose host end (bmvlan0, 10.79.0.1/24) is the
macvlan parent; the LAN host is 10.79.0.100 and runs an iperf3 server.

- attach: POST /networks/{id}/connect and /disconnect of a running container, through the
  API, on a macvlan network (a macvlan interface born in the sandbox) and on a bridge
  network (a veth into a bridge, plus firewall elements); the CNI macvlan plugin with
  host-local IPAM, exec'd per operation; and the kernel floor (pyroute2: the macvlan
  created in the namespace, address, up, default route; teardown deletes it, waiting on RCU).
- throughput: iperf3 (2 s) from a container's namespace to the LAN host, directly on the
  macvlan network, and from a bridge network (routed by the host and masqueraded).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from contextlib import ExitStack

import benchlib
import peers
from attach import interleaved
from pyroute2 import IPRoute

CNI_MACVLAN = "/usr/lib/cni/macvlan"
SETUP = "macvlan: attach (ms, lower is better)"
TEARDOWN = "macvlan: detach (ms, lower is better)"
TPUT = "macvlan: throughput to a LAN host (higher is better)"
BRIDGE, MACVLAN = "tether bridge network (API)", "tether macvlan network (API)"
T_BRIDGE, T_MACVLAN = "bridge network (routed, masqueraded)", "macvlan network (direct)"
PARENT, LAN_NS, LAN = "bmvlan0", "benchlan", "10.79.0"


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def make_lan() -> subprocess.Popen:
    """The LAN namespace behind the parent, with an iperf3 server on its host."""
    peers.make_netns(LAN_NS)
    sh("ip", "link", "add", PARENT, "type", "veth", "peer", "name", "bmvlanq", "netns", LAN_NS)
    sh("ip", "addr", "add", f"{LAN}.1/24", "dev", PARENT)
    sh("ip", "link", "set", PARENT, "up")
    sh("ip", "-n", LAN_NS, "addr", "add", f"{LAN}.100/24", "dev", "bmvlanq")
    sh("ip", "-n", LAN_NS, "link", "set", "bmvlanq", "up")
    return subprocess.Popen(["ip", "netns", "exec", LAN_NS, "iperf3", "-s"],
                            stdout=subprocess.DEVNULL)


class Tether:
    """connect/disconnect of a running container to a second network, through the API."""

    def __init__(self, d, network: str) -> None:
        self.d, self.network = d, network

    def __enter__(self) -> "Tether":
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"]}
        self.cid = benchlib.check(self.d.api("POST", "/containers/create", body),
                                  "create").json()["Id"]
        benchlib.check(self.d.api("POST", f"/containers/{self.cid}/start"), "start")
        return self

    def setup(self) -> None:
        benchlib.check(self.d.api("POST", f"/networks/{self.network}/connect",
                                  {"Container": self.cid}), "connect")

    def teardown(self) -> None:
        benchlib.check(self.d.api("POST", f"/networks/{self.network}/disconnect",
                                  {"Container": self.cid}), "disconnect")

    def __exit__(self, *exc) -> None:
        benchlib.check(self.d.api("DELETE", f"/containers/{self.cid}?force=1"), "rm")


class Floor:
    """The kernel work of a macvlan attach, done directly with pyroute2."""

    NS = "benchmvfloor"

    def __enter__(self) -> "Floor":
        self.path = peers.make_netns(self.NS)
        self.ipr = IPRoute()
        self.parent = self.ipr.link_lookup(ifname=PARENT)[0]
        self.fd = os.open(self.path, os.O_RDONLY)
        self.inner = IPRoute(netns=self.NS)
        return self

    def setup(self) -> None:
        self.ipr.link("add", ifname="eth1", kind="macvlan", link=self.parent,
                      macvlan_mode="bridge", net_ns_fd=self.fd)
        index = self.inner.link_lookup(ifname="eth1")[0]
        self.inner.addr("add", index=index, address=f"{LAN}.90", prefixlen=24)
        self.inner.link("set", index=index, state="up")
        self.inner.route("replace", dst="0.0.0.0/0", gateway=f"{LAN}.100")

    def teardown(self) -> None:
        self.inner.link("del", ifname="eth1")

    def __exit__(self, *exc) -> None:
        self.inner.close()
        self.ipr.close()
        os.close(self.fd)
        peers.drop_netns(self.NS)


class Cni(peers.CniPlugin):
    """containernetworking-plugins' macvlan plugin with host-local IPAM."""

    NS, PLUGIN = "benchmvcni", CNI_MACVLAN

    def __enter__(self) -> "Cni":
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-cni-")
        self.path = peers.make_netns(self.NS)
        self.conf = json.dumps({
            "cniVersion": "1.0.0", "name": "benchmv", "type": "macvlan", "master": PARENT,
            "mode": "bridge",
            "ipam": {"type": "host-local", "subnet": f"{LAN}.0/24", "rangeStart": f"{LAN}.60",
                     "rangeEnd": f"{LAN}.70", "dataDir": self.tmp.name,
                     "routes": [{"dst": "0.0.0.0/0", "gw": f"{LAN}.100"}]},
        })
        self.container = ""
        return self

    def __exit__(self, *exc) -> None:
        peers.drop_netns(self.NS)
        self.tmp.cleanup()


def iperf(sandbox: str) -> float:
    out = subprocess.run(["nsenter", f"--net={sandbox}", "iperf3", "-c", f"{LAN}.100",
                          "-t", "2", "-J"], capture_output=True, text=True).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def throughput(d, n: int) -> list[dict]:
    """iperf3 from a container on each network, taking turns so load elsewhere on the
    machine falls on both alike."""
    sandboxes, cids = {}, []
    for subject, network in ((T_MACVLAN, "bmv"), (T_BRIDGE, "bbr")):
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": network}}
        cid = benchlib.check(d.api("POST", "/containers/create", body), "create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "start")
        cids.append(cid)
        sandboxes[subject] = d.api("GET", f"/containers/{cid}/json").json()[
            "NetworkSettings"]["SandboxKey"]
    samples: dict[str, list[float]] = {s: [] for s in sandboxes}
    for _ in range(n):
        for subject, sandbox in sandboxes.items():
            samples[subject].append(iperf(sandbox))
    for cid in cids:
        benchlib.check(d.api("DELETE", f"/containers/{cid}?force=1"), "rm")
    return [benchlib.row(TPUT, s, v, "Gbit/s", T_BRIDGE) for s, v in samples.items()]


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(30)
    server = make_lan()
    try:
        with benchlib.daemon(busybox=True) as d, ExitStack() as stack:
            benchlib.check(d.api("POST", "/networks/create", {
                "Name": "bmv", "Driver": "macvlan", "Options": {"parent": PARENT},
                "IPAM": {"Config": [{"Subnet": f"{LAN}.0/24", "Gateway": f"{LAN}.100",
                                     "IPRange": f"{LAN}.128/25"}]}}), "macvlan network")
            benchlib.check(d.api("POST", "/networks/create", {"Name": "bbr"}), "bridge network")
            subjects = {BRIDGE: Tether(d, "bbr"), MACVLAN: Tether(d, "bmv"),
                        "kernel floor (pyroute2 macvlan)": Floor()}
            if os.path.exists(CNI_MACVLAN):
                subjects["CNI macvlan + host-local"] = Cni()
            results = interleaved(subjects, n)
            rows = []
            for group, index in ((SETUP, 0), (TEARDOWN, 1)):
                for subject, samples in results.items():
                    rows.append(benchlib.row(group, subject, samples[index],
                                             reference=None if subject == BRIDGE else BRIDGE))
            time.sleep(0.2)
            rows += throughput(d, max(3, n // 5))
            stack.close()
    finally:
        server.kill()
        server.wait()
        peers.drop_link(PARENT)
        peers.drop_netns(LAN_NS)
    benchlib.publish("macvlan", rows)


if __name__ == "__main__":
    main()
