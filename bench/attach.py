#!/usr/bin/env python3
"""Network attach and detach of a running container: tether, the kernel floor, CNI, netavark.

    bench/attach.py             (BENCH_ROUNDS=N to change the number of rounds)

Every subject does the same kind of work on an existing network namespace: a veth pair whose
other end is the namespace's interface, enslaved to a Linux bridge, an IPv4 address, the link
up, a default route, and a firewall change; and teardown undoes it. Each runs in this
benchmark's private namespaces, on its own bridge and subnet.

- tether: POST /networks/{id}/connect and /disconnect on a running busybox container, through
  the API (IPAM, store, veth, addresses, firewall, /etc/hosts: everything the daemon does).
  The container already has its default route on its first network, so tether adds none.
- kernel floor: the same kernel operations done directly with pyroute2 (veth created with its
  peer inside the namespace, address, up, route, bridge port) plus one nftables element added
  through libnftables; the teardown deletes the veth synchronously (it waits on RCU).
  "peer moved" creates the veth on the host and moves its peer in afterwards.
- CNI: /usr/lib/cni/bridge with host-local IPAM and ipMasq (iptables), CNI_COMMAND=ADD/DEL.
- netavark: /usr/lib/podman/netavark setup/teardown (bridge driver, iptables firewall).
CNI and netavark are exec'd per operation, as a container engine runs them.
"""

from __future__ import annotations

import os

import benchlib
import peers

SETUP = "attach: setup (ms, lower is better)"
TEARDOWN = "attach: teardown (ms, lower is better)"
FLOOR = "kernel floor (pyroute2 + libnftables)"


def tether_samples(n: int) -> tuple[list[float], list[float]]:
    """connect/disconnect of a second network on a running container, through the API."""
    ups, downs = [], []
    with benchlib.daemon(busybox=True) as d:
        for name in ("attach-home", "attach-bench"):
            benchlib.check(d.api("POST", "/networks/create", {"Name": name}), "network create")
        body = {"Image": "busybox:local", "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": "attach-home"}}
        cid = benchlib.check(d.api("POST", "/containers/create", body), "create").json()["Id"]
        benchlib.check(d.api("POST", f"/containers/{cid}/start"), "start")
        for i in range(n + 1):
            up = benchlib.timed(lambda: benchlib.check(
                d.api("POST", "/networks/attach-bench/connect", {"Container": cid}), "connect"))
            down = benchlib.timed(lambda: benchlib.check(
                d.api("POST", "/networks/attach-bench/disconnect", {"Container": cid}),
                "disconnect"))
            if i:
                ups.append(up)
                downs.append(down)
        benchlib.check(d.api("DELETE", f"/containers/{cid}?force=1"), "rm")
    return ups, downs


def rounds_of(subject, n: int) -> tuple[list[float], list[float]]:
    """Time `subject.setup()` / `subject.teardown()` n times after one warm-up round."""
    ups, downs = [], []
    with subject:
        for i in range(n + 1):
            up = benchlib.timed(subject.setup)
            down = benchlib.timed(subject.teardown)
            if i:
                ups.append(up)
                downs.append(down)
    return ups, downs


def main() -> None:
    benchlib.enter_namespace()
    n = benchlib.rounds(30)
    results = {
        FLOOR: rounds_of(peers.Floor(), n),
        "kernel floor, peer moved": rounds_of(peers.Floor(move=True), n),
        "tether (API)": tether_samples(n),
    }
    if os.path.exists(peers.CNI_BRIDGE):
        results["CNI bridge + host-local"] = rounds_of(peers.Cni(), n)
    if os.path.exists(peers.NETAVARK):
        results["netavark"] = rounds_of(peers.Netavark(), n)
    rows = []
    for group, index in ((SETUP, 0), (TEARDOWN, 1)):
        for subject, samples in results.items():
            ref = None if subject == FLOOR else FLOOR
            rows.append(benchlib.row(group, subject, samples[index], reference=ref))
    benchlib.publish("attach", rows)


if __name__ == "__main__":
    main()
